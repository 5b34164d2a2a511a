//! The superblock: block 0, bytes 0..512.
//!
//! | off | size | field               | meaning                                   |
//! |-----|------|---------------------|-------------------------------------------|
//! | 0   | 8    | magic               | `b"VEXFS\0SB"`                            |
//! | 8   | 4    | format_version      | 1                                         |
//! | 12  | 4    | block_size          | bytes, power of two, 1024..=65536         |
//! | 16  | 8    | block_count         | blocks in the filesystem                  |
//! | 24  | 8    | inode_count         | inodes in the inode table                 |
//! | 32  | 8    | free_blocks         | hint, recomputed by fsck                  |
//! | 40  | 8    | free_inodes         | hint, recomputed by fsck                  |
//! | 48  | 8    | feature_compat      | see features.rs                           |
//! | 56  | 8    | feature_ro_compat   |                                           |
//! | 64  | 8    | feature_incompat    |                                           |
//! | 72  | 8    | block_bitmap_start  | first block of the block bitmap           |
//! | 80  | 8    | block_bitmap_blocks |                                           |
//! | 88  | 8    | inode_bitmap_start  |                                           |
//! | 96  | 8    | inode_bitmap_blocks |                                           |
//! | 104 | 8    | inode_table_start   |                                           |
//! | 112 | 8    | inode_table_blocks  |                                           |
//! | 120 | 8    | journal_start       | 0 when there is no journal                |
//! | 128 | 8    | journal_blocks      |                                           |
//! | 136 | 8    | data_start          | first block the allocator may hand out    |
//! | 144 | 8    | root_ino            | 1                                         |
//! | 152 | 8    | first_user_ino      | 16                                        |
//! | 160 | 2    | inode_size          | 256                                       |
//! | 162 | 2    | state               | 1 = clean, 2 = mounted/dirty, 4 = errors  |
//! | 164 | 4    | mount_count         | mounts since mkfs                         |
//! | 168 | 8    | mkfs_time           | seconds since the epoch                   |
//! | 176 | 8    | mount_time          |                                           |
//! | 184 | 8    | write_time          |                                           |
//! | 192 | 16   | uuid                |                                           |
//! | 208 | 32   | label               | NUL-padded UTF-8                          |
//! | 240 | 8    | lost_found_ino      | 2                                         |
//! | 248 | 8    | orphan_head         | first inode of the orphan list, 0 if none |
//! | 256 | 8    | next_generation     | source of inode generation numbers        |
//! | 264 | 244  | reserved            | zero                                      |
//! | 508 | 4    | crc32c              | over bytes 0..512 with this field as zero |

use crate::bytes::*;
use crate::checksum::crc32c_skipping;
use crate::error::{bad, Corruption, FormatError};
use crate::features::*;
use crate::inode::INODE_SIZE;
use crate::{FORMAT_VERSION, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE};

pub const SUPERBLOCK_SIZE: usize = 512;
pub const MAGIC: [u8; 8] = *b"VEXFS\0SB";

pub const MAGIC_OFFSET: usize = 0;
pub const VERSION_OFFSET: usize = 8;
pub const BLOCK_SIZE_OFFSET: usize = 12;
pub const BLOCK_COUNT_OFFSET: usize = 16;
pub const INODE_COUNT_OFFSET: usize = 24;
pub const FREE_BLOCKS_OFFSET: usize = 32;
pub const FREE_INODES_OFFSET: usize = 40;
pub const COMPAT_OFFSET: usize = 48;
pub const RO_COMPAT_OFFSET: usize = 56;
pub const INCOMPAT_OFFSET: usize = 64;
pub const BBITMAP_START_OFFSET: usize = 72;
pub const BBITMAP_BLOCKS_OFFSET: usize = 80;
pub const IBITMAP_START_OFFSET: usize = 88;
pub const IBITMAP_BLOCKS_OFFSET: usize = 96;
pub const ITABLE_START_OFFSET: usize = 104;
pub const ITABLE_BLOCKS_OFFSET: usize = 112;
pub const JOURNAL_START_OFFSET: usize = 120;
pub const JOURNAL_BLOCKS_OFFSET: usize = 128;
pub const DATA_START_OFFSET: usize = 136;
pub const ROOT_INO_OFFSET: usize = 144;
pub const FIRST_INO_OFFSET: usize = 152;
pub const INODE_SIZE_OFFSET: usize = 160;
pub const STATE_OFFSET: usize = 162;
pub const MOUNT_COUNT_OFFSET: usize = 164;
pub const MKFS_TIME_OFFSET: usize = 168;
pub const MOUNT_TIME_OFFSET: usize = 176;
pub const WRITE_TIME_OFFSET: usize = 184;
pub const UUID_OFFSET: usize = 192;
pub const LABEL_OFFSET: usize = 208;
pub const LABEL_LEN: usize = 32;
pub const LOST_FOUND_OFFSET: usize = 240;
pub const ORPHAN_HEAD_OFFSET: usize = 248;
pub const NEXT_GENERATION_OFFSET: usize = 256;
pub const CRC_OFFSET: usize = 508;

