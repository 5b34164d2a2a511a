//! The `extern "C"` surface that the kernel module's C glue (`kernel/`)
//! calls: mount, unmount, statfs, inode attributes, lookup, readdir, file
//! read and write, the page cache's block mapping, the namespace
//! operations, extended attributes, the vector ioctls and the index
//! insertion worker's calls, over the shared `vexfs-core`.
//!
//! The C side owns every kernel API call (block I/O, memory, locks, the
//! VFS) and decodes no VexFS bytes; this crate owns every decision about the
//! format. Rules of the edge, mirrored in `kernel/vexfs.h`:
//!
//! - every function returns 0 (or a byte count) on success and a negative
//!   errno on failure, from `FsError::errno`;
//! - no floats cross it (the module is built soft-float);
//! - the handle is not thread-safe: the C side holds one mutex per
//!   superblock around every call (`kernel/README.md`).
//!
//! Built for the host it links `std` (tests drive the same ABI over an
//! in-memory device); built for the kernel target (`target_os = "none"`)
//! it is `no_std` and brings its own allocator and panic handler, both over
//! C helpers.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

extern crate alloc;

mod abi;
mod absorb;
mod block_map;
mod data;
mod device;
#[cfg(target_os = "none")]
mod kernel;
mod mount;
mod node;
mod vector;
mod xattr;

pub use abi::*;
pub use absorb::{
    vexfs_background_inserts, vexfs_vectors_absorb, vexfs_vectors_backlog, vexfs_vectors_changes,
    VexfsAbsorbed,
};
pub use block_map::{
    vexfs_extend_size, vexfs_map_blocks, VexfsMap, VEXFS_MAP_CREATE, VEXFS_MAP_MAPPED,
    VEXFS_MAP_NEW, VEXFS_MAP_UNWRITTEN,
};
pub use data::{vexfs_fallocate, vexfs_read, vexfs_write};
pub use device::CDevice;
pub use mount::{
    vexfs_block_size, vexfs_commit_pending, vexfs_is_read_only, vexfs_mount, vexfs_root_ino,
    vexfs_statfs, vexfs_sync, vexfs_unmount, VexfsFs,
};
pub use node::{
    vexfs_create, vexfs_getattr, vexfs_link, vexfs_lookup, vexfs_mkdir, vexfs_open, vexfs_readdir,
    vexfs_readlink, vexfs_release, vexfs_rename, vexfs_rmdir, vexfs_setattr, vexfs_symlink,
    vexfs_unlink,
};
pub use vector::{
    vexfs_session_free, vexfs_session_new, vexfs_vector_ioctl, VexfsCaller, VexfsSession,
    VEXFS_CALLER_PRIVILEGED,
};
pub use xattr::{
    vexfs_getxattr, vexfs_listxattr, vexfs_removexattr, vexfs_setxattr, VEXFS_XATTR_CREATE,
    VEXFS_XATTR_REPLACE,
};
