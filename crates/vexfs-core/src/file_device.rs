//! A block device backed by an image file or a host block device (std only).

use crate::device::{BlockDevice, DeviceError};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// An image file or `/dev/...` node, accessed with positioned I/O.
#[derive(Debug)]
pub struct FileDevice {
    file: File,
    size: u64,
}

fn os_err(e: std::io::Error) -> DeviceError {
    DeviceError::Io(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Whether `path` names a block device node.
pub fn is_block_device(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.file_type().is_block_device())
        .unwrap_or(false)
}

impl FileDevice {
    /// Open `path` (an image file or a block device) and learn its size.
    /// Block devices opened for writing use `O_EXCL`, which the kernel
    /// refuses while the device is mounted or otherwise claimed.
    pub fn open(path: &Path, read_only: bool) -> std::io::Result<Self> {
        Self::open_with(path, !read_only, true)
    }

    /// As [`FileDevice::open`]; `exclusive: false` skips `O_EXCL` (what
    /// `mkfs -F -F` asks for on a device in use).
    pub fn open_with(path: &Path, write: bool, exclusive: bool) -> std::io::Result<Self> {
        let mut opts = OpenOptions::new();
        opts.read(true).write(write);
        if write && exclusive && is_block_device(path) {
            opts.custom_flags(libc::O_EXCL);
        }
        let file = opts.open(path)?;
        // Block devices report a zero metadata length: seek to the end.
        let size = {
            use std::io::{Seek, SeekFrom};
            let mut f = &file;
            f.seek(SeekFrom::End(0))?
        };
        Ok(Self { file, size })
    }

    /// Use only the first `size` bytes (at most the real size).
    pub fn limit(mut self, size: u64) -> Self {
        self.size = self.size.min(size);
        self
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// A second handle to the same storage (positioned I/O only, so the
    /// two never disturb each other): lets a commit write without holding
    /// the filesystem (`Fs::commit_begin`).
    pub fn try_clone(&self) -> std::io::Result<Self> {
        Ok(Self {
            file: self.file.try_clone()?,
            size: self.size,
        })
    }
}

impl BlockDevice for FileDevice {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > self.size)
        {
            return Err(DeviceError::OutOfRange);
        }
        self.file.read_exact_at(buf, offset).map_err(os_err)
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<(), DeviceError> {
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|e| e > self.size)
        {
            return Err(DeviceError::OutOfRange);
        }
        self.file.write_all_at(buf, offset).map_err(os_err)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.file.sync_data().map_err(os_err)
    }
}
