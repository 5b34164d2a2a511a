//! The FUSE request handlers: each one locks the core, calls it with the
//! current time and the caller's identity, and maps `FsError` to an errno.
//!
//! Permission checks are left to the kernel (`default_permissions` is always
//! set): the core does not check permissions, and the kernel knows the
//! caller's supplementary groups, which FUSE requests do not carry. The
//! kernel also clears setuid/setgid on write and chown (we do not ask for
//! FUSE_HANDLE_KILLPRIV), so the daemon only has to follow the setgid
//! directory rules on create. POSIX ACLs (FUSE_POSIX_ACL) are checked by the
//! kernel too; the daemon stores them as xattrs, applies the umask or the
//! parent's default ACL on create, and the core keeps mode and ACL in step.

use fuser::{
    AccessFlags, Errno, FileAttr, FileHandle, Filesystem, FopenFlags, Generation, INodeNo, InitFlags, KernelConfig, LockOwner,
    IoctlFlags, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty,
    ReplyEntry, ReplyIoctl, ReplyLseek, ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr, Request, TimeOrNow, WriteFlags,
};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use crate::lookups::Lookups;
use crate::seek::Seeker;
use crate::shared::Shared;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vexfs_core::{DirEntryOut, FallocMode, FileDevice, FileType, Fs, FsError, SetAttr, Stat, Timestamp, XattrFlags};

const S_ISGID: u16 = 0o2000;
/// Largest write the kernel may send (it caps at 256 pages = 1 MiB by default).
pub const MAX_WRITE: u32 = 1 << 20;
/// Directory entries fetched from the core per batch while filling a reply.
const READDIR_BATCH: usize = 128;
const READDIRPLUS_BATCH: usize = 24;
/// File handles: whether the open may write (directories use their own).
const READER: FileHandle = FileHandle(0);
const WRITER: FileHandle = FileHandle(1);

/// Cache lifetimes handed to the kernel.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub attr: Duration,
    pub entry: Duration,
}

/// Kernel cache behaviour asked for at init.
#[derive(Debug, Clone, Copy)]
pub struct CacheMode {
    pub timeouts: Timeouts,
    pub writeback: bool,
    /// How often the journal commits on its own.
    pub commit_interval: std::time::Duration,
}

/// The mounted filesystem as seen by the FUSE session.
pub struct VexFuse {
    core: Arc<Shared>,
    timeouts: Timeouts,
    writeback: bool,
    seeker: Seeker,
    lookups: Lookups,
    /// Where `destroy` reports a failed final flush.
    unmount_error: std::sync::Arc<Mutex<Option<String>>>,
    /// Query state of open directories (vector ioctls).
    sessions: crate::vectors::Sessions,
    /// Directories the kernel was given a negative entry in: only their
    /// names need dropping after a bulk call creates files.
    negative_dirs: Mutex<std::collections::HashSet<u64>>,
}

impl std::fmt::Debug for VexFuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VexFuse").field("timeouts", &self.timeouts).finish_non_exhaustive()
    }
}

/// The current time as the core's timestamp.
pub fn now() -> Timestamp {
    to_ts(SystemTime::now())
}

fn to_ts(t: SystemTime) -> Timestamp {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => Timestamp::new(d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            // Before 1970: floor to whole seconds, nanoseconds count forward.
            let d = e.duration();
            let (s, n) = (d.as_secs() as i64, d.subsec_nanos());
            if n == 0 {
                Timestamp::new(-s, 0)
            } else {
                Timestamp::new(-s - 1, 1_000_000_000 - n)
            }
        }
    }
}

fn to_system(t: Timestamp) -> SystemTime {
    let nsec = t.nsec.min(999_999_999);
    if t.sec >= 0 {
        UNIX_EPOCH + Duration::new(t.sec as u64, nsec)
    } else {
        UNIX_EPOCH - Duration::from_secs(t.sec.unsigned_abs()) + Duration::from_nanos(u64::from(nsec))
    }
}

fn kind(ft: FileType) -> fuser::FileType {
    match ft {
        FileType::Regular => fuser::FileType::RegularFile,
        FileType::Directory => fuser::FileType::Directory,
        FileType::Symlink => fuser::FileType::Symlink,
        FileType::CharDevice => fuser::FileType::CharDevice,
        FileType::BlockDevice => fuser::FileType::BlockDevice,
        FileType::Fifo => fuser::FileType::NamedPipe,
        FileType::Socket => fuser::FileType::Socket,
    }
}

