//! Salvage of a damaged attribute set: when an inode's blob or attribute
//! tree fails the checker's strict walk, keep every attribute that still
//! verifies instead of dropping them all.
//!
//! The strict walk (`scan::check_xattr`) refuses the whole set at the first
//! fault, because a mount must not trust a tree with one bad node. Repair
//! can do better: the blob's inline entries, every leaf item reachable
//! through node blocks whose header, owner and structure verify, and every
//! value run whose checksum matches are each sound on their own. They are
//! collected here; the repair drops the damaged set (the bitmap pass frees
//! its blocks, none of which the plan claims) and then writes the
//! salvaged attributes back through the ordinary attribute code, which
//! builds a fresh blob or tree for them.
//!
//! The walk tolerates anything: each block is visited once, depth is
//! bounded by the format's maximum level, and the bytes kept are capped,
//! so a crafted image cannot make it loop or exhaust memory.

use super::scan::{in_data_area, read_block, read_blocks};
use crate::device::BlockDevice;
use crate::error::Result;
use crate::fs::Fs;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use vexfs_format::bytes::get_u64;
use vexfs_format::checksum::crc32c;
use vexfs_format::header::{self, HEADER_SIZE, NODE_MAGIC, XATTR_MAGIC};
use vexfs_format::inode::{Inode, FLAG_XATTR_PACKED, FLAG_XATTR_TREE};
use vexfs_format::node;
use vexfs_format::xattr::{Namespace, XattrIter, BLOB_HEADER, MAX_BLOB};
use vexfs_format::xattr_pack;
use vexfs_format::xattr_tree::{TreeItem, TreeValue, TREE_BLOB_HEADER, TREE_ROOT_OFFSET};

/// Bytes of names and values one inode's salvage may keep in memory; the
/// attributes past it are counted as lost.
const MAX_SALVAGE_BYTES: usize = 64 << 20;

/// One attribute that verified: namespace, name without prefix, value.
pub(crate) type Attr = (Namespace, Vec<u8>, Vec<u8>);

/// What a salvage found.
#[derive(Default)]
pub(crate) struct Salvaged {
    /// Attributes to write back, each name once (the first found wins:
    /// blob entries, then tree items in key order).
    pub attrs: Vec<Attr>,
    /// Items, entries or value runs that did not verify (or repeated a
    /// name, or were past the memory cap).
    pub lost_items: u64,
    /// Blob or tree blocks that did not verify (their items are unknown).
    pub lost_blocks: u64,
}

/// Collect what verifies of `ino`'s attributes (see the module comment).
pub(crate) fn salvage_xattrs<D: BlockDevice>(
    fs: &mut Fs<D>,
    ino: u64,
    inode: &Inode,
) -> Result<Salvaged> {
    let mut s = Walk {
        ino,
        out: Salvaged::default(),
        names: BTreeSet::new(),
        bytes: 0,
        seen: BTreeSet::new(),
    };
    if inode.flags & FLAG_XATTR_PACKED != 0 {
        s.packed(fs, inode)?;
    } else {
        s.blob(fs, inode)?;
    }
    Ok(s.out)
}

struct Walk {
    ino: u64,
    out: Salvaged,
    names: BTreeSet<(Namespace, Vec<u8>)>,
    bytes: usize,
    /// Tree blocks visited (each at most once).
    seen: BTreeSet<u64>,
}

impl Walk {
    /// Keep `a` unless its name was kept already or the memory cap is
    /// reached (then it counts as lost).
    fn keep(&mut self, a: Attr) {
        let size = a.1.len() + a.2.len();
        if self.bytes + size > MAX_SALVAGE_BYTES || !self.names.insert((a.0, a.1.clone())) {
            self.out.lost_items += 1;
            return;
        }
        self.bytes += size;
        self.out.attrs.push(a);
    }

    /// The inline entries of a verified blob, up to the first that does
    /// not decode.
    fn entries(&mut self, blob: &[u8], start: usize) {
        let Ok(iter) = XattrIter::new_at(blob, start) else {
            self.out.lost_blocks += 1;
            return;
        };
        for e in iter {
            match e {
                Ok(e) => {
                    let a = (e.namespace, e.name.to_vec(), e.value.to_vec());
                    self.keep(a);
                }
                Err(_) => {
                    self.out.lost_items += 1;
                    break;
                }
            }
        }
    }

