//! The metadata journal: group commit, checkpoint and replay.
//!
//! Operations change blocks in the cache ([`crate::tx`]); their changes
//! accumulate in the *running transaction* (the dirty set and the
//! superblock) until [`Fs::journal_commit`] makes them durable as one unit:
//!
//! 1. write home the blocks the allocator handed out in this transaction,
//!    then flush the device: those blocks, file data written since the last
//!    commit, and the previous commit's home writes, are durable before
//!    anything that depends on them (ordered data; the log may be
//!    overwritten);
//! 2. write the transaction into the log (descriptors, block images, commit
//!    record with a CRC over all of it) in one sequential write, then flush:
//!    this is the commit point;
//! 3. write every block to its home location (the checkpoint). These writes
//!    are made durable by the next commit's first flush; until then the log
//!    still holds them, so a crash replays the transaction at mount.
//!
//! The log holds one transaction at a time, which keeps replay trivial: at
//! mount the log's first block is read and, if a complete transaction with
//! a valid commit record newer than the checkpointed sequence is found,
//! its images are written home. Replaying a transaction twice is harmless.
//!
//! A block allocated in the running transaction was free in every
//! committed state and no replayable log holds an image of it (freed blocks
//! are never logged, and quarantine keeps them from being reallocated until
//! the log has moved on), so until the commit record is durable nothing on
//! disk points at it: like file data it goes home directly, once, instead of
//! twice through the log. New tree nodes, attribute blocks and index blocks
//! (most of a bulk load's metadata) cost half the writes.
//!
//! Blocks freed in the running transaction are *quarantined*: the
//! allocator skips them until the transaction is durable, so a truncated
//! file can never show another file's new bytes after a crash, and a freed
//! metadata block rewritten as file data is never clobbered by a replay.
//!
//! A write or flush failure aborts the journal: the filesystem turns
//! read-only, the superblock's error state is set where possible, and
//! unmount no longer marks the image clean.
//!
//! Images without a journal (`journal_blocks == 0`) use the same group
//! commit but write home directly between two flushes: ordered, not atomic.

use crate::device::BlockDevice;
use crate::error::{corrupt, FsError, Result};
use crate::fallible;
use crate::fs::Fs;
use crate::tx::Seal;
use alloc::vec::Vec;
use vexfs_format::checksum::crc32c_update;
use vexfs_format::header;
use vexfs_format::journal::{
    decode_log_block, descriptor_target, encode_commit, encode_descriptor, tags_per_descriptor,
    transaction_blocks, JournalSuper, LogBlock,
};
use vexfs_format::superblock::{Superblock, STATE_ERRORS, SUPERBLOCK_SIZE};

/// The journal as mounted.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    /// First block of the journal region (its superblock).
    pub start: u64,
    pub sup: JournalSuper,
    /// Sequence number the next transaction gets.
    pub next_seq: u64,
}

/// Counters for tests, fsck and the daemon's statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Transactions written to the log.
    pub commits: u64,
    /// Block images written to the log.
    pub logged_blocks: u64,
    /// Blocks allocated in their transaction, written home before its
    /// commit record instead of through the log.
    pub early_blocks: u64,
    /// Commits too large for the log, written home between two flushes.
    pub unjournaled_commits: u64,
    /// Extra transactions long operations (freeing a huge or fragmented
    /// file) were split into.
    pub split_steps: u64,
    /// At mount: the sequence number and image count of the transaction
    /// replayed from the log, if one was.
    pub replayed: Option<(u64, u64)>,
}

/// A complete transaction found in the log.
struct Found {
    seq: u64,
    images: Vec<(u64, Vec<u8>)>,
}

impl<D: BlockDevice> Fs<D> {
    fn log_block_offset(&self, j: &Journal, i: u64) -> u64 {
        (j.start + 1 + i) * self.bs as u64
    }

