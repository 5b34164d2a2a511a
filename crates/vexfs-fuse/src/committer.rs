//! The journal's commit timer.
//!
//! Operations join the core's running transaction in memory; this thread
//! commits it every `interval` (like ext4's `commit=` default of five
//! seconds), so at most that much completed work is lost on a crash or a
//! `kill -9` of the daemon. fsync, syncfs and unmount commit at once.

use std::sync::{Mutex, Weak};
use std::time::Duration;
use vexfs_core::{FileDevice, Fs};

/// Start the timer over the daemon's filesystem slot. The thread ends
/// when the slot is emptied (unmount) or dropped.
pub fn spawn(fs: Weak<Mutex<Option<Fs<FileDevice>>>>, interval: Duration) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("vexfs-commit".into())
        .spawn(move || loop {
            std::thread::sleep(interval);
            let Some(slot) = fs.upgrade() else {
                return;
            };
            let Ok(mut guard) = slot.lock() else {
                return;
            };
            let Some(fs) = guard.as_mut() else {
                return;
            };
            if fs.has_uncommitted() {
                if let Err(e) = fs.sync() {
                    crate::logger::report(&format!(
                        "journal commit failed, the filesystem is now read-only: {e}"
                    ));
                }
            }
        })?;
    Ok(())
}
