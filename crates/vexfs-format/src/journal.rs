//! The metadata journal's on-disk records (see docs/FORMAT.md, "Journal").
//!
//! The journal region is `journal_blocks` blocks starting at
//! `journal_start`. Its first block is the journal superblock; the rest is
//! the log, which holds at most one transaction, always starting at the
//! log's first block:
//!
//! ```text
//! [descriptor][image]...[image] [descriptor][image]... [commit]
//! ```
//!
//! Each descriptor names the home block of the images that follow it. The
//! commit block carries a CRC-32C over every descriptor and image of the
//! transaction, so a transaction whose writes were torn, lost or reordered
//! by a power cut fails its check and is ignored as a whole.
//!
//! Journal superblock (block `journal_start`):
//!
//! | off | size | field        | meaning                                        |
//! |-----|------|--------------|------------------------------------------------|
//! | 0   | 4    | magic        | `0x53_4A_58_56` ("VXJS" little-endian)          |
//! | 4   | 4    | crc32c       | over the whole block, this field as zero        |
//! | 8   | 4    | version      | 1                                              |
//! | 12  | 4    | block_size   | the filesystem's block size                     |
//! | 16  | 8    | log_blocks   | `journal_blocks - 1`                            |
//! | 24  | 8    | checkpointed | every transaction with a sequence number up to this is home |
//! | 32  | 16   | uuid         | the filesystem's uuid (a stale journal is refused) |
//! | 48  | 4    | errno        | nonzero: the journal was aborted by this error  |
//! | 52  | ..   | reserved     | zero                                           |
//!
//! Descriptor block:
//!
//! | off | size | field  | meaning                                   |
//! |-----|------|--------|-------------------------------------------|
//! | 0   | 4    | magic  | `0x44_4A_58_56` ("VXJD")                   |
//! | 4   | 4    | crc32c | over the whole block                      |
//! | 8   | 8    | seq    | the transaction's sequence number         |
//! | 16  | 4    | count  | images that follow, 1..=tags_per_block    |
//! | 20  | 4    | reserved | zero                                    |
//! | 24  | 8*count | targets | home block number of each image      |
//!
//! Commit block:
//!
//! | off | size | field    | meaning                                      |
//! |-----|------|----------|----------------------------------------------|
//! | 0   | 4    | magic    | `0x43_4A_58_56` ("VXJC")                      |
//! | 4   | 4    | crc32c   | over the whole block                         |
//! | 8   | 8    | seq      | as in the descriptors                        |
//! | 16  | 8    | images   | image blocks in the transaction              |
//! | 24  | 4    | body_crc | CRC-32C over all descriptor and image blocks, in log order |
//! | 28  | ..   | reserved | zero                                         |

use crate::bytes::{get_bytes, get_u32, get_u64, put_bytes, put_u32, put_u64};
use crate::checksum::crc32c_skipping;
use crate::error::{bad, Corruption, FormatError};

pub const JSB_MAGIC: u32 = u32::from_le_bytes(*b"VXJS");
pub const DESCRIPTOR_MAGIC: u32 = u32::from_le_bytes(*b"VXJD");
pub const COMMIT_MAGIC: u32 = u32::from_le_bytes(*b"VXJC");
pub const JOURNAL_VERSION: u32 = 1;

const MAGIC_OFFSET: usize = 0;
const CRC_OFFSET: usize = 4;
const SEQ_OFFSET: usize = 8;

pub const JSB_VERSION_OFFSET: usize = 8;
pub const JSB_BLOCK_SIZE_OFFSET: usize = 12;
pub const JSB_LOG_BLOCKS_OFFSET: usize = 16;
pub const JSB_CHECKPOINTED_OFFSET: usize = 24;
pub const JSB_UUID_OFFSET: usize = 32;
pub const JSB_ERRNO_OFFSET: usize = 48;

pub const DESC_COUNT_OFFSET: usize = 16;
pub const DESC_TAGS_OFFSET: usize = 24;

pub const COMMIT_IMAGES_OFFSET: usize = 16;
pub const COMMIT_BODY_CRC_OFFSET: usize = 24;

/// The smallest journal: its superblock and a log of three blocks (one
/// descriptor, one image, one commit).
pub const MIN_JOURNAL_BLOCKS: u64 = 4;

