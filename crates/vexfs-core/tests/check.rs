//! The consistency checker: clean images check clean, targeted damage is
//! found and repaired, random damage never panics.

mod common;
use common::*;
use vexfs_core::check::{check, CheckOptions, CheckReport, ProblemKind, RepairMode};
use vexfs_core::format::header::{seal, BITMAP_MAGIC, HEADER_SIZE, NODE_MAGIC};
use vexfs_core::format::inode::{Inode, INODE_SIZE};
use vexfs_core::format::superblock::Superblock;
use vexfs_core::format::{node, LOST_FOUND_INO, ROOT_INO};
use vexfs_core::{FallocMode, Fs, MemDevice, MountOptions, RenameFlags, SetAttr, XattrFlags};

fn run(dev: MemDevice, mode: RepairMode) -> (CheckReport, MemDevice) {
    let opts = CheckOptions {
        mode,
        force: true,
        now: T0,
    };
    check(dev, &opts, &mut |_, _, _| true).expect("check")
}

fn assert_clean(dev: MemDevice) -> MemDevice {
    let (r, dev) = run(dev, RepairMode::No);
    assert!(
        r.problems.is_empty(),
        "expected clean, got {:#?}",
        r.problems
    );
    dev
}

/// Check read-only (must find something), repair with -y, check again.
fn find_and_fix(dev: MemDevice, kind: ProblemKind) -> (CheckReport, MemDevice) {
    let (r, dev) = run(dev, RepairMode::No);
    assert!(
        r.problems.iter().any(|p| p.kind == kind),
        "expected a {kind:?} problem, got {:#?}",
        r.problems
    );
    assert!(r.problems.iter().all(|p| !p.fixed));
    let (fixed, dev) = run(dev, RepairMode::Yes);
    assert_eq!(
        fixed.uncorrected(),
        0,
        "left uncorrected: {:#?}",
        fixed.problems
    );
    assert!(fixed.corrected());
    let dev = assert_clean(dev);
    // The repaired image mounts.
    let fs = Fs::mount(dev, MountOptions::default(), T0).expect("mount after repair");
    (fixed, fs.unmount(T0).expect("unmount"))
}

fn sb_of(dev: &MemDevice) -> Superblock {
    Superblock::decode(&dev.data[..512]).unwrap()
}

/// A filesystem with a bit of everything. Returns the device and a few
/// inode numbers the tests damage.
struct Used {
    dev: MemDevice,
    file: u64,
    big_dir: u64,
    sub: u64,
}

