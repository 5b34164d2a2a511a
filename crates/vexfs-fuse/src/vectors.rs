//! The vector ioctls through FUSE: the per-open-directory query state and
//! the caller's identity. Decoding and answering are the core's
//! (`Fs::vector_ioctl`), shared with the kernel module.
//!
//! FUSE forwards only "restricted" ioctls whose argument size is encoded
//! in the command number, so the kernel hands us exactly `size` bytes in
//! and takes `size` bytes back; `include/uapi/vexfs.h` is built for that.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use vexfs_core::{Caller, QuerySession};

/// Query state of every open directory handle.
#[derive(Debug, Default)]
pub struct Sessions {
    next: AtomicU64,
    open: Mutex<HashMap<u64, QuerySession>>,
}

impl Sessions {
    /// A new handle number for an opened directory.
    pub fn open(&self) -> u64 {
        let fh = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut m) = self.open.lock() {
            m.insert(fh, QuerySession::default());
        }
        fh
    }

    pub fn close(&self, fh: u64) {
        if let Ok(mut m) = self.open.lock() {
            m.remove(&fh);
        }
    }

    /// Take the handle's state out for one call (so the core can run
    /// without this lock held), to be given back with [`Sessions::put`].
    pub fn take(&self, fh: u64) -> QuerySession {
        self.open
            .lock()
            .ok()
            .and_then(|mut m| m.get_mut(&fh).map(std::mem::take))
            .unwrap_or_default()
    }

    /// Give the state back, unless the handle was closed meanwhile.
    pub fn put(&self, fh: u64, s: QuerySession) {
        if let Ok(mut m) = self.open.lock() {
            if let Some(slot) = m.get_mut(&fh) {
                *slot = s;
            }
        }
    }
}

/// The caller of a request, with its supplementary groups (FUSE requests
/// carry only uid, gid and pid; the groups come from /proc).
pub fn caller(uid: u32, gid: u32, pid: u32) -> Caller {
    // Root passes every check, so its groups are never consulted: skip
    // reading /proc (a few percent of a bulk load's time).
    let groups = if uid == 0 {
        Vec::new()
    } else {
        supplementary_groups(pid).unwrap_or_default()
    };
    Caller { uid, gid, groups }
}

fn supplementary_groups(pid: u32) -> Option<Vec<u32>> {
    if pid == 0 {
        return None;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Groups:"))?;
    Some(
        line["Groups:".len()..]
            .split_whitespace()
            .filter_map(|g| g.parse().ok())
            .collect(),
    )
}

/// Whether `cmd` is one of ours, and the input and output sizes it encodes.
pub fn known(cmd: u32) -> Option<(usize, usize)> {
    vexfs_uapi::ALL_COMMANDS
        .contains(&cmd)
        .then(|| vexfs_uapi::ioc_sizes(cmd))
}

/// The names a successful bulk update with `BULK_CREATE` may have created
/// (NUL-separated in its data area), or `None` for any other command.
pub fn created_names(cmd: u32, in_data: &[u8]) -> Option<Vec<&[u8]>> {
    use vexfs_uapi as u;
    if cmd != u::IOC_BULK_SET {
        return None;
    }
    let b: u::Bulk = u::from_bytes(in_data)?;
    if b.flags & u::BULK_CREATE == 0 {
        return None;
    }
    let data = in_data.get(std::mem::offset_of!(u::Bulk, data)..)?;
    let names = data.get(..usize::try_from(b.names_len).ok()?)?;
    Some(names.split(|&c| c == 0).filter(|n| !n.is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_keep_state_per_handle() {
        let s = Sessions::default();
        let a = s.open();
        let b = s.open();
        assert_ne!(a, b);
        let st = s.take(a);
        s.put(a, st);
        s.close(a);
        s.put(a, QuerySession::default());
        assert!(
            s.open.lock().unwrap().get(&a).is_none(),
            "a closed handle stays closed"
        );
        let _ = s.take(b);
    }

    #[test]
    fn own_groups_are_read() {
        let me = std::process::id();
        assert!(supplementary_groups(me).is_some());
        assert_eq!(known(vexfs_uapi::IOC_INDEX_DROP), Some((0, 0)));
        assert_eq!(known(0x5401), None);
    }
}
