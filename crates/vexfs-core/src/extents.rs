//! File block mapping: a B+tree of extents keyed by logical block.

use crate::device::BlockDevice;
use crate::error::{corrupt, Result};
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
    fn decode_extent(&self, key: u64, v: &[u8]) -> Result<Extent> {
        let e = Extent::decode_value(key, v, self.sb.block_count)?;
        if e.physical < self.sb.data_start {
            return Err(corrupt("extent points into reserved area"));
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
            let e = self.decode_extent(k, &v)?;
            if lblk < e.logical_end() {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    pub(crate) fn map_block(&mut self, ino: u64, inode: &Inode, lblk: u64) -> Result<Mapping> {
        if let Some(e) = self.extent_at(ino, inode, lblk)? {
            let delta = lblk - e.logical;
            return Ok(Mapping::Mapped {
                physical: e.physical + delta,
                run: u64::from(e.len) - delta,
                unwritten: e.flags != 0,
            });
        }
        let run = match self.tree_ceil(ino, inode, lblk)? {
            Some((k, _)) => k - lblk,
            None => u64::MAX,
        };
        Ok(Mapping::Hole { run })
    }

    /// Map `[logical, logical+len)` to `physical..`, merging with the
    /// preceding extent when both are contiguous.
    pub(crate) fn extent_insert(&mut self, ino: u64, inode: &mut Inode, e: Extent) -> Result<()> {
        if let Some((k, v)) = self.tree_floor(ino, inode, e.logical)? {
            let prev = self.decode_extent(k, &v)?;
            if prev.logical_end() > e.logical {
                return Err(corrupt("overlapping extents"));
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
            Some((k, v)) if self.decode_extent(k, &v)?.logical_end() > start => k,
            _ => start,
        };
        while let Some((k, v)) = self.tree_ceil(ino, inode, cursor)? {
            if k >= end {
                break;
            }
            let e = self.decode_extent(k, &v)?;
            let cut_lo = start.max(e.logical);
            let cut_hi = end.min(e.logical_end());
            freed.push((e.physical + (cut_lo - e.logical), cut_hi - cut_lo));
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
}
