//! The core behind its lock, shared by the request threads and by work
//! handed to other threads (a deferred `lseek` reply).

use fuser::Errno;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use vexfs_core::{FileDevice, Fs, FsError};

pub(crate) struct Shared {
    pub(crate) fs: Mutex<Option<Fs<FileDevice>>>,
    /// Set when a handler panicked: the core's state is suspect.
    pub(crate) failed: AtomicBool,
}

pub(crate) fn errno(e: FsError) -> Errno {
    Errno::from_i32(e.errno())
}

impl Shared {
    pub(crate) fn new(fs: Fs<FileDevice>) -> Self {
        Self {
            fs: Mutex::new(Some(fs)),
            failed: AtomicBool::new(false),
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
        let mut g = self.lock()?;
        let fs = g.as_mut().ok_or(Errno::EIO)?;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(fs))) {
            Ok(r) => r.map_err(errno),
            Err(_) => {
                self.failed.store(true, Ordering::Relaxed);
                crate::logger::report("internal error; refusing further requests, run fsck after unmounting");
                Err(Errno::EIO)
            }
        }
    }

    /// Take the core out for the final unmount (`None` if already taken).
    pub(crate) fn take(&self) -> Option<Fs<FileDevice>> {
        match self.fs.lock() {
            Ok(mut slot) => slot.take(),
            Err(p) => p.into_inner().take(),
        }
    }
}
