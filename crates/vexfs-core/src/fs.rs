//! The mounted filesystem handle and its public types.

use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::tx::Seal;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use vexfs_format::features::{INCOMPAT_SUPPORTED, RO_COMPAT_SUPPORTED};
use vexfs_format::inode::{FileType, Inode, Timestamp};
use vexfs_format::superblock::{
    Superblock, STATE_CLEAN, STATE_DIRTY, STATE_ERRORS, SUPERBLOCK_SIZE,
};

/// What a mount does with an image whose superblock records errors (left
/// by a failed commit or an fsck that could not repair everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorPolicy {
    /// Mount read-only (the default): the data can be read and copied off.
    #[default]
    ReadOnly,
    /// Refuse to mount until fsck clears the error state.
    Refuse,
    /// Mount read-write anyway.
    Continue,
}

/// How to mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MountOptions {
    pub read_only: bool,
    /// Metadata blocks kept in memory; past it, a quarter of the clean ones
    /// is dropped (see `Fs::trim_cache`).
    pub cache_blocks: usize,
    pub errors: ErrorPolicy,
    /// Dirty metadata blocks that make the running transaction commit
    /// (bounded further by the journal's size and the cache).
    pub group_blocks: usize,
}

impl Default for MountOptions {
    fn default() -> Self {
        Self {
            read_only: false,
            cache_blocks: 65536,
            errors: ErrorPolicy::ReadOnly,
            group_blocks: 4096,
        }
    }
}

/// A mounted VexFS. All methods are single-threaded; front ends serialise
/// access (a mutex in FUSE, inode locks in the kernel).
pub struct Fs<D: BlockDevice> {
    pub(crate) dev: D,
    pub(crate) sb: Superblock,
    pub(crate) bs: usize,
    pub(crate) read_only: bool,
    pub(crate) cache: crate::nr_map::NrMap<Vec<u8>>,
    pub(crate) cache_limit: usize,
    /// How many times the cache was trimmed (salts the choice of blocks).
    pub(crate) trims: u64,
    pub(crate) dirty: crate::nr_map::NrMap<Seal>,
    pub(crate) undo: crate::nr_map::NrMap<crate::tx::Undo>,
    pub(crate) sb_before: Option<Superblock>,
    /// The superblock as last committed (the running transaction changed
    /// it if the two differ).
    pub(crate) sb_committed: Superblock,
    /// The journal, when the image has one.
    pub(crate) journal: Option<crate::journal::Journal>,
    pub(crate) journal_stats: crate::journal::JournalStats,
    /// Blocks freed in the running transaction (see [`crate::journal`]).
    pub(crate) quarantine: crate::journal::Quarantine,
    /// Blocks freed by the commit in flight, until it ends.
    pub(crate) flight_quarantine: crate::journal::Quarantine,
    /// Blocks handed out by the allocator in the running transaction: free
    /// in every committed state, so written home before the commit record
    /// instead of through the log (see [`crate::journal`]).
    pub(crate) fresh: crate::journal::Quarantine,
    /// How many of the dirty blocks are fresh.
    pub(crate) fresh_dirty: usize,
    /// Pack blocks that may have free units (see [`crate::xattr_pack`]).
    pub(crate) pack_room: crate::nr_map::NrMap<()>,
    /// A commit started with `commit_begin` has not ended.
    pub(crate) in_flight: bool,
    /// Ranges the current operation quarantined (dropped if it aborts).
    pub(crate) op_quarantined: Vec<u64>,
    /// Pack blocks the current operation created (their hints go if it
    /// aborts: the blocks are free again).
    pub(crate) op_new_packs: Vec<u64>,
    /// Replayed block images laid over the device (read-only opens).
    pub(crate) overlay: BTreeMap<u64, Vec<u8>>,
    /// Dirty blocks that make an operation's end commit the transaction.
    pub(crate) group_limit: usize,
    /// Set when a commit failed: everything after is refused.
    pub(crate) aborted: Option<FsError>,
    pub(crate) tx_depth: u32,
    pub(crate) block_hint: u64,
    pub(crate) ino_hint: u64,
    /// Open handles per inode, so unlinked-but-open files live on.
    pub(crate) open_counts: BTreeMap<u64, u32>,
    /// Vector indexes in memory and their pending changes.
    pub(crate) vectors: crate::vector::VectorState,
    /// Work the current operation left for transactions of its own.
    pub(crate) deferred: Vec<crate::deferred::Deferred>,
    pub(crate) running_deferred: bool,
    /// A block-sized buffer B+tree inserts compact nodes through, kept so
    /// an insert does not allocate one per level.
    pub(crate) node_scratch: Vec<u8>,
    /// Buffers for undo copies, given back when an operation ends.
    pub(crate) undo_spare: Vec<Vec<u8>>,
}

