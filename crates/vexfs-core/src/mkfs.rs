//! Creating a filesystem.

use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::fs::{Fs, MountOptions};
use vexfs_format::header::{seal, BITMAP_MAGIC, HEADER_SIZE};
use vexfs_format::inode::{Inode, Timestamp, S_IFDIR};
use vexfs_format::superblock::{bits_per_bitmap_block, Superblock, LABEL_LEN};
use vexfs_format::{LOST_FOUND_INO, ROOT_INO};

/// What `mkfs.vexfs` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MkfsOptions {
    pub block_size: u32,
    /// Inodes to create; `None` picks one per `bytes_per_inode`.
    pub inode_count: Option<u64>,
    pub bytes_per_inode: u64,
    pub label: [u8; LABEL_LEN],
    pub uuid: [u8; 16],
    /// Owner of the root directory.
    pub root_uid: u32,
    pub root_gid: u32,
    /// Journal size in blocks; `None` picks [`default_journal_blocks`],
    /// `Some(0)` makes an image without a journal.
    pub journal_blocks: Option<u64>,
}

/// The journal size mkfs picks: 1/64 of the device, at least 64 blocks
/// and at most 64 MiB, never more than a quarter of a small device.
pub fn default_journal_blocks(block_size: u32, block_count: u64) -> u64 {
    let max = (64u64 << 20) / u64::from(block_size);
    (block_count / 64).clamp(64, max).min(block_count / 4)
}

impl Default for MkfsOptions {
    fn default() -> Self {
        Self {
            block_size: vexfs_format::DEFAULT_BLOCK_SIZE,
            inode_count: None,
            bytes_per_inode: 16384,
            label: [0; LABEL_LEN],
            uuid: [0; 16],
            root_uid: 0,
            root_gid: 0,
            journal_blocks: None,
        }
    }
}

/// Compute the layout mkfs would write, without writing anything.
pub fn plan(device_bytes: u64, opts: &MkfsOptions) -> Result<Superblock> {
    let bs = opts.block_size;
    if !bs.is_power_of_two()
        || !(vexfs_format::MIN_BLOCK_SIZE..=vexfs_format::MAX_BLOCK_SIZE).contains(&bs)
    {
        return Err(FsError::Invalid);
    }
    let blocks = device_bytes / u64::from(bs);
    let inodes = opts
        .inode_count
        .unwrap_or_else(|| (device_bytes / opts.bytes_per_inode.max(1024)).max(64))
        .clamp(vexfs_format::FIRST_USER_INO + 16, u64::from(u32::MAX));
    let journal = opts
        .journal_blocks
        .unwrap_or_else(|| default_journal_blocks(bs, blocks));
    let mut sb = Superblock::layout(bs, blocks, inodes, journal)?;
    sb.label = opts.label;
    sb.uuid = opts.uuid;
    Ok(sb)
}

fn bitmap_block(
    bs: usize,
    k: u64,
    first_used_end: u64,
    total: u64,
    bits: u64,
) -> alloc::vec::Vec<u8> {
    let mut b = alloc::vec![0u8; bs];
    let base = k * bits;
    for j in 0..bits {
        let i = base + j;
        if i < first_used_end || i >= total {
            if let Some(byte) = b.get_mut(HEADER_SIZE + (j / 8) as usize) {
                *byte |= 1 << (j % 8);
            }
        }
    }
    b
}

