//! The journal's commit timer.
//!
//! Operations join the core's running transaction in memory; this thread
//! commits it every `interval` (like ext4's `commit=` default of five
//! seconds), so at most that much completed work is lost on a crash or a
//! `kill -9` of the daemon. fsync and unmount commit at once.
//!
//! The commit's device writes (two flushes of the image and the log and
//! home writes) happen without the core's lock, through a second handle to
//! the image: requests go on meanwhile instead of stalling behind them.

use crate::shared::Shared;
use std::sync::Weak;
use std::time::{Duration, Instant};
use vexfs_core::FileDevice;

fn report(e: vexfs_core::FsError) {
    crate::logger::report(&format!("journal commit failed, the filesystem is now read-only: {e}"));
}

/// Start the timer over the daemon's core. The thread ends when the core
/// is taken out (unmount) or dropped.
///
/// Besides every `interval`, it commits as soon as the running transaction
/// is due (`Fs::commit_due`, signalled through `Shared::commit_soon`), so
/// a long run of changes commits here, overlapping the requests that
/// follow, instead of inline on one request's time.
pub fn spawn(core: Weak<Shared>, mut dev: FileDevice, interval: Duration) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("vexfs-commit".into())
        .spawn(move || {
            let mut last = Instant::now();
            loop {
                let Some(shared) = core.upgrade() else {
                    return;
                };
                let io = {
                    let Ok(slot) = shared.fs.lock() else {
                        return;
                    };
                    let wait = interval.saturating_sub(last.elapsed());
                    let not_due = |s: &mut Option<vexfs_core::Fs<FileDevice>>| s.as_ref().is_some_and(|fs| !fs.commit_due());
                    let Ok((mut slot, _)) = shared.commit_soon.wait_timeout_while(slot, wait, not_due) else {
                        return;
                    };
                    let Some(fs) = slot.as_mut() else {
                        return;
                    };
                    if !fs.commit_due() && last.elapsed() < interval {
                        continue;
                    }
                    last = Instant::now();
                    if !fs.has_uncommitted() || fs.commit_in_flight() {
                        continue;
                    }
                    match fs.commit_begin() {
                        Ok(Some(io)) => io,
                        Ok(None) => continue,
                        Err(e) => {
                            report(e);
                            return;
                        }
                    }
                };
                let written = io.write(&mut dev);
                let Ok(mut slot) = shared.fs.lock() else {
                    return;
                };
                if let Some(fs) = slot.as_mut() {
                    if let Err(e) = fs.commit_end(io, written) {
                        report(e);
                    }
                }
                drop(slot);
                shared.committed.notify_all();
            }
        })?;
    Ok(())
}
