//! Small attribute blobs packed several to a block: space, reuse of freed
//! units, moves between packed and whole-block blobs, and crafted damage
//! to a pack block (EUCLEAN from the calls, fsck finds and repairs it).

mod common;
use common::*;
use vexfs_core::check::{check, CheckOptions, CheckReport, ProblemKind, RepairMode};
use vexfs_core::format::header::{self, XATTR_MAGIC};
use vexfs_core::format::inode::{Inode, FLAG_XATTR_PACKED, INODE_SIZE};
use vexfs_core::format::superblock::Superblock;
use vexfs_core::format::xattr_pack::{self, PACK_MAGIC};
use vexfs_core::format::ROOT_INO;
use vexfs_core::{Fs, FsError, MemDevice, MountOptions, XattrFlags};

const BS: usize = 4096;
/// An embedding of 128 floats.
const EMBEDDING: usize = 512;

fn embedding(i: u32) -> Vec<u8> {
    (0..EMBEDDING / 4)
        .flat_map(|j| ((i as usize * 131 + j) as f32 * 0.01).to_le_bytes())
        .collect()
}

fn set(fs: &mut Fs<MemDevice>, ino: u64, v: &[u8]) {
    fs.setxattr(ino, b"user.vexfs.embedding", v, XattrFlags::default(), T0)
        .unwrap();
}

fn files(fs: &mut Fs<MemDevice>, dir: u64, range: std::ops::Range<u32>) -> Vec<u64> {
    range
        .map(|i| {
            let ino = fs
                .create(dir, format!("f{i:05}").as_bytes(), 0o644, 0, 0, T0)
                .unwrap()
                .ino;
            set(fs, ino, &embedding(i));
            ino
        })
        .collect()
}

fn inode_of(dev: &MemDevice, ino: u64) -> Inode {
    let sb = Superblock::decode(&dev.data[..512]).unwrap();
    let (blk, off) = sb.inode_location(ino).unwrap();
    let at = blk as usize * BS + off;
    Inode::decode(&dev.data[at..at + INODE_SIZE], ino).unwrap()
}

fn block(dev: &mut MemDevice, nr: u64) -> &mut [u8] {
    &mut dev.data[nr as usize * BS..(nr as usize + 1) * BS]
}

fn check_dev(dev: MemDevice, mode: RepairMode) -> (CheckReport, MemDevice) {
    let opts = CheckOptions {
        mode,
        force: true,
        now: T0,
    };
    check(dev, &opts, &mut |_, _, _| true).expect("check")
}

#[test]
fn small_blobs_share_blocks_and_freed_units_are_reused() {
    let mut fs = fresh(64 << 20, BS as u32);
    let dir = fs.mkdir(ROOT_INO, b"d", 0o755, 0, 0, T0).unwrap().ino;
    let empty = fs.statfs().blocks_free;
    let inos = files(&mut fs, dir, 0..700);
    let loaded = fs.statfs().blocks_free;
    // 7 blobs of 559 bytes (9 units) per pack block: about 100 blocks,
    // plus the directory's nodes; one block each would be 700.
    assert!(
        empty - loaded < 160,
        "{} blocks for 700 blobs",
        empty - loaded
    );
    assert_eq!(
        fs.getattr(inos[0]).unwrap().blocks_512,
        0,
        "shared, not charged"
    );
    let mut fs = remount(fs);
    for (i, &ino) in inos.iter().enumerate() {
        assert_eq!(
            fs.getxattr(ino, b"user.vexfs.embedding").unwrap(),
            embedding(i as u32)
        );
    }
    // Free every other blob, then load as many again in the same mount:
    // the freed units take them, no new blocks.
    for i in (0..700u32).step_by(2) {
        fs.unlink(dir, format!("f{i:05}").as_bytes(), T0).unwrap();
    }
    let halved = fs.statfs().blocks_free;
    files(&mut fs, dir, 1000..1350);
    assert!(
        fs.statfs().blocks_free + 8 >= halved,
        "new blobs went into freed units: {} -> {}",
        halved,
        fs.statfs().blocks_free
    );
    let dev = fsck_clean(fs.unmount(T0).unwrap(), "after reuse");
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    let names: Vec<String> = (1..700u32)
        .step_by(2)
        .chain(1000..1350)
        .map(|i| format!("f{i:05}"))
        .collect();
    for n in &names {
        fs.unlink(dir, n.as_bytes(), T0).unwrap();
    }
    fs.sync().unwrap();
    assert_eq!(fs.statfs().blocks_free, empty, "every pack block freed");
    fsck_clean(fs.unmount(T0).unwrap(), "after deleting all");
}

