//! The per-inode attribute tree: attributes past the blob's threshold.
//!
//! The tree is the directory B+tree of [`crate::btree`] hung from a root
//! block of its own ([`XRoot`]) instead of the inode's `data` area (which a
//! file's block map already uses). Keys are a hash of (namespace, name)
//! with up to 256 collision slots per hash, the full name stored in the item
//! and compared, as in [`crate::dir`]. Values up to a quarter block live in
//! the item; larger ones in a value run of raw blocks written directly to
//! the device (ordered before the commit, like file data) and checked by
//! the crc32c the item holds. A replaced or removed run is freed as a
//! deferred free: the journal keeps its blocks out of reuse until the
//! transaction that stopped pointing at them is durable, so a crash leaves
//! either value.
//!
//! On-disk layout: `vexfs_format::xattr_tree` and FORMAT.md.

use crate::btree::TreeHost;
use crate::device::BlockDevice;
use crate::error::{corrupt_at, FsError, Location, Result};
use crate::fs::Fs;
use crate::tx::Seal;
use alloc::vec::Vec;
use vexfs_format::checksum::crc32c;
use vexfs_format::header::{HEADER_SIZE, NODE_MAGIC};
use vexfs_format::node;
use vexfs_format::xattr::Namespace;
use vexfs_format::xattr_tree::{key_range, TreeItem, TreeValue, ValueRun, ITEM_HEADER, RUN_SIZE};

/// The attribute tree's root node block, held in memory during one
/// operation; [`Fs::xtree_close`] writes it back if it changed.
pub(crate) struct XRoot {
    pub nr: u64,
    body: Vec<u8>,
    blocks: u64,
    dirty: bool,
}

impl TreeHost for XRoot {
    fn root(&self) -> &[u8] {
        &self.body
    }
    fn root_mut(&mut self) -> &mut [u8] {
        self.dirty = true;
        &mut self.body
    }
    fn blocks(&self) -> u64 {
        self.blocks
    }
    fn set_blocks(&mut self, blocks: u64) {
        self.blocks = blocks;
    }
}

/// An attribute read out of the tree, value resolved.
pub(crate) type Owned = (Namespace, Vec<u8>, Vec<u8>);

/// Items a scan takes per descent.
const SCAN_BATCH: usize = 256;

/// The key to continue a scan from after asking for keys `>= k` and
/// getting `key`. A key below `k` is corruption: a crafted tree must end a
/// scan with an error, never make it go round.
fn next_key(ino: u64, k: u64, key: u64) -> Result<u64> {
    if key < k {
        return Err(corrupt_at(
            "attribute tree returned keys out of order",
            Location::Inode(ino),
        ));
    }
    Ok(key.saturating_add(1))
}

fn bad_item(ino: u64, e: vexfs_format::FormatError) -> FsError {
    FsError::from(e).at(Location::Inode(ino))
}

impl<D: BlockDevice> Fs<D> {
    /// Whether a value of `len` bytes under `name` stays in its tree item:
    /// when the item fits a quarter block, or when the value is no longer
    /// than the run reference that would replace it (a long name with a
    /// short value, which a run would only make bigger).
    fn xtree_inline(&self, name: &[u8], len: usize) -> bool {
        len <= RUN_SIZE || ITEM_HEADER + name.len() + len <= self.bs / 4
    }

    /// A new, empty tree: one root block charged to the inode.
    pub(crate) fn xtree_create(&mut self, blocks: u64) -> Result<XRoot> {
        let (nr, _) = self.alloc_blocks(self.block_hint, 1)?;
        let mut body = crate::fallible::zeroed(self.bs - HEADER_SIZE)?;
        crate::btree::init_root(&mut body)?;
        Ok(XRoot {
            nr,
            body,
            blocks: blocks.saturating_add(1),
            dirty: true,
        })
    }

    /// Load the root block `nr` of `ino`'s tree.
    pub(crate) fn xtree_open(&mut self, ino: u64, nr: u64, blocks: u64) -> Result<XRoot> {
        let at = Location::InodeBlock { ino, block: nr };
        if !(self.sb.data_start..self.sb.block_count).contains(&nr) {
            return Err(corrupt_at("attribute tree root outside the data area", at));
        }
        let buf = self
            .meta_block(nr, NODE_MAGIC, Some(ino), "attribute tree root")
            .map_err(|e| e.at(at))?;
        let body = buf.get(HEADER_SIZE..).unwrap_or(&[]).to_vec();
        node::validate(&body).map_err(|e| FsError::from(e).at(at))?;
        Ok(XRoot {
            nr,
            body,
            blocks,
            dirty: false,
        })
    }

