//! Extended attributes and the vector ioctls through the C ABI, as
//! kernel/xattr.c and kernel/ioctl.c drive them: size probes and errno
//! mapping, then an index, a bulk load and a search on a directory, with
//! the caller's identity deciding who may do what.

use std::ptr;
use vexfs_kabi::*;
use vexfs_uapi as u;
use vexfs_uapi::Request;

mod common;
use common::{fresh_disk, ioctl, mount, now, root_caller};

const ENOTDIR: i64 = 20;
const EINVAL: i64 = 22;
const ERANGE: i64 = 34;
const EPERM: i64 = 1;
const ENODATA: i64 = 61;
const EEXIST: i64 = 17;
const ENOTTY: i64 = 25;
const E2BIG: i64 = 7;

#[test]
fn xattrs_probe_sizes_and_map_errors() {
    let mut disk = fresh_disk();
    let fs = mount(&mut disk).expect("mount");
    // SAFETY: (the whole block) `fs` is a live handle used from this thread
    // only; every pointer passed describes a live local buffer.
    unsafe {
        let root = vexfs_root_ino(fs);
        let mut st = VexfsStat::default();
        let f = b"f";
        assert_eq!(
            vexfs_create(fs, root, f.as_ptr(), 1, 0o100644, 0, 0, 0, now(), &mut st),
            0
        );
        let ino = st.ino;
        let set = |name: &[u8], v: &[u8], flags: u32, st: &mut VexfsStat| {
            i64::from(vexfs_setxattr(
                fs,
                ino,
                name.as_ptr(),
                name.len(),
                v.as_ptr(),
                v.len(),
                flags,
                now(),
                st,
            ))
        };
        let later = VexfsTime {
            sec: now().sec + 5,
            ..now()
        };
        assert_eq!(set(b"user.colour", b"blue", 0, &mut st), 0);
        assert_eq!(st.ino, ino, "the inode's attributes come back");
        assert_eq!(set(b"trusted.t", b"x", 0, &mut st), 0);
        assert_eq!(
            set(b"user.colour", b"red", VEXFS_XATTR_CREATE, &mut st),
            -EEXIST
        );
        assert_eq!(
            set(b"user.none", b"1", VEXFS_XATTR_REPLACE, &mut st),
            -ENODATA
        );
        // The core stores POSIX ACLs (kernel/acl.c passes them through in
        // the VFS's xattr form); a malformed one is refused.
        assert_eq!(set(b"system.posix_acl_access", b"1", 0, &mut st), -EINVAL);
        assert_eq!(set(b"user.big", &vec![7u8; 65537], 0, &mut st), -E2BIG);
        assert_eq!(set(b"user.colour", b"x", 4, &mut st), -EINVAL);

        let name = b"user.colour";
        let get = |buf: &mut [u8]| {
            vexfs_getxattr(
                fs,
                ino,
                name.as_ptr(),
                name.len(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        assert_eq!(get(&mut []), 4, "size probe");
        assert_eq!(get(&mut [0u8; 3]), -ERANGE);
        let mut v = [0u8; 16];
        assert_eq!(get(&mut v), 4);
        assert_eq!(&v[..4], b"blue");

        assert_eq!(vexfs_listxattr(fs, ino, ptr::null_mut(), 0), 22);
        let mut list = [0u8; 64];
        let n = vexfs_listxattr(fs, ino, list.as_mut_ptr(), list.len());
        assert_eq!(&list[..n as usize], b"user.colour\0trusted.t\0");
        assert_eq!(vexfs_listxattr(fs, ino, list.as_mut_ptr(), 5), -ERANGE);

        let rm = |name: &[u8], st: &mut VexfsStat| {
            i64::from(vexfs_removexattr(
                fs,
                ino,
                name.as_ptr(),
                name.len(),
                later,
                st,
            ))
        };
        assert_eq!(rm(b"user.colour", &mut st), 0);
        assert_eq!(st.ctime.sec, later.sec, "ctime moves with the change");
        assert_eq!(rm(b"user.colour", &mut st), -ENODATA);
        assert_eq!(get(&mut v), -ENODATA);

        // An embedding that is not a whole number of finite floats.
        let e = u::EMBEDDING_XATTR.as_bytes();
        assert_eq!(set(e, &[1, 2, 3], 0, &mut st), -EINVAL);
        assert_eq!(set(e, bytemuck::cast_slice(&[1.0f32, 2.0]), 0, &mut st), 0);
        assert_eq!(vexfs_unmount(fs, now()), 0);
    }
}

#[test]
fn index_bulk_load_and_search_through_the_abi() {
    let mut disk = fresh_disk();
    let fs = mount(&mut disk).expect("mount");
    let s = vexfs_session_new();
    assert!(!s.is_null());
    let root_who = root_caller();
    // SAFETY: (the whole block) `fs` and `s` are live and used from this
    // thread only; every pointer passed describes a live local buffer.
    unsafe {
        let root = vexfs_root_ino(fs);
        let mut st = VexfsStat::default();
        assert_eq!(
            vexfs_mkdir(
                fs,
                root,
                b"d".as_ptr(),
                1,
                0o755,
                1000,
                1000,
                now(),
                &mut st
            ),
            0
        );
        let dir = st.ino;

        // A stranger may not make the directory an index root; its owner
        // (by uid, with a supplementary group list) and root may.
        let groups = [5u32, 6];
        let stranger = VexfsCaller {
            uid: 2000,
            gid: 2000,
            flags: 0,
            ngroups: 2,
            groups: groups.as_ptr(),
        };
        let owner = VexfsCaller {
            uid: 1000,
            gid: 1000,
            ..stranger
        };
        let mut c = u::IndexConfig::new_request();
        (c.strategy, c.metric, c.dim) = (u::STRATEGY_FLAT, u::METRIC_L2, 2);
        assert_eq!(
            ioctl(fs, dir, u::IOC_INDEX_CREATE, Some(&mut c), s, &stranger),
            -EPERM
        );
        assert_eq!(
            ioctl(fs, dir, u::IOC_INDEX_CREATE, Some(&mut c), s, &owner),
            0
        );
        let bad_flags = VexfsCaller { flags: 8, ..owner };
        assert_eq!(
            ioctl::<u::IndexStats>(fs, dir, u::IOC_INDEX_SAVE, None, s, &bad_flags),
            -EINVAL
        );

        // Bulk-create three files with embeddings.
        let mut b = Box::new(u::Bulk::new_request());
        (b.flags, b.dim, b.count) = (u::BULK_CREATE, 2, 3);
        let names = b"a\0b\0c\0";
        b.names_len = names.len() as u32;
        b.data[..names.len()].copy_from_slice(names);
        let vals: [f32; 6] = [0.0, 0.0, 1.0, 0.0, 5.0, 5.0];
        let off = names.len().next_multiple_of(4);
        b.data[off..off + 24].copy_from_slice(bytemuck::cast_slice(&vals));
        assert_eq!(
            ioctl(fs, dir, u::IOC_BULK_SET, Some(&mut *b), s, &root_who) as usize,
            size_of::<u::Bulk>()
        );
        assert_eq!((b.done, b.error), (3, 0));
        assert_eq!(vexfs_lookup(fs, dir, b"b".as_ptr(), 1, &mut st), 0);

        let mut q = Box::new(u::Search::new_request());
        (q.k, q.dim) = (2, 2);
        q.vector[..2].copy_from_slice(&[0.9, 0.1]);
        assert_eq!(
            ioctl(fs, dir, u::IOC_SEARCH, Some(&mut *q), s, &owner) as usize,
            size_of::<u::Search>()
        );
        assert_eq!(q.count, 2);
        let path = |h: &u::Hit| {
            let o = h.path_off as usize;
            String::from_utf8_lossy(&q.names[o..o + usize::from(h.path_len)]).into_owned()
        };
        let got: Vec<String> = q.hits[..2].iter().map(path).collect();
        assert_eq!(got.len(), 2);
        assert!(got[0].ends_with('b') && got[1].ends_with('a'), "{got:?}");

        let mut stats = u::IndexStats::new_request();
        assert!(ioctl(fs, dir, u::IOC_INDEX_STATS, Some(&mut stats), s, &owner) > 0);
        assert_eq!((stats.vectors, stats.strategy), (3, u::STRATEGY_FLAT));

        // Not ours, not a directory, not well formed.
        assert_eq!(
            ioctl::<u::IndexStats>(fs, dir, 0x5401, None, s, &owner),
            -ENOTTY
        );
        assert_eq!(vexfs_lookup(fs, dir, b"a".as_ptr(), 1, &mut st), 0);
        assert_eq!(
            ioctl(fs, st.ino, u::IOC_INDEX_STATS, Some(&mut stats), s, &owner),
            -ENOTDIR
        );
        q.size = 4;
        assert_eq!(
            ioctl(fs, dir, u::IOC_SEARCH, Some(&mut *q), s, &owner),
            -EINVAL
        );
        assert_eq!(vexfs_unmount(fs, now()), 0);
        vexfs_session_free(s);
    }
}
