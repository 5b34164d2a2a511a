//! What the ABI tests share: an in-memory device behind the C callbacks,
//! a fresh image, a mount through `vexfs_mount`.
#![allow(dead_code)]

use core::ffi::c_void;
use std::ptr;
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{MemDevice, Timestamp};
use vexfs_kabi::*;
use vexfs_uapi as u;
use vexfs_uapi::Request;

/// The device behind the callbacks: a byte vector.
pub struct Disk {
    pub data: Vec<u8>,
}

unsafe extern "C" fn dev_read(ctx: *mut c_void, off: u64, buf: *mut u8, len: usize) -> i32 {
    // SAFETY: the tests pass a live `Disk` as ctx; the core passes a
    // buffer of `len` bytes.
    let (disk, out) = unsafe {
        (
            &*(ctx as *const Disk),
            std::slice::from_raw_parts_mut(buf, len),
        )
    };
    match disk.data.get(off as usize..off as usize + len) {
        Some(src) => {
            out.copy_from_slice(src);
            0
        }
        None => -5,
    }
}

unsafe extern "C" fn dev_write(ctx: *mut c_void, off: u64, buf: *const u8, len: usize) -> i32 {
    // SAFETY: as in `dev_read`; nothing else touches the disk meanwhile.
    let (disk, src) = unsafe {
        (
            &mut *(ctx as *mut Disk),
            std::slice::from_raw_parts(buf, len),
        )
    };
    match disk.data.get_mut(off as usize..off as usize + len) {
        Some(dst) => {
            dst.copy_from_slice(src);
            0
        }
        None => -5,
    }
}

unsafe extern "C" fn dev_flush(_ctx: *mut c_void) -> i32 {
    0
}

pub const OPS: VexfsDevOps = VexfsDevOps {
    read: Some(dev_read),
    write: Some(dev_write),
    flush: Some(dev_flush),
};

pub fn now() -> VexfsTime {
    VexfsTime {
        sec: 1_700_000_000,
        nsec: 0,
        pad: 0,
    }
}

pub fn fresh_disk() -> Box<Disk> {
    let dev = format(
        MemDevice::new(8 << 20),
        &MkfsOptions::default(),
        Timestamp { sec: 1, nsec: 0 },
        &mut |_, _| {},
    )
    .expect("mkfs");
    Box::new(Disk { data: dev.data })
}

pub fn mount(disk: &mut Disk) -> Result<*mut VexfsFs, (i32, String)> {
    let mut fs = ptr::null_mut();
    let mut msg = [0u8; 128];
    // SAFETY: OPS accepts a live `Disk`, which outlives the mount in every
    // test; `fs` and `msg` are writable.
    let rc = unsafe {
        vexfs_mount(
            &OPS,
            disk as *mut Disk as *mut c_void,
            disk.data.len() as u64,
            0,
            now(),
            &mut fs,
            msg.as_mut_ptr(),
            msg.len(),
        )
    };
    if rc == 0 {
        Ok(fs)
    } else {
        let end = msg.iter().position(|&b| b == 0).unwrap_or(msg.len());
        Err((rc, String::from_utf8_lossy(&msg[..end]).into_owned()))
    }
}

/// The caller every test acts as unless it says otherwise.
pub fn root_caller() -> VexfsCaller {
    VexfsCaller {
        uid: 0,
        gid: 0,
        flags: VEXFS_CALLER_PRIVILEGED,
        ngroups: 0,
        groups: ptr::null(),
    }
}

/// One ioctl with `arg` in and out (the way kernel/ioctl.c copies it).
///
/// # Safety
/// `fs` must be a live handle and `s` a live session.
pub unsafe fn ioctl<T: Request>(
    fs: *mut VexfsFs,
    dir: u64,
    cmd: u32,
    arg: Option<&mut T>,
    s: *mut VexfsSession,
    who: &VexfsCaller,
) -> i64 {
    let (in_len, out_len) = u::ioc_sizes(cmd);
    let input: Vec<u8> = arg
        .as_ref()
        .map(|a| bytemuck::bytes_of(&**a).to_vec())
        .unwrap_or_default();
    assert!(input.len() >= in_len);
    let mut out = vec![0u8; out_len];
    // SAFETY: the buffers are live locals of the lengths passed.
    let rc = unsafe {
        vexfs_vector_ioctl(
            fs,
            dir,
            cmd,
            input.as_ptr(),
            in_len,
            out.as_mut_ptr(),
            out.len(),
            s,
            who,
            now(),
        )
    };
    if rc > 0 {
        assert_eq!(rc as usize, out_len, "the reply is the whole struct");
        if let Some(a) = arg {
            bytemuck::bytes_of_mut(a).copy_from_slice(&out);
        }
    }
    rc
}
