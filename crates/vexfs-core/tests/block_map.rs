//! The public block-mapping calls a page cache uses: holes, unwritten
//! extents, allocation and merging, limits, and damaged extent trees.

mod common;
use common::*;
use vexfs_core::format::inode::{Inode, INODE_SIZE};
use vexfs_core::format::node;
use vexfs_core::format::superblock::Superblock;
use vexfs_core::format::ROOT_INO;
use vexfs_core::{
    BlockDevice, BlockMap, FallocMode, Fs, FsError, MemDevice, MountOptions, WriteMapping,
    MAX_FILE_SIZE, MAX_MAP_BLOCKS,
};

const BS: usize = 1024;

fn file(fs: &mut Fs<MemDevice>, name: &[u8]) -> u64 {
    fs.create(ROOT_INO, name, 0o644, 0, 0, T0).unwrap().ino
}

/// Write `data` at physical block `pblk` the way a page cache would:
/// straight to the device, not through the core.
fn write_phys(fs: &mut Fs<MemDevice>, pblk: u64, data: &[u8]) {
    fs.device().write_at(pblk * BS as u64, data).unwrap();
}

#[test]
fn holes_and_written_runs() {
    let mut fs = fresh(8 << 20, BS as u32);
    let f = file(&mut fs, b"f");
    fs.write(f, 0, &[1; BS], T0).unwrap();
    fs.write(f, 10 * BS as u64, &[2; BS], T0).unwrap();
    let BlockMap::Mapped {
        physical,
        len: 1,
        unwritten: false,
    } = fs.map_blocks(f, 0, 100).unwrap()
    else {
        panic!("block 0 is written");
    };
    assert_eq!(fs.map_blocks(f, 1, 100).unwrap(), BlockMap::Hole { len: 9 });
    assert_eq!(fs.map_blocks(f, 3, 2).unwrap(), BlockMap::Hole { len: 2 });
    // Past the last extent (and past the end of the file): a hole capped
    // at the request.
    assert_eq!(fs.map_blocks(f, 11, 5).unwrap(), BlockMap::Hole { len: 5 });
    // The mapping is where the core put the data.
    let mut b = vec![0u8; BS];
    fs.device().read_at(physical * BS as u64, &mut b).unwrap();
    assert_eq!(b, vec![1u8; BS]);
    // Mapping for writing a written block allocates nothing.
    let before = fs.getattr(f).unwrap().blocks_512;
    let w = fs.map_blocks_for_write(f, 0, 4).unwrap();
    assert_eq!(
        w,
        WriteMapping {
            physical,
            len: 1,
            fresh: false
        }
    );
    assert_eq!(fs.getattr(f).unwrap().blocks_512, before);
}

#[test]
fn unwritten_extents_are_converted_only_where_written() {
    let mut fs = fresh(8 << 20, BS as u32);
    let f = file(&mut fs, b"f");
    let len = 8 * BS as u64;
    fs.fallocate(f, 0, len, FallocMode::Allocate { keep_size: false }, T0)
        .unwrap();
    let BlockMap::Mapped {
        physical: base,
        len: 8,
        unwritten: true,
    } = fs.map_blocks(f, 0, 100).unwrap()
    else {
        panic!("fallocate maps 8 unwritten blocks");
    };
    let w = fs.map_blocks_for_write(f, 2, 3).unwrap();
    assert_eq!(
        w,
        WriteMapping {
            physical: base + 2,
            len: 3,
            fresh: true
        }
    );
    assert_eq!(
        fs.map_blocks(f, 0, 100).unwrap(),
        BlockMap::Mapped {
            physical: base,
            len: 2,
            unwritten: true
        }
    );
    assert_eq!(
        fs.map_blocks(f, 2, 100).unwrap(),
        BlockMap::Mapped {
            physical: base + 2,
            len: 3,
            unwritten: false
        }
    );
    assert_eq!(
        fs.map_blocks(f, 5, 100).unwrap(),
        BlockMap::Mapped {
            physical: base + 5,
            len: 3,
            unwritten: true
        }
    );
    // Data the caller writes to the converted blocks is the file's data;
    // the still-unwritten blocks read as zeros whatever the device holds.
    write_phys(&mut fs, base + 2, &[7; 3 * BS]);
    write_phys(&mut fs, base + 5, &[9; BS]);
    let data = fs.read(f, 0, 8 * BS).unwrap();
    assert!(data[..2 * BS].iter().all(|&b| b == 0));
    assert!(data[2 * BS..5 * BS].iter().all(|&b| b == 7));
    assert!(data[5 * BS..].iter().all(|&b| b == 0));
    // Converting the rest leaves every block written, where it was (the
    // core merges a run with the one before it, not the one after).
    assert!(fs.map_blocks_for_write(f, 0, 2).unwrap().fresh);
    assert!(fs.map_blocks_for_write(f, 5, 10).unwrap().fresh);
    let mut lblk = 0;
    while lblk < 8 {
        let BlockMap::Mapped {
            physical,
            len,
            unwritten: false,
        } = fs.map_blocks(f, lblk, 100).unwrap()
        else {
            panic!("block {lblk} is written");
        };
        assert_eq!(physical, base + lblk);
        lblk += len;
    }
    assert_eq!(lblk, 8);
    fsck_clean(remount(fs).unmount(T0).unwrap(), "converted extents");
}

