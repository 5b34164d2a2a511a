//! Inode and namespace calls: attributes, lookup, readdir, create, mkdir,
//! symlink, link, unlink, rmdir, rename, setattr, open and release.
//!
//! Every function takes the handle first and, where it produces an inode,
//! fills a `VexfsStat` so the C side can build or refresh the VFS inode
//! without a second call.

use crate::abi::{
    neg, VexfsFillDir, VexfsSetattr, VexfsStat, VexfsTime, NEG_EINVAL, VEXFS_RENAME_EXCHANGE,
    VEXFS_RENAME_NOREPLACE, VEXFS_SET_ATIME, VEXFS_SET_CTIME, VEXFS_SET_GID, VEXFS_SET_MODE,
    VEXFS_SET_MTIME, VEXFS_SET_SIZE, VEXFS_SET_UID,
};
use crate::mount::{bytes, handle, VexfsFs};
use core::ffi::c_void;
use vexfs_core::{RenameFlags, Result, SetAttr, Stat};

/// Store a produced inode's attributes, or turn the error into an errno.
///
/// # Safety
/// `out` must be null or writable.
unsafe fn put_stat(r: Result<Stat>, out: *mut VexfsStat) -> i32 {
    match r {
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

fn status(r: Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => neg(e),
    }
}

/// Attributes of `ino`.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `out` null or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_getattr(fs: *mut VexfsFs, ino: u64, out: *mut VexfsStat) -> i32 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    let Some(fs) = (unsafe { handle(fs) }) else {
        return NEG_EINVAL;
    };
    // SAFETY: the caller guarantees `out`.
    unsafe { put_stat(fs.getattr(ino), out) }
}

/// Resolve `name` (`len` bytes, no NUL needed) in directory `dir`;
/// `-ENOENT` when absent.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `name` must point to
/// `len` readable bytes; `out` null or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_lookup(
    fs: *mut VexfsFs,
    dir: u64,
    name: *const u8,
    len: usize,
    out: *mut VexfsStat,
) -> i32 {
    // SAFETY: the caller guarantees the handle and the name bytes.
    let (Some(fs), Some(name)) = (unsafe { handle(fs) }, unsafe { bytes(name, len) }) else {
        return NEG_EINVAL;
    };
    // SAFETY: the caller guarantees `out`.
    unsafe { put_stat(fs.lookup(dir, name), out) }
}

/// Entries fetched from the core per call; `VEXFS_DIR_BATCH` in
/// kernel/dir.c is the same, so none is decoded only to be dropped.
const READDIR_BATCH: usize = 64;

/// Walk directory `dir` from offset `pos` (0 = start; the offset of the
/// last entry already seen otherwise), calling `fill` for each entry until
/// it returns non-zero or the directory ends. Returns 0 or a negative
/// errno.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `fill` must be safe
/// to call with `ctx`.
#[no_mangle]
pub unsafe extern "C" fn vexfs_readdir(
    fs: *mut VexfsFs,
    dir: u64,
    pos: u64,
    fill: Option<VexfsFillDir>,
    ctx: *mut c_void,
) -> i32 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    let (Some(fs), Some(fill)) = (unsafe { handle(fs) }, fill) else {
        return NEG_EINVAL;
    };
    let mut pos = pos;
    loop {
        let batch = match fs.readdir(dir, pos, READDIR_BATCH) {
            Ok(b) => b,
            Err(e) => return neg(e),
        };
        if batch.is_empty() {
            return 0;
        }
        for e in &batch {
            // DT_* values are the S_IFMT type bits shifted down.
            let dtype = u32::from(e.file_type.mode_bits() >> 12);
            // SAFETY: the caller guarantees `fill` accepts `ctx`; the name
            // pointer and length describe a live buffer.
            let stop = unsafe { fill(ctx, e.name.as_ptr(), e.name.len(), e.ino, dtype, e.offset) };
            if stop != 0 {
                return 0;
            }
            pos = e.offset;
        }
    }
}