// The table above must tile the 512 bytes exactly.
const _: () = assert!(NEXT_GENERATION_OFFSET + 8 + 244 == CRC_OFFSET && CRC_OFFSET + 4 == SUPERBLOCK_SIZE);
const _: () = assert!(LABEL_OFFSET + LABEL_LEN == LOST_FOUND_OFFSET && UUID_OFFSET + 16 == LABEL_OFFSET);

pub const STATE_CLEAN: u16 = 1;
pub const STATE_DIRTY: u16 = 2;
pub const STATE_ERRORS: u16 = 4;

/// The decoded superblock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    pub block_size: u32,
    pub block_count: u64,
    pub inode_count: u64,
    pub free_blocks: u64,
    pub free_inodes: u64,
    pub feature_compat: u64,
    pub feature_ro_compat: u64,
    pub feature_incompat: u64,
    pub block_bitmap_start: u64,
    pub block_bitmap_blocks: u64,
    pub inode_bitmap_start: u64,
    pub inode_bitmap_blocks: u64,
    pub inode_table_start: u64,
    pub inode_table_blocks: u64,
    pub journal_start: u64,
    pub journal_blocks: u64,
    pub data_start: u64,
    pub root_ino: u64,
    pub first_user_ino: u64,
    pub state: u16,
    pub mount_count: u32,
    pub mkfs_time: i64,
    pub mount_time: i64,
    pub write_time: i64,
    pub uuid: [u8; 16],
    pub label: [u8; LABEL_LEN],
    pub lost_found_ino: u64,
    pub orphan_head: u64,
    pub next_generation: u64,
}

/// Number of payload bits a bitmap block holds.
pub const fn bits_per_bitmap_block(block_size: u32) -> u64 {
    (block_size as u64 - crate::header::HEADER_SIZE as u64) * 8
}

