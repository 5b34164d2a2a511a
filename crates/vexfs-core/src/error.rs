//! The filesystem error type and its errno mapping.

use crate::device::DeviceError;
use core::fmt;
use vexfs_format::FormatError;

pub type Result<T> = core::result::Result<T, FsError>;

/// Every way a filesystem operation can fail. Each maps to one errno so the
/// FUSE daemon and the kernel module report the same thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsError {
    NotFound,
    Exists,
    NotDir,
    IsDir,
    NotEmpty,
    NoSpace,
    NameTooLong,
    Invalid,
    /// The device failed.
    Io(DeviceError),
    /// On-disk data is inconsistent (EUCLEAN); the detail names what and,
    /// where known, the block or inode.
    Corrupt(Corrupt),
    /// The image needs features this code cannot write.
    ReadOnly,
    /// No such extended attribute (ENODATA).
    NoData,
    /// An extended attribute value or list does not fit the caller's buffer
    /// or the format's limits (ERANGE / E2BIG).
    Range,
    TooBig,
    TooManyLinks,
    FileTooBig,
    NotSupported,
    /// Operation not permitted (EPERM).
    NotPermitted,
    /// Permission denied by mode bits (EACCES).
    AccessDenied,
    /// An allocation failed (ENOMEM).
    NoMemory,
    /// The object is in use (EBUSY).
    Busy,
    /// Not an ioctl this filesystem knows (ENOTTY).
    NotTty,
    /// The image is from another format or has unknown features.
    Incompatible(&'static str),
}

impl FsError {
    /// The Linux errno for this error (positive).
    pub fn errno(&self) -> i32 {
        match self {
            Self::NotFound => 2,         // ENOENT
            Self::Exists => 17,          // EEXIST
            Self::NotDir => 20,          // ENOTDIR
            Self::IsDir => 21,           // EISDIR
            Self::NotEmpty => 39,        // ENOTEMPTY
            Self::NoSpace => 28,         // ENOSPC
            Self::NameTooLong => 36,     // ENAMETOOLONG
            Self::Invalid => 22,         // EINVAL
            Self::Io(_) => 5,            // EIO
            Self::Corrupt(_) => 117,     // EUCLEAN
            Self::ReadOnly => 30,        // EROFS
            Self::NoData => 61,          // ENODATA
            Self::Range => 34,           // ERANGE
            Self::TooBig => 7,           // E2BIG
            Self::TooManyLinks => 31,    // EMLINK
            Self::FileTooBig => 27,      // EFBIG
            Self::NotSupported => 95,    // EOPNOTSUPP
            Self::NotPermitted => 1,     // EPERM
            Self::AccessDenied => 13,    // EACCES
            Self::NoMemory => 12,        // ENOMEM
            Self::Busy => 16,            // EBUSY
            Self::NotTty => 25,          // ENOTTY
            Self::Incompatible(_) => 22, // EINVAL
        }
    }
}

impl From<FormatError> for FsError {
    fn from(e: FormatError) -> Self {
        match e {
            FormatError::Incompatible(why) => Self::Incompatible(why),
            other => Self::Corrupt(Corrupt::new(other, Location::Unknown)),
        }
    }
}