/// Create a non-directory node `name` in `dir`. `mode` carries the type
/// bits (regular, device, fifo, socket) and permissions.
///
/// # Safety
/// As `vexfs_lookup`.
#[no_mangle]
pub unsafe extern "C" fn vexfs_create(
    fs: *mut VexfsFs,
    dir: u64,
    name: *const u8,
    len: usize,
    mode: u32,
    rdev: u32,
    uid: u32,
    gid: u32,
    now: VexfsTime,
    out: *mut VexfsStat,
) -> i32 {
    // SAFETY: the caller guarantees the handle and the name bytes.
    let (Some(fs), Some(name)) = (unsafe { handle(fs) }, unsafe { bytes(name, len) }) else {
        return NEG_EINVAL;
    };
    let Ok(mode) = u16::try_from(mode) else {
        return NEG_EINVAL;
    };
    let r = fs.mknod(dir, name, mode, rdev, uid, gid, now.into());
    // SAFETY: the caller guarantees `out`.
    unsafe { put_stat(r, out) }
}

/// Create directory `name` in `dir` with permissions `mode & 07777`.
///
/// # Safety
/// As `vexfs_lookup`.
#[no_mangle]
pub unsafe extern "C" fn vexfs_mkdir(
    fs: *mut VexfsFs,
    dir: u64,
    name: *const u8,
    len: usize,
    mode: u32,
    uid: u32,
    gid: u32,
    now: VexfsTime,
    out: *mut VexfsStat,
) -> i32 {
    // SAFETY: the caller guarantees the handle and the name bytes.
    let (Some(fs), Some(name)) = (unsafe { handle(fs) }, unsafe { bytes(name, len) }) else {
        return NEG_EINVAL;
    };
    let perm = (mode & 0o7777) as u16;
    // SAFETY: the caller guarantees `out`.
    unsafe { put_stat(fs.mkdir(dir, name, perm, uid, gid, now.into()), out) }
}

/// Create symbolic link `name` in `dir` pointing at `target`.
///
/// # Safety
/// As `vexfs_lookup`; `target` must point to `target_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_symlink(
    fs: *mut VexfsFs,
    dir: u64,
    name: *const u8,
    len: usize,
    target: *const u8,
    target_len: usize,
    uid: u32,
    gid: u32,
    now: VexfsTime,
    out: *mut VexfsStat,
) -> i32 {
    // SAFETY: the caller guarantees the handle, the name and the target.
    let (Some(fs), Some(name), Some(target)) =
        (unsafe { handle(fs) }, unsafe { bytes(name, len) }, unsafe {
            bytes(target, target_len)
        })
    else {
        return NEG_EINVAL;
    };
    // SAFETY: the caller guarantees `out`.
    unsafe { put_stat(fs.symlink(dir, name, target, uid, gid, now.into()), out) }
}

/// Copy the target of symlink `ino` into `buf` (`cap` bytes, no NUL).
/// Returns the target's length, or a negative errno (`-ERANGE` if it does
/// not fit).
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `buf` must point to
/// `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_readlink(
    fs: *mut VexfsFs,
    ino: u64,
    buf: *mut u8,
    cap: usize,
) -> i64 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    let Some(fs) = (unsafe { handle(fs) }) else {
        return NEG_EINVAL.into();
    };
    let target = match fs.readlink(ino) {
        Ok(t) => t,
        Err(e) => return neg(e).into(),
    };
    if target.len() > cap || buf.is_null() {
        return neg(vexfs_core::FsError::Range).into();
    }
    // SAFETY: `buf` is non-null with `cap >= target.len()` writable bytes
    // by the caller's contract; the source is a separate allocation.
    unsafe { core::ptr::copy_nonoverlapping(target.as_ptr(), buf, target.len()) };
    target.len() as i64
}

/// Add hard link `name` in `dir` to `ino`.
///
/// # Safety
/// As `vexfs_lookup`.
#[no_mangle]
pub unsafe extern "C" fn vexfs_link(
    fs: *mut VexfsFs,
    ino: u64,
    dir: u64,
    name: *const u8,
    len: usize,
    now: VexfsTime,
    out: *mut VexfsStat,
) -> i32 {
    // SAFETY: the caller guarantees the handle and the name bytes.
    let (Some(fs), Some(name)) = (unsafe { handle(fs) }, unsafe { bytes(name, len) }) else {
        return NEG_EINVAL;
    };
    // SAFETY: the caller guarantees `out`.
    unsafe { put_stat(fs.link(ino, dir, name, now.into()), out) }
}

