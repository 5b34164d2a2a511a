//! The C-visible types. Each struct here has a twin in `kernel/vexfs.h`
//! with the same fields in the same order; the layout asserts at the end
//! pin the sizes both sides rely on.

use core::ffi::c_void;
use vexfs_core::{FsError, Stat, StatFs, Timestamp};

/// A point in time (seconds since the epoch and nanoseconds).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VexfsTime {
    pub sec: i64,
    pub nsec: u32,
    pub pad: u32,
}

impl From<VexfsTime> for Timestamp {
    fn from(t: VexfsTime) -> Self {
        // Clamp rather than trust the caller: the core rejects nothing here.
        Timestamp {
            sec: t.sec,
            nsec: t.nsec.min(999_999_999),
        }
    }
}

impl From<Timestamp> for VexfsTime {
    fn from(t: Timestamp) -> Self {
        VexfsTime {
            sec: t.sec,
            nsec: t.nsec,
            pad: 0,
        }
    }
}

/// Inode attributes (`struct vexfs_stat`). `mode` carries the file type
/// bits (`S_IFMT`) and the permissions, as `st_mode` does.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VexfsStat {
    pub ino: u64,
    pub size: u64,
    /// 512-byte sectors allocated (`i_blocks`).
    pub blocks_512: u64,
    pub atime: VexfsTime,
    pub mtime: VexfsTime,
    pub ctime: VexfsTime,
    pub crtime: VexfsTime,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u32,
    pub generation: u32,
    pub blksize: u32,
    pub pad: u32,
}

impl From<&Stat> for VexfsStat {
    fn from(s: &Stat) -> Self {
        VexfsStat {
            ino: s.ino,
            size: s.size,
            blocks_512: s.blocks_512,
            atime: s.atime.into(),
            mtime: s.mtime.into(),
            ctime: s.ctime.into(),
            crtime: s.crtime.into(),
            // The type bits come from the decoded type, so a record whose
            // mode and type disagree cannot reach the VFS half-formed.
            mode: u32::from((s.mode & !S_IFMT) | s.file_type.mode_bits()),
            nlink: s.nlink,
            uid: s.uid,
            gid: s.gid,
            rdev: s.rdev,
            generation: s.generation,
            blksize: s.block_size,
            pad: 0,
        }
    }
}

const S_IFMT: u16 = vexfs_core::format::inode::S_IFMT;

/// Filesystem counters (`struct vexfs_statfs`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VexfsStatfs {
    pub block_size: u32,
    pub name_max: u32,
    pub blocks: u64,
    pub blocks_free: u64,
    pub inodes: u64,
    pub inodes_free: u64,
}

impl From<StatFs> for VexfsStatfs {
    fn from(s: StatFs) -> Self {
        VexfsStatfs {
            block_size: s.block_size,
            name_max: s.name_max,
            blocks: s.blocks,
            blocks_free: s.blocks_free,
            inodes: s.inodes,
            inodes_free: s.inodes_free,
        }
    }
}

/// `struct vexfs_setattr.valid` bits: which fields to apply.
pub const VEXFS_SET_MODE: u32 = 1 << 0;
pub const VEXFS_SET_UID: u32 = 1 << 1;
pub const VEXFS_SET_GID: u32 = 1 << 2;
pub const VEXFS_SET_SIZE: u32 = 1 << 3;
pub const VEXFS_SET_ATIME: u32 = 1 << 4;
pub const VEXFS_SET_MTIME: u32 = 1 << 5;
pub const VEXFS_SET_CTIME: u32 = 1 << 6;

/// Attribute changes (`struct vexfs_setattr`); only fields named in
/// `valid` are read.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VexfsSetattr {
    pub valid: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime: VexfsTime,
    pub mtime: VexfsTime,
    pub ctime: VexfsTime,
}

/// `vexfs_fallocate` modes: the Linux `FALLOC_FL_*` bits this
/// filesystem accepts (0 allocates and extends the size).
pub const VEXFS_FALLOC_KEEP_SIZE: u32 = 0x01;
pub const VEXFS_FALLOC_PUNCH_HOLE: u32 = 0x02;
pub const VEXFS_FALLOC_ZERO_RANGE: u32 = 0x10;

/// `vexfs_mount` flags.
pub const VEXFS_MOUNT_RDONLY: u32 = 1 << 0;

/// `vexfs_rename` flags (the values of `RENAME_NOREPLACE` and
/// `RENAME_EXCHANGE` in Linux).
pub const VEXFS_RENAME_NOREPLACE: u32 = 1 << 0;
pub const VEXFS_RENAME_EXCHANGE: u32 = 1 << 1;

/// Reads `len` bytes at byte `off` into `buf`; 0 or a negative errno.
pub type VexfsReadFn =
    unsafe extern "C" fn(ctx: *mut c_void, off: u64, buf: *mut u8, len: usize) -> i32;
/// Writes `len` bytes from `buf` at byte `off`; 0 or a negative errno.
pub type VexfsWriteFn =
    unsafe extern "C" fn(ctx: *mut c_void, off: u64, buf: *const u8, len: usize) -> i32;
/// Makes every completed write durable; 0 or a negative errno.
pub type VexfsFlushFn = unsafe extern "C" fn(ctx: *mut c_void) -> i32;

/// The block device as the C side provides it (`struct vexfs_dev_ops`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VexfsDevOps {
    pub read: Option<VexfsReadFn>,
    pub write: Option<VexfsWriteFn>,
    pub flush: Option<VexfsFlushFn>,
}

/// Called once per directory entry by `vexfs_readdir`. `dtype` is a
/// `DT_*` value, `pos` the offset to resume after this entry. A non-zero
/// return stops the walk (the caller's buffer is full).
pub type VexfsFillDir = unsafe extern "C" fn(
    ctx: *mut c_void,
    name: *const u8,
    len: usize,
    ino: u64,
    dtype: u32,
    pos: u64,
) -> i32;

/// The negative errno the C side returns for `e`.
pub(crate) fn neg(e: FsError) -> i32 {
    -e.errno()
}

/// `-EINVAL`, for arguments the C side should never pass (null pointers).
pub(crate) const NEG_EINVAL: i32 = -22;

// The C header hard-codes these sizes (BUILD_BUG_ON in kernel/super.c).
const _: () = assert!(core::mem::size_of::<VexfsTime>() == 16);
const _: () = assert!(core::mem::size_of::<VexfsStat>() == 120);
const _: () = assert!(core::mem::size_of::<VexfsStatfs>() == 40);
const _: () = assert!(core::mem::size_of::<VexfsSetattr>() == 72);
const _: () = assert!(core::mem::size_of::<VexfsDevOps>() == 24);
