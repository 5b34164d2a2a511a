//! Inodes: 256-byte records in the inode table.
//!
//! | off | size | field        | meaning                                        |
//! |-----|------|--------------|------------------------------------------------|
//! | 0   | 2    | mode         | file type and permission bits (`st_mode`)      |
//! | 2   | 2    | reserved     | zero                                           |
//! | 4   | 4    | uid          |                                                |
//! | 8   | 4    | gid          |                                                |
//! | 12  | 4    | nlink        | hard links                                     |
//! | 16  | 8    | size         | bytes (directories: number of entries)         |
//! | 24  | 8    | blocks       | filesystem blocks charged to the inode         |
//! | 32  | 8    | atime_sec    | signed seconds since the epoch                 |
//! | 40  | 8    | mtime_sec    |                                                |
//! | 48  | 8    | ctime_sec    |                                                |
//! | 56  | 8    | crtime_sec   | creation (birth) time                          |
//! | 64  | 4    | atime_nsec   | 0..1e9                                         |
//! | 68  | 4    | mtime_nsec   |                                                |
//! | 72  | 4    | ctime_nsec   |                                                |
//! | 76  | 4    | crtime_nsec  |                                                |
//! | 80  | 4    | generation   | NFS-style generation number                    |
//! | 84  | 4    | flags        | `FLAG_*`                                       |
//! | 88  | 4    | rdev         | device number for character/block devices     |
//! | 92  | 4    | xattr_offset | FLAG_XATTR_PACKED: the blob's byte offset in its pack block, else 0 |
//! | 96  | 8    | xattr_block  | first block of the xattr blob (FLAG_XATTR_PACKED: its pack block), 0 if none |
//! | 104 | 4    | xattr_blocks | contiguous blocks of the blob (0 for a packed one) |
//! | 108 | 4    | xattr_len    | bytes used in the blob                         |
//! | 112 | 8    | orphan_next  | next inode on the orphan list, 0 at its end    |
//! | 120 | 8    | parent       | directory holding the primary link, 0 if none  |
//! | 128 | 112  | data         | tree root node, or inline symlink target       |
//! | 240 | 8    | link_key     | key of the primary link's entry in `parent`    |
//! | 248 | 4    | reserved     | zero                                           |
//! | 252 | 4    | crc32c       | over the 256 bytes with this field as zero, seeded with the inode number |
//!
//! An all-zero record is a free inode (the inode bitmap is authoritative).
//!
//! The *primary link* (`parent`, `link_key`) names one directory entry that
//! points at the inode, so a path can be rebuilt from an inode number: for
//! a directory it is its only entry (`parent` is also ".."), for other
//! files the link it was created under, moved by rename, or taken over by
//! `link` when the file had none. Removing the primary link of a file that
//! still has other links leaves `parent` = 0 (no primary link). Images
//! written before the field existed have 0 here for non-directories.

use crate::bytes::*;
use crate::checksum::{crc32c_skipping, crc32c_update};
use crate::error::{bad, Corruption, FormatError};

pub const INODE_SIZE: usize = 256;
pub const DATA_OFFSET: usize = 128;
pub const DATA_SIZE: usize = 112;
pub const LINK_KEY_OFFSET: usize = 240;
pub const CRC_OFFSET: usize = 252;

pub const S_IFMT: u16 = 0o170000;
pub const S_IFSOCK: u16 = 0o140000;
pub const S_IFLNK: u16 = 0o120000;
pub const S_IFREG: u16 = 0o100000;
pub const S_IFBLK: u16 = 0o060000;
pub const S_IFDIR: u16 = 0o040000;
pub const S_IFCHR: u16 = 0o020000;
pub const S_IFIFO: u16 = 0o010000;

/// `data` holds the symlink target itself (targets up to 112 bytes).
pub const FLAG_INLINE_SYMLINK: u32 = 1 << 0;
/// The inode is on the orphan list (unlinked while open, or mid-truncate).
pub const FLAG_ORPHAN: u32 = 1 << 1;
/// Reserved: a directory carrying a persistent vector index.
pub const FLAG_VECTOR_INDEX: u32 = 1 << 8;
/// Reserved: the file carries an embedding (fast filter for index rebuilds).
pub const FLAG_HAS_EMBEDDING: u32 = 1 << 9;
/// The attributes other than ACLs and the embedding are in an attribute
/// tree whose root the blob names (`crate::xattr_tree`).
pub const FLAG_XATTR_TREE: u32 = 1 << 2;
/// The blob is small and shares a pack block with other inodes' blobs
/// (`crate::xattr_pack`): `xattr_block` is the pack block, `xattr_offset`
/// where in it the blob starts, `xattr_len` its length.
pub const FLAG_XATTR_PACKED: u32 = 1 << 3;
pub const FLAGS_KNOWN: u32 = FLAG_INLINE_SYMLINK
    | FLAG_ORPHAN
    | FLAG_XATTR_TREE
    | FLAG_XATTR_PACKED
    | FLAG_VECTOR_INDEX
    | FLAG_HAS_EMBEDDING;