fn heavily_used() -> Used {
    let mut fs = fresh(16 << 20, 1024);
    let file = fs.create(ROOT_INO, b"file", 0o644, 1, 1, T0).unwrap().ino;
    fs.write(file, 0, &vec![7u8; 50_000], T0).unwrap();
    fs.link(file, ROOT_INO, b"hardlink", T0).unwrap();
    let sparse = fs.create(ROOT_INO, b"sparse", 0o644, 0, 0, T0).unwrap().ino;
    fs.write(sparse, 1 << 30, b"end", T0).unwrap();
    fs.write(sparse, 0, b"start", T0).unwrap();
    let d = fs.mkdir(ROOT_INO, b"dir", 0o755, 0, 0, T0).unwrap().ino;
    let sub = fs.mkdir(d, b"sub", 0o755, 0, 0, T0).unwrap().ino;
    fs.create(sub, b"deep", 0o600, 0, 0, T0).unwrap();
    fs.symlink(d, b"short", b"../file", 0, 0, T0).unwrap();
    fs.symlink(d, b"long", &[b'x'; 300], 0, 0, T0).unwrap();
    fs.mknod(
        d,
        b"fifo",
        vexfs_core::format::inode::S_IFIFO | 0o644,
        0,
        0,
        0,
        T0,
    )
    .unwrap();
    fs.setxattr(file, b"user.small", b"v", XattrFlags::default(), T0)
        .unwrap();
    fs.setxattr(d, b"user.big", &vec![3u8; 5000], XattrFlags::default(), T0)
        .unwrap();
    let big_dir = fs.mkdir(ROOT_INO, b"big", 0o755, 0, 0, T0).unwrap().ino;
    for i in 0..300 {
        fs.create(big_dir, format!("entry-{i:04}").as_bytes(), 0o644, 0, 0, T0)
            .unwrap();
    }
    for i in (0..300).step_by(3) {
        fs.unlink(big_dir, format!("entry-{i:04}").as_bytes(), T0)
            .unwrap();
    }
    fs.rename(
        ROOT_INO,
        b"sparse",
        d,
        b"sparse-moved",
        Default::default(),
        T0,
    )
    .unwrap();
    // Allocation edge cases: preallocation past EOF, holes punched,
    // zeroed ranges, truncation both ways, exchanged directories.
    let pre = fs
        .create(ROOT_INO, b"prealloc", 0o644, 0, 0, T0)
        .unwrap()
        .ino;
    fs.write(pre, 0, &[1u8; 9000], T0).unwrap();
    fs.fallocate(pre, 0, 40_000, FallocMode::Allocate { keep_size: true }, T0)
        .unwrap();
    fs.fallocate(pre, 2048, 4096, FallocMode::PunchHole, T0)
        .unwrap();
    fs.fallocate(
        pre,
        20_000,
        5000,
        FallocMode::ZeroRange { keep_size: false },
        T0,
    )
    .unwrap();
    fs.setattr(
        pre,
        &SetAttr {
            size: Some(3000),
            ..Default::default()
        },
        T0,
    )
    .unwrap();
    fs.setattr(
        pre,
        &SetAttr {
            size: Some(1 << 20),
            ..Default::default()
        },
        T0,
    )
    .unwrap();
    let x = fs.mkdir(ROOT_INO, b"x", 0o755, 0, 0, T0).unwrap().ino;
    fs.mkdir(x, b"inner", 0o755, 0, 0, T0).unwrap();
    fs.rename(
        ROOT_INO,
        b"x",
        d,
        b"sub",
        RenameFlags {
            exchange: true,
            ..Default::default()
        },
        T0,
    )
    .unwrap();
    fs.mkdir(ROOT_INO, b"gone", 0o755, 0, 0, T0).unwrap();
    fs.rmdir(ROOT_INO, b"gone", T0).unwrap();
    fs.setxattr(d, b"user.big", b"now small", XattrFlags::default(), T0)
        .unwrap();
    fs.setxattr(d, b"user.other", b"v", XattrFlags::default(), T0)
        .unwrap();
    fs.removexattr(d, b"user.other", T0).unwrap();
    Used {
        dev: fs.unmount(T0).unwrap(),
        file,
        big_dir,
        sub,
    }
}

fn inode_slot(dev: &MemDevice, ino: u64) -> usize {
    let sb = sb_of(dev);
    let (blk, off) = sb.inode_location(ino).unwrap();
    blk as usize * sb.block_size as usize + off
}

fn edit_inode(dev: &mut MemDevice, ino: u64, f: impl FnOnce(&mut Inode)) {
    let at = inode_slot(dev, ino);
    let mut i = Inode::decode(&dev.data[at..at + INODE_SIZE], ino).unwrap();
    f(&mut i);
    i.encode(&mut dev.data[at..at + INODE_SIZE], ino).unwrap();
}

/// The first tree node block owned by `ino`.
fn tree_block(dev: &MemDevice, ino: u64) -> usize {
    let sb = sb_of(dev);
    let bs = sb.block_size as usize;
    (sb.data_start..sb.block_count)
        .find(|&b| {
            let blk = &dev.data[b as usize * bs..(b as usize + 1) * bs];
            vexfs_core::format::header::verify(blk, NODE_MAGIC, b, "node").ok() == Some(ino)
        })
        .expect("tree block") as usize
}

#[test]
fn fresh_image_checks_clean() {
    for bs in [1024, 4096] {
        let fs = fresh(8 << 20, bs);
        let dev = fs.unmount(T0).unwrap();
        let (r, dev) = run(dev, RepairMode::No);
        assert!(r.problems.is_empty(), "{:#?}", r.problems);
        assert_eq!(r.inodes_used, r.inode_count - sb_of(&dev).free_inodes);
        // Clean state without force: skipped.
        let opts = CheckOptions {
            mode: RepairMode::Preen,
            force: false,
            now: T0,
        };
        let (r, _) = check(dev, &opts, &mut |_, _, _| true).unwrap();
        assert!(r.skipped_clean);
    }
}

