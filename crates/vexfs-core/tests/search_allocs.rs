//! Heap allocations of `VEXFS_IOC_SEARCH`: how many, and what happens when
//! one fails.
//!
//! In the kernel module every allocation is a kmalloc (with `slub_debug`,
//! a stack walk each) that may fail, and a failure the code does not
//! expect is a `BUG()`. So the search path keeps its allocations few (a
//! budget, counted per strategy) and makes every one fallible: the
//! injection test fails each allocation of a search in turn and requires
//! ENOMEM, then the same answer as before on the next try.
//!
//! The hook (`alloc_hook`) keeps its state per thread, so the tests of
//! this binary may run in parallel.

mod alloc_hook;
mod common;

use common::{fresh, l2_spec, vecf, T0};
use vexfs_core::{Caller, Fs, FsError, IndexKind, MemDevice, QuerySession, XattrFlags};
use vexfs_uapi::{self as u, Request as _};

const DIM: usize = 32;
const N: u64 = 2000;

const STRATEGIES: [(&str, IndexKind, &str); 5] = [
    ("hnsw", IndexKind::Hnsw, ""),
    ("flat", IndexKind::Flat, ""),
    ("ivf", IndexKind::IvfFlat, "nlist=32,nprobe=8"),
    ("ivfpq", IndexKind::IvfPq, "nlist=32,nprobe=8,m=8"),
    ("lsh", IndexKind::Lsh, ""),
];

/// Directory `name` under the root, with `n` files `v0`, `v1`, ... that
/// carry embeddings, and an index of `kind` unless `None`.
fn filled(fs: &mut Fs<MemDevice>, name: &str, kind: Option<(IndexKind, &str)>, n: u64) -> u64 {
    let d = fs.mkdir(1, name.as_bytes(), 0o755, 0, 0, T0).unwrap().ino;
    if let Some((kind, params)) = kind {
        fs.index_create(d, l2_spec(kind, DIM, params), false)
            .unwrap();
    }
    for i in 0..n {
        let f = fs
            .create(d, format!("v{i}").as_bytes(), 0o644, 0, 0, T0)
            .unwrap()
            .ino;
        let v: Vec<u8> = vecf(i, DIM).iter().flat_map(|x| x.to_le_bytes()).collect();
        fs.setxattr(
            f,
            u::EMBEDDING_XATTR.as_bytes(),
            &v,
            XattrFlags::default(),
            T0,
        )
        .unwrap();
    }
    d
}

/// A search request for ten results with paths.
fn request(q: u64, glob: &[u8]) -> Box<u::Search> {
    let mut req = Box::new(u::Search::new_request());
    (req.k, req.dim) = (10, DIM as u32);
    req.vector[..DIM].copy_from_slice(&vecf(1_000_000 + q, DIM));
    req.name_glob[..glob.len()].copy_from_slice(glob);
    req
}

fn search(
    fs: &mut Fs<MemDevice>,
    dir: u64,
    req: &u::Search,
    s: &mut QuerySession,
    who: &Caller,
) -> Result<Vec<u8>, FsError> {
    let mut out = vec![0u8; std::mem::size_of::<u::Search>()];
    let n = fs.vector_ioctl(dir, u::IOC_SEARCH, u::as_bytes(req), &mut out, s, who, T0)?;
    out.truncate(n);
    Ok(out)
}

