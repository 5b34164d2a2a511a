//! The C ABI driven from Rust over an in-memory device, the way the
//! kernel glue drives it: mount, create, write, read, readdir, rename,
//! unlink, unmount, remount, and a refused mount of a foreign image.

use core::ffi::c_void;
use std::ptr;
use vexfs_kabi::*;

mod common;
use common::{fresh_disk, mount, now, Disk};

const ENOENT: i32 = 2;
const EINVAL: i32 = 22;
const EUCLEAN: i32 = 117;

unsafe extern "C" fn collect(
    ctx: *mut c_void,
    name: *const u8,
    len: usize,
    _ino: u64,
    _dtype: u32,
    _pos: u64,
) -> i32 {
    // SAFETY: the tests pass a live Vec as ctx; the name is `len` bytes.
    let (names, name) = unsafe {
        (
            &mut *(ctx as *mut Vec<String>),
            std::slice::from_raw_parts(name, len),
        )
    };
    names.push(String::from_utf8_lossy(name).into_owned());
    0
}

fn list(fs: *mut VexfsFs, dir: u64) -> Vec<String> {
    let mut names = Vec::new();
    // SAFETY: a live handle used from this thread only; `names` outlives
    // the call.
    let rc = unsafe {
        vexfs_readdir(
            fs,
            dir,
            0,
            Some(collect),
            &mut names as *mut _ as *mut c_void,
        )
    };
    assert_eq!(rc, 0);
    names.sort();
    names
}

#[test]
fn files_survive_a_remount_through_the_abi() {
    let mut disk = fresh_disk();
    let fs = mount(&mut disk).expect("mount");
    // SAFETY: (the whole block) `fs` is a live handle used from this thread
    // only; every pointer passed describes a live local buffer.
    unsafe {
        let root = vexfs_root_ino(fs);
        let mut st = VexfsStat::default();
        assert_eq!(
            vexfs_mkdir(fs, root, b"d".as_ptr(), 1, 0o755, 0, 0, now(), &mut st),
            0
        );
        let dir = st.ino;
        assert_eq!(st.mode & 0o170000, 0o040000);
        assert_eq!(
            vexfs_create(
                fs,
                dir,
                b"f".as_ptr(),
                1,
                0o100644,
                0,
                1000,
                1000,
                now(),
                &mut st
            ),
            0
        );
        let file = st.ino;
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let n = vexfs_write(fs, file, 0, data.as_ptr(), data.len(), now(), &mut st);
        assert_eq!(n, data.len() as i64);
        assert_eq!(st.size, data.len() as u64);
        assert_eq!(
            vexfs_symlink(
                fs,
                dir,
                b"l".as_ptr(),
                1,
                b"f".as_ptr(),
                1,
                0,
                0,
                now(),
                &mut st
            ),
            0
        );
        assert_eq!(list(fs, dir), [".", "..", "f", "l"]);
        assert_eq!(vexfs_lookup(fs, dir, b"nope".as_ptr(), 4, &mut st), -ENOENT);
        let mut sfs = VexfsStatfs::default();
        assert_eq!(vexfs_statfs(fs, &mut sfs), 0);
        assert_eq!(sfs.block_size, 4096);
        assert_eq!(vexfs_unmount(fs, now()), 0);

        let fs = mount(&mut disk).expect("remount");
        assert_eq!(vexfs_lookup(fs, root, b"d".as_ptr(), 1, &mut st), 0);
        assert_eq!(vexfs_lookup(fs, st.ino, b"f".as_ptr(), 1, &mut st), 0);
        assert_eq!((st.uid, st.gid, st.size), (1000, 1000, data.len() as u64));
        let mut back = vec![0u8; data.len() + 100];
        let n = vexfs_read(fs, file, 0, back.as_mut_ptr(), back.len());
        assert_eq!(n, data.len() as i64);
        assert_eq!(&back[..data.len()], &data[..]);
        let mut target = [0u8; 16];
        assert_eq!(vexfs_lookup(fs, dir, b"l".as_ptr(), 1, &mut st), 0);
        assert_eq!(
            vexfs_readlink(fs, st.ino, target.as_mut_ptr(), target.len()),
            1
        );
        assert_eq!(
            vexfs_rename(fs, dir, b"f".as_ptr(), 1, root, b"g".as_ptr(), 1, 0, now()),
            0
        );
        let sa = VexfsSetattr {
            valid: VEXFS_SET_SIZE | VEXFS_SET_MODE,
            size: 10,
            mode: 0o600,
            ..Default::default()
        };
        assert_eq!(vexfs_setattr(fs, file, &sa, now(), &mut st), 0);
        assert_eq!((st.size, st.mode), (10, 0o100600));
        assert_eq!(vexfs_unlink(fs, root, b"g".as_ptr(), 1, now()), 0);
        assert_eq!(vexfs_unlink(fs, dir, b"l".as_ptr(), 1, now()), 0);
        assert_eq!(vexfs_rmdir(fs, root, b"d".as_ptr(), 1, now()), 0);
        assert_eq!(vexfs_unmount(fs, now()), 0);
    }
}