#[test]
fn heavily_used_image_checks_clean() {
    let u = heavily_used();
    let (r, dev) = run(u.dev, RepairMode::Yes);
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    assert!(!r.corrected());
    assert!(r.directories >= 5 && r.files >= 200);
    assert_clean(dev);
}

#[test]
fn flipped_inode_bit_is_cleared_and_entries_removed() {
    let mut u = heavily_used();
    let at = inode_slot(&u.dev, u.file);
    u.dev.data[at + 40] ^= 0x10;
    let (r, dev) = find_and_fix(u.dev, ProblemKind::Inode);
    assert!(r
        .repairs
        .iter()
        .any(|l| l.contains(&format!("cleared inode {}", u.file))));
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    assert!(fs.lookup(ROOT_INO, b"file").is_err());
    assert!(fs.lookup(ROOT_INO, b"hardlink").is_err());
}

#[test]
fn preen_refuses_unsafe_fixes() {
    let mut u = heavily_used();
    let at = inode_slot(&u.dev, u.file);
    u.dev.data[at + 3] ^= 1;
    let before = u.dev.data.clone();
    let (r, dev) = run(u.dev, RepairMode::Preen);
    assert!(r.uncorrected() > 0 && !r.corrected());
    // Only the superblock changes (through the journal): it is marked as
    // having errors, as e2fsck does when preening stops.
    let sb = sb_of(&dev);
    let bs = sb.block_size as usize;
    let journal =
        sb.journal_start as usize * bs..(sb.journal_start + sb.journal_blocks) as usize * bs;
    assert!(
        dev.data[bs..journal.start] == before[bs..journal.start]
            && dev.data[journal.end..] == before[journal.end..],
        "preen must not repair what it cannot fix safely"
    );
    assert_eq!(
        sb_of(&dev).state,
        vexfs_core::format::superblock::STATE_ERRORS
    );
}

#[test]
fn damaged_tree_node_clears_dir_and_reconnects_children() {
    let mut u = heavily_used();
    let b = tree_block(&u.dev, u.big_dir);
    let bs = sb_of(&u.dev).block_size as usize;
    u.dev.data[b * bs + HEADER_SIZE + 20] ^= 0x40;
    let (r, dev) = find_and_fix(u.dev, ProblemKind::Tree);
    assert!(
        r.repairs.iter().any(|l| l.contains("lost+found")),
        "{:#?}",
        r.repairs
    );
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    assert!(fs.lookup(ROOT_INO, b"big").is_err());
    let lf = fs.readdir(LOST_FOUND_INO, 0, 1000).unwrap();
    assert_eq!(lf.len(), 2 + 200, "the 200 surviving files are reconnected");
}

#[test]
fn damaged_bitmap_block_is_rewritten() {
    let mut u = heavily_used();
    let sb = sb_of(&u.dev);
    let bs = sb.block_size as usize;
    u.dev.data[sb.block_bitmap_start as usize * bs + HEADER_SIZE + 5] ^= 0x04;
    find_and_fix(u.dev, ProblemKind::Bitmap);
}

#[test]
fn cleared_bitmap_bit_of_used_block_is_restored() {
    let mut u = heavily_used();
    let sb = sb_of(&u.dev);
    let bs = sb.block_size as usize;
    // The big directory's tree block is in use; mark it free.
    let b = tree_block(&u.dev, u.big_dir) as u64;
    let bits = (bs as u64 - HEADER_SIZE as u64) * 8;
    let (k, j) = (b / bits, b % bits);
    let blk = (sb.block_bitmap_start + k) as usize;
    let block = &mut u.dev.data[blk * bs..(blk + 1) * bs];
    block[HEADER_SIZE + (j / 8) as usize] &= !(1 << (j % 8));
    seal(block, BITMAP_MAGIC, blk as u64, 0).unwrap();
    let (r, _) = find_and_fix(u.dev, ProblemKind::Bitmap);
    assert!(
        r.problems
            .iter()
            .any(|p| p.text.contains("in use but marked free")
                && p.text.contains(&format!(": {b};"))),
        "the message names block {b}: {:#?}",
        r.problems
    );
}