    /// Images a single transaction may carry.
    pub(crate) fn journal_capacity(&self) -> usize {
        let Some(j) = &self.journal else {
            return usize::MAX;
        };
        let mut n = j.sup.log_blocks.saturating_sub(2) as usize;
        while n > 0 && transaction_blocks(self.bs, n) > j.sup.log_blocks {
            n -= 1;
        }
        n
    }

    /// Read the journal superblock and the log at open. Rewrites home a
    /// committed transaction that may not be (read-write), or lays it over
    /// the device in memory (read-only).
    pub(crate) fn journal_open(&mut self) -> Result<()> {
        if self.sb.journal_blocks == 0 {
            return Ok(());
        }
        let start = self.sb.journal_start;
        let mut buf = crate::fallible::zeroed(self.bs)?;
        self.dev.read_at(start * self.bs as u64, &mut buf)?;
        let sup = JournalSuper::decode(
            &buf,
            self.sb.block_size,
            self.sb.journal_blocks,
            &self.sb.uuid,
        )?;
        let mut j = Journal {
            start,
            sup,
            next_seq: sup.checkpointed.wrapping_add(1),
        };
        let (found, newest_seen) = self.find_transaction(&j)?;
        j.next_seq = j.next_seq.max(newest_seen.wrapping_add(1));
        if let Some(t) = found.filter(|t| t.seq > sup.checkpointed) {
            let count = t.images.len() as u64;
            if self.read_only {
                for (nr, img) in t.images {
                    self.overlay.insert(nr, img);
                }
            } else {
                for (nr, img) in &t.images {
                    self.dev.write_at(nr * self.bs as u64, img)?;
                }
                self.dev.flush()?;
                j.sup.checkpointed = t.seq;
            }
            self.journal_stats.replayed = Some((t.seq, count));
            // The replayed superblock replaces the one read first.
            let mut sbuf = crate::fallible::zeroed(SUPERBLOCK_SIZE)?;
            self.read_home(0, &mut sbuf)?;
            let sb = Superblock::decode(&sbuf)?;
            if sb.journal_start != self.sb.journal_start
                || sb.journal_blocks != self.sb.journal_blocks
            {
                return Err(corrupt("replayed superblock moves the journal"));
            }
            self.sb = sb;
        }
        if sup.errno != 0 {
            // An aborted journal: whatever the replayed superblock says,
            // the filesystem has errors until fsck clears them.
            self.sb.state |= STATE_ERRORS;
        }
        if !self.read_only {
            // Later transactions must not be mistaken for ones already home.
            j.sup.checkpointed = j.next_seq.wrapping_sub(1);
            self.journal = Some(j);
            self.write_journal_super()?;
            self.dev.flush()?;
        } else {
            self.journal = Some(j);
        }
        self.sb_committed = self.sb.clone();
        Ok(())
    }

    /// The transaction at the start of the log, if it is complete and its
    /// checksums hold; also the highest sequence number seen in a valid
    /// log block, complete or not.
    fn find_transaction(&mut self, j: &Journal) -> Result<(Option<Found>, u64)> {
        let bs = self.bs;
        let log = j.sup.log_blocks;
        let mut block = crate::fallible::zeroed(bs)?;
        let mut pos = 0u64;
        let mut seq = None;
        let mut newest = 0u64;
        let mut body = 0xFFFF_FFFFu32;
        let mut images: Vec<(u64, Vec<u8>)> = Vec::new();
        while pos < log {
            self.dev
                .read_at(self.log_block_offset(j, pos), &mut block)?;
            pos += 1;
            let Ok(lb) = decode_log_block(&block) else {
                break;
            };
            match lb {
                LogBlock::Descriptor { seq: s, count } => {
                    newest = newest.max(s);
                    if seq.is_some_and(|q| q != s) || pos + count as u64 > log {
                        break;
                    }
                    seq = Some(s);
                    body = crc32c_update(body, &block);
                    let targets: Vec<u64> = (0..count)
                        .map(|i| descriptor_target(&block, i))
                        .collect::<core::result::Result<_, _>>()?;
                    for t in targets {
                        let mut img = crate::fallible::zeroed(bs)?;
                        self.dev.read_at(self.log_block_offset(j, pos), &mut img)?;
                        pos += 1;
                        body = crc32c_update(body, &img);
                        images.push((t, img));
                    }
                }
                LogBlock::Commit {
                    seq: s,
                    images: n,
                    body_crc,
                } => {
                    newest = newest.max(s);
                    let complete = seq == Some(s) && n == images.len() as u64 && body_crc == !body;
                    if !complete {
                        break;
                    }
                    for (t, _) in &images {
                        self.check_replay_target(*t)?;
                    }
                    return Ok((Some(Found { seq: s, images }), newest));
                }
            }
        }
        Ok((None, newest))
    }

