//! File block mapping: a B+tree of extents keyed by logical block.

use crate::device::BlockDevice;
use crate::error::{corrupt_at, FsError, Location, Result};
use crate::file::MAX_FILE_SIZE;
use crate::fs::Fs;
use alloc::vec::Vec;
use vexfs_format::extent::{Extent, MAX_EXTENT_LEN};
use vexfs_format::inode::Inode;

/// Where a logical block lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mapping {
    /// Mapped: physical block and how many following blocks stay contiguous.
    Mapped {
        physical: u64,
        run: u64,
        unwritten: bool,
    },
    /// A hole of `run` blocks (u64::MAX: to the end of the file's map).
    Hole { run: u64 },
}

impl<D: BlockDevice> Fs<D> {
    /// Decode an extent and check it against the geometry: its physical
    /// run inside the data area (so no read or write through it can reach
    /// the superblock, bitmaps or inode table) and its logical run inside
    /// the largest file.
    pub(crate) fn decode_extent(&self, ino: u64, key: u64, v: &[u8]) -> Result<Extent> {
        let at = Location::Inode(ino);
        let e = Extent::decode_value(key, v, self.sb.block_count)
            .map_err(|err| FsError::from(err).at(at))?;
        if e.physical < self.sb.data_start {
            return Err(corrupt_at("extent points into reserved area", at));
        }
        let max_blocks = MAX_FILE_SIZE.div_ceil(self.bs as u64);
        if e.logical
            .checked_add(u64::from(e.len))
            .is_none_or(|end| end > max_blocks)
        {
            return Err(corrupt_at("extent beyond the largest file", at));
        }
        Ok(e)
    }

    /// The extent covering `lblk`, if any.
    pub(crate) fn extent_at(
        &mut self,
        ino: u64,
        inode: &Inode,
        lblk: u64,
    ) -> Result<Option<Extent>> {
        if let Some((k, v)) = self.tree_floor(ino, inode, lblk)? {
            let e = self.decode_extent(ino, k, &v)?;
            if k <= lblk && lblk < e.logical_end() {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    pub(crate) fn map_block(&mut self, ino: u64, inode: &Inode, lblk: u64) -> Result<Mapping> {
        let bad = || corrupt_at("extent map arithmetic out of range", Location::Inode(ino));
        if let Some(e) = self.extent_at(ino, inode, lblk)? {
            // Checked, although extent_at guarantees the ranges: a wrapped
            // mapping would read or write metadata blocks.
            let delta = lblk.checked_sub(e.logical).ok_or_else(bad)?;
            let run = u64::from(e.len).checked_sub(delta).ok_or_else(bad)?;
            let physical = e.physical.checked_add(delta).ok_or_else(bad)?;
            if run == 0
                || physical < self.sb.data_start
                || physical
                    .checked_add(run)
                    .is_none_or(|end| end > self.sb.block_count)
            {
                return Err(bad());
            }
            return Ok(Mapping::Mapped {
                physical,
                run,
                unwritten: e.flags != 0,
            });
        }
        let run = match self.tree_ceil(ino, inode, lblk)? {
            // Callers advance by `run`: it must be at least one block.
            Some((k, _)) => match k.checked_sub(lblk) {
                Some(run) if run > 0 => run,
                _ => return Err(bad()),
            },
            None => u64::MAX,
        };
        Ok(Mapping::Hole { run })
    }

    /// Map `[logical, logical+len)` to `physical..`, merging with the
    /// preceding extent when both are contiguous.
    pub(crate) fn extent_insert(&mut self, ino: u64, inode: &mut Inode, e: Extent) -> Result<()> {
        if let Some((k, v)) = self.tree_floor(ino, inode, e.logical)? {
            let prev = self.decode_extent(ino, k, &v)?;
            if prev.logical_end() > e.logical {
                return Err(corrupt_at("overlapping extents", Location::Inode(ino)));
            }
            if prev.logical_end() == e.logical
                && prev.physical_end() == e.physical
                && prev.flags == e.flags
                && u64::from(prev.len) + u64::from(e.len) <= u64::from(MAX_EXTENT_LEN)
            {
                let merged = Extent {
                    len: prev.len + e.len,
                    ..prev
                };
                return self.tree_update(ino, inode, prev.logical, &merged.encode_value());
            }
        }
        self.tree_insert(ino, inode, e.logical, &e.encode_value())
    }

    /// Unmap `[start, end)`; returns the physical runs released (the caller
    /// frees them).
    pub(crate) fn extent_remove_range(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        start: u64,
        end: u64,
    ) -> Result<Vec<(u64, u64)>> {
        let mut freed = Vec::new();
        if start >= end {
            return Ok(freed);
        }
        // Begin with the extent that may straddle `start`.
        let mut cursor = match self.tree_floor(ino, inode, start)? {
            Some((k, v)) if self.decode_extent(ino, k, &v)?.logical_end() > start => k,
            _ => start,
        };
        while let Some((k, v)) = self.tree_ceil(ino, inode, cursor)? {
            if k >= end {
                break;
            }
            if k < cursor {
                // The scan must move forward, or a bad tree could spin it.
                return Err(corrupt_at("extent keys out of order", Location::Inode(ino)));
            }
            let e = self.decode_extent(ino, k, &v)?;
            let cut_lo = start.max(e.logical);
            let cut_hi = end.min(e.logical_end());
            crate::fallible::push(
                &mut freed,
                (e.physical + (cut_lo - e.logical), cut_hi - cut_lo),
            )?;
            // Keep the head before the cut and the tail after it.
            if cut_lo > e.logical {
                let head = Extent {
                    len: (cut_lo - e.logical) as u32,
                    ..e
                };
                self.tree_update(ino, inode, e.logical, &head.encode_value())?;
            } else {
                self.tree_remove(ino, inode, e.logical)?;
            }
            if cut_hi < e.logical_end() {
                let tail = Extent {
                    logical: cut_hi,
                    physical: e.physical + (cut_hi - e.logical),
                    len: (e.logical_end() - cut_hi) as u32,
                    flags: e.flags,
                };
                self.tree_insert(ino, inode, tail.logical, &tail.encode_value())?;
                break;
            }
            cursor = e.logical_end();
        }
        Ok(freed)
    }

    /// Mark `[start, end)` written where it is mapped unwritten (the caller
    /// has just written every block of it). The runs keep their physical
    /// blocks; only the flag changes, splitting extents at the edges.
    pub(crate) fn extent_mark_written(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        start: u64,
        end: u64,
    ) -> Result<()> {
        let runs = self.extent_remove_range(ino, inode, start, end)?;
        let mut logical = start;
        for (physical, len) in runs {
            // The runs come back in logical order and cover the range
            // without gaps: the caller found it mapped.
            let len32 = u32::try_from(len)
                .map_err(|_| corrupt_at("extent run too long", Location::Inode(ino)))?;
            self.extent_insert(
                ino,
                inode,
                Extent {
                    logical,
                    physical,
                    len: len32,
                    flags: 0,
                },
            )?;
            logical = logical.saturating_add(len);
        }
        if logical != end {
            return Err(corrupt_at(
                "unwritten range not fully mapped",
                Location::Inode(ino),
            ));
        }
        Ok(())
    }
}
