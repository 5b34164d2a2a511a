//! Extended attributes: get, list, set and remove through the core.
//!
//! The C side (`kernel/xattr.c`) gets the full attribute name (prefix
//! included) from the VFS handlers and hands kernel buffers only: the VFS
//! copies between user memory and those buffers itself, outside our lock.

use crate::abi::{neg, VexfsStat, VexfsTime, NEG_EINVAL};
use crate::mount::{bytes, handle, VexfsFs};
use vexfs_core::{FsError, XattrFlags};

/// `setxattr` flags: the Linux `XATTR_CREATE` and `XATTR_REPLACE` values.
pub const VEXFS_XATTR_CREATE: u32 = 1;
pub const VEXFS_XATTR_REPLACE: u32 = 2;

/// Copy `src` into `buf` with `getxattr(2)` size-probe rules: `cap == 0`
/// asks for the length only; a shorter buffer is `-ERANGE`.
///
/// # Safety
/// `buf` must be null or point to `cap` writable bytes.
unsafe fn put_sized(src: &[u8], buf: *mut u8, cap: usize) -> i64 {
    if cap == 0 {
        return src.len() as i64;
    }
    if buf.is_null() {
        return NEG_EINVAL.into();
    }
    if src.len() > cap {
        return neg(FsError::Range).into();
    }
    // SAFETY: `buf` is non-null with `cap >= src.len()` writable bytes by
    // the caller's contract; `src` is a separate allocation.
    unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), buf, src.len()) };
    src.len() as i64
}

/// Store the inode's attributes after a change (its ctime moved), so the
/// C side can refresh the VFS inode inside the same locked section.
///
/// # Safety
/// `out` must be null or writable.
unsafe fn put_attrs(fs: &mut vexfs_core::Fs<crate::CDevice>, ino: u64, out: *mut VexfsStat) -> i32 {
    match fs.getattr(ino) {
        Ok(st) => {
            // SAFETY: the caller guarantees `out` is null or writable.
            if let Some(o) = unsafe { out.as_mut() } {
                *o = VexfsStat::from(&st);
            }
            0
        }
        Err(e) => neg(e),
    }
}

/// The value of attribute `name` (full name, `name_len` bytes) of `ino`
/// into `buf`. Returns the value's length (only that when `cap` is 0), or
/// a negative errno: `-ENODATA` when absent, `-ERANGE` when `buf` is too
/// small, `-EOPNOTSUPP` for a namespace the core does not store.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `name` must point to
/// `name_len` readable bytes; `buf` null or `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_getxattr(
    fs: *mut VexfsFs,
    ino: u64,
    name: *const u8,
    name_len: usize,
    buf: *mut u8,
    cap: usize,
) -> i64 {
    // SAFETY: the caller guarantees the handle and the name bytes.
    let (Some(fs), Some(name)) = (unsafe { handle(fs) }, unsafe { bytes(name, name_len) }) else {
        return NEG_EINVAL.into();
    };
    match fs.getxattr(ino, name) {
        // SAFETY: the caller guarantees `buf` and `cap`.
        Ok(v) => unsafe { put_sized(&v, buf, cap) },
        Err(e) => neg(e).into(),
    }
}

/// Every attribute name of `ino`, each NUL-terminated, into `buf` (size
/// probe and `-ERANGE` as `vexfs_getxattr`).
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `buf` null or `cap`
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_listxattr(
    fs: *mut VexfsFs,
    ino: u64,
    buf: *mut u8,
    cap: usize,
) -> i64 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    let Some(fs) = (unsafe { handle(fs) }) else {
        return NEG_EINVAL.into();
    };
    match fs.listxattr(ino) {
        // SAFETY: the caller guarantees `buf` and `cap`.
        Ok(v) => unsafe { put_sized(&v, buf, cap) },
        Err(e) => neg(e).into(),
    }
}

/// Set attribute `name` of `ino` to `value` (`flags`: `VEXFS_XATTR_*`),
/// then report the inode's attributes in `out`. Setting the embedding
/// attribute updates the index covering the file (a bad vector is
/// `-EINVAL`); a value over the core's limit is `-E2BIG`, a full device
/// `-ENOSPC`.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `name` and `value`
/// must point to their lengths in readable bytes; `out` null or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_setxattr(
    fs: *mut VexfsFs,
    ino: u64,
    name: *const u8,
    name_len: usize,
    value: *const u8,
    value_len: usize,
    flags: u32,
    now: VexfsTime,
    out: *mut VexfsStat,
) -> i32 {
    // SAFETY: the caller guarantees the handle, the name and the value.
    let (Some(fs), Some(name), Some(value)) = (
        unsafe { handle(fs) },
        unsafe { bytes(name, name_len) },
        unsafe { bytes(value, value_len) },
    ) else {
        return NEG_EINVAL;
    };
    if flags & !(VEXFS_XATTR_CREATE | VEXFS_XATTR_REPLACE) != 0 {
        return NEG_EINVAL;
    }
    let f = XattrFlags {
        create: flags & VEXFS_XATTR_CREATE != 0,
        replace: flags & VEXFS_XATTR_REPLACE != 0,
    };
    if let Err(e) = fs.setxattr(ino, name, value, f, now.into()) {
        return neg(e);
    }
    // SAFETY: the caller guarantees `out`.
    unsafe { put_attrs(fs, ino, out) }
}

/// Remove attribute `name` of `ino` (`-ENODATA` when absent), then report
/// the inode's attributes in `out`.
///
/// # Safety
/// As `vexfs_getxattr`; `out` null or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_removexattr(
    fs: *mut VexfsFs,
    ino: u64,
    name: *const u8,
    name_len: usize,
    now: VexfsTime,
    out: *mut VexfsStat,
) -> i32 {
    // SAFETY: the caller guarantees the handle and the name bytes.
    let (Some(fs), Some(name)) = (unsafe { handle(fs) }, unsafe { bytes(name, name_len) }) else {
        return NEG_EINVAL;
    };
    if let Err(e) = fs.removexattr(ino, name, now.into()) {
        return neg(e);
    }
    // SAFETY: the caller guarantees `out`.
    unsafe { put_attrs(fs, ino, out) }
}