    /// A committed transaction may only name blocks outside the journal.
    fn check_replay_target(&self, nr: u64) -> Result<()> {
        let j_end = self.sb.journal_start + self.sb.journal_blocks;
        if nr >= self.sb.block_count || (self.sb.journal_start..j_end).contains(&nr) {
            return Err(corrupt(
                "journal transaction names a block outside the filesystem",
            ));
        }
        Ok(())
    }

    /// Read block `nr` as it is at home, with replayed images laid over
    /// (read-only mounts of an image that needs replay).
    pub(crate) fn read_home(&mut self, nr: u64, buf: &mut [u8]) -> Result<()> {
        if let Some(img) = self.overlay.get(&nr) {
            let n = buf.len().min(img.len());
            buf[..n].copy_from_slice(&img[..n]);
            return Ok(());
        }
        self.dev.read_at(nr * self.bs as u64, buf)?;
        Ok(())
    }

    fn write_journal_super(&mut self) -> Result<()> {
        let Some(j) = &self.journal else {
            return Ok(());
        };
        let mut buf = crate::fallible::zeroed(self.bs)?;
        j.sup.encode(&mut buf)?;
        let off = j.start * self.bs as u64;
        self.dev.write_at(off, &buf)?;
        Ok(())
    }

    /// Whether the running transaction holds anything.
    pub fn has_uncommitted(&self) -> bool {
        !self.dirty.is_empty() || self.sb != self.sb_committed
    }

    pub fn journal_stats(&self) -> JournalStats {
        self.journal_stats
    }

    /// Commit the running transaction (see the module comment). With
    /// nothing to commit it still flushes, so file data written in place
    /// becomes durable (fsync of a file whose metadata did not change).
    pub(crate) fn journal_commit(&mut self) -> Result<()> {
        debug_assert!(self.tx_depth == 0, "journal commit inside an operation");
        if let Some(e) = self.aborted {
            return Err(e);
        }
        if self.read_only {
            return Ok(());
        }
        let prepared = if self.in_flight {
            Err(FsError::Busy)
        } else {
            self.commit_prepare()
        };
        // Out of memory before anything changed: the transaction stays,
        // whole, for a later commit.
        if prepared.as_ref().is_err_and(|e| *e == FsError::NoMemory) {
            return Err(FsError::NoMemory);
        }
        let r = self.journal_commit_inner(prepared);
        if let Err(e) = r {
            self.abort_journal(e);
        }
        r
    }

    fn journal_commit_inner(&mut self, prepared: Result<Option<CommitIo>>) -> Result<()> {
        match prepared? {
            None => {
                self.dev.flush()?;
                self.quarantine.clear();
                Ok(())
            }
            Some(io) => {
                let r = io.write(&mut self.dev);
                self.commit_complete(&io, r)
            }
        }
    }

    /// Start a commit whose device writes the caller carries out without
    /// holding the filesystem: seal the running transaction, copy out
    /// everything to write, and open a new running transaction. Requests
    /// may go on meanwhile; [`Fs::commit_end`] must follow. `None`: there
    /// is nothing to commit. `Busy`: a commit is already in flight.
    pub fn commit_begin(&mut self) -> Result<Option<CommitIo>> {
        if let Some(e) = self.aborted {
            return Err(e);
        }
        if self.read_only || self.tx_depth > 0 {
            return Ok(None);
        }
        if self.in_flight {
            return Err(FsError::Busy);
        }
        let r = self.commit_prepare();
        match r {
            // Nothing changed (see `commit_prepare`).
            Err(FsError::NoMemory) => {}
            Err(e) => self.abort_journal(e),
            Ok(_) => {}
        }
        r
    }