/// A point in time: seconds since the epoch and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Timestamp {
    pub sec: i64,
    pub nsec: u32,
}

impl Timestamp {
    pub const fn new(sec: i64, nsec: u32) -> Self {
        Self { sec, nsec }
    }
}

/// The file type bits of a mode, as a closed enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    Regular,
    Directory,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

impl FileType {
    pub fn from_mode(mode: u16) -> Option<Self> {
        Some(match mode & S_IFMT {
            S_IFREG => Self::Regular,
            S_IFDIR => Self::Directory,
            S_IFLNK => Self::Symlink,
            S_IFCHR => Self::CharDevice,
            S_IFBLK => Self::BlockDevice,
            S_IFIFO => Self::Fifo,
            S_IFSOCK => Self::Socket,
            _ => return None,
        })
    }
    pub fn mode_bits(self) -> u16 {
        match self {
            Self::Regular => S_IFREG,
            Self::Directory => S_IFDIR,
            Self::Symlink => S_IFLNK,
            Self::CharDevice => S_IFCHR,
            Self::BlockDevice => S_IFBLK,
            Self::Fifo => S_IFIFO,
            Self::Socket => S_IFSOCK,
        }
    }
    /// The `d_type`-style code stored in directory entries (DT_* values).
    pub fn dirent_code(self) -> u8 {
        match self {
            Self::Fifo => 1,
            Self::CharDevice => 2,
            Self::Directory => 4,
            Self::BlockDevice => 6,
            Self::Regular => 8,
            Self::Symlink => 10,
            Self::Socket => 12,
        }
    }
    pub fn from_dirent_code(c: u8) -> Option<Self> {
        Some(match c {
            1 => Self::Fifo,
            2 => Self::CharDevice,
            4 => Self::Directory,
            6 => Self::BlockDevice,
            8 => Self::Regular,
            10 => Self::Symlink,
            12 => Self::Socket,
            _ => return None,
        })
    }
}

/// A decoded inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    pub mode: u16,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub size: u64,
    pub blocks: u64,
    pub atime: Timestamp,
    pub mtime: Timestamp,
    pub ctime: Timestamp,
    pub crtime: Timestamp,
    pub generation: u32,
    pub flags: u32,
    pub rdev: u32,
    pub xattr_block: u64,
    pub xattr_blocks: u32,
    pub xattr_len: u32,
    /// Byte offset of a packed blob in its pack block (`FLAG_XATTR_PACKED`).
    pub xattr_offset: u32,
    pub orphan_next: u64,
    /// The directory holding the primary link (for directories also "..");
    /// 0 when a non-directory has no primary link.
    pub parent: u64,
    pub data: [u8; DATA_SIZE],
    /// Key of the primary link's entry in `parent`'s directory tree.
    pub link_key: u64,
}

impl Inode {
    /// A fresh inode of the given mode, all times set to `now`.
    pub fn new(mode: u16, uid: u32, gid: u32, now: Timestamp) -> Self {
        Inode {
            mode,
            uid,
            gid,
            nlink: 1,
            size: 0,
            blocks: 0,
            atime: now,
            mtime: now,
            ctime: now,
            crtime: now,
            generation: 0,
            flags: 0,
            rdev: 0,
            xattr_block: 0,
            xattr_blocks: 0,
            xattr_len: 0,
            xattr_offset: 0,
            orphan_next: 0,
            parent: 0,
            data: [0; DATA_SIZE],
            link_key: 0,
        }
    }

