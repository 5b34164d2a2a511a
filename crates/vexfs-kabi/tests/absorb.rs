//! The insertion worker's calls through the C ABI, as kernel/index.c
//! makes them: with background inserts on, stored embeddings wait pending
//! (and `vexfs_vectors_changes` moves) until `vexfs_vectors_absorb` takes
//! them in step by step; searches find the same files before and after;
//! with them off, a search takes them in itself. Bad arguments are
//! `-EINVAL`.

use std::ptr;
use vexfs_kabi::*;
use vexfs_uapi as u;
use vexfs_uapi::Request;

mod common;
use common::{fresh_disk, ioctl, mount, now, root_caller};

const EINVAL: i32 = 22;
const DIM: usize = 4;
const FILES: u64 = 60;

/// A seeded vector per file number.
fn vector(i: u64) -> [f32; DIM] {
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    core::array::from_fn(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 40) as f32 / (1u64 << 24) as f32
    })
}

/// Backlog and change counter, read as the worker reads them.
///
/// # Safety
/// `fs` must be a live handle.
unsafe fn counters(fs: *mut VexfsFs) -> (u64, u64) {
    let (mut backlog, mut changes) = (u64::MAX, u64::MAX);
    // SAFETY: forwarded from the caller; both outputs are live locals.
    unsafe {
        assert_eq!(vexfs_vectors_backlog(fs, &mut backlog), 0);
        assert_eq!(vexfs_vectors_changes(fs, &mut changes), 0);
    }
    (backlog, changes)
}

/// An HNSW index on a fresh directory holding `FILES` files with
/// embeddings; returns the directory's inode number.
///
/// # Safety
/// `fs` must be a live handle and `s` a live session.
unsafe fn populate(fs: *mut VexfsFs, s: *mut VexfsSession) -> u64 {
    let mut st = VexfsStat::default();
    // SAFETY: forwarded from the caller; every pointer is a live local.
    unsafe {
        let root = vexfs_root_ino(fs);
        assert_eq!(
            vexfs_mkdir(fs, root, b"d".as_ptr(), 1, 0o755, 0, 0, now(), &mut st),
            0
        );
        let dir = st.ino;
        let mut c = u::IndexConfig::new_request();
        (c.strategy, c.metric, c.dim) = (u::STRATEGY_HNSW, u::METRIC_L2, DIM as u32);
        assert_eq!(
            ioctl(
                fs,
                dir,
                u::IOC_INDEX_CREATE,
                Some(&mut c),
                s,
                &root_caller()
            ),
            0
        );
        let e = u::EMBEDDING_XATTR.as_bytes();
        for i in 0..FILES {
            let name = format!("f{i}");
            assert_eq!(
                vexfs_create(
                    fs,
                    dir,
                    name.as_ptr(),
                    name.len(),
                    0o100644,
                    0,
                    0,
                    0,
                    now(),
                    &mut st
                ),
                0
            );
            let v = vector(i);
            let bytes: &[u8] = bytemuck::cast_slice(&v);
            assert_eq!(
                vexfs_setxattr(
                    fs,
                    st.ino,
                    e.as_ptr(),
                    e.len(),
                    bytes.as_ptr(),
                    bytes.len(),
                    0,
                    now(),
                    &mut st
                ),
                0
            );
        }
        dir
    }
}

/// The file names of the 5 nearest to the vector of file 7, and the
/// index's pending count afterwards.
///
/// # Safety
/// `fs` must be a live handle and `s` a live session.
unsafe fn search(fs: *mut VexfsFs, dir: u64, s: *mut VexfsSession) -> (Vec<String>, u64) {
    let mut q = Box::new(u::Search::new_request());
    (q.k, q.dim) = (5, DIM as u32);
    q.vector[..DIM].copy_from_slice(&vector(7));
    // SAFETY: forwarded from the caller.
    let rc = unsafe { ioctl(fs, dir, u::IOC_SEARCH, Some(&mut *q), s, &root_caller()) };
    assert!(rc > 0, "search: {rc}");
    let names = q.hits[..q.count as usize]
        .iter()
        .map(|h| {
            let o = h.path_off as usize;
            String::from_utf8_lossy(&q.names[o..o + usize::from(h.path_len)]).into_owned()
        })
        .collect();
    let mut stats = u::IndexStats::new_request();
    // SAFETY: forwarded from the caller.
    let rc = unsafe {
        ioctl(
            fs,
            dir,
            u::IOC_INDEX_STATS,
            Some(&mut stats),
            s,
            &root_caller(),
        )
    };
    assert!(rc > 0);
    (names, stats.pending)
}

