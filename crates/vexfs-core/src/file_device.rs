//! A block device backed by an image file or a host block device (std only).

use crate::device::{BlockDevice, DeviceError};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// An image file or `/dev/...` node, accessed with positioned I/O.
#[derive(Debug)]
pub struct FileDevice {
    file: File,
    size: u64,
}

fn os_err(e: std::io::Error) -> DeviceError {
    DeviceError::Io(e.raw_os_error().unwrap_or(5))
}

impl FileDevice {
    /// Open read-write (or read-only) and learn the size; works for regular
    /// files and block devices (whose metadata length is 0, so seek to end).
    pub fn open(path: &Path, read_only: bool) -> std::io::Result<Self> {
        let file = OpenOptions::new().read(true).write(!read_only).open(path)?;
        let size = {
            use std::io::{Seek, SeekFrom};
            let mut f = &file;
            f.seek(SeekFrom::End(0))?
        };
        Ok(Self { file, size })
    }

    pub fn file(&self) -> &File {
        &self.file
    }
}

impl BlockDevice for FileDevice {
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
