//! Direct tests of the filesystem operations.

mod common;
use common::*;
use vexfs_core::format::ROOT_INO;
use vexfs_core::{FallocMode, FsError, RenameFlags, SetAttr, XattrFlags};

#[test]
fn create_write_read_remount() {
    let mut fs = fresh(16 << 20, 4096);
    let f = fs
        .create(ROOT_INO, b"hello.txt", 0o644, 1000, 1000, T0)
        .unwrap();
    fs.write(f.ino, 0, b"hello world", T0).unwrap();
    fs.write(f.ino, 100_000, b"far", T0).unwrap();
    let mut fs = remount(fs);
    let st = fs.lookup(ROOT_INO, b"hello.txt").unwrap();
    assert_eq!(st.size, 100_003);
    assert_eq!(st.uid, 1000);
    let data = fs.read(st.ino, 0, 200_000).unwrap();
    assert_eq!(&data[..11], b"hello world");
    assert!(data[11..100_000].iter().all(|&b| b == 0));
    assert_eq!(&data[100_000..], b"far");
    // Sparse: only two blocks allocated.
    assert_eq!(st.blocks_512, 2 * 8);
}

#[test]
fn big_directory_stays_consistent() {
    let mut fs = fresh(128 << 20, 1024);
    let n = 5000;
    for i in 0..n {
        fs.create(ROOT_INO, format!("file-{i:05}").as_bytes(), 0o644, 0, 0, T0)
            .unwrap();
    }
    let mut fs = remount(fs);
    for i in (0..n).step_by(7) {
        fs.lookup(ROOT_INO, format!("file-{i:05}").as_bytes())
            .unwrap();
    }
    let mut names = Vec::new();
    let mut off = 0;
    loop {
        let batch = fs.readdir(ROOT_INO, off, 100).unwrap();
        if batch.is_empty() {
            break;
        }
        off = batch.last().unwrap().offset;
        names.extend(batch.into_iter().map(|e| e.name));
    }
    assert_eq!(names.len(), n + 3); // ., .., lost+found
    for i in 0..n {
        fs.unlink(ROOT_INO, format!("file-{i:05}").as_bytes(), T0)
            .unwrap();
    }
    let free_before = fs.statfs();
    let mut fs = remount(fs);
    assert_eq!(fs.readdir(ROOT_INO, 0, 1000).unwrap().len(), 3);
    assert_eq!(fs.statfs(), free_before);
}

#[test]
fn rename_semantics() {
    let mut fs = fresh(16 << 20, 4096);
    let a = fs.mkdir(ROOT_INO, b"a", 0o755, 0, 0, T0).unwrap();
    let b = fs.mkdir(ROOT_INO, b"b", 0o755, 0, 0, T0).unwrap();
    let f = fs.create(a.ino, b"f", 0o644, 0, 0, T0).unwrap();
    fs.create(b.ino, b"g", 0o644, 0, 0, T0).unwrap();
    assert_eq!(
        fs.rename(
            a.ino,
            b"f",
            b.ino,
            b"g",
            RenameFlags {
                noreplace: true,
                exchange: false
            },
            T0
        ),
        Err(FsError::Exists)
    );
    fs.rename(
        a.ino,
        b"f",
        b.ino,
        b"g",
        RenameFlags {
            noreplace: false,
            exchange: true,
        },
        T0,
    )
    .unwrap();
    assert_eq!(fs.lookup(b.ino, b"g").unwrap().ino, f.ino);
    fs.rename(ROOT_INO, b"a", b.ino, b"a2", RenameFlags::default(), T0)
        .unwrap();
    assert_eq!(fs.getattr(b.ino).unwrap().nlink, 3);
    assert_eq!(fs.getattr(ROOT_INO).unwrap().nlink, 4); // lost+found and b
    assert_eq!(fs.lookup(a.ino, b"..").unwrap().ino, b.ino);
    // A directory cannot move below itself.
    assert_eq!(
        fs.rename(ROOT_INO, b"b", a.ino, b"x", RenameFlags::default(), T0),
        Err(FsError::Invalid)
    );
    assert_eq!(fs.rmdir(ROOT_INO, b"b", T0), Err(FsError::NotEmpty));
}

