//! Golden images: small images written by each format version's code
//! (tests/golden/*.vxgolden, made with tests/golden_gen.rs on that
//! version). Today's code must mount every one, read every file as it was
//! written, and fsck must accept it, before and after a read-write mount.

mod common;
use common::*;
use vexfs_core::{FileType, Fs, MemDevice, MountOptions};

const GOLDEN: &[(&str, &[u8])] = &[
    // Format version 1 as written before the journal existed.
    (
        "v1-no-journal",
        include_bytes!("golden/v1-no-journal.vxgolden"),
    ),
    // Format version 1 with the journal (INCOMPAT_JOURNAL).
    ("v1-journal", include_bytes!("golden/v1-journal.vxgolden")),
];

fn undump(b: &[u8]) -> MemDevice {
    assert_eq!(&b[..8], b"VXGOLDEN");
    let size = u64::from_le_bytes(b[8..16].try_into().unwrap()) as usize;
    let bs = u32::from_le_bytes(b[16..20].try_into().unwrap()) as usize;
    let mut dev = MemDevice::new(size);
    let mut at = 20;
    while at < b.len() {
        let nr = u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize;
        dev.data[nr * bs..(nr + 1) * bs].copy_from_slice(&b[at + 8..at + 8 + bs]);
        at += 8 + bs;
    }
    dev
}

fn assert_tree(fs: &mut Fs<MemDevice>, name: &str) {
    let docs = fs.lookup(1, b"docs").unwrap();
    assert_eq!((docs.mode & 0o7777, docs.uid), (0o755, 1000), "{name}");
    let small = fs.lookup(docs.ino, b"small.txt").unwrap();
    assert_eq!(
        fs.read(small.ino, 0, 100).unwrap(),
        b"hello, golden world\n",
        "{name}"
    );
    assert_eq!(small.nlink, 2, "{name}");
    assert_eq!(
        fs.lookup(1, b"small-link").unwrap().ino,
        small.ino,
        "{name}"
    );
    assert_eq!(
        fs.getxattr(small.ino, b"user.note").unwrap(),
        b"kept",
        "{name}"
    );
    assert_eq!(
        fs.getxattr(small.ino, b"user.big").unwrap(),
        vec![7u8; 1800],
        "{name}"
    );
    let frag = fs.lookup(docs.ino, b"fragmented").unwrap();
    let data = fs.read(frag.ino, 0, 1 << 20).unwrap();
    assert_eq!(data.len(), 58 * 1024, "{name}");
    for (b, block) in data.chunks(1024).enumerate() {
        let want = if b % 3 == 0 { b as u8 + 1 } else { 0 };
        assert!(
            block.iter().all(|&x| x == want),
            "{name}: fragmented block {b}"
        );
    }
    let short = fs.lookup(docs.ino, b"short-symlink").unwrap();
    assert_eq!(short.file_type, FileType::Symlink);
    assert_eq!(fs.readlink(short.ino).unwrap(), b"small.txt", "{name}");
    let long = fs.lookup(docs.ino, b"long-symlink").unwrap();
    assert_eq!(fs.readlink(long.ino).unwrap(), vec![b'p'; 300], "{name}");
    let many = fs.lookup(1, b"many").unwrap();
    let entries = fs.readdir(many.ino, 0, 10_000).unwrap();
    let names: Vec<_> = entries
        .iter()
        .filter(|e| e.name != b"." && e.name != b"..")
        .collect();
    assert_eq!(names.len(), 200, "{name}");
    for i in 0..200u32 {
        let st = fs
            .lookup(many.ino, format!("entry-{i:03}").as_bytes())
            .unwrap();
        let want = if i % 50 == 0 {
            format!("entry {i}\n").into_bytes()
        } else {
            Vec::new()
        };
        assert_eq!(
            fs.read(st.ino, 0, 100).unwrap(),
            want,
            "{name}: entry-{i:03}"
        );
    }
}

#[test]
fn every_golden_image_mounts_reads_and_checks_clean() {
    for (name, bytes) in GOLDEN {
        let dev = fsck_clean(undump(bytes), name);
        let ro = MountOptions {
            read_only: true,
            ..Default::default()
        };
        let mut fs = Fs::mount(dev, ro, T0).unwrap();
        assert_tree(&mut fs, name);
        let dev = fs.unmount(T0).unwrap();
        // Read-write: change something, remount, everything still there.
        let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
        fs.create(1, b"added", 0o644, 0, 0, T0).unwrap();
        let mut fs = remount(fs);
        assert_tree(&mut fs, name);
        assert!(fs.lookup(1, b"added").is_ok());
        fsck_clean(fs.unmount(T0).unwrap(), name);
    }
}

/// The attribute-tree image (written by golden_gen's
/// `write_xattr_tree_golden_image`): every attribute reads back, fsck is
/// clean, and a read-write mount that changes the tree keeps it so.
#[test]
fn xattr_tree_golden_image() {
    let name = "v1-xattr-tree";
    let dev = fsck_clean(
        undump(include_bytes!("golden/v1-xattr-tree.vxgolden")),
        name,
    );
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    assert_ne!(
        fs.superblock().feature_incompat & 2,
        0,
        "INCOMPAT_XATTR_TREE"
    );
    let f = fs.lookup(1, b"tagged").unwrap().ino;
    assert!(fs.xattr_uses_tree(f).unwrap());
    for i in 0..TREE_ATTRS {
        let (n, v) = tree_attr(i);
        assert_eq!(fs.getxattr(f, &n).unwrap(), v, "{name}: attribute {i}");
    }
    fs.removexattr(f, &tree_attr(0).0, T0).unwrap();
    let mut fs = remount(fs);
    assert!(fs.getxattr(f, &tree_attr(0).0).is_err());
    assert_eq!(fs.getxattr(f, &tree_attr(1).0).unwrap(), tree_attr(1).1);
    fsck_clean(fs.unmount(T0).unwrap(), name);
}
