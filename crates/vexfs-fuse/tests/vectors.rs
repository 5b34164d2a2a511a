//! Embeddings and search through a real FUSE mount: the xattr, the ioctls
//! of include/uapi/vexfs.h, results against brute force, persistence, an
//! ext4 round trip, a daemon killed in the middle of an import, bad input.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use vexfs_uapi as u;
use vexfs_uapi::Request as _;

const EMB: &str = "user.vexfs.embedding";

fn vecf(seed: u64, dim: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..dim)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

fn bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn set_emb(p: &Path, v: &[f32]) -> Result<(), i32> {
    let (p, n) = (
        CString::new(p.as_os_str().as_bytes()).unwrap(),
        CString::new(EMB).unwrap(),
    );
    let b = bytes(v);
    // SAFETY: valid C strings and value buffer of the given length.
    let r = unsafe { libc::setxattr(p.as_ptr(), n.as_ptr(), b.as_ptr().cast(), b.len(), 0) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(())
    }
}

/// ioctl with a struct argument (or none); the errno on failure.
fn ioctl<T: u::Request>(dir: &Path, cmd: u32, arg: Option<&mut T>) -> Result<(), i32> {
    let f = File::open(dir).unwrap();
    ioctl_fd(&f, cmd, arg)
}

fn ioctl_fd<T: u::Request>(f: &File, cmd: u32, arg: Option<&mut T>) -> Result<(), i32> {
    let ptr: *mut T = arg.map_or(std::ptr::null_mut(), |a| a as *mut T);
    // SAFETY: `ptr` is null (for commands without an argument) or points to
    // a live value of the struct whose size the command number encodes.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), cmd as _, ptr) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(())
    }
}

fn create_index(dir: &Path, strategy: u32, dim: u32, params: &str) -> Result<(), i32> {
    let mut c = u::IndexConfig::new_request();
    c.strategy = strategy;
    c.metric = u::METRIC_L2;
    c.dim = dim;
    assert!(u::set_c_str(&mut c.params, params.as_bytes()));
    ioctl(dir, u::IOC_INDEX_CREATE, Some(&mut c))
}

fn search_req(q: &[f32], k: u32) -> Box<u::Search> {
    let mut s = Box::new(u::Search::new_request());
    s.k = k;
    s.dim = q.len() as u32;
    s.vector[..q.len()].copy_from_slice(q);
    s
}

/// (path, distance, ino) of every hit in the reply.
fn hits(s: &u::Search) -> Vec<(String, f32, u64)> {
    s.hits[..s.count as usize]
        .iter()
        .map(|h| {
            let p = &s.names[h.path_off as usize..(h.path_off as usize + h.path_len as usize)];
            (String::from_utf8_lossy(p).into_owned(), h.distance, h.ino)
        })
        .collect()
}

