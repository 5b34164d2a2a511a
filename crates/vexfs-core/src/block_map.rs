//! Block mapping for a page cache: where a file's logical blocks live on
//! the device, and allocation of blocks that a caller then writes itself.
//!
//! The kernel module's page cache moves file data with its own block I/O;
//! it asks the core only for the mapping (a `get_block` call). A read maps
//! without changing anything. A write maps for writing: holes get blocks
//! and unwritten extents (from `fallocate`) become written, in one
//! operation of the running transaction (journaled like any other
//! metadata change, committed with its group). The core writes no data
//! here: the blocks reported [`WriteMapping::fresh`] hold whatever the
//! device held, and the caller must write every byte of them (zeros where
//! it has no data) before anything reads them.
//!
//! Because the caller writes the data later, a commit may make such a
//! mapping durable before its data is: after a crash those blocks can show
//! their previous contents. Callers that need the data durable write it
//! and then commit (`fsync` does).

use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::extents::Mapping;
use crate::file::MAX_FILE_SIZE;
use crate::fs::Fs;
use vexfs_format::inode::{Inode, Timestamp};

/// Blocks mapped per call at most: bounds one operation's journal use.
pub const MAX_MAP_BLOCKS: u64 = 1024;

/// A read mapping of `len` blocks from the asked logical block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockMap {
    /// No blocks: reads give zeros.
    Hole { len: u64 },
    /// Blocks `physical..physical+len`. `unwritten` blocks are allocated
    /// but read as zeros (their device contents are stale).
    Mapped {
        physical: u64,
        len: u64,
        unwritten: bool,
    },
}

/// A write mapping: `len` contiguous blocks from `physical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteMapping {
    pub physical: u64,
    pub len: u64,
    /// Allocated or converted from unwritten by this call: the device
    /// contents are stale and the caller must write all of them.
    pub fresh: bool,
}

impl<D: BlockDevice> Fs<D> {
    /// Check a mapping request; returns how many blocks it may cover.
    fn map_span(&self, lblk: u64, max: u64) -> Result<u64> {
        if max == 0 {
            return Err(FsError::Invalid);
        }
        let limit = MAX_FILE_SIZE / self.bs as u64;
        if lblk >= limit {
            return Err(FsError::FileTooBig);
        }
        Ok(max.min(limit - lblk).min(MAX_MAP_BLOCKS))
    }

    /// Map up to `max` blocks of regular file `ino` from logical block
    /// `lblk`, changing nothing. Blocks past the end of the file map as
    /// they are stored (normally a hole).
    pub fn map_blocks(&mut self, ino: u64, lblk: u64, max: u64) -> Result<BlockMap> {
        self.trim_before_read();
        let span = self.map_span(lblk, max)?;
        let inode = self.regular(ino)?;
        Ok(match self.map_block(ino, &inode, lblk)? {
            Mapping::Hole { run } => BlockMap::Hole { len: run.min(span) },
            Mapping::Mapped {
                physical,
                run,
                unwritten,
            } => BlockMap::Mapped {
                physical,
                len: run.min(span),
                unwritten,
            },
        })
    }

    /// Map up to `max` blocks of `ino` from `lblk` for writing: a written
    /// run is returned as it is; an unwritten run is marked written; a
    /// hole gets newly allocated blocks, contiguous with the block before
    /// it where the allocator can. The size is not changed (see
    /// [`Fs::extend_size`]).
    pub fn map_blocks_for_write(&mut self, ino: u64, lblk: u64, max: u64) -> Result<WriteMapping> {
        let span = self.map_span(lblk, max)?;
        // Refused as any change is, even where nothing would change.
        if self.read_only {
            return Err(self.aborted.unwrap_or(FsError::ReadOnly));
        }
        // Overwrites are the common case: a written run needs no operation.
        let inode = self.regular(ino)?;
        if let Mapping::Mapped {
            physical,
            run,
            unwritten: false,
        } = self.map_block(ino, &inode, lblk)?
        {
            return Ok(WriteMapping {
                physical,
                len: run.min(span),
                fresh: false,
            });
        }
        self.transact(|fs| {
            let mut inode = fs.regular(ino)?;
            let m = match fs.map_block(ino, &inode, lblk)? {
                Mapping::Mapped {
                    physical,
                    run,
                    unwritten: false,
                } => {
                    return Ok(WriteMapping {
                        physical,
                        len: run.min(span),
                        fresh: false,
                    })
                }
                Mapping::Mapped {
                    physical,
                    run,
                    unwritten: true,
                } => {
                    let len = run.min(span);
                    let end = lblk.checked_add(len).ok_or(FsError::FileTooBig)?;
                    fs.extent_mark_written(ino, &mut inode, lblk, end)?;
                    WriteMapping {
                        physical,
                        len,
                        fresh: true,
                    }
                }
                Mapping::Hole { run } => fs.allocate_run(ino, &mut inode, lblk, run.min(span))?,
            };
            fs.write_inode(ino, &inode)?;
            Ok(m)
        })
    }

    /// Allocate up to `want` blocks for the hole at `lblk` and map them
    /// written (the caller writes them).
    fn allocate_run(
        &mut self,
        ino: u64,
        inode: &mut Inode,
        lblk: u64,
        want: u64,
    ) -> Result<WriteMapping> {
        let (physical, got) = self.allocate_extent(ino, inode, lblk, want, 0)?;
        Ok(WriteMapping {
            physical,
            len: got,
            fresh: true,
        })
    }

    /// A write through a page cache ended at byte `end`: grow the size to
    /// it (never shrink: that frees blocks, which is `setattr`'s work) and
    /// set mtime and ctime to `now`.
    pub fn extend_size(&mut self, ino: u64, end: u64, now: Timestamp) -> Result<()> {
        if end > MAX_FILE_SIZE {
            return Err(FsError::FileTooBig);
        }
        self.transact(|fs| {
            let mut inode = fs.regular(ino)?;
            inode.size = inode.size.max(end);
            inode.mtime = now;
            inode.ctime = now;
            fs.write_inode(ino, &inode)
        })
    }
}
