//! Background index inserts for the module's insertion worker
//! (`kernel/index.c`): switch the core to them at mount, and the three
//! calls the worker makes — has anything changed, how much waits, insert
//! a bounded step of it. Each is one short call under the sb lock; the
//! worker decides when and how many, as the FUSE daemon's `vexfs-index`
//! thread does (`crates/vexfs-fuse/src/absorber.rs`).

use crate::abi::{neg, NEG_EINVAL};
use crate::mount::{handle, VexfsFs};
use vexfs_core::DEFAULT_INSERT_BACKLOG;

/// What one `vexfs_vectors_absorb` call did (`struct vexfs_absorbed`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VexfsAbsorbed {
    /// Vectors the strategy took in.
    pub rows: u64,
    /// Vectors still waiting that a strategy could take in now.
    pub left: u64,
}

// kernel/super.c checks the same size (BUILD_BUG_ON).
const _: () = assert!(core::mem::size_of::<VexfsAbsorbed>() == 16);

/// `on` = 1: writers leave index insertions to the worker (up to the
/// core's default backlog of pending vectors per index, beyond which they
/// insert the excess themselves); 0: writers insert in batches and before
/// each search, as without a worker. Anything else is `-EINVAL`.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently.
#[no_mangle]
pub unsafe extern "C" fn vexfs_background_inserts(fs: *mut VexfsFs, on: u32) -> i32 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    let Some(fs) = (unsafe { handle(fs) }) else {
        return NEG_EINVAL;
    };
    let backlog = match on {
        0 => None,
        1 => Some(DEFAULT_INSERT_BACKLOG),
        _ => return NEG_EINVAL,
    };
    fs.set_background_inserts(backlog);
    0
}

/// A counter in `*out` that moves whenever an index changes: the worker
/// waits while it moves, so writers keep the lock and batches form.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_vectors_changes(fs: *mut VexfsFs, out: *mut u64) -> i32 {
    // SAFETY: the caller guarantees a live handle, exclusive access and a
    // writable `out` (or null).
    let (Some(fs), Some(out)) = (unsafe { handle(fs) }, unsafe { out.as_mut() }) else {
        return NEG_EINVAL;
    };
    *out = fs.vectors_changes();
    0
}

/// Pending vectors a strategy could take in now, over every loaded index,
/// in `*out`.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_vectors_backlog(fs: *mut VexfsFs, out: *mut u64) -> i32 {
    // SAFETY: as in `vexfs_vectors_changes`.
    let (Some(fs), Some(out)) = (unsafe { handle(fs) }, unsafe { out.as_mut() }) else {
        return NEG_EINVAL;
    };
    *out = fs.vectors_backlog();
    0
}

/// Insert up to `max_rows` (at least one) pending vectors of one index
/// into its strategy; what it did goes to `*out`. An untrained strategy
/// trains first on all its pending vectors, which is one longer call. On
/// an error (`-ENOMEM`, say) the core has dropped that index from memory
/// (its record is dirty: the next use rebuilds it from the files) and
/// `*out` is left as it was.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_vectors_absorb(
    fs: *mut VexfsFs,
    max_rows: u64,
    out: *mut VexfsAbsorbed,
) -> i32 {
    // SAFETY: as in `vexfs_vectors_changes`.
    let (Some(fs), Some(out)) = (unsafe { handle(fs) }, unsafe { out.as_mut() }) else {
        return NEG_EINVAL;
    };
    let rows = usize::try_from(max_rows).unwrap_or(usize::MAX);
    match fs.vectors_absorb(rows) {
        Ok(a) => {
            *out = VexfsAbsorbed {
                rows: a.rows,
                left: a.left,
            };
            0
        }
        Err(e) => neg(e),
    }
}