#[test]
fn set_inode_bitmap_bit_names_the_inode() {
    let u = heavily_used();
    let mut dev = u.dev;
    let sb = sb_of(&dev);
    let bs = sb.block_size as usize;
    // A free inode number, marked in use: bit `ino - 1`.
    let ino = (sb.first_user_ino..sb.inode_count)
        .find(|&i| {
            let at = inode_slot(&dev, i);
            dev.data[at..at + INODE_SIZE].iter().all(|&b| b == 0)
        })
        .unwrap();
    let bit = ino - 1;
    let blk = sb.inode_bitmap_start as usize;
    let block = &mut dev.data[blk * bs..(blk + 1) * bs];
    block[HEADER_SIZE + (bit / 8) as usize] |= 1 << (bit % 8);
    seal(block, BITMAP_MAGIC, blk as u64, 0).unwrap();
    let (r, _) = find_and_fix(dev, ProblemKind::Bitmap);
    let text = &r
        .problems
        .iter()
        .find(|p| p.text.contains("inode bitmap"))
        .unwrap()
        .text;
    assert!(
        text.contains("marked in use but free") && text.ends_with(&format!(": {ino}; fix it")),
        "{text}"
    );
}

#[test]
fn bumped_link_count_is_fixed_by_preen() {
    let mut u = heavily_used();
    edit_inode(&mut u.dev, u.file, |i| i.nlink += 3);
    edit_inode(&mut u.dev, u.sub, |i| i.nlink = 7);
    let (r, dev) = run(u.dev, RepairMode::Preen);
    assert_eq!(r.uncorrected(), 0, "{:#?}", r.problems);
    assert_eq!(
        r.problems
            .iter()
            .filter(|p| p.kind == ProblemKind::LinkCount)
            .count(),
        2
    );
    let dev = assert_clean(dev);
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    assert_eq!(fs.getattr(u.file).unwrap().nlink, 2);
    assert_eq!(fs.getattr(u.sub).unwrap().nlink, 2);
}

/// A file unlinked while open is on the orphan list when the machine
/// stops. That is recovery work, as for the journal, not damage: a
/// read-only check reports it as left for the mount, a writing check
/// deletes it the way a mount does, and neither calls it a problem.
#[test]
fn orphan_left_by_a_crash_is_recovery_work() {
    let u = heavily_used();
    let mut fs = Fs::mount(u.dev, MountOptions::default(), T0).unwrap();
    let st = fs.lookup(ROOT_INO, b"file").unwrap();
    fs.open(st.ino).unwrap();
    fs.unlink(ROOT_INO, b"file", T0).unwrap();
    fs.unlink(ROOT_INO, b"hardlink", T0).unwrap();
    // Crash once the unlinks are durable, the file still open.
    fs.sync().unwrap();
    let crashed = fs.device().clone();
    assert_ne!(sb_of(&crashed).orphan_head, 0);
    let free_before = sb_of(&crashed).free_blocks;

    let (r, crashed) = run(crashed, RepairMode::No);
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    assert_eq!((r.orphans_pending, r.orphans_released), (1, 0));
    assert_ne!(sb_of(&crashed).orphan_head, 0, "-n must not write");

    let (r, dev) = run(crashed, RepairMode::Preen);
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    assert!(!r.corrected());
    assert_eq!((r.orphans_pending, r.orphans_released), (0, 1));
    assert_eq!(sb_of(&dev).orphan_head, 0);
    assert!(
        sb_of(&dev).free_blocks > free_before,
        "the orphan's blocks are free again"
    );
    let dev = assert_clean(dev);
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    assert!(fs.getattr(st.ino).is_err());
}

/// The same list, damaged (its head names an inode not marked orphan):
/// the mount code will not walk it, so it is a problem the check fixes.
#[test]
fn orphan_list_naming_a_live_inode_is_a_problem() {
    let u = heavily_used();
    let mut dev = u.dev;
    let mut sb = sb_of(&dev);
    sb.orphan_head = u.file;
    sb.encode(&mut dev.data[..512]).unwrap();
    let (r, _) = find_and_fix(dev, ProblemKind::Orphan);
    assert_eq!(r.orphans_released, 0);
}

#[test]
fn zero_link_inode_off_the_list_is_found() {
    // An empty file whose entry vanished and whose count was dropped.
    let mut fs = fresh(8 << 20, 4096);
    let ino = fs.create(ROOT_INO, b"empty", 0o644, 0, 0, T0).unwrap().ino;
    let mut dev = fs.unmount(T0).unwrap();
    remove_root_entry(&mut dev, b"empty");
    edit_inode(&mut dev, ino, |i| i.nlink = 0);
    find_and_fix(dev, ProblemKind::Orphan);
}

