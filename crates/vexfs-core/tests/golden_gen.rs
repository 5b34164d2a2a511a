//! Writes a golden image (see tests/golden.rs) when VEXFS_GOLDEN_OUT names
//! the file to write; otherwise does nothing. The same builder runs on
//! every format version's code, so each golden image holds the same tree.

mod common;
use common::*;
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{Fs, MemDevice, MountOptions, XattrFlags};

fn build() -> MemDevice {
    let opts = MkfsOptions {
        block_size: 1024,
        inode_count: Some(512),
        uuid: [0x42; 16],
        ..Default::default()
    };
    let dev = format(MemDevice::new(2 << 20), &opts, T0, &mut |_, _| {}).unwrap();
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    let docs = fs.mkdir(1, b"docs", 0o755, 1000, 1000, T0).unwrap().ino;
    let big = fs.mkdir(1, b"many", 0o750, 0, 0, T0).unwrap().ino;
    for i in 0..200u32 {
        let f = fs
            .create(big, format!("entry-{i:03}").as_bytes(), 0o644, 0, 0, T0)
            .unwrap()
            .ino;
        if i % 50 == 0 {
            fs.write(f, 0, format!("entry {i}\n").as_bytes(), T0)
                .unwrap();
        }
    }
    let f = fs
        .create(docs, b"fragmented", 0o600, 1000, 1000, T0)
        .unwrap()
        .ino;
    for b in (0..60u64).step_by(3) {
        fs.write(f, b * 1024, &[b as u8 + 1; 1024], T0).unwrap();
    }
    let g = fs
        .create(docs, b"small.txt", 0o644, 1000, 1000, T0)
        .unwrap()
        .ino;
    fs.write(g, 0, b"hello, golden world\n", T0).unwrap();
    fs.setxattr(g, b"user.note", b"kept", XattrFlags::default(), T0)
        .unwrap();
    fs.setxattr(g, b"user.big", &[7u8; 1800], XattrFlags::default(), T0)
        .unwrap();
    fs.link(g, 1, b"small-link", T0).unwrap();
    fs.symlink(docs, b"short-symlink", b"small.txt", 0, 0, T0)
        .unwrap();
    fs.symlink(docs, b"long-symlink", &[b'p'; 300], 0, 0, T0)
        .unwrap();
    fs.unmount(T0).unwrap()
}

/// The attribute-tree golden image (INCOMPAT_XATTR_TREE): one file with
/// enough attributes for a tree of more than one level, some values in
/// value runs, and a blob that holds only the tree's root. tests/golden.rs
/// rebuilds the expected attributes with `tree_attr`.
fn build_xattr_tree() -> MemDevice {
    let opts = MkfsOptions {
        block_size: 1024,
        inode_count: Some(128),
        uuid: [0x43; 16],
        ..Default::default()
    };
    let dev = format(MemDevice::new(2 << 20), &opts, T0, &mut |_, _| {}).unwrap();
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    let f = fs.create(1, b"tagged", 0o644, 1000, 1000, T0).unwrap().ino;
    for i in 0..TREE_ATTRS {
        let (n, v) = tree_attr(i);
        fs.setxattr(f, &n, &v, XattrFlags::default(), T0).unwrap();
    }
    assert!(fs.xattr_uses_tree(f).unwrap());
    fs.unmount(T0).unwrap()
}

/// Sparse dump: magic, size, block size, then (block number, bytes) for
/// every block that is not all zero.
fn dump(dev: &MemDevice, bs: usize) -> Vec<u8> {
    let mut out = b"VXGOLDEN".to_vec();
    out.extend_from_slice(&(dev.data.len() as u64).to_le_bytes());
    out.extend_from_slice(&(bs as u32).to_le_bytes());
    for (nr, b) in dev.data.chunks(bs).enumerate() {
        if b.iter().any(|&x| x != 0) {
            out.extend_from_slice(&(nr as u64).to_le_bytes());
            out.extend_from_slice(b);
        }
    }
    out
}

#[test]
fn write_golden_image() {
    let Ok(path) = std::env::var("VEXFS_GOLDEN_OUT") else {
        return;
    };
    std::fs::write(path, dump(&build(), 1024)).unwrap();
}

#[test]
fn write_xattr_tree_golden_image() {
    let Ok(path) = std::env::var("VEXFS_GOLDEN_XATTR_TREE_OUT") else {
        return;
    };
    std::fs::write(path, dump(&build_xattr_tree(), 1024)).unwrap();
}
