//! The 32-byte header at the start of every metadata block (bitmap blocks,
//! tree nodes, extended-attribute blocks).
//!
//! | off | size | field      | meaning                                     |
//! |-----|------|------------|---------------------------------------------|
//! | 0   | 4    | magic      | block kind, one of the `*_MAGIC` constants  |
//! | 4   | 4    | crc32c     | over the whole block, this field as zero    |
//! | 8   | 8    | block_nr   | this block's own number (misdirected writes)|
//! | 16  | 8    | owner      | owning inode, or 0 for filesystem metadata  |
//! | 24  | 8    | reserved   | zero                                        |

use crate::bytes::{get_u32, get_u64, put_u32, put_u64};
use crate::checksum::crc32c_skipping;
use crate::error::{Corruption, FormatError};

pub const HEADER_SIZE: usize = 32;
pub const MAGIC_OFFSET: usize = 0;
pub const CRC_OFFSET: usize = 4;
pub const BLOCK_NR_OFFSET: usize = 8;
pub const OWNER_OFFSET: usize = 16;

const _: () = assert!(OWNER_OFFSET + 8 + 8 == HEADER_SIZE);

pub const BITMAP_MAGIC: u32 = 0x5642_4D50; // "PMBV"
pub const NODE_MAGIC: u32 = 0x5642_4E44; // "DNBV"
pub const XATTR_MAGIC: u32 = 0x5642_5841; // "AXBV"

/// Fill in the header of `block` and seal it with its checksum. Call last,
/// after the body is final.
pub fn seal(block: &mut [u8], magic: u32, block_nr: u64, owner: u64) -> Result<(), FormatError> {
    put_u32(block, MAGIC_OFFSET, magic)?;
    put_u64(block, BLOCK_NR_OFFSET, block_nr)?;
    put_u64(block, OWNER_OFFSET, owner)?;
    put_u64(block, 24, 0)?;
    let crc = crc32c_skipping(block, CRC_OFFSET);
    put_u32(block, CRC_OFFSET, crc)
}

/// Check magic, checksum and self-reference; return the owner field.
pub fn verify(block: &[u8], magic: u32, block_nr: u64, what: &'static str) -> Result<u64, FormatError> {
    if get_u32(block, MAGIC_OFFSET)? != magic {
        return Err(FormatError::Corrupt(Corruption::BadMagic(what)));
    }
    if get_u32(block, CRC_OFFSET)? != crc32c_skipping(block, CRC_OFFSET) {
        return Err(FormatError::Corrupt(Corruption::BadChecksum(what)));
    }
    if get_u64(block, BLOCK_NR_OFFSET)? != block_nr {
        return Err(FormatError::Corrupt(Corruption::WrongBlockNumber));
    }
    get_u64(block, OWNER_OFFSET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_verify() {
        let mut b = [0u8; 1024];
        b[100] = 9;
        seal(&mut b, NODE_MAGIC, 77, 5).unwrap();
        assert_eq!(verify(&b, NODE_MAGIC, 77, "node").unwrap(), 5);
        assert!(verify(&b, NODE_MAGIC, 78, "node").is_err());
        b[100] = 8;
        assert!(matches!(
            verify(&b, NODE_MAGIC, 77, "node"),
            Err(FormatError::Corrupt(Corruption::BadChecksum(_)))
        ));
    }
}
