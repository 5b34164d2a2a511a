//! Work too large for one transaction: freeing the blocks of a huge or
//! badly fragmented file (truncate, delete, punch hole).
//!
//! A commit must fit the journal, and an operation's undo images must fit
//! memory, so freeing stops when either is near its bound
//! ([`Fs::step_full`]) and leaves the rest as a [`Deferred`] item, which runs right after the
//! operation, before control returns to the caller, as a series of
//! transactions of its own (each may be committed before the next starts).
//!
//! Crash safety comes from the orphan list, as in ext4: a file being
//! truncated or deleted in steps is on it from the first step (its size
//! already the new one, or its link count zero), so a crash between two
//! steps leaves a consistent filesystem whose next mount, or fsck, frees
//! what is left (`reap_orphans`). A hole punched in steps needs no list: a
//! crash leaves part of the range punched and the rest with its old data,
//! which is what a punch that never reached the disk would leave too.

use crate::device::BlockDevice;
use crate::error::{corrupt_at, Location, Result};
use crate::fs::Fs;
use vexfs_format::inode::{Inode, FLAG_ORPHAN};
use vexfs_format::superblock::bits_per_bitmap_block;

/// What an operation left for transactions of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deferred {
    /// Free the inode's blocks past its size (all of them once it has no
    /// links and no open handles, then delete it). It is on the orphan
    /// list until this finishes.
    Trim { ino: u64 },
    /// Free the blocks in `[from, to)` (logical block numbers), from `to`
    /// down.
    Punch { ino: u64, from: u64, to: u64 },
    /// Reserve the holes in `[from, to)` as unwritten extents, then raise
    /// the size to `size_after` if that is larger (fallocate).
    Allocate {
        ino: u64,
        from: u64,
        to: u64,
        size_after: u64,
    },
}

impl<D: BlockDevice> Fs<D> {
    /// Whether the current operation must stop and leave the rest to a
    /// transaction of its own. The running transaction may grow to one and
    /// a half times the group-commit limit, which is at most half the log,
    /// so the overshoot of one more check still fits; blocks freed in it
    /// are not logged and do not count. The undo images (every block the
    /// operation touched, freed ones too) stay under half the cache.
    pub(crate) fn step_full(&self) -> bool {
        self.dirty.len() >= self.group_limit + self.group_limit / 2
            || self.undo.len() >= (self.cache_limit / 2).max(2)
    }

    /// Free the mapped blocks in logical `[first, last)`, from the end
    /// backwards, stopping when the current operation is full.
    /// `Some(next)`: the blocks in `[first, next)` are left.
    ///
    /// Each cut is at most one bitmap block's worth of blocks, so even one
    /// huge extent is freed in bounded pieces (from its end, which only
    /// shortens it). Every cut moves `last` down, so a damaged tree cannot
    /// make this loop forever.
    pub(crate) fn release_bounded(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        first: u64,
        mut last: u64,
    ) -> Result<Option<u64>> {
        let piece = bits_per_bitmap_block(self.sb.block_size).max(1);
        while last > first {
            let Some((k, v)) = self.tree_floor(ino, inode, last - 1)? else {
                return Ok(None);
            };
            if k > last - 1 {
                return Err(corrupt_at(
                    "extent tree floor past its key",
                    Location::Inode(ino),
                ));
            }
            let e = self.decode_extent(ino, k, &v)?;
            if e.logical_end() <= first {
                return Ok(None);
            }
            let hi = last.min(e.logical_end());
            let lo = first.max(e.logical).max(hi.saturating_sub(piece));
            for (p, n) in self.extent_remove_range(ino, inode, lo, hi)? {
                self.free_blocks(p, n)?;
                inode.blocks = inode.blocks.saturating_sub(n);
            }
            last = lo;
            if last > first && self.step_full() {
                return Ok(Some(last));
            }
        }
        Ok(None)
    }

    /// Put an inode whose blocks are freed in steps on the orphan list
    /// (in the caller's copy, which the caller writes) and queue the rest.
    pub(crate) fn defer_trim(&mut self, ino: u64, inode: &mut Inode) {
        if inode.flags & FLAG_ORPHAN == 0 {
            inode.flags |= FLAG_ORPHAN;
            inode.orphan_next = self.sb.orphan_head;
            self.sb.orphan_head = ino;
        }
        self.deferred.push(Deferred::Trim { ino });
    }

    /// Run the queued work, one bounded transaction per step. Called by
    /// [`Fs::transact`] when a top-level operation has succeeded.
    pub(crate) fn run_deferred(&mut self) -> Result<()> {
        if self.running_deferred {
            return Ok(());
        }
        self.running_deferred = true;
        let queue = core::mem::take(&mut self.deferred);
        let r = queue.into_iter().try_for_each(|item| {
            let mut next = Some(item);
            while let Some(item) = next {
                next = self.transact(|fs| fs.deferred_step(item))?;
                self.journal_stats.split_steps += 1;
            }
            Ok(())
        });
        self.running_deferred = false;
        r
    }

    /// One step; returns what is still left.
    fn deferred_step(&mut self, item: Deferred) -> Result<Option<Deferred>> {
        match item {
            Deferred::Trim { ino } => {
                let mut inode = self.read_inode(ino)?;
                let gone = inode.nlink == 0 && !self.open_counts.contains_key(&ino);
                let from = if gone {
                    0
                } else {
                    inode.size.div_ceil(self.bs as u64)
                };
                if self
                    .release_bounded(ino, &mut inode, from, u64::MAX)?
                    .is_some()
                {
                    self.write_inode(ino, &inode)?;
                    return Ok(Some(item));
                }
                self.finish_trim(ino, inode, gone)?;
                Ok(None)
            }
            Deferred::Punch { ino, from, to } => {
                let mut inode = self.read_inode(ino)?;
                let left = self.release_bounded(ino, &mut inode, from, to)?;
                self.write_inode(ino, &inode)?;
                Ok(left.map(|to| Deferred::Punch { ino, from, to }))
            }
            Deferred::Allocate {
                ino,
                from,
                to,
                size_after,
            } => {
                let mut inode = self.read_inode(ino)?;
                let left = self.allocate_bounded(ino, &mut inode, from, to)?;
                if left.is_none() && size_after > inode.size {
                    inode.size = size_after;
                }
                self.write_inode(ino, &inode)?;
                Ok(left.map(|from| Deferred::Allocate {
                    ino,
                    from,
                    to,
                    size_after,
                }))
            }
        }
    }

    /// The last step of a trim: delete the inode, or keep it on the list
    /// while it is open and unlinked, or take it off.
    fn finish_trim(&mut self, ino: u64, mut inode: Inode, gone: bool) -> Result<()> {
        if gone {
            return self.delete_inode(ino, inode);
        }
        if inode.nlink > 0 {
            self.orphan_remove(ino)?;
            inode.flags &= !FLAG_ORPHAN;
            inode.orphan_next = 0;
        }
        self.write_inode(ino, &inode)
    }
}