#[test]
fn blobs_move_between_pack_units_and_whole_blocks() {
    let mut fs = fresh(16 << 20, BS as u32);
    let ino = fs.create(ROOT_INO, b"f", 0o644, 0, 0, T0).unwrap().ino;
    let free = fs.statfs().blocks_free;
    set(&mut fs, ino, &embedding(1));
    assert_eq!(fs.getattr(ino).unwrap().blocks_512, 0);
    // Too large to pack: a block of its own.
    set(
        &mut fs,
        ino,
        &(4..10).flat_map(embedding).collect::<Vec<u8>>()[..3000],
    );
    assert_eq!(fs.getattr(ino).unwrap().blocks_512, 8);
    assert_eq!(fs.statfs().blocks_free, free - 1, "the pack block went");
    // A smaller value in the same units is rewritten in place; a larger
    // one (still packed) moves.
    set(&mut fs, ino, &embedding(2));
    set(&mut fs, ino, &embedding(3)[..500]);
    fs.setxattr(ino, b"user.note", &[1u8; 900], XattrFlags::default(), T0)
        .unwrap();
    assert_eq!(fs.getattr(ino).unwrap().blocks_512, 0);
    assert_eq!(
        fs.getxattr(ino, b"user.vexfs.embedding").unwrap(),
        embedding(3)[..500].to_vec()
    );
    // Many attributes: an attribute tree, whose blob is never packed.
    for i in 0..300 {
        let (n, v) = tree_attr(i);
        fs.setxattr(ino, &n, &v, XattrFlags::default(), T0).unwrap();
    }
    assert!(fs.xattr_uses_tree(ino).unwrap());
    let mut fs = remount(fs);
    assert_eq!(fs.getxattr(ino, b"user.note").unwrap(), vec![1u8; 900]);
    for i in 0..300 {
        let (n, _) = tree_attr(i);
        fs.removexattr(ino, &n, T0).unwrap();
    }
    assert!(!fs.xattr_uses_tree(ino).unwrap());
    fs.removexattr(ino, b"user.note", T0).unwrap();
    fs.removexattr(ino, b"user.vexfs.embedding", T0).unwrap();
    fs.sync().unwrap();
    assert_eq!(fs.statfs().blocks_free, free);
    fsck_clean(fs.unmount(T0).unwrap(), "after the moves");
}

/// Three files packed in one block; the test damages the second.
fn three_packed() -> (MemDevice, [u64; 3]) {
    let mut fs = fresh(16 << 20, BS as u32);
    let inos = files(&mut fs, ROOT_INO, 0..3);
    let dev = fs.unmount(T0).unwrap();
    let i: Vec<Inode> = inos.iter().map(|&n| inode_of(&dev, n)).collect();
    assert!(i.iter().all(|i| i.flags & FLAG_XATTR_PACKED != 0));
    assert!(i.iter().all(|x| x.xattr_block == i[0].xattr_block));
    (dev, [inos[0], inos[1], inos[2]])
}

fn edit_pack(dev: &mut MemDevice, nr: u64, f: impl FnOnce(&mut [u8])) {
    let b = block(dev, nr);
    header::verify(b, PACK_MAGIC, nr, "pack").unwrap();
    f(b);
    header::seal(b, PACK_MAGIC, nr, 0).unwrap();
}

