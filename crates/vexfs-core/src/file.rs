//! Regular file data: read, write, truncate, fallocate.
//!
//! Invariant: inside allocated blocks, every byte past `size` is zero. Writes
//! zero-fill the unwritten parts of new blocks and truncation zeroes the tail
//! of the last partial block, so extending a file never exposes old data.
//!
//! `fallocate` reserves blocks as unwritten extents: nothing is written to
//! them and reads give zeros. The first write into one writes whole blocks
//! (zero-padded, never reading the stale device contents) and then marks
//! those blocks written, after the data, so a crash in between leaves them
//! reading as zeros.

use crate::deferred::Deferred;
use crate::device::BlockDevice;
use crate::error::{corrupt_at, FsError, Location, Result};
use crate::extents::Mapping;
use crate::fs::{FallocMode, Fs};
use alloc::vec::Vec;
use vexfs_format::extent::{Extent, EXTENT_UNWRITTEN, MAX_EXTENT_LEN};
use vexfs_format::inode::{Inode, Timestamp};

/// Largest file: 16 TiB.
pub const MAX_FILE_SIZE: u64 = 1 << 44;
/// Blocks allocated per extent step (bounds the zero-filled buffer).
const MAX_RUN: u64 = 1024;

impl<D: BlockDevice> Fs<D> {
    pub(crate) fn regular(&mut self, ino: u64) -> Result<Inode> {
        let inode = self.read_inode(ino)?;
        if inode.is_dir() {
            return Err(FsError::IsDir);
        }
        if !inode.is_reg() {
            return Err(FsError::Invalid);
        }
        // Every offset computation below relies on this bound.
        if inode.size > MAX_FILE_SIZE {
            return Err(corrupt_at(
                "file size beyond the largest file",
                Location::Inode(ino),
            ));
        }
        Ok(inode)
    }

    /// Read up to `len` bytes at `offset`; short at end of file.
    pub fn read(&mut self, ino: u64, offset: u64, len: usize) -> Result<Vec<u8>> {
        self.trim_before_read();
        let inode = self.regular(ino)?;
        self.read_inode_data(ino, &inode, offset, len)
    }