/// Attributes as reported by stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub ino: u64,
    pub mode: u16,
    pub file_type: FileType,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u32,
    pub size: u64,
    /// 512-byte sectors allocated.
    pub blocks_512: u64,
    pub atime: Timestamp,
    pub mtime: Timestamp,
    pub ctime: Timestamp,
    pub crtime: Timestamp,
    pub generation: u32,
    pub block_size: u32,
}

/// Attribute changes; `None` leaves a field alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetAttr {
    pub mode: Option<u16>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<Timestamp>,
    pub mtime: Option<Timestamp>,
    pub ctime: Option<Timestamp>,
}

/// Filesystem-wide counters (statfs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatFs {
    pub block_size: u32,
    pub blocks: u64,
    pub blocks_free: u64,
    pub inodes: u64,
    pub inodes_free: u64,
    pub name_max: u32,
}

/// One directory entry returned by `readdir`; `offset` resumes after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntryOut {
    pub ino: u64,
    pub file_type: FileType,
    pub name: Vec<u8>,
    pub offset: u64,
}

/// `renameat2` flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenameFlags {
    pub noreplace: bool,
    pub exchange: bool,
}

/// `fallocate` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallocMode {
    /// Allocate, and extend the size unless `keep_size`.
    Allocate { keep_size: bool },
    /// Deallocate the range (size unchanged); reads give zeros.
    PunchHole,
    /// Make the range read as zeros, allocated; extend unless `keep_size`.
    ZeroRange { keep_size: bool },
}

impl<D: BlockDevice> Fs<D> {
    /// Open an image without mount-time side effects: validate the
    /// superblock and the device size, refuse unknown incompatible
    /// features, and fall back to read-only for unknown read-only-compatible
    /// ones. Used by [`Fs::mount`] and by the checker.
    pub(crate) fn open_image(mut dev: D, read_only: bool, cache_blocks: usize) -> Result<Self> {
        if dev.size() < SUPERBLOCK_SIZE as u64 {
            return Err(FsError::Incompatible("device smaller than a superblock"));
        }
        let mut buf = crate::fallible::zeroed(SUPERBLOCK_SIZE)?;
        dev.read_at(0, &mut buf)?;
        let sb = Superblock::decode(&buf)?;
        let size_blocks = dev.size() / u64::from(sb.block_size);
        if size_blocks < sb.block_count {
            return Err(FsError::Incompatible(
                "device is smaller than the filesystem (truncated image?)",
            ));
        }
        if sb.feature_incompat & !INCOMPAT_SUPPORTED != 0 {
            return Err(FsError::Incompatible(
                "image needs an incompatible feature this version lacks",
            ));
        }
        let read_only = read_only || sb.feature_ro_compat & !RO_COMPAT_SUPPORTED != 0;
        let mut fs = Fs {
            dev,
            bs: sb.block_size as usize,
            read_only,
            cache: crate::nr_map::nr_map(),
            cache_limit: cache_blocks.max(64),
            trims: 0,
            dirty: crate::nr_map::nr_map(),
            undo: crate::nr_map::nr_map(),
            sb_before: None,
            sb_committed: sb.clone(),
            journal: None,
            journal_stats: Default::default(),
            quarantine: Default::default(),
            flight_quarantine: Default::default(),
            fresh: Default::default(),
            fresh_dirty: 0,
            pack_room: crate::nr_map::nr_map(),
            in_flight: false,
            op_quarantined: Vec::new(),
            op_new_packs: Vec::new(),
            overlay: BTreeMap::new(),
            group_limit: 4096,
            aborted: None,
            tx_depth: 0,
            block_hint: sb.data_start,
            ino_hint: sb.first_user_ino,
            open_counts: BTreeMap::new(),
            vectors: crate::vector::VectorState::default(),
            deferred: Vec::new(),
            running_deferred: false,
            node_scratch: Vec::new(),
            undo_spare: Vec::new(),
            sb,
        };
        fs.set_group_limit(4096);
        Ok(fs)
    }

    pub(crate) fn set_group_limit(&mut self, want: usize) {
        self.group_limit = want
            .min(self.journal_capacity() / 2)
            .min(self.cache_limit / 2)
            .max(1);
    }