/// Write a fresh filesystem. `progress(done, total)` is called as the
/// inode table is zeroed (the long part on big devices).
pub fn format<D: BlockDevice>(
    mut dev: D,
    opts: &MkfsOptions,
    now: Timestamp,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<D> {
    let mut sb = plan(dev.size(), opts)?;
    sb.mkfs_time = now.sec;
    sb.write_time = now.sec;
    let bs = sb.block_size as usize;
    let bits = bits_per_bitmap_block(sb.block_size);

    // Block 0 first as zeros so a crash mid-mkfs leaves no valid superblock.
    dev.write_at(0, &alloc::vec![0u8; bs])?;
    for k in 0..sb.block_bitmap_blocks {
        let nr = sb.block_bitmap_start + k;
        let mut b = bitmap_block(bs, k, sb.data_start, sb.block_count, bits);
        seal(&mut b, BITMAP_MAGIC, nr, 0)?;
        dev.write_at(nr * bs as u64, &b)?;
    }
    for k in 0..sb.inode_bitmap_blocks {
        let nr = sb.inode_bitmap_start + k;
        // Reserved inodes 1..first_user_ino are bits 0..first_user_ino-1.
        let mut b = bitmap_block(bs, k, sb.first_user_ino - 1, sb.inode_count, bits);
        seal(&mut b, BITMAP_MAGIC, nr, 0)?;
        dev.write_at(nr * bs as u64, &b)?;
    }
    let chunk_blocks = (1 << 20) / bs as u64;
    let zeros = alloc::vec![0u8; (chunk_blocks as usize) * bs];
    let mut done = 0u64;
    while done < sb.inode_table_blocks {
        let n = chunk_blocks.min(sb.inode_table_blocks - done);
        let off = (sb.inode_table_start + done) * bs as u64;
        dev.write_at(off, zeros.get(..n as usize * bs).ok_or(FsError::Invalid)?)?;
        done += n;
        progress(done, sb.inode_table_blocks);
    }
    sb.free_inodes = sb.inode_count - (sb.first_user_ino - 1);

    // Root and lost+found, written straight into the inode table.
    let mut root = Inode::new(S_IFDIR | 0o755, opts.root_uid, opts.root_gid, now);
    root.nlink = 3;
    root.parent = ROOT_INO;
    crate::btree::init_root(&mut root.data)?;
    let mut lf = Inode::new(S_IFDIR | 0o700, 0, 0, now);
    lf.nlink = 2;
    lf.parent = ROOT_INO;
    crate::btree::init_root(&mut lf.data)?;
    let mut itb = alloc::vec![0u8; bs];
    for (ino, i) in [(ROOT_INO, &root), (LOST_FOUND_INO, &lf)] {
        let (blk, off) = sb.inode_location(ino).ok_or(FsError::Invalid)?;
        if blk != sb.inode_table_start {
            return Err(FsError::Invalid);
        }
        i.encode(itb.get_mut(off..).ok_or(FsError::Invalid)?, ino)?;
    }
    dev.write_at(sb.inode_table_start * bs as u64, &itb)?;
    if sb.journal_blocks > 0 {
        // The journal superblock, and an empty log (its first block zero,
        // so no stale transaction from an earlier filesystem replays).
        let mut jb = alloc::vec![0u8; 2 * bs];
        let js = vexfs_format::journal::JournalSuper {
            block_size: sb.block_size,
            log_blocks: sb.journal_blocks - 1,
            checkpointed: 0,
            uuid: sb.uuid,
            errno: 0,
        };
        js.encode(jb.get_mut(..bs).ok_or(FsError::Invalid)?)?;
        dev.write_at(sb.journal_start * bs as u64, &jb)?;
    }
    let mut sbuf = alloc::vec![0u8; bs];
    sb.encode(&mut sbuf)?;
    dev.write_at(0, &sbuf)?;
    dev.flush()?;

    // Link lost+found through the normal code path.
    let mut fs = Fs::mount(dev, MountOptions::default(), now)?;
    fs.transact(|fs| {
        let mut r = fs.read_inode(ROOT_INO)?;
        let key = fs.dir_add(
            ROOT_INO,
            &mut r,
            b"lost+found",
            LOST_FOUND_INO,
            vexfs_format::inode::FileType::Directory,
        )?;
        fs.write_inode(ROOT_INO, &r)?;
        let mut lf = fs.read_inode(LOST_FOUND_INO)?;
        lf.link_key = key;
        fs.write_inode(LOST_FOUND_INO, &lf)
    })?;
    fs.unmount(now)
}