    /// Finish a commit started with [`Fs::commit_begin`], given the outcome
    /// of [`CommitIo::write`].
    pub fn commit_end(&mut self, io: CommitIo, written: Result<()>) -> Result<()> {
        let r = self.commit_complete(&io, written);
        if let Err(e) = r {
            self.abort_journal(e);
        }
        r
    }

    /// Whether block `nr` was handed out by the allocator in the running
    /// transaction.
    pub(crate) fn is_fresh(&self, nr: u64) -> bool {
        self.journal.is_some() && self.fresh.holds(nr)
    }

    /// Whether a commit started with [`Fs::commit_begin`] has not ended.
    pub fn commit_in_flight(&self) -> bool {
        self.in_flight
    }

    /// Whether the running transaction is large enough that the front end
    /// should commit it now (it was not committed inline because another
    /// commit was in flight).
    pub fn commit_wanted(&self) -> bool {
        !self.in_flight && self.transaction_full(1)
    }

    /// Whether a front end that commits in the background
    /// ([`Fs::commit_begin`] on its own thread) should start one now: the
    /// running transaction reached half the size at which the next
    /// operation would commit it inline, on the request's time.
    pub fn commit_due(&self) -> bool {
        !self.in_flight && self.transaction_full(2)
    }

    /// Seal the running transaction and lay out its writes. Everything
    /// that can run out of memory comes before the first change to the
    /// filesystem's state, so ENOMEM leaves the transaction as it was (to
    /// be committed by a later call) instead of aborting the journal.
    fn commit_prepare(&mut self) -> Result<Option<CommitIo>> {
        let sb_changed = self.sb != self.sb_committed;
        if self.dirty.is_empty() && !sb_changed {
            return Ok(None);
        }
        // Seal every dirty block; collect the images in block order,
        // apart: blocks allocated in this transaction go home before the
        // commit record, the rest through the log.
        let mut order: Vec<u64> = Vec::new();
        fallible::reserve(&mut order, self.dirty.len())?;
        order.extend(self.dirty.keys().copied());
        order.sort_unstable();
        let mut images: Vec<u64> = Vec::new();
        let mut early: Vec<u64> = Vec::new();
        fallible::reserve(&mut images, order.len())?;
        fallible::reserve(&mut early, order.len())?;
        for nr in order {
            let Some(buf) = self.cache.get_mut(&nr) else {
                continue;
            };
            if let Some(Seal::Meta { magic, owner }) = self.dirty.get(&nr).copied() {
                header::seal(buf, magic, nr, owner)?;
            }
            if self.journal.is_some() && self.fresh.holds(nr) {
                early.push(nr);
            } else {
                images.push(nr);
            }
        }
        let mut sb_block = fallible::zeroed(self.bs)?;
        if sb_changed {
            self.sb.encode(&mut sb_block)?;
        }
        let logged = images.len() + usize::from(sb_changed);
        let fits = self.journal.is_some() && logged <= self.journal_capacity();
        let log = if fits {
            Some(self.build_log(&images, sb_changed.then_some(&sb_block))?)
        } else {
            // Written home between two flushes, all of them alike.
            images.append(&mut early);
            images.sort_unstable();
            None
        };
        let early_blocks = early.len() as u64;
        let early = self.coalesce(&early)?;
        let mut home = self.coalesce(&images)?;
        if sb_changed {
            fallible::reserve(&mut home, 1)?;
            sb_block.truncate(SUPERBLOCK_SIZE);
            home.push((0, sb_block));
        }
        // Nothing below allocates: the transaction is now the commit's.
        if fits {
            if let Some(j) = self.journal.as_mut() {
                j.next_seq = j.next_seq.wrapping_add(1);
            }
        } else if self.journal.is_some() {
            self.journal_stats.unjournaled_commits += 1;
        }
        self.dirty.clear();
        self.fresh.clear();
        self.fresh_dirty = 0;
        self.sb_committed.clone_from(&self.sb);
        // Blocks freed so far stay out of reach until this is durable.
        // No commit is in flight (`commit_prepare` is not called while
        // one is), so its set is empty and this moves, not merges.
        debug_assert!(self.flight_quarantine.is_empty());
        core::mem::swap(&mut self.flight_quarantine, &mut self.quarantine);
        self.quarantine.clear();
        self.in_flight = true;
        Ok(Some(CommitIo {
            early,
            log,
            home,
            logged: logged as u64,
            early_blocks,
        }))
    }

