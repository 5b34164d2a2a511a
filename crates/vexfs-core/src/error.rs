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
    /// On-disk data is inconsistent (EUCLEAN); the detail names it.
    Corrupt(FormatError),
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
            Self::Incompatible(_) => 22, // EINVAL
        }
    }
}

impl From<FormatError> for FsError {
    fn from(e: FormatError) -> Self {
        match e {
            FormatError::Incompatible(why) => Self::Incompatible(why),
            other => Self::Corrupt(other),
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
            Self::Corrupt(e) => write!(f, "filesystem corrupt: {e}"),
            Self::ReadOnly => f.write_str("read-only filesystem"),
            Self::NoData => f.write_str("no such attribute"),
            Self::Range => f.write_str("result out of range"),
            Self::TooBig => f.write_str("attribute too large"),
            Self::TooManyLinks => f.write_str("too many links"),
            Self::FileTooBig => f.write_str("file too large"),
            Self::NotSupported => f.write_str("operation not supported"),
            Self::NotPermitted => f.write_str("operation not permitted"),
            Self::Incompatible(why) => write!(f, "incompatible filesystem: {why}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FsError {}

/// Shorthand for a corruption found by the core (not by a decoder).
pub(crate) fn corrupt(what: &'static str) -> FsError {
    FsError::Corrupt(vexfs_format::error::bad(what))
}