impl Superblock {
    /// Decode and fully validate. Every geometry field is checked so later
    /// code may compute block addresses without re-validating.
    pub fn decode(buf: &[u8]) -> Result<Self, FormatError> {
        let sb = get_bytes(buf, 0, SUPERBLOCK_SIZE)?;
        if get_bytes(sb, MAGIC_OFFSET, 8)? != MAGIC {
            return Err(FormatError::Corrupt(Corruption::BadMagic("superblock")));
        }
        if get_u32(sb, CRC_OFFSET)? != crc32c_skipping(sb, CRC_OFFSET) {
            return Err(FormatError::Corrupt(Corruption::BadChecksum("superblock")));
        }
        let version = get_u32(sb, VERSION_OFFSET)?;
        if version != FORMAT_VERSION {
            return Err(FormatError::Incompatible("unknown format version"));
        }
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(get_bytes(sb, UUID_OFFSET, 16)?);
        let mut label = [0u8; LABEL_LEN];
        label.copy_from_slice(get_bytes(sb, LABEL_OFFSET, LABEL_LEN)?);
        let s = Superblock {
            block_size: get_u32(sb, BLOCK_SIZE_OFFSET)?,
            block_count: get_u64(sb, BLOCK_COUNT_OFFSET)?,
            inode_count: get_u64(sb, INODE_COUNT_OFFSET)?,
            free_blocks: get_u64(sb, FREE_BLOCKS_OFFSET)?,
            free_inodes: get_u64(sb, FREE_INODES_OFFSET)?,
            feature_compat: get_u64(sb, COMPAT_OFFSET)?,
            feature_ro_compat: get_u64(sb, RO_COMPAT_OFFSET)?,
            feature_incompat: get_u64(sb, INCOMPAT_OFFSET)?,
            block_bitmap_start: get_u64(sb, BBITMAP_START_OFFSET)?,
            block_bitmap_blocks: get_u64(sb, BBITMAP_BLOCKS_OFFSET)?,
            inode_bitmap_start: get_u64(sb, IBITMAP_START_OFFSET)?,
            inode_bitmap_blocks: get_u64(sb, IBITMAP_BLOCKS_OFFSET)?,
            inode_table_start: get_u64(sb, ITABLE_START_OFFSET)?,
            inode_table_blocks: get_u64(sb, ITABLE_BLOCKS_OFFSET)?,
            journal_start: get_u64(sb, JOURNAL_START_OFFSET)?,
            journal_blocks: get_u64(sb, JOURNAL_BLOCKS_OFFSET)?,
            data_start: get_u64(sb, DATA_START_OFFSET)?,
            root_ino: get_u64(sb, ROOT_INO_OFFSET)?,
            first_user_ino: get_u64(sb, FIRST_INO_OFFSET)?,
            state: get_u16(sb, STATE_OFFSET)?,
            mount_count: get_u32(sb, MOUNT_COUNT_OFFSET)?,
            mkfs_time: get_i64(sb, MKFS_TIME_OFFSET)?,
            mount_time: get_i64(sb, MOUNT_TIME_OFFSET)?,
            write_time: get_i64(sb, WRITE_TIME_OFFSET)?,
            uuid,
            label,
            lost_found_ino: get_u64(sb, LOST_FOUND_OFFSET)?,
            orphan_head: get_u64(sb, ORPHAN_HEAD_OFFSET)?,
            next_generation: get_u64(sb, NEXT_GENERATION_OFFSET)?,
        };
        if get_u16(sb, INODE_SIZE_OFFSET)? as usize != INODE_SIZE {
            return Err(bad("superblock inode size"));
        }
        s.validate_geometry()?;
        if s.feature_incompat & !INCOMPAT_KNOWN != 0 {
            return Err(FormatError::Incompatible("unknown incompatible feature flags"));
        }
        Ok(s)
    }

