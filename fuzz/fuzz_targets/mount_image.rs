//! A small valid image with fuzzer-chosen bytes patched into its metadata
//! area, then mounted and walked: errors are fine, panics and hangs are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{Fs, MemDevice, MountOptions, Timestamp};

const T: Timestamp = Timestamp::new(1_700_000_000, 0);

fn base() -> &'static Vec<u8> {
    static IMG: OnceLock<Vec<u8>> = OnceLock::new();
    IMG.get_or_init(|| {
        let opts = MkfsOptions { block_size: 1024, ..Default::default() };
        let dev = format(MemDevice::new(1 << 20), &opts, T, &mut |_, _| {}).unwrap();
        let mut fs = Fs::mount(dev, MountOptions::default(), T).unwrap();
        let d = fs.mkdir(1, b"dir", 0o755, 0, 0, T).unwrap();
        for i in 0..40 {
            let f = fs.create(d.ino, format!("file{i}").as_bytes(), 0o644, 0, 0, T).unwrap();
            fs.write(f.ino, i * 3000, b"data", T).unwrap();
        }
        fs.symlink(1, b"link", &[b'x'; 300], 0, 0, T).unwrap();
        fs.unmount(T).unwrap().data
    })
}

fuzz_target!(|patches: Vec<(u16, u8)>| {
    let mut img = base().clone();
    // Patch only the first 64 KiB: superblock, bitmaps, inode table, early nodes.
    for (off, b) in patches {
        if let Some(x) = img.get_mut(off as usize) {
            *x ^= b;
        }
    }
    let Ok(mut fs) = Fs::mount(MemDevice { data: img }, MountOptions::default(), T) else { return };
    let mut stack = vec![1u64];
    let mut budget = 500;
    while let Some(d) = stack.pop() {
        budget -= 1;
        if budget == 0 {
            break;
        }
        let Ok(entries) = fs.readdir(d, 0, 100) else { continue };
        for e in entries.into_iter().skip(2) {
            if let Ok(st) = fs.getattr(e.ino) {
                match st.file_type {
                    vexfs_core::FileType::Directory => stack.push(e.ino),
                    vexfs_core::FileType::Regular => {
                        let _ = fs.read(e.ino, 0, 1 << 16);
                        let _ = fs.write(e.ino, 10, b"more", T);
                    }
                    vexfs_core::FileType::Symlink => {
                        let _ = fs.readlink(e.ino);
                    }
                    _ => {}
                }
                let _ = fs.listxattr(e.ino);
            }
        }
        let _ = fs.create(d, b"new", 0o644, 0, 0, T);
        let _ = fs.unlink(d, b"file3", T);
    }
});
