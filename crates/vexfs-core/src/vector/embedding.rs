//! The `user.vexfs.embedding` attribute: checks before it is stored, and
//! the index updates that go with setting and removing it.

use super::Deferred;
use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::fs::Fs;
use alloc::vec::Vec;
use vexfs_format::inode::{Inode, FLAG_HAS_EMBEDDING};
use vexfs_format::vector::{embedding_dim, EMBEDDING_XATTR};

/// Whether an attribute name is the embedding.
pub(crate) fn is_embedding(name: &[u8]) -> bool {
    name == EMBEDDING_XATTR
}

/// Little-endian f32 bytes to floats (length already checked).
pub(crate) fn floats(value: &[u8]) -> Result<Vec<f32>> {
    let mut v = Vec::new();
    crate::fallible::reserve(&mut v, value.len() / 4)?;
    v.extend(
        value
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
    );
    Ok(v)
}

impl<D: BlockDevice> Fs<D> {
    /// The embedding of `ino` as floats.
    pub(crate) fn embedding_of(&mut self, ino: u64) -> Result<Vec<f32>> {
        let v = self.getxattr(ino, EMBEDDING_XATTR)?;
        embedding_dim(&v).map_err(|_| crate::error::corrupt("stored embedding is malformed"))?;
        floats(&v)
    }

    /// Called inside `setxattr`'s transaction before the value is stored:
    /// validate it, set the inode flag, and queue the index update.
    pub(crate) fn embedding_will_set(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        value: &[u8],
    ) -> Result<()> {
        if !inode.is_reg() {
            return Err(FsError::Invalid);
        }
        let dim = embedding_dim(value).map_err(|_| FsError::Invalid)?;
        inode.flags |= FLAG_HAS_EMBEDDING;
        let Some(root) = self.index_root_of_file(inode)? else {
            return Ok(());
        };
        self.domain_load(root)?;
        let want = self.vectors.domains.get(&root).map(|d| d.spec.dim);
        if want != Some(dim) {
            return Err(FsError::Invalid);
        }
        self.domain_touch(root)?;
        let vector = floats(value)?;
        self.vectors_defer_upsert(root, ino, vector)?;
        Ok(())
    }

    /// Called inside `removexattr`'s transaction.
    pub(crate) fn embedding_will_remove(&mut self, ino: u64, inode: &mut Inode) -> Result<()> {
        inode.flags &= !FLAG_HAS_EMBEDDING;
        if let Some(root) = self.index_root_of_file(inode)? {
            self.domain_load(root)?;
            self.domain_touch(root)?;
            self.vectors_defer(Deferred::Remove { root, ino })?;
        }
        Ok(())
    }
}
