//! File extents: values in a file's mapping tree, keyed by the first
//! logical block they map.
//!
//! | off | size | field    | meaning                                   |
//! |-----|------|----------|-------------------------------------------|
//! | 0   | 8    | physical | first physical block                      |
//! | 8   | 4    | length   | blocks, 1..=MAX_EXTENT_LEN                |
//! | 12  | 4    | flags    | `EXTENT_UNWRITTEN`: reads return zeros    |

use crate::bytes::*;
use crate::error::{bad, FormatError};

pub const EXTENT_VALUE_SIZE: usize = 16;
const _: () = assert!(8 + 4 + 4 == EXTENT_VALUE_SIZE);

/// Longest extent; keeps `logical + length` far from overflow.
pub const MAX_EXTENT_LEN: u32 = 1 << 24;
/// Reserved: allocated but never written (fallocate); reads give zeros.
pub const EXTENT_UNWRITTEN: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub logical: u64,
    pub physical: u64,
    pub len: u32,
    pub flags: u32,
}

impl Extent {
    // The ends saturate: decoded extents cannot overflow (decode_value
    // checks both), so this only keeps hand-built values from panicking.
    pub fn logical_end(&self) -> u64 {
        self.logical.saturating_add(u64::from(self.len))
    }
    pub fn physical_end(&self) -> u64 {
        self.physical.saturating_add(u64::from(self.len))
    }

    pub fn encode_value(&self) -> [u8; EXTENT_VALUE_SIZE] {
        let mut v = [0u8; EXTENT_VALUE_SIZE];
        v[0..8].copy_from_slice(&self.physical.to_le_bytes());
        v[8..12].copy_from_slice(&self.len.to_le_bytes());
        v[12..16].copy_from_slice(&self.flags.to_le_bytes());
        v
    }

    /// Decode the value stored under key `logical`, checking it against the
    /// device size.
    pub fn decode_value(logical: u64, v: &[u8], block_count: u64) -> Result<Self, FormatError> {
        if v.len() != EXTENT_VALUE_SIZE {
            return Err(bad("extent record size"));
        }
        let e = Extent { logical, physical: get_u64(v, 0)?, len: get_u32(v, 8)?, flags: get_u32(v, 12)? };
        if e.len == 0 || e.len > MAX_EXTENT_LEN || e.flags & !EXTENT_UNWRITTEN != 0 {
            return Err(bad("extent length"));
        }
        match e.physical.checked_add(u64::from(e.len)) {
            Some(end) if e.physical > 0 && end <= block_count => {}
            _ => return Err(bad("extent physical range")),
        }
        if logical.checked_add(u64::from(e.len)).is_none() {
            return Err(bad("extent logical range"));
        }
        Ok(e)
    }
}