    /// Mount: open the image, check the root, and (read-write) mark the
    /// filesystem in use and finish deleting orphans left by a crash.
    pub fn mount(dev: D, opts: MountOptions, now: Timestamp) -> Result<Self> {
        let mut fs = Self::open_image(dev, opts.read_only, opts.cache_blocks)?;
        fs.journal_open()?;
        fs.set_group_limit(opts.group_blocks);
        if fs.sb.state & STATE_ERRORS != 0 {
            match opts.errors {
                ErrorPolicy::Refuse => {
                    return Err(FsError::Incompatible(
                        "the filesystem has errors recorded: run fsck.vexfs",
                    ))
                }
                ErrorPolicy::ReadOnly => fs.read_only = true,
                ErrorPolicy::Continue => {}
            }
        }
        // The root must decode, or nothing else will work.
        let root = fs.read_inode(fs.sb.root_ino)?;
        if !root.is_dir() {
            return Err(crate::error::corrupt("root inode is not a directory"));
        }
        if !fs.read_only {
            fs.transact(|fs| {
                fs.sb.state = STATE_DIRTY;
                fs.sb.mount_count = fs.sb.mount_count.wrapping_add(1);
                fs.sb.mount_time = now.sec;
                fs.reap_orphans().map(drop)
            })?;
            fs.journal_commit()?;
        }
        Ok(fs)
    }

    /// Write everything out, mark the filesystem clean and return the device.
    /// After a failed commit the image is left marked with errors and the
    /// error is returned.
    pub fn unmount(mut self, now: Timestamp) -> Result<D> {
        if let Some(e) = self.aborted {
            return Err(e);
        }
        if !self.read_only {
            // Indexes changed since their last save are written first, so
            // the clean marker below also vouches for them.
            self.vectors_save_all()?;
            // Files still open at unmount were unlinked: free them now.
            let open: Vec<u64> = self.open_counts.keys().copied().collect();
            for ino in open {
                self.open_counts.remove(&ino);
                self.transact(|fs| fs.maybe_free_unlinked(ino))?;
            }
            self.journal_commit()?;
            // Everything is home and flushed before the clean marker that
            // vouches for it is written.
            self.journal_close()?;
            self.sb.state = STATE_CLEAN;
            self.sb.write_time = now.sec;
            self.write_superblock()?;
            self.dev.flush()?;
        }
        Ok(self.dev)
    }

    /// Make every completed operation durable: commit the running
    /// transaction (flushing file data first). fsync, fdatasync and syncfs
    /// all come here.
    pub fn sync(&mut self) -> Result<()> {
        if self.read_only {
            return match self.aborted {
                Some(e) => Err(e),
                None => Ok(()),
            };
        }
        self.journal_commit()
    }

    pub fn superblock(&self) -> &Superblock {
        &self.sb
    }
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }
    pub fn device(&mut self) -> &mut D {
        &mut self.dev
    }
    pub fn block_size(&self) -> u32 {
        self.sb.block_size
    }

    pub fn statfs(&self) -> StatFs {
        StatFs {
            block_size: self.sb.block_size,
            blocks: self.sb.block_count - self.sb.data_start,
            blocks_free: self.sb.free_blocks,
            inodes: self.sb.inode_count - self.sb.first_user_ino + 1,
            inodes_free: self.sb.free_inodes,
            name_max: vexfs_format::NAME_MAX as u32,
        }
    }

    pub(crate) fn stat_of(&self, ino: u64, i: &Inode) -> Result<Stat> {
        Ok(Stat {
            ino,
            mode: i.mode,
            file_type: i
                .file_type()
                .ok_or(crate::error::corrupt("inode file type"))?,
            nlink: i.nlink,
            uid: i.uid,
            gid: i.gid,
            rdev: i.rdev,
            size: i.size,
            blocks_512: i.blocks.saturating_mul(u64::from(self.sb.block_size) / 512),
            atime: i.atime,
            mtime: i.mtime,
            ctime: i.ctime,
            crtime: i.crtime,
            generation: i.generation,
            block_size: self.sb.block_size,
        })
    }

    /// Attributes of `ino`.
    pub fn getattr(&mut self, ino: u64) -> Result<Stat> {
        self.trim_before_read();
        let i = self.read_inode(ino)?;
        self.stat_of(ino, &i)
    }

    /// Note an open handle on `ino`.
    pub fn open(&mut self, ino: u64) -> Result<()> {
        self.read_inode(ino)?;
        *self.open_counts.entry(ino).or_insert(0) += 1;
        Ok(())
    }

    /// Drop an open handle; frees the inode if it was the last reference to
    /// an unlinked file.
    pub fn release(&mut self, ino: u64) -> Result<()> {
        let last = match self.open_counts.get_mut(&ino) {
            Some(c) if *c > 1 => {
                *c -= 1;
                false
            }
            Some(_) => {
                self.open_counts.remove(&ino);
                true
            }
            None => false,
        };
        if last && !self.read_only {
            self.transact(|fs| fs.maybe_free_unlinked(ino))?;
        }
        Ok(())
    }
}
