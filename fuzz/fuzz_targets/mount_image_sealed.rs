//! Structure-aware image fuzzing: fuzzer-chosen bytes are patched into a
//! small image with deep trees, then every checksum is re-sealed (the
//! superblock, each bitmap block, each inode record, each tree node block),
//! so the mutations get past checksum verification and reach the decoders,
//! the tree code and fsck. The image is then mounted, walked, changed and
//! checked: errors are fine, panics and hangs are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vexfs_core::check::{check, CheckOptions};
use vexfs_core::format::checksum::{crc32c_skipping, crc32c_update};
use vexfs_core::format::header::{self, BITMAP_MAGIC, NODE_MAGIC, OWNER_OFFSET};
use vexfs_core::format::inode::{CRC_OFFSET as INODE_CRC_OFFSET, INODE_SIZE};
use vexfs_core::format::xattr_pack::PACK_MAGIC;
use vexfs_core::format::superblock::{Superblock, CRC_OFFSET as SB_CRC_OFFSET, SUPERBLOCK_SIZE};
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{FileType, Fs, MemDevice, MountOptions, Timestamp};

const T: Timestamp = Timestamp::new(1_700_000_000, 0);
const BS: usize = 1024;

/// A 2 MiB image: a directory with a three-level tree, a file with its
/// extents in block leaves, a long symlink, a subdirectory.
fn base() -> &'static (Vec<u8>, Superblock) {
    static IMG: OnceLock<(Vec<u8>, Superblock)> = OnceLock::new();
    IMG.get_or_init(|| {
        let opts = MkfsOptions { block_size: BS as u32, inode_count: Some(512), ..Default::default() };
        let dev = format(MemDevice::new(2 << 20), &opts, T, &mut |_, _| {}).unwrap();
        let mut fs = Fs::mount(dev, MountOptions::default(), T).unwrap();
        let d = fs.mkdir(1, b"dir", 0o755, 0, 0, T).unwrap().ino;
        for i in 0..300 {
            fs.create(d, format!("entry-{i:04}").as_bytes(), 0o644, 0, 0, T).unwrap();
        }
        let f = fs.create(1, b"file", 0o644, 0, 0, T).unwrap().ino;
        for b in (0..120u64).step_by(2) {
            fs.write(f, b * BS as u64, &[b as u8; BS], T).unwrap();
        }
        fs.symlink(1, b"link", &[b'x'; 300], 0, 0, T).unwrap();
        fs.mkdir(d, b"sub", 0o755, 0, 0, T).unwrap();
        // Small attribute blobs share pack blocks; one is large enough for
        // a block of its own.
        let x = fs.mkdir(1, b"attrs", 0o755, 0, 0, T).unwrap().ino;
        for i in 0..24u32 {
            let f = fs.create(x, format!("a{i:02}").as_bytes(), 0o644, 0, 0, T).unwrap().ino;
            let len = if i == 0 { 700 } else { 20 + i as usize * 7 };
            fs.setxattr(f, b"user.a", &vec![i as u8; len], Default::default(), T).unwrap();
        }
        let data = fs.unmount(T).unwrap().data;
        let sb = Superblock::decode(&data[..SUPERBLOCK_SIZE]).unwrap();
        (data, sb)
    })
}

/// Recompute every checksum the mutation may have broken. The geometry
/// comes from the unpatched superblock, so a patched one cannot steer this.
fn reseal(img: &mut [u8], sb: &Superblock) {
    let crc = crc32c_skipping(&img[..SUPERBLOCK_SIZE], SB_CRC_OFFSET);
    img[SB_CRC_OFFSET..SB_CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
    let blocks = img.len() / BS;
    for nr in 1..blocks as u64 {
        let blk = &mut img[nr as usize * BS..(nr as usize + 1) * BS];
        if nr >= sb.block_bitmap_start && nr < sb.inode_table_start {
            let _ = header::seal(blk, BITMAP_MAGIC, nr, 0);
        } else if nr >= sb.inode_table_start && nr < sb.inode_table_start + sb.inode_table_blocks {
            let first = (nr - sb.inode_table_start) * (BS / INODE_SIZE) as u64 + 1;
            for (j, raw) in blk.chunks_mut(INODE_SIZE).enumerate() {
                if raw.iter().all(|&b| b == 0) {
                    continue;
                }
                let ino = first + j as u64;
                let crc = crc32c_update(!0, &ino.to_le_bytes()) ^ crc32c_skipping(raw, INODE_CRC_OFFSET);
                raw[INODE_CRC_OFFSET..INODE_CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
            }
        } else if nr >= sb.data_start && blk[..4] == PACK_MAGIC.to_le_bytes() {
            let _ = header::seal(blk, PACK_MAGIC, nr, 0);
        } else if nr >= sb.data_start && blk[..4] == NODE_MAGIC.to_le_bytes() {
            let owner = u64::from_le_bytes(blk[OWNER_OFFSET..OWNER_OFFSET + 8].try_into().unwrap());
            let _ = header::seal(blk, NODE_MAGIC, nr, owner);
        }
    }
}

fuzz_target!(|patches: Vec<(u32, u8)>| {
    let (base, sb) = base();
    let mut img = base.clone();
    let len = img.len() as u32;
    for (off, b) in patches.into_iter().take(64) {
        img[(off % len) as usize] ^= b;
    }
    reseal(&mut img, sb);
    let dev = match Fs::mount(MemDevice { data: img }, MountOptions::default(), T) {
        Ok(mut fs) => {
            walk(&mut fs);
            match fs.unmount(T) {
                Ok(dev) => dev,
                Err(_) => return,
            }
        }
        Err(_) => return,
    };
    let _ = check(dev, &CheckOptions::default(), &mut |_, _, _| true);
});

fn walk(fs: &mut Fs<MemDevice>) {
    let mut stack = vec![1u64];
    let mut budget = 200;
    while let Some(d) = stack.pop() {
        budget -= 1;
        if budget == 0 {
            break;
        }
        let mut off = 0;
        for _ in 0..400 {
            let Ok(entries) = fs.readdir(d, off, 64) else { break };
            let Some(last) = entries.last() else { break };
            assert!(last.offset > off, "readdir must make progress");
            off = last.offset;
            for e in entries.iter().filter(|e| e.name != b"." && e.name != b"..") {
                let _ = fs.lookup(d, &e.name);
                let Ok(st) = fs.getattr(e.ino) else { continue };
                match st.file_type {
                    FileType::Directory => stack.push(e.ino),
                    FileType::Regular => {
                        let _ = fs.listxattr(e.ino);
                        let _ = fs.getxattr(e.ino, b"user.a");
                        let _ = fs.setxattr(e.ino, b"user.b", &[7; 90], Default::default(), T);
                        let _ = fs.read(e.ino, 0, 1 << 17);
                        let _ = fs.write(e.ino, 5 * BS as u64 + 10, b"more", T);
                    }
                    FileType::Symlink => {
                        let _ = fs.readlink(e.ino);
                    }
                    _ => {}
                }
            }
        }
        let _ = fs.create(d, b"new", 0o644, 0, 0, T);
        let _ = fs.unlink(d, b"entry-0003", T);
        let _ = fs.rename(d, b"entry-0004", 1, b"moved", Default::default(), T);
    }
}