    fn packed<D: BlockDevice>(&mut self, fs: &mut Fs<D>, inode: &Inode) -> Result<()> {
        let nr = inode.xattr_block;
        let (off, len) = (inode.xattr_offset as usize, inode.xattr_len as usize);
        if xattr_pack::blob_units(inode.xattr_offset, inode.xattr_len, fs.bs).is_err()
            || !in_data_area(fs, nr, 1)
            || off + len > fs.bs
        {
            self.out.lost_blocks += 1;
            return Ok(());
        }
        let mut block = alloc::vec![0u8; fs.bs];
        read_block(fs, nr, &mut block)?;
        let addr = xattr_pack::blob_address(nr, inode.xattr_offset, fs.bs);
        let blob = &block[off..off + len];
        // The pack block's own header and map are not consulted (they may
        // be what is damaged): the blob carries a checksum of its own.
        match header::verify(blob, XATTR_MAGIC, addr, "packed xattr blob") {
            Ok(owner) if owner == self.ino => self.entries(blob, BLOB_HEADER),
            _ => self.out.lost_blocks += 1,
        }
        Ok(())
    }

    fn blob<D: BlockDevice>(&mut self, fs: &mut Fs<D>, inode: &Inode) -> Result<()> {
        let first = inode.xattr_block;
        let n = u64::from(inode.xattr_blocks);
        let bs = fs.bs as u64;
        if first == 0
            || n == 0
            || n.saturating_mul(bs) > MAX_BLOB as u64 + bs
            || !in_data_area(fs, first, n)
        {
            self.out.lost_blocks += 1;
            return Ok(());
        }
        let blob = read_blocks(fs, first, n)?;
        if header::verify(&blob, XATTR_MAGIC, first, "xattr blob").ok() != Some(self.ino) {
            self.out.lost_blocks += 1;
            return Ok(());
        }
        let tree = inode.flags & FLAG_XATTR_TREE != 0;
        self.entries(&blob, if tree { TREE_BLOB_HEADER } else { BLOB_HEADER });
        if tree {
            match get_u64(&blob, TREE_ROOT_OFFSET) {
                Ok(root) => self.node(fs, root, 0)?,
                Err(_) => self.out.lost_blocks += 1,
            }
        }
        Ok(())
    }

    /// One tree node: its items if it is a leaf, its children otherwise.
    fn node<D: BlockDevice>(&mut self, fs: &mut Fs<D>, nr: u64, depth: u16) -> Result<()> {
        if depth > node::MAX_LEVEL || !in_data_area(fs, nr, 1) || !self.seen.insert(nr) {
            self.out.lost_blocks += 1;
            return Ok(());
        }
        let mut blk = alloc::vec![0u8; fs.bs];
        read_block(fs, nr, &mut blk)?;
        if header::verify(&blk, NODE_MAGIC, nr, "attribute tree node").ok() != Some(self.ino) {
            self.out.lost_blocks += 1;
            return Ok(());
        }
        let body = blk.get(HEADER_SIZE..).unwrap_or(&[]);
        let Ok(h) = node::validate(body) else {
            self.out.lost_blocks += 1;
            return Ok(());
        };
        for i in 0..h.nitems {
            if h.level > 0 {
                match node::child(body, i) {
                    Ok(c) => self.node(fs, c, depth + 1)?,
                    Err(_) => self.out.lost_blocks += 1,
                }
                continue;
            }
            let item = node::value(body, i).and_then(TreeItem::decode);
            let Ok(item) = item else {
                self.out.lost_items += 1;
                continue;
            };
            let value = match item.value {
                TreeValue::Inline(v) => Some(v.to_vec()),
                TreeValue::Run(r) => {
                    let nb = r.blocks(fs.bs);
                    if in_data_area(fs, r.first, nb) && r.len as usize <= MAX_SALVAGE_BYTES {
                        let mut v = read_blocks(fs, r.first, nb)?;
                        v.truncate(r.len as usize);
                        (crc32c(&v) == r.crc).then_some(v)
                    } else {
                        None
                    }
                }
            };
            match value {
                Some(v) => {
                    let a = (item.namespace, item.name.to_vec(), v);
                    self.keep(a);
                }
                None => self.out.lost_items += 1,
            }
        }
        Ok(())
    }
}
