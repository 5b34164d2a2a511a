//! Mount, unmount, statfs and sync: the lifetime of the opaque handle.

use crate::abi::{neg, VexfsDevOps, VexfsStatfs, VexfsTime, NEG_EINVAL, VEXFS_MOUNT_RDONLY};
use crate::device::CDevice;
use alloc::boxed::Box;
use core::ffi::c_void;
use core::fmt::Write;
use vexfs_core::format::error::{Corruption, FormatError};
use vexfs_core::{Fs, FsError, MountOptions};

/// A mounted filesystem, opaque to C (`struct vexfs_fs`).
pub struct VexfsFs {
    pub(crate) fs: Fs<CDevice>,
}

/// Metadata blocks the core may cache per mount in the kernel. Smaller
/// than the userspace default: the page cache and buffer heads below
/// already cache the device, and this memory is not reclaimable.
const KERNEL_CACHE_BLOCKS: usize = 4096;

/// Mount the filesystem on the device `ops`/`ctx` of `dev_size` bytes.
/// On success stores the handle in `*out` and returns 0. On failure
/// returns a negative errno (`-EINVAL` for a foreign or incompatible image,
/// `-EUCLEAN` for a corrupt one, `-EIO` for a device error) and writes a
/// NUL-terminated reason into `msg` (up to `msg_len` bytes) for the log.
///
/// # Safety
/// `ops` must point to a valid table whose callbacks accept `ctx` until
/// `vexfs_unmount`; `out` must be writable; `msg` must be null or point to
/// `msg_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vexfs_mount(
    ops: *const VexfsDevOps,
    ctx: *mut c_void,
    dev_size: u64,
    flags: u32,
    now: VexfsTime,
    out: *mut *mut VexfsFs,
    msg: *mut u8,
    msg_len: usize,
) -> i32 {
    // SAFETY: the caller guarantees `ops` is null or valid for reads.
    let Some(ops) = (unsafe { ops.as_ref() }) else {
        return NEG_EINVAL;
    };
    if out.is_null() {
        return NEG_EINVAL;
    }
    // SAFETY: the caller guarantees the callbacks accept `ctx` for the
    // lifetime of the mount, which is the device's lifetime.
    let dev = unsafe { CDevice::new(*ops, ctx, dev_size) };
    let opts = MountOptions {
        read_only: flags & VEXFS_MOUNT_RDONLY != 0,
        cache_blocks: KERNEL_CACHE_BLOCKS,
        ..MountOptions::default()
    };
    match Fs::mount(dev, opts, now.into()) {
        Ok(fs) => {
            let handle = Box::into_raw(Box::new(VexfsFs { fs }));
            // SAFETY: `out` is non-null and the caller guarantees it is
            // writable.
            unsafe { out.write(handle) };
            0
        }
        Err(e) => {
            // SAFETY: the caller guarantees `msg` is null or `msg_len`
            // writable bytes.
            unsafe { write_reason(&e, msg, msg_len) };
            mount_errno(&e)
        }
    }
}

/// The errno a refused mount reports. A superblock without the VexFS magic
/// is not a damaged VexFS but some other filesystem (or none): that is
/// `-EINVAL`, as every Linux filesystem answers for a foreign device.
/// Everything else keeps the core's mapping (`-EUCLEAN` for corruption).
fn mount_errno(e: &FsError) -> i32 {
    match e {
        FsError::Corrupt(c)
            if c.kind() == FormatError::Corrupt(Corruption::BadMagic("superblock")) =>
        {
            NEG_EINVAL
        }
        other => neg(*other),
    }
}

/// Write `e`'s description, cut to fit and NUL-terminated, into `msg`.
///
/// # Safety
/// `msg` must be null or point to `msg_len` writable bytes.
unsafe fn write_reason(e: &FsError, msg: *mut u8, msg_len: usize) {
    if msg.is_null() || msg_len == 0 {
        return;
    }
    // SAFETY: the caller guarantees `msg_len` writable bytes at `msg`.
    let buf = unsafe { core::slice::from_raw_parts_mut(msg, msg_len) };
    let mut w = Truncating { buf, len: 0 };
    // A reason cut short is still a reason: ignore the overflow.
    let _ = write!(w, "{e}");
    let end = w.len.min(w.buf.len().saturating_sub(1));
    if let Some(b) = w.buf.get_mut(end) {
        *b = 0;
    }
}