    /// Check that every region lies inside the device, in order, without
    /// overlap, and is large enough for the counts it must describe.
    pub fn validate_geometry(&self) -> Result<(), FormatError> {
        let bs = self.block_size;
        if !bs.is_power_of_two() || !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&bs) {
            return Err(bad("superblock block size"));
        }
        let bits = bits_per_bitmap_block(bs);
        let need = |count: u64| count.div_ceil(bits);
        if self.block_bitmap_blocks < need(self.block_count) {
            return Err(bad("superblock block bitmap size"));
        }
        if self.inode_bitmap_blocks < need(self.inode_count) {
            return Err(bad("superblock inode bitmap size"));
        }
        let per_block = u64::from(bs) / INODE_SIZE as u64;
        if self.inode_table_blocks < self.inode_count.div_ceil(per_block) {
            return Err(bad("superblock inode table size"));
        }
        if self.inode_count < self.first_user_ino || self.first_user_ino <= self.lost_found_ino {
            return Err(bad("superblock inode count"));
        }
        if self.root_ino != crate::ROOT_INO || self.lost_found_ino != crate::LOST_FOUND_INO {
            return Err(bad("superblock root inode"));
        }
        // Regions in order: superblock, block bitmap, inode bitmap, inode
        // table, journal (optional), data.
        let mut cursor: u64 = 1;
        let mut region = |start: u64, len: u64, what: &'static str| -> Result<(), FormatError> {
            if len > 0 && start != cursor {
                return Err(bad(what));
            }
            cursor = start.checked_add(len).ok_or(bad(what))?;
            Ok(())
        };
        region(self.block_bitmap_start, self.block_bitmap_blocks, "superblock block bitmap start")?;
        region(self.inode_bitmap_start, self.inode_bitmap_blocks, "superblock inode bitmap start")?;
        region(self.inode_table_start, self.inode_table_blocks, "superblock inode table start")?;
        if self.journal_blocks > 0 {
            region(self.journal_start, self.journal_blocks, "superblock journal start")?;
        }
        // The journal feature and the region come together.
        let journaled = self.feature_incompat & crate::features::INCOMPAT_JOURNAL != 0;
        if journaled != (self.journal_blocks > 0)
            || (journaled && self.journal_blocks < crate::journal::MIN_JOURNAL_BLOCKS)
        {
            return Err(bad("superblock journal size"));
        }
        if self.data_start != cursor || self.data_start >= self.block_count {
            return Err(bad("superblock data start"));
        }
        if self.free_blocks > self.block_count || self.free_inodes > self.inode_count {
            return Err(bad("superblock free counts"));
        }
        Ok(())
    }

    /// Encode into `buf[..512]` with a fresh checksum.
    pub fn encode(&self, buf: &mut [u8]) -> Result<(), FormatError> {
        let sb = buf.get_mut(..SUPERBLOCK_SIZE).ok_or(FormatError::Truncated)?;
        sb.fill(0);
        put_bytes(sb, MAGIC_OFFSET, &MAGIC)?;
        put_u32(sb, VERSION_OFFSET, FORMAT_VERSION)?;
        put_u32(sb, BLOCK_SIZE_OFFSET, self.block_size)?;
        put_u64(sb, BLOCK_COUNT_OFFSET, self.block_count)?;
        put_u64(sb, INODE_COUNT_OFFSET, self.inode_count)?;
        put_u64(sb, FREE_BLOCKS_OFFSET, self.free_blocks)?;
        put_u64(sb, FREE_INODES_OFFSET, self.free_inodes)?;
        put_u64(sb, COMPAT_OFFSET, self.feature_compat)?;
        put_u64(sb, RO_COMPAT_OFFSET, self.feature_ro_compat)?;
        put_u64(sb, INCOMPAT_OFFSET, self.feature_incompat)?;
        put_u64(sb, BBITMAP_START_OFFSET, self.block_bitmap_start)?;
        put_u64(sb, BBITMAP_BLOCKS_OFFSET, self.block_bitmap_blocks)?;
        put_u64(sb, IBITMAP_START_OFFSET, self.inode_bitmap_start)?;
        put_u64(sb, IBITMAP_BLOCKS_OFFSET, self.inode_bitmap_blocks)?;
        put_u64(sb, ITABLE_START_OFFSET, self.inode_table_start)?;
        put_u64(sb, ITABLE_BLOCKS_OFFSET, self.inode_table_blocks)?;
        put_u64(sb, JOURNAL_START_OFFSET, self.journal_start)?;
        put_u64(sb, JOURNAL_BLOCKS_OFFSET, self.journal_blocks)?;
        put_u64(sb, DATA_START_OFFSET, self.data_start)?;
        put_u64(sb, ROOT_INO_OFFSET, self.root_ino)?;
        put_u64(sb, FIRST_INO_OFFSET, self.first_user_ino)?;
        put_u16(sb, INODE_SIZE_OFFSET, INODE_SIZE as u16)?;
        put_u16(sb, STATE_OFFSET, self.state)?;
        put_u32(sb, MOUNT_COUNT_OFFSET, self.mount_count)?;
        put_i64(sb, MKFS_TIME_OFFSET, self.mkfs_time)?;
        put_i64(sb, MOUNT_TIME_OFFSET, self.mount_time)?;
        put_i64(sb, WRITE_TIME_OFFSET, self.write_time)?;
        put_bytes(sb, UUID_OFFSET, &self.uuid)?;
        put_bytes(sb, LABEL_OFFSET, &self.label)?;
        put_u64(sb, LOST_FOUND_OFFSET, self.lost_found_ino)?;
        put_u64(sb, ORPHAN_HEAD_OFFSET, self.orphan_head)?;
        put_u64(sb, NEXT_GENERATION_OFFSET, self.next_generation)?;
        let crc = crc32c_skipping(sb, CRC_OFFSET);
        put_u32(sb, CRC_OFFSET, crc)
    }

    /// Compute a layout for a device of `block_count` blocks with a
    /// journal of `journal_blocks` blocks (0: none).
    pub fn layout(
        block_size: u32,
        block_count: u64,
        inode_count: u64,
        journal_blocks: u64,
    ) -> Result<Self, FormatError> {
        let bits = bits_per_bitmap_block(block_size);
        let bbm = block_count.div_ceil(bits);
        let ibm = inode_count.div_ceil(bits);
        let per_block = u64::from(block_size) / INODE_SIZE as u64;
        let itb = inode_count.div_ceil(per_block);
        if journal_blocks != 0 && journal_blocks < crate::journal::MIN_JOURNAL_BLOCKS {
            return Err(FormatError::Incompatible("journal too small"));
        }
        let journal_start = 1 + bbm + ibm + itb;
        let data_start = journal_start
            .checked_add(journal_blocks)
            .ok_or(FormatError::Incompatible("journal too large"))?;
        if data_start.saturating_add(16) > block_count {
            return Err(FormatError::Incompatible("device too small for this inode count"));
        }
        Ok(Superblock {
            block_size,
            block_count,
            inode_count,
            free_blocks: block_count - data_start,
            free_inodes: inode_count,
            feature_compat: 0,
            feature_ro_compat: 0,
            feature_incompat: if journal_blocks > 0 {
                crate::features::INCOMPAT_JOURNAL
            } else {
                0
            },
            block_bitmap_start: 1,
            block_bitmap_blocks: bbm,
            inode_bitmap_start: 1 + bbm,
            inode_bitmap_blocks: ibm,
            inode_table_start: 1 + bbm + ibm,
            inode_table_blocks: itb,
            journal_start: if journal_blocks > 0 { journal_start } else { 0 },
            journal_blocks,
            data_start,
            root_ino: crate::ROOT_INO,
            first_user_ino: crate::FIRST_USER_INO,
            state: STATE_CLEAN,
            mount_count: 0,
            mkfs_time: 0,
            mount_time: 0,
            write_time: 0,
            uuid: [0; 16],
            label: [0; LABEL_LEN],
            lost_found_ino: crate::LOST_FOUND_INO,
            orphan_head: 0,
            next_generation: 1,
        })
    }

    /// Inodes per inode-table block.
    pub fn inodes_per_block(&self) -> u64 {
        u64::from(self.block_size) / INODE_SIZE as u64
    }

    /// Block and byte offset of inode `ino` (1-based) in the inode table.
    pub fn inode_location(&self, ino: u64) -> Option<(u64, usize)> {
        if ino == 0 || ino > self.inode_count {
            return None;
        }
        let idx = ino - 1;
        let per = self.inodes_per_block();
        let block = self.inode_table_start + idx / per;
        let off = (idx % per) as usize * INODE_SIZE;
        Some((block, off))
    }

    /// The label as text, up to its first NUL.
    pub fn label_str(&self) -> &str {
        let end = self.label.iter().position(|&b| b == 0).unwrap_or(LABEL_LEN);
        core::str::from_utf8(self.label.get(..end).unwrap_or(&[])).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_round_trip() {
        let mut sb = Superblock::layout(4096, 65536, 16384, 0).unwrap();
        sb.label[..4].copy_from_slice(b"test");
        let mut buf = [0u8; 4096];
        sb.encode(&mut buf).unwrap();
        let back = Superblock::decode(&buf).unwrap();
        assert_eq!(back, sb);
        assert_eq!(back.label_str(), "test");
    }

    #[test]
    fn every_bit_flip_is_caught() {
        let sb = Superblock::layout(4096, 65536, 16384, 0).unwrap();
        let mut buf = [0u8; 512];
        sb.encode(&mut buf).unwrap();
        for i in 0..512 * 8 {
            let mut b = buf;
            b[i / 8] ^= 1 << (i % 8);
            assert!(Superblock::decode(&b).is_err(), "flip {i} undetected");
        }
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = Superblock::decode(&data);
        }
    }
}