/// The damaged file's attributes read as EUCLEAN, its neighbours' as
/// before; fsck -n reports it, -y drops it (rebuilding it when the blob
/// itself still verifies: `salvaged`) and the image checks clean.
fn only_the_damaged_one_is_lost(dev: MemDevice, inos: [u64; 3], salvaged: bool) {
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    assert!(matches!(
        fs.getxattr(inos[1], b"user.vexfs.embedding"),
        Err(FsError::Corrupt(_))
    ));
    assert_eq!(
        fs.getxattr(inos[0], b"user.vexfs.embedding").unwrap(),
        embedding(0)
    );
    let (r, dev) = check_dev(fs.unmount(T0).unwrap(), RepairMode::No);
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == ProblemKind::Xattr && p.ino == inos[1]),
        "{:#?}",
        r.problems
    );
    let (_, dev) = check_dev(dev, RepairMode::Yes);
    let (r, dev) = check_dev(dev, RepairMode::No);
    assert!(r.problems.is_empty(), "after repair: {:#?}", r.problems);
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    let want = if salvaged {
        Ok(embedding(1))
    } else {
        Err(FsError::NoData)
    };
    assert_eq!(fs.getxattr(inos[1], b"user.vexfs.embedding"), want);
    assert_eq!(
        fs.getxattr(inos[2], b"user.vexfs.embedding").unwrap(),
        embedding(2)
    );
    set(&mut fs, inos[1], &embedding(9));
    fsck_clean(fs.unmount(T0).unwrap(), "after setting it again");
}

#[test]
fn a_blob_in_units_marked_free_is_corruption() {
    let (mut dev, inos) = three_packed();
    let i = inode_of(&dev, inos[1]);
    let (first, n) = xattr_pack::blob_units(i.xattr_offset, i.xattr_len, BS).unwrap();
    edit_pack(&mut dev, i.xattr_block, |b| {
        let m = xattr_pack::map(b).unwrap();
        xattr_pack::set_map(b, m & !xattr_pack::run_bits(first, n)).unwrap();
    });
    // The blob's own checksum and owner still hold: it is rebuilt.
    only_the_damaged_one_is_lost(dev, inos, true);
}

#[test]
fn a_blob_naming_another_owner_is_corruption() {
    let (mut dev, inos) = three_packed();
    let i = inode_of(&dev, inos[1]);
    let off = i.xattr_offset as usize;
    let len = i.xattr_len as usize;
    edit_pack(&mut dev, i.xattr_block, |b| {
        let blob = &mut b[off..off + len];
        let addr = xattr_pack::blob_address(i.xattr_block, i.xattr_offset, BS);
        header::seal(blob, XATTR_MAGIC, addr, inos[0]).unwrap();
    });
    only_the_damaged_one_is_lost(dev, inos, false);
}

#[test]
fn units_owned_by_nobody_are_freed_by_fsck() {
    let (mut dev, inos) = three_packed();
    let nr = inode_of(&dev, inos[0]).xattr_block;
    edit_pack(&mut dev, nr, |b| {
        let m = xattr_pack::map(b).unwrap();
        xattr_pack::set_map(b, m | 1 << 63).unwrap();
    });
    let (r, dev) = check_dev(dev, RepairMode::No);
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == ProblemKind::Xattr && p.block == nr),
        "{:#?}",
        r.problems
    );
    let (_, dev) = check_dev(dev, RepairMode::Yes);
    let (r, _) = check_dev(dev, RepairMode::No);
    assert!(r.problems.is_empty(), "after repair: {:#?}", r.problems);
}

#[test]
fn a_pack_block_with_a_bad_checksum_loses_only_its_blobs() {
    let (mut dev, inos) = three_packed();
    let nr = inode_of(&dev, inos[0]).xattr_block;
    block(&mut dev, nr)[BS - 1] ^= 0x40;
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    for &ino in &inos {
        assert!(matches!(
            fs.getxattr(ino, b"user.vexfs.embedding"),
            Err(FsError::Corrupt(_))
        ));
    }
    // Deleting a file whose pack is damaged still works.
    fs.unlink(ROOT_INO, b"f00000", T0).unwrap();
    let (_, dev) = check_dev(fs.unmount(T0).unwrap(), RepairMode::Yes);
    let (r, _) = check_dev(dev, RepairMode::No);
    assert!(r.problems.is_empty(), "after repair: {:#?}", r.problems);
}
