//! Extended attributes: one contiguous, checksummed blob per inode.
//!
//! Setting an attribute rewrites the blob (in place when its block count
//! is unchanged). Attribute sets are small (a 4096-d f32 embedding is 16 KiB),
//! so whole-blob rewrites keep the code simple and crash-atomic under the
//! transaction layer.

use crate::device::BlockDevice;
use crate::error::{corrupt, FsError, Result};
use crate::fs::Fs;
use crate::tx::Seal;
use alloc::vec::Vec;
use vexfs_format::header::{self, XATTR_MAGIC};
use vexfs_format::inode::{Inode, Timestamp};
use vexfs_format::xattr::{
    put_bounds, put_entry, Namespace, XattrEntry, XattrIter, BLOB_HEADER, MAX_BLOB, MAX_VALUE,
};

/// `setxattr(2)` flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XattrFlags {
    /// XATTR_CREATE: fail if it exists.
    pub create: bool,
    /// XATTR_REPLACE: fail if it does not exist.
    pub replace: bool,
}

type Attr = (Namespace, Vec<u8>, Vec<u8>);

fn parse_name(full: &[u8]) -> Result<(Namespace, &[u8])> {
    if full.len() > 255 {
        return Err(FsError::Range);
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
    fn xattr_load(&mut self, ino: u64, inode: &Inode) -> Result<Vec<Attr>> {
        if inode.xattr_block == 0 {
            return Ok(Vec::new());
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
        let mut blob = Vec::with_capacity((n as usize) * self.bs);
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
        let mut out = Vec::new();
        for e in XattrIter::new(&blob)? {
            let e = e?;
            out.push((e.namespace, e.name.to_vec(), e.value.to_vec()));
        }
        Ok(out)
    }

    fn xattr_store(&mut self, ino: u64, inode: &mut Inode, attrs: &[Attr]) -> Result<()> {
        if attrs.is_empty() {
            return self.xattr_free_blob(inode);
        }
        let used: usize = BLOB_HEADER
            + attrs
                .iter()
                .map(|(_, n, v)| {
                    XattrEntry {
                        namespace: Namespace::User,
                        name: n,
                        value: v,
                    }
                    .encoded_len()
                })
                .sum::<usize>();
        if used > MAX_BLOB {
            return Err(FsError::NoSpace);
        }
        let nblocks = used.div_ceil(self.bs);
        let mut blob = alloc::vec![0u8; nblocks * self.bs];
        let mut pos = BLOB_HEADER;
        for (ns, n, v) in attrs {
            pos = put_entry(
                &mut blob,
                pos,
                &XattrEntry {
                    namespace: *ns,
                    name: n,
                    value: v,
                },
            )?;
        }
        put_bounds(&mut blob, attrs.len(), used)?;
        let first = if inode.xattr_block != 0 && inode.xattr_blocks as usize == nblocks {
            inode.xattr_block
        } else {
            let new = self.alloc_contiguous(nblocks as u64)?;
            self.xattr_free_blob(inode)?;
            inode.xattr_block = new;
            inode.xattr_blocks = nblocks as u32;
            inode.blocks = inode.blocks.saturating_add(nblocks as u64);
            new
        };
        inode.xattr_len = used as u32;
        header::seal(&mut blob, XATTR_MAGIC, first, ino)?;
        for (i, chunk) in blob.chunks(self.bs).enumerate() {
            self.put_block(first + i as u64, chunk.to_vec(), Seal::Raw)?;
        }
        Ok(())
    }

    /// Free the blob's blocks (inode is written by the caller).
    pub(crate) fn xattr_free_blob(&mut self, inode: &mut Inode) -> Result<()> {
        if inode.xattr_block != 0 {
            let n = u64::from(inode.xattr_blocks);
            self.free_blocks(inode.xattr_block, n)?;
            inode.blocks = inode.blocks.saturating_sub(n);
        }
        inode.xattr_block = 0;
        inode.xattr_blocks = 0;
        inode.xattr_len = 0;
        Ok(())
    }

    /// The value of one attribute, if set.
    pub(crate) fn xattr_find(
        &mut self,
        ino: u64,
        inode: &Inode,
        ns: Namespace,
        short: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        if inode.xattr_block == 0 {
            return Ok(None);
        }
        Ok(self
            .xattr_load(ino, inode)?
            .into_iter()
            .find(|(n, s, _)| *n == ns && s == short)
            .map(|(_, _, v)| v))
    }

    /// Set (`Some`) or remove (`None`) one attribute in `inode`'s blob,
    /// inside the caller's transaction; the caller writes the inode.
    /// Returns whether the attribute existed before.
    pub(crate) fn xattr_put(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        ns: Namespace,
        short: &[u8],
        value: Option<&[u8]>,
    ) -> Result<bool> {
        let mut attrs = self.xattr_load(ino, inode)?;
        let pos = attrs.iter().position(|(n, s, _)| *n == ns && s == short);
        match (pos, value) {
            (Some(i), Some(v)) => {
                if let Some(a) = attrs.get_mut(i) {
                    a.2 = v.to_vec();
                }
            }
            (None, Some(v)) => {
                let at = attrs.partition_point(|(n, s, _)| (*n, s.as_slice()) < (ns, short));
                attrs.insert(at, (ns, short.to_vec(), v.to_vec()));
            }
            (Some(i), None) => {
                attrs.remove(i);
            }
            (None, None) => return Ok(false),
        }
        self.xattr_store(ino, inode, &attrs)?;
        Ok(pos.is_some())
    }

    /// `getxattr(2)`: the value of attribute `name` (full name with prefix).
    pub fn getxattr(&mut self, ino: u64, name: &[u8]) -> Result<Vec<u8>> {
        let (ns, short) = parse_name(name)?;
        let inode = self.read_inode(ino)?;
        self.xattr_find(ino, &inode, ns, short)?
            .ok_or(FsError::NoData)
    }

    /// `listxattr(2)`: NUL-terminated full names.
    pub fn listxattr(&mut self, ino: u64) -> Result<Vec<u8>> {
        let inode = self.read_inode(ino)?;
        let mut out = Vec::new();
        for (ns, n, _) in self.xattr_load(ino, &inode)? {
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
            let mut attrs = fs.xattr_load(ino, &inode)?;
            let pos = attrs.iter().position(|(n, s, _)| *n == ns && s == short);
            match (pos, flags.create, flags.replace) {
                (Some(_), true, _) => return Err(FsError::Exists),
                (None, _, true) => return Err(FsError::NoData),
                (Some(i), _, _) => {
                    if let Some(a) = attrs.get_mut(i) {
                        a.2 = value.to_vec();
                    }
                }
                (None, _, _) => {
                    let at = attrs.partition_point(|(n, s, _)| (*n, s.as_slice()) < (ns, short));
                    attrs.insert(at, (ns, short.to_vec(), value.to_vec()));
                }
            }
            if crate::vector::is_embedding(name) {
                fs.embedding_will_set(ino, &mut inode, value)?;
            }
            fs.xattr_store(ino, &mut inode, &attrs)?;
            inode.ctime = now;
            fs.write_inode(ino, &inode)
        })
    }

    /// `removexattr(2)`.
    pub fn removexattr(&mut self, ino: u64, name: &[u8], now: Timestamp) -> Result<()> {
        let (ns, short) = parse_name(name)?;
        self.transact(|fs| {
            let mut inode = fs.read_inode(ino)?;
            let mut attrs = fs.xattr_load(ino, &inode)?;
            let i = attrs
                .iter()
                .position(|(n, s, _)| *n == ns && s == short)
                .ok_or(FsError::NoData)?;
            attrs.remove(i);
            if crate::vector::is_embedding(name) {
                fs.embedding_will_remove(ino, &mut inode)?;
            }
            fs.xattr_store(ino, &mut inode, &attrs)?;
            inode.ctime = now;
            fs.write_inode(ino, &inode)
        })
    }
}