    /// Write the root back if it changed; returns the inode's block count.
    pub(crate) fn xtree_close(&mut self, ino: u64, root: XRoot) -> Result<u64> {
        if root.dirty {
            let mut buf = crate::fallible::zeroed(self.bs)?;
            buf.get_mut(HEADER_SIZE..)
                .ok_or(FsError::Invalid)?
                .copy_from_slice(&root.body);
            self.put_block(
                root.nr,
                buf,
                Seal::Meta {
                    magic: NODE_MAGIC,
                    owner: ino,
                },
            )?;
        }
        Ok(root.blocks)
    }

    /// The key and raw item of `(ns, name)`, if present.
    fn xtree_find(
        &mut self,
        ino: u64,
        root: &XRoot,
        ns: Namespace,
        name: &[u8],
    ) -> Result<Option<(u64, Vec<u8>)>> {
        let (lo, hi) = key_range(ns, name);
        let mut k = lo;
        while let Some((key, v)) = self.tree_ceil(ino, root, k)? {
            if key > hi {
                break;
            }
            let it = TreeItem::decode(&v).map_err(|e| bad_item(ino, e))?;
            if it.namespace == ns && it.name == name {
                return Ok(Some((key, v)));
            }
            k = next_key(ino, k, key)?;
        }
        Ok(None)
    }

    /// The first free key of `(ns, name)`'s collision range.
    fn xtree_free_key(
        &mut self,
        ino: u64,
        root: &XRoot,
        ns: Namespace,
        name: &[u8],
    ) -> Result<u64> {
        let (lo, hi) = key_range(ns, name);
        let mut free = lo;
        let mut k = lo;
        while let Some((key, _)) = self.tree_ceil(ino, root, k)? {
            if key > hi || key > free {
                break;
            }
            k = next_key(ino, k, key)?;
            free = k;
        }
        if free > hi {
            return Err(FsError::NoSpace);
        }
        Ok(free)
    }

    fn run_read(&mut self, ino: u64, r: &ValueRun) -> Result<Vec<u8>> {
        let n = r.blocks(self.bs);
        let at = Location::InodeBlock {
            ino,
            block: r.first,
        };
        if r.first < self.sb.data_start
            || r.first
                .checked_add(n)
                .is_none_or(|e| e > self.sb.block_count)
        {
            return Err(corrupt_at("attribute value run outside the data area", at));
        }
        let mut buf = crate::fallible::zeroed((n as usize) * self.bs)?;
        self.read_data(r.first, &mut buf)?;
        buf.truncate(r.len as usize);
        if crc32c(&buf) != r.crc {
            return Err(corrupt_at("attribute value run checksum", at));
        }
        Ok(buf)
    }

    fn run_write(&mut self, root: &mut XRoot, value: &[u8]) -> Result<ValueRun> {
        let r0 = ValueRun {
            first: 0,
            len: u32::try_from(value.len()).map_err(|_| FsError::TooBig)?,
            crc: crc32c(value),
        };
        let n = r0.blocks(self.bs);
        if n == 0 {
            // Empty values are always inline (see `xtree_inline`).
            return Err(FsError::Invalid);
        }
        let first = self.alloc_contiguous(n)?;
        let mut buf = crate::fallible::zeroed((n as usize) * self.bs)?;
        buf.get_mut(..value.len())
            .ok_or(FsError::Invalid)?
            .copy_from_slice(value);
        self.write_data(first, &buf)?;
        root.blocks = root.blocks.saturating_add(n);
        Ok(ValueRun { first, ..r0 })
    }

    fn run_free(&mut self, root: &mut XRoot, r: &ValueRun) -> Result<()> {
        let n = r.blocks(self.bs);
        if n > 0 {
            self.free_blocks(r.first, n)?;
            root.blocks = root.blocks.saturating_sub(n);
        }
        Ok(())
    }

    fn resolve(&mut self, ino: u64, it: &TreeItem<'_>) -> Result<Vec<u8>> {
        match it.value {
            TreeValue::Inline(v) => Ok(v.to_vec()),
            TreeValue::Run(r) => self.run_read(ino, &r),
        }
    }

