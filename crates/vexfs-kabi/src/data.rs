//! File data: read and write through the core into caller buffers.
//!
//! The C side copies between user memory and a kernel bounce buffer
//! outside the superblock lock, so these calls never touch user memory.

use crate::abi::{
    neg, VexfsStat, VexfsTime, NEG_EINVAL, VEXFS_FALLOC_KEEP_SIZE, VEXFS_FALLOC_PUNCH_HOLE,
    VEXFS_FALLOC_ZERO_RANGE,
};
use crate::mount::{bytes, handle, VexfsFs};
use vexfs_core::FallocMode;

/// Read up to `len` bytes of `ino` at `off` into `buf`. Returns the bytes
/// read (short at end of file, 0 past it) or a negative errno.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `buf` must point to
/// `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_read(
    fs: *mut VexfsFs,
    ino: u64,
    off: u64,
    buf: *mut u8,
    len: usize,
) -> i64 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    let Some(fs) = (unsafe { handle(fs) }) else {
        return NEG_EINVAL.into();
    };
    if buf.is_null() && len != 0 {
        return NEG_EINVAL.into();
    }
    let data = match fs.read(ino, off, len) {
        Ok(d) => d,
        Err(e) => return neg(e).into(),
    };
    let n = data.len().min(len);
    if n > 0 {
        // SAFETY: `buf` is non-null with `len >= n` writable bytes by the
        // caller's contract; `data` is a separate allocation.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), buf, n) };
    }
    n as i64
}

/// Write `len` bytes from `buf` to `ino` at `off`, then report the inode's
/// new attributes in `out`. Returns the bytes written or a negative errno.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `buf` must point to
/// `len` readable bytes; `out` null or writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_write(
    fs: *mut VexfsFs,
    ino: u64,
    off: u64,
    buf: *const u8,
    len: usize,
    now: VexfsTime,
    out: *mut VexfsStat,
) -> i64 {
    // SAFETY: the caller guarantees the handle and the data bytes.
    let (Some(fs), Some(data)) = (unsafe { handle(fs) }, unsafe { bytes(buf, len) }) else {
        return NEG_EINVAL.into();
    };
    let n = match fs.write(ino, off, data, now.into()) {
        Ok(n) => n,
        Err(e) => return neg(e).into(),
    };
    match fs.getattr(ino) {
        Ok(st) => {
            // SAFETY: the caller guarantees `out` is null or writable.
            if let Some(o) = unsafe { out.as_mut() } {
                *o = VexfsStat::from(&st);
            }
        }
        Err(e) => return neg(e).into(),
    }
    n as i64
}

/// `fallocate(2)` on `ino`: `mode` is a combination of the
/// `VEXFS_FALLOC_*` bits (the `FALLOC_FL_*` values); a hole punch must keep
/// the size, as Linux requires. Reports the new attributes in `out`.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `out` null or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_fallocate(
    fs: *mut VexfsFs,
    ino: u64,
    off: u64,
    len: u64,
    mode: u32,
    now: VexfsTime,
    out: *mut VexfsStat,
) -> i32 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    let Some(fs) = (unsafe { handle(fs) }) else {
        return NEG_EINVAL;
    };
    let keep_size = mode & VEXFS_FALLOC_KEEP_SIZE != 0;
    let mode = match mode & !VEXFS_FALLOC_KEEP_SIZE {
        0 => FallocMode::Allocate { keep_size },
        VEXFS_FALLOC_PUNCH_HOLE if keep_size => FallocMode::PunchHole,
        VEXFS_FALLOC_ZERO_RANGE => FallocMode::ZeroRange { keep_size },
        _ => return neg(vexfs_core::FsError::NotSupported),
    };
    if let Err(e) = fs.fallocate(ino, off, len, mode, now.into()) {
        return neg(e);
    }
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
