//! Extended attributes: a checksummed blob per inode, and past about one
//! block of attributes an attribute tree beside it.
//!
//! The common case (an embedding, an ACL, a few user attributes) is one
//! blob, rewritten whole on every change (in place when its block count is
//! unchanged). Once the attributes other than the hot ones (the POSIX ACLs,
//! read on every first permission check, and the embedding) would take more
//! than a block, they move in the same transaction into an attribute tree
//! ([`crate::xattr_tree`]) and the blob keeps only the hot ones and the
//! tree's root; get and set are then O(log n). When removals leave the tree
//! a single leaf holding under half a block, its attributes move back.

use crate::device::BlockDevice;
use crate::error::{corrupt, FsError, Result};
use crate::fs::Fs;
use crate::tx::Seal;
use alloc::vec::Vec;
use vexfs_format::bytes::{get_u64, put_u64};
use vexfs_format::features::INCOMPAT_XATTR_TREE;
use vexfs_format::header::{self, XATTR_MAGIC};
use vexfs_format::inode::{Inode, Timestamp, FLAG_XATTR_PACKED, FLAG_XATTR_TREE};
use vexfs_format::xattr::{
    put_bounds, put_entry, Namespace, XattrEntry, XattrIter, BLOB_HEADER, MAX_BLOB, MAX_VALUE,
};
use vexfs_format::xattr_pack::max_packed;
use vexfs_format::xattr_tree::{TREE_BLOB_HEADER, TREE_ROOT_OFFSET};

/// `setxattr(2)` flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XattrFlags {
    /// XATTR_CREATE: fail if it exists.
    pub create: bool,
    /// XATTR_REPLACE: fail if it does not exist.
    pub replace: bool,
}

type Attr = (Namespace, Vec<u8>, Vec<u8>);

/// What an inode's blob holds: its entries and, for a tree inode, the
/// attribute tree's root block.
struct Blob {
    attrs: Vec<Attr>,
    tree_root: Option<u64>,
}

/// A blob as read and verified: its bytes, where its entries start, and
/// the tree root it names.
struct RawBlob {
    bytes: Vec<u8>,
    start: usize,
    tree_root: Option<u64>,
}

/// Attributes that stay in the blob when the others move to the tree: the
/// kernel reads the ACLs on the first permission check of every inode and
/// the vector code reads the embedding, so each stays one block read away.
fn is_hot(ns: Namespace, short: &[u8]) -> bool {
    ns == Namespace::System
        || (ns == Namespace::User
            && vexfs_format::vector::EMBEDDING_XATTR.strip_prefix(Namespace::User.prefix())
                == Some(short))
}

fn entry_len(ns: Namespace, n: &[u8], v: &[u8]) -> usize {
    XattrEntry {
        namespace: ns,
        name: n,
        value: v,
    }
    .encoded_len()
}

/// Apply a set (`Some`) or remove (`None`) to a name-sorted list; whether
/// the name was there.
fn edit(attrs: &mut Vec<Attr>, ns: Namespace, short: &[u8], value: Option<&[u8]>) -> Result<bool> {
    let pos = attrs.iter().position(|(n, s, _)| *n == ns && s == short);
    match (pos, value) {
        (Some(i), Some(v)) => {
            if let Some(a) = attrs.get_mut(i) {
                a.2 = crate::fallible::copy(v)?;
            }
        }
        (None, Some(v)) => {
            let at = attrs.partition_point(|(n, s, _)| (*n, s.as_slice()) < (ns, short));
            let item = (ns, crate::fallible::copy(short)?, crate::fallible::copy(v)?);
            crate::fallible::reserve(attrs, 1)?;
            attrs.insert(at, item);
        }
        (Some(i), None) => {
            attrs.remove(i);
        }
        (None, None) => {}
    }
    Ok(pos.is_some())
}