impl From<DeviceError> for FsError {
    fn from(e: DeviceError) -> Self {
        Self::Io(e)
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("no such file or directory"),
            Self::Exists => f.write_str("file exists"),
            Self::NotDir => f.write_str("not a directory"),
            Self::IsDir => f.write_str("is a directory"),
            Self::NotEmpty => f.write_str("directory not empty"),
            Self::NoSpace => f.write_str("no space left on device"),
            Self::NameTooLong => f.write_str("file name too long"),
            Self::Invalid => f.write_str("invalid argument"),
            Self::Io(DeviceError::OutOfRange) => {
                f.write_str("I/O error: access beyond end of device")
            }
            Self::Io(DeviceError::Io(e)) => write!(f, "I/O error (errno {e})"),
            Self::Corrupt(c) => write!(f, "filesystem corrupt: {c}"),
            Self::ReadOnly => f.write_str("read-only filesystem"),
            Self::NoData => f.write_str("no such attribute"),
            Self::Range => f.write_str("result out of range"),
            Self::TooBig => f.write_str("attribute too large"),
            Self::TooManyLinks => f.write_str("too many links"),
            Self::FileTooBig => f.write_str("file too large"),
            Self::NotSupported => f.write_str("operation not supported"),
            Self::NotPermitted => f.write_str("operation not permitted"),
            Self::AccessDenied => f.write_str("permission denied"),
            Self::NoMemory => f.write_str("out of memory"),
            Self::Busy => f.write_str("device or resource busy"),
            Self::NotTty => f.write_str("inappropriate ioctl for device"),
            Self::Incompatible(why) => write!(f, "incompatible filesystem: {why}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FsError {}

/// Where a corruption was found. Kept to plain numbers so the error stays
/// `Copy` and the kernel can print it without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// Not recorded.
    Unknown,
    /// A block, by number (filesystem metadata, or a block whose owner is
    /// not known at the point of the error).
    Block(u64),
    /// An inode record.
    Inode(u64),
    /// A block owned by an inode: a tree node, an xattr blob block.
    InodeBlock { ino: u64, block: u64 },
}

impl Location {
    /// Combine with an outer location: an inner block and an outer inode
    /// make an `InodeBlock`; otherwise the inner (more precise) one wins.
    fn within(self, outer: Location) -> Location {
        match (self, outer) {
            (Self::Unknown, o) => o,
            (Self::Block(block), Self::Inode(ino)) => Self::InodeBlock { ino, block },
            (inner, _) => inner,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown => Ok(()),
            Self::Block(b) => write!(f, "block {b}"),
            Self::Inode(i) => write!(f, "inode {i}"),
            Self::InodeBlock { ino, block } => write!(f, "inode {ino}, block {block}"),
        }
    }
}

/// A corruption: what is wrong (the decoder's or the core's words) and
/// where, in the spirit of ext4-view's `Corrupt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt {
    kind: FormatError,
    at: Location,
}

impl Corrupt {
    pub const fn new(kind: FormatError, at: Location) -> Self {
        Self { kind, at }
    }
    /// What is wrong.
    pub fn kind(&self) -> FormatError {
        self.kind
    }
    /// Where, if known.
    pub fn location(&self) -> Location {
        self.at
    }
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            // "filesystem corrupt: corrupt: ..." says it twice.
            FormatError::Corrupt(c) => write!(f, "{c}")?,
            other => write!(f, "{other}")?,
        }
        if self.at != Location::Unknown {
            write!(f, " at {}", self.at)?;
        }
        Ok(())
    }
}

impl FsError {
    /// Record where a corruption was found; other errors pass unchanged.
    /// Call sites further out add coarser context (an inode around a
    /// block), which never overwrites a more precise location.
    pub fn at(self, loc: Location) -> Self {
        match self {
            Self::Corrupt(c) => Self::Corrupt(Corrupt {
                kind: c.kind,
                at: c.at.within(loc),
            }),
            other => other,
        }
    }

    /// The location of a corruption, if this is one and it was recorded.
    pub fn location(&self) -> Option<Location> {
        match self {
            Self::Corrupt(c) if c.at != Location::Unknown => Some(c.at),
            _ => None,
        }
    }
}

/// Shorthand for a corruption found by the core (not by a decoder).
pub(crate) fn corrupt(what: &'static str) -> FsError {
    FsError::Corrupt(Corrupt::new(
        vexfs_format::error::bad(what),
        Location::Unknown,
    ))
}

/// A corruption found by the core at a known place.
pub(crate) fn corrupt_at(what: &'static str, at: Location) -> FsError {
    FsError::Corrupt(Corrupt::new(vexfs_format::error::bad(what), at))
}
