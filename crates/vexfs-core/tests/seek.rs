//! SEEK_DATA / SEEK_HOLE from the extent map, and fallocate reserving
//! unwritten extents that read as zeros until written.

mod common;
use common::*;
use vexfs_core::format::ROOT_INO;
use vexfs_core::{FallocMode, SeekTarget};

const BS: u64 = 4096;

fn data(fs: &mut vexfs_core::Fs<vexfs_core::MemDevice>, ino: u64, off: u64) -> Option<u64> {
    fs.seek_data_hole(ino, off, SeekTarget::Data).unwrap()
}
fn hole(fs: &mut vexfs_core::Fs<vexfs_core::MemDevice>, ino: u64, off: u64) -> Option<u64> {
    fs.seek_data_hole(ino, off, SeekTarget::Hole).unwrap()
}

#[test]
fn data_and_holes_follow_the_extent_map() {
    let mut fs = fresh(16 << 20, 4096);
    let f = fs.create(ROOT_INO, b"sparse", 0o644, 0, 0, T0).unwrap().ino;
    // Empty file: nothing to find.
    assert_eq!(data(&mut fs, f, 0), None);
    assert_eq!(hole(&mut fs, f, 0), None);
    // [0, 4K) data, [4K, 1M) hole, [1M, 1M+10) data, EOF at 1M+10.
    fs.write(f, 0, &[1u8; 4096], T0).unwrap();
    fs.write(f, 1 << 20, &[2u8; 10], T0).unwrap();
    let size = (1 << 20) + 10;
    assert_eq!(data(&mut fs, f, 0), Some(0));
    assert_eq!(data(&mut fs, f, 100), Some(100));
    assert_eq!(hole(&mut fs, f, 0), Some(BS));
    assert_eq!(data(&mut fs, f, BS), Some(1 << 20));
    assert_eq!(hole(&mut fs, f, BS + 7), Some(BS + 7));
    assert_eq!(
        hole(&mut fs, f, 1 << 20),
        Some(size),
        "end of file is a hole"
    );
    assert_eq!(data(&mut fs, f, size), None);
    assert_eq!(hole(&mut fs, f, size), None);
    // Survives a remount (read from the image, not a cache).
    let mut fs = remount(fs);
    assert_eq!(data(&mut fs, f, BS), Some(1 << 20));
    // A file ending in a hole: no data after the last extent.
    fs.setattr(
        f,
        &vexfs_core::SetAttr {
            size: Some(3 << 20),
            ..Default::default()
        },
        T0,
    )
    .unwrap();
    assert_eq!(data(&mut fs, f, (1 << 20) + BS), None);
    assert_eq!(hole(&mut fs, f, (1 << 20) + 5), Some((1 << 20) + BS));
}

#[test]
fn fallocate_reserves_unwritten_extents() {
    let mut fs = fresh(16 << 20, 4096);
    let f = fs
        .create(ROOT_INO, b"prealloc", 0o644, 0, 0, T0)
        .unwrap()
        .ino;
    let free0 = fs.statfs().blocks_free;
    fs.fallocate(f, 0, 64 * BS, FallocMode::Allocate { keep_size: false }, T0)
        .unwrap();
    let st = fs.getattr(f).unwrap();
    assert_eq!(st.size, 64 * BS);
    assert_eq!(st.blocks_512, 64 * BS / 512, "blocks are reserved");
    assert_eq!(free0 - fs.statfs().blocks_free, 64);
    // Reserved but unwritten: all hole, reads zeros.
    assert_eq!(data(&mut fs, f, 0), None);
    assert_eq!(hole(&mut fs, f, 0), Some(0));
    assert!(fs
        .read(f, 0, (64 * BS) as usize)
        .unwrap()
        .iter()
        .all(|&b| b == 0));
    // A small write in the middle of a block converts that block only; the
    // rest of it reads as zeros, not stale device contents.
    fs.write(f, 10 * BS + 100, b"hello", T0).unwrap();
    assert_eq!(data(&mut fs, f, 0), Some(10 * BS));
    assert_eq!(hole(&mut fs, f, 10 * BS), Some(11 * BS));
    let blk = fs.read(f, 10 * BS, BS as usize).unwrap();
    assert_eq!(&blk[100..105], b"hello");
    assert!(blk[..100].iter().chain(&blk[105..]).all(|&b| b == 0));
    assert_eq!(
        fs.getattr(f).unwrap().blocks_512,
        64 * BS / 512,
        "no new blocks for the write"
    );
    // KEEP_SIZE beyond the end: size stays, blocks are reserved.
    fs.fallocate(
        f,
        64 * BS,
        16 * BS,
        FallocMode::Allocate { keep_size: true },
        T0,
    )
    .unwrap();
    assert_eq!(fs.getattr(f).unwrap().size, 64 * BS);
    assert_eq!(free0 - fs.statfs().blocks_free, 80);
    // Extending into the reserved tail reads zeros.
    fs.write(f, 70 * BS, b"x", T0).unwrap();
    assert!(fs
        .read(f, 64 * BS, (6 * BS) as usize)
        .unwrap()
        .iter()
        .all(|&b| b == 0));
    assert_eq!(data(&mut fs, f, 11 * BS), Some(70 * BS));
    // Punching a hole frees the blocks; the rest keeps its state.
    // (The extent map may have grown a node block by now.)
    let before = fs.statfs().blocks_free;
    fs.fallocate(f, 0, 8 * BS, FallocMode::PunchHole, T0)
        .unwrap();
    assert!((7..=8).contains(&(fs.statfs().blocks_free - before)));
    let mut fs = remount(fs);
    assert_eq!(&fs.read(f, 10 * BS + 100, 5).unwrap(), b"hello");
    assert_eq!(data(&mut fs, f, 0), Some(10 * BS));
    let (report, _) = vexfs_core::check::check(
        fs.unmount(T0).unwrap(),
        &vexfs_core::check::CheckOptions {
            force: true,
            ..Default::default()
        },
        &mut |_, _, _| true,
    )
    .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