fn parse_name(full: &[u8]) -> Result<(Namespace, &[u8])> {
    if full.len() > 255 {
        return Err(FsError::Range);
    }
    // Stored names never hold a NUL (the decoders treat one as damage).
    if full.contains(&0) {
        return Err(FsError::Invalid);
    }
    match Namespace::split(full) {
        // Of the system namespace only the POSIX ACLs are stored.
        Some((Namespace::System, short)) if crate::acl::AclKind::of(short).is_some() => {
            Ok((Namespace::System, short))
        }
        Some((Namespace::System, _)) | None => Err(FsError::NotSupported),
        Some(v) => Ok(v),
    }
}

impl<D: BlockDevice> Fs<D> {
    /// The verified bytes of `inode`'s blob, where its entries start and
    /// the tree root it names; `None` without a blob.
    fn xattr_raw(&mut self, ino: u64, inode: &Inode) -> Result<Option<RawBlob>> {
        let tree = inode.flags & FLAG_XATTR_TREE != 0;
        if inode.flags & FLAG_XATTR_PACKED != 0 {
            return Ok(Some(RawBlob {
                bytes: self.pack_read(ino, inode)?,
                start: BLOB_HEADER,
                tree_root: None,
            }));
        }
        if inode.xattr_block == 0 {
            if tree {
                return Err(corrupt("attribute tree inode without a blob"));
            }
            return Ok(None);
        }
        let n = u64::from(inode.xattr_blocks);
        if n == 0 || n * self.bs as u64 > (MAX_BLOB + self.bs) as u64 {
            return Err(corrupt("xattr blob size"));
        }
        let first = inode.xattr_block;
        if first < self.sb.data_start
            || first.checked_add(n).is_none_or(|e| e > self.sb.block_count)
        {
            return Err(corrupt("xattr blob location"));
        }
        let mut blob = Vec::new();
        crate::fallible::reserve(&mut blob, (n as usize) * self.bs)?;
        for b in first..first + n {
            self.with_raw_block(b, |d| {
                blob.extend_from_slice(d);
                Ok(())
            })?;
        }
        let owner = header::verify(&blob, XATTR_MAGIC, first, "xattr blob")?;
        if owner != ino {
            return Err(corrupt("xattr blob owned by another inode"));
        }
        if tree {
            let root = get_u64(&blob, TREE_ROOT_OFFSET)?;
            Ok(Some(RawBlob {
                bytes: blob,
                start: TREE_BLOB_HEADER,
                tree_root: Some(root),
            }))
        } else {
            Ok(Some(RawBlob {
                bytes: blob,
                start: BLOB_HEADER,
                tree_root: None,
            }))
        }
    }

    fn xattr_load(&mut self, ino: u64, inode: &Inode) -> Result<Blob> {
        let Some(RawBlob {
            bytes: blob,
            start,
            tree_root,
        }) = self.xattr_raw(ino, inode)?
        else {
            return Ok(Blob {
                attrs: Vec::new(),
                tree_root: None,
            });
        };
        let mut attrs = Vec::new();
        for e in XattrIter::new_at(&blob, start)? {
            let e = e?;
            let item = (
                e.namespace,
                crate::fallible::copy(e.name)?,
                crate::fallible::copy(e.value)?,
            );
            crate::fallible::push(&mut attrs, item)?;
        }
        Ok(Blob { attrs, tree_root })
    }

