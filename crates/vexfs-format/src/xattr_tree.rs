//! Extended attributes past one block: the per-inode attribute tree.
//!
//! An inode with `FLAG_XATTR_TREE` keeps its blob (see [`crate::xattr`]) for
//! the attributes read on hot paths (the POSIX ACLs and the embedding) and
//! keeps every other attribute in a B+tree of [`crate::node`] nodes. The
//! blob's header then has one more field:
//!
//! | off | size | field     | meaning                                   |
//! |-----|------|-----------|-------------------------------------------|
//! | 32  | 4    | count     | entries in the blob                       |
//! | 36  | 4    | used      | bytes used from offset 0 (header incl.)   |
//! | 40  | 8    | tree_root | block of the tree's root node             |
//! | 48  | ...  | entries   | as in a plain blob                        |
//!
//! The root is a node block (magic `NODE_MAGIC`, owner = inode) that keeps
//! its number for the tree's life: the tree grows and shrinks below it.
//! Keys are [`key_range`]: a 54-bit hash of (namespace, name) and 8 bits
//! of collision sequence, as directory keys are. A leaf item:
//!
//! | off   | size | field     | meaning                                 |
//! |-------|------|-----------|-----------------------------------------|
//! | 0     | 1    | namespace | as in the blob                          |
//! | 1     | 1    | name_len  | 1..=255                                 |
//! | 2     | 1    | kind      | 0 inline value, 1 value run             |
//! | 3     | n    | name      | compared in full on lookup              |
//! | 3+n   | m    | value     | kind 0: the value bytes                 |
//! | 3+n   | 8    | first     | kind 1: first block of the run          |
//! | 11+n  | 4    | value_len | kind 1: 0..=MAX_VALUE                   |
//! | 15+n  | 4    | crc32c    | kind 1: of the value bytes              |
//!
//! A value run is `ceil(value_len / block_size)` contiguous raw blocks
//! holding the value, zero-padded; it is written before the tree item that
//! names it commits, as file data is.

use crate::bytes::*;
use crate::error::{bad, FormatError};
use crate::xattr::{Namespace, MAX_VALUE};

/// Offset of `tree_root` in a tree inode's blob.
pub const TREE_ROOT_OFFSET: usize = 40;
/// Where a tree inode's blob entries start.
pub const TREE_BLOB_HEADER: usize = 48;
const _: () = assert!(crate::xattr::BLOB_HEADER + 8 == TREE_BLOB_HEADER);
pub const ITEM_HEADER: usize = 3;
pub const RUN_SIZE: usize = 16;
const _: () = assert!(8 + 4 + 4 == RUN_SIZE);

const HASH_BITS: u32 = 54;
const SEQ_BITS: u32 = 8;

/// The attribute hash: FNV-1a 64 over the namespace byte and the name,
/// murmur3's fmix64, truncated to 54 bits. Part of the format.
pub fn attr_hash(ns: Namespace, name: &[u8]) -> u64 {
    let bytes = core::iter::once(ns as u8).chain(name.iter().copied());
    crate::dirent::fnv1a_fmix64(bytes) & ((1 << HASH_BITS) - 1)
}

/// The keys an attribute may sit under: `[lo, hi]`, lowest free first.
pub fn key_range(ns: Namespace, name: &[u8]) -> (u64, u64) {
    let base = attr_hash(ns, name) << SEQ_BITS;
    (base, base | ((1 << SEQ_BITS) - 1))
}

/// Where an attribute's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeValue<'a> {
    Inline(&'a [u8]),
    Run(ValueRun),
}

/// A value stored in its own blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueRun {
    pub first: u64,
    pub len: u32,
    pub crc: u32,
}

impl ValueRun {
    /// Blocks the run covers.
    pub fn blocks(&self, block_size: usize) -> u64 {
        (self.len as usize).div_ceil(block_size.max(1)) as u64
    }
}

/// One leaf item of the attribute tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeItem<'a> {
    pub namespace: Namespace,
    pub name: &'a [u8],
    pub value: TreeValue<'a>,
}

