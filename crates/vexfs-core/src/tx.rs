//! The metadata cache and the transaction API.
//!
//! Every metadata change goes through here: an operation runs inside
//! [`Fs::transact`], reads blocks through the cache, and records changes with
//! [`Fs::modify_block`] / [`Fs::put_block`]. The first change to a block in a
//! transaction saves its before-image, so a failed operation is rolled back
//! in memory by [`Fs::abort`] and nothing reaches the disk. [`Fs::commit`]
//! seals checksums and writes the dirty set; it is the single place where the
//! metadata journal hooks in (write the set to the journal, then in place).
//!
//! File *data* blocks bypass the cache: they are written directly to the
//! device before the metadata that points at them is committed.

use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::fs::Fs;
use alloc::vec::Vec;
use vexfs_format::header;

/// How a dirty block is finished before it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seal {
    /// Written as is (inode table blocks carry per-inode checksums; xattr
    /// blob blocks are sealed by their writer).
    Raw,
    /// A block with the common metadata header: set magic/owner, checksum.
    Meta { magic: u32, owner: u64 },
}

impl<D: BlockDevice> Fs<D> {
    pub(crate) fn block_offset(&self, nr: u64) -> Result<u64> {
        if nr >= self.sb.block_count {
            return Err(crate::error::corrupt("block number beyond device"));
        }
        Ok(nr * self.bs as u64)
    }

