//! Block mapping for the kernel's page cache: the `get_block` call and
//! the size update after a buffered write.
//!
//! The page cache moves file data with its own block I/O; these calls
//! only say where a file's blocks are (allocating them for writes) and
//! let the core learn the size a write reached.

use crate::abi::{neg, VexfsStat, VexfsTime, NEG_EINVAL};
use crate::mount::{handle, VexfsFs};
use vexfs_core::BlockMap;

/// `vexfs_map_blocks` request flag: map for writing (allocate holes,
/// convert unwritten extents).
pub const VEXFS_MAP_CREATE: u32 = 1 << 0;

/// `struct vexfs_map.flags`: the run is mapped to `physical..`.
pub const VEXFS_MAP_MAPPED: u32 = 1 << 0;
/// The run is allocated but reads as zeros (an unwritten extent).
pub const VEXFS_MAP_UNWRITTEN: u32 = 1 << 1;
/// The run was allocated or converted by this call: its device contents
/// are stale and the caller must write every block before reading any.
pub const VEXFS_MAP_NEW: u32 = 1 << 2;

/// One mapped run (`struct vexfs_map`): `len` blocks from the asked
/// logical block, at `physical..` when `VEXFS_MAP_MAPPED` is set (a hole
/// otherwise). `blocks_512` is the file's allocation after the call when
/// `VEXFS_MAP_NEW` is set (0 otherwise).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VexfsMap {
    pub physical: u64,
    pub len: u64,
    pub flags: u32,
    pub pad: u32,
    pub blocks_512: u64,
}

const _: () = assert!(core::mem::size_of::<VexfsMap>() == 32);

/// Map up to `max` blocks of regular file `ino` from logical block
/// `lblk` into `out`. Without `VEXFS_MAP_CREATE` nothing changes; with
/// it the run is always mapped (allocated in one journaled operation if
/// needed). Returns 0 or a negative errno (`-EFBIG` past the largest file,
/// `-ENOSPC`, `-EUCLEAN` on a damaged extent tree).
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `out` must be
/// writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_map_blocks(
    fs: *mut VexfsFs,
    ino: u64,
    lblk: u64,
    max: u64,
    flags: u32,
    out: *mut VexfsMap,
) -> i32 {
    // SAFETY: the caller guarantees a live handle and a writable `out`.
    let (Some(fs), Some(out)) = (unsafe { handle(fs) }, unsafe { out.as_mut() }) else {
        return NEG_EINVAL;
    };
    let map = if flags & VEXFS_MAP_CREATE != 0 {
        match fs.map_blocks_for_write(ino, lblk, max) {
            Ok(w) => VexfsMap {
                physical: w.physical,
                len: w.len,
                flags: VEXFS_MAP_MAPPED | if w.fresh { VEXFS_MAP_NEW } else { 0 },
                pad: 0,
                blocks_512: 0,
            },
            Err(e) => return neg(e),
        }
    } else {
        match fs.map_blocks(ino, lblk, max) {
            Ok(BlockMap::Hole { len }) => VexfsMap {
                len,
                ..VexfsMap::default()
            },
            Ok(BlockMap::Mapped {
                physical,
                len,
                unwritten,
            }) => VexfsMap {
                physical,
                len,
                flags: VEXFS_MAP_MAPPED | if unwritten { VEXFS_MAP_UNWRITTEN } else { 0 },
                pad: 0,
                blocks_512: 0,
            },
            Err(e) => return neg(e),
        }
    };
    // Only an allocation changes the block count the C side shows.
    if map.flags & VEXFS_MAP_NEW == 0 {
        *out = map;
        return 0;
    }
    match fs.getattr(ino) {
        Ok(st) => {
            *out = VexfsMap {
                blocks_512: st.blocks_512,
                ..map
            };
            0
        }
        Err(e) => neg(e),
    }
}

/// A buffered write of `ino` ended at byte `end`: the core's size grows to
/// it (never shrinks) and mtime/ctime become `now`. Reports the new
/// attributes in `out`. Returns 0 or a negative errno.
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `out` null or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn vexfs_extend_size(
    fs: *mut VexfsFs,
    ino: u64,
    end: u64,
    now: VexfsTime,
    out: *mut VexfsStat,
) -> i32 {
    // SAFETY: the caller guarantees a live handle and exclusive access.
    let Some(fs) = (unsafe { handle(fs) }) else {
        return NEG_EINVAL;
    };
    if let Err(e) = fs.extend_size(ino, end, now.into()) {
        return neg(e);
    }
    match fs.getattr(ino) {
        Ok(st) => {
            // SAFETY: the caller guarantees `out` is null or writable.
            if let Some(o) = unsafe { out.as_mut() } {
                *o = VexfsStat::from(&st);
            }
            0
        }
        Err(e) => neg(e),
    }
}