/// A `fmt::Write` into a fixed buffer that keeps one byte for the NUL.
struct Truncating<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for Truncating<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len().saturating_sub(1).saturating_sub(self.len);
        let n = s.len().min(room);
        if let (Some(dst), Some(src)) = (
            self.buf.get_mut(self.len..self.len + n),
            s.as_bytes().get(..n),
        ) {
            dst.copy_from_slice(src);
            self.len += n;
        }
        Ok(())
    }
}

/// Write everything out, mark the filesystem clean and free the handle
/// (also when the write-out fails: the handle is gone either way).
///
/// # Safety
/// `fs` must be a handle from `vexfs_mount`, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn vexfs_unmount(fs: *mut VexfsFs, now: VexfsTime) -> i32 {
    if fs.is_null() {
        return NEG_EINVAL;
    }
    // SAFETY: the caller hands back the pointer `vexfs_mount` made with
    // `Box::into_raw`, exactly once.
    let handle = unsafe { Box::from_raw(fs) };
    match handle.fs.unmount(now.into()) {
        Ok(_dev) => 0,
        Err(e) => neg(e),
    }
}

/// Commit the running journal transaction: every completed operation is
/// durable when this returns (sync_fs, fsync).
///
/// # Safety
/// `fs` must be a live handle, not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn vexfs_sync(fs: *mut VexfsFs) -> i32 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    let Some(h) = (unsafe { fs.as_mut() }) else {
        return NEG_EINVAL;
    };
    match h.fs.sync() {
        Ok(()) => 0,
        Err(e) => neg(e),
    }
}

/// Filesystem counters.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_statfs(fs: *mut VexfsFs, out: *mut VexfsStatfs) -> i32 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    let Some(h) = (unsafe { fs.as_mut() }) else {
        return NEG_EINVAL;
    };
    // SAFETY: the caller guarantees `out` is null or writable.
    let Some(out) = (unsafe { out.as_mut() }) else {
        return NEG_EINVAL;
    };
    *out = h.fs.statfs().into();
    0
}

/// Whether the mount fell back to (or was asked for) read-only: the C side
/// then sets `SB_RDONLY`.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn vexfs_is_read_only(fs: *mut VexfsFs) -> i32 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    match unsafe { fs.as_mut() } {
        Some(h) => i32::from(h.fs.is_read_only()),
        None => NEG_EINVAL,
    }
}

/// Commit the running journal transaction if it holds anything: the
/// module's commit timer (nothing is flushed on an idle filesystem).
///
/// # Safety
/// `fs` must be a live handle, not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn vexfs_commit_pending(fs: *mut VexfsFs) -> i32 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    let Some(h) = (unsafe { fs.as_mut() }) else {
        return NEG_EINVAL;
    };
    if h.fs.is_read_only() || !h.fs.has_uncommitted() {
        return 0;
    }
    match h.fs.sync() {
        Ok(()) => 0,
        Err(e) => neg(e),
    }
}

/// The filesystem block size in bytes.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn vexfs_block_size(fs: *mut VexfsFs) -> u32 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    match unsafe { fs.as_mut() } {
        Some(h) => h.fs.block_size(),
        None => 0,
    }
}

/// The root directory's inode number.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn vexfs_root_ino(fs: *mut VexfsFs) -> u64 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    match unsafe { fs.as_mut() } {
        Some(h) => h.fs.superblock().root_ino,
        None => 0,
    }
}

/// The handle behind `fs`, or `None` for a null pointer.
///
/// # Safety
/// `fs` must be null or a live handle, not used concurrently for the
/// lifetime the caller picks.
pub(crate) unsafe fn handle<'a>(fs: *mut VexfsFs) -> Option<&'a mut Fs<CDevice>> {
    // SAFETY: forwarded from the caller.
    unsafe { fs.as_mut() }.map(|h| &mut h.fs)
}

/// `len` bytes at `ptr` as a slice; an empty slice for `len == 0` (the
/// pointer may then be null), `None` for a null pointer with a length.
///
/// # Safety
/// A non-null `ptr` must point to `len` readable bytes that stay unchanged
/// for the lifetime the caller picks.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null and, by the caller's contract, `len` readable bytes.
    Some(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// [`bytes`] for a buffer the callee writes.
///
/// # Safety
/// `ptr` must be null or point to `len` writable bytes, valid and used by
/// no one else for `'a`.
pub(crate) unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> Option<&'a mut [u8]> {
    if len == 0 {
        return Some(&mut []);
    }
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null and, by the caller's contract, `len` writable bytes
    // nobody else uses.
    Some(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}
