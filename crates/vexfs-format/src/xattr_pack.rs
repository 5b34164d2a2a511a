//! Pack blocks: one block holding the small attribute blobs of several
//! inodes, so that a file with one short attribute (a 128-float embedding
//! is 512 bytes) does not take a block of its own.
//!
//! The block is cut into [`UNITS`] units of `block_size / 64` bytes. It
//! starts with the common 32-byte header (magic [`PACK_MAGIC`], crc32c over
//! the whole block, `block_nr`, owner 0), then:
//!
//! | off | size | field | meaning                                        |
//! |-----|------|-------|------------------------------------------------|
//! | 32  | 8    | map   | bit `i` set: unit `i` is in use (header units included) |
//!
//! The first [`header_units`] units hold the header and are always in use.
//! A packed blob starts on a unit boundary and takes
//! `ceil(len / unit)` units; it is an ordinary blob (see [`crate::xattr`])
//! whose header's `block_nr` is its byte address (`block * block_size +
//! offset`), whose owner is its inode and whose crc32c covers its `len`
//! bytes. Free units are zero.

use crate::bytes::{get_u64, put_u64};
use crate::error::{bad, FormatError};

pub const PACK_MAGIC: u32 = 0x5642_504B; // "KPBV"
/// Units per pack block: one bit each in the map.
pub const UNITS: u32 = 64;
pub const MAP_OFFSET: usize = 32;
/// Header and map.
pub const PACK_HEADER: usize = MAP_OFFSET + 8;

/// Bytes per unit.
pub fn unit_size(block_size: usize) -> usize {
    block_size / UNITS as usize
}

/// Units the header takes at the start of the block.
pub fn header_units(block_size: usize) -> u32 {
    PACK_HEADER.div_ceil(unit_size(block_size).max(1)) as u32
}

/// The map bits of the header units.
pub fn header_map(block_size: usize) -> u64 {
    run_bits(0, header_units(block_size))
}

/// Units a blob of `len` bytes takes.
pub fn units_for(len: usize, block_size: usize) -> u32 {
    len.div_ceil(unit_size(block_size).max(1)) as u32
}

/// Largest blob that is packed: half a block (a larger one would leave
/// room for nothing else).
pub fn max_packed(block_size: usize) -> usize {
    block_size / 2
}

/// Map bits of `count` units from `first`.
pub fn run_bits(first: u32, count: u32) -> u64 {
    if count == 0 {
        return 0;
    }
    let ones = if count >= 64 {
        u64::MAX
    } else {
        (1u64 << count) - 1
    };
    // A run past the last unit has no bits (and no shift overflow).
    ones.checked_shl(first).unwrap_or(0)
}

/// The map of a pack block, checked: the header units in use.
pub fn map(block: &[u8]) -> Result<u64, FormatError> {
    // Too small to hold 64 units beside the header: not a pack block.
    if unit_size(block.len()) == 0 || header_units(block.len()) >= UNITS {
        return Err(bad("xattr pack block size"));
    }
    let m = get_u64(block, MAP_OFFSET)?;
    let h = header_map(block.len());
    if m & h != h {
        return Err(bad("xattr pack map"));
    }
    Ok(m)
}

pub fn set_map(block: &mut [u8], map: u64) -> Result<(), FormatError> {
    put_u64(block, MAP_OFFSET, map)
}

/// The first run of `count` free units in `map`.
pub fn find_free(map: u64, count: u32) -> Option<u32> {
    if count == 0 || count > UNITS {
        return None;
    }
    (0..=UNITS - count).find(|&u| map & run_bits(u, count) == 0)
}

/// Where a packed blob of `len` bytes at byte `offset` sits: its first unit
/// and unit count, checked against the block's bounds and header.
pub fn blob_units(offset: u32, len: u32, block_size: usize) -> Result<(u32, u32), FormatError> {
    let unit = unit_size(block_size) as u32;
    let n = units_for(len as usize, block_size);
    if unit == 0 || !offset.is_multiple_of(unit) || len as usize > max_packed(block_size) || n == 0
    {
        return Err(bad("packed xattr location"));
    }
    let first = offset / unit;
    if first < header_units(block_size) || first + n > UNITS {
        return Err(bad("packed xattr location"));
    }
    Ok((first, n))
}

/// The byte address a packed blob's header names.
pub fn blob_address(block: u64, offset: u32, block_size: usize) -> u64 {
    block
        .wrapping_mul(block_size as u64)
        .wrapping_add(u64::from(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_too_small_and_runs_past_the_end_are_errors_not_panics() {
        // A fuzzer's 43-byte "block": no units of its own.
        let tiny = [
            4u8, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 59, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
        ];
        assert!(map(&tiny).is_err());
        assert!(map(&[0u8; 64 * 40]).is_err());
        assert_eq!(run_bits(64, 1), 0);
        assert_eq!(run_bits(u32::MAX, 3), 0);
        assert_eq!(units_for(10, 16), 10);
        assert!(blob_units(0, 10, 16).is_err());
    }

    #[test]
    fn units_and_free_runs() {
        assert_eq!(unit_size(4096), 64);
        assert_eq!(header_units(4096), 1);
        assert_eq!(header_units(1024), 3);
        assert_eq!(units_for(567, 4096), 9);
        let m = header_map(4096) | run_bits(1, 9);
        assert_eq!(find_free(m, 9), Some(10));
        assert_eq!(find_free(u64::MAX, 1), None);
        assert_eq!(find_free(header_map(4096), 63), Some(1));
        assert_eq!(find_free(header_map(4096), 64), None);
        assert_eq!(run_bits(0, 64), u64::MAX);
    }

    #[test]
    fn locations_are_checked() {
        assert_eq!(blob_units(64, 567, 4096).unwrap(), (1, 9));
        assert!(blob_units(0, 100, 4096).is_err(), "inside the header");
        assert!(blob_units(65, 100, 4096).is_err(), "off a unit boundary");
        assert!(blob_units(63 * 64, 128, 4096).is_err(), "past the block");
        assert!(blob_units(64, 3000, 4096).is_err(), "too large to pack");
        let mut b = [0u8; 4096];
        assert!(map(&b).is_err());
        set_map(&mut b, header_map(4096)).unwrap();
        assert_eq!(map(&b).unwrap(), 1);
    }
}
