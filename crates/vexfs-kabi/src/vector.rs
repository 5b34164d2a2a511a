//! The vector ioctls of `include/uapi/vexfs.h`: per-open-directory query
//! sessions and one entry point that hands the caller's bytes to
//! `Fs::vector_ioctl`, which decodes, checks and answers them exactly as
//! it does for vexfs-fuse.
//!
//! The C side (`kernel/ioctl.c`) copies the fixed-size struct in from user
//! memory before taking the superblock lock and copies the reply out after
//! dropping it, so nothing here touches user memory.

use crate::abi::{neg, VexfsTime, NEG_EINVAL};
use crate::mount::{bytes, bytes_mut, handle, VexfsFs};
use alloc::boxed::Box;
use alloc::vec::Vec;
use vexfs_core::{Caller, FsError, QuerySession};

/// `struct vexfs_caller.flags`: the caller may override file permission
/// checks (CAP_DAC_OVERRIDE or CAP_FOWNER in the kernel's view).
pub const VEXFS_CALLER_PRIVILEGED: u32 = 1 << 0;

/// Who issues an ioctl (`struct vexfs_caller`): ids as seen from the
/// initial user namespace, and the supplementary groups.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VexfsCaller {
    pub uid: u32,
    pub gid: u32,
    pub flags: u32,
    pub ngroups: u32,
    pub groups: *const u32,
}

// kernel/super.c checks the same size (BUILD_BUG_ON).
const _: () = assert!(core::mem::size_of::<VexfsCaller>() == 24);

/// Query state of one open directory (`struct vexfs_session`, opaque to
/// C): a staged long query vector and the last results, for paging.
pub struct VexfsSession {
    session: QuerySession,
}

/// A fresh session for a directory file, or null when out of memory. Needs
/// no filesystem lock: it touches no mount.
#[no_mangle]
pub extern "C" fn vexfs_session_new() -> *mut VexfsSession {
    let layout = core::alloc::Layout::new::<VexfsSession>();
    // SAFETY: the layout is a struct's, not zero-sized (`Box::new` would
    // abort on failure; this returns null instead).
    let p = unsafe { alloc::alloc::alloc(layout) }.cast::<VexfsSession>();
    if !p.is_null() {
        // SAFETY: `p` is fresh memory of the session's size and alignment.
        unsafe {
            p.write(VexfsSession {
                session: QuerySession::default(),
            })
        };
    }
    p
}

/// Free a session from `vexfs_session_new` (null is ignored).
///
/// # Safety
/// `s` must be null or a pointer from `vexfs_session_new`, not used
/// afterwards and not concurrently.
#[no_mangle]
pub unsafe extern "C" fn vexfs_session_free(s: *mut VexfsSession) {
    if !s.is_null() {
        // SAFETY: by the caller's contract `s` came from `Box::into_raw`
        // in `vexfs_session_new` and is given back exactly once.
        drop(unsafe { Box::from_raw(s) });
    }
}

/// The core's view of the caller. The core has one notion of privilege,
/// uid 0 (every check passes, as with CAP_DAC_OVERRIDE and CAP_FOWNER):
/// a privileged caller is presented as that.
fn core_caller(c: &VexfsCaller, groups: &[u32]) -> Result<Caller, FsError> {
    if c.flags & !VEXFS_CALLER_PRIVILEGED != 0 {
        return Err(FsError::Invalid);
    }
    if c.flags & VEXFS_CALLER_PRIVILEGED != 0 {
        return Ok(Caller::root());
    }
    let mut g = Vec::new();
    g.try_reserve_exact(groups.len())
        .map_err(|_| FsError::NoMemory)?;
    g.extend_from_slice(groups);
    Ok(Caller {
        uid: c.uid,
        gid: c.gid,
        groups: g,
    })
}

/// Answer ioctl `cmd` on directory `dir`: `input` holds the `in_len`
/// bytes the caller passed (the struct the command number names, or none),
/// the reply goes to `out` (`out_cap` bytes, the same size for commands
/// that return the struct, 0 otherwise). Returns the reply's length or a
/// negative errno (`-ENOTTY` for a command this filesystem does not know,
/// `-ENOTDIR` on a non-directory, `-EINVAL` for a malformed struct).
///
/// # Safety
/// `fs` must be a live handle, not used concurrently; `input` must point
/// to `in_len` readable bytes and `out` to `out_cap` writable bytes (either
/// may be null with a zero length); `session` must be a live session used
/// by no one else during the call; `caller` readable, with `ngroups`
/// readable ids at `groups`.
#[no_mangle]
pub unsafe extern "C" fn vexfs_vector_ioctl(
    fs: *mut VexfsFs,
    dir: u64,
    cmd: u32,
    input: *const u8,
    in_len: usize,
    out: *mut u8,
    out_cap: usize,
    session: *mut VexfsSession,
    caller: *const VexfsCaller,
    now: VexfsTime,
) -> i64 {
    // SAFETY: the caller guarantees the handle, the input bytes, the
    // session and the caller record.
    let (Some(fs), Some(input), Some(s), Some(c)) = (
        unsafe { handle(fs) },
        unsafe { bytes(input, in_len) },
        unsafe { session.as_mut() },
        unsafe { caller.as_ref() },
    ) else {
        return NEG_EINVAL.into();
    };
    let groups = if c.ngroups == 0 {
        &[][..]
    } else if c.groups.is_null() {
        return NEG_EINVAL.into();
    } else {
        // SAFETY: non-null, and the caller guarantees `ngroups` readable
        // ids at `groups` for the call.
        unsafe { core::slice::from_raw_parts(c.groups, c.ngroups as usize) }
    };
    let who = match core_caller(c, groups) {
        Ok(w) => w,
        Err(e) => return neg(e).into(),
    };
    // SAFETY: the caller guarantees `out_cap` writable bytes at `out`, not
    // aliased by `input` (the C side copies each into a buffer of its own).
    let Some(out) = (unsafe { bytes_mut(out, out_cap) }) else {
        return NEG_EINVAL.into();
    };
    // The core writes the reply straight into the C side's buffer; one
    // that does not fit (the C side and the uapi disagree) is EINVAL.
    match fs.vector_ioctl(dir, cmd, input, out, &mut s.session, &who, now.into()) {
        Ok(n) => n as i64,
        Err(e) => neg(e).into(),
    }
}
