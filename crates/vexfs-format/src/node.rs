//! Tree nodes: the slotted-page layout shared by directory trees, file
//! mapping trees and their roots embedded in inodes.
//!
//! A node *body* is either the rest of a metadata block after its 32-byte
//! header ([`crate::header`], magic `NODE_MAGIC`) or the 112-byte `data`
//! area of an inode (the tree root, covered by the inode checksum).
//!
//! | off            | size | field       | meaning                                  |
//! |----------------|------|-------------|------------------------------------------|
//! | 0              | 2    | level       | 0 = leaf; internal nodes count upwards   |
//! | 2              | 2    | nitems      | number of slots                          |
//! | 4              | 4    | value_start | start of the value area (grows downward) |
//! | 8 + 16*i       | 8    | key[i]      | strictly increasing                      |
//! | 16 + 16*i      | 4    | off[i]      | value offset in the body, >= value_start |
//! | 20 + 16*i      | 4    | len[i]      | value length                             |
//!
//! Internal nodes hold 8-byte values: the child block number. The child at
//! slot `i` holds keys in `[key[i], key[i+1])`; `key[0]` of an internal node
//! is a lower bound only.

use crate::bytes::*;
use crate::error::{bad, FormatError};

pub const NODE_HEADER: usize = 8;
pub const SLOT_SIZE: usize = 16;
pub const MAX_LEVEL: u16 = 8;

// level + nitems + value_start; key + off + len.
const _: () = assert!(2 + 2 + 4 == NODE_HEADER && 8 + 4 + 4 == SLOT_SIZE);
// The inode-resident root must hold at least two items of every kind.
const _: () = assert!(NODE_HEADER + 2 * (SLOT_SIZE + crate::extent::EXTENT_VALUE_SIZE) <= crate::inode::DATA_SIZE);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeHeader {
    pub level: u16,
    pub nitems: usize,
    pub value_start: usize,
}

/// Read and bounds-check the node header.
pub fn header(body: &[u8]) -> Result<NodeHeader, FormatError> {
    let level = get_u16(body, 0)?;
    let nitems = usize::from(get_u16(body, 2)?);
    let value_start = get_u32(body, 4)? as usize;
    let slots_end = NODE_HEADER + nitems * SLOT_SIZE;
    if level > MAX_LEVEL {
        return Err(bad("tree node level"));
    }
    if slots_end > value_start || value_start > body.len() {
        return Err(bad("tree node item count"));
    }
    Ok(NodeHeader { level, nitems, value_start })
}

/// Initialise an empty node.
pub fn init(body: &mut [u8], level: u16) -> Result<(), FormatError> {
    let len = u32::try_from(body.len()).map_err(|_| FormatError::Truncated)?;
    put_u16(body, 0, level)?;
    put_u16(body, 2, 0)?;
    put_u32(body, 4, len)
}

#[inline]
pub fn key(body: &[u8], i: usize) -> Result<u64, FormatError> {
    get_u64(body, NODE_HEADER + i * SLOT_SIZE)
}

/// The value bytes of slot `i`, bounds-checked against the value area.
pub fn value(body: &[u8], i: usize) -> Result<&[u8], FormatError> {
    let h = header(body)?;
    if i >= h.nitems {
        return Err(bad("tree slot index"));
    }
    let s = NODE_HEADER + i * SLOT_SIZE;
    let off = get_u32(body, s + 8)? as usize;
    let len = get_u32(body, s + 12)? as usize;
    if off < h.value_start {
        return Err(bad("tree value offset"));
    }
    get_bytes(body, off, len)
}

/// The child pointer of slot `i` of an internal node.
pub fn child(body: &[u8], i: usize) -> Result<u64, FormatError> {
    let v = value(body, i)?;
    if v.len() != 8 {
        return Err(bad("tree child pointer"));
    }
    get_u64(v, 0)
}

