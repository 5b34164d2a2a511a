//! SEEK_DATA / SEEK_HOLE and fallocate through the mount: answers come from
//! the extent map, also while written data is still in the kernel's
//! writeback cache, and `cp --sparse` copies a file being written.

mod common;
use common::*;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt};

const K: i64 = 4096;
const M: i64 = 1 << 20;

fn seek(f: &File, off: i64, whence: i32) -> Result<i64, i32> {
    // SAFETY: lseek on a descriptor `f` keeps open.
    let r = unsafe { libc::lseek(f.as_raw_fd(), off, whence) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    }
}

fn fallocate(f: &File, mode: i32, off: i64, len: i64) {
    // SAFETY: fallocate on a descriptor `f` keeps open.
    let r = unsafe { libc::fallocate(f.as_raw_fd(), mode, off, len) };
    assert_eq!(r, 0, "fallocate({mode}, {off}, {len}): {}", std::io::Error::last_os_error());
}

/// 4 KiB of data at 0 and at 1 MiB, a hole between: what every check sees.
fn assert_layout(f: &File, what: &str) {
    let size = M + K;
    assert_eq!(seek(f, 0, libc::SEEK_DATA), Ok(0), "{what}");
    assert_eq!(seek(f, 0, libc::SEEK_HOLE), Ok(K), "{what}");
    assert_eq!(seek(f, K, libc::SEEK_DATA), Ok(M), "{what}");
    assert_eq!(seek(f, 2 * K, libc::SEEK_HOLE), Ok(2 * K), "{what}");
    assert_eq!(seek(f, M, libc::SEEK_HOLE), Ok(size), "{what}: the end of the file is a hole");
    assert_eq!(seek(f, size, libc::SEEK_DATA), Err(libc::ENXIO), "{what}");
    assert_eq!(seek(f, size, libc::SEEK_HOLE), Err(libc::ENXIO), "{what}");
}

#[test]
fn seek_data_and_hole_with_the_writeback_cache() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(64 << 20);
    let m = s.mount(&[]);
    let p = m.mnt.join("sparse");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&p)
        .unwrap();
    f.write_all_at(&[1u8; 4096], 0).unwrap();
    f.write_all_at(&[2u8; 4096], M as u64).unwrap();
    // Still dirty in the page cache: the daemon has not seen these writes.
    assert_layout(&f, "dirty pages");
    // A copy made while the writer still has the file open keeps the data.
    let copy = s.dir.path().join("copy");
    sh(&format!("cp --sparse=always {} {}", p.display(), copy.display()));
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&p).unwrap());
    f.sync_all().unwrap();
    assert_layout(&f, "after fsync");
    drop(f);
    let f = File::open(&p).unwrap();
    assert_layout(&f, "reopened read-only");
    drop(f);
    assert!(m.unmount().success());
    let m = s.mount(&[]);
    assert_layout(&File::open(m.mnt.join("sparse")).unwrap(), "after remount");
    assert!(m.unmount().success());
}

#[test]
fn fallocate_reserves_blocks_that_read_as_holes() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(64 << 20);
    let m = s.mount(&[]);
    let p = m.mnt.join("prealloc");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&p)
        .unwrap();
    fallocate(&f, 0, 0, 8 * M);
    let md = f.metadata().unwrap();
    assert_eq!(md.len(), 8 * M as u64);
    assert_eq!(md.blocks(), 8 * M as u64 / 512, "blocks reserved");
    // Reserved, never written: one hole, reading zeros.
    assert_eq!(seek(&f, 0, libc::SEEK_DATA), Err(libc::ENXIO));
    assert_eq!(seek(&f, 0, libc::SEEK_HOLE), Ok(0));
    let mut buf = vec![0xffu8; 64 * 1024];
    f.read_exact_at(&mut buf, 3 * M as u64).unwrap();
    assert!(buf.iter().all(|&b| b == 0));
    // Write into the middle: that block becomes data, nothing else.
    f.write_all_at(b"data", (2 * M + 10) as u64).unwrap();
    f.sync_all().unwrap();
    assert_eq!(seek(&f, 0, libc::SEEK_DATA), Ok(2 * M));
    assert_eq!(seek(&f, 2 * M, libc::SEEK_HOLE), Ok(2 * M + K));
    // KEEP_SIZE past the end reserves without growing the file.
    fallocate(&f, libc::FALLOC_FL_KEEP_SIZE, 8 * M, M);
    let md = f.metadata().unwrap();
    assert_eq!(md.len(), 8 * M as u64);
    assert_eq!(md.blocks(), 9 * M as u64 / 512);
    // Punching a hole gives the blocks back.
    fallocate(&f, libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE, 0, 4 * M);
    let md = f.metadata().unwrap();
    assert_eq!(md.blocks(), 5 * M as u64 / 512);
    assert_eq!(seek(&f, 0, libc::SEEK_DATA), Err(libc::ENXIO));
    let mut b = [0xffu8; 4];
    f.read_exact_at(&mut b, (2 * M + 10) as u64).unwrap();
    assert_eq!(b, [0; 4]);
    drop(f);
    assert!(m.unmount().success());
}