fn attr(s: &Stat) -> FileAttr {
    FileAttr {
        ino: INodeNo(s.ino),
        size: s.size,
        blocks: s.blocks_512,
        atime: to_system(s.atime),
        mtime: to_system(s.mtime),
        ctime: to_system(s.ctime),
        crtime: to_system(s.crtime),
        kind: kind(s.file_type),
        perm: s.mode & 0o7777,
        nlink: s.nlink,
        uid: s.uid,
        gid: s.gid,
        rdev: s.rdev,
        blksize: s.block_size,
        flags: 0,
    }
}

/// Attributes for a directory entry whose inode cannot be read.
fn placeholder(ino: u64, ft: FileType) -> FileAttr {
    FileAttr {
        ino: INodeNo(ino),
        size: 0,
        blocks: 0,
        atime: UNIX_EPOCH,
        mtime: UNIX_EPOCH,
        ctime: UNIX_EPOCH,
        crtime: UNIX_EPOCH,
        kind: kind(ft),
        perm: 0,
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: 4096,
        flags: 0,
    }
}

fn time_or_now(t: Option<TimeOrNow>, now: Timestamp) -> Option<Timestamp> {
    t.map(|t| match t {
        TimeOrNow::Now => now,
        TimeOrNow::SpecificTime(s) => to_ts(s),
    })
}

type R<T> = Result<T, Errno>;

impl VexFuse {
    pub fn new(mut fs: Fs<FileDevice>, cache: CacheMode, unmount_error: std::sync::Arc<Mutex<Option<String>>>) -> Self {
        // A second handle to the image lets the commit timer write while
        // requests go on (see committer.rs).
        let commit_dev = fs.device().try_clone();
        // Index insertions run on their own thread (absorber.rs).
        fs.set_background_inserts(Some(vexfs_core::DEFAULT_INSERT_BACKLOG));
        let core = Arc::new(Shared::new(fs));
        let started = commit_dev.and_then(|dev| crate::committer::spawn(Arc::downgrade(&core), dev, cache.commit_interval));
        if let Err(e) = started {
            crate::logger::report(&format!("cannot start the commit thread ({e}); changes commit on fsync and unmount only"));
        }
        if let Err(e) = crate::absorber::spawn(Arc::downgrade(&core)) {
            crate::logger::report(&format!("cannot start the index thread ({e}); indexes insert on the write path"));
            let _ = core.with(|fs| {
                fs.set_background_inserts(None);
                Ok(())
            });
        }
        Self {
            core,
            timeouts: cache.timeouts,
            writeback: cache.writeback,
            seeker: Seeker::new(cache.writeback),
            lookups: Lookups::default(),
            unmount_error,
            sessions: crate::vectors::Sessions::default(),
            negative_dirs: Mutex::default(),
        }
    }