#[test]
fn searches_allocate_little() {
    let mut fs = fresh(256 << 20, 4096);
    let root = Caller::root();
    let mut report = Vec::new();
    for (name, kind, params) in STRATEGIES {
        let d = filled(&mut fs, name, Some((kind, params)), N);
        let mut s = QuerySession::default();
        // The first search builds (pending rows go in); then count.
        search(&mut fs, d, &request(0, b""), &mut s, &root).unwrap();
        const Q: u64 = 50;
        let reqs: Vec<_> = (1..=Q).map(|q| request(q, b"")).collect();
        let mut out = vec![0u8; std::mem::size_of::<u::Search>()];
        alloc_hook::count();
        for req in &reqs {
            fs.vector_ioctl(
                d,
                u::IOC_SEARCH,
                u::as_bytes(&**req),
                &mut out,
                &mut s,
                &root,
                T0,
            )
            .unwrap();
        }
        let n = alloc_hook::counted();
        report.push((name, n as f64 / Q as f64));
    }
    eprintln!("allocations per search: {report:?}");
    // Measured: 4 (HNSW, Flat, LSH), 5 (IVF), 9 (IVF-PQ: its per-list
    // distance buffer grows with the lists it meets). Before paths were
    // built in one reused buffer and tree lookups read entries in place:
    // 32-38; before that 52-58, and LSH 89.
    for (name, n) in report {
        assert!(n <= 12.0, "{name}: {n} allocations per search (budget 12)");
    }
}

/// Fail each allocation of one search in turn: every failure is ENOMEM,
/// and the next search gives the answer a search without failures gave.
/// Returns how many allocations the search made.
fn sweep(fs: &mut Fs<MemDevice>, dir: u64, req: &u::Search, who: &Caller, what: &str) -> u64 {
    let mut s = QuerySession::default();
    let want = search(fs, dir, req, &mut s, who).expect("search without failures");
    // The reply buffer is the caller's (the kernel's copy-out buffer):
    // allocated before the hook is armed.
    let mut out = vec![0u8; std::mem::size_of::<u::Search>()];
    for fail_at in 1.. {
        alloc_hook::fail_at(fail_at);
        let got = fs
            .vector_ioctl(
                dir,
                u::IOC_SEARCH,
                u::as_bytes(req),
                &mut out,
                &mut s,
                who,
                T0,
            )
            .map(|n| &out[..n]);
        let failed = alloc_hook::failed();
        if !failed {
            assert_eq!(got, Ok(&want[..]), "{what}: search after the sweep");
            return fail_at - 1;
        }
        match got {
            Err(FsError::NoMemory) => {}
            other => panic!(
                "{what}: allocation {fail_at} failed, the search gave {:?} instead of ENOMEM",
                other.map(|r| r.len())
            ),
        }
        let again = search(fs, dir, req, &mut s, who).expect("search after a failure");
        assert_eq!(
            again, want,
            "{what}: answer after allocation {fail_at} failed"
        );
        assert!(fail_at < 10_000, "{what}: the search does not finish");
    }
    unreachable!()
}

#[test]
fn a_failed_allocation_is_enomem_and_changes_nothing() {
    let mut fs = fresh(256 << 20, 4096);
    let root = Caller::root();
    let user = Caller {
        uid: 1000,
        gid: 1000,
        groups: vec![],
    };
    let mut report = Vec::new();
    for (name, kind, params) in STRATEGIES {
        let d = filled(&mut fs, name, Some((kind, params)), 600);
        // Builds the index; the sweep then covers a search of a built one.
        search(
            &mut fs,
            d,
            &request(0, b""),
            &mut QuerySession::default(),
            &root,
        )
        .unwrap();
        report.push((name, sweep(&mut fs, d, &request(1, b""), &root, name)));
        // A caller without privileges and a name filter: checks inside
        // the walk.
        let what = format!("{name}, filtered");
        let n = sweep(&mut fs, d, &request(2, b"v1*"), &user, &what);
        report.push((name, n));
    }
    // No index: an exact scan of the files' embeddings (directory walk,
    // xattr reads), as root and filtered.
    let d = filled(&mut fs, "plain", None, 300);
    report.push(("exact", sweep(&mut fs, d, &request(3, b""), &root, "exact")));
    let n = sweep(&mut fs, d, &request(4, b"v2*"), &user, "exact, filtered");
    report.push(("exact", n));
    eprintln!("allocations swept: {report:?}");
}