#[test]
fn foreign_and_corrupt_images_are_refused_with_a_reason() {
    let mut zeros = Box::new(Disk {
        data: vec![0; 8 << 20],
    });
    let (rc, msg) = mount(&mut zeros).expect_err("zeroed disk must not mount");
    assert_eq!(rc, -EINVAL, "{msg}");
    assert!(!msg.is_empty());

    let mut disk = fresh_disk();
    // Flip bits in the middle of the superblock: its checksum no longer
    // matches.
    disk.data[200] ^= 0xff;
    let (rc, msg) = mount(&mut disk).expect_err("damaged superblock must not mount");
    assert_eq!(rc, -EUCLEAN, "{msg}");
    assert!(!msg.is_empty());

    // A filesystem bigger than its device: a truncated copy is refused
    // as not (all) ours.
    let mut short = fresh_disk();
    short.data.truncate(4 << 20);
    let (rc, msg) = mount(&mut short).expect_err("truncated image must not mount");
    assert_eq!(rc, -EINVAL, "{msg}");
}

#[test]
fn null_pointers_are_einval_not_crashes() {
    // SAFETY: each call passes null where the ABI allows it to be checked.
    unsafe {
        assert_eq!(vexfs_getattr(ptr::null_mut(), 1, ptr::null_mut()), -EINVAL);
        assert_eq!(vexfs_unmount(ptr::null_mut(), now()), -EINVAL);
        let mut out = ptr::null_mut();
        assert_eq!(
            vexfs_mount(
                ptr::null(),
                ptr::null_mut(),
                0,
                0,
                now(),
                &mut out,
                ptr::null_mut(),
                0
            ),
            -EINVAL
        );
    }
}

#[test]
fn fallocate_modes_map_to_the_core() {
    let mut disk = fresh_disk();
    let fs = mount(&mut disk).expect("mount");
    // SAFETY: `fs` is a live handle used from this thread only; every
    // pointer passed describes a live local buffer.
    unsafe {
        let root = vexfs_root_ino(fs);
        let mut st = VexfsStat::default();
        assert_eq!(
            vexfs_create(
                fs,
                root,
                b"f".as_ptr(),
                1,
                0o100644,
                0,
                0,
                0,
                now(),
                &mut st
            ),
            0
        );
        let ino = st.ino;
        let data = vec![0xabu8; 3 * 4096];
        assert_eq!(
            vexfs_write(fs, ino, 0, data.as_ptr(), data.len(), now(), &mut st),
            data.len() as i64
        );
        let punch = VEXFS_FALLOC_PUNCH_HOLE | VEXFS_FALLOC_KEEP_SIZE;
        assert_eq!(
            vexfs_fallocate(fs, ino, 4096, 4096, punch, now(), &mut st),
            0
        );
        assert_eq!(st.size, data.len() as u64);
        let mut back = vec![0u8; data.len()];
        assert_eq!(
            vexfs_read(fs, ino, 0, back.as_mut_ptr(), back.len()),
            data.len() as i64
        );
        assert!(back[4096..8192].iter().all(|&b| b == 0));
        assert!(back[..4096].iter().chain(&back[8192..]).all(|&b| b == 0xab));
        // Growing allocation extends the size unless KEEP_SIZE.
        assert_eq!(vexfs_fallocate(fs, ino, 0, 65536, 0, now(), &mut st), 0);
        assert_eq!(st.size, 65536);
        // Linux requires KEEP_SIZE with a hole punch.
        assert_eq!(
            vexfs_fallocate(fs, ino, 0, 4096, VEXFS_FALLOC_PUNCH_HOLE, now(), &mut st),
            -95
        );
        assert_eq!(vexfs_unmount(fs, now()), 0);
    }
}

#[test]
fn long_symlink_targets_read_back() {
    let mut disk = fresh_disk();
    let fs = mount(&mut disk).expect("mount");
    // SAFETY: `fs` is a live handle used from this thread only; every
    // pointer passed describes a live local buffer.
    unsafe {
        let root = vexfs_root_ino(fs);
        for len in [1usize, 111, 112, 113, 200, 1000, 4095] {
            let target: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let name = format!("l{len}");
            let mut st = VexfsStat::default();
            let rc = vexfs_symlink(
                fs,
                root,
                name.as_ptr(),
                name.len(),
                target.as_ptr(),
                target.len(),
                0,
                0,
                now(),
                &mut st,
            );
            assert_eq!(rc, 0, "symlink of {len} bytes");
            assert_eq!(st.size, len as u64);
            let mut buf = vec![0u8; 4096];
            let n = vexfs_readlink(fs, st.ino, buf.as_mut_ptr(), buf.len() - 1);
            assert_eq!(n, len as i64, "readlink of {len} bytes");
            assert_eq!(&buf[..len], &target[..], "target of {len} bytes");
        }
        assert_eq!(vexfs_unmount(fs, now()), 0);
    }
}