/// Drop `name` from the root directory's in-inode tree, as a lost write.
fn remove_root_entry(dev: &mut MemDevice, name: &[u8]) {
    edit_inode(dev, ROOT_INO, |i| {
        assert_eq!(
            node::header(&i.data).unwrap().level,
            0,
            "root tree must be inline for this test"
        );
        let (lo, hi) = vexfs_core::format::dirent::key_range(name);
        let n = node::header(&i.data).unwrap().nitems;
        let slot = (0..n)
            .find(|&s| (lo..=hi).contains(&node::key(&i.data, s).unwrap()))
            .expect("entry");
        node::remove_at(&mut i.data, slot).unwrap();
        i.size -= 1;
    });
}

#[test]
fn disconnected_directory_goes_to_lost_and_found() {
    let mut fs = fresh(8 << 20, 4096);
    let a = fs.mkdir(ROOT_INO, b"a", 0o755, 0, 0, T0).unwrap().ino;
    let b = fs.mkdir(a, b"b", 0o755, 0, 0, T0).unwrap().ino;
    fs.create(b, b"f", 0o644, 0, 0, T0).unwrap();
    let mut dev = fs.unmount(T0).unwrap();
    remove_root_entry(&mut dev, b"a");
    let (r, dev) = find_and_fix(dev, ProblemKind::Connectivity);
    assert!(
        r.repairs
            .iter()
            .any(|l| l.contains(&format!("connected inode {a} to lost+found"))),
        "{:#?}",
        r.repairs
    );
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    let st = fs
        .lookup(LOST_FOUND_INO, format!("#{a}").as_bytes())
        .unwrap();
    assert_eq!(st.ino, a);
    assert_eq!(fs.lookup(a, b"..").unwrap().ino, LOST_FOUND_INO);
    assert_eq!(fs.lookup(b, b"f").unwrap().nlink, 1);
    assert_eq!(fs.getattr(ROOT_INO).unwrap().nlink, 3);
    assert_eq!(fs.getattr(LOST_FOUND_INO).unwrap().nlink, 3);
}

#[test]
fn wrong_parent_and_block_count_are_fixed() {
    let mut u = heavily_used();
    edit_inode(&mut u.dev, u.sub, |i| i.parent = u.big_dir);
    edit_inode(&mut u.dev, u.big_dir, |i| i.blocks += 5);
    let (r, _) = find_and_fix(u.dev, ProblemKind::Connectivity);
    assert!(r.problems.iter().any(|p| p.kind == ProblemKind::InodeField));
}

#[test]
fn entry_naming_free_inode_is_removed() {
    let mut u = heavily_used();
    let at = inode_slot(&u.dev, u.sub);
    // Zero the subdirectory's slot but leave its entry and bitmap bit.
    u.dev.data[at..at + INODE_SIZE].fill(0);
    let (r, _) = find_and_fix(u.dev, ProblemKind::DirEntry);
    // Its file is unreachable now and is reconnected.
    assert!(
        r.repairs.iter().any(|l| l.contains("lost+found")),
        "{:#?}",
        r.repairs
    );
}

#[test]
fn lost_and_found_is_recreated_when_needed() {
    let mut u = heavily_used();
    let at = inode_slot(&u.dev, LOST_FOUND_INO);
    u.dev.data[at + 7] ^= 0xff;
    let at = inode_slot(&u.dev, u.sub);
    u.dev.data[at + 7] ^= 0xff;
    let (r, dev) = find_and_fix(u.dev, ProblemKind::Inode);
    assert!(
        r.repairs.iter().any(|l| l == "recreated lost+found"),
        "{:#?}",
        r.repairs
    );
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    assert_eq!(
        fs.lookup(ROOT_INO, b"lost+found").unwrap().ino,
        LOST_FOUND_INO
    );
}

#[test]
fn not_vexfs_is_an_operational_error() {
    let opts = CheckOptions::default();
    assert!(check(MemDevice::new(1 << 20), &opts, &mut |_, _, _| true).is_err());
    let fs = fresh(8 << 20, 4096);
    let mut dev = fs.unmount(T0).unwrap();
    dev.data.truncate(4 << 20);
    assert!(check(dev, &opts, &mut |_, _, _| true).is_err());
}

