//! The B+tree used for directories, file mappings and attribute trees.
//!
//! Keys are unique u64s, values are short byte strings. The root node lives
//! where its [`TreeHost`] keeps it: for directories and file mappings the
//! inode's 112-byte `data` area, so small directories and files with few
//! extents need no tree block at all; for an attribute tree a root block of
//! its own (`crate::xattr_tree`). Deeper nodes are metadata blocks owned by
//! the inode. When the root fills it is pushed down into a new
//! block and the root becomes an internal node one level higher (the tree
//! grows at the top, as ext4's extent tree does).
//!
//! Deletes free empty nodes and pull a lone child back into the root when it
//! fits; partially empty nodes are not merged (space, not correctness).
//!
//! Nodes are untrusted input. A block node is validated in full (item
//! bounds, strictly increasing keys, child pointers inside the data area)
//! when it is read from the device, before it enters the metadata cache;
//! the root is validated on every load (it is a copy of the inode's 112
//! bytes). Every descent then checks, in O(1), that the child sits one
//! level below its parent, is not empty, and holds only keys inside the
//! range the parent's separators give it. Together these make every search
//! return keys in order and make a loop or a shared subtree impossible, so
//! callers that step from key to key always progress. A violation is a
//! corruption error naming the inode and block.

use crate::device::BlockDevice;
use crate::error::{corrupt, corrupt_at, FsError, Location, Result};
use crate::fs::Fs;
use crate::tx::Seal;
use alloc::vec::Vec;
use vexfs_format::header::{HEADER_SIZE, NODE_MAGIC};
use vexfs_format::inode::Inode;
use vexfs_format::node::{self, NodeHeader, Placement};

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

/// What one node visit tells a walk: the answer found at a leaf, or the
/// slot, the node's item count and the child to descend into.
enum Step<T> {
    Leaf(T),
    Down(usize, usize, (Loc, Placement)),
}

/// What a tree hangs from: the body of its root node and the block count
/// its node blocks are charged to. Directory and file-mapping trees hang
/// from the inode (root in its 112-byte `data`); an attribute tree hangs
/// from a root block of its own (`crate::xattr_tree`).
pub(crate) trait TreeHost {
    fn root(&self) -> &[u8];
    fn root_mut(&mut self) -> &mut [u8];
    fn blocks(&self) -> u64;
    fn set_blocks(&mut self, blocks: u64);
}

impl TreeHost for Inode {
    fn root(&self) -> &[u8] {
        &self.data
    }
    fn root_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }
    fn blocks(&self) -> u64 {
        self.blocks
    }
    fn set_blocks(&mut self, blocks: u64) {
        self.blocks = blocks;
    }
}

fn location(ino: u64, loc: Loc) -> Location {
    match loc {
        Loc::Root => Location::Inode(ino),
        Loc::Block(block) => Location::InodeBlock { ino, block },
    }
}

impl<D: BlockDevice> Fs<D> {
    /// Bring a node block into the cache, verifying its header and, the
    /// first time it is read from the device, its whole structure.
    fn verify_node_block(&mut self, ino: u64, nr: u64) -> Result<()> {
        let at = location(ino, Loc::Block(nr));
        let data = self.sb.data_start..self.sb.block_count;
        if !data.contains(&nr) {
            return Err(corrupt_at("tree node pointer outside the data area", at));
        }
        // Validation runs at cache-fill time only: cached copies are either
        // validated reads or nodes this code wrote itself.
        let fresh = !self.cache.contains_key(&nr);
        self.verify_meta_block(nr, NODE_MAGIC, Some(ino), "tree node")
            .map_err(|e| e.at(at))?;
        if fresh {
            let body = self
                .cache
                .get(&nr)
                .and_then(|b| b.get(HEADER_SIZE..))
                .unwrap_or(&[]);
            if let Err(e) = node::validate_block(body, data) {
                // A node that failed must not stay cached, or the next
                // access would trust it.
                self.cache.remove(&nr);
                return Err(FsError::from(e).at(at));
            }
        }
        Ok(())
    }