#[test]
fn allocation_merges_contiguous_runs_and_keeps_the_size() {
    let mut fs = fresh(8 << 20, BS as u32);
    let f = file(&mut fs, b"f");
    let a = fs.map_blocks_for_write(f, 0, 4).unwrap();
    assert!(a.fresh && a.len == 4, "{a:?}");
    let b = fs.map_blocks_for_write(f, 4, 4).unwrap();
    assert!(b.fresh && b.len == 4, "{b:?}");
    assert_eq!(
        b.physical,
        a.physical + 4,
        "allocated after the block before"
    );
    assert_eq!(
        fs.map_blocks(f, 0, 100).unwrap(),
        BlockMap::Mapped {
            physical: a.physical,
            len: 8,
            unwritten: false
        },
        "one merged extent"
    );
    let st = fs.getattr(f).unwrap();
    assert_eq!(st.size, 0, "mapping does not change the size");
    assert_eq!(st.blocks_512, (8 * BS / 512) as u64);
    // The caller writes the data, then the size follows.
    write_phys(&mut fs, a.physical, &[5; 8 * BS]);
    let end = 8 * BS as u64 - 100;
    fs.extend_size(f, end, T0).unwrap();
    fs.extend_size(f, 10, T0).unwrap();
    assert_eq!(fs.getattr(f).unwrap().size, end, "never shrinks");
    let mut fs = remount(fs);
    assert_eq!(fs.read(f, 0, 8 * BS).unwrap(), vec![5u8; end as usize]);
    // A request is capped per call.
    let g = file(&mut fs, b"g");
    let big = fs.map_blocks_for_write(g, 0, u64::MAX).unwrap();
    assert!(big.len <= MAX_MAP_BLOCKS && big.len > 0);
    fsck_clean(fs.unmount(T0).unwrap(), "allocated runs");
}

#[test]
fn limits_and_wrong_inodes_are_errors() {
    let mut fs = fresh(8 << 20, BS as u32);
    let f = file(&mut fs, b"f");
    let limit = MAX_FILE_SIZE / BS as u64;
    assert!(matches!(
        fs.map_blocks(f, limit, 1),
        Err(FsError::FileTooBig)
    ));
    assert!(matches!(
        fs.map_blocks_for_write(f, limit, 1),
        Err(FsError::FileTooBig)
    ));
    assert_eq!(
        fs.map_blocks(f, limit - 1, 100).unwrap(),
        BlockMap::Hole { len: 1 }
    );
    assert!(matches!(fs.map_blocks(f, 0, 0), Err(FsError::Invalid)));
    assert!(matches!(
        fs.map_blocks_for_write(ROOT_INO, 0, 1),
        Err(FsError::IsDir)
    ));
    assert!(matches!(
        fs.extend_size(f, MAX_FILE_SIZE + 1, T0),
        Err(FsError::FileTooBig)
    ));
    assert_eq!(fs.getattr(f).unwrap().blocks_512, 0, "nothing allocated");
}

