//! The metadata cache over its limit: trims keep the filesystem correct,
//! and a working set a little larger than the cache stays mostly cached
//! instead of going cold at every trim.

mod common;
use common::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use vexfs_core::format::ROOT_INO;
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{BlockDevice, DeviceError, Fs, MemDevice, MountOptions, XattrFlags};

/// A memory device that counts the reads reaching it.
struct CountingDevice {
    dev: MemDevice,
    reads: Arc<AtomicU64>,
}

impl BlockDevice for CountingDevice {
    fn size(&self) -> u64 {
        self.dev.size()
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.dev.read_at(offset, buf)
    }
    fn write_at(&mut self, offset: u64, buf: &[u8]) -> Result<(), DeviceError> {
        self.dev.write_at(offset, buf)
    }
    fn flush(&mut self) -> Result<(), DeviceError> {
        self.dev.flush()
    }
}

const FILES: u32 = 3000;

/// An image with `FILES` files in ten directories, each with a small
/// attribute; returns the image and the directories' inode numbers.
fn populated() -> (MemDevice, Vec<u64>) {
    let opts = MkfsOptions {
        block_size: 1024,
        ..Default::default()
    };
    let dev = format(MemDevice::new(64 << 20), &opts, T0, &mut |_, _| {}).expect("mkfs");
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).expect("mount");
    let dirs: Vec<u64> = (0..10)
        .map(|d| {
            fs.mkdir(ROOT_INO, format!("d{d}").as_bytes(), 0o755, 0, 0, T0)
                .unwrap()
                .ino
        })
        .collect();
    for i in 0..FILES {
        let dir = dirs[(i % 10) as usize];
        let f = fs
            .create(dir, format!("f{i:05}").as_bytes(), 0o644, 0, 0, T0)
            .unwrap();
        fs.setxattr(
            f.ino,
            b"user.n",
            &i.to_le_bytes(),
            XattrFlags::default(),
            T0,
        )
        .unwrap();
    }
    (fs.unmount(T0).unwrap(), dirs)
}

/// `dev` mounted with a cold cache of `cache_blocks`, counting reads.
fn mounted(dev: &MemDevice, cache_blocks: usize) -> (Fs<CountingDevice>, Arc<AtomicU64>) {
    let reads = Arc::new(AtomicU64::new(0));
    let dev = CountingDevice {
        dev: dev.clone(),
        reads: reads.clone(),
    };
    let opts = MountOptions {
        cache_blocks,
        ..Default::default()
    };
    (Fs::mount(dev, opts, T0).expect("mount"), reads)
}

/// Every file's lookup and attribute, checked.
fn pass(fs: &mut Fs<CountingDevice>, dirs: &[u64]) {
    for i in 0..FILES {
        let dir = dirs[(i % 10) as usize];
        let st = fs.lookup(dir, format!("f{i:05}").as_bytes()).unwrap();
        let v = fs.getxattr(st.ino, b"user.n").unwrap();
        assert_eq!(v, i.to_le_bytes(), "attribute of f{i:05}");
    }
}

#[test]
fn a_tiny_cache_trims_often_and_loses_nothing() {
    let (dev, dirs) = populated();
    let (mut fs, _) = mounted(&dev, 64);
    pass(&mut fs, &dirs);
    for i in (0..FILES).step_by(7) {
        let dir = dirs[(i % 10) as usize];
        fs.unlink(dir, format!("f{i:05}").as_bytes(), T0).unwrap();
    }
    let dev = fs.unmount(T0).unwrap();
    fsck_clean(dev.dev, "after trims");
}

/// Passes over a working set somewhat larger than the cache. Dropping every
/// clean block at each trim makes every access of the next pass a read
/// (1,173 reads per pass over a 1,108-block set when this was written);
/// dropping a quarter keeps a good share of the set cached (751).
#[test]
fn a_working_set_above_the_limit_does_not_go_cold() {
    let (dev, dirs) = populated();
    // The set, counted as the blocks a cold pass reads with no limit.
    let (mut fs, reads) = mounted(&dev, 1 << 20);
    let before = reads.load(Ordering::Relaxed);
    pass(&mut fs, &dirs);
    let cold = reads.load(Ordering::Relaxed) - before;
    assert!(cold > 200, "the working set is {cold} blocks");
    drop(fs);

    // The same passes through a cache three quarters the set's size.
    let (mut fs, reads) = mounted(&dev, cold as usize * 3 / 4);
    pass(&mut fs, &dirs);
    let before = reads.load(Ordering::Relaxed);
    for _ in 0..4 {
        pass(&mut fs, &dirs);
    }
    let per_pass = (reads.load(Ordering::Relaxed) - before) / 4;
    assert!(
        per_pass * 10 < cold * 8,
        "{per_pass} reads per pass over a {cold}-block working set"
    );
}