    fn xattr_store(&mut self, ino: u64, inode: &mut Inode, blob: &Blob) -> Result<()> {
        let attrs = &blob.attrs;
        if attrs.is_empty() && blob.tree_root.is_none() {
            return self.xattr_free_run(inode);
        }
        let start = if blob.tree_root.is_some() {
            TREE_BLOB_HEADER
        } else {
            BLOB_HEADER
        };
        let used: usize = start
            + attrs
                .iter()
                .map(|(ns, n, v)| entry_len(*ns, n, v))
                .sum::<usize>();
        if used > MAX_BLOB {
            return Err(FsError::NoSpace);
        }
        let nblocks = used.div_ceil(self.bs);
        // A small blob goes into a pack block: build only its own bytes.
        let packed = blob.tree_root.is_none() && used <= max_packed(self.bs);
        let mut buf = crate::fallible::zeroed(if packed { used } else { nblocks * self.bs })?;
        let mut pos = start;
        for (ns, n, v) in attrs {
            pos = put_entry(
                &mut buf,
                pos,
                &XattrEntry {
                    namespace: *ns,
                    name: n,
                    value: v,
                },
            )?;
        }
        put_bounds(&mut buf, attrs.len(), used)?;
        if let Some(root) = blob.tree_root {
            put_u64(&mut buf, TREE_ROOT_OFFSET, root)?;
        } else if packed {
            return self.xattr_store_packed(ino, inode, &mut buf);
        }
        let first = if inode.xattr_block != 0 && inode.xattr_blocks as usize == nblocks {
            inode.xattr_block
        } else {
            let new = self.alloc_contiguous(nblocks as u64)?;
            self.xattr_free_run(inode)?;
            inode.xattr_block = new;
            inode.xattr_blocks = nblocks as u32;
            inode.blocks = inode.blocks.saturating_add(nblocks as u64);
            new
        };
        inode.xattr_len = used as u32;
        header::seal(&mut buf, XATTR_MAGIC, first, ino)?;
        for (i, chunk) in buf.chunks(self.bs).enumerate() {
            self.put_block(first + i as u64, crate::fallible::copy(chunk)?, Seal::Raw)?;
        }
        Ok(())
    }

    /// Store a small blob in a pack block: where it is when it keeps its
    /// size in units, else in new units (the old place freed after).
    fn xattr_store_packed(&mut self, ino: u64, inode: &mut Inode, blob: &mut [u8]) -> Result<()> {
        let (nr, offset) = if self.pack_fits_in_place(inode, blob.len()) {
            (inode.xattr_block, inode.xattr_offset)
        } else {
            let place = self.pack_alloc(blob.len())?;
            self.xattr_free_run(inode)?;
            inode.xattr_block = place.0;
            inode.xattr_offset = place.1;
            inode.flags |= FLAG_XATTR_PACKED;
            place
        };
        inode.xattr_len = blob.len() as u32;
        self.pack_write(ino, nr, offset, blob)
    }

    /// Free the blob's own blocks, or its units in a pack block.
    fn xattr_free_run(&mut self, inode: &mut Inode) -> Result<()> {
        if inode.flags & FLAG_XATTR_PACKED != 0 {
            self.pack_free(inode)?;
            inode.flags &= !FLAG_XATTR_PACKED;
            inode.xattr_offset = 0;
        } else if inode.xattr_block != 0 {
            let n = u64::from(inode.xattr_blocks);
            self.free_blocks(inode.xattr_block, n)?;
            inode.blocks = inode.blocks.saturating_sub(n);
        }
        inode.xattr_block = 0;
        inode.xattr_blocks = 0;
        inode.xattr_len = 0;
        Ok(())
    }

    /// Free all of an inode's attribute storage: the blob and, for a tree
    /// inode, every tree node and value run (inode is written by the
    /// caller). The one entry point inode deletion uses.
    pub(crate) fn xattr_free_blob(&mut self, inode: &mut Inode) -> Result<()> {
        if inode.flags & FLAG_XATTR_TREE != 0 && inode.xattr_block != 0 {
            match self.xattr_free_tree(inode) {
                // A damaged tree must not make its file undeletable, and
                // freeing what a damaged tree names could free another
                // file's blocks: leave its blocks allocated for fsck,
                // which finds them owned by nobody and frees them.
                Err(FsError::Corrupt(_)) => {}
                r => r?,
            }
        }
        inode.flags &= !FLAG_XATTR_TREE;
        if inode.flags & FLAG_XATTR_PACKED != 0 {
            match self.pack_free(inode) {
                // As for a damaged tree: fsck finds the units owned by
                // nobody and frees them.
                Err(FsError::Corrupt(_)) | Ok(()) => {}
                Err(e) => return Err(e),
            }
            inode.flags &= !FLAG_XATTR_PACKED;
            inode.xattr_offset = 0;
            inode.xattr_block = 0;
            inode.xattr_len = 0;
            return Ok(());
        }
        self.xattr_free_run(inode)
    }

