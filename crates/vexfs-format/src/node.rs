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

/// Check a node block as read from the device: [`validate`], not empty
/// (the tree code frees a block node when its last item goes; only the root
/// may be empty, and a block pushed down from an empty root is filled in
/// the same transaction), and every child pointer of an internal node inside
/// `children` (the data area). Run once, when the block enters the cache.
pub fn validate_block(body: &[u8], children: core::ops::Range<u64>) -> Result<NodeHeader, FormatError> {
    let h = validate(body)?;
    if h.nitems == 0 {
        return Err(bad("empty tree node"));
    }
    if h.level > 0 {
        for i in 0..h.nitems {
            if !children.contains(&child(body, i)?) {
                return Err(bad("tree child pointer outside the data area"));
            }
        }
    }
    Ok(h)
}

/// The keys a node may hold, as its parent routes them: `[lo, hi)`, with
/// `hi = None` for no upper bound. The root's range is [`KeyRange::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRange {
    pub lo: u64,
    pub hi: Option<u64>,
}

impl KeyRange {
    pub const ALL: Self = Self { lo: 0, hi: None };

    pub fn contains(&self, k: u64) -> bool {
        k >= self.lo && self.hi.is_none_or(|h| k < h)
    }
}

/// Where a node sits in its tree: the level its parent implies (`None` for
/// the root) and the key range the parent routes to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub level: Option<u16>,
    pub range: KeyRange,
}

impl Placement {
    pub const ROOT: Self = Self { level: None, range: KeyRange::ALL };
}

/// Check a [`validate`]d node against its place in the tree: the level one
/// below its parent's, not an empty internal node, and every key inside
/// the parent's range. `key[0]` of an internal node is a lower bound only
/// (routing ignores it), so it is exempt. Keys are already known to be
/// strictly increasing, so only the first and last checked key are looked
/// at: this is O(1) and runs on every descent.
pub fn check_placement(body: &[u8], h: &NodeHeader, at: &Placement) -> Result<(), FormatError> {
    if at.level.is_some_and(|l| l != h.level) {
        return Err(bad("tree node level (not one below its parent)"));
    }
    if h.nitems == 0 {
        // An internal node without children cannot route anything (removing
        // the last child frees it, or resets the root to an empty leaf).
        // Empty leaves are left to [`validate_block`]: one exists for a
        // moment when an empty root is pushed down.
        if h.level > 0 {
            return Err(bad("internal tree node without children"));
        }
        return Ok(());
    }
    let first = usize::from(h.level > 0);
    if first < h.nitems {
        let lo = key(body, first)?;
        let hi = key(body, h.nitems - 1)?;
        if !at.range.contains(lo) || !at.range.contains(hi) {
            return Err(bad("tree key outside the range its parent gives"));
        }
    }
    Ok(())
}

/// The placement of the child in slot `i` of an internal node placed at
/// `at`: one level down, keys in `[key[i], key[i+1])` clipped to the
/// node's own range (slot 0 starts at the node's lower bound).
pub fn child_placement(body: &[u8], h: &NodeHeader, i: usize, at: &Placement) -> Result<Placement, FormatError> {
    if h.level == 0 || i >= h.nitems {
        return Err(bad("tree slot index"));
    }
    let lo = if i == 0 { at.range.lo } else { key(body, i)? };
    let hi = if i + 1 < h.nitems { Some(key(body, i + 1)?) } else { at.range.hi };
    Ok(Placement { level: Some(h.level - 1), range: KeyRange { lo, hi } })
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
    extern crate std;
    use std::vec;
    use std::vec::Vec;

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

    /// A leaf or internal node body of `len` bytes holding `keys`
    /// (internal values: child `100 + i`).
    fn node_with(len: usize, level: u16, keys: &[u64]) -> Vec<u8> {
        let mut body = vec![0u8; len];
        let mut scratch = vec![0u8; len];
        init(&mut body, level).unwrap();
        for (i, k) in keys.iter().enumerate() {
            let v = (100 + i as u64).to_le_bytes();
            assert!(insert_at(&mut body, i, *k, &v, &mut scratch).unwrap());
        }
        body
    }

    #[test]
    fn block_validation() {
        let ok = node_with(512, 1, &[0, 10, 20]);
        assert_eq!(validate_block(&ok, 100..200).unwrap().nitems, 3);
        assert!(validate_block(&ok, 101..200).is_err(), "child 100 outside the data area");
        assert!(validate_block(&node_with(512, 0, &[]), 0..200).is_err(), "empty block node");
        // Keys out of order, with the layout otherwise intact.
        let mut bad_order = node_with(512, 0, &[5, 6, 7]);
        put_u64(&mut bad_order, NODE_HEADER + SLOT_SIZE, 9).unwrap();
        assert_eq!(validate_block(&bad_order, 0..200), Err(bad("tree key order")));
        // More items than the slot area can hold.
        let mut too_many = node_with(512, 0, &[5]);
        put_u16(&mut too_many, 2, 40).unwrap();
        assert!(validate_block(&too_many, 0..200).is_err());
        // A value running past the end of the node.
        let mut long_value = node_with(512, 0, &[5]);
        put_u32(&mut long_value, NODE_HEADER + 12, 4096).unwrap();
        assert!(validate_block(&long_value, 0..200).is_err());
    }

    #[test]
    fn placement() {
        let root = node_with(512, 2, &[0, 10, 20]);
        let h = validate(&root).unwrap();
        check_placement(&root, &h, &Placement::ROOT).unwrap();
        let c0 = child_placement(&root, &h, 0, &Placement::ROOT).unwrap();
        let c1 = child_placement(&root, &h, 1, &Placement::ROOT).unwrap();
        let c2 = child_placement(&root, &h, 2, &Placement::ROOT).unwrap();
        assert_eq!(c0, Placement { level: Some(1), range: KeyRange { lo: 0, hi: Some(10) } });
        assert_eq!(c1.range, KeyRange { lo: 10, hi: Some(20) });
        assert_eq!(c2.range, KeyRange { lo: 20, hi: None });
        assert!(child_placement(&root, &h, 3, &Placement::ROOT).is_err());

        // An internal child: key[0] is exempt, key[1..] must lie in range.
        let mid = node_with(512, 1, &[10, 15, 19]);
        let mh = validate(&mid).unwrap();
        assert!(check_placement(&mid, &mh, &c0).is_err());
        check_placement(&mid, &mh, &c1).unwrap();
        // Wrong level.
        let l0 = Placement { level: Some(0), ..c1 };
        assert!(check_placement(&mid, &mh, &l0).is_err());
        // A key at the upper bound belongs to the next sibling.
        let at20 = node_with(512, 0, &[12, 20]);
        let ah = validate(&at20).unwrap();
        assert!(check_placement(&at20, &ah, &Placement { level: Some(0), ..c1 }).is_err());
        // Empty internal nodes are refused anywhere, empty leaves are not.
        let empty_internal = node_with(512, 1, &[]);
        let eh = validate(&empty_internal).unwrap();
        assert!(check_placement(&empty_internal, &eh, &Placement::ROOT).is_err());
        let empty_leaf = node_with(512, 0, &[]);
        let elh = validate(&empty_leaf).unwrap();
        check_placement(&empty_leaf, &elh, &Placement::ROOT).unwrap();
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