/// Target block numbers one descriptor block can hold.
pub fn tags_per_descriptor(block_size: usize) -> usize {
    (block_size - DESC_TAGS_OFFSET) / 8
}

/// Log blocks a transaction of `images` images occupies.
pub fn transaction_blocks(block_size: usize, images: usize) -> u64 {
    let descriptors = images.div_ceil(tags_per_descriptor(block_size));
    (images + descriptors + 1) as u64
}

fn seal(block: &mut [u8], magic: u32) -> Result<(), FormatError> {
    put_u32(block, MAGIC_OFFSET, magic)?;
    put_u32(block, CRC_OFFSET, 0)?;
    let crc = crc32c_skipping(block, CRC_OFFSET);
    put_u32(block, CRC_OFFSET, crc)
}

fn verify(block: &[u8], magic: u32, what: &'static str) -> Result<(), FormatError> {
    if get_u32(block, MAGIC_OFFSET)? != magic {
        return Err(FormatError::Corrupt(Corruption::BadMagic(what)));
    }
    if get_u32(block, CRC_OFFSET)? != crc32c_skipping(block, CRC_OFFSET) {
        return Err(FormatError::Corrupt(Corruption::BadChecksum(what)));
    }
    Ok(())
}

/// The journal superblock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalSuper {
    pub block_size: u32,
    pub log_blocks: u64,
    pub checkpointed: u64,
    pub uuid: [u8; 16],
    pub errno: u32,
}

impl JournalSuper {
    pub fn encode(&self, block: &mut [u8]) -> Result<(), FormatError> {
        block.fill(0);
        put_u32(block, JSB_VERSION_OFFSET, JOURNAL_VERSION)?;
        put_u32(block, JSB_BLOCK_SIZE_OFFSET, self.block_size)?;
        put_u64(block, JSB_LOG_BLOCKS_OFFSET, self.log_blocks)?;
        put_u64(block, JSB_CHECKPOINTED_OFFSET, self.checkpointed)?;
        put_bytes(block, JSB_UUID_OFFSET, &self.uuid)?;
        put_u32(block, JSB_ERRNO_OFFSET, self.errno)?;
        seal(block, JSB_MAGIC)
    }

    /// Decode and check against the filesystem it belongs to.
    pub fn decode(
        block: &[u8],
        block_size: u32,
        journal_blocks: u64,
        uuid: &[u8; 16],
    ) -> Result<Self, FormatError> {
        verify(block, JSB_MAGIC, "journal superblock")?;
        if get_u32(block, JSB_VERSION_OFFSET)? != JOURNAL_VERSION {
            return Err(FormatError::Incompatible("unknown journal version"));
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(get_bytes(block, JSB_UUID_OFFSET, 16)?);
        let js = Self {
            block_size: get_u32(block, JSB_BLOCK_SIZE_OFFSET)?,
            log_blocks: get_u64(block, JSB_LOG_BLOCKS_OFFSET)?,
            checkpointed: get_u64(block, JSB_CHECKPOINTED_OFFSET)?,
            uuid: id,
            errno: get_u32(block, JSB_ERRNO_OFFSET)?,
        };
        if js.block_size != block_size {
            return Err(bad("journal superblock block size"));
        }
        if Some(js.log_blocks) != journal_blocks.checked_sub(1) {
            return Err(bad("journal superblock log size"));
        }
        if &js.uuid != uuid {
            return Err(bad(
                "journal superblock uuid (journal of another filesystem)",
            ));
        }
        Ok(js)
    }
}

/// Fill `block` as a descriptor for `targets`.
pub fn encode_descriptor(block: &mut [u8], seq: u64, targets: &[u64]) -> Result<(), FormatError> {
    if targets.is_empty() || targets.len() > tags_per_descriptor(block.len()) {
        return Err(bad("journal descriptor tag count"));
    }
    block.fill(0);
    put_u64(block, SEQ_OFFSET, seq)?;
    put_u32(block, DESC_COUNT_OFFSET, targets.len() as u32)?;
    for (i, t) in targets.iter().enumerate() {
        put_u64(block, DESC_TAGS_OFFSET + 8 * i, *t)?;
    }
    seal(block, DESCRIPTOR_MAGIC)
}

/// Fill `block` as the commit record of transaction `seq`.
pub fn encode_commit(
    block: &mut [u8],
    seq: u64,
    images: u64,
    body_crc: u32,
) -> Result<(), FormatError> {
    block.fill(0);
    put_u64(block, SEQ_OFFSET, seq)?;
    put_u64(block, COMMIT_IMAGES_OFFSET, images)?;
    put_u32(block, COMMIT_BODY_CRC_OFFSET, body_crc)?;
    seal(block, COMMIT_MAGIC)
}

/// What a log block turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogBlock {
    /// A descriptor: its sequence number and how many images follow (their
    /// home blocks are read with [`descriptor_target`]).
    Descriptor { seq: u64, count: usize },
    /// A commit record.
    Commit {
        seq: u64,
        images: u64,
        body_crc: u32,
    },
}