    /// Run `f` as one transaction: commit if it succeeds, roll back if not.
    /// Nested calls join the outer transaction.
    pub(crate) fn transact<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.read_only {
            return Err(FsError::ReadOnly);
        }
        self.tx_depth += 1;
        if self.tx_depth == 1 {
            self.sb_before = Some(self.sb.clone());
        }
        let r = f(self);
        self.tx_depth -= 1;
        if self.tx_depth > 0 {
            return r;
        }
        match r {
            Ok(v) => match self.commit() {
                Ok(()) => {
                    self.vectors_after_commit();
                    Ok(v)
                }
                Err(e) => {
                    // Part of the change may be on disk: every index it
                    // touched is reloaded (its record is dirty) on next use.
                    self.vectors_after_failed_commit();
                    Err(e)
                }
            },
            Err(e) => {
                self.abort();
                self.vectors_after_abort();
                Err(e)
            }
        }
    }

    fn load_into_cache(&mut self, nr: u64) -> Result<()> {
        if self.cache.contains_key(&nr) {
            return Ok(());
        }
        let off = self.block_offset(nr)?;
        let mut buf = alloc::vec![0u8; self.bs];
        self.dev.read_at(off, &mut buf)?;
        self.cache.insert(nr, buf);
        Ok(())
    }

    /// A copy of a metadata block with a common header, verified (magic,
    /// checksum, self-reference and, if given, owner) when first read.
    pub(crate) fn meta_block(
        &mut self,
        nr: u64,
        magic: u32,
        owner: Option<u64>,
        what: &'static str,
    ) -> Result<Vec<u8>> {
        if let Some(b) = self.cache.get(&nr) {
            return Ok(b.clone());
        }
        let off = self.block_offset(nr)?;
        let mut buf = alloc::vec![0u8; self.bs];
        self.dev.read_at(off, &mut buf)?;
        let got_owner = header::verify(&buf, magic, nr, what)?;
        if owner.is_some_and(|o| o != got_owner) {
            return Err(crate::error::corrupt(
                "metadata block owned by another inode",
            ));
        }
        self.cache.insert(nr, buf.clone());
        Ok(buf)
    }

    /// Borrow a block read-only through the cache, without verification
    /// (inode table blocks: each record carries its own checksum).
    pub(crate) fn with_raw_block<T>(
        &mut self,
        nr: u64,
        f: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<T> {
        self.load_into_cache(nr)?;
        let b = self.cache.get(&nr).ok_or(FsError::Invalid)?;
        f(b)
    }

    fn save_undo(&mut self, nr: u64) {
        if self.tx_depth > 0 && !self.undo.contains_key(&nr) {
            let before = self.cache.get(&nr).cloned();
            self.undo.insert(nr, before);
        }
    }

    /// Change a cached block in place. The block must have been read (or
    /// verified) already when it is a metadata block with a header.
    pub(crate) fn modify_block<T>(
        &mut self,
        nr: u64,
        seal: Seal,
        f: impl FnOnce(&mut [u8]) -> Result<T>,
    ) -> Result<T> {
        debug_assert!(self.tx_depth > 0, "metadata change outside a transaction");
        self.load_into_cache(nr)?;
        self.save_undo(nr);
        self.dirty.insert(nr, seal);
        let b = self.cache.get_mut(&nr).ok_or(FsError::Invalid)?;
        f(b)
    }

    /// Replace a block's contents (new tree nodes, rewritten nodes).
    pub(crate) fn put_block(&mut self, nr: u64, data: Vec<u8>, seal: Seal) -> Result<()> {
        debug_assert!(self.tx_depth > 0, "metadata change outside a transaction");
        if data.len() != self.bs {
            return Err(FsError::Invalid);
        }
        self.block_offset(nr)?;
        self.save_undo(nr);
        self.dirty.insert(nr, seal);
        self.cache.insert(nr, data);
        Ok(())
    }

    /// A block was freed: it must not be written back as metadata.
    pub(crate) fn forget_block(&mut self, nr: u64) {
        if self.cache.contains_key(&nr) || self.dirty.contains_key(&nr) {
            self.save_undo(nr);
            self.cache.remove(&nr);
            self.dirty.remove(&nr);
        }
    }

    /// Seal and write every dirty block, then the superblock if it changed.
    pub(crate) fn commit(&mut self) -> Result<()> {
        let dirty = core::mem::take(&mut self.dirty);
        self.undo.clear();
        let sb_changed = self.sb_before.take().is_some_and(|b| b != self.sb);
        // Contiguous runs are coalesced into one device write each.
        let mut run: Vec<u8> = Vec::new();
        let mut run_start = 0u64;
        let mut run_next = u64::MAX;
        for (nr, seal) in dirty {
            let Some(buf) = self.cache.get_mut(&nr) else {
                continue;
            };
            if let Seal::Meta { magic, owner } = seal {
                header::seal(buf, magic, nr, owner)?;
            }
            if nr != run_next && !run.is_empty() {
                let off = run_start * self.bs as u64;
                self.dev.write_at(off, &run)?;
                run.clear();
            }
            if run.is_empty() {
                run_start = nr;
            }
            run.extend_from_slice(buf);
            run_next = nr + 1;
        }
        if !run.is_empty() {
            let off = run_start * self.bs as u64;
            self.dev.write_at(off, &run)?;
        }
        if sb_changed {
            self.write_superblock()?;
        }
        if self.cache.len() > self.cache_limit {
            // Everything is clean now; dropping the cache is always safe.
            self.cache.clear();
        }
        Ok(())
    }

    /// Roll back every change of the current transaction.
    pub(crate) fn abort(&mut self) {
        for (nr, before) in core::mem::take(&mut self.undo) {
            match before {
                Some(b) => {
                    self.cache.insert(nr, b);
                }
                None => {
                    self.cache.remove(&nr);
                }
            }
        }
        self.dirty.clear();
        if let Some(sb) = self.sb_before.take() {
            self.sb = sb;
        }
    }

    pub(crate) fn write_superblock(&mut self) -> Result<()> {
        let mut buf = alloc::vec![0u8; vexfs_format::superblock::SUPERBLOCK_SIZE];
        self.sb.encode(&mut buf)?;
        self.dev.write_at(0, &buf)?;
        Ok(())
    }

    /// Write file data directly (ordered before the metadata commit).
    pub(crate) fn write_data(&mut self, block: u64, buf: &[u8]) -> Result<()> {
        let off = self.block_offset(block)?;
        let blocks = buf.len().div_ceil(self.bs) as u64;
        if block + blocks > self.sb.block_count {
            return Err(crate::error::corrupt("data run beyond device"));
        }
        self.dev.write_at(off, buf)?;
        Ok(())
    }

    pub(crate) fn read_data(&mut self, block: u64, buf: &mut [u8]) -> Result<()> {
        let off = self.block_offset(block)?;
        let blocks = buf.len().div_ceil(self.bs) as u64;
        if block + blocks > self.sb.block_count {
            return Err(crate::error::corrupt("data run beyond device"));
        }
        self.dev.read_at(off, buf)?;
        Ok(())
    }
}
