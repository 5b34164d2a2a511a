//! `lseek(SEEK_DATA / SEEK_HOLE)` from the extent map.
//!
//! Data is what a file's written extents map; holes are unmapped ranges and
//! unwritten (fallocated, never written) extents, which read as zeros. The
//! answer has block granularity, and the end of the file is a hole, as
//! POSIX requires.

use crate::device::BlockDevice;
use crate::error::{corrupt_at, FsError, Location, Result};
use crate::extents::Mapping;
use crate::fs::Fs;

/// What `seek_data_hole` looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekTarget {
    /// `SEEK_DATA`: the first byte at or after the offset that holds data.
    Data,
    /// `SEEK_HOLE`: the first byte at or after the offset inside a hole
    /// (the end of the file at the latest).
    Hole,
}

impl<D: BlockDevice> Fs<D> {
    /// The offset `lseek(fd, offset, SEEK_DATA or SEEK_HOLE)` returns for
    /// regular file `ino`, or `None` for ENXIO: `offset` at or past the end
    /// of the file, or (data) no data after it.
    pub fn seek_data_hole(
        &mut self,
        ino: u64,
        offset: u64,
        target: SeekTarget,
    ) -> Result<Option<u64>> {
        self.trim_before_read();
        let inode = self.read_inode(ino)?;
        if inode.is_dir() {
            return Err(FsError::IsDir);
        }
        if !inode.is_reg() {
            return Err(FsError::Invalid);
        }
        let size = inode.size;
        if offset >= size {
            return Ok(None);
        }
        let bs = self.bs as u64;
        let last = size.div_ceil(bs);
        let mut lblk = offset / bs;
        // Each step moves past one extent or one hole, so the walk is
        // bounded by the extent count; the guard catches a map that does
        // not move forward.
        while lblk < last {
            let (is_data, run) = match self.map_block(ino, &inode, lblk)? {
                Mapping::Mapped { run, unwritten, .. } => (!unwritten, run),
                Mapping::Hole { run } => (false, run),
            };
            if is_data == (target == SeekTarget::Data) {
                return Ok(Some(offset.max(lblk * bs).min(size)));
            }
            let next = lblk.saturating_add(run);
            if next <= lblk {
                return Err(corrupt_at(
                    "extent map does not advance",
                    Location::Inode(ino),
                ));
            }
            lblk = next;
        }
        Ok(match target {
            SeekTarget::Data => None,
            SeekTarget::Hole => Some(size),
        })
    }
}