/// Decode a descriptor or commit block; anything else (a torn write, an
/// old image) is an error.
pub fn decode_log_block(block: &[u8]) -> Result<LogBlock, FormatError> {
    let magic = get_u32(block, MAGIC_OFFSET)?;
    let seq = get_u64(block, SEQ_OFFSET)?;
    if magic == DESCRIPTOR_MAGIC {
        verify(block, DESCRIPTOR_MAGIC, "journal descriptor")?;
        let count = get_u32(block, DESC_COUNT_OFFSET)? as usize;
        if count == 0 || count > tags_per_descriptor(block.len()) {
            return Err(bad("journal descriptor tag count"));
        }
        Ok(LogBlock::Descriptor { seq, count })
    } else if magic == COMMIT_MAGIC {
        verify(block, COMMIT_MAGIC, "journal commit")?;
        Ok(LogBlock::Commit {
            seq,
            images: get_u64(block, COMMIT_IMAGES_OFFSET)?,
            body_crc: get_u32(block, COMMIT_BODY_CRC_OFFSET)?,
        })
    } else {
        Err(FormatError::Corrupt(Corruption::BadMagic(
            "journal log block",
        )))
    }
}

/// The home block of image `i` named by a verified descriptor.
pub fn descriptor_target(block: &[u8], i: usize) -> Result<u64, FormatError> {
    if i >= tags_per_descriptor(block.len()) {
        return Err(bad("journal descriptor tag index"));
    }
    get_u64(block, DESC_TAGS_OFFSET + 8 * i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_super_round_trip_and_checks() {
        let js = JournalSuper {
            block_size: 4096,
            log_blocks: 255,
            checkpointed: 42,
            uuid: [7; 16],
            errno: 0,
        };
        let mut b = [0u8; 4096];
        js.encode(&mut b).unwrap();
        assert_eq!(JournalSuper::decode(&b, 4096, 256, &[7; 16]).unwrap(), js);
        assert!(JournalSuper::decode(&b, 4096, 256, &[8; 16]).is_err());
        assert!(JournalSuper::decode(&b, 1024, 256, &[7; 16]).is_err());
        assert!(JournalSuper::decode(&b, 4096, 300, &[7; 16]).is_err());
        b[100] ^= 1;
        assert!(JournalSuper::decode(&b, 4096, 256, &[7; 16]).is_err());
    }

    #[test]
    fn descriptor_and_commit_round_trip() {
        let mut b = [0u8; 1024];
        encode_descriptor(&mut b, 9, &[5, 6, 1000]).unwrap();
        assert_eq!(
            decode_log_block(&b).unwrap(),
            LogBlock::Descriptor { seq: 9, count: 3 }
        );
        assert_eq!(descriptor_target(&b, 2).unwrap(), 1000);
        encode_commit(&mut b, 9, 3, 0xDEAD).unwrap();
        assert_eq!(
            decode_log_block(&b).unwrap(),
            LogBlock::Commit {
                seq: 9,
                images: 3,
                body_crc: 0xDEAD
            }
        );
        b[40] = 1;
        assert!(decode_log_block(&b).is_err());
        assert!(decode_log_block(&[0u8; 1024]).is_err());
    }

    #[test]
    fn descriptor_capacity() {
        let mut b = [0u8; 1024];
        let n = tags_per_descriptor(1024);
        assert_eq!(n, 125);
        assert!(encode_descriptor(&mut b, 1, &[1u64; 125]).is_ok());
        assert!(encode_descriptor(&mut b, 1, &[1u64; 126]).is_err());
        assert!(encode_descriptor(&mut b, 1, &[]).is_err());
        assert_eq!(transaction_blocks(1024, 125), 127);
        assert_eq!(transaction_blocks(1024, 126), 129);
    }
}