#[test]
fn xattrs_large_values_and_flags() {
    let mut fs = fresh(16 << 20, 4096);
    let f = fs.create(ROOT_INO, b"v", 0o644, 0, 0, T0).unwrap();
    let emb: Vec<u8> = (0..4096 * 4).map(|i| (i * 7 % 251) as u8).collect();
    fs.setxattr(
        f.ino,
        b"user.vexfs.embedding",
        &emb,
        XattrFlags::default(),
        T0,
    )
    .unwrap();
    fs.setxattr(f.ino, b"user.small", b"1", XattrFlags::default(), T0)
        .unwrap();
    assert_eq!(
        fs.setxattr(
            f.ino,
            b"user.small",
            b"2",
            XattrFlags {
                create: true,
                replace: false
            },
            T0
        ),
        Err(FsError::Exists)
    );
    assert_eq!(
        fs.setxattr(
            f.ino,
            b"user.none",
            b"2",
            XattrFlags {
                create: false,
                replace: true
            },
            T0
        ),
        Err(FsError::NoData)
    );
    let big = vec![9u8; 65536];
    fs.setxattr(f.ino, b"trusted.big", &big, XattrFlags::default(), T0)
        .unwrap();
    let mut fs = remount(fs);
    assert_eq!(fs.getxattr(f.ino, b"user.vexfs.embedding").unwrap(), emb);
    assert_eq!(fs.getxattr(f.ino, b"trusted.big").unwrap(), big);
    let list = fs.listxattr(f.ino).unwrap();
    assert_eq!(
        list,
        b"user.small\0user.vexfs.embedding\0trusted.big\0".to_vec()
    );
    fs.removexattr(f.ino, b"trusted.big", T0).unwrap();
    assert_eq!(fs.getxattr(f.ino, b"trusted.big"), Err(FsError::NoData));
    assert_eq!(fs.getxattr(f.ino, b"bogus.x"), Err(FsError::NotSupported));
}

#[test]
fn truncate_fallocate_and_huge_sparse_file() {
    let mut fs = fresh(32 << 20, 4096);
    let f = fs.create(ROOT_INO, b"f", 0o644, 0, 0, T0).unwrap();
    fs.write(f.ino, 0, &[0xAA; 10000], T0).unwrap();
    fs.setattr(
        f.ino,
        &SetAttr {
            size: Some(5000),
            ..Default::default()
        },
        T0,
    )
    .unwrap();
    fs.setattr(
        f.ino,
        &SetAttr {
            size: Some(9000),
            ..Default::default()
        },
        T0,
    )
    .unwrap();
    let d = fs.read(f.ino, 0, 9000).unwrap();
    assert!(d[..5000].iter().all(|&b| b == 0xAA));
    assert!(
        d[5000..].iter().all(|&b| b == 0),
        "truncate must zero the tail"
    );
    fs.fallocate(f.ino, 0, 9000, FallocMode::PunchHole, T0)
        .unwrap();
    assert!(fs.read(f.ino, 0, 9000).unwrap().iter().all(|&b| b == 0));
    fs.fallocate(
        f.ino,
        0,
        1 << 20,
        FallocMode::Allocate { keep_size: false },
        T0,
    )
    .unwrap();
    assert_eq!(fs.getattr(f.ino).unwrap().size, 1 << 20);
    // A 1 TiB sparse file.
    let g = fs.create(ROOT_INO, b"huge", 0o644, 0, 0, T0).unwrap();
    fs.write(g.ino, (1u64 << 40) - 4, b"end!", T0).unwrap();
    let mut fs = remount(fs);
    assert_eq!(fs.getattr(g.ino).unwrap().size, 1 << 40);
    assert_eq!(fs.read(g.ino, (1 << 40) - 4, 10).unwrap(), b"end!");
}

#[test]
fn unlinked_open_file_lives_until_release_or_remount() {
    let mut fs = fresh(16 << 20, 4096);
    let free0 = fs.statfs().blocks_free;
    let f = fs.create(ROOT_INO, b"tmp", 0o644, 0, 0, T0).unwrap();
    fs.write(f.ino, 0, &[1; 50_000], T0).unwrap();
    fs.open(f.ino).unwrap();
    fs.unlink(ROOT_INO, b"tmp", T0).unwrap();
    assert_eq!(fs.read(f.ino, 0, 10).unwrap(), vec![1; 10]);
    // Simulate a crash: drop without release; the orphan is reaped at mount.
    let dev = std::mem::replace(fs.device(), vexfs_core::MemDevice::new(0));
    let mut fs = vexfs_core::Fs::mount(dev, Default::default(), T0).unwrap();
    assert_eq!(fs.getattr(f.ino), Err(FsError::NotFound));
    assert_eq!(fs.statfs().blocks_free, free0);
}

#[test]
fn symlinks_inline_and_long() {
    let mut fs = fresh(16 << 20, 4096);
    let s = fs.symlink(ROOT_INO, b"short", b"target", 0, 0, T0).unwrap();
    let long = vec![b'x'; 3000];
    let l = fs.symlink(ROOT_INO, b"long", &long, 0, 0, T0).unwrap();
    let mut fs = remount(fs);
    assert_eq!(fs.readlink(s.ino).unwrap(), b"target");
    assert_eq!(fs.readlink(l.ino).unwrap(), long);
}

#[test]
fn enospc_rolls_back_cleanly() {
    let mut fs = fresh(2 << 20, 4096);
    let f = fs.create(ROOT_INO, b"fill", 0o644, 0, 0, T0).unwrap();
    let free = fs.statfs().blocks_free;
    let r = fs.write(f.ino, 0, &vec![7u8; 4 << 20], T0);
    assert_eq!(r, Err(FsError::NoSpace));
    assert_eq!(
        fs.statfs().blocks_free,
        free,
        "failed write must not leak blocks"
    );
    assert_eq!(fs.getattr(f.ino).unwrap().size, 0);
}
