//! `lseek(SEEK_DATA / SEEK_HOLE)` with the writeback cache on.
//!
//! The kernel sends FUSE_LSEEK with only the offset and whence (fs/fuse/
//! file.c `fuse_lseek`, under the inode lock) and does not write back the
//! file's dirty pages first: written data may still sit in the page cache,
//! beyond the size and the extents the core knows. So when a file is open
//! for writing, the daemon first asks the kernel to invalidate the file's
//! cached pages (FUSE_NOTIFY_INVAL_INODE); the kernel launders every dirty
//! page through FUSE_WRITE on the way, and the notification returns only
//! once those writes were answered. Then the extent map is complete and
//! the core answers.
//!
//! The notification blocks until other request threads have served the
//! writes, so it is sent from a thread of its own and the reply is sent
//! from there: no request thread waits, whatever the thread count.

use crate::shared::Shared;
use fuser::{Errno, INodeNo, Notifier, ReplyLseek};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use vexfs_core::SeekTarget;

/// Open handles that may write, per inode: only their files can have dirty
/// pages in the kernel (closing a file writes its pages back).
#[derive(Default)]
pub(crate) struct Writers(Mutex<HashMap<u64, u32>>);

impl Writers {
    pub(crate) fn opened(&self, ino: u64) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(ino).or_insert(0) += 1;
        }
    }

    pub(crate) fn closed(&self, ino: u64) {
        if let Ok(mut m) = self.0.lock() {
            if let Some(n) = m.get_mut(&ino) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&ino);
                }
            }
        }
    }

    fn any(&self, ino: u64) -> bool {
        // A poisoned map is treated as "maybe dirty": flushing is only slower.
        self.0.lock().map(|m| m.contains_key(&ino)).unwrap_or(true)
    }
}

/// Answer from the core.
fn answer(core: &Shared, ino: u64, offset: u64, target: SeekTarget, reply: ReplyLseek) {
    match core.with(|fs| fs.seek_data_hole(ino, offset, target)) {
        Ok(Some(o)) => match i64::try_from(o) {
            Ok(o) => reply.offset(o),
            Err(_) => reply.error(Errno::EOVERFLOW),
        },
        Ok(None) => reply.error(Errno::ENXIO),
        Err(e) => reply.error(e),
    }
}

/// What SEEK_DATA / SEEK_HOLE need besides the core.
pub(crate) struct Seeker {
    pub(crate) writers: Writers,
    /// Set once the session exists (the notifier comes from it).
    pub(crate) notifier: Arc<OnceLock<Notifier>>,
    /// Whether the kernel caches writes (FUSE_WRITEBACK_CACHE asked for).
    pub(crate) writeback: bool,
}

impl Seeker {
    pub(crate) fn new(writeback: bool) -> Self {
        Self {
            writers: Writers::default(),
            notifier: Arc::new(OnceLock::new()),
            writeback,
        }
    }

    /// Handle FUSE_LSEEK (the kernel does SEEK_SET/CUR/END itself).
    pub(crate) fn lseek(&self, core: &Arc<Shared>, ino: u64, offset: i64, whence: i32, reply: ReplyLseek) {
        let target = match whence {
            libc::SEEK_DATA => SeekTarget::Data,
            libc::SEEK_HOLE => SeekTarget::Hole,
            _ => return reply.error(Errno::EINVAL),
        };
        // A negative offset is never inside the file.
        let Ok(offset) = u64::try_from(offset) else {
            return reply.error(Errno::ENXIO);
        };
        let notifier = match self.notifier.get() {
            Some(n) if self.writeback && self.writers.any(ino) => n.clone(),
            _ => return answer(core, ino, offset, target, reply),
        };
        let core = core.clone();
        let spawned = std::thread::Builder::new().name("lseek-flush".to_string()).spawn(move || {
            // Offset 0, length 0: the whole file. A failure (an old kernel,
            // a failed writeback) leaves the answer as good as the core's
            // view.
            if let Err(e) = notifier.inval_inode(INodeNo(ino), 0, 0) {
                log::debug!("lseek: flushing inode {ino} from the page cache: {e}");
            }
            answer(&core, ino, offset, target, reply);
        });
        if let Err(e) = spawned {
            // The reply moved into the closure and was dropped with it,
            // which answers EIO; without a thread nothing better is safe.
            crate::logger::report(&format!("lseek: cannot start a thread: {e}"));
        }
    }
}