fn search(dir: &Path, q: &[f32], k: u32) -> Vec<(String, f32, u64)> {
    let mut s = search_req(q, k);
    ioctl(dir, u::IOC_SEARCH, Some(&mut *s)).expect("search ioctl");
    hits(&s)
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn brute(model: &BTreeMap<String, Vec<f32>>, q: &[f32], k: usize) -> Vec<String> {
    let mut v: Vec<(f32, &String)> = model.iter().map(|(n, x)| (l2(x, q), n)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
    v.into_iter().take(k).map(|(_, n)| n.clone()).collect()
}

#[test]
fn search_through_the_mount_equals_brute_force_and_persists() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(256 << 20);
    let m = s.mount(&[]);
    let docs = m.mnt.join("docs");
    std::fs::create_dir_all(docs.join("sub")).unwrap();
    let mut model = BTreeMap::new();
    for i in 0..300u64 {
        let rel = if i % 4 == 0 {
            format!("sub/f{i}")
        } else {
            format!("f{i}")
        };
        let p = docs.join(&rel);
        std::fs::write(&p, format!("file {i}")).unwrap();
        let v = vecf(i, 32);
        set_emb(&p, &v).unwrap();
        model.insert(rel, v);
    }
    // Unindexed directory: exact scan through the ioctl.
    let q = vecf(12345, 32);
    let mut s1 = search_req(&q, 10);
    ioctl(&docs, u::IOC_SEARCH, Some(&mut *s1)).unwrap();
    assert_eq!(s1.out_flags & u::OUT_EXACT_SCAN, u::OUT_EXACT_SCAN);
    let names: Vec<String> = hits(&s1).into_iter().map(|h| h.0).collect();
    assert_eq!(names, brute(&model, &q, 10));
    // A flat index gives exactly the same answer.
    create_index(&docs, u::STRATEGY_FLAT, 32, "").unwrap();
    let mut s2 = search_req(&q, 10);
    ioctl(&docs, u::IOC_SEARCH, Some(&mut *s2)).unwrap();
    assert_eq!(s2.out_flags & u::OUT_INDEXED, u::OUT_INDEXED);
    assert_eq!(hits(&s2), hits(&s1));
    // Distances are the exact squared L2 ones.
    for (name, d, _) in hits(&s2) {
        assert!((d - l2(&model[&name], &q)).abs() < 1e-4);
    }
    // Paths are relative to the searched directory.
    let from_root: Vec<String> = search(&m.mnt, &q, 3).into_iter().map(|h| h.0).collect();
    assert_eq!(
        from_root,
        brute(&model, &q, 3)
            .iter()
            .map(|n| format!("docs/{n}"))
            .collect::<Vec<_>>()
    );
    // Wrong dimension inside the index: EINVAL, nothing stored.
    let extra = docs.join("extra");
    std::fs::write(&extra, "x").unwrap();
    assert_eq!(set_emb(&extra, &[1.0; 31]), Err(libc::EINVAL));
    // Stats.
    let mut st = u::IndexStats::new_request();
    ioctl(&docs, u::IOC_INDEX_STATS, Some(&mut st)).unwrap();
    assert_eq!(
        (st.vectors, st.dim, st.strategy, st.state),
        (300, 32, u::STRATEGY_FLAT, u::STATE_CLEAN)
    );
    // Remount: the index comes back from disk.
    assert!(m.unmount().success());
    let m = s.mount(&[]);
    let docs = m.mnt.join("docs");
    let names: Vec<String> = search(&docs, &q, 10).into_iter().map(|h| h.0).collect();
    assert_eq!(names, brute(&model, &q, 10));
    // Rename out of the index, unlink: the index follows.
    std::fs::rename(docs.join("f1"), m.mnt.join("f1")).unwrap();
    model.remove("f1");
    std::fs::remove_file(docs.join("sub/f4")).unwrap();
    model.remove("sub/f4");
    let names: Vec<String> = search(&docs, &q, 300).into_iter().map(|h| h.0).collect();
    assert_eq!(names.len(), model.len().min(u::HITS_MAX));
    assert_eq!(names, brute(&model, &q, u::HITS_MAX));
    assert!(m.unmount().success());
}

#[test]
fn hnsw_paging_bulk_and_bad_input() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(256 << 20);
    let m = s.mount(&[]);
    let d = m.mnt.join("w");
    std::fs::create_dir(&d).unwrap();
    create_index(&d, u::STRATEGY_HNSW, 8, "m=16,ef_construction=100").unwrap();
    // Bulk set with file creation: names, padding, vectors.
    let mut model = BTreeMap::new();
    let mut row = 0u64;
    while row < 1000 {
        let mut b = Box::new(u::Bulk::new_request());
        b.flags = u::BULK_CREATE;
        b.dim = 8;
        let mut names = Vec::new();
        let mut vecs = Vec::new();
        let mut n = 0;
        while row < 1000 {
            let name = format!("r{row}");
            let need = names.len() + name.len() + 1;
            if need.next_multiple_of(4) + vecs.len() + 32 > u::BULK_DATA {
                break;
            }
            names.extend_from_slice(name.as_bytes());
            names.push(0);
            let v = vecf(row, 8);
            vecs.extend_from_slice(&bytes(&v));
            model.insert(name, v);
            row += 1;
            n += 1;
        }
        b.count = n;
        b.names_len = names.len() as u32;
        b.data[..names.len()].copy_from_slice(&names);
        let off = names.len().next_multiple_of(4);
        b.data[off..off + vecs.len()].copy_from_slice(&vecs);
        ioctl(&d, u::IOC_BULK_SET, Some(&mut *b)).unwrap();
        assert_eq!((b.error, b.done), (0, n));
    }
    assert!(d.join("r999").exists());
    // k above one reply: page with RESULTS on the same descriptor.
    let q = vecf(4242, 8);
    let f = File::open(&d).unwrap();
    let mut sq = search_req(&q, 300);
    sq.ef = 400;
    ioctl_fd(&f, u::IOC_SEARCH, Some(&mut *sq)).unwrap();
    assert_eq!((sq.count as usize, sq.total), (u::HITS_MAX, 300));
    assert_ne!(sq.out_flags & u::OUT_MORE, 0);
    let mut all = hits(&sq);
    let mut r = Box::new(u::Results::new_request());
    while all.len() < 300 {
        r.offset = all.len() as u32;
        ioctl_fd(&f, u::IOC_RESULTS, Some(&mut *r)).unwrap();
        assert!(r.count > 0);
        for h in &r.hits[..r.count as usize] {
            let p = &r.names[h.path_off as usize..(h.path_off + u32::from(h.path_len)) as usize];
            all.push((String::from_utf8_lossy(p).into_owned(), h.distance, h.ino));
        }
    }
    let want = brute(&model, &q, 300);
    let got: Vec<String> = all.iter().map(|h| h.0.clone()).collect();
    let overlap = got.iter().filter(|n| want.contains(n)).count();
    assert!(overlap >= 285, "HNSW recall@300 with ef=400: {overlap}/300");
    assert!(
        all.windows(2).all(|w| w[0].1 <= w[1].1),
        "sorted by distance"
    );
    drop(f);
    // A bad item fails the whole call and names itself.
    let mut b = Box::new(u::Bulk::new_request());
    b.dim = 8;
    b.count = 2;
    b.names_len = 11;
    b.data[..11].copy_from_slice(b"r1\0missing\0");
    ioctl(&d, u::IOC_BULK_SET, Some(&mut *b)).unwrap();
    assert_eq!((b.error, b.error_index, b.done), (-libc::ENOENT, 1, 0));
    // Bad requests: EINVAL, never a hang.
    let bad = |f: &dyn Fn(&mut u::Search)| {
        let mut s = search_req(&q, 5);
        f(&mut s);
        ioctl(&d, u::IOC_SEARCH, Some(&mut *s))
    };
    assert_eq!(bad(&|s| s.k = 0), Err(libc::EINVAL));
    assert_eq!(bad(&|s| s.k = 5000), Err(libc::EINVAL));
    assert_eq!(bad(&|s| s.dim = 7), Err(libc::EINVAL));
    assert_eq!(bad(&|s| s.vector[0] = f32::NAN), Err(libc::EINVAL));
    assert_eq!(bad(&|s| s.flags = 1 << 9), Err(libc::EINVAL));
    assert_eq!(bad(&|s| s.size = 12), Err(libc::EINVAL));
    assert_eq!(bad(&|s| s.metric = 9), Err(libc::EINVAL));
    assert_eq!(
        bad(&|s| s.name_glob = [b'x'; u::GLOB_MAX]),
        Err(libc::EINVAL)
    );
    assert_eq!(create_index(&d, u::STRATEGY_FLAT, 8, ""), Err(libc::EEXIST));
    assert_eq!(create_index(&m.mnt, 99, 8, ""), Err(libc::EINVAL));
    assert_eq!(
        create_index(&m.mnt, u::STRATEGY_HNSW, 0, ""),
        Err(libc::EINVAL)
    );
    assert_eq!(
        create_index(&m.mnt, u::STRATEGY_HNSW, 8, "nonsense"),
        Err(libc::EINVAL)
    );
    assert_eq!(
        ioctl::<u::IndexConfig>(&m.mnt, u::IOC_INDEX_DROP, None),
        Err(libc::ENODATA)
    );
    // A query on a regular file is ENOTDIR.
    let mut s = search_req(&q, 5);
    assert_eq!(
        ioctl(&d.join("r1"), u::IOC_SEARCH, Some(&mut *s)),
        Err(libc::ENOTDIR)
    );
    // Filters: name glob, and the subtree of a directory.
    let mut s = search_req(&q, 5);
    assert!(u::set_c_str(&mut s.name_glob, b"r1??"));
    ioctl(&d, u::IOC_SEARCH, Some(&mut *s)).unwrap();
    let sub: BTreeMap<String, Vec<f32>> = model
        .iter()
        .filter(|(n, _)| n.len() == 4 && n.starts_with("r1"))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let got: Vec<String> = hits(&s).into_iter().map(|h| h.0).collect();
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|n| sub.contains_key(n)));
    // Drop, then the directory is searched exactly again.
    ioctl::<u::IndexConfig>(&d, u::IOC_INDEX_DROP, None).unwrap();
    let got: Vec<String> = search(&d, &q, 10).into_iter().map(|h| h.0).collect();
    assert_eq!(got, brute(&model, &q, 10));
    assert!(m.unmount().success());
}