    pub(crate) fn read_inode_data(
        &mut self,
        ino: u64,
        inode: &Inode,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>> {
        if offset >= inode.size {
            return Ok(Vec::new());
        }
        let end = inode.size.min(offset.saturating_add(len as u64));
        let bs = self.bs as u64;
        let mut out = crate::fallible::zeroed((end - offset) as usize)?;
        let mut pos = offset;
        while pos < end {
            let lblk = pos / bs;
            let blocks_left = (end - 1) / bs - lblk + 1;
            match self.map_block(ino, inode, lblk)? {
                Mapping::Mapped {
                    physical,
                    run,
                    unwritten,
                } => {
                    let n = run.min(blocks_left).min(MAX_RUN);
                    let span_end = end.min((lblk + n) * bs);
                    let dst_lo = (pos - offset) as usize;
                    let dst_hi = (span_end - offset) as usize;
                    if !unwritten {
                        let mut tmp = crate::fallible::zeroed((n * bs) as usize)?;
                        self.read_data(physical, &mut tmp)?;
                        let src_lo = (pos - lblk * bs) as usize;
                        let src = tmp
                            .get(src_lo..src_lo + (dst_hi - dst_lo))
                            .ok_or(FsError::Invalid)?;
                        out.get_mut(dst_lo..dst_hi)
                            .ok_or(FsError::Invalid)?
                            .copy_from_slice(src);
                    }
                    pos = span_end;
                }
                Mapping::Hole { run } => {
                    let n = run.min(blocks_left);
                    pos = end.min((lblk + n) * bs);
                }
            }
        }
        Ok(out)
    }

    /// Overwrite `[pos, hi)` inside a mapped run starting at logical block
    /// `lblk` / physical `physical`, read-modify-writing partial blocks
    /// unless the run is `unwritten` (its old contents read as zeros).
    fn write_mapped(
        &mut self,
        physical: u64,
        lblk: u64,
        pos: u64,
        hi: u64,
        data: &[u8],
        unwritten: bool,
    ) -> Result<()> {
        let bs = self.bs as u64;
        let first = pos / bs;
        let last = (hi - 1) / bs;
        let nblocks = last - first + 1;
        let phys0 = physical + (first - lblk);
        let mut buf = crate::fallible::zeroed((nblocks * bs) as usize)?;
        let head_partial = !unwritten && !pos.is_multiple_of(bs);
        let tail_partial = !unwritten && !hi.is_multiple_of(bs);
        if head_partial {
            self.read_data(phys0, buf.get_mut(..bs as usize).ok_or(FsError::Invalid)?)?;
        }
        if tail_partial && (nblocks > 1 || !head_partial) {
            let off = ((nblocks - 1) * bs) as usize;
            self.read_data(
                phys0 + nblocks - 1,
                buf.get_mut(off..).ok_or(FsError::Invalid)?,
            )?;
        }
        let lo = (pos - first * bs) as usize;
        buf.get_mut(lo..lo + data.len())
            .ok_or(FsError::Invalid)?
            .copy_from_slice(data);
        self.write_data(phys0, &buf)
    }

    /// Allocate blocks for the hole at `lblk` (at most `want`), fill them
    /// with `data` placed at byte `pos` and zeros elsewhere, and map them.
    /// Returns the number of blocks mapped.
    fn fill_hole(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        lblk: u64,
        want: u64,
        pos: u64,
        data: &[u8],
    ) -> Result<u64> {
        let bs = self.bs as u64;
        let goal = match lblk.checked_sub(1) {
            Some(prev) => match self.map_block(ino, inode, prev)? {
                Mapping::Mapped { physical, .. } => physical + 1,
                Mapping::Hole { .. } => self.block_hint,
            },
            None => self.block_hint,
        };
        let want = want.min(MAX_RUN).min(u64::from(MAX_EXTENT_LEN));
        // Checked before allocating, so a bad count fails cleanly.
        if inode.blocks.checked_add(want).is_none() {
            return Err(corrupt_at(
                "inode block count overflows",
                Location::Inode(ino),
            ));
        }
        let (phys, got) = self.alloc_blocks(goal, want)?;
        let mut buf = crate::fallible::zeroed((got * bs) as usize)?;
        let lo = (pos - lblk * bs) as usize;
        let take = data.len().min(buf.len().saturating_sub(lo));
        buf.get_mut(lo..lo + take)
            .ok_or(FsError::Invalid)?
            .copy_from_slice(data.get(..take).ok_or(FsError::Invalid)?);
        self.write_data(phys, &buf)?;
        self.extent_insert(
            ino,
            inode,
            Extent {
                logical: lblk,
                physical: phys,
                len: got as u32,
                flags: 0,
            },
        )?;
        // Cannot saturate: got <= want, checked above.
        inode.blocks = inode.blocks.saturating_add(got);
        Ok(got)
    }

    /// Write `data` at `offset`, allocating as needed.
    pub fn write(&mut self, ino: u64, offset: u64, data: &[u8], now: Timestamp) -> Result<usize> {
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(FsError::FileTooBig)?;
        if end > MAX_FILE_SIZE {
            return Err(FsError::FileTooBig);
        }
        self.transact(|fs| {
            let mut inode = fs.regular(ino)?;
            fs.write_range(ino, &mut inode, offset, data)?;
            if end > inode.size {
                inode.size = end;
            }
            inode.mtime = now;
            inode.ctime = now;
            fs.write_inode(ino, &inode)?;
            Ok(data.len())
        })
    }

    pub(crate) fn write_range(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        offset: u64,
        data: &[u8],
    ) -> Result<()> {
        let bs = self.bs as u64;
        let end = offset + data.len() as u64;
        let mut pos = offset;
        while pos < end {
            let lblk = pos / bs;
            let blocks_left = (end - 1) / bs - lblk + 1;
            let d = data
                .get((pos - offset) as usize..)
                .ok_or(FsError::Invalid)?;
            match self.map_block(ino, inode, lblk)? {
                Mapping::Mapped {
                    physical,
                    run,
                    unwritten,
                } => {
                    let n = run.min(blocks_left).min(MAX_RUN);
                    let hi = end.min((lblk + n) * bs);
                    let chunk = d.get(..(hi - pos) as usize).ok_or(FsError::Invalid)?;
                    self.write_mapped(physical, lblk, pos, hi, chunk, unwritten)?;
                    if unwritten {
                        self.extent_mark_written(ino, inode, lblk, (hi - 1) / bs + 1)?;
                    }
                    pos = hi;
                }
                Mapping::Hole { run } => {
                    let got = self.fill_hole(ino, inode, lblk, run.min(blocks_left), pos, d)?;
                    pos = end.min((lblk + got) * bs);
                }
            }
        }
        Ok(())
    }

    /// Zero bytes `[from, to)` that lie inside one block, if it is mapped
    /// and written (an unwritten block reads as zeros already).
    fn zero_within_block(&mut self, ino: u64, inode: &Inode, from: u64, to: u64) -> Result<()> {
        let bs = self.bs as u64;
        let lblk = from / bs;
        if let Mapping::Mapped {
            physical,
            unwritten: false,
            ..
        } = self.map_block(ino, inode, lblk)?
        {
            let mut b = crate::fallible::zeroed(self.bs)?;
            self.read_data(physical, &mut b)?;
            let lo = (from - lblk * bs) as usize;
            let hi = (to - lblk * bs) as usize;
            b.get_mut(lo..hi).ok_or(FsError::Invalid)?.fill(0);
            self.write_data(physical, &b)?;
        }
        Ok(())
    }

    /// Drop blocks beyond `new_size` and zero the tail of the last block.
    /// Blocks past this operation's budget are freed by transactions of
    /// their own (`crate::deferred`): the inode then goes on the orphan
    /// list, in the caller's copy, which the caller writes. Returns whether
    /// everything was freed here.
    pub(crate) fn truncate_blocks(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        new_size: u64,
    ) -> Result<bool> {
        let bs = self.bs as u64;
        let left = self.release_bounded(ino, inode, new_size.div_ceil(bs), u64::MAX)?;
        if !new_size.is_multiple_of(bs) && new_size < inode.size {
            let block_end = (new_size / bs + 1) * bs;
            self.zero_within_block(ino, inode, new_size, block_end)?;
        }
        if left.is_some() {
            self.defer_trim(ino, inode);
        }
        Ok(left.is_none())
    }

    /// Set the size of a regular file (inside a transaction).
    pub(crate) fn set_size(&mut self, ino: u64, inode: &mut Inode, size: u64) -> Result<()> {
        if size > MAX_FILE_SIZE {
            return Err(FsError::FileTooBig);
        }
        if size < inode.size {
            self.truncate_blocks(ino, inode, size)?;
        }
        inode.size = size;
        Ok(())
    }

    /// Make bytes `[offset, stop)` read as zeros: whole blocks are freed
    /// (in bounded steps, `crate::deferred`), partial ones zeroed in place.
    fn punch(&mut self, ino: u64, inode: &mut Inode, offset: u64, stop: u64) -> Result<()> {
        let bs = self.bs as u64;
        let first_full = offset.div_ceil(bs);
        let last_full = stop / bs;
        if first_full < last_full {
            if !offset.is_multiple_of(bs) {
                self.zero_within_block(ino, inode, offset, first_full * bs)?;
            }
            if !stop.is_multiple_of(bs) {
                self.zero_within_block(ino, inode, last_full * bs, stop)?;
            }
            if let Some(to) = self.release_bounded(ino, inode, first_full, last_full)? {
                self.deferred.push(Deferred::Punch {
                    ino,
                    from: first_full,
                    to,
                });
            }
        } else {
            // Within one or two partial blocks: zero in place.
            let mut p = offset;
            while p < stop {
                let be = ((p / bs) + 1) * bs;
                self.zero_within_block(ino, inode, p, be.min(stop))?;
                p = be.min(stop);
            }
        }
        Ok(())
    }

    /// Reserve the holes in `[offset, end)` as unwritten extents: blocks
    /// are allocated and mapped, nothing is written to them.
    /// What does not fit this operation is queued for transactions of its
    /// own, which set the size to `size_after` (when larger) at the end.
    fn allocate_holes(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        offset: u64,
        end: u64,
        size_after: u64,
    ) -> Result<()> {
        let bs = self.bs as u64;
        let to = end.div_ceil(bs);
        if let Some(from) = self.allocate_bounded(ino, inode, offset / bs, to)? {
            self.deferred.push(Deferred::Allocate {
                ino,
                from,
                to,
                size_after,
            });
        } else if size_after > inode.size {
            inode.size = size_after;
        }
        Ok(())
    }

    /// Reserve the holes in logical `[lblk, last)`, stopping when the
    /// operation is full (`crate::deferred`); `Some(next)`: the holes from
    /// `next` on are left.
    pub(crate) fn allocate_bounded(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        mut lblk: u64,
        last: u64,
    ) -> Result<Option<u64>> {
        while lblk < last {
            let step = match self.map_block(ino, inode, lblk)? {
                Mapping::Mapped { run, .. } => run.min(last - lblk),
                Mapping::Hole { run } => {
                    self.reserve_hole(ino, inode, lblk, run.min(last - lblk))?
                }
            };
            if step == 0 {
                return Err(FsError::NoSpace);
            }
            lblk += step;
            if lblk < last && self.step_full() {
                return Ok(Some(lblk));
            }
        }
        Ok(None)
    }

    /// Allocate up to `want` blocks for the hole at `lblk` and map them
    /// unwritten; returns the number mapped.
    fn reserve_hole(&mut self, ino: u64, inode: &mut Inode, lblk: u64, want: u64) -> Result<u64> {
        self.allocate_extent(ino, inode, lblk, want, EXTENT_UNWRITTEN)
            .map(|(_, got)| got)
    }

    /// Allocate up to `want` blocks for the hole at `lblk`, next to the
    /// block before it when possible, and map them with extent `flags`;
    /// returns the first physical block and the number mapped.
    pub(crate) fn allocate_extent(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        lblk: u64,
        want: u64,
        flags: u32,
    ) -> Result<(u64, u64)> {
        let goal = match lblk.checked_sub(1) {
            Some(prev) => match self.map_block(ino, inode, prev)? {
                Mapping::Mapped { physical, .. } => physical.saturating_add(1),
                Mapping::Hole { .. } => self.block_hint,
            },
            None => self.block_hint,
        };
        let want = want.min(u64::from(MAX_EXTENT_LEN));
        // Checked before allocating, so a bad count fails cleanly.
        if inode.blocks.checked_add(want).is_none() {
            return Err(corrupt_at(
                "inode block count overflows",
                Location::Inode(ino),
            ));
        }
        let (physical, got) = self.alloc_blocks(goal, want)?;
        let len = u32::try_from(got).map_err(|_| FsError::Invalid)?;
        self.extent_insert(
            ino,
            inode,
            Extent {
                logical: lblk,
                physical,
                len,
                flags,
            },
        )?;
        // Cannot saturate: got <= want, checked above.
        inode.blocks = inode.blocks.saturating_add(got);
        Ok((physical, got))
    }

    /// `fallocate(2)`.
    pub fn fallocate(
        &mut self,
        ino: u64,
        offset: u64,
        len: u64,
        mode: FallocMode,
        now: Timestamp,
    ) -> Result<()> {
        let end = offset.checked_add(len).ok_or(FsError::FileTooBig)?;
        if len == 0 {
            return Err(FsError::Invalid);
        }
        if end > MAX_FILE_SIZE {
            return Err(FsError::FileTooBig);
        }
        self.transact(|fs| {
            let mut inode = fs.regular(ino)?;
            let bs = fs.bs as u64;
            match mode {
                FallocMode::Allocate { keep_size } => {
                    let size_after = if keep_size { 0 } else { end };
                    fs.allocate_holes(ino, &mut inode, offset, end, size_after)?;
                }
                FallocMode::PunchHole => {
                    let stop = end.min(inode.size.max(end));
                    fs.punch(ino, &mut inode, offset, stop)?;
                }
                FallocMode::ZeroRange { keep_size } => {
                    // A punch, then the range reserved again as unwritten
                    // extents: it reads as zeros with nothing written, and
                    // both halves split into bounded steps like any punch
                    // or reservation (the reservation after the punch).
                    let limit = if keep_size { end.min(inode.size) } else { end };
                    if offset < limit {
                        fs.punch(ino, &mut inode, offset, limit)?;
                    }
                    let size_after = if keep_size { 0 } else { end };
                    if fs.deferred.is_empty() {
                        fs.allocate_holes(ino, &mut inode, offset, end, size_after)?;
                    } else {
                        fs.deferred.push(Deferred::Allocate {
                            ino,
                            from: offset / bs,
                            to: end.div_ceil(bs),
                            size_after,
                        });
                    }
                }
            }
            inode.mtime = now;
            inode.ctime = now;
            fs.write_inode(ino, &inode)
        })
    }
}