    pub fn file_type(&self) -> Option<FileType> {
        FileType::from_mode(self.mode)
    }
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }
    pub fn is_reg(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }

    fn checksum(raw: &[u8], ino: u64) -> u32 {
        // Seeding with the inode number catches a record written to the
        // wrong slot, which a plain checksum would accept.
        let seed = crc32c_update(!0, &ino.to_le_bytes());
        let body = crc32c_skipping(raw, CRC_OFFSET);
        seed ^ body
    }

    /// True if the 256-byte record is all zeros (a never-used slot).
    pub fn is_zeroed(raw: &[u8]) -> bool {
        raw.iter().all(|&b| b == 0)
    }

    /// Decode the record of inode `ino`.
    pub fn decode(raw: &[u8], ino: u64) -> Result<Self, FormatError> {
        let raw = get_bytes(raw, 0, INODE_SIZE)?;
        if get_u32(raw, CRC_OFFSET)? != Self::checksum(raw, ino) {
            return Err(FormatError::Corrupt(Corruption::BadChecksum("inode")));
        }
        let ts = |s: usize, n: usize| -> Result<Timestamp, FormatError> {
            let nsec = get_u32(raw, n)?;
            if nsec >= 1_000_000_000 {
                return Err(bad("inode timestamp"));
            }
            Ok(Timestamp {
                sec: get_i64(raw, s)?,
                nsec,
            })
        };
        let mut data = [0u8; DATA_SIZE];
        data.copy_from_slice(get_bytes(raw, DATA_OFFSET, DATA_SIZE)?);
        let inode = Inode {
            mode: get_u16(raw, 0)?,
            uid: get_u32(raw, 4)?,
            gid: get_u32(raw, 8)?,
            nlink: get_u32(raw, 12)?,
            size: get_u64(raw, 16)?,
            blocks: get_u64(raw, 24)?,
            atime: ts(32, 64)?,
            mtime: ts(40, 68)?,
            ctime: ts(48, 72)?,
            crtime: ts(56, 76)?,
            generation: get_u32(raw, 80)?,
            flags: get_u32(raw, 84)?,
            rdev: get_u32(raw, 88)?,
            xattr_block: get_u64(raw, 96)?,
            xattr_blocks: get_u32(raw, 104)?,
            xattr_len: get_u32(raw, 108)?,
            xattr_offset: get_u32(raw, 92)?,
            orphan_next: get_u64(raw, 112)?,
            parent: get_u64(raw, 120)?,
            data,
            link_key: get_u64(raw, LINK_KEY_OFFSET)?,
        };
        if inode.file_type().is_none() {
            return Err(bad("inode file type"));
        }
        if inode.flags & !FLAGS_KNOWN != 0 {
            return Err(bad("inode flags"));
        }
        if inode.flags & FLAG_INLINE_SYMLINK != 0
            && (!inode.is_symlink() || inode.size > DATA_SIZE as u64)
        {
            return Err(bad("inline symlink"));
        }
        if inode.flags & FLAG_XATTR_PACKED != 0 {
            if inode.xattr_block == 0
                || inode.xattr_blocks != 0
                || inode.xattr_len == 0
                || inode.flags & FLAG_XATTR_TREE != 0
            {
                return Err(bad("packed xattr location"));
            }
        } else if (inode.xattr_block == 0) != (inode.xattr_blocks == 0) || inode.xattr_offset != 0 {
            return Err(bad("inode xattr location"));
        }
        Ok(inode)
    }

    /// Encode into a 256-byte slot for inode `ino`.
    pub fn encode(&self, raw: &mut [u8], ino: u64) -> Result<(), FormatError> {
        let raw = raw.get_mut(..INODE_SIZE).ok_or(FormatError::Truncated)?;
        raw.fill(0);
        put_u16(raw, 0, self.mode)?;
        put_u32(raw, 4, self.uid)?;
        put_u32(raw, 8, self.gid)?;
        put_u32(raw, 12, self.nlink)?;
        put_u64(raw, 16, self.size)?;
        put_u64(raw, 24, self.blocks)?;
        put_i64(raw, 32, self.atime.sec)?;
        put_i64(raw, 40, self.mtime.sec)?;
        put_i64(raw, 48, self.ctime.sec)?;
        put_i64(raw, 56, self.crtime.sec)?;
        put_u32(raw, 64, self.atime.nsec)?;
        put_u32(raw, 68, self.mtime.nsec)?;
        put_u32(raw, 72, self.ctime.nsec)?;
        put_u32(raw, 76, self.crtime.nsec)?;
        put_u32(raw, 80, self.generation)?;
        put_u32(raw, 84, self.flags)?;
        put_u32(raw, 88, self.rdev)?;
        put_u32(raw, 92, self.xattr_offset)?;
        put_u64(raw, 96, self.xattr_block)?;
        put_u32(raw, 104, self.xattr_blocks)?;
        put_u32(raw, 108, self.xattr_len)?;
        put_u64(raw, 112, self.orphan_next)?;
        put_u64(raw, 120, self.parent)?;
        put_bytes(raw, DATA_OFFSET, &self.data)?;
        put_u64(raw, LINK_KEY_OFFSET, self.link_key)?;
        let crc = Self::checksum(raw, ino);
        put_u32(raw, CRC_OFFSET, crc)
    }
}

const _: () = assert!(DATA_OFFSET + DATA_SIZE == LINK_KEY_OFFSET);
const _: () = assert!(LINK_KEY_OFFSET + 8 + 4 + 4 == INODE_SIZE);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_slot_check() {
        let mut i = Inode::new(
            S_IFREG | 0o644,
            1000,
            1000,
            Timestamp::new(1_700_000_000, 5),
        );
        i.size = 12345;
        i.data[0] = 42;
        let mut raw = [0u8; INODE_SIZE];
        i.encode(&mut raw, 17).unwrap();
        assert_eq!(Inode::decode(&raw, 17).unwrap(), i);
        assert!(
            Inode::decode(&raw, 18).is_err(),
            "slot mismatch must be caught"
        );
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300), ino in 0u64..100) {
            let _ = Inode::decode(&data, ino);
        }
    }
}
