//! Operations too large for one transaction: deleting, truncating and
//! punching files whose freeing dirties more blocks than a small journal
//! holds. They are split into bounded transactions (`JournalStats::
//! split_steps`), none falls back to an unjournaled commit, and the result
//! is what one big operation would have left.

mod common;
use common::*;
use vexfs_core::check::{check, CheckOptions, RepairMode};
use vexfs_core::format::ROOT_INO;
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{FallocMode, Fs, MemDevice, MountOptions, SetAttr};

const MIB: usize = 1 << 20;

/// 64 MiB of 1 KiB blocks (eight bitmap blocks) with a 12-block journal:
/// freeing a file that spans the device dirties more bitmap blocks than
/// one commit may log.
fn tiny_journal() -> Fs<MemDevice> {
    let opts = MkfsOptions {
        block_size: 1024,
        journal_blocks: Some(12),
        ..Default::default()
    };
    let dev = format(MemDevice::new(64 * MIB), &opts, T0, &mut |_, _| {}).expect("mkfs");
    Fs::mount(dev, MountOptions::default(), T0).expect("mount")
}

fn big_file(fs: &mut Fs<MemDevice>, name: &[u8], mib: usize) -> u64 {
    let ino = fs.create(ROOT_INO, name, 0o644, 0, 0, T0).unwrap().ino;
    for i in 0..mib {
        let chunk = vec![(i % 251) as u8 + 1; MIB];
        fs.write(ino, (i * MIB) as u64, &chunk, T0).unwrap();
    }
    fs.sync().unwrap();
    ino
}

fn free_blocks(fs: &mut Fs<MemDevice>) -> u64 {
    fs.statfs().blocks_free
}

fn assert_checks_clean(fs: Fs<MemDevice>) {
    fsck_clean(fs.unmount(T0).unwrap(), "after the long operations");
}

#[test]
fn deleting_a_file_larger_than_the_journal_can_free_at_once_is_split() {
    let mut fs = tiny_journal();
    let before = free_blocks(&mut fs);
    big_file(&mut fs, b"big", 56);
    let stats = fs.journal_stats();
    fs.unlink(ROOT_INO, b"big", T0).unwrap();
    fs.sync().unwrap();
    let after = fs.journal_stats();
    assert!(after.split_steps > stats.split_steps, "{after:?}");
    assert_eq!(after.unjournaled_commits, 0, "{after:?}");
    assert_eq!(free_blocks(&mut fs), before, "every block came back");
    println!(
        "delete of 56 MiB on a 12-block journal: {} extra transactions, {} commits",
        after.split_steps - stats.split_steps,
        after.commits - stats.commits
    );
    assert_checks_clean(fs);
}

#[test]
fn truncating_and_punching_large_ranges_is_split_and_keeps_the_rest() {
    let mut fs = tiny_journal();
    let ino = big_file(&mut fs, b"big", 56);
    // Punch all but the first and last MiB.
    fs.fallocate(
        ino,
        MIB as u64 - 100,
        54 * MIB as u64 + 200,
        FallocMode::PunchHole,
        T0,
    )
    .unwrap();
    let data = fs.read(ino, 0, 56 * MIB).unwrap();
    assert!(data[..MIB - 100].iter().all(|&b| b == 1));
    assert!(data[MIB - 100..55 * MIB + 100].iter().all(|&b| b == 0));
    assert!(data[55 * MIB + 100..].iter().all(|&b| b == 56));
    let st = fs.getattr(ino).unwrap();
    assert!(st.blocks_512 < 3 * 2048 + 64, "the range was freed: {st:?}");
    // Truncate what is left to a few bytes.
    let a = SetAttr {
        size: Some(10),
        ..Default::default()
    };
    let st = fs.setattr(ino, &a, T0).unwrap();
    assert_eq!(st.size, 10);
    assert!(
        st.blocks_512 <= 4,
        "setattr reports the blocks left: {st:?}"
    );
    fs.sync().unwrap();
    let s = fs.journal_stats();
    assert!(s.split_steps > 0, "{s:?}");
    assert_eq!(s.unjournaled_commits, 0, "{s:?}");
    assert_eq!(fs.read(ino, 0, 100).unwrap(), vec![1u8; 10]);
    assert_checks_clean(fs);
}

/// An open file unlinked and truncated stays on the orphan list until its
/// last close; freeing in steps must not take it off early.
#[test]
fn an_open_unlinked_file_stays_an_orphan_through_a_split_truncate() {
    let mut fs = tiny_journal();
    let before = free_blocks(&mut fs);
    let ino = big_file(&mut fs, b"held", 40);
    fs.open(ino).unwrap();
    fs.unlink(ROOT_INO, b"held", T0).unwrap();
    let a = SetAttr {
        size: Some(0),
        ..Default::default()
    };
    fs.setattr(ino, &a, T0).unwrap();
    fs.sync().unwrap();
    // A crash now leaves it for the mount.
    let crashed = fs.device().clone();
    let (r, _) = check(
        crashed,
        &CheckOptions {
            mode: RepairMode::No,
            force: true,
            now: T0,
        },
        &mut |_, _, _| true,
    )
    .unwrap();
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    assert_eq!(r.orphans_pending, 1);
    fs.release(ino).unwrap();
    assert_eq!(free_blocks(&mut fs), before);
    assert_checks_clean(fs);
}

