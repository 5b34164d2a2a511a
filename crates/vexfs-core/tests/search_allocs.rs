//! Heap allocations per `VEXFS_IOC_SEARCH`, per strategy. In the kernel
//! module every allocation is a kmalloc (with `slub_debug`, a stack walk
//! each), so the search path keeps them few; this test holds it to a
//! budget (ten results with their paths, as vexfs-vecbench asks).

mod common;

use common::{fresh, T0};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use vexfs_core::{Caller, IndexKind, IndexSpec, Metric, QuerySession, XattrFlags};
use vexfs_uapi::{self as u, Request as _};

struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

const DIM: usize = 32;
const N: u64 = 2000;

#[test]
fn searches_allocate_little() {
    let mut fs = fresh(256 << 20, 4096);
    let root = Caller::root();
    let mut report = Vec::new();
    for (name, kind, params) in [
        ("hnsw", IndexKind::Hnsw, ""),
        ("flat", IndexKind::Flat, ""),
        ("ivf", IndexKind::IvfFlat, "nlist=32,nprobe=8"),
        ("ivfpq", IndexKind::IvfPq, "nlist=32,nprobe=8,m=8"),
        ("lsh", IndexKind::Lsh, ""),
    ] {
        let d = fs.mkdir(1, name.as_bytes(), 0o755, 0, 0, T0).unwrap().ino;
        let spec = IndexSpec {
            kind,
            metric: Metric::L2,
            dim: DIM,
            params: params.as_bytes().to_vec(),
        };
        fs.index_create(d, spec, false).unwrap();
        for i in 0..N {
            let f = fs.create(d, format!("v{i}").as_bytes(), 0o644, 0, 0, T0).unwrap().ino;
            let v: Vec<u8> = common::vecf(i, DIM).iter().flat_map(|x| x.to_le_bytes()).collect();
            fs.setxattr(f, u::EMBEDDING_XATTR.as_bytes(), &v, XattrFlags::default(), T0)
                .unwrap();
        }
        let mut req = Box::new(u::Search::new_request());
        (req.k, req.dim) = (10, DIM as u32);
        let mut s = QuerySession::default();
        let mut one = |fs: &mut vexfs_core::Fs<_>, q: u64| {
            req.vector[..DIM].copy_from_slice(&common::vecf(1_000_000 + q, DIM));
            fs.vector_ioctl(d, u::IOC_SEARCH, u::as_bytes(&*req), &mut s, &root, T0)
                .unwrap();
        };
        // The first search builds (pending rows go in); then count.
        one(&mut fs, 0);
        const Q: u64 = 50;
        ALLOCS.store(0, Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
        for q in 1..=Q {
            one(&mut fs, q);
        }
        COUNTING.store(false, Ordering::Relaxed);
        report.push((name, ALLOCS.load(Ordering::Relaxed) / Q));
    }
    eprintln!("allocations per search: {report:?}");
    // 2026-12-03: 32-38 (52-58 before results' paths were built in one
    // buffer; LSH 89 before its multi-probe masks moved to its scratch).
    for (name, n) in report {
        assert!(n <= 40, "{name}: {n} allocations per search (budget 40)");
    }
}