#[test]
fn cancel_stops_early() {
    let u = heavily_used();
    let opts = CheckOptions {
        mode: RepairMode::Yes,
        force: true,
        now: T0,
    };
    let (r, _) = check(u.dev, &opts, &mut |_, _, _| false).unwrap();
    assert!(r.cancelled);
}

/// Blocks worth damaging: inode table blocks holding inodes, and every
/// block with a verified metadata header (bitmaps, tree nodes, xattr
/// blobs).
fn metadata_blocks(img: &MemDevice) -> Vec<usize> {
    use vexfs_core::format::header::{verify, XATTR_MAGIC};
    let sb = sb_of(img);
    let bs = sb.block_size as usize;
    let mut out: Vec<usize> = (sb.inode_table_start..sb.inode_table_start + 4)
        .map(|b| b as usize)
        .collect();
    for b in 1..sb.block_count as usize {
        let blk = &img.data[b * bs..(b + 1) * bs];
        if [BITMAP_MAGIC, NODE_MAGIC]
            .iter()
            .any(|&m| verify(blk, m, b as u64, "").is_ok())
            || blk[..4] == XATTR_MAGIC.to_le_bytes()
        {
            out.push(b);
        }
    }
    out
}

/// Apply random damage: raw flips, field changes under a valid inode
/// checksum, and body changes in resealed metadata blocks.
fn damage(dev: &mut MemDevice, meta: &[usize], rnd: &mut dyn FnMut() -> u64) {
    let sb = sb_of(dev);
    let bs = sb.block_size as usize;
    let flips = 1 + rnd() % 4;
    for _ in 0..flips {
        match rnd() % 3 {
            0 => {
                let b = meta[(rnd() as usize) % meta.len()];
                let off = (rnd() as usize) % bs;
                dev.data[b * bs + off] ^= (rnd() as u8) | 1;
            }
            1 => {
                let ino = [1, 2, 16 + rnd() % 64][(rnd() % 3) as usize];
                let Some((blk, off)) = sb.inode_location(ino) else {
                    continue;
                };
                let at = blk as usize * bs + off;
                let Ok(mut i) = Inode::decode(&dev.data[at..at + INODE_SIZE], ino) else {
                    continue;
                };
                match rnd() % 9 {
                    0 => i.nlink = (rnd() % 5) as u32,
                    1 => i.parent = rnd() % 60,
                    2 => i.size = rnd() % 100,
                    3 => i.blocks = rnd() % 10,
                    4 => i.flags ^= vexfs_core::format::inode::FLAG_ORPHAN,
                    5 => i.orphan_next = rnd() % 60,
                    6 => {
                        let k = (rnd() as usize) % i.data.len();
                        i.data[k] ^= (rnd() as u8) | 1;
                    }
                    7 => i.xattr_len = (rnd() % 3000) as u32,
                    _ => {
                        i.mode = (i.mode & 0o7777)
                            | [0o100000u16, 0o040000, 0o120000, 0o010000][(rnd() % 4) as usize]
                    }
                }
                i.encode(&mut dev.data[at..at + INODE_SIZE], ino).unwrap();
            }
            _ => {
                let b = meta[(rnd() as usize) % meta.len()];
                let blk = &mut dev.data[b * bs..(b + 1) * bs];
                let magic = u32::from_le_bytes(blk[0..4].try_into().unwrap());
                let owner = u64::from_le_bytes(blk[16..24].try_into().unwrap());
                if [NODE_MAGIC, BITMAP_MAGIC].contains(&magic) {
                    let off = HEADER_SIZE + (rnd() as usize) % 256;
                    blk[off] ^= (rnd() as u8) | 1;
                    seal(blk, magic, b as u64, owner).unwrap();
                }
            }
        }
    }
}

