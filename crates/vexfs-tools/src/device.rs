//! Images and block devices as a [`BlockDevice`].

use std::fs::File;
use std::os::unix::fs::FileExt;

/// The tools open images and devices through the core's file device.
pub use vexfs_core::{is_block_device, FileDevice as Device};

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