impl<'a> TreeItem<'a> {
    pub fn encoded_len(&self) -> usize {
        ITEM_HEADER
            + self.name.len()
            + match self.value {
                TreeValue::Inline(v) => v.len(),
                TreeValue::Run(_) => RUN_SIZE,
            }
    }

    /// The value's length in bytes.
    pub fn value_len(&self) -> usize {
        match self.value {
            TreeValue::Inline(v) => v.len(),
            TreeValue::Run(r) => r.len as usize,
        }
    }

    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, FormatError> {
        if self.name.is_empty() || self.name.len() > 255 || self.value_len() > MAX_VALUE {
            return Err(bad("xattr tree item size"));
        }
        put_u8(buf, 0, self.namespace as u8)?;
        put_u8(buf, 1, self.name.len() as u8)?;
        let at = ITEM_HEADER + self.name.len();
        put_bytes(buf, ITEM_HEADER, self.name)?;
        match self.value {
            TreeValue::Inline(v) => {
                put_u8(buf, 2, 0)?;
                put_bytes(buf, at, v)?;
            }
            TreeValue::Run(r) => {
                put_u8(buf, 2, 1)?;
                put_u64(buf, at, r.first)?;
                put_u32(buf, at + 8, r.len)?;
                put_u32(buf, at + 12, r.crc)?;
            }
        }
        Ok(self.encoded_len())
    }

    /// Decode an item; every length is checked against the item's bytes.
    pub fn decode(buf: &'a [u8]) -> Result<Self, FormatError> {
        let namespace = Namespace::from_u8(get_u8(buf, 0)?).ok_or(bad("xattr namespace"))?;
        let nlen = usize::from(get_u8(buf, 1)?);
        if nlen == 0 {
            return Err(bad("xattr tree item name"));
        }
        let name = get_bytes(buf, ITEM_HEADER, nlen)?;
        crate::xattr::check_name(name)?;
        let at = ITEM_HEADER + nlen;
        let value = match get_u8(buf, 2)? {
            0 => TreeValue::Inline(buf.get(at..).ok_or(FormatError::Truncated)?),
            1 => {
                if buf.len() != at + RUN_SIZE {
                    return Err(bad("xattr tree item length"));
                }
                let r = ValueRun {
                    first: get_u64(buf, at)?,
                    len: get_u32(buf, at + 8)?,
                    crc: get_u32(buf, at + 12)?,
                };
                if r.len as usize > MAX_VALUE {
                    return Err(bad("xattr value run length"));
                }
                TreeValue::Run(r)
            }
            _ => return Err(bad("xattr tree item kind")),
        };
        let item = Self {
            namespace,
            name,
            value,
        };
        if item.value_len() > MAX_VALUE {
            return Err(bad("xattr tree item size"));
        }
        Ok(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;

    #[test]
    fn round_trip_both_kinds() {
        let mut buf = [0u8; 64];
        let a = TreeItem {
            namespace: Namespace::User,
            name: b"color",
            value: TreeValue::Inline(b"blue"),
        };
        let n = a.encode(&mut buf).unwrap();
        assert_eq!(TreeItem::decode(&buf[..n]).unwrap(), a);
        let r = ValueRun {
            first: 99,
            len: 5000,
            crc: 7,
        };
        let b = TreeItem {
            namespace: Namespace::Trusted,
            name: b"x",
            value: TreeValue::Run(r),
        };
        let n = b.encode(&mut buf).unwrap();
        assert_eq!(n, ITEM_HEADER + 1 + RUN_SIZE);
        assert_eq!(TreeItem::decode(&buf[..n]).unwrap(), b);
        assert_eq!(r.blocks(4096), 2);
        assert!(TreeItem::decode(&buf[..n - 1]).is_err(), "short run");
    }

    #[test]
    fn keys_separate_namespaces() {
        let (u, _) = key_range(Namespace::User, b"a");
        let (t, _) = key_range(Namespace::Trusted, b"a");
        assert_ne!(u, t);
        let (lo, hi) = key_range(Namespace::User, &[0xff; 255]);
        assert!(lo < hi && hi < 1 << 62);
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Ok(i) = TreeItem::decode(&data) {
                let mut buf = std::vec![0u8; i.encoded_len()];
                i.encode(&mut buf).unwrap();
            }
        }
    }
}
