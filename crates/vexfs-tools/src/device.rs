//! Images and block devices as a [`BlockDevice`].

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::Path;
use vexfs_core::{BlockDevice, DeviceError};

/// An image file or block device opened for the filesystem, possibly
/// limited to its first `size` bytes.
#[derive(Debug)]
pub struct Device {
    file: File,
    size: u64,
}

fn os_err(e: std::io::Error) -> DeviceError {
    DeviceError::Io(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Whether `path` names a block device node.
pub fn is_block_device(path: &Path) -> bool {
    std::fs::metadata(path).map(|m| m.file_type().is_block_device()).unwrap_or(false)
}

impl Device {
    /// Open `path`. Block devices opened for writing use `O_EXCL`, which
    /// the kernel refuses while the device is mounted or otherwise claimed.
    pub fn open(path: &Path, write: bool) -> std::io::Result<Self> {
        Self::open_with(path, write, true)
    }

    /// As [`Device::open`]; `exclusive: false` skips `O_EXCL` (what
    /// `mkfs -F -F` asks for on a device in use).
    pub fn open_with(path: &Path, write: bool, exclusive: bool) -> std::io::Result<Self> {
        let mut opts = OpenOptions::new();
        opts.read(true).write(write);
        if write && exclusive && is_block_device(path) {
            opts.custom_flags(libc::O_EXCL);
        }
        let mut file = opts.open(path)?;
        let size = file.seek(SeekFrom::End(0))?;
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
}

impl BlockDevice for Device {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        if offset.checked_add(buf.len() as u64).is_none_or(|e| e > self.size) {
            return Err(DeviceError::OutOfRange);
        }
        self.file.read_exact_at(buf, offset).map_err(os_err)
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<(), DeviceError> {
        if offset.checked_add(buf.len() as u64).is_none_or(|e| e > self.size) {
            return Err(DeviceError::OutOfRange);
        }
        self.file.write_all_at(buf, offset).map_err(os_err)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.file.sync_data().map_err(os_err)
    }
}

/// Read up to `len` bytes from the start of `file` (less if it is shorter).
pub fn read_prefix(file: &File, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match file.read_at(&mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}