fn stress(img: &MemDevice, cases: u64, seed: u64) {
    let meta = metadata_blocks(img);
    let mut x = seed.max(1);
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut unclean, mut unmountable, mut errs) = (0, 0, 0);
    let yes = CheckOptions {
        mode: RepairMode::Yes,
        force: true,
        now: T0,
    };
    let no = CheckOptions {
        mode: RepairMode::No,
        force: true,
        now: T0,
    };
    for case in 0..cases {
        let mut dev = img.clone();
        damage(&mut dev, &meta, &mut rnd);
        match check(dev, &yes, &mut |_, _, _| true) {
            Err(_) => errs += 1,
            Ok((r, dev)) => {
                let (r2, dev) = check(dev, &no, &mut |_, _, _| true).unwrap();
                if !r2.problems.is_empty() {
                    unclean += 1;
                    if unclean <= 3 {
                        let texts = |r: &CheckReport| {
                            r.problems
                                .iter()
                                .map(|p| p.text.clone())
                                .collect::<Vec<_>>()
                        };
                        eprintln!(
                            "case {case}: found {:?}\n  repairs {:?}\n  left {:?}",
                            texts(&r),
                            r.repairs,
                            texts(&r2)
                        );
                        eprintln!(
                            "  failures {:?}",
                            r.problems
                                .iter()
                                .filter(|p| p.text.starts_with("could not"))
                                .map(|p| &p.text)
                                .collect::<Vec<_>>()
                        );
                    }
                } else {
                    match exercise(dev) {
                        Ok(dev) => {
                            let (r3, _) = check(dev, &no, &mut |_, _, _| true).unwrap();
                            if !r3.problems.is_empty() {
                                eprintln!(
                                    "case {case}: unclean after use: {:?}",
                                    r3.problems.iter().map(|p| &p.text).collect::<Vec<_>>()
                                );
                                unmountable += 1;
                            }
                        }
                        Err(e) => {
                            eprintln!(
                                "case {case}: repaired image unusable: {e}; repairs {:?}",
                                r.repairs
                            );
                            unmountable += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(
        (errs, unclean, unmountable),
        (0, 0, 0),
        "of {cases} cases: operational errors, unclean after repair, unusable after repair"
    );
}

/// Use a repaired filesystem: add a file with data and an attribute,
/// then delete everything, as a user cleaning up would. A repair that
/// leaves something the checker accepts but the filesystem cannot handle
/// shows up here.
fn exercise(dev: MemDevice) -> Result<MemDevice, String> {
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).map_err(|e| format!("mount: {e}"))?;
    let f = fs
        .create(ROOT_INO, b"after-repair", 0o644, 0, 0, T0)
        .map_err(|e| format!("create: {e}"))?
        .ino;
    fs.write(f, 0, &[5u8; 10_000], T0)
        .map_err(|e| format!("write: {e}"))?;
    fs.setxattr(f, b"user.k", b"v", XattrFlags::default(), T0)
        .map_err(|e| format!("setxattr: {e}"))?;
    fn empty(fs: &mut Fs<MemDevice>, dir: u64, depth: u32) -> Result<(), String> {
        if depth > 64 {
            return Err(String::from("directory nesting too deep"));
        }
        let entries = fs
            .readdir(dir, 0, usize::MAX)
            .map_err(|e| format!("readdir {dir}: {e}"))?;
        for e in entries.into_iter().skip(2) {
            if e.ino == LOST_FOUND_INO {
                empty(fs, e.ino, depth + 1)?;
                continue;
            }
            if e.file_type == vexfs_core::FileType::Directory {
                empty(fs, e.ino, depth + 1)?;
                fs.rmdir(dir, &e.name, T0)
                    .map_err(|err| format!("rmdir {}: {err}", String::from_utf8_lossy(&e.name)))?;
            } else {
                if e.file_type == vexfs_core::FileType::Regular {
                    fs.read(e.ino, 0, 1 << 20)
                        .map_err(|err| format!("read {}: {err}", e.ino))?;
                }
                fs.unlink(dir, &e.name, T0)
                    .map_err(|err| format!("unlink {}: {err}", String::from_utf8_lossy(&e.name)))?;
            }
        }
        Ok(())
    }
    empty(&mut fs, ROOT_INO, 0)?;
    fs.unmount(T0).map_err(|e| format!("unmount: {e}"))
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Every repair must leave an image that checks clean and mounts.
/// `VEXFS_CHECK_CASES` / `VEXFS_CHECK_SEED` widen the search locally.
#[test]
fn any_damage_is_repaired_to_a_clean_mountable_image() {
    let seed = env_u64("VEXFS_CHECK_SEED", 7);
    stress(
        random::small_image(),
        env_u64("VEXFS_CHECK_CASES", 300),
        seed,
    );
    stress(
        &heavily_used().dev,
        env_u64("VEXFS_CHECK_CASES", 300) / 6,
        seed,
    );
}

/// Multi-level directory and extent trees under the same damage. Slow in
/// debug builds: run with `cargo test --release -- --ignored`.
#[test]
#[ignore]
fn deep_trees_survive_damage() {
    let mut fs = fresh(64 << 20, 1024);
    let d = fs.mkdir(ROOT_INO, b"many", 0o755, 0, 0, T0).unwrap().ino;
    for i in 0..3000 {
        fs.create(
            d,
            format!("a-rather-long-file-name-{i:06}").as_bytes(),
            0o644,
            0,
            0,
            T0,
        )
        .unwrap();
    }
    // Two files written alternately: many small extents each.
    let a = fs.create(ROOT_INO, b"frag-a", 0o644, 0, 0, T0).unwrap().ino;
    let b = fs.create(ROOT_INO, b"frag-b", 0o644, 0, 0, T0).unwrap().ino;
    for i in 0..600u64 {
        fs.write(a, i * 2048, &[1u8; 1024], T0).unwrap();
        fs.write(b, i * 2048, &[2u8; 1024], T0).unwrap();
    }
    fs.setxattr(a, b"user.emb", &[9u8; 16384], XattrFlags::default(), T0)
        .unwrap();
    let img = fs.unmount(T0).unwrap();
    assert_clean(img.clone());
    stress(
        &img,
        env_u64("VEXFS_CHECK_CASES", 200),
        env_u64("VEXFS_CHECK_SEED", 7),
    );
}

mod random {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    pub(super) fn small_image() -> &'static MemDevice {
        static IMG: OnceLock<MemDevice> = OnceLock::new();
        IMG.get_or_init(|| {
            let mut fs = fresh(256 << 10, 1024);
            let d = fs.mkdir(ROOT_INO, b"d", 0o755, 0, 0, T0).unwrap().ino;
            for i in 0..40 {
                let f = fs
                    .create(d, format!("f{i}").as_bytes(), 0o644, 0, 0, T0)
                    .unwrap()
                    .ino;
                fs.write(f, 0, &[i as u8; 1500], T0).unwrap();
            }
            fs.setxattr(d, b"user.x", &[1u8; 2000], XattrFlags::default(), T0)
                .unwrap();
            fs.symlink(ROOT_INO, b"l", &[b'y'; 200], 0, 0, T0).unwrap();
            fs.link(d + 1, ROOT_INO, b"hl", T0).unwrap();
            fs.unmount(T0).unwrap()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn random_metadata_damage_never_panics(flips in proptest::collection::vec((0usize..64, 0usize..1024, 1u8..=255), 1..12)) {
            let mut dev = small_image().clone();
            let sb = sb_of(&dev);
            let bs = sb.block_size as usize;
            // Metadata lives in the first blocks: superblock excluded, so
            // the check gets past decoding and into the structures.
            let span = (sb.data_start as usize + 40).min(sb.block_count as usize) - 1;
            for (blk, off, x) in flips {
                let b = 1 + blk % span;
                dev.data[b * bs + off % bs] ^= x;
            }
            let (_, dev) = run(dev, RepairMode::No);
            let opts = CheckOptions { mode: RepairMode::Yes, force: true, now: T0 };
            if let Ok((_, dev)) = check(dev, &opts, &mut |_, _, _| true) {
                let _ = check(dev, &opts, &mut |_, _, _| true);
            }
        }
    }
}

#[test]
fn damaged_root_is_recreated_and_its_children_reconnected() {
    let mut u = heavily_used();
    let at = inode_slot(&u.dev, ROOT_INO);
    u.dev.data[at + 9] ^= 0x01;
    let (r, dev) = find_and_fix(u.dev, ProblemKind::Inode);
    assert!(
        r.repairs
            .iter()
            .any(|l| l == "recreated the root directory"),
        "{:#?}",
        r.repairs
    );
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    assert_eq!(
        fs.lookup(ROOT_INO, b"lost+found").unwrap().ino,
        LOST_FOUND_INO
    );
    let st = fs
        .lookup(LOST_FOUND_INO, format!("#{}", u.big_dir).as_bytes())
        .unwrap();
    assert_eq!(st.nlink, 2);
    // Both of its names were in the root: it comes back once.
    assert_eq!(
        fs.lookup(LOST_FOUND_INO, format!("#{}", u.file).as_bytes())
            .unwrap()
            .nlink,
        1
    );
}