/// Binary search: `Ok(i)` if `k` is at slot `i`, `Err(i)` for the slot it
/// would be inserted at.
pub fn search(body: &[u8], k: u64) -> Result<Result<usize, usize>, FormatError> {
    let n = header(body)?.nitems;
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let mk = key(body, mid)?;
        if mk == k {
            return Ok(Ok(mid));
        }
        if mk < k {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(Err(lo))
}

/// Index of the last slot whose key is `<= k`, if any.
pub fn floor_slot(body: &[u8], k: u64) -> Result<Option<usize>, FormatError> {
    Ok(match search(body, k)? {
        Ok(i) => Some(i),
        Err(0) => None,
        Err(i) => Some(i - 1),
    })
}

/// Full structural check: header, every slot's bounds, key order.
pub fn validate(body: &[u8]) -> Result<NodeHeader, FormatError> {
    let h = header(body)?;
    let mut prev: Option<u64> = None;
    for i in 0..h.nitems {
        let k = key(body, i)?;
        if prev.is_some_and(|p| p >= k) {
            return Err(bad("tree key order"));
        }
        prev = Some(k);
        let v = value(body, i)?;
        if h.level > 0 && v.len() != 8 {
            return Err(bad("tree child pointer"));
        }
    }
    Ok(h)
}

/// Bytes held by live values.
pub fn live_value_bytes(body: &[u8]) -> Result<usize, FormatError> {
    let h = header(body)?;
    let mut total = 0usize;
    for i in 0..h.nitems {
        total += value(body, i)?.len();
    }
    Ok(total)
}

/// Bytes available for new slots and values once the node is compacted.
pub fn free_after_compaction(body: &[u8]) -> Result<usize, FormatError> {
    let h = header(body)?;
    let used = NODE_HEADER + h.nitems * SLOT_SIZE + live_value_bytes(body)?;
    Ok(body.len().saturating_sub(used))
}

/// Whether a (key, value of `len` bytes) item fits, possibly after compaction.
pub fn fits(body: &[u8], len: usize) -> Result<bool, FormatError> {
    Ok(free_after_compaction(body)? >= SLOT_SIZE + len)
}

/// Rewrite the value area without holes. `scratch` must be at least as long
/// as `body`.
pub fn compact(body: &mut [u8], scratch: &mut [u8]) -> Result<(), FormatError> {
    let h = header(body)?;
    let scratch = scratch.get_mut(..body.len()).ok_or(FormatError::Truncated)?;
    scratch.copy_from_slice(body);
    let mut end = body.len();
    for i in 0..h.nitems {
        let v = value(scratch, i)?;
        let start = end.checked_sub(v.len()).ok_or(bad("tree node overflow"))?;
        put_bytes(body, start, v)?;
        let s = NODE_HEADER + i * SLOT_SIZE;
        put_u32(body, s + 8, start as u32)?;
        end = start;
    }
    put_u32(body, 4, end as u32)
}

/// Insert at slot `i` (keys must stay ordered; the caller found `i` with
/// [`search`]). Returns `Ok(false)` without changing anything if the node
/// is full.
pub fn insert_at(body: &mut [u8], i: usize, k: u64, v: &[u8], scratch: &mut [u8]) -> Result<bool, FormatError> {
    let mut h = header(body)?;
    if i > h.nitems || h.nitems >= usize::from(u16::MAX) {
        return Err(bad("tree slot index"));
    }
    let slots_end = NODE_HEADER + h.nitems * SLOT_SIZE;
    if h.value_start < slots_end + SLOT_SIZE + v.len() {
        if !fits(body, v.len())? {
            return Ok(false);
        }
        compact(body, scratch)?;
        h = header(body)?;
    }
    let vstart = h.value_start - v.len();
    put_bytes(body, vstart, v)?;
    let s = NODE_HEADER + i * SLOT_SIZE;
    body.copy_within(s..slots_end, s + SLOT_SIZE);
    put_u64(body, s, k)?;
    put_u32(body, s + 8, vstart as u32)?;
    put_u32(body, s + 12, v.len() as u32)?;
    put_u16(body, 2, (h.nitems + 1) as u16)?;
    put_u32(body, 4, vstart as u32)?;
    Ok(true)
}

/// Remove slot `i`. Its value bytes become garbage until the next compaction.
pub fn remove_at(body: &mut [u8], i: usize) -> Result<(), FormatError> {
    let h = header(body)?;
    if i >= h.nitems {
        return Err(bad("tree slot index"));
    }
    let s = NODE_HEADER + i * SLOT_SIZE;
    let slots_end = NODE_HEADER + h.nitems * SLOT_SIZE;
    body.copy_within(s + SLOT_SIZE..slots_end, s);
    put_u16(body, 2, (h.nitems - 1) as u16)?;
    if h.nitems == 1 {
        // Empty: reclaim the whole value area at once.
        put_u32(body, 4, body.len() as u32)?;
    }
    Ok(())
}

/// Change the key of slot `i` (used to lower an internal node's separator).
pub fn set_key(body: &mut [u8], i: usize, k: u64) -> Result<(), FormatError> {
    if i >= header(body)?.nitems {
        return Err(bad("tree slot index"));
    }
    put_u64(body, NODE_HEADER + i * SLOT_SIZE, k)
}

/// Replace the value of slot `i`. Same-length values are overwritten in
/// place; otherwise the item is re-inserted. `Ok(false)` if it cannot fit.
pub fn set_value(body: &mut [u8], i: usize, v: &[u8], scratch: &mut [u8]) -> Result<bool, FormatError> {
    let old_len = value(body, i)?.len();
    if old_len == v.len() {
        let s = NODE_HEADER + i * SLOT_SIZE;
        let off = get_u32(body, s + 8)? as usize;
        put_bytes(body, off, v)?;
        return Ok(true);
    }
    let free = free_after_compaction(body)? + old_len + SLOT_SIZE;
    if free < SLOT_SIZE + v.len() {
        return Ok(false);
    }
    let k = key(body, i)?;
    remove_at(body, i)?;
    insert_at(body, i, k, v, scratch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_compact() {
        let mut body = [0u8; 112];
        let mut scratch = [0u8; 112];
        init(&mut body, 0).unwrap();
        assert!(insert_at(&mut body, 0, 10, &[1; 16], &mut scratch).unwrap());
        assert!(insert_at(&mut body, 1, 20, &[2; 16], &mut scratch).unwrap());
        assert!(insert_at(&mut body, 0, 5, &[3; 16], &mut scratch).unwrap());
        assert!(!insert_at(&mut body, 3, 30, &[4; 16], &mut scratch).unwrap(), "112 bytes hold 3 extents");
        assert_eq!(validate(&body).unwrap().nitems, 3);
        assert_eq!(value(&body, 1).unwrap(), &[1; 16]);
        remove_at(&mut body, 1).unwrap();
        assert!(insert_at(&mut body, 2, 30, &[4; 16], &mut scratch).unwrap(), "compaction reclaims space");
        assert_eq!(key(&body, 2).unwrap(), 30);
        assert_eq!(value(&body, 2).unwrap(), &[4; 16]);
        assert_eq!(value(&body, 0).unwrap(), &[3; 16]);
        assert_eq!(search(&body, 20).unwrap(), Ok(1));
        assert_eq!(floor_slot(&body, 25).unwrap(), Some(1));
        assert_eq!(floor_slot(&body, 1).unwrap(), None);
    }

    proptest::proptest! {
        #[test]
        fn validate_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if validate(&data).is_ok() {
                let n = header(&data).unwrap().nitems;
                for i in 0..n { let _ = value(&data, i).unwrap(); }
            }
        }
    }
}