    /// Free a tree inode's attribute tree (nodes, root and value runs).
    fn xattr_free_tree(&mut self, inode: &mut Inode) -> Result<()> {
        // The blob names its owner; tree nodes are checked against it.
        let mut first = crate::fallible::zeroed(self.bs)?;
        self.with_raw_block(inode.xattr_block, |d| {
            first.copy_from_slice(d);
            Ok(())
        })?;
        let ino = get_u64(&first, header::OWNER_OFFSET)?;
        let blob = self.xattr_load(ino, inode)?;
        if let Some(nr) = blob.tree_root {
            let root = self.xtree_open(ino, nr, inode.blocks)?;
            inode.blocks = self.xtree_free(ino, root)?;
        }
        Ok(())
    }

    /// Whether `ino` keeps attributes in an attribute tree.
    pub fn xattr_uses_tree(&mut self, ino: u64) -> Result<bool> {
        Ok(self.read_inode(ino)?.flags & FLAG_XATTR_TREE != 0)
    }

    /// The value of one attribute, if set.
    pub(crate) fn xattr_find(
        &mut self,
        ino: u64,
        inode: &Inode,
        ns: Namespace,
        short: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        // Scan the blob in place: only the match is copied out.
        let Some(RawBlob {
            bytes: blob,
            start,
            tree_root,
        }) = self.xattr_raw(ino, inode)?
        else {
            return Ok(None);
        };
        for e in XattrIter::new_at(&blob, start)? {
            let e = e?;
            if e.namespace == ns && e.name == short {
                return crate::fallible::copy(e.value).map(Some);
            }
        }
        match tree_root {
            Some(nr) if !is_hot(ns, short) => {
                let root = self.xtree_open(ino, nr, inode.blocks)?;
                self.xtree_get(ino, &root, ns, short)
            }
            _ => Ok(None),
        }
    }

    /// Set (`Some`) or remove (`None`) one attribute of `inode`, inside the
    /// caller's transaction; the caller writes the inode. Returns whether
    /// the attribute existed before.
    pub(crate) fn xattr_put(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        ns: Namespace,
        short: &[u8],
        value: Option<&[u8]>,
    ) -> Result<bool> {
        let mut blob = self.xattr_load(ino, inode)?;
        let Some(nr) = blob.tree_root.filter(|_| !is_hot(ns, short)) else {
            let existed = edit(&mut blob.attrs, ns, short, value)?;
            if blob.tree_root.is_none() && self.xattr_past_threshold(&blob.attrs) {
                self.xattr_to_tree(ino, inode, blob)?;
            } else {
                self.xattr_store(ino, inode, &blob)?;
            }
            return Ok(existed);
        };
        let mut root = self.xtree_open(ino, nr, inode.blocks)?;
        let existed = self.xtree_put(ino, &mut root, ns, short, value)?;
        let hot: usize = blob.attrs.iter().map(|(n, s, v)| entry_len(*n, s, v)).sum();
        let back = match self.xtree_small(ino, &root)? {
            Some(cold) => cold <= self.bs / 2 && BLOB_HEADER + hot + cold <= MAX_BLOB,
            None => false,
        };
        if back {
            let items = self.xtree_all(ino, &root, true)?;
            inode.blocks = self.xtree_free(ino, root)?;
            for (n, s, v) in items {
                edit(&mut blob.attrs, n, &s, Some(&v))?;
            }
            blob.tree_root = None;
            inode.flags &= !FLAG_XATTR_TREE;
            self.xattr_store(ino, inode, &blob)?;
        } else {
            inode.blocks = self.xtree_close(ino, root)?;
        }
        Ok(existed)
    }

    /// Whether a blob-only attribute set should move to a tree: its
    /// non-hot attributes take more than a block, or the whole blob would
    /// pass `MAX_BLOB`.
    fn xattr_past_threshold(&self, attrs: &[Attr]) -> bool {
        let mut cold = 0usize;
        let mut all = BLOB_HEADER;
        for (ns, n, v) in attrs {
            let l = entry_len(*ns, n, v);
            all += l;
            if !is_hot(*ns, n) {
                cold += l;
            }
        }
        cold > 0 && (cold > self.bs || all > MAX_BLOB)
    }

