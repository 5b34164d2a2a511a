//! Attributes at scale: the blob, the attribute tree past its threshold,
//! and the moves between them, checked against a `BTreeMap` model with
//! remounts and a clean fsck after.

mod common;
use common::*;
use std::collections::BTreeMap;
use vexfs_core::format::ROOT_INO;
use vexfs_core::{Fs, FsError, MemDevice, XattrFlags};

/// A value size: mostly small, some around a block, a few up to 64 KiB.
fn value_len(r: &mut Rng, big: bool) -> usize {
    match r.below(100) {
        0..=79 => r.below(64) as usize,
        80..=94 => r.below(1500) as usize,
        _ if big => r.below(65537) as usize,
        _ => r.below(5000) as usize,
    }
}

fn value(r: &mut Rng, len: usize) -> Vec<u8> {
    let seed = r.next() as u8;
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn name(i: u64) -> Vec<u8> {
    let ns: &[u8] = match i % 7 {
        0 => b"trusted.",
        1 => b"security.",
        _ => b"user.",
    };
    let mut n = ns.to_vec();
    n.extend_from_slice(format!("attr-{i}-{}", "x".repeat((i % 40) as usize)).as_bytes());
    n
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn listing(model: &Model) -> Vec<Vec<u8>> {
    let rank = |n: &[u8]| -> u8 {
        if n.starts_with(b"user.") {
            1
        } else if n.starts_with(b"trusted.") {
            2
        } else if n.starts_with(b"security.") {
            3
        } else {
            4
        }
    };
    let mut v: Vec<Vec<u8>> = model.keys().cloned().collect();
    v.sort_by(|a, b| {
        let (ra, rb) = (rank(a), rank(b));
        let sa = &a[a.iter().position(|&c| c == b'.').unwrap()..];
        let sb = &b[b.iter().position(|&c| c == b'.').unwrap()..];
        (ra, sa).cmp(&(rb, sb))
    });
    v
}

fn verify(fs: &mut Fs<MemDevice>, ino: u64, model: &Model, what: &str) {
    for (n, v) in model {
        assert_eq!(
            &fs.getxattr(ino, n).unwrap(),
            v,
            "{what}: {:?}",
            String::from_utf8_lossy(n)
        );
    }
    let list = fs.listxattr(ino).unwrap();
    let got: Vec<Vec<u8>> = list
        .split(|&c| c == 0)
        .filter(|s| !s.is_empty())
        .map(|s| s.to_vec())
        .collect();
    assert_eq!(got, listing(model), "{what}: listing");
}

/// `names` distinct names, then `ops` random sets, replaces and removes.
fn scale(names: u64, ops: u64, big: bool, bs: u32, device: usize, seed: u64) {
    let what = format!("{names} names, bs {bs}");
    let mut fs = fresh(device, bs);
    let empty = fs.statfs().blocks_free;
    let ino = fs.create(ROOT_INO, b"f", 0o644, 0, 0, T0).unwrap().ino;
    let mut r = Rng(seed);
    let mut model = Model::new();
    for i in 0..names {
        let n = name(i);
        let len = value_len(&mut r, big);
        let v = value(&mut r, len);
        fs.setxattr(ino, &n, &v, XattrFlags::default(), T0).unwrap();
        model.insert(n, v);
    }
    for _ in 0..ops {
        let i = r.below(names + names / 4 + 1);
        let n = name(i);
        match r.below(3) {
            0 => {
                let res = fs.removexattr(ino, &n, T0);
                match model.remove(&n) {
                    Some(_) => res.unwrap(),
                    None => assert_eq!(res, Err(FsError::NoData), "{what}"),
                }
            }
            _ => {
                let len = value_len(&mut r, big);
                let v = value(&mut r, len);
                fs.setxattr(ino, &n, &v, XattrFlags::default(), T0).unwrap();
                model.insert(n, v);
            }
        }
    }
    verify(&mut fs, ino, &model, &what);
    let mut fs = remount(fs);
    verify(&mut fs, ino, &model, &format!("{what}, remounted"));
    let dev = fsck_clean(fs.unmount(T0).unwrap(), &what);
    // Deleting the inode frees its whole tree and every value run.
    let mut fs = Fs::mount(dev, Default::default(), T0).unwrap();
    let charged = fs.getattr(ino).unwrap().blocks_512 / (u64::from(bs) / 512);
    // A small blob shares a pack block, which is charged to no inode.
    let shared = u64::from(charged == 0 && !model.is_empty());
    assert_eq!(
        fs.statfs().blocks_free + charged + shared,
        empty,
        "{what}: blocks charged"
    );
    fs.unlink(ROOT_INO, b"f", T0).unwrap();
    fs.sync().unwrap();
    assert_eq!(fs.statfs().blocks_free, empty, "{what}: blocks freed");
    fsck_clean(fs.unmount(T0).unwrap(), &format!("{what}, deleted"));
}

#[test]
fn one_name() {
    scale(1, 50, true, 4096, 16 << 20, 1);
}

#[test]
fn hundred_names() {
    scale(100, 1000, true, 4096, 64 << 20, 2);
}

#[test]
fn hundred_names_small_blocks() {
    scale(100, 1000, true, 1024, 64 << 20, 3);
}

#[test]
fn ten_thousand_names() {
    scale(10_000, 10_000, true, 4096, 256 << 20, 4);
}

#[test]
fn hundred_thousand_names() {
    scale(100_000, 20_000, false, 4096, 256 << 20, 5);
}

/// Past a block of attributes the inode uses a tree; removing them moves
/// it back to a blob. ACLs and the embedding stay in the blob throughout.
#[test]
fn crossing_the_threshold_both_ways() {
    let mut fs = fresh(32 << 20, 4096);
    let ino = fs.create(ROOT_INO, b"f", 0o644, 0, 0, T0).unwrap().ino;
    let emb: Vec<u8> = (0..64u32).flat_map(|i| (i as f32).to_le_bytes()).collect();
    fs.setxattr(
        ino,
        b"user.vexfs.embedding",
        &emb,
        XattrFlags::default(),
        T0,
    )
    .unwrap();
    assert!(!fs.xattr_uses_tree(ino).unwrap());
    assert_eq!(fs.superblock().feature_incompat & 2, 0, "no tree used yet");
    let mut model = Model::new();
    model.insert(b"user.vexfs.embedding".to_vec(), emb.clone());
    let mut i = 0;
    while !fs.xattr_uses_tree(ino).unwrap() {
        let n = name(i);
        let v = vec![i as u8; 40];
        fs.setxattr(ino, &n, &v, XattrFlags::default(), T0).unwrap();
        model.insert(n, v);
        i += 1;
        assert!(i < 200, "never switched");
    }
    assert_ne!(
        fs.superblock().feature_incompat & 2,
        0,
        "INCOMPAT_XATTR_TREE"
    );
    verify(&mut fs, ino, &model, "just switched");
    let mut fs = remount(fs);
    verify(&mut fs, ino, &model, "switched, remounted");
    for j in 0..i {
        fs.removexattr(ino, &name(j), T0).unwrap();
        model.remove(&name(j));
        if !fs.xattr_uses_tree(ino).unwrap() {
            break;
        }
    }
    assert!(!fs.xattr_uses_tree(ino).unwrap(), "never moved back");
    verify(&mut fs, ino, &model, "moved back");
    assert_eq!(fs.getxattr(ino, b"user.vexfs.embedding").unwrap(), emb);
    let fs = remount(fs);
    fsck_clean(fs.unmount(T0).unwrap(), "moved back");
}

/// XATTR_CREATE / XATTR_REPLACE on tree-held names.
#[test]
fn flags_in_the_tree() {
    let mut fs = fresh(32 << 20, 4096);
    let ino = fs.create(ROOT_INO, b"f", 0o644, 0, 0, T0).unwrap().ino;
    for i in 0..500 {
        fs.setxattr(ino, &name(i), b"v", XattrFlags::default(), T0)
            .unwrap();
    }
    assert!(fs.xattr_uses_tree(ino).unwrap());
    let create = XattrFlags {
        create: true,
        replace: false,
    };
    let replace = XattrFlags {
        create: false,
        replace: true,
    };
    assert_eq!(
        fs.setxattr(ino, &name(3), b"w", create, T0),
        Err(FsError::Exists)
    );
    assert_eq!(
        fs.getxattr(ino, &name(3)).unwrap(),
        b"v",
        "refused create changed nothing"
    );
    assert_eq!(
        fs.setxattr(ino, &name(9999), b"w", replace, T0),
        Err(FsError::NoData)
    );
    assert_eq!(fs.getxattr(ino, &name(9999)), Err(FsError::NoData));
    fs.setxattr(ino, &name(3), &[5u8; 3000], replace, T0)
        .unwrap();
    assert_eq!(fs.getxattr(ino, &name(3)).unwrap(), vec![5u8; 3000]);
    assert_eq!(fs.removexattr(ino, &name(9999), T0), Err(FsError::NoData));
    assert_eq!(
        fs.setxattr(ino, &name(4), &vec![0u8; 65537], XattrFlags::default(), T0),
        Err(FsError::TooBig)
    );
}

/// Names of the longest length (255 bytes with the prefix) with empty,
/// short and run-sized values on the smallest block size, where a name
/// alone nearly fills the quarter block an inline item may take.
#[test]
fn longest_names_on_small_blocks() {
    let mut fs = fresh(16 << 20, 1024);
    let ino = fs.create(ROOT_INO, b"f", 0o644, 0, 0, T0).unwrap().ino;
    let mut model = Model::new();
    for i in 0..40u32 {
        let mut n = format!("user.{i:03}").into_bytes();
        n.resize(255, b'n');
        let v = vec![i as u8; [0, 1, 16, 17, 600][i as usize % 5]];
        fs.setxattr(ino, &n, &v, XattrFlags::default(), T0).unwrap();
        model.insert(n, v);
    }
    assert!(fs.xattr_uses_tree(ino).unwrap());
    verify(&mut fs, ino, &model, "long names");
    let fs = remount(fs);
    fsck_clean(fs.unmount(T0).unwrap(), "long names");
}
