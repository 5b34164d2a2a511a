//! The block device the core sees in the kernel: every read, write and
//! flush is a call through the function table the C glue passes at mount
//! (buffer heads over the superblock's block device, `kernel/bdev.c`).

use crate::abi::VexfsDevOps;
use core::ffi::c_void;
use vexfs_core::{BlockDevice, DeviceError};

/// A device whose I/O goes through C callbacks.
pub struct CDevice {
    ops: VexfsDevOps,
    ctx: *mut c_void,
    size: u64,
}

impl CDevice {
    /// # Safety
    /// Every callback in `ops` must be safe to call with `ctx` and a valid
    /// buffer for as long as the device lives, and must touch only the
    /// `len` bytes it is given.
    pub unsafe fn new(ops: VexfsDevOps, ctx: *mut c_void, size: u64) -> Self {
        Self { ops, ctx, size }
    }

    /// Refuse requests past the end here, so the C side never sees one.
    fn check(&self, off: u64, len: usize) -> Result<(), DeviceError> {
        let end = off.checked_add(len as u64).ok_or(DeviceError::OutOfRange)?;
        if end > self.size {
            return Err(DeviceError::OutOfRange);
        }
        Ok(())
    }
}

/// A C return code as a device result.
fn status(rc: i32) -> Result<(), DeviceError> {
    if rc == 0 {
        Ok(())
    } else {
        Err(DeviceError::Io(rc.saturating_neg()))
    }
}

/// EIO, for a table without the callback.
const EIO: i32 = 5;

impl BlockDevice for CDevice {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.check(offset, buf.len())?;
        let f = self.ops.read.ok_or(DeviceError::Io(EIO))?;
        // SAFETY: `new`'s contract makes the callback valid with `ctx`; the
        // pointer and length describe `buf`, which is live and writable for
        // the call.
        status(unsafe { f(self.ctx, offset, buf.as_mut_ptr(), buf.len()) })
    }

    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<(), DeviceError> {
        self.check(offset, buf.len())?;
        let f = self.ops.write.ok_or(DeviceError::Io(EIO))?;
        // SAFETY: as in `read_at`; the callback only reads `buf`.
        status(unsafe { f(self.ctx, offset, buf.as_ptr(), buf.len()) })
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        let f = self.ops.flush.ok_or(DeviceError::Io(EIO))?;
        // SAFETY: `new`'s contract makes the callback valid with `ctx`.
        status(unsafe { f(self.ctx) })
    }
}
