//! The VexFS filesystem: allocation, inodes, directories, file mapping,
//! extended attributes and the transaction layer, over one [`BlockDevice`]
//! trait.
//!
//! `no_std` + `alloc`: the same code runs in `mkfs.vexfs`, `fsck.vexfs`, the
//! FUSE daemon and the kernel module. It never touches files, threads or
//! clocks: time and caller identity are arguments.
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;

mod acl;
mod alloc_bitmap;
mod block_map;
mod btree;
pub mod check;
mod deferred;
mod device;
mod dir;
mod error;
mod extents;
mod fallible;
mod file;
#[cfg(feature = "std")]
mod file_device;
mod fs;
mod inode;
mod journal;
pub mod mkfs;
mod namespace;
mod nr_map;
mod perm;
mod ranges;
mod seek;
mod tx;
pub mod vector;
mod xattr;
mod xattr_pack;
mod xattr_tree;

pub use block_map::{BlockMap, WriteMapping, MAX_MAP_BLOCKS};
pub use device::{BlockDevice, DeviceError, MemDevice};
pub use error::{Corrupt, FsError, Location, Result};
pub use file::MAX_FILE_SIZE;
#[cfg(feature = "std")]
pub use file_device::{is_block_device, FileDevice};
pub use fs::{
    DirEntryOut, ErrorPolicy, FallocMode, Fs, MountOptions, RenameFlags, SetAttr, Stat, StatFs,
};
pub use journal::{CommitIo, JournalStats};
pub use perm::Caller;
pub use seek::SeekTarget;
pub use vector::{
    Absorbed, Filter, Hit, IndexInfo, IndexKind, IndexSpec, Metric, Query, QuerySession,
    SearchOutcome, DEFAULT_INSERT_BACKLOG,
};
pub use vexfs_format as format;
pub use vexfs_format::inode::{FileType, Inode, Timestamp};
pub use xattr::XattrFlags;
