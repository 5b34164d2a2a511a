//! A 100,000-entry directory: create, list, remove, through the mount.

mod common;
use common::*;
use std::time::Instant;

#[test]
fn hundred_thousand_files() {
    if !fuse_available() {
        return;
    }
    const N: usize = 100_000;
    let s = Scratch::with_inodes(1 << 30, Some(120_000));
    let m = s.mount(&[]);
    let dir = s.mnt.join("big");
    std::fs::create_dir(&dir).unwrap();
    let t = Instant::now();
    for i in 0..N {
        std::fs::File::create(dir.join(format!("file-{i:06}"))).unwrap();
    }
    let created = t.elapsed();
    let t = Instant::now();
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    let listed = t.elapsed();
    assert_eq!(names.len(), N);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), N, "no duplicates in the listing");
    assert!(m.unmount().success());

    let m = s.mount(&[]);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), N);
    let t = Instant::now();
    for i in 0..N {
        std::fs::remove_file(dir.join(format!("file-{i:06}"))).unwrap();
    }
    let removed = t.elapsed();
    std::fs::remove_dir(&dir).unwrap();
    eprintln!("100k files: create {created:?}, list {listed:?}, remove {removed:?}");
    assert!(m.unmount().success());
}