#[test]
fn reserving_a_large_range_is_split_and_running_out_of_space_leaves_it_consistent() {
    let mut fs = tiny_journal();
    let ino = fs
        .create(ROOT_INO, b"reserved", 0o644, 0, 0, T0)
        .unwrap()
        .ino;
    let len = 56 * MIB as u64;
    fs.fallocate(ino, 0, len, FallocMode::Allocate { keep_size: false }, T0)
        .unwrap();
    fs.sync().unwrap();
    let s = fs.journal_stats();
    assert!(s.split_steps > 0, "{s:?}");
    assert_eq!(s.unjournaled_commits, 0, "{s:?}");
    let st = fs.getattr(ino).unwrap();
    assert_eq!(st.size, len, "the size is set once everything is reserved");
    assert!(st.blocks_512 >= len / 512, "{st:?}");
    assert!(fs
        .read(ino, len - 4096, 4096)
        .unwrap()
        .iter()
        .all(|&b| b == 0));
    // More than is left: ENOSPC, and what was reserved before it ran out
    // is a consistent (if partial) reservation past the end of the file.
    let other = fs
        .create(ROOT_INO, b"too-big", 0o644, 0, 0, T0)
        .unwrap()
        .ino;
    let r = fs.fallocate(other, 0, len, FallocMode::Allocate { keep_size: false }, T0);
    assert_eq!(r, Err(vexfs_core::FsError::NoSpace));
    assert_eq!(fs.getattr(other).unwrap().size, 0);
    fs.unlink(ROOT_INO, b"too-big", T0).unwrap();
    fs.unlink(ROOT_INO, b"reserved", T0).unwrap();
    assert_eq!(fs.journal_stats().unjournaled_commits, 0);
    assert_checks_clean(fs);
}

/// Zeroing a range is a punch and a reservation: the range reads as zeros,
/// stays allocated, and a huge one is split like either half.
#[test]
fn zeroing_a_large_range_is_split_and_keeps_it_allocated() {
    let mut fs = tiny_journal();
    let ino = big_file(&mut fs, b"z", 50);
    let (off, len) = (MIB as u64 / 2 + 7, 48 * MIB as u64);
    fs.fallocate(ino, off, len, FallocMode::ZeroRange { keep_size: true }, T0)
        .unwrap();
    fs.sync().unwrap();
    let s = fs.journal_stats();
    assert!(s.split_steps > 0, "{s:?}");
    assert_eq!(s.unjournaled_commits, 0, "{s:?}");
    let data = fs.read(ino, 0, 50 * MIB).unwrap();
    let (a, b) = (off as usize, (off + len) as usize);
    assert!(data[..a].iter().all(|&x| x == 1));
    assert!(data[a..b].iter().all(|&x| x == 0));
    assert!(data[b..].iter().all(|&x| x != 0));
    let st = fs.getattr(ino).unwrap();
    assert_eq!(st.size, 50 * MIB as u64);
    assert!(st.blocks_512 >= 100 * 1024, "still allocated: {st:?}");
    // Writing into the zeroed range needs no allocation.
    let free = free_blocks(&mut fs);
    fs.write(ino, 10 * MIB as u64, &[9u8; 4096], T0).unwrap();
    assert_eq!(free_blocks(&mut fs), free);
    assert_checks_clean(fs);
}

/// Blocks allocated in a transaction go home before its commit record and
/// not through the log: a load of new files with attribute blobs logs only
/// the blocks that existed before (inode table, bitmaps, the directory's
/// older nodes). Changing those blobs later goes through the log again.
#[test]
fn new_blocks_go_home_directly_and_changed_ones_through_the_log() {
    let mut fs = fresh(64 * MIB, 4096);
    let dir = fs.mkdir(ROOT_INO, b"d", 0o755, 0, 0, T0).unwrap().ino;
    fs.sync().unwrap();
    let before = fs.journal_stats();
    // Larger than half a block: one blob block per file, not packed.
    let value = vec![7u8; 2100];
    for i in 0..400u32 {
        let ino = fs
            .create(dir, format!("f{i:04}").as_bytes(), 0o644, 0, 0, T0)
            .unwrap()
            .ino;
        fs.setxattr(ino, b"user.v", &value, Default::default(), T0)
            .unwrap();
    }
    fs.sync().unwrap();
    let load = fs.journal_stats();
    let early = load.early_blocks - before.early_blocks;
    let logged = load.logged_blocks - before.logged_blocks;
    // One blob block per file, plus the directory's new tree nodes.
    assert!(early >= 400, "{load:?}");
    assert!(logged < 100, "only old blocks are logged: {load:?}");
    for i in 0..400u32 {
        let ino = fs.lookup(dir, format!("f{i:04}").as_bytes()).unwrap().ino;
        fs.setxattr(ino, b"user.v", &[9u8; 2100], Default::default(), T0)
            .unwrap();
    }
    fs.sync().unwrap();
    let change = fs.journal_stats();
    assert!(
        change.logged_blocks - load.logged_blocks >= 400,
        "rewritten blobs are logged: {change:?}"
    );
    assert_eq!(change.unjournaled_commits, 0);
    let mut fs = remount(fs);
    for i in 0..400u32 {
        let ino = fs.lookup(dir, format!("f{i:04}").as_bytes()).unwrap().ino;
        assert_eq!(fs.getxattr(ino, b"user.v").unwrap(), vec![9u8; 2100]);
    }
    assert_checks_clean(fs);
}
