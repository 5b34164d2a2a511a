//! The metadata cache and the operation API.
//!
//! Every metadata change goes through here: an operation runs inside
//! [`Fs::transact`], reads blocks through the cache, and records changes with
//! [`Fs::modify_block`] / [`Fs::put_block`]. The first change to a block in an
//! operation saves its before-image (and whether it was already dirty), so a
//! failed operation is rolled back in memory by [`Fs::abort`] and leaves the
//! running transaction exactly as it found it.
//!
//! A successful operation's changes stay in the cache as part of the running
//! transaction; [`crate::journal`] commits many operations at once (group
//! commit) when the transaction grows large, on sync/fsync and at unmount.
//!
//! File *data* blocks bypass the cache: they are written directly to the
//! device, and the journal's first flush makes them durable before the
//! metadata that points at them.

use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::fs::Fs;
use crate::nr_map::try_insert;
use alloc::vec::Vec;
use vexfs_format::header;

/// Block buffers kept for undo copies between operations (256 KiB with
/// 4 KiB blocks): more than one bulk call of a few dozen files touches.
const UNDO_SPARE_MAX: usize = 64;

/// A block's state before the current operation first changed it.
///
/// Until the operation ends, no block it touched leaves the cache or the
/// dirty set (a freed one is only marked `forgotten`), so rolling back
/// puts values back under keys that are present and cannot run out of
/// memory (see [`crate::nr_map`]).
#[derive(Debug, Clone)]
pub(crate) struct Undo {
    /// Its cached contents (`None`: it was not cached).
    pub before: Option<Vec<u8>>,
    /// Whether the running transaction already held it dirty, and how.
    pub dirty_before: Option<Seal>,
    /// Freed by the operation: dropped from the cache and the dirty set
    /// when the operation succeeds.
    pub forgotten: bool,
}

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

    /// Run `f` as one operation: keep its changes in the running
    /// transaction if it succeeds, roll back if not. Nested calls join the
    /// outer operation. An operation that runs out of space while blocks
    /// freed in the running transaction wait for it to be durable commits
    /// the transaction (releasing them) and runs once more.
    pub(crate) fn transact<T>(&mut self, mut f: impl FnMut(&mut Self) -> Result<T>) -> Result<T> {
        if self.read_only {
            return Err(self.aborted.unwrap_or(FsError::ReadOnly));
        }
        if self.tx_depth > 0 {
            self.tx_depth += 1;
            let r = f(self);
            self.tx_depth -= 1;
            return r;
        }
        let mut retried = false;
        loop {
            self.tx_depth = 1;
            self.sb_before = Some(self.sb.clone());
            // A failed operation leaves the allocators' hints as well, so
            // its retry chooses the same blocks and inode.
            let hints = (self.block_hint, self.ino_hint);
            let r = f(self);
            self.tx_depth = 0;
            match r {
                Ok(v) => {
                    self.end_operation();
                    self.vectors_after_commit();
                    if self.transaction_full(1) && !self.in_flight {
                        // The operation is done in memory; a failure here
                        // aborts the journal and shows on the next call.
                        let _ = self.journal_commit();
                    }
                    if !self.deferred.is_empty() {
                        self.run_deferred()?;
                    }
                    return Ok(v);
                }
                Err(e) => {
                    self.abort();
                    (self.block_hint, self.ino_hint) = hints;
                    self.vectors_after_abort();
                    if e == FsError::NoSpace
                        && !retried
                        && !self.in_flight
                        && !self.quarantine.is_empty()
                    {
                        retried = true;
                        self.journal_commit()?;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    fn load_into_cache(&mut self, nr: u64) -> Result<()> {
        if self.cache.contains_key(&nr) {
            return Ok(());
        }
        self.block_offset(nr)?;
        let mut buf = crate::fallible::zeroed(self.bs)?;
        self.read_home(nr, &mut buf)?;
        try_insert(&mut self.cache, nr, buf)?;
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
        self.verify_meta_block(nr, magic, owner, what)?;
        crate::fallible::copy(self.cache.get(&nr).ok_or(FsError::Invalid)?)
    }

    /// Bring a metadata block into the cache, verified as [`Fs::meta_block`]
    /// does, without copying it out: read it with `self.cache` after.
    pub(crate) fn verify_meta_block(
        &mut self,
        nr: u64,
        magic: u32,
        owner: Option<u64>,
        what: &'static str,
    ) -> Result<()> {
        if self.cache.contains_key(&nr) {
            return Ok(());
        }
        self.block_offset(nr)?;
        let mut buf = crate::fallible::zeroed(self.bs)?;
        self.read_home(nr, &mut buf)?;
        let got_owner = header::verify(&buf, magic, nr, what)?;
        if owner.is_some_and(|o| o != got_owner) {
            return Err(crate::error::corrupt(
                "metadata block owned by another inode",
            ));
        }
        try_insert(&mut self.cache, nr, buf)?;
        Ok(())
    }

    /// Borrow a verified metadata block (see [`Fs::meta_block`]).
    pub(crate) fn with_meta_block<T>(
        &mut self,
        nr: u64,
        magic: u32,
        owner: Option<u64>,
        what: &'static str,
        f: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<T> {
        self.verify_meta_block(nr, magic, owner, what)?;
        f(self.cache.get(&nr).ok_or(FsError::Invalid)?)
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

    /// Keep block `nr`'s state before the current operation's first change
    /// to it (nothing outside an operation); a later change by the same
    /// operation revives it if the operation had freed it.
    fn save_undo(&mut self, nr: u64) -> Result<()> {
        if self.tx_depth == 0 {
            return Ok(());
        }
        if let Some(u) = self.undo.get_mut(&nr) {
            u.forgotten = false;
            return Ok(());
        }
        // Copied into a buffer an earlier operation gave back, so an
        // operation's first change to a block allocates nothing.
        let before = match self.cache.get(&nr) {
            Some(b) => {
                let mut copy = self.undo_spare.pop().unwrap_or_default();
                copy.clear();
                crate::fallible::extend(&mut copy, b)?;
                Some(copy)
            }
            None => None,
        };
        let undo = Undo {
            before,
            dirty_before: self.dirty.get(&nr).copied(),
            forgotten: false,
        };
        try_insert(&mut self.undo, nr, undo)?;
        Ok(())
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
        self.save_undo(nr)?;
        self.mark_dirty(nr, seal)?;
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
        self.save_undo(nr)?;
        self.mark_dirty(nr, seal)?;
        try_insert(&mut self.cache, nr, data)?;
        Ok(())
    }

    /// A block was freed: it must not be written back as metadata. Inside
    /// an operation it goes when the operation succeeds (see [`Undo`]).
    pub(crate) fn forget_block(&mut self, nr: u64) -> Result<()> {
        if !self.cache.contains_key(&nr) && !self.dirty.contains_key(&nr) {
            return Ok(());
        }
        if self.tx_depth == 0 {
            self.drop_block(nr);
            return Ok(());
        }
        self.save_undo(nr)?;
        if let Some(u) = self.undo.get_mut(&nr) {
            u.forgotten = true;
        }
        Ok(())
    }

    fn drop_block(&mut self, nr: u64) {
        self.cache.remove(&nr);
        self.unmark_dirty(nr);
    }

    /// Put a block in the running transaction, counting the ones that will
    /// not go through the log (see [`crate::journal`]).
    fn mark_dirty(&mut self, nr: u64, seal: Seal) -> Result<()> {
        if try_insert(&mut self.dirty, nr, seal)?.is_none() && self.is_fresh(nr) {
            self.fresh_dirty += 1;
        }
        Ok(())
    }

    fn unmark_dirty(&mut self, nr: u64) {
        if self.dirty.remove(&nr).is_some() && self.is_fresh(nr) {
            self.fresh_dirty -= 1;
        }
    }

    /// Dirty blocks the next commit writes through the log: the ones that
    /// count against its capacity.
    pub(crate) fn logged_dirty(&self) -> usize {
        self.dirty.len() - self.fresh_dirty
    }

    /// Whether the running transaction is at its group-commit size: the
    /// log's share, or four times that in all (new blocks are not logged,
    /// but stay pinned in the cache and copied out by the commit, and an
    /// fsync waits for all of them), never more than half the cache.
    pub(crate) fn transaction_full(&self, fraction: usize) -> bool {
        let pinned = (4 * self.group_limit).min(self.cache_limit / 2);
        self.logged_dirty() >= (self.group_limit / fraction).max(1)
            || self.dirty.len() >= (pinned / fraction).max(1)
    }

    /// A successful operation: its changes join the running transaction.
    fn end_operation(&mut self) {
        let mut undo = core::mem::take(&mut self.undo);
        for (nr, u) in undo.drain() {
            if u.forgotten {
                self.drop_block(nr);
            }
            if let Some(b) = u.before {
                if self.undo_spare.len() < UNDO_SPARE_MAX {
                    // Out of memory: the buffer is freed instead.
                    let _ = crate::fallible::push(&mut self.undo_spare, b);
                }
            }
        }
        // The emptied table is kept for the next operation.
        self.undo = undo;
        self.op_quarantined.clear();
        self.op_new_packs.clear();
        self.sb_before = None;
        self.trim_cache();
    }

    /// Called first by every operation that only reads, so a read-only
    /// workload (a walk of a large tree, searches) keeps the cache within
    /// its limit too; operations that change the image trim when they end.
    /// At an operation's start no block is borrowed or expected to stay
    /// cached, so dropping clean blocks is safe there.
    pub(crate) fn trim_before_read(&mut self) {
        if self.tx_depth == 0 {
            self.trim_cache();
        }
    }

    /// Over its limit, drop about a quarter of the cache's clean blocks:
    /// they can always be read again. Dirty ones are the running
    /// transaction and stay until it commits; during a commit in flight
    /// nothing is dropped, since its blocks may not be home yet.
    ///
    /// Which quarter is a hash of the block number salted by the trim's
    /// sequence number: random replacement, with no per-access bookkeeping
    /// on the read paths, and a different choice each time so no block is
    /// always the one dropped. Dropping every clean block instead turns a
    /// working set just above the limit into a cold cache at each trim
    /// (more reads per pass than the set has blocks, in
    /// `tests/cache_trim.rs`); a quarter keeps most of it, and a trim still
    /// frees room for many blocks, so its cost stays amortised.
    pub(crate) fn trim_cache(&mut self) {
        if self.cache.len() > self.cache_limit && !self.in_flight {
            self.trims = self.trims.wrapping_add(1);
            let salt = self.trims.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let dirty = &self.dirty;
            self.cache
                .retain(|nr, _| dirty.contains_key(nr) || keeps_on_trim(*nr, salt));
        }
    }

    /// Roll back every change of the current operation. Allocates
    /// nothing: each block it restores is still cached and, if it was
    /// dirty before, still in the dirty set (see [`Undo`]).
    pub(crate) fn abort(&mut self) {
        let mut undo = core::mem::take(&mut self.undo);
        for (nr, u) in undo.drain() {
            match u.before {
                Some(b) => match self.cache.get_mut(&nr) {
                    Some(slot) => *slot = b,
                    None => debug_assert!(false, "block {nr} left the cache during an operation"),
                },
                None => {
                    self.cache.remove(&nr);
                }
            }
            match u.dirty_before {
                Some(seal) => match self.dirty.get_mut(&nr) {
                    Some(slot) => *slot = seal,
                    None => {
                        debug_assert!(false, "block {nr} left the dirty set during an operation")
                    }
                },
                None => self.unmark_dirty(nr),
            }
        }
        self.undo = undo;
        for nr in core::mem::take(&mut self.op_new_packs) {
            self.pack_room.remove(&nr);
        }
        for first in core::mem::take(&mut self.op_quarantined) {
            self.quarantine.remove_start(first);
        }
        self.deferred.clear();
        if let Some(sb) = self.sb_before.take() {
            self.sb = sb;
        }
    }

    pub(crate) fn write_superblock(&mut self) -> Result<()> {
        let mut buf = crate::fallible::zeroed(vexfs_format::superblock::SUPERBLOCK_SIZE)?;
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

/// Whether a clean block survives the trim salted by `salt`: three in four
/// do, by the low bits of the block number's SplitMix64 mix.
fn keeps_on_trim(nr: u64, salt: u64) -> bool {
    let mut state = nr ^ salt;
    vexfs_ann::rng::splitmix64(&mut state) & 3 != 0
}