    /// Move every non-hot attribute into a new tree, in this transaction.
    fn xattr_to_tree(&mut self, ino: u64, inode: &mut Inode, blob: Blob) -> Result<()> {
        let (hot, cold): (Vec<Attr>, Vec<Attr>) =
            blob.attrs.into_iter().partition(|(n, s, _)| is_hot(*n, s));
        let mut root = self.xtree_create(inode.blocks)?;
        for (n, s, v) in &cold {
            self.xtree_put(ino, &mut root, *n, s, Some(v))?;
        }
        let nr = root.nr;
        inode.blocks = self.xtree_close(ino, root)?;
        inode.flags |= FLAG_XATTR_TREE;
        self.sb.feature_incompat |= INCOMPAT_XATTR_TREE;
        self.xattr_store(
            ino,
            inode,
            &Blob {
                attrs: hot,
                tree_root: Some(nr),
            },
        )
    }

    /// `getxattr(2)`: the value of attribute `name` (full name with prefix).
    pub fn getxattr(&mut self, ino: u64, name: &[u8]) -> Result<Vec<u8>> {
        self.trim_before_read();
        let (ns, short) = parse_name(name)?;
        let inode = self.read_inode(ino)?;
        self.xattr_find(ino, &inode, ns, short)?
            .ok_or(FsError::NoData)
    }

    /// `listxattr(2)`: NUL-terminated full names, in (namespace, name)
    /// order wherever they are stored (so a listing does not change when
    /// an inode crosses the threshold).
    pub fn listxattr(&mut self, ino: u64) -> Result<Vec<u8>> {
        self.trim_before_read();
        let inode = self.read_inode(ino)?;
        let blob = self.xattr_load(ino, &inode)?;
        let mut names: Vec<(Namespace, Vec<u8>)> =
            blob.attrs.into_iter().map(|(n, s, _)| (n, s)).collect();
        if let Some(nr) = blob.tree_root {
            let root = self.xtree_open(ino, nr, inode.blocks)?;
            names.extend(
                self.xtree_all(ino, &root, false)?
                    .into_iter()
                    .map(|(n, s, _)| (n, s)),
            );
            names.sort_unstable();
        }
        let mut out = Vec::new();
        for (ns, n) in names {
            out.extend_from_slice(ns.prefix());
            out.extend_from_slice(&n);
            out.push(0);
        }
        Ok(out)
    }

    /// `setxattr(2)`.
    pub fn setxattr(
        &mut self,
        ino: u64,
        name: &[u8],
        value: &[u8],
        flags: XattrFlags,
        now: Timestamp,
    ) -> Result<()> {
        let (ns, short) = parse_name(name)?;
        if value.len() > MAX_VALUE {
            return Err(FsError::TooBig);
        }
        if let Some(kind) = crate::acl::AclKind::in_namespace(ns, short) {
            return self.acl_set(ino, kind, value, flags, now);
        }
        self.transact(|fs| {
            let mut inode = fs.read_inode(ino)?;
            if crate::vector::is_embedding(name) {
                fs.embedding_will_set(ino, &mut inode, value)?;
            }
            let existed = fs.xattr_put(ino, &mut inode, ns, short, Some(value))?;
            // A refused flag rolls the whole operation back.
            if existed && flags.create {
                return Err(FsError::Exists);
            }
            if !existed && flags.replace {
                return Err(FsError::NoData);
            }
            inode.ctime = now;
            fs.write_inode(ino, &inode)
        })
    }

    /// `removexattr(2)`.
    pub fn removexattr(&mut self, ino: u64, name: &[u8], now: Timestamp) -> Result<()> {
        let (ns, short) = parse_name(name)?;
        self.transact(|fs| {
            let mut inode = fs.read_inode(ino)?;
            if crate::vector::is_embedding(name) {
                if fs.xattr_find(ino, &inode, ns, short)?.is_none() {
                    return Err(FsError::NoData);
                }
                fs.embedding_will_remove(ino, &mut inode)?;
            }
            if !fs.xattr_put(ino, &mut inode, ns, short, None)? {
                return Err(FsError::NoData);
            }
            inode.ctime = now;
            fs.write_inode(ino, &inode)
        })
    }
}