#[test]
fn a_tree_copied_to_another_filesystem_and_back_is_searchable() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(128 << 20);
    let m = s.mount(&[]);
    let src = m.mnt.join("src");
    std::fs::create_dir(&src).unwrap();
    let mut model = BTreeMap::new();
    for i in 0..50u64 {
        let p = src.join(format!("d{i}"));
        std::fs::write(&p, "x").unwrap();
        set_emb(&p, &vecf(i, 16)).unwrap();
        model.insert(format!("d{i}"), vecf(i, 16));
    }
    // Out to the host filesystem (the scratch dir lives outside the mount).
    let out = s.dir.path().join("out");
    sh(&format!("cp -a {} {}", src.display(), out.display()));
    sh(&format!(
        "getfattr -n {EMB} {} >/dev/null",
        out.join("d7").display()
    ));
    // Back in under a new, indexed directory.
    let back = m.mnt.join("back");
    std::fs::create_dir(&back).unwrap();
    create_index(&back, u::STRATEGY_HNSW, 16, "").unwrap();
    sh(&format!("cp -a {}/. {}", out.display(), back.display()));
    let q = vecf(777, 16);
    let got: Vec<String> = search(&back, &q, 5).into_iter().map(|h| h.0).collect();
    assert_eq!(got, brute(&model, &q, 5));
    assert!(m.unmount().success());
}

