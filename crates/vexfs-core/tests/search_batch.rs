//! `VEXFS_IOC_SEARCH_BATCH`: several queries in one request give exactly
//! what one `vector_search` per query gives (same caller, same filters),
//! and malformed batches are EINVAL before any query runs.

mod common;

use common::{fresh, l2_spec, T0};
use vexfs_core::{
    Caller, Filter, Fs, FsError, IndexKind, MemDevice, Query, QuerySession, XattrFlags,
};
use vexfs_uapi::{self as u, Request as _};

const DIM: usize = 8;

fn vecf(seed: u64) -> Vec<f32> {
    common::vecf(seed, DIM)
}

fn raw(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// `/idx` (HNSW) and `/plain` (no index), 200 files each; in each, every
/// tenth file is readable by root only.
fn populated() -> (Fs<MemDevice>, u64, u64) {
    let mut fs = fresh(64 << 20, 4096);
    let idx = fs.mkdir(1, b"idx", 0o755, 0, 0, T0).unwrap().ino;
    let plain = fs.mkdir(1, b"plain", 0o755, 0, 0, T0).unwrap().ino;
    fs.index_create(idx, l2_spec(IndexKind::Hnsw, DIM, ""), false)
        .unwrap();
    for (d, base) in [(idx, 0u64), (plain, 1000)] {
        for i in 0..200u64 {
            let mode = if i % 10 == 0 { 0o600 } else { 0o644 };
            let name = format!("{}{i}", if i % 2 == 0 { "even" } else { "odd" });
            let f = fs.create(d, name.as_bytes(), mode, 0, 0, T0).unwrap().ino;
            fs.setxattr(
                f,
                u::EMBEDDING_XATTR.as_bytes(),
                &raw(&vecf(base + i)),
                XattrFlags::default(),
                T0,
            )
            .unwrap();
        }
    }
    (fs, idx, plain)
}

fn request(queries: &[Vec<f32>], k: usize) -> Box<u::SearchBatch> {
    let mut b = Box::new(u::SearchBatch::new_request());
    b.k = k as u32;
    b.dim = DIM as u32;
    b.count = queries.len() as u32;
    for (i, q) in queries.iter().enumerate() {
        assert!(b.set_query(i, q));
    }
    b
}

/// The reply's hits per query, as (ino, distance).
fn run(
    fs: &mut Fs<MemDevice>,
    dir: u64,
    b: &u::SearchBatch,
    who: &Caller,
) -> Result<Vec<Vec<(u64, f32)>>, FsError> {
    let mut s = QuerySession::default();
    let mut out = vec![0u8; size_of::<u::SearchBatch>()];
    let n = fs.vector_ioctl(
        dir,
        u::IOC_SEARCH_BATCH,
        u::as_bytes(b),
        &mut out,
        &mut s,
        who,
        T0,
    )?;
    let r: u::SearchBatch = u::from_bytes(&out[..n]).unwrap();
    Ok((0..r.count as usize)
        .map(|i| r.hits(i).map(|h| (h.ino, h.distance)).collect())
        .collect())
}

fn one_by_one(
    fs: &mut Fs<MemDevice>,
    dir: u64,
    queries: &[Vec<f32>],
    k: usize,
    filter: &Filter,
    who: &Caller,
) -> Vec<Vec<(u64, f32)>> {
    queries
        .iter()
        .map(|v| {
            let q = Query {
                vector: v.clone(),
                k,
                filter: filter.clone(),
                ..Default::default()
            };
            fs.vector_search(dir, &q, who)
                .unwrap()
                .hits
                .iter()
                .map(|h| (h.ino, h.distance))
                .collect()
        })
        .collect()
}

#[test]
fn a_batch_answers_each_query_as_a_single_search_would() {
    let (mut fs, idx, plain) = populated();
    let user = Caller {
        uid: 1000,
        gid: 1000,
        groups: vec![],
    };
    let queries: Vec<Vec<f32>> = (0..25).map(|i| vecf(5000 + i)).collect();
    for dir in [idx, plain] {
        for who in [Caller::root(), user.clone()] {
            for glob in [None, Some(b"odd*".to_vec())] {
                let mut b = request(&queries, 10);
                if let Some(g) = &glob {
                    assert!(u::set_c_str(&mut b.name_glob, g));
                }
                let filter = Filter {
                    name_glob: glob.clone(),
                    ..Default::default()
                };
                let got = run(&mut fs, dir, &b, &who).unwrap();
                let want = one_by_one(&mut fs, dir, &queries, 10, &filter, &who);
                assert_eq!(got, want, "dir {dir}, uid {}, glob {glob:?}", who.uid);
                assert!(got.iter().all(|h| h.len() == 10));
            }
        }
    }
    // A batch's k may exceed what a directory holds: found[] says how many.
    let b = request(&queries[..2], 300);
    let got = run(&mut fs, plain, &b, &user).unwrap();
    assert_eq!(got[0].len(), 180, "the unreadable tenth is left out");
}

#[test]
fn malformed_batches_are_einval() {
    let (mut fs, idx, _) = populated();
    let root = Caller::root();
    let q: Vec<Vec<f32>> = (0..4).map(vecf).collect();
    let bad = |f: &dyn Fn(&mut u::SearchBatch)| {
        let mut b = request(&q, 10);
        f(&mut b);
        b
    };
    let cases: Vec<(&str, Box<u::SearchBatch>)> = vec![
        ("count 0", bad(&|b| b.count = 0)),
        (
            "count above the limit",
            bad(&|b| b.count = u::BATCH_MAX as u32 + 1),
        ),
        ("k 0", bad(&|b| b.k = 0)),
        (
            "hits do not fit",
            bad(&|b| b.k = (u::BATCH_DATA / 16 / 4 + 1) as u32),
        ),
        (
            "queries do not fit",
            bad(&|b| b.count = (u::BATCH_DATA / (DIM * 4) + 1) as u32),
        ),
        ("dim 0", bad(&|b| b.dim = 0)),
        ("staged vectors", bad(&|b| b.flags = u::SEARCH_STAGED)),
        ("unknown flag", bad(&|b| b.flags = 1 << 9)),
        ("reserved", bad(&|b| b.reserved1 = 1)),
        ("size", bad(&|b| b.size -= 8)),
        ("metric", bad(&|b| b.metric = 9)),
        (
            "NaN in the last query",
            bad(&|b| b.data[3 * DIM * 4..][..4].copy_from_slice(&f32::NAN.to_le_bytes())),
        ),
        ("glob without NUL", bad(&|b| b.name_glob.fill(b'a'))),
        (
            "dimension the index does not take",
            bad(&|b| b.dim = DIM as u32 - 1),
        ),
    ];
    for (what, b) in cases {
        assert_eq!(
            run(&mut fs, idx, &b, &root).unwrap_err(),
            FsError::Invalid,
            "{what}"
        );
    }
    let mut s = QuerySession::default();
    let whole = request(&q, 10);
    let short = &u::as_bytes(&*whole)[..100];
    let mut out = vec![0u8; size_of::<u::SearchBatch>()];
    assert_eq!(
        fs.vector_ioctl(idx, u::IOC_SEARCH_BATCH, short, &mut out, &mut s, &root, T0)
            .unwrap_err(),
        FsError::Invalid,
        "a truncated struct"
    );
}
