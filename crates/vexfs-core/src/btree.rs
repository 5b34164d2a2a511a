//! The B+tree used for directories and file mappings.
//!
//! Keys are unique u64s, values are short byte strings. The root node lives
//! in the inode's 112-byte `data` area, so small directories and files with
//! few extents need no tree block at all; deeper nodes are metadata blocks
//! owned by the inode. When the root fills it is pushed down into a new
//! block and the root becomes an internal node one level higher (the tree
//! grows at the top, as ext4's extent tree does).
//!
//! Deletes free empty nodes and pull a lone child back into the root when it
//! fits; partially empty nodes are not merged (space, not correctness).

use crate::device::BlockDevice;
use crate::error::{corrupt, FsError, Result};
use crate::fs::Fs;
use crate::tx::Seal;
use alloc::vec::Vec;
use vexfs_format::header::{HEADER_SIZE, NODE_MAGIC};
use vexfs_format::inode::Inode;
use vexfs_format::node;

/// Make an empty leaf root.
pub(crate) fn init_root(data: &mut [u8]) -> Result<()> {
    data.fill(0);
    node::init(data, 0)?;
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Loc {
    Root,
    Block(u64),
}

/// A node's bytes: the whole block for block nodes (the body starts after
/// the header) or a copy of the inode's data area for the root.
struct NodeBuf {
    loc: Loc,
    buf: Vec<u8>,
}

impl NodeBuf {
    fn body(&self) -> &[u8] {
        let off = if self.loc == Loc::Root {
            0
        } else {
            HEADER_SIZE
        };
        self.buf.get(off..).unwrap_or(&[])
    }
    fn body_mut(&mut self) -> &mut [u8] {
        let off = if self.loc == Loc::Root {
            0
        } else {
            HEADER_SIZE
        };
        self.buf.get_mut(off..).unwrap_or(&mut [])
    }
}

type Item = (u64, Vec<u8>);

impl<D: BlockDevice> Fs<D> {
    fn node_load(&mut self, ino: u64, inode: &Inode, loc: Loc) -> Result<NodeBuf> {
        let buf = match loc {
            Loc::Root => inode.data.to_vec(),
            Loc::Block(nr) => {
                if nr < self.sb.data_start {
                    return Err(corrupt("tree node pointer into reserved area"));
                }
                self.meta_block(nr, NODE_MAGIC, Some(ino), "tree node")?
            }
        };
        let n = NodeBuf { loc, buf };
        node::header(n.body())?;
        Ok(n)
    }

    fn node_store(&mut self, ino: u64, inode: &mut Inode, n: NodeBuf) -> Result<()> {
        match n.loc {
            Loc::Root => {
                let len = inode.data.len();
                inode
                    .data
                    .copy_from_slice(n.buf.get(..len).ok_or(FsError::Invalid)?);
                Ok(())
            }
            Loc::Block(nr) => self.put_block(
                nr,
                n.buf,
                Seal::Meta {
                    magic: NODE_MAGIC,
                    owner: ino,
                },
            ),
        }
    }

    fn new_node_block(&mut self, inode: &mut Inode, goal: u64) -> Result<u64> {
        let (nr, _) = self.alloc_blocks(goal, 1)?;
        inode.blocks += 1;
        Ok(nr)
    }

    fn items_of(body: &[u8]) -> Result<Vec<Item>> {
        let h = node::header(body)?;
        let mut v = Vec::with_capacity(h.nitems);
        for i in 0..h.nitems {
            v.push((node::key(body, i)?, node::value(body, i)?.to_vec()));
        }
        Ok(v)
    }

    fn fill_body(body: &mut [u8], level: u16, items: &[Item], scratch: &mut [u8]) -> Result<()> {
        node::init(body, level)?;
        for (i, (k, v)) in items.iter().enumerate() {
            if !node::insert_at(body, i, *k, v, scratch)? {
                return Err(corrupt("tree items do not fit a node"));
            }
        }
        Ok(())
    }

    /// Child to descend into for `key`, with its slot.
    fn route(body: &[u8], key: u64) -> Result<(usize, u64)> {
        let i = node::floor_slot(body, key)?.unwrap_or(0);
        Ok((i, node::child(body, i)?))
    }

    fn edge_in(
        &mut self,
        ino: u64,
        inode: &Inode,
        loc: Loc,
        last: bool,
        depth: u16,
    ) -> Result<Option<Item>> {
        if depth > node::MAX_LEVEL {
            return Err(corrupt("tree deeper than allowed"));
        }
        let n = self.node_load(ino, inode, loc)?;
        let h = node::header(n.body())?;
        if h.nitems == 0 {
            return Ok(None);
        }
        let i = if last { h.nitems - 1 } else { 0 };
        if h.level == 0 {
            return Ok(Some((
                node::key(n.body(), i)?,
                node::value(n.body(), i)?.to_vec(),
            )));
        }
        let c = node::child(n.body(), i)?;
        self.edge_in(ino, inode, Loc::Block(c), last, depth + 1)
    }

    fn floor_in(
        &mut self,
        ino: u64,
        inode: &Inode,
        loc: Loc,
        key: u64,
        depth: u16,
    ) -> Result<Option<Item>> {
        if depth > node::MAX_LEVEL {
            return Err(corrupt("tree deeper than allowed"));
        }
        let n = self.node_load(ino, inode, loc)?;
        let h = node::header(n.body())?;
        if h.level == 0 {
            return Ok(match node::floor_slot(n.body(), key)? {
                Some(i) => Some((node::key(n.body(), i)?, node::value(n.body(), i)?.to_vec())),
                None => None,
            });
        }
        if h.nitems == 0 {
            return Ok(None);
        }
        let (mut i, c) = Self::route(n.body(), key)?;
        if let Some(r) = self.floor_in(ino, inode, Loc::Block(c), key, depth + 1)? {
            return Ok(Some(r));
        }
        while i > 0 {
            i -= 1;
            let c = node::child(n.body(), i)?;
            if let Some(r) = self.edge_in(ino, inode, Loc::Block(c), true, depth + 1)? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    fn ceil_in(
        &mut self,
        ino: u64,
        inode: &Inode,
        loc: Loc,
        key: u64,
        depth: u16,
    ) -> Result<Option<Item>> {
        if depth > node::MAX_LEVEL {
            return Err(corrupt("tree deeper than allowed"));
        }
        let n = self.node_load(ino, inode, loc)?;
        let h = node::header(n.body())?;
        if h.level == 0 {
            let i = match node::search(n.body(), key)? {
                Ok(i) | Err(i) => i,
            };
            return Ok(if i < h.nitems {
                Some((node::key(n.body(), i)?, node::value(n.body(), i)?.to_vec()))
            } else {
                None
            });
        }
        if h.nitems == 0 {
            return Ok(None);
        }
        let (mut i, c) = Self::route(n.body(), key)?;
        if let Some(r) = self.ceil_in(ino, inode, Loc::Block(c), key, depth + 1)? {
            return Ok(Some(r));
        }
        while i + 1 < h.nitems {
            i += 1;
            let c = node::child(n.body(), i)?;
            if let Some(r) = self.edge_in(ino, inode, Loc::Block(c), false, depth + 1)? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// Up to `max` items with keys `>= key`, in order, taken from the leaf
    /// that holds the first of them (so a scan costs one descent per leaf,
    /// not per item). An empty result means there are no more items.
    pub(crate) fn tree_range(
        &mut self,
        ino: u64,
        inode: &Inode,
        key: u64,
        max: usize,
    ) -> Result<Vec<Item>> {
        let mut loc = Loc::Root;
        for _ in 0..=node::MAX_LEVEL {
            let n = self.node_load(ino, inode, loc)?;
            let h = node::header(n.body())?;
            if h.level == 0 {
                let first = match node::search(n.body(), key)? {
                    Ok(i) | Err(i) => i,
                };
                let mut out = Vec::new();
                for i in first..h.nitems.min(first.saturating_add(max)) {
                    out.push((node::key(n.body(), i)?, node::value(n.body(), i)?.to_vec()));
                }
                if out.is_empty() {
                    // The ceiling lies in a later subtree: fall back to the
                    // general search, which backtracks across leaves.
                    return Ok(self.tree_ceil(ino, inode, key)?.into_iter().collect());
                }
                return Ok(out);
            }
            if h.nitems == 0 {
                return Ok(Vec::new());
            }
            loc = Loc::Block(Self::route(n.body(), key)?.1);
        }
        Err(corrupt("tree deeper than allowed"))
    }

    /// The item with the greatest key `<= key`.
    pub(crate) fn tree_floor(&mut self, ino: u64, inode: &Inode, key: u64) -> Result<Option<Item>> {
        self.floor_in(ino, inode, Loc::Root, key, 0)
    }

    /// The item with the smallest key `>= key`.
    pub(crate) fn tree_ceil(&mut self, ino: u64, inode: &Inode, key: u64) -> Result<Option<Item>> {
        self.ceil_in(ino, inode, Loc::Root, key, 0)
    }

    /// Whether the tree holds no items.
    pub(crate) fn tree_is_empty(&mut self, ino: u64, inode: &Inode) -> Result<bool> {
        Ok(self.tree_ceil(ino, inode, 0)?.is_none())
    }

    /// Push the root's contents into a new block; the root becomes an
    /// internal node with that block as its only child.
    fn grow_root(&mut self, ino: u64, inode: &mut Inode) -> Result<()> {
        let root = self.node_load(ino, inode, Loc::Root)?;
        let h = node::header(root.body())?;
        if h.level >= node::MAX_LEVEL {
            return Err(FsError::NoSpace);
        }
        let items = Self::items_of(root.body())?;
        let nr = self.new_node_block(inode, self.block_hint)?;
        let mut scratch = alloc::vec![0u8; self.bs];
        let mut blk = NodeBuf {
            loc: Loc::Block(nr),
            buf: alloc::vec![0u8; self.bs],
        };
        Self::fill_body(blk.body_mut(), h.level, &items, &mut scratch)?;
        self.node_store(ino, inode, blk)?;
        let mut r = NodeBuf {
            loc: Loc::Root,
            buf: alloc::vec![0u8; inode.data.len()],
        };
        Self::fill_body(
            r.body_mut(),
            h.level + 1,
            &[(0, nr.to_le_bytes().to_vec())],
            &mut scratch,
        )?;
        self.node_store(ino, inode, r)
    }

    /// Split a full block node in two by bytes; returns (separator, right).
    fn split(&mut self, ino: u64, inode: &mut Inode, n: &NodeBuf) -> Result<(u64, u64)> {
        let Loc::Block(left_nr) = n.loc else {
            return Err(FsError::Invalid);
        };
        let h = node::header(n.body())?;
        let items = Self::items_of(n.body())?;
        if items.len() < 2 {
            return Err(corrupt("cannot split a node with fewer than two items"));
        }
        let total: usize = items.iter().map(|(_, v)| v.len() + node::SLOT_SIZE).sum();
        let mut acc = 0usize;
        let mut m = 0usize;
        while m < items.len() - 1 && acc < total / 2 {
            acc += items.get(m).map_or(0, |(_, v)| v.len() + node::SLOT_SIZE);
            m += 1;
        }
        let m = m.max(1);
        let (left_items, right_items) = items.split_at(m);
        let sep = right_items
            .first()
            .map(|(k, _)| *k)
            .ok_or(FsError::Invalid)?;
        let right_nr = self.new_node_block(inode, left_nr + 1)?;
        let mut scratch = alloc::vec![0u8; self.bs];
        let mut l = NodeBuf {
            loc: Loc::Block(left_nr),
            buf: alloc::vec![0u8; self.bs],
        };
        Self::fill_body(l.body_mut(), h.level, left_items, &mut scratch)?;
        let mut r = NodeBuf {
            loc: Loc::Block(right_nr),
            buf: alloc::vec![0u8; self.bs],
        };
        Self::fill_body(r.body_mut(), h.level, right_items, &mut scratch)?;
        self.node_store(ino, inode, l)?;
        self.node_store(ino, inode, r)?;
        Ok((sep, right_nr))
    }

    /// Insert into the subtree at `loc`; returns a (separator, new block)
    /// pair for the parent when the node split.
    fn insert_rec(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        loc: Loc,
        key: u64,
        val: &[u8],
        depth: u16,
    ) -> Result<Option<(u64, u64)>> {
        if depth > node::MAX_LEVEL {
            return Err(corrupt("tree deeper than allowed"));
        }
        let mut scratch = alloc::vec![0u8; self.bs];
        let mut n = self.node_load(ino, inode, loc)?;
        let h = node::header(n.body())?;
        let (slot, item_key, item_val): (usize, u64, Vec<u8>);
        if h.level == 0 {
            slot = match node::search(n.body(), key)? {
                Ok(_) => return Err(FsError::Exists),
                Err(i) => i,
            };
            item_key = key;
            item_val = val.to_vec();
        } else {
            let (i, c) = Self::route(n.body(), key)?;
            match self.insert_rec(ino, inode, Loc::Block(c), key, val, depth + 1)? {
                None => return Ok(None),
                Some((sep, nb)) => {
                    slot = i + 1;
                    item_key = sep;
                    item_val = nb.to_le_bytes().to_vec();
                }
            }
        }
        if node::insert_at(n.body_mut(), slot, item_key, &item_val, &mut scratch)? {
            self.node_store(ino, inode, n)?;
            return Ok(None);
        }
        if loc == Loc::Root {
            // The caller grows the root before descending; reaching here
            // means an item larger than a whole root.
            return Err(FsError::NoSpace);
        }
        let (sep, right) = self.split(ino, inode, &n)?;
        let target = if item_key >= sep {
            Loc::Block(right)
        } else {
            loc
        };
        let mut t = self.node_load(ino, inode, target)?;
        let pos = match node::search(t.body(), item_key)? {
            Ok(_) => return Err(corrupt("duplicate key after split")),
            Err(i) => i,
        };
        if !node::insert_at(t.body_mut(), pos, item_key, &item_val, &mut scratch)? {
            return Err(FsError::NoSpace);
        }
        self.node_store(ino, inode, t)?;
        Ok(Some((sep, right)))
    }

    /// Insert a new key; `Exists` if it is already present. The caller
    /// writes `inode` back (its root and block count change).
    pub(crate) fn tree_insert(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        key: u64,
        val: &[u8],
    ) -> Result<()> {
        if val.len() + node::SLOT_SIZE + node::NODE_HEADER > (self.bs - HEADER_SIZE) / 2 {
            return Err(FsError::Invalid);
        }
        let root = self.node_load(ino, inode, Loc::Root)?;
        let h = node::header(root.body())?;
        let need = if h.level == 0 { val.len() } else { 8 };
        if !node::fits(root.body(), need)? {
            self.grow_root(ino, inode)?;
        }
        self.insert_rec(ino, inode, Loc::Root, key, val, 0)
            .map(|_| ())
    }

    /// Replace the value under an existing key.
    pub(crate) fn tree_update(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        key: u64,
        val: &[u8],
    ) -> Result<()> {
        let mut loc = Loc::Root;
        for _ in 0..=node::MAX_LEVEL {
            let mut n = self.node_load(ino, inode, loc)?;
            let h = node::header(n.body())?;
            if h.level == 0 {
                let i = node::search(n.body(), key)?.map_err(|_| FsError::NotFound)?;
                let mut scratch = alloc::vec![0u8; self.bs];
                if node::set_value(n.body_mut(), i, val, &mut scratch)? {
                    return self.node_store(ino, inode, n);
                }
                self.tree_remove(ino, inode, key)?;
                return self.tree_insert(ino, inode, key, val);
            }
            loc = Loc::Block(Self::route(n.body(), key)?.1);
        }
        Err(corrupt("tree deeper than allowed"))
    }

    /// Remove from the subtree; returns (found, node now empty).
    fn remove_rec(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        loc: Loc,
        key: u64,
        depth: u16,
    ) -> Result<(bool, bool)> {
        if depth > node::MAX_LEVEL {
            return Err(corrupt("tree deeper than allowed"));
        }
        let mut n = self.node_load(ino, inode, loc)?;
        let h = node::header(n.body())?;
        if h.level == 0 {
            return match node::search(n.body(), key)? {
                Err(_) => Ok((false, false)),
                Ok(i) => {
                    node::remove_at(n.body_mut(), i)?;
                    self.node_store(ino, inode, n)?;
                    Ok((true, h.nitems == 1))
                }
            };
        }
        if h.nitems == 0 {
            return Ok((false, false));
        }
        let (i, c) = Self::route(n.body(), key)?;
        let (found, child_empty) = self.remove_rec(ino, inode, Loc::Block(c), key, depth + 1)?;
        if child_empty {
            self.free_blocks(c, 1)?;
            inode.blocks = inode.blocks.saturating_sub(1);
            let old_k0 = node::key(n.body(), 0)?;
            node::remove_at(n.body_mut(), i)?;
            if i == 0 && h.nitems > 1 {
                // Slot 0's key is the node's lower bound: keep it.
                node::set_key(n.body_mut(), 0, old_k0)?;
            }
            self.node_store(ino, inode, n)?;
            return Ok((found, h.nitems == 1));
        }
        Ok((found, false))
    }

    /// Remove a key; `Ok(false)` if absent.
    pub(crate) fn tree_remove(&mut self, ino: u64, inode: &mut Inode, key: u64) -> Result<bool> {
        let (found, empty) = self.remove_rec(ino, inode, Loc::Root, key, 0)?;
        if empty {
            init_root(&mut inode.data)?;
        }
        self.shrink_root(ino, inode)?;
        Ok(found)
    }

    /// Pull a lone child back into the root when its items fit there.
    fn shrink_root(&mut self, ino: u64, inode: &mut Inode) -> Result<()> {
        for _ in 0..=node::MAX_LEVEL {
            let root = self.node_load(ino, inode, Loc::Root)?;
            let h = node::header(root.body())?;
            if h.level == 0 || h.nitems != 1 {
                return Ok(());
            }
            let c = node::child(root.body(), 0)?;
            let child = self.node_load(ino, inode, Loc::Block(c))?;
            let ch = node::header(child.body())?;
            let need = node::NODE_HEADER
                + ch.nitems * node::SLOT_SIZE
                + node::live_value_bytes(child.body())?;
            if need > inode.data.len() {
                return Ok(());
            }
            let items = Self::items_of(child.body())?;
            let mut scratch = alloc::vec![0u8; self.bs];
            let mut r = NodeBuf {
                loc: Loc::Root,
                buf: alloc::vec![0u8; inode.data.len()],
            };
            Self::fill_body(r.body_mut(), ch.level, &items, &mut scratch)?;
            self.node_store(ino, inode, r)?;
            self.free_blocks(c, 1)?;
            inode.blocks = inode.blocks.saturating_sub(1);
        }
        Ok(())
    }

    fn free_rec(&mut self, ino: u64, inode: &mut Inode, loc: Loc, depth: u16) -> Result<()> {
        if depth > node::MAX_LEVEL {
            return Err(corrupt("tree deeper than allowed"));
        }
        let n = self.node_load(ino, inode, loc)?;
        let h = node::header(n.body())?;
        if h.level > 0 {
            for i in 0..h.nitems {
                let c = node::child(n.body(), i)?;
                self.free_rec(ino, inode, Loc::Block(c), depth + 1)?;
            }
        }
        if let Loc::Block(nr) = loc {
            self.free_blocks(nr, 1)?;
            inode.blocks = inode.blocks.saturating_sub(1);
        }
        Ok(())
    }

    /// Free every node block (not the values' referents) and reset the root.
    pub(crate) fn tree_free_all(&mut self, ino: u64, inode: &mut Inode) -> Result<()> {
        self.free_rec(ino, inode, Loc::Root, 0)?;
        init_root(&mut inode.data)
    }
}