/// Remove non-directory `name` from `dir`.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `name` must point to
/// `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_unlink(
    fs: *mut VexfsFs,
    dir: u64,
    name: *const u8,
    len: usize,
    now: VexfsTime,
) -> i32 {
    // SAFETY: the caller guarantees the handle and the name bytes.
    let (Some(fs), Some(name)) = (unsafe { handle(fs) }, unsafe { bytes(name, len) }) else {
        return NEG_EINVAL;
    };
    status(fs.unlink(dir, name, now.into()))
}

/// Remove empty directory `name` from `dir`.
///
/// # Safety
/// As `vexfs_unlink`.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rmdir(
    fs: *mut VexfsFs,
    dir: u64,
    name: *const u8,
    len: usize,
    now: VexfsTime,
) -> i32 {
    // SAFETY: the caller guarantees the handle and the name bytes.
    let (Some(fs), Some(name)) = (unsafe { handle(fs) }, unsafe { bytes(name, len) }) else {
        return NEG_EINVAL;
    };
    status(fs.rmdir(dir, name, now.into()))
}

/// `renameat2`: move `old_dir/old_name` to `new_dir/new_name`; `flags` are
/// `VEXFS_RENAME_*`.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; each name pointer
/// must point to its length in readable bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_rename(
    fs: *mut VexfsFs,
    old_dir: u64,
    old_name: *const u8,
    old_len: usize,
    new_dir: u64,
    new_name: *const u8,
    new_len: usize,
    flags: u32,
    now: VexfsTime,
) -> i32 {
    // SAFETY: the caller guarantees the handle and both names.
    let (Some(fs), Some(old), Some(new)) = (
        unsafe { handle(fs) },
        unsafe { bytes(old_name, old_len) },
        unsafe { bytes(new_name, new_len) },
    ) else {
        return NEG_EINVAL;
    };
    if flags & !(VEXFS_RENAME_NOREPLACE | VEXFS_RENAME_EXCHANGE) != 0 {
        return NEG_EINVAL;
    }
    let rf = RenameFlags {
        noreplace: flags & VEXFS_RENAME_NOREPLACE != 0,
        exchange: flags & VEXFS_RENAME_EXCHANGE != 0,
    };
    status(fs.rename(old_dir, old, new_dir, new, rf, now.into()))
}

/// Apply the changes `attr->valid` names to `ino` (chmod, chown, truncate,
/// utimes) and report the result.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `attr` readable;
/// `out` null or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_setattr(
    fs: *mut VexfsFs,
    ino: u64,
    attr: *const VexfsSetattr,
    now: VexfsTime,
    out: *mut VexfsStat,
) -> i32 {
    // SAFETY: the caller guarantees the handle and `attr`.
    let (Some(fs), Some(a)) = (unsafe { handle(fs) }, unsafe { attr.as_ref() }) else {
        return NEG_EINVAL;
    };
    let on = |bit: u32| a.valid & bit != 0;
    let Ok(mode) = u16::try_from(a.mode & 0o7777) else {
        return NEG_EINVAL;
    };
    let set = SetAttr {
        mode: on(VEXFS_SET_MODE).then_some(mode),
        uid: on(VEXFS_SET_UID).then_some(a.uid),
        gid: on(VEXFS_SET_GID).then_some(a.gid),
        size: on(VEXFS_SET_SIZE).then_some(a.size),
        atime: on(VEXFS_SET_ATIME).then(|| a.atime.into()),
        mtime: on(VEXFS_SET_MTIME).then(|| a.mtime.into()),
        ctime: on(VEXFS_SET_CTIME).then(|| a.ctime.into()),
    };
    // SAFETY: the caller guarantees `out`.
    unsafe { put_stat(fs.setattr(ino, &set, now.into()), out) }
}

/// Note an open file handle on `ino`, so an unlink keeps its data until
/// the last `vexfs_release`.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn vexfs_open(fs: *mut VexfsFs, ino: u64) -> i32 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    let Some(fs) = (unsafe { handle(fs) }) else {
        return NEG_EINVAL;
    };
    status(fs.open(ino))
}

/// Drop an open file handle on `ino`; frees an unlinked file on the last.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn vexfs_release(fs: *mut VexfsFs, ino: u64) -> i32 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    let Some(fs) = (unsafe { handle(fs) }) else {
        return NEG_EINVAL;
    };
    status(fs.release(ino))
}