    /// The value of `(ns, name)`, if set.
    pub(crate) fn xtree_get(
        &mut self,
        ino: u64,
        root: &XRoot,
        ns: Namespace,
        name: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        let Some((_, raw)) = self.xtree_find(ino, root, ns, name)? else {
            return Ok(None);
        };
        let it = TreeItem::decode(&raw).map_err(|e| bad_item(ino, e))?;
        self.resolve(ino, &it).map(Some)
    }

    /// Set (`Some`) or remove (`None`) `(ns, name)`; whether it existed.
    pub(crate) fn xtree_put(
        &mut self,
        ino: u64,
        root: &mut XRoot,
        ns: Namespace,
        name: &[u8],
        value: Option<&[u8]>,
    ) -> Result<bool> {
        let old = self.xtree_find(ino, root, ns, name)?;
        let old_run = match &old {
            Some((_, raw)) => match TreeItem::decode(raw).map_err(|e| bad_item(ino, e))?.value {
                TreeValue::Run(r) => Some(r),
                TreeValue::Inline(_) => None,
            },
            None => None,
        };
        let existed = old.is_some();
        match value {
            Some(v) => {
                // The new value is on the device before the item naming it.
                let tv = if self.xtree_inline(name, v.len()) {
                    TreeValue::Inline(v)
                } else {
                    TreeValue::Run(self.run_write(root, v)?)
                };
                let item = TreeItem {
                    namespace: ns,
                    name,
                    value: tv,
                };
                let mut buf = crate::fallible::zeroed(item.encoded_len())?;
                item.encode(&mut buf)?;
                match old {
                    Some((key, _)) => self.tree_update(ino, root, key, &buf)?,
                    None => {
                        let key = self.xtree_free_key(ino, root, ns, name)?;
                        self.tree_insert(ino, root, key, &buf)?;
                    }
                }
            }
            None => {
                if let Some((key, _)) = old {
                    self.tree_remove(ino, root, key)?;
                }
            }
        }
        if let Some(r) = old_run {
            self.run_free(root, &r)?;
        }
        Ok(existed)
    }

    /// Every attribute in the tree, values resolved, in key order.
    pub(crate) fn xtree_all(&mut self, ino: u64, root: &XRoot, values: bool) -> Result<Vec<Owned>> {
        let mut out = Vec::new();
        let mut k = 0u64;
        loop {
            let batch = self.tree_range(ino, root, k, SCAN_BATCH)?;
            let Some(last) = batch.last().map(|(key, _)| *key) else {
                break;
            };
            for (key, raw) in &batch {
                k = next_key(ino, k, *key)?;
                let it = TreeItem::decode(raw).map_err(|e| bad_item(ino, e))?;
                let v = if values {
                    self.resolve(ino, &it)?
                } else {
                    Vec::new()
                };
                out.push((it.namespace, it.name.to_vec(), v));
            }
            if last == u64::MAX {
                break;
            }
        }
        Ok(out)
    }

    /// Blob bytes the tree's items would take if the root is a leaf (the
    /// whole tree in one block), else `None`: the test for moving back.
    pub(crate) fn xtree_small(&mut self, ino: u64, root: &XRoot) -> Result<Option<usize>> {
        let h = node::header(root.root())?;
        if h.level != 0 {
            return Ok(None);
        }
        let mut total = 0usize;
        for i in 0..h.nitems {
            let raw = node::value(root.root(), i)?;
            let it = TreeItem::decode(raw).map_err(|e| bad_item(ino, e))?;
            total += vexfs_format::xattr::ENTRY_HEADER + it.name.len() + it.value_len();
        }
        Ok(Some(total))
    }

    /// Free every value run, node block and the root block. Every item is
    /// read and checked before anything is freed, so a damaged tree fails
    /// with nothing freed.
    pub(crate) fn xtree_free(&mut self, ino: u64, mut root: XRoot) -> Result<u64> {
        let mut runs = Vec::new();
        let mut k = 0u64;
        loop {
            let batch = self.tree_range(ino, &root, k, SCAN_BATCH)?;
            let Some(last) = batch.last().map(|(key, _)| *key) else {
                break;
            };
            for (key, raw) in &batch {
                k = next_key(ino, k, *key)?;
                let it = TreeItem::decode(raw).map_err(|e| bad_item(ino, e))?;
                if let TreeValue::Run(r) = it.value {
                    runs.push(r);
                }
            }
            if last == u64::MAX {
                break;
            }
        }
        for r in &runs {
            self.run_free(&mut root, r)?;
        }
        self.tree_free_all(ino, &mut root)?;
        self.free_blocks(root.nr, 1)?;
        Ok(root.blocks.saturating_sub(1))
    }
}
