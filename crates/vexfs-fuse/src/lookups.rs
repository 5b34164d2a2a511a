//! The kernel's references to inodes (FUSE lookup counts).
//!
//! Every entry reply (lookup, create, mkdir, mknod, symlink, link, and each
//! readdirplus entry but "." and "..") gives the kernel one reference to a
//! node id, which it returns with FORGET. While the kernel holds one, the
//! inode stays allocated: the daemon holds one core open reference per
//! referenced inode, so an unlinked inode waits on the orphan list until
//! the kernel forgets it. Without this, a file removed while its pages or
//! times were still being written back was freed first, and the late
//! WRITE or SETATTR failed with ENOENT (surfacing in syncfs(2)) or, once
//! the number was reused, landed on another file.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use vexfs_core::format::ROOT_INO;
use vexfs_core::{FileDevice, Fs, FsError};

#[derive(Debug, Clone, Copy)]
struct Held {
    /// References the kernel holds.
    count: u64,
    /// Whether the core open reference was taken (it is not for an inode
    /// that could not be read, such as a damaged readdirplus child).
    pinned: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Lookups(Mutex<HashMap<u64, Held>>);

impl Lookups {
    fn map(&self) -> MutexGuard<'_, HashMap<u64, Held>> {
        // The map is only touched here, in code that cannot panic half-way;
        // a poisoned lock still holds consistent counts.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The kernel gets one more reference to `ino`. Called under the core's
    /// lock, in the same critical section that found the inode, so it
    /// cannot be freed in between.
    pub(crate) fn hold(&self, fs: &mut Fs<FileDevice>, ino: u64) {
        if ino == ROOT_INO || ino == 0 {
            // The kernel never forgets the root; 0 is a negative entry.
            return;
        }
        let mut m = self.map();
        let h = m.entry(ino).or_insert(Held { count: 0, pinned: false });
        if h.count == 0 {
            h.pinned = fs.open(ino).is_ok();
        }
        h.count = h.count.saturating_add(1);
    }

    /// The kernel dropped `n` references (FORGET, or an entry that did not
    /// fit a readdirplus reply). The last one releases the core reference,
    /// which frees the inode if it has no links and no open handles left.
    pub(crate) fn forget(&self, fs: &mut Fs<FileDevice>, ino: u64, n: u64) -> Result<(), FsError> {
        let release = {
            let mut m = self.map();
            match m.get_mut(&ino) {
                Some(h) if h.count > n => {
                    h.count -= n;
                    false
                }
                Some(h) => {
                    let pinned = h.pinned;
                    m.remove(&ino);
                    pinned
                }
                None => false,
            }
        };
        if release {
            fs.release(ino)
        } else {
            Ok(())
        }
    }
}