fn sb_of(dev: &MemDevice) -> Superblock {
    Superblock::decode(&dev.data[..512]).unwrap()
}

/// Edit an inode record and re-seal its checksum.
fn edit_inode(dev: &mut MemDevice, ino: u64, f: impl FnOnce(&mut Inode)) {
    let (blk, off) = sb_of(dev).inode_location(ino).unwrap();
    let at = blk as usize * BS + off;
    let mut i = Inode::decode(&dev.data[at..at + INODE_SIZE], ino).unwrap();
    f(&mut i);
    i.encode(&mut dev.data[at..at + INODE_SIZE], ino).unwrap();
}

fn slot(i: usize) -> usize {
    node::NODE_HEADER + i * node::SLOT_SIZE
}

/// A file whose three extents (blocks 0, 2, 4) live in the inode's root
/// node, and the image it is on.
fn three_extents() -> (MemDevice, u64) {
    let mut fs = fresh(8 << 20, BS as u32);
    let f = file(&mut fs, b"small");
    for b in [0u64, 2, 4] {
        fs.write(f, b * BS as u64, &[7u8; BS], T0).unwrap();
    }
    (fs.unmount(T0).unwrap(), f)
}

fn is_corrupt<T: std::fmt::Debug>(r: &Result<T, FsError>) -> bool {
    matches!(r, Err(e @ FsError::Corrupt(_)) if e.errno() == 117)
}

#[test]
fn damaged_extent_trees_are_corruption_errors() {
    // A key moved past the next extent's: lookups would wrap.
    let (mut dev, f) = three_extents();
    edit_inode(&mut dev, f, |i| {
        assert_eq!(node::header(&i.data).unwrap().nitems, 3);
        i.data[slot(0)..slot(0) + 8].copy_from_slice(&3u64.to_le_bytes());
    });
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    let r = (fs.map_blocks(f, 3, 1), fs.map_blocks_for_write(f, 3, 1));
    assert!(is_corrupt(&r.0) && is_corrupt(&r.1), "{r:?}");

    // An extent pointing into the inode table.
    let (mut dev, f) = three_extents();
    let table = sb_of(&dev).inode_table_start;
    edit_inode(&mut dev, f, |i| {
        let off = u32::from_le_bytes(i.data[slot(0) + 8..slot(0) + 12].try_into().unwrap());
        let off = off as usize;
        i.data[off..off + 8].copy_from_slice(&table.to_le_bytes());
    });
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    let r = (fs.map_blocks(f, 0, 1), fs.map_blocks_for_write(f, 0, 1));
    assert!(is_corrupt(&r.0) && is_corrupt(&r.1), "{r:?}");
    // The sound extents still map.
    assert!(matches!(
        fs.map_blocks(f, 2, 1),
        Ok(BlockMap::Mapped { len: 1, .. })
    ));
}

#[test]
fn a_read_only_mount_maps_but_refuses_write_mappings() {
    let mut fs = fresh(8 << 20, BS as u32);
    let f = file(&mut fs, b"f");
    fs.write(f, 0, &[3; BS], T0).unwrap();
    let dev = fs.unmount(T0).unwrap();
    let opts = MountOptions {
        read_only: true,
        ..Default::default()
    };
    let mut fs = Fs::mount(dev, opts, T0).unwrap();
    assert!(matches!(
        fs.map_blocks(f, 0, 1),
        Ok(BlockMap::Mapped { len: 1, .. })
    ));
    // Even a written block: nothing may be written through a read-only mount.
    assert!(matches!(
        fs.map_blocks_for_write(f, 0, 1),
        Err(FsError::ReadOnly)
    ));
    assert!(matches!(
        fs.map_blocks_for_write(f, 1, 1),
        Err(FsError::ReadOnly)
    ));
}