    /// Where the session's notifier goes once the session exists (the
    /// daemon invalidates the kernel's cache of a file through it).
    pub fn notifier_slot(&self) -> Arc<std::sync::OnceLock<fuser::Notifier>> {
        self.seeker.notifier.clone()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Fs<FileDevice>) -> Result<T, FsError>) -> R<T> {
        self.core.with(f)
    }

    /// For operations that may free or reserve a file's worth of blocks
    /// (truncate, unlink, rmdir, rename over a file, the last release or
    /// forget, fallocate): see `Shared::with_settled`.
    fn with_settled<T>(&self, f: impl FnOnce(&mut Fs<FileDevice>) -> Result<T, FsError>) -> R<T> {
        self.core.with_settled(f)
    }

    /// uid/gid for a new node in `parent`, and whether it inherits setgid
    /// (directories in a setgid directory do).
    fn owner_for_new(fs: &mut Fs<FileDevice>, req: &Request, parent: u64) -> Result<(u32, u32, bool), FsError> {
        let p = fs.getattr(parent)?;
        if p.mode & S_ISGID != 0 {
            Ok((req.uid(), p.gid, true))
        } else {
            Ok((req.uid(), req.gid(), false))
        }
    }

    /// Flush and unmount the core once (from `destroy`, or on drop when the
    /// FUSE mount itself failed after the core was mounted).
    fn finish(&mut self) {
        let taken = self.core.take();
        if self.core.failed.load(Ordering::Relaxed) {
            // Leave the image marked dirty: its in-memory state is suspect.
            if let Ok(mut slot) = self.unmount_error.lock() {
                *slot = Some("an internal error stopped the filesystem; run fsck".to_string());
            }
            return;
        }
        if let Some(fs) = taken {
            if let Err(e) = fs.unmount(now()) {
                let msg = format!("flushing the filesystem at unmount failed: {e}");
                crate::logger::report(&msg);
                if let Ok(mut slot) = self.unmount_error.lock() {
                    *slot = Some(msg);
                }
            }
        }
    }

    /// The handle for an opened file: writers are counted, so SEEK_DATA
    /// knows which files may have dirty pages in the kernel.
    fn handle_for(&self, ino: u64, flags: i32) -> FileHandle {
        if flags & libc::O_ACCMODE == libc::O_RDONLY {
            return READER;
        }
        self.seeker.writers.opened(ino);
        WRITER
    }

    /// Run `f` (which finds or makes one inode) and give the kernel its
    /// reference, in one critical section.
    fn with_entry(&self, f: impl FnOnce(&mut Fs<FileDevice>) -> Result<Stat, FsError>) -> R<Stat> {
        self.with(|fs| {
            let st = f(fs)?;
            self.lookups.hold(fs, st.ino);
            Ok(st)
        })
    }

    /// Give back the references taken for readdirplus entries not sent.
    fn return_unsent(&self, unsent: &[(DirEntryOut, Result<Stat, FsError>)]) {
        let _ = self.with(|fs| {
            for (e, _) in unsent.iter().filter(|(e, _)| counts_lookup(&e.name)) {
                self.lookups.forget(fs, e.ino, 1)?;
            }
            Ok(())
        });
    }

    /// After a bulk embedding update that may have created files in `dir`
    /// behind the kernel's back: drop any negative entry the kernel cached
    /// for those names, and its cached listing of `dir`.
    fn invalidate_created(&self, dir: u64, cmd: u32, in_data: &[u8]) {
        let Some(notifier) = self.seeker.notifier.get() else { return };
        let Some(names) = crate::vectors::created_names(cmd, in_data) else { return };
        // A directory never answered with a negative entry has none cached
        // (an ENOENT reply makes no entry the kernel keeps), so one notice
        // per created name would be wasted there.
        let negatives = self.negative_dirs.lock().map_or(true, |d| d.contains(&dir));
        for name in names.into_iter().filter(|_| negatives) {
            // ENOENT: the kernel had nothing cached for that name.
            let _ = notifier.inval_entry(INodeNo(dir), OsStr::from_bytes(name));
        }
        let _ = notifier.inval_inode(INodeNo(dir), 0, 0);
    }

    fn entry(&self, reply: ReplyEntry, r: R<Stat>) {
        match r {
            Ok(s) => reply.entry(&self.timeouts.entry, &attr(&s), Generation(u64::from(s.generation))),
            Err(e) => reply.error(e),
        }
    }

    fn empty(reply: ReplyEmpty, r: R<()>) {
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }
}

impl Drop for VexFuse {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Filesystem for VexFuse {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // Large writes: the kernel's default page limit allows 1 MiB.
        if let Err(max) = config.set_max_write(MAX_WRITE) {
            let _ = config.set_max_write(max);
        }
        if let Err(max) = config.set_max_readahead(MAX_WRITE) {
            let _ = config.set_max_readahead(max);
        }
        // Optional capabilities: ignore the ones an old kernel lacks.
        for cap in [
            InitFlags::FUSE_MAX_PAGES,
            InitFlags::FUSE_DO_READDIRPLUS,
            InitFlags::FUSE_READDIRPLUS_AUTO,
            InitFlags::FUSE_PARALLEL_DIROPS,
            InitFlags::FUSE_CACHE_SYMLINKS,
            InitFlags::FUSE_ATOMIC_O_TRUNC,
        ] {
            let _ = config.add_capabilities(cap);
        }
        // POSIX ACLs: the kernel checks them (default_permissions is always
        // set) and leaves the umask to us (FUSE_DONT_MASK), since a default
        // ACL replaces it; the core keeps ACLs and mode in step.
        if config.add_capabilities(InitFlags::FUSE_POSIX_ACL).is_ok() {
            let _ = config.add_capabilities(InitFlags::FUSE_DONT_MASK);
        }
        if self.writeback && config.add_capabilities(InitFlags::FUSE_WRITEBACK_CACHE).is_err() {
            crate::logger::report("the kernel does not offer writeback caching; writing through");
        }
        Ok(())
    }

