//! Images and block devices as a [`BlockDevice`].

use std::fs::File;
use std::os::unix::fs::FileExt;

/// The tools open images and devices through the core's file device.
pub use vexfs_core::{is_block_device, FileDevice as Device};

/// Wait until no VexFS daemon holds `file` (vexfs-fuse keeps an exclusive
/// `flock` on its image until it has written everything out, which after
/// `fusermount -u` can take a while: indexes are saved then). Takes a
/// shared lock (`exclusive` for writers) that lasts while `file` is open.
/// `Err` after `timeout_s` seconds.
pub fn wait_unused(file: &File, exclusive: bool, timeout_s: u64, mut waiting: impl FnMut()) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let op = if exclusive { libc::LOCK_EX } else { libc::LOCK_SH } | libc::LOCK_NB;
    let start = std::time::Instant::now();
    let mut told = false;
    loop {
        // SAFETY: flock only reads the descriptor number; `file` keeps it
        // open for the duration of the call.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(e);
        }
        if start.elapsed().as_secs() >= timeout_s {
            return Err(std::io::Error::new(std::io::ErrorKind::WouldBlock, "still in use by a VexFS daemon"));
        }
        if !told {
            waiting();
            told = true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
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
