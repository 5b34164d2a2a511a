//! The one door to storage.

use alloc::vec::Vec;

/// Why a device operation failed. Kept minimal: the kernel maps any of
/// these to -EIO, userspace reports the OS error beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceError {
    /// The request lies (partly) beyond the end of the device.
    OutOfRange,
    /// The underlying medium failed; the code is an errno where known.
    Io(i32),
}

/// A byte-addressed block device. Offsets and lengths used by the
/// filesystem are always multiples of its block size.
pub trait BlockDevice {
    /// Device size in bytes.
    fn size(&self) -> u64;
    /// Read exactly `buf.len()` bytes at `offset`.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError>;
    /// Write all of `buf` at `offset`.
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<(), DeviceError>;
    /// Make every completed write durable.
    fn flush(&mut self) -> Result<(), DeviceError>;
}

/// A device in memory, for tests and for building images.
#[derive(Debug, Clone, Default)]
pub struct MemDevice {
    pub data: Vec<u8>,
}

impl MemDevice {
    pub fn new(size: usize) -> Self {
        Self {
            data: alloc::vec![0; size],
        }
    }
}

impl BlockDevice for MemDevice {
    fn size(&self) -> u64 {
        self.data.len() as u64
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let start = usize::try_from(offset).map_err(|_| DeviceError::OutOfRange)?;
        let end = start
            .checked_add(buf.len())
            .ok_or(DeviceError::OutOfRange)?;
        buf.copy_from_slice(self.data.get(start..end).ok_or(DeviceError::OutOfRange)?);
        Ok(())
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<(), DeviceError> {
        let start = usize::try_from(offset).map_err(|_| DeviceError::OutOfRange)?;
        let end = start
            .checked_add(buf.len())
            .ok_or(DeviceError::OutOfRange)?;
        self.data
            .get_mut(start..end)
            .ok_or(DeviceError::OutOfRange)?
            .copy_from_slice(buf);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }
}

impl<T: BlockDevice + ?Sized> BlockDevice for alloc::boxed::Box<T> {
    fn size(&self) -> u64 {
        (**self).size()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        (**self).read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<(), DeviceError> {
        (**self).write_at(offset, buf)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        (**self).flush()
    }
}