    /// A copy of a verified node block (for paths that rewrite it whole).
    fn node_block(&mut self, ino: u64, nr: u64) -> Result<Vec<u8>> {
        self.verify_node_block(ino, nr)?;
        crate::fallible::copy(self.cache.get(&nr).ok_or(FsError::Invalid)?)
    }

    /// Run `f` on the body of the node at `loc` where it lies (the cached
    /// block or the host's root), after the checks [`Fs::node_load`] makes.
    /// Lookups walk the tree through this, so they copy no node.
    fn with_node<H: TreeHost + ?Sized, T>(
        &mut self,
        ino: u64,
        inode: &H,
        loc: Loc,
        at: &Placement,
        f: impl FnOnce(&[u8], &NodeHeader) -> Result<T>,
    ) -> Result<T> {
        let body: &[u8] = match loc {
            Loc::Root => {
                let b = inode.root();
                node::validate(b).map_err(|e| FsError::from(e).at(Location::Inode(ino)))?;
                b
            }
            Loc::Block(nr) => {
                self.verify_node_block(ino, nr)?;
                self.cache
                    .get(&nr)
                    .and_then(|b| b.get(HEADER_SIZE..))
                    .ok_or(FsError::Invalid)?
            }
        };
        let h = node::header(body)?;
        node::check_placement(body, &h, at).map_err(|e| FsError::from(e).at(location(ino, loc)))?;
        f(body, &h)
    }