    /// The cached images of `blocks` (ascending) as device writes, runs of
    /// consecutive blocks joined into one.
    fn coalesce(&self, blocks: &[u64]) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
        fallible::reserve(&mut out, blocks.chunk_by(|a, b| a + 1 == *b).count())?;
        // Each run is sized before it is filled: this copy runs with the
        // filesystem held, and a growing buffer would copy it again.
        for run in blocks.chunk_by(|a, b| a + 1 == *b) {
            let mut bytes = Vec::new();
            fallible::reserve(&mut bytes, run.len() * self.bs)?;
            for nr in run {
                bytes.extend_from_slice(self.cache.get(nr).ok_or(FsError::Invalid)?);
            }
            out.push((run[0] * self.bs as u64, bytes));
        }
        Ok(out)
    }

    fn commit_complete(&mut self, io: &CommitIo, written: Result<()>) -> Result<()> {
        self.in_flight = false;
        written?;
        if io.log.is_some() {
            self.journal_stats.commits += 1;
            self.journal_stats.logged_blocks += io.logged;
            self.journal_stats.early_blocks += io.early_blocks;
        }
        self.flight_quarantine.clear();
        self.trim_cache();
        Ok(())
    }

    /// Descriptors, images and the commit record, for one sequential write
    /// at the start of the log: (device offset, bytes).
    fn build_log(&self, images: &[u64], sb_block: Option<&Vec<u8>>) -> Result<(u64, Vec<u8>)> {
        let bs = self.bs;
        let Some(j) = self.journal.as_ref() else {
            return Err(FsError::Invalid);
        };
        // The caller advances the sequence once nothing can fail.
        let seq = j.next_seq;
        let start = j.start;
        let mut targets: Vec<u64> = Vec::new();
        fallible::reserve(&mut targets, images.len() + 1)?;
        if sb_block.is_some() {
            targets.push(0);
        }
        targets.extend_from_slice(images);
        let total = transaction_blocks(bs, targets.len()) as usize;
        let mut log = fallible::zeroed(total * bs)?;
        let mut at = 0usize;
        let mut body = 0xFFFF_FFFFu32;
        for chunk in targets.chunks(tags_per_descriptor(bs)) {
            let d = &mut log[at * bs..(at + 1) * bs];
            encode_descriptor(d, seq, chunk)?;
            body = crc32c_update(body, d);
            at += 1;
            for nr in chunk {
                let img: &[u8] = if *nr == 0 {
                    sb_block.map(|b| b.as_slice()).ok_or(FsError::Invalid)?
                } else {
                    self.cache.get(nr).ok_or(FsError::Invalid)?
                };
                let dst = &mut log[at * bs..(at + 1) * bs];
                dst.copy_from_slice(img);
                body = crc32c_update(body, dst);
                at += 1;
            }
        }
        encode_commit(
            &mut log[at * bs..(at + 1) * bs],
            seq,
            targets.len() as u64,
            !body,
        )?;
        Ok(((start + 1) * bs as u64, log))
    }

    /// Stop all writes after a failed commit: the cache is ahead of the
    /// disk and nothing may be built on it. Best effort, record the error
    /// on disk so the next mount and fsck see it.
    fn abort_journal(&mut self, e: FsError) {
        self.aborted = Some(e);
        self.read_only = true;
        self.vectors_after_failed_commit();
        if let Some(j) = self.journal.as_mut() {
            j.sup.errno = e.errno() as u32;
        }
        let _ = self.write_journal_super();
        let mut sb = self.sb_committed.clone();
        sb.state |= STATE_ERRORS;
        let mut buf = [0u8; SUPERBLOCK_SIZE];
        if sb.encode(&mut buf).is_ok() {
            let _ = self.dev.write_at(0, &buf);
        }
        let _ = self.dev.flush();
    }

    /// The error that aborted the journal, if one did.
    pub fn aborted(&self) -> Option<FsError> {
        self.aborted
    }

    /// Make the journal empty and valid again (fsck, after finding it
    /// unreadable). Until the next mount the checker writes without it.
    pub(crate) fn journal_reset(&mut self) -> Result<()> {
        let bs = self.bs;
        let start = self.sb.journal_start;
        let mut buf = crate::fallible::zeroed(2 * bs)?;
        let sup = JournalSuper {
            block_size: self.sb.block_size,
            log_blocks: self.sb.journal_blocks - 1,
            checkpointed: 0,
            uuid: self.sb.uuid,
            errno: 0,
        };
        sup.encode(&mut buf[..bs])?;
        self.dev.write_at(start * bs as u64, &buf)?;
        self.dev.flush()?;
        self.journal = None;
        Ok(())
    }

    /// After a clean unmount's final commit: every transaction is home.
    pub(crate) fn journal_close(&mut self) -> Result<()> {
        self.dev.flush()?;
        if let Some(j) = self.journal.as_mut() {
            j.sup.checkpointed = j.next_seq.wrapping_sub(1);
            j.sup.errno = 0;
        }
        self.write_journal_super()
    }

    /// Blocks freed in the running transaction may not be handed out again
    /// until it is durable.
    pub(crate) fn quarantine_add(&mut self, first: u64, count: u64) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        if self.tx_depth > 0 {
            fallible::reserve(&mut self.op_quarantined, 1)?;
        }
        self.quarantine.insert_apart(first, count)?;
        if self.tx_depth > 0 {
            self.op_quarantined.push(first);
        }
        Ok(())
    }

    /// The end of the quarantined range holding `nr`, if one does.
    pub(crate) fn quarantined_until(&self, nr: u64) -> Option<u64> {
        [&self.quarantine, &self.flight_quarantine]
            .into_iter()
            .find_map(|q| q.end_of(nr))
    }

    /// The first quarantined block after `nr`, if any (bounds a free run).
    pub(crate) fn next_quarantined(&self, nr: u64) -> Option<u64> {
        [&self.quarantine, &self.flight_quarantine]
            .into_iter()
            .filter_map(|q| q.next_start_after(nr))
            .min()
    }
}

/// The device writes of one commit, in order (see the module comment):
/// flush, the log and a flush (the commit point), then the home writes.
/// Without room in the log the home writes are the commit point, followed
/// by a flush.
#[derive(Debug)]
pub struct CommitIo {
    early: Vec<(u64, Vec<u8>)>,
    log: Option<(u64, Vec<u8>)>,
    home: Vec<(u64, Vec<u8>)>,
    logged: u64,
    early_blocks: u64,
}

impl CommitIo {
    /// Carry out the writes on `dev`: the filesystem's device or another
    /// handle to the same storage.
    pub fn write<D: BlockDevice + ?Sized>(&self, dev: &mut D) -> Result<()> {
        for (off, buf) in &self.early {
            dev.write_at(*off, buf)?;
        }
        dev.flush()?;
        if let Some((off, log)) = &self.log {
            dev.write_at(*off, log)?;
            dev.flush()?;
        }
        for (off, buf) in &self.home {
            dev.write_at(*off, buf)?;
        }
        if self.log.is_none() {
            dev.flush()?;
        }
        Ok(())
    }
}

/// Quarantined ranges, first block to length.
pub(crate) type Quarantine = crate::ranges::Ranges;