#[test]
fn the_worker_takes_pending_vectors_in_by_steps() {
    let mut disk = fresh_disk();
    let fs = mount(&mut disk).expect("mount");
    let s = vexfs_session_new();
    // SAFETY: (the whole block) `fs` and `s` are live and used from this
    // thread only; every pointer passed is a live local.
    unsafe {
        assert_eq!(vexfs_background_inserts(fs, 1), 0);
        let (_, before) = counters(fs);
        let dir = populate(fs, s);
        let (backlog, changes) = counters(fs);
        assert_eq!(backlog, FILES, "every embedding waits for the worker");
        assert_ne!(changes, before, "the writes moved the change counter");

        // Searchable at once, through the exact scan of the pending rows.
        let (exact, pending) = search(fs, dir, s);
        assert_eq!(
            (exact.len(), pending),
            (5, FILES),
            "a search leaves them pending"
        );
        assert!(exact[0].ends_with("f7"), "{exact:?}");
        assert_eq!(counters(fs), (FILES, changes), "a search is no change");

        let mut a = VexfsAbsorbed::default();
        assert_eq!(vexfs_vectors_absorb(fs, 25, &mut a), 0);
        assert_eq!(
            a,
            VexfsAbsorbed {
                rows: 25,
                left: FILES - 25
            }
        );
        let mut steps = 1;
        while a.left > 0 {
            assert_eq!(vexfs_vectors_absorb(fs, 25, &mut a), 0);
            assert!(a.rows > 0 && a.rows <= 25);
            steps += 1;
        }
        assert_eq!(steps, 3);
        assert_eq!(counters(fs), (0, changes), "absorbing is no index change");
        assert_eq!(vexfs_vectors_absorb(fs, 25, &mut a), 0);
        assert_eq!(a, VexfsAbsorbed::default(), "nothing left to take in");

        let (graph, pending) = search(fs, dir, s);
        assert_eq!(pending, 0);
        assert_eq!(graph, exact, "the strategy finds what the exact scan found");
        assert_eq!(vexfs_unmount(fs, now()), 0);
        vexfs_session_free(s);
    }
}

#[test]
fn without_background_inserts_a_search_takes_them_in() {
    let mut disk = fresh_disk();
    let fs = mount(&mut disk).expect("mount");
    let s = vexfs_session_new();
    // SAFETY: as above.
    unsafe {
        assert_eq!(vexfs_background_inserts(fs, 1), 0);
        assert_eq!(vexfs_background_inserts(fs, 0), 0, "switched back off");
        let dir = populate(fs, s);
        assert_eq!(counters(fs).0, FILES, "below the write path's batch size");
        let (hits, pending) = search(fs, dir, s);
        assert_eq!(pending, 0, "the search inserted them");
        assert!(hits[0].ends_with("f7"), "{hits:?}");
        assert_eq!(counters(fs).0, 0);
        assert_eq!(vexfs_unmount(fs, now()), 0);
        vexfs_session_free(s);
    }
}

#[test]
fn bad_arguments_are_einval() {
    let mut disk = fresh_disk();
    let fs = mount(&mut disk).expect("mount");
    let mut n = 0u64;
    let mut a = VexfsAbsorbed::default();
    // SAFETY: null handles and outputs are what is being tested; `fs` is
    // live otherwise.
    unsafe {
        assert_eq!(vexfs_background_inserts(fs, 2), -EINVAL);
        assert_eq!(vexfs_background_inserts(ptr::null_mut(), 1), -EINVAL);
        assert_eq!(vexfs_vectors_changes(ptr::null_mut(), &mut n), -EINVAL);
        assert_eq!(vexfs_vectors_changes(fs, ptr::null_mut()), -EINVAL);
        assert_eq!(vexfs_vectors_backlog(ptr::null_mut(), &mut n), -EINVAL);
        assert_eq!(vexfs_vectors_backlog(fs, ptr::null_mut()), -EINVAL);
        assert_eq!(vexfs_vectors_absorb(ptr::null_mut(), 1, &mut a), -EINVAL);
        assert_eq!(vexfs_vectors_absorb(fs, 1, ptr::null_mut()), -EINVAL);
        // An empty filesystem: nothing waits, and zero rows asks for one.
        assert_eq!(vexfs_vectors_absorb(fs, 0, &mut a), 0);
        assert_eq!(a, VexfsAbsorbed::default());
        assert_eq!(vexfs_unmount(fs, now()), 0);
    }
}