    /// The child in slot `i` of the internal node at `loc` (re-read in
    /// place: used when a search backtracks to a sibling).
    fn child_of<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &H,
        loc: Loc,
        at: &Placement,
        i: usize,
    ) -> Result<(Loc, Placement)> {
        self.with_node(ino, inode, loc, at, |body, h| {
            Self::child_in(ino, loc, body, h, i, at)
        })
    }

    /// Insert an item at `slot` of the node at `loc`, changing it where it
    /// lies; `Ok(false)`, with the node unchanged, if it is full.
    fn insert_in_place<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &mut H,
        loc: Loc,
        slot: usize,
        (key, val): (u64, &[u8]),
    ) -> Result<bool> {
        let mut scratch = core::mem::take(&mut self.node_scratch);
        if scratch.len() < self.bs {
            scratch.resize(self.bs, 0);
        }
        let done = match loc {
            Loc::Root => node::insert_at(inode.root_mut(), slot, key, val, &mut scratch)
                .map_err(FsError::from),
            Loc::Block(nr) => {
                let seal = Seal::Meta {
                    magic: NODE_MAGIC,
                    owner: ino,
                };
                self.modify_block(nr, seal, |b| {
                    let body = b.get_mut(HEADER_SIZE..).ok_or(FsError::Invalid)?;
                    Ok(node::insert_at(body, slot, key, val, &mut scratch)?)
                })
            }
        };
        self.node_scratch = scratch;
        done
    }

    /// Load the node at `loc` and check it against its place in the tree.
    fn node_load<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &H,
        loc: Loc,
        at: &Placement,
    ) -> Result<NodeBuf> {
        let buf = match loc {
            Loc::Root => {
                let b = crate::fallible::copy(inode.root())?;
                node::validate(&b).map_err(|e| FsError::from(e).at(Location::Inode(ino)))?;
                b
            }
            Loc::Block(nr) => self.node_block(ino, nr)?,
        };
        let n = NodeBuf { loc, buf };
        let h = node::header(n.body())?;
        node::check_placement(n.body(), &h, at)
            .map_err(|e| FsError::from(e).at(location(ino, loc)))?;
        Ok(n)
    }

    /// The child in slot `i` of an internal node, and where it must sit.
    fn child_at(
        ino: u64,
        n: &NodeBuf,
        h: &NodeHeader,
        i: usize,
        at: &Placement,
    ) -> Result<(Loc, Placement)> {
        Self::child_in(ino, n.loc, n.body(), h, i, at)
    }

    /// [`Fs::child_at`] on a node body where it lies.
    fn child_in(
        ino: u64,
        loc: Loc,
        body: &[u8],
        h: &NodeHeader,
        i: usize,
        at: &Placement,
    ) -> Result<(Loc, Placement)> {
        let c = node::child(body, i).map_err(|e| FsError::from(e).at(location(ino, loc)))?;
        let p = node::child_placement(body, h, i, at)
            .map_err(|e| FsError::from(e).at(location(ino, loc)))?;
        Ok((Loc::Block(c), p))
    }

    fn node_store<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &mut H,
        n: NodeBuf,
    ) -> Result<()> {
        match n.loc {
            Loc::Root => {
                let len = inode.root().len();
                inode
                    .root_mut()
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

    fn new_node_block<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &mut H,
        goal: u64,
    ) -> Result<u64> {
        let blocks = inode.blocks().checked_add(1).ok_or(corrupt_at(
            "inode block count overflows",
            Location::Inode(ino),
        ))?;
        let (nr, _) = self.alloc_blocks(goal, 1)?;
        inode.set_blocks(blocks);
        Ok(nr)
    }

    fn items_of(body: &[u8]) -> Result<Vec<Item>> {
        let h = node::header(body)?;
        let mut v = Vec::new();
        crate::fallible::reserve(&mut v, h.nitems)?;
        for i in 0..h.nitems {
            v.push((
                node::key(body, i)?,
                crate::fallible::copy(node::value(body, i)?)?,
            ));
        }
        Ok(v)
    }

    fn item_in(body: &[u8], i: usize) -> Result<Item> {
        // Fallible: searches read directory entries through here.
        Ok((
            node::key(body, i)?,
            crate::fallible::copy(node::value(body, i)?)?,
        ))
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

    /// Fill `dst` with the items in slots `range` of the node body `src`.
    fn fill_body_from(
        dst: &mut [u8],
        level: u16,
        src: &[u8],
        range: core::ops::Range<usize>,
        scratch: &mut [u8],
    ) -> Result<()> {
        node::init(dst, level)?;
        for (slot, i) in range.enumerate() {
            let (k, v) = (node::key(src, i)?, node::value(src, i)?);
            if !node::insert_at(dst, slot, k, v, scratch)? {
                return Err(corrupt("tree items do not fit a node"));
            }
        }
        Ok(())
    }

    /// Slot of the child to descend into for `key`.
    fn route(body: &[u8], key: u64) -> Result<usize> {
        Ok(node::floor_slot(body, key)?.unwrap_or(0))
    }

    fn too_deep(ino: u64, depth: u16) -> Result<()> {
        if depth > node::MAX_LEVEL {
            return Err(corrupt_at("tree deeper than allowed", Location::Inode(ino)));
        }
        Ok(())
    }

    fn edge_in<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &H,
        (loc, at): (Loc, Placement),
        last: bool,
        depth: u16,
    ) -> Result<Option<Item>> {
        Self::too_deep(ino, depth)?;
        let step = self.with_node(ino, inode, loc, &at, |body, h| {
            if h.nitems == 0 {
                return Ok(Step::Leaf(None));
            }
            let i = if last { h.nitems - 1 } else { 0 };
            if h.level == 0 {
                return Ok(Step::Leaf(Some(Self::item_in(body, i)?)));
            }
            Ok(Step::Down(
                i,
                h.nitems,
                Self::child_in(ino, loc, body, h, i, &at)?,
            ))
        })?;
        match step {
            Step::Leaf(r) => Ok(r),
            Step::Down(_, _, c) => self.edge_in(ino, inode, c, last, depth + 1),
        }
    }

    /// One visit of a search: a leaf's answer, or (slot, item count,
    /// child) of an internal node to descend into.
    fn search_step<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &H,
        (loc, at): (Loc, Placement),
        key: u64,
        floor: bool,
    ) -> Result<Step<Option<Item>>> {
        self.with_node(ino, inode, loc, &at, |body, h| {
            if h.level == 0 {
                let slot = if floor {
                    node::floor_slot(body, key)?
                } else {
                    match node::search(body, key)? {
                        Ok(i) | Err(i) => (i < h.nitems).then_some(i),
                    }
                };
                return Ok(Step::Leaf(match slot {
                    Some(i) => Some(Self::item_in(body, i)?),
                    None => None,
                }));
            }
            Self::route_step(ino, loc, body, h, key, &at, None)
        })
    }

    /// From an internal node, the step into the child whose range holds
    /// `key`; an internal node with no children ends the walk at `empty`.
    fn route_step<T>(
        ino: u64,
        loc: Loc,
        body: &[u8],
        h: &NodeHeader,
        key: u64,
        at: &Placement,
        empty: T,
    ) -> Result<Step<T>> {
        if h.nitems == 0 {
            return Ok(Step::Leaf(empty));
        }
        let i = Self::route(body, key)?;
        Ok(Step::Down(
            i,
            h.nitems,
            Self::child_in(ino, loc, body, h, i, at)?,
        ))
    }

    fn floor_in<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &H,
        (loc, at): (Loc, Placement),
        key: u64,
        depth: u16,
    ) -> Result<Option<Item>> {
        Self::too_deep(ino, depth)?;
        let (mut i, c) = match self.search_step(ino, inode, (loc, at), key, true)? {
            Step::Leaf(r) => return Ok(r),
            Step::Down(i, _, c) => (i, c),
        };
        if let Some(r) = self.floor_in(ino, inode, c, key, depth + 1)? {
            return Ok(Some(r));
        }
        while i > 0 {
            i -= 1;
            let c = self.child_of(ino, inode, loc, &at, i)?;
            if let Some(r) = self.edge_in(ino, inode, c, true, depth + 1)? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    fn ceil_in<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &H,
        (loc, at): (Loc, Placement),
        key: u64,
        depth: u16,
    ) -> Result<Option<Item>> {
        Self::too_deep(ino, depth)?;
        let (mut i, nitems, c) = match self.search_step(ino, inode, (loc, at), key, false)? {
            Step::Leaf(r) => return Ok(r),
            Step::Down(i, nitems, c) => (i, nitems, c),
        };
        if let Some(r) = self.ceil_in(ino, inode, c, key, depth + 1)? {
            return Ok(Some(r));
        }
        while i + 1 < nitems {
            i += 1;
            let c = self.child_of(ino, inode, loc, &at, i)?;
            if let Some(r) = self.edge_in(ino, inode, c, false, depth + 1)? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// Up to `max` items with keys `>= key`, in order, taken from the leaf
    /// that holds the first of them (so a scan costs one descent per leaf,
    /// not per item). An empty result means there are no more items.
    pub(crate) fn tree_range<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &H,
        key: u64,
        max: usize,
    ) -> Result<Vec<Item>> {
        let (mut loc, mut at) = (Loc::Root, Placement::ROOT);
        for _ in 0..=node::MAX_LEVEL {
            let step = self.with_node(ino, inode, loc, &at, |body, h| {
                if h.level == 0 {
                    let first = match node::search(body, key)? {
                        Ok(i) | Err(i) => i,
                    };
                    let mut out = Vec::new();
                    for i in first..h.nitems.min(first.saturating_add(max)) {
                        crate::fallible::push(&mut out, Self::item_in(body, i)?)?;
                    }
                    return Ok(Step::Leaf(Some(out)));
                }
                Self::route_step(ino, loc, body, h, key, &at, None)
            })?;
            match step {
                Step::Leaf(None) => return Ok(Vec::new()),
                Step::Leaf(Some(out)) if out.is_empty() => {
                    // The ceiling lies in a later subtree: fall back to the
                    // general search, which backtracks across leaves.
                    let mut out = Vec::new();
                    if let Some(item) = self.tree_ceil(ino, inode, key)? {
                        crate::fallible::push(&mut out, item)?;
                    }
                    return Ok(out);
                }
                Step::Leaf(Some(out)) => return Ok(out),
                Step::Down(_, _, c) => (loc, at) = c,
            }
        }
        Err(corrupt_at("tree deeper than allowed", Location::Inode(ino)))
    }

    /// Run `f` on the value stored under exactly `key` where it lies, in
    /// the cached node or the host's root: one descent, no copy (search
    /// results resolve their paths through this).
    pub(crate) fn tree_get_with<H: TreeHost + ?Sized, T>(
        &mut self,
        ino: u64,
        inode: &H,
        key: u64,
        f: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let (mut loc, mut at) = (Loc::Root, Placement::ROOT);
        for _ in 0..=node::MAX_LEVEL {
            let step = self.with_node(ino, inode, loc, &at, |body, h| {
                if h.level > 0 {
                    // Every key of a child lies in the range its parent's
                    // separators give it, so only this child can hold it.
                    return Self::route_step(ino, loc, body, h, key, &at, None);
                }
                let (Ok(i), Some(f)) = (node::search(body, key)?, f.take()) else {
                    return Ok(Step::Leaf(None));
                };
                Ok(Step::Leaf(Some(f(node::value(body, i)?)?)))
            })?;
            match step {
                Step::Leaf(r) => return Ok(r),
                Step::Down(_, _, c) => (loc, at) = c,
            }
        }
        Err(corrupt_at("tree deeper than allowed", Location::Inode(ino)))
    }

    /// The item with the greatest key `<= key`.
    pub(crate) fn tree_floor<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &H,
        key: u64,
    ) -> Result<Option<Item>> {
        self.floor_in(ino, inode, (Loc::Root, Placement::ROOT), key, 0)
    }

    /// The item with the smallest key `>= key`.
    pub(crate) fn tree_ceil<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &H,
        key: u64,
    ) -> Result<Option<Item>> {
        self.ceil_in(ino, inode, (Loc::Root, Placement::ROOT), key, 0)
    }

    /// Whether the tree holds no items.
    pub(crate) fn tree_is_empty<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &H,
    ) -> Result<bool> {
        Ok(self.tree_ceil(ino, inode, 0)?.is_none())
    }

    /// Push the root's contents into a new block; the root becomes an
    /// internal node with that block as its only child.
    fn grow_root<H: TreeHost + ?Sized>(&mut self, ino: u64, inode: &mut H) -> Result<()> {
        let root = self.node_load(ino, inode, Loc::Root, &Placement::ROOT)?;
        let h = node::header(root.body())?;
        if h.level >= node::MAX_LEVEL {
            return Err(FsError::NoSpace);
        }
        let items = Self::items_of(root.body())?;
        let nr = self.new_node_block(ino, inode, self.block_hint)?;
        let mut scratch = crate::fallible::zeroed(self.bs)?;
        let mut blk = NodeBuf {
            loc: Loc::Block(nr),
            buf: crate::fallible::zeroed(self.bs)?,
        };
        Self::fill_body(blk.body_mut(), h.level, &items, &mut scratch)?;
        self.node_store(ino, inode, blk)?;
        let mut r = NodeBuf {
            loc: Loc::Root,
            buf: crate::fallible::zeroed(inode.root().len())?,
        };
        Self::fill_body(
            r.body_mut(),
            h.level + 1,
            &[(0, crate::fallible::copy(&nr.to_le_bytes())?)],
            &mut scratch,
        )?;
        self.node_store(ino, inode, r)
    }

    /// Split a full block node in two by bytes; returns (separator, right).
    fn split<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &mut H,
        n: &NodeBuf,
    ) -> Result<(u64, u64)> {
        let Loc::Block(left_nr) = n.loc else {
            return Err(FsError::Invalid);
        };
        let body = n.body();
        let h = node::header(body)?;
        if h.nitems < 2 {
            return Err(corrupt_at(
                "cannot split a node with fewer than two items",
                location(ino, n.loc),
            ));
        }
        // Split by bytes; the items are copied from the node's body straight
        // into the two halves, with no list of owned items between.
        let mut total = 0usize;
        for i in 0..h.nitems {
            total += node::value(body, i)?.len() + node::SLOT_SIZE;
        }
        let mut acc = 0usize;
        let mut m = 0usize;
        while m < h.nitems - 1 && acc < total / 2 {
            acc += node::value(body, m)?.len() + node::SLOT_SIZE;
            m += 1;
        }
        let m = m.max(1);
        let sep = node::key(body, m)?;
        let right_nr = self.new_node_block(ino, inode, left_nr.saturating_add(1))?;
        let mut scratch = crate::fallible::zeroed(self.bs)?;
        let mut l = NodeBuf {
            loc: Loc::Block(left_nr),
            buf: crate::fallible::zeroed(self.bs)?,
        };
        Self::fill_body_from(l.body_mut(), h.level, body, 0..m, &mut scratch)?;
        let mut r = NodeBuf {
            loc: Loc::Block(right_nr),
            buf: crate::fallible::zeroed(self.bs)?,
        };
        Self::fill_body_from(r.body_mut(), h.level, body, m..h.nitems, &mut scratch)?;
        self.node_store(ino, inode, l)?;
        self.node_store(ino, inode, r)?;
        Ok((sep, right_nr))
    }

    /// Insert into the subtree at `loc`; returns a (separator, new block)
    /// pair for the parent when the node split. The descent reads nodes in
    /// place and the insert changes the cached node where it lies; only a
    /// split copies a node out.
    fn insert_rec<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &mut H,
        (loc, at): (Loc, Placement),
        key: u64,
        val: &[u8],
        depth: u16,
    ) -> Result<Option<(u64, u64)>> {
        Self::too_deep(ino, depth)?;
        let step = self.with_node(ino, &*inode, loc, &at, |body, h| {
            if h.level == 0 {
                return match node::search(body, key)? {
                    Ok(_) => Err(FsError::Exists),
                    Err(i) => Ok(Step::Leaf(i)),
                };
            }
            let i = Self::route(body, key)?;
            Ok(Step::Down(
                i,
                h.nitems,
                Self::child_in(ino, loc, body, h, i, &at)?,
            ))
        })?;
        let child_ptr: [u8; 8];
        let (slot, item_key, item_val): (usize, u64, &[u8]) = match step {
            Step::Leaf(i) => (i, key, val),
            Step::Down(i, _, c) => match self.insert_rec(ino, inode, c, key, val, depth + 1)? {
                None => return Ok(None),
                Some((sep, nb)) => {
                    child_ptr = nb.to_le_bytes();
                    (i + 1, sep, &child_ptr[..])
                }
            },
        };
        if self.insert_in_place(ino, inode, loc, slot, (item_key, item_val))? {
            return Ok(None);
        }
        if loc == Loc::Root {
            // The caller grows the root before descending; reaching here
            // means an item larger than a whole root.
            return Err(FsError::NoSpace);
        }
        let n = self.node_load(ino, inode, loc, &at)?;
        let (sep, right) = self.split(ino, inode, &n)?;
        let target = if item_key >= sep {
            Loc::Block(right)
        } else {
            loc
        };
        // Both halves hold keys from this node's range, at its level.
        let pos = self.with_node(ino, &*inode, target, &at, |body, _| {
            match node::search(body, item_key)? {
                Ok(_) => Err(corrupt_at(
                    "duplicate key after split",
                    location(ino, target),
                )),
                Err(i) => Ok(i),
            }
        })?;
        if !self.insert_in_place(ino, inode, target, pos, (item_key, item_val))? {
            return Err(FsError::NoSpace);
        }
        Ok(Some((sep, right)))
    }

    /// Insert a new key; `Exists` if it is already present. The caller
    /// writes `inode` back (its root and block count change).
    pub(crate) fn tree_insert<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &mut H,
        key: u64,
        val: &[u8],
    ) -> Result<()> {
        if val.len() + node::SLOT_SIZE + node::NODE_HEADER > (self.bs - HEADER_SIZE) / 2 {
            return Err(FsError::Invalid);
        }
        let root = self.node_load(ino, inode, Loc::Root, &Placement::ROOT)?;
        let h = node::header(root.body())?;
        let need = if h.level == 0 { val.len() } else { 8 };
        if !node::fits(root.body(), need)? {
            self.grow_root(ino, inode)?;
        }
        self.insert_rec(ino, inode, (Loc::Root, Placement::ROOT), key, val, 0)
            .map(|_| ())
    }

    /// Replace the value under an existing key.
    pub(crate) fn tree_update<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &mut H,
        key: u64,
        val: &[u8],
    ) -> Result<()> {
        let (mut loc, mut at) = (Loc::Root, Placement::ROOT);
        for _ in 0..=node::MAX_LEVEL {
            let mut n = self.node_load(ino, inode, loc, &at)?;
            let h = node::header(n.body())?;
            if h.level == 0 {
                let i = node::search(n.body(), key)?.map_err(|_| FsError::NotFound)?;
                let mut scratch = crate::fallible::zeroed(self.bs)?;
                if node::set_value(n.body_mut(), i, val, &mut scratch)? {
                    return self.node_store(ino, inode, n);
                }
                self.tree_remove(ino, inode, key)?;
                return self.tree_insert(ino, inode, key, val);
            }
            let i = Self::route(n.body(), key)?;
            (loc, at) = Self::child_at(ino, &n, &h, i, &at)?;
        }
        Err(corrupt_at("tree deeper than allowed", Location::Inode(ino)))
    }

    /// Remove from the subtree; returns (found, node now empty).
    fn remove_rec<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &mut H,
        (loc, at): (Loc, Placement),
        key: u64,
        depth: u16,
    ) -> Result<(bool, bool)> {
        Self::too_deep(ino, depth)?;
        let mut n = self.node_load(ino, inode, loc, &at)?;
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
        let i = Self::route(n.body(), key)?;
        let c = Self::child_at(ino, &n, &h, i, &at)?;
        let (found, child_empty) = self.remove_rec(ino, inode, c, key, depth + 1)?;
        if child_empty {
            if let (Loc::Block(cnr), _) = c {
                self.free_blocks(cnr, 1)?;
            }
            inode.set_blocks(inode.blocks().saturating_sub(1));
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
    pub(crate) fn tree_remove<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &mut H,
        key: u64,
    ) -> Result<bool> {
        let (found, empty) = self.remove_rec(ino, inode, (Loc::Root, Placement::ROOT), key, 0)?;
        if empty {
            init_root(inode.root_mut())?;
        }
        self.shrink_root(ino, inode)?;
        Ok(found)
    }

    /// Pull a lone child back into the root when its items fit there.
    fn shrink_root<H: TreeHost + ?Sized>(&mut self, ino: u64, inode: &mut H) -> Result<()> {
        for _ in 0..=node::MAX_LEVEL {
            let root = self.node_load(ino, inode, Loc::Root, &Placement::ROOT)?;
            let h = node::header(root.body())?;
            if h.level == 0 || h.nitems != 1 {
                return Ok(());
            }
            let (c, at) = Self::child_at(ino, &root, &h, 0, &Placement::ROOT)?;
            let child = self.node_load(ino, inode, c, &at)?;
            let ch = node::header(child.body())?;
            let need = node::NODE_HEADER
                + ch.nitems * node::SLOT_SIZE
                + node::live_value_bytes(child.body())?;
            if need > inode.root().len() {
                return Ok(());
            }
            let items = Self::items_of(child.body())?;
            let mut scratch = crate::fallible::zeroed(self.bs)?;
            let mut r = NodeBuf {
                loc: Loc::Root,
                buf: crate::fallible::zeroed(inode.root().len())?,
            };
            Self::fill_body(r.body_mut(), ch.level, &items, &mut scratch)?;
            self.node_store(ino, inode, r)?;
            if let Loc::Block(cnr) = c {
                self.free_blocks(cnr, 1)?;
            }
            inode.set_blocks(inode.blocks().saturating_sub(1));
        }
        Ok(())
    }

    fn free_rec<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &mut H,
        (loc, at): (Loc, Placement),
        depth: u16,
    ) -> Result<()> {
        Self::too_deep(ino, depth)?;
        let n = self.node_load(ino, inode, loc, &at)?;
        let h = node::header(n.body())?;
        if h.level > 0 {
            for i in 0..h.nitems {
                let c = Self::child_at(ino, &n, &h, i, &at)?;
                self.free_rec(ino, inode, c, depth + 1)?;
            }
        }
        if let Loc::Block(nr) = loc {
            self.free_blocks(nr, 1)?;
            inode.set_blocks(inode.blocks().saturating_sub(1));
        }
        Ok(())
    }

    /// Free every node block (not the values' referents) and reset the root.
    pub(crate) fn tree_free_all<H: TreeHost + ?Sized>(
        &mut self,
        ino: u64,
        inode: &mut H,
    ) -> Result<()> {
        self.free_rec(ino, inode, (Loc::Root, Placement::ROOT), 0)?;
        init_root(inode.root_mut())
    }
}