#[test]
fn a_killed_daemon_leaves_a_consistent_or_rebuilt_index() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(128 << 20);
    let m = s.mount(&[]);
    let d = m.mnt.join("d");
    std::fs::create_dir(&d).unwrap();
    create_index(&d, u::STRATEGY_HNSW, 8, "").unwrap();
    let mut model = BTreeMap::new();
    for i in 0..200u64 {
        let p = d.join(format!("k{i}"));
        std::fs::write(&p, "x").unwrap();
        set_emb(&p, &vecf(i, 8)).unwrap();
        model.insert(format!("k{i}"), vecf(i, 8));
    }
    // Made durable (fsync of the directory commits the journal), then
    // kill -9: no unmount, no index save.
    File::open(&d).unwrap().sync_all().unwrap();
    m.kill();
    let m = s.mount(&[]);
    let d = m.mnt.join("d");
    let mut st = u::IndexStats::new_request();
    ioctl(&d, u::IOC_INDEX_STATS, Some(&mut st)).unwrap();
    assert_eq!(st.state, u::STATE_STALE, "the record was dirty: rebuilt");
    assert_eq!(st.vectors, 200);
    let q = vecf(99, 8);
    let got: Vec<String> = search(&d, &q, 5).into_iter().map(|h| h.0).collect();
    assert_eq!(got, brute(&model, &q, 5));
    assert!(m.unmount().success());
}

#[test]
fn stored_embeddings_are_searchable_at_once_and_join_the_graph_in_the_background() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(256 << 20);
    let m = s.mount(&[]);
    let d = m.mnt.join("bg");
    std::fs::create_dir(&d).unwrap();
    create_index(&d, u::STRATEGY_HNSW, 16, "m=16,ef_construction=100").unwrap();
    let mut model = BTreeMap::new();
    for i in 0..600u64 {
        let p = d.join(format!("e{i}"));
        std::fs::write(&p, b"").unwrap();
        let v = vecf(i, 16);
        set_emb(&p, &v).unwrap();
        model.insert(format!("e{i}"), v);
    }
    // Whatever the worker has taken in so far, the answer is the exact one:
    // pending rows are scanned exactly, and a 600-node graph at ef=400 is.
    let q = vecf(777, 16);
    let exact = |d: &Path| {
        let mut sq = search_req(&q, 5);
        sq.ef = 400;
        ioctl(d, u::IOC_SEARCH, Some(&mut *sq)).unwrap();
        hits(&sq).into_iter().map(|h| h.0).collect::<Vec<_>>()
    };
    assert_eq!(exact(&d), brute(&model, &q, 5));
    let stats = |d: &Path| {
        let mut st = u::IndexStats::new_request();
        ioctl(d, u::IOC_INDEX_STATS, Some(&mut st)).unwrap();
        st
    };
    assert_eq!(stats(&d).vectors, 600);
    // The worker empties the pending list once writes pause.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while stats(&d).pending > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "pending rows never joined the graph"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(exact(&d), brute(&model, &q, 5));
    assert!(m.unmount().success());
    let m = s.mount(&[]);
    let st = stats(&d);
    assert_eq!((st.state, st.vectors, st.pending), (u::STATE_CLEAN, 600, 0));
    assert_eq!(exact(&d), brute(&model, &q, 5));
    assert!(m.unmount().success());
    assert_fsck_clean(&s.image);
}