    fn destroy(&mut self) {
        self.finish();
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let found = self.with_entry(|fs| {
            let r = fs.lookup(parent.0, name.as_bytes());
            if matches!(r, Err(FsError::NotFound)) {
                // Noted under the filesystem lock, before the reply: a bulk
                // call creating the name after this lookup sees the note.
                if let Ok(mut d) = self.negative_dirs.lock() {
                    d.insert(parent.0);
                }
            }
            r
        });
        match found {
            // A negative entry (node id 0) the kernel may cache: every
            // change to the namespace goes through this mount, which
            // replaces it, or is announced by `invalidate_created`.
            Err(Errno::ENOENT) => reply.entry(&self.timeouts.entry, &placeholder(0, FileType::Regular), Generation(0)),
            r => self.entry(reply, r),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        // No reply to send; a failure here (EIO after an internal error)
        // leaves the inode to the orphan list at the next mount.
        let _ = self.with_settled(|fs| self.lookups.forget(fs, ino.0, nlookup));
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.with(|fs| fs.getattr(ino.0)) {
            Ok(s) => reply.attr(&self.timeouts.attr, &attr(&s)),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let t = now();
        let a = SetAttr {
            mode: mode.map(|m| (m & 0o7777) as u16),
            uid,
            gid,
            size,
            atime: time_or_now(atime, t),
            mtime: time_or_now(mtime, t),
            ctime: ctime.map(to_ts),
        };
        let r = if a.size.is_some() {
            self.with_settled(|fs| fs.setattr(ino.0, &a, t))
        } else {
            self.with(|fs| fs.setattr(ino.0, &a, t))
        };
        match r {
            Ok(s) => reply.attr(&self.timeouts.attr, &attr(&s)),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.with(|fs| fs.readlink(ino.0)) {
            Ok(v) => reply.data(&v),
            Err(e) => reply.error(e),
        }
    }

    fn mknod(&self, req: &Request, parent: INodeNo, name: &OsStr, mode: u32, umask: u32, rdev: u32, reply: ReplyEntry) {
        let r = self.with_entry(|fs| {
            let (uid, gid, _) = Self::owner_for_new(fs, req, parent.0)?;
            let mode = u16::try_from(mode).map_err(|_| FsError::Invalid)?;
            fs.create_inheriting(parent.0, mode, mask_bits(umask), |fs, mode| {
                fs.mknod(parent.0, name.as_bytes(), mode, rdev, uid, gid, now())
            })
        });
        self.entry(reply, r);
    }

    fn mkdir(&self, req: &Request, parent: INodeNo, name: &OsStr, mode: u32, umask: u32, reply: ReplyEntry) {
        let r = self.with_entry(|fs| {
            let (uid, gid, sgid) = Self::owner_for_new(fs, req, parent.0)?;
            let mut perm = (mode & 0o7777) as u16;
            if sgid {
                perm |= S_ISGID;
            }
            fs.create_inheriting(parent.0, perm, mask_bits(umask), |fs, perm| fs.mkdir(parent.0, name.as_bytes(), perm, uid, gid, now()))
        });
        self.entry(reply, r);
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        Self::empty(reply, self.with_settled(|fs| fs.unlink(parent.0, name.as_bytes(), now())));
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        Self::empty(reply, self.with_settled(|fs| fs.rmdir(parent.0, name.as_bytes(), now())));
    }

    fn symlink(&self, req: &Request, parent: INodeNo, link_name: &OsStr, target: &Path, reply: ReplyEntry) {
        let r = self.with_entry(|fs| {
            let (uid, gid, _) = Self::owner_for_new(fs, req, parent.0)?;
            fs.symlink(parent.0, link_name.as_bytes(), target.as_os_str().as_bytes(), uid, gid, now())
        });
        self.entry(reply, r);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let known = RenameFlags::RENAME_NOREPLACE | RenameFlags::RENAME_EXCHANGE;
        if !(flags - known).is_empty() {
            // RENAME_WHITEOUT (overlayfs) and anything newer.
            return reply.error(Errno::EINVAL);
        }
        let f = vexfs_core::RenameFlags {
            noreplace: flags.contains(RenameFlags::RENAME_NOREPLACE),
            exchange: flags.contains(RenameFlags::RENAME_EXCHANGE),
        };
        Self::empty(reply, self.with_settled(|fs| fs.rename(parent.0, name.as_bytes(), newparent.0, newname.as_bytes(), f, now())));
    }

    fn link(&self, _req: &Request, ino: INodeNo, newparent: INodeNo, newname: &OsStr, reply: ReplyEntry) {
        let r = self.with_entry(|fs| fs.link(ino.0, newparent.0, newname.as_bytes(), now()));
        self.entry(reply, r);
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        // Only this daemon changes the image, and every change goes through
        // the kernel's page cache first, so cached pages stay valid across
        // opens.
        match self.with(|fs| {
            // FUSE_ATOMIC_O_TRUNC: the kernel leaves O_TRUNC to us and
            // assumes the file is empty afterwards.
            if flags.0 & libc::O_TRUNC != 0 {
                let t = now();
                let a = SetAttr { size: Some(0), mtime: Some(t), ..SetAttr::default() };
                fs.setattr(ino.0, &a, t)?;
            }
            fs.open(ino.0)
        }) {
            Ok(()) => {
                let fh = self.handle_for(ino.0, flags.0);
                reply.opened(fh, FopenFlags::FOPEN_KEEP_CACHE)
            }
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.with(|fs| fs.read(ino.0, offset, size as usize)) {
            Ok(v) => reply.data(&v),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.with(|fs| fs.write(ino.0, offset, data, now())) {
            Ok(n) => reply.written(n as u32),
            Err(e) => reply.error(e),
        }
    }

    fn flush(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _lock_owner: LockOwner, reply: ReplyEmpty) {
        // Nothing to do at close: the kernel has written the file's dirty
        // pages back before sending FLUSH, writes reach the core
        // synchronously, durability is fsync's job and there are no POSIX
        // locks to drop. ENOSYS makes the kernel stop sending FLUSH (and
        // close() still succeeds), saving a round trip per close.
        reply.error(Errno::ENOSYS);
    }

    fn release(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        if fh == WRITER {
            self.seeker.writers.closed(ino.0);
        }
        Self::empty(reply, self.with_settled(|fs| fs.release(ino.0)));
    }

    fn fsync(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        Self::empty(reply, self.core.sync());
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        // Counted like files so a removed-but-open directory stays readable.
        match self.with(|fs| {
            if fs.getattr(ino.0)?.file_type != FileType::Directory {
                return Err(FsError::NotDir);
            }
            fs.open(ino.0)
        }) {
            // The kernel may keep listings in its page cache across opens:
            // it drops them itself on changes made through this mount, and
            // `invalidate_created` covers the one change made around it.
            Ok(()) => reply.opened(FileHandle(self.sessions.open()), FopenFlags::FOPEN_CACHE_DIR | FopenFlags::FOPEN_KEEP_CACHE),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let mut off = offset;
        loop {
            let batch = match self.with(|fs| fs.readdir(ino.0, off, READDIR_BATCH)) {
                Ok(b) => b,
                Err(e) => return reply.error(e),
            };
            for e in &batch {
                if reply.add(INodeNo(e.ino), e.offset, kind(e.file_type), OsStr::from_bytes(&e.name)) {
                    return reply.ok();
                }
                off = e.offset;
            }
            if batch.len() < READDIR_BATCH {
                return reply.ok();
            }
        }
    }

    fn readdirplus(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, offset: u64, mut reply: ReplyDirectoryPlus) {
        let mut off = offset;
        loop {
            // Entries with attributes are ~10x larger: fetch fewer at a time
            // so a full reply buffer wastes little work.
            // Each listed entry but "." and ".." gives the kernel a
            // reference: taken with the listing, returned for entries that
            // do not fit the reply.
            let batch = match self.with(|fs| {
                let b = fs.readdir_plus(ino.0, off, READDIRPLUS_BATCH)?;
                for (e, _) in b.iter().filter(|(e, _)| counts_lookup(&e.name)) {
                    self.lookups.hold(fs, e.ino);
                }
                Ok(b)
            }) {
                Ok(b) => b,
                Err(e) => return reply.error(e),
            };
            for (i, (e, st)) in batch.iter().enumerate() {
                let added = match st {
                    Ok(st) => {
                        let gen = Generation(u64::from(st.generation));
                        reply.add(INodeNo(e.ino), e.offset, OsStr::from_bytes(&e.name), &self.timeouts.entry, &attr(st), gen)
                    }
                    // A damaged child is still listed, with attributes the
                    // kernel must not cache: its own lookup gives EUCLEAN.
                    Err(_) => reply.add(INodeNo(e.ino), e.offset, OsStr::from_bytes(&e.name), &Duration::ZERO, &placeholder(e.ino, e.file_type), Generation(0)),
                };
                if added {
                    self.return_unsent(batch.get(i..).unwrap_or_default());
                    return reply.ok();
                }
                off = e.offset;
            }
            if batch.len() < READDIRPLUS_BATCH {
                return reply.ok();
            }
        }
    }

    fn releasedir(&self, _req: &Request, ino: INodeNo, fh: FileHandle, _flags: OpenFlags, reply: ReplyEmpty) {
        self.sessions.close(fh.0);
        Self::empty(reply, self.with_settled(|fs| fs.release(ino.0)));
    }

    fn ioctl(
        &self,
        req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _flags: IoctlFlags,
        cmd: u32,
        in_data: &[u8],
        out_size: u32,
        reply: ReplyIoctl,
    ) {
        let Some((want_in, want_out)) = crate::vectors::known(cmd) else {
            return reply.error(Errno::ENOTTY);
        };
        if in_data.len() != want_in || (out_size as usize) < want_out {
            return reply.error(Errno::EINVAL);
        }
        let caller = crate::vectors::caller(req.uid(), req.gid(), req.pid());
        let mut session = self.sessions.take(fh.0);
        let mut out = vec![0u8; want_out];
        let r = self.with(|fs| {
            fs.vector_ioctl(ino.0, cmd, in_data, &mut out, &mut session, &caller, now())
        });
        self.sessions.put(fh.0, session);
        match r {
            Ok(n) => {
                self.invalidate_created(ino.0, cmd, in_data);
                reply.ioctl(0, out.get(..n).unwrap_or(&[]))
            }
            Err(e) => reply.error(e),
        }
    }

    fn fsyncdir(&self, _req: &Request, _ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        Self::empty(reply, self.core.sync());
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        match self.with(|fs| Ok(fs.statfs())) {
            Ok(s) => reply.statfs(
                s.blocks,
                s.blocks_free,
                s.blocks_free,
                s.inodes,
                s.inodes_free,
                s.block_size,
                s.name_max,
                s.block_size,
            ),
            Err(e) => reply.error(e),
        }
    }

    fn setxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, value: &[u8], flags: i32, _position: u32, reply: ReplyEmpty) {
        let known = libc::XATTR_CREATE | libc::XATTR_REPLACE;
        if flags & !known != 0 {
            return reply.error(Errno::EINVAL);
        }
        let f = XattrFlags { create: flags & libc::XATTR_CREATE != 0, replace: flags & libc::XATTR_REPLACE != 0 };
        Self::empty(reply, self.with(|fs| fs.setxattr(ino.0, name.as_bytes(), value, f, now())));
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        match self.with(|fs| fs.getxattr(ino.0, name.as_bytes())) {
            Ok(v) => xattr_reply(reply, &v, size),
            Err(e) => reply.error(e),
        }
    }

    fn listxattr(&self, req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        match self.with(|fs| fs.listxattr(ino.0)) {
            // As on ext4, trusted.* names are listed to privileged callers
            // only (the kernel refuses others reading or setting them).
            Ok(v) if req.uid() != 0 => xattr_reply(reply, &without_trusted(&v), size),
            Ok(v) => xattr_reply(reply, &v, size),
            Err(e) => reply.error(e),
        }
    }

    fn removexattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        Self::empty(reply, self.with(|fs| fs.removexattr(ino.0, name.as_bytes(), now())));
    }

    fn access(&self, req: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
        // Normally not called: with default_permissions the kernel decides.
        // Answer from the mode bits anyway (without supplementary groups).
        let r = self.with(|fs| fs.getattr(ino.0)).and_then(|s| {
            let want = mask.bits() & 0o7;
            let x = libc::X_OK;
            if req.uid() == 0 {
                // Root may do anything but execute a file nobody may execute.
                let exec_denied = want & x != 0 && s.file_type != FileType::Directory && s.mode & 0o111 == 0;
                return if exec_denied { Err(Errno::EACCES) } else { Ok(()) };
            }
            let bits = if req.uid() == s.uid {
                (s.mode >> 6) & 7
            } else if req.gid() == s.gid {
                (s.mode >> 3) & 7
            } else {
                s.mode & 7
            };
            if (i32::from(bits) & want) == want {
                Ok(())
            } else {
                Err(Errno::EACCES)
            }
        });
        Self::empty(reply, r);
    }

    fn create(&self, req: &Request, parent: INodeNo, name: &OsStr, mode: u32, umask: u32, flags: i32, reply: ReplyCreate) {
        let r = self.with_entry(|fs| {
            let (uid, gid, _) = Self::owner_for_new(fs, req, parent.0)?;
            let perm = (mode & 0o7777) as u16;
            let st = fs.create_inheriting(parent.0, perm, mask_bits(umask), |fs, perm| fs.create(parent.0, name.as_bytes(), perm, uid, gid, now()))?;
            fs.open(st.ino)?;
            Ok(st)
        });
        match r {
            Ok(s) => {
                let fh = self.handle_for(s.ino, flags);
                reply.created(&self.timeouts.entry, &attr(&s), Generation(u64::from(s.generation)), fh, FopenFlags::FOPEN_KEEP_CACHE)
            }
            Err(e) => reply.error(e),
        }
    }

    fn fallocate(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, offset: u64, length: u64, mode: i32, reply: ReplyEmpty) {
        const KEEP: i32 = libc::FALLOC_FL_KEEP_SIZE;
        const PUNCH: i32 = libc::FALLOC_FL_PUNCH_HOLE;
        const ZERO: i32 = libc::FALLOC_FL_ZERO_RANGE;
        let m = match mode {
            0 => FallocMode::Allocate { keep_size: false },
            KEEP => FallocMode::Allocate { keep_size: true },
            m if m == PUNCH | KEEP => FallocMode::PunchHole,
            ZERO => FallocMode::ZeroRange { keep_size: false },
            m if m == ZERO | KEEP => FallocMode::ZeroRange { keep_size: true },
            _ => return reply.error(Errno::EOPNOTSUPP),
        };
        Self::empty(reply, self.with_settled(|fs| fs.fallocate(ino.0, offset, length, m, now())));
    }

    fn lseek(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, offset: i64, whence: i32, reply: ReplyLseek) {
        self.seeker.lseek(&self.core, ino.0, offset, whence, reply);
    }
}

/// A NUL-separated name list without its `trusted.` names.
fn without_trusted(list: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(list.len());
    for name in list.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        if !name.starts_with(b"trusted.") {
            out.extend_from_slice(name);
            out.push(0);
        }
    }
    out
}

/// Whether a readdirplus entry gives the kernel a lookup reference (it
/// skips "." and "..").
fn counts_lookup(name: &[u8]) -> bool {
    name != b"." && name != b".."
}

/// The permission bits of a umask from the kernel.
fn mask_bits(umask: u32) -> u16 {
    (umask & 0o777) as u16
}

/// Size-probe semantics of getxattr/listxattr: size 0 asks for the length.
fn xattr_reply(reply: ReplyXattr, v: &[u8], size: u32) {
    if size == 0 {
        reply.size(v.len() as u32);
    } else if (size as usize) < v.len() {
        reply.error(Errno::ERANGE);
    } else {
        reply.data(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        for ts in [Timestamp::new(0, 0), Timestamp::new(1_700_000_000, 123), Timestamp::new(-1, 500_000_000), Timestamp::new(-100, 0)] {
            assert_eq!(to_ts(to_system(ts)), ts);
        }
    }
}
