//! The core behind its lock, shared by the request threads and by work
//! handed to other threads (a deferred `lseek` reply, the commit timer).
//!
//! A journal commit started by the timer writes without the lock
//! (`Fs::commit_begin`); until it ends, fsync and unmount wait on
//! `committed`, and a transaction grown large commits inline again only
//! once it has. Operations that may be split into several transactions
//! (freeing or reserving a large file) also wait, so the core can commit
//! between their steps.

use fuser::Errno;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use vexfs_core::{FileDevice, Fs, FsError};

pub(crate) struct Shared {
    pub(crate) fs: Mutex<Option<Fs<FileDevice>>>,
    /// Set when a handler panicked: the core's state is suspect.
    pub(crate) failed: AtomicBool,
    /// Signalled when a commit in flight ends.
    pub(crate) committed: Condvar,
    /// Signalled when the running transaction is due for a commit, or the
    /// core is taken out: wakes the commit thread.
    pub(crate) commit_soon: Condvar,
}

pub(crate) fn errno(e: FsError) -> Errno {
    Errno::from_i32(e.errno())
}

impl Shared {
    pub(crate) fn new(fs: Fs<FileDevice>) -> Self {
        Self {
            fs: Mutex::new(Some(fs)),
            failed: AtomicBool::new(false),
            committed: Condvar::new(),
            commit_soon: Condvar::new(),
        }
    }

    /// Lock the core. A poisoned lock means a handler panicked mid-update:
    /// refuse further requests rather than work on a half-changed state.
    fn lock(&self) -> Result<MutexGuard<'_, Option<Fs<FileDevice>>>, Errno> {
        if self.failed.load(Ordering::Relaxed) {
            return Err(Errno::EIO);
        }
        self.fs.lock().map_err(|_| Errno::EIO)
    }

    /// Run `f` on the core under the lock. A panic (a bug) is contained:
    /// the request fails with EIO and so does every later one, and the
    /// image is not marked clean at unmount, so fsck will look at it.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Fs<FileDevice>) -> Result<T, FsError>) -> Result<T, Errno> {
        self.run(self.lock()?, f)
    }

    /// [`Shared::with`] once no commit is in flight, for operations that
    /// may free or reserve more than one transaction holds: the core then
    /// commits between their steps itself, which it cannot do while the
    /// timer's commit has the log.
    pub(crate) fn with_settled<T>(&self, f: impl FnOnce(&mut Fs<FileDevice>) -> Result<T, FsError>) -> Result<T, Errno> {
        self.run(self.settled()?, f)
    }

    fn run<T>(
        &self,
        mut g: MutexGuard<'_, Option<Fs<FileDevice>>>,
        f: impl FnOnce(&mut Fs<FileDevice>) -> Result<T, FsError>,
    ) -> Result<T, Errno> {
        let fs = g.as_mut().ok_or(Errno::EIO)?;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(fs))) {
            Ok(r) => {
                if fs.commit_due() {
                    self.commit_soon.notify_one();
                }
                if fs.commit_wanted() {
                    // Grew large while the timer's commit was in flight.
                    if let Err(e) = fs.sync() {
                        crate::logger::report(&format!("journal commit failed, the filesystem is now read-only: {e}"));
                    }
                }
                r.map_err(errno)
            }
            Err(_) => {
                self.failed.store(true, Ordering::Relaxed);
                crate::logger::report("internal error; refusing further requests, run fsck after unmounting");
                Err(Errno::EIO)
            }
        }
    }

    /// Wait until no commit is in flight, holding the lock on return.
    fn settled(&self) -> Result<MutexGuard<'_, Option<Fs<FileDevice>>>, Errno> {
        let g = self.lock()?;
        self.committed
            .wait_while(g, |slot| slot.as_ref().is_some_and(|fs| fs.commit_in_flight()))
            .map_err(|_| Errno::EIO)
    }

    /// fsync, fdatasync, fsyncdir: every completed operation durable.
    pub(crate) fn sync(&self) -> Result<(), Errno> {
        let mut g = self.settled()?;
        g.as_mut().ok_or(Errno::EIO)?.sync().map_err(errno)
    }

    /// Take the core out for the final unmount (`None` if already taken),
    /// once no commit is in flight.
    pub(crate) fn take(&self) -> Option<Fs<FileDevice>> {
        let fs = match self.settled() {
            Ok(mut slot) => slot.take(),
            Err(_) => match self.fs.lock() {
                Ok(mut slot) => slot.take(),
                Err(p) => p.into_inner().take(),
            },
        };
        // The commit thread sees the empty slot and ends.
        self.commit_soon.notify_all();
        fs
    }
}
