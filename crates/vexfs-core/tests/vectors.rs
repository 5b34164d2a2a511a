//! Embeddings on files and per-directory indexes, through the core API:
//! search results against brute force, index maintenance under namespace
//! changes, persistence, stale detection, nesting, filters, permissions.

mod common;

use common::{fresh, remount, vecf, T0};
use std::collections::BTreeMap;
use vexfs_core::{
    Caller, Filter, Fs, FsError, IndexKind, IndexSpec, MemDevice, MountOptions, Query, RenameFlags,
    XattrFlags,
};

const EMB: &[u8] = b"user.vexfs.embedding";

fn bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn spec(kind: IndexKind, dim: usize) -> IndexSpec {
    common::l2_spec(kind, dim, "")
}

fn set(fs: &mut Fs<MemDevice>, ino: u64, v: &[f32]) -> Result<(), FsError> {
    fs.setxattr(ino, EMB, &bytes(v), XattrFlags::default(), T0)
}

fn query(v: &[f32], k: usize) -> Query {
    Query {
        vector: v.to_vec(),
        k,
        paths: true,
        ..Default::default()
    }
}

fn search_ids(fs: &mut Fs<MemDevice>, dir: u64, q: &Query) -> Vec<u64> {
    fs.vector_search(dir, q, &Caller::root())
        .expect("search")
        .hits
        .iter()
        .map(|h| h.ino)
        .collect()
}

/// Exact k nearest of `model` (ino -> vector) to `q`.
fn brute(model: &BTreeMap<u64, Vec<f32>>, q: &[f32], k: usize) -> Vec<u64> {
    let mut v: Vec<(f32, u64)> = model.iter().map(|(i, x)| (l2(x, q), *i)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    v.into_iter().take(k).map(|(_, i)| i).collect()
}

/// Unmount and run fsck -n: nothing may be wrong.
fn fsck_clean(fs: Fs<MemDevice>) {
    let dev = fs.unmount(T0).unwrap();
    let (report, _) = vexfs_core::check::check(
        dev,
        &vexfs_core::check::CheckOptions::default(),
        &mut |_, _, _| true,
    )
    .unwrap();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

fn mkdir(fs: &mut Fs<MemDevice>, parent: u64, name: &str) -> u64 {
    fs.mkdir(parent, name.as_bytes(), 0o755, 0, 0, T0)
        .unwrap()
        .ino
}

fn file(fs: &mut Fs<MemDevice>, parent: u64, name: &str) -> u64 {
    fs.create(parent, name.as_bytes(), 0o644, 0, 0, T0)
        .unwrap()
        .ino
}

#[test]
fn flat_index_equals_brute_force_and_survives_remount() {
    let mut fs = fresh(64 << 20, 4096);
    let d = mkdir(&mut fs, 1, "docs");
    let mut model = BTreeMap::new();
    for i in 0..200u64 {
        let ino = file(&mut fs, d, &format!("f{i}"));
        let v = vecf(i, 16);
        set(&mut fs, ino, &v).unwrap();
        model.insert(ino, v);
    }
    // Unindexed: exact scan.
    let q = vecf(999, 16);
    let want = brute(&model, &q, 10);
    let out = fs
        .vector_search(d, &query(&q, 10), &Caller::root())
        .unwrap();
    assert!(out.exact_scan && !out.indexed);
    assert_eq!(out.hits.iter().map(|h| h.ino).collect::<Vec<_>>(), want);
    assert_eq!(
        out.path(&out.hits[0]),
        Some(format!("f{}", want[0] - model.keys().next().unwrap()).as_bytes())
    );

    fs.index_create(d, spec(IndexKind::Flat, 16), false)
        .unwrap();
    let out = fs
        .vector_search(d, &query(&q, 10), &Caller::root())
        .unwrap();
    assert!(out.indexed && !out.exact_scan);
    assert_eq!(out.hits.iter().map(|h| h.ino).collect::<Vec<_>>(), want);
    // From the root, paths are relative to it.
    let out = fs.vector_search(1, &query(&q, 3), &Caller::root()).unwrap();
    assert!(out.path(&out.hits[0]).unwrap().starts_with(b"docs/f"));

    let mut fs = remount(fs);
    let info = fs.index_info(d).unwrap().unwrap();
    assert!(info.clean, "saved at unmount");
    assert_eq!(info.vectors, 200);
    assert_eq!(search_ids(&mut fs, d, &query(&q, 10)), want);
}

#[test]
fn hnsw_index_tracks_every_namespace_change() {
    let mut fs = fresh(64 << 20, 4096);
    let a = mkdir(&mut fs, 1, "a");
    let sub = mkdir(&mut fs, a, "sub");
    let out = mkdir(&mut fs, 1, "out");
    fs.index_create(a, spec(IndexKind::Hnsw, 8), false).unwrap();
    let mut model = BTreeMap::new();
    let mut inos = Vec::new();
    for i in 0..60u64 {
        let dir = if i % 3 == 0 { sub } else { a };
        let ino = file(&mut fs, dir, &format!("n{i}"));
        let v = vecf(i, 8);
        set(&mut fs, ino, &v).unwrap();
        model.insert(ino, v);
        inos.push(ino);
    }
    let q = vecf(4242, 8);
    let check = |fs: &mut Fs<MemDevice>, model: &BTreeMap<u64, Vec<f32>>| {
        let got = search_ids(fs, a, &query(&q, 10));
        assert_eq!(got, brute(model, &q, 10));
        let info = fs.index_info(a).unwrap().unwrap();
        assert_eq!(info.vectors as usize, model.len());
    };
    check(&mut fs, &model);
    // Replace, remove, unlink.
    let v = vecf(7777, 8);
    set(&mut fs, inos[1], &v).unwrap();
    model.insert(inos[1], v);
    fs.removexattr(inos[2], EMB, T0).unwrap();
    model.remove(&inos[2]);
    fs.unlink(a, b"n4", T0).unwrap();
    model.remove(&inos[4]);
    check(&mut fs, &model);
    // Rename out and back in, a directory out of the index, a hard link.
    fs.rename(a, b"n5", out, b"n5", RenameFlags::default(), T0)
        .unwrap();
    model.remove(&inos[5]);
    check(&mut fs, &model);
    fs.rename(out, b"n5", sub, b"n5", RenameFlags::default(), T0)
        .unwrap();
    model.insert(inos[5], vecf(5, 8));
    check(&mut fs, &model);
    fs.rename(a, b"sub", out, b"sub", RenameFlags::default(), T0)
        .unwrap();
    for (i, ino) in inos.iter().enumerate() {
        if i % 3 == 0 || i == 5 {
            model.remove(ino);
        }
    }
    check(&mut fs, &model);
    // Moving the directory back brings its files back.
    fs.rename(out, b"sub", a, b"sub2", RenameFlags::default(), T0)
        .unwrap();
    for (i, ino) in inos.iter().enumerate() {
        if i % 3 == 0 || i == 5 {
            model.insert(*ino, vecf(i as u64, 8));
        }
    }
    check(&mut fs, &model);
    // A hard link elsewhere does not move the file; removing the primary
    // link of a linked file takes it out of the index.
    fs.link(inos[7], out, b"seven", T0).unwrap();
    check(&mut fs, &model);
    fs.unlink(a, b"n7", T0).unwrap();
    model.remove(&inos[7]);
    check(&mut fs, &model);
    // The remaining link takes over as primary once linked again.
    fs.link(inos[7], a, b"back7", T0).unwrap();
    model.insert(inos[7], vecf(7, 8));
    check(&mut fs, &model);
    // Persistence.
    let mut fs = remount(fs);
    check(&mut fs, &model);
    fsck_clean(fs);
}

#[test]
fn crash_leaves_a_dirty_record_and_the_index_is_rebuilt() {
    let mut fs = fresh(64 << 20, 4096);
    let d = mkdir(&mut fs, 1, "d");
    fs.index_create(d, spec(IndexKind::Hnsw, 4), false).unwrap();
    let mut model = BTreeMap::new();
    for i in 0..30u64 {
        let ino = file(&mut fs, d, &format!("x{i}"));
        set(&mut fs, ino, &vecf(i, 4)).unwrap();
        model.insert(ino, vecf(i, 4));
    }
    // "Crash" once the changes are durable, without unmounting.
    fs.sync().unwrap();
    let dev = fs.device().clone();
    drop(fs);
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    let info = fs.index_info(d).unwrap().unwrap();
    assert!(
        info.stale,
        "a dirty record is reported stale before the rebuild"
    );
    assert_eq!(info.vectors, 30, "rebuilt from the files");
    let q = vecf(100, 4);
    assert_eq!(search_ids(&mut fs, d, &query(&q, 5)), brute(&model, &q, 5));
}

#[test]
fn wrong_dimension_and_bad_values_are_refused() {
    let mut fs = fresh(32 << 20, 4096);
    let d = mkdir(&mut fs, 1, "d");
    let f = file(&mut fs, d, "f");
    fs.index_create(d, spec(IndexKind::Hnsw, 4), false).unwrap();
    assert_eq!(set(&mut fs, f, &[1.0, 2.0, 3.0]), Err(FsError::Invalid));
    assert_eq!(
        set(&mut fs, f, &[1.0, f32::NAN, 3.0, 4.0]),
        Err(FsError::Invalid)
    );
    assert_eq!(
        fs.setxattr(f, EMB, &[1, 2, 3], XattrFlags::default(), T0),
        Err(FsError::Invalid)
    );
    assert_eq!(
        fs.setxattr(d, EMB, &bytes(&[1.0; 4]), XattrFlags::default(), T0),
        Err(FsError::Invalid)
    );
    assert_eq!(fs.getxattr(f, EMB), Err(FsError::NoData), "nothing stored");
    // Moved in with another dimension: kept, counted as unindexed.
    let o = mkdir(&mut fs, 1, "o");
    let g = file(&mut fs, o, "g");
    set(&mut fs, g, &[1.0, 2.0]).unwrap();
    fs.rename(o, b"g", d, b"g", RenameFlags::default(), T0)
        .unwrap();
    assert_eq!(fs.index_info(d).unwrap().unwrap().unindexed, 1);
    assert_eq!(fs.getxattr(g, EMB).unwrap().len(), 8);
    // Bad queries.
    let bad = |k: usize, v: Vec<f32>| Query {
        vector: v,
        k,
        ..Default::default()
    };
    let root = Caller::root();
    assert_eq!(
        fs.vector_search(d, &bad(0, vec![0.0; 4]), &root)
            .unwrap_err(),
        FsError::Invalid
    );
    assert_eq!(
        fs.vector_search(d, &bad(5000, vec![0.0; 4]), &root)
            .unwrap_err(),
        FsError::Invalid
    );
    assert_eq!(
        fs.vector_search(d, &bad(1, vec![0.0; 3]), &root)
            .unwrap_err(),
        FsError::Invalid
    );
    assert_eq!(
        fs.vector_search(d, &bad(1, vec![f32::INFINITY; 4]), &root)
            .unwrap_err(),
        FsError::Invalid
    );
    assert_eq!(
        fs.vector_search(f, &bad(1, vec![0.0; 4]), &root)
            .unwrap_err(),
        FsError::NotDir
    );
    // Index creation errors.
    assert_eq!(
        fs.index_create(d, spec(IndexKind::Flat, 4), false)
            .unwrap_err(),
        FsError::Exists
    );
    assert_eq!(
        fs.index_create(o, spec(IndexKind::Flat, 0), false)
            .unwrap_err(),
        FsError::Invalid
    );
    let mut s = spec(IndexKind::Hnsw, 4);
    s.params = b"bogus=1".to_vec();
    assert_eq!(fs.index_create(o, s, false).unwrap_err(), FsError::Invalid);
    assert_eq!(fs.index_drop(o).unwrap_err(), FsError::NoData);
}

#[test]
fn nested_indexes_filters_and_drop() {
    let mut fs = fresh(64 << 20, 4096);
    let top = mkdir(&mut fs, 1, "top");
    let inner = mkdir(&mut fs, top, "inner");
    let mut model = BTreeMap::new();
    let mut names = BTreeMap::new();
    for i in 0..40u64 {
        let dir = if i % 2 == 0 { top } else { inner };
        let name = if i % 4 == 1 {
            format!("keep{i}.txt")
        } else {
            format!("other{i}")
        };
        let ino = file(&mut fs, dir, &name);
        set(&mut fs, ino, &vecf(i, 6)).unwrap();
        if i % 5 == 0 {
            fs.setxattr(ino, b"user.lang", b"en", XattrFlags::default(), T0)
                .unwrap();
        }
        model.insert(ino, vecf(i, 6));
        names.insert(ino, (dir, name, i));
    }
    fs.index_create(top, spec(IndexKind::Hnsw, 6), false)
        .unwrap();
    fs.index_create(inner, spec(IndexKind::Flat, 6), false)
        .unwrap();
    assert_eq!(
        fs.index_info(top).unwrap().unwrap().vectors,
        20,
        "inner's files left top's index"
    );
    assert_eq!(fs.index_info(inner).unwrap().unwrap().vectors, 20);
    let q = vecf(77, 6);
    // Searching top merges both indexes.
    let out = fs
        .vector_search(top, &query(&q, 10), &Caller::root())
        .unwrap();
    assert!(out.indexed);
    assert_eq!(
        out.hits.iter().map(|h| h.ino).collect::<Vec<_>>(),
        brute(&model, &q, 10)
    );
    // Subtree filter.
    let mut qq = query(&q, 5);
    qq.filter.subtree = Some(inner);
    let sub: BTreeMap<u64, Vec<f32>> = model
        .iter()
        .filter(|(i, _)| names[i].0 == inner)
        .map(|(i, v)| (*i, v.clone()))
        .collect();
    assert_eq!(search_ids(&mut fs, top, &qq), brute(&sub, &q, 5));
    // Name glob: still k results when enough match.
    let mut qq = query(&q, 5);
    qq.filter = Filter {
        name_glob: Some(b"keep*.txt".to_vec()),
        ..Default::default()
    };
    let keep: BTreeMap<u64, Vec<f32>> = model
        .iter()
        .filter(|(i, _)| names[i].1.starts_with("keep"))
        .map(|(i, v)| (*i, v.clone()))
        .collect();
    assert_eq!(search_ids(&mut fs, top, &qq), brute(&keep, &q, 5));
    // xattr equality.
    let mut qq = query(&q, 40);
    qq.filter = Filter {
        xattr: Some((b"user.lang".to_vec(), b"en".to_vec())),
        ..Default::default()
    };
    let en: BTreeMap<u64, Vec<f32>> = model
        .iter()
        .filter(|(i, _)| names[i].2 % 5 == 0)
        .map(|(i, v)| (*i, v.clone()))
        .collect();
    assert_eq!(search_ids(&mut fs, top, &qq), brute(&en, &q, 40));
    // Dropping inner gives its files back to top.
    fs.index_drop(inner).unwrap();
    assert_eq!(fs.index_info(top).unwrap().unwrap().vectors, 40);
    assert_eq!(
        search_ids(&mut fs, top, &query(&q, 10)),
        brute(&model, &q, 10)
    );
    let mut fs = remount(fs);
    assert_eq!(fs.index_roots().unwrap(), vec![top]);
    assert_eq!(
        search_ids(&mut fs, top, &query(&q, 10)),
        brute(&model, &q, 10)
    );
    // An empty index root can be removed; its catalogue entry goes too.
    let e = mkdir(&mut fs, 1, "empty");
    fs.index_create(e, spec(IndexKind::Flat, 6), false).unwrap();
    fs.rmdir(1, b"empty", T0).unwrap();
    assert_eq!(fs.index_roots().unwrap(), vec![top]);
    fsck_clean(fs);
}

#[test]
fn permissions_hide_files_inside_the_walk() {
    let mut fs = fresh(32 << 20, 4096);
    let d = fs.mkdir(1, b"d", 0o755, 1000, 1000, T0).unwrap().ino;
    let private = fs.mkdir(d, b"private", 0o700, 0, 0, T0).unwrap().ino;
    let mut visible = BTreeMap::new();
    for i in 0..20u64 {
        let (dir, mode) = match i % 4 {
            0 => (private, 0o644),
            1 => (d, 0o600),
            _ => (d, 0o644),
        };
        let ino = fs
            .create(dir, format!("f{i}").as_bytes(), mode, 0, 0, T0)
            .unwrap()
            .ino;
        set(&mut fs, ino, &vecf(i, 3)).unwrap();
        if i % 4 >= 2 {
            visible.insert(ino, vecf(i, 3));
        }
    }
    fs.index_create(d, spec(IndexKind::Hnsw, 3), false).unwrap();
    let user = Caller {
        uid: 2000,
        gid: 2000,
        groups: vec![],
    };
    let q = vecf(5, 3);
    let got: Vec<u64> = fs
        .vector_search(d, &query(&q, 5), &user)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.ino)
        .collect();
    assert_eq!(got, brute(&visible, &q, 5), "k results, none unreadable");
    // Exact scans follow the same rules.
    let mut qq = query(&q, 5);
    qq.exact = true;
    let got: Vec<u64> = fs
        .vector_search(d, &qq, &user)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.ino)
        .collect();
    assert_eq!(got, brute(&visible, &q, 5));
    assert_eq!(
        fs.vector_search(private, &query(&q, 1), &user).unwrap_err(),
        FsError::AccessDenied
    );
}

#[test]
fn ivf_pending_vectors_are_searchable_before_training() {
    let mut fs = fresh(64 << 20, 4096);
    let d = mkdir(&mut fs, 1, "d");
    let mut s = spec(IndexKind::IvfFlat, 8);
    s.params = b"nlist=16,nprobe=16".to_vec();
    fs.index_create(d, s, false).unwrap();
    let mut model = BTreeMap::new();
    for i in 0..300u64 {
        let ino = file(&mut fs, d, &format!("v{i}"));
        set(&mut fs, ino, &vecf(i, 8)).unwrap();
        model.insert(ino, vecf(i, 8));
        if i == 100 {
            let info = fs.index_info(d).unwrap().unwrap();
            assert_eq!(info.pending, 101, "waiting for enough vectors to train");
            let q = vecf(1, 8);
            let m: BTreeMap<u64, Vec<f32>> = model.clone();
            assert_eq!(search_ids(&mut fs, d, &query(&q, 5)), brute(&m, &q, 5));
        }
    }
    let info = fs.index_info(d).unwrap().unwrap();
    assert!(info.pending < 300 - 255, "trained once 256 were there");
    assert_eq!(info.vectors, 300);
    let q = vecf(31337, 8);
    assert_eq!(
        search_ids(&mut fs, d, &query(&q, 10)),
        brute(&model, &q, 10),
        "nprobe = nlist is exact"
    );
    assert_eq!(
        fs.index_info(d).unwrap().unwrap().pending,
        0,
        "a search takes the rest in"
    );
    let mut fs = remount(fs);
    assert_eq!(
        search_ids(&mut fs, d, &query(&q, 10)),
        brute(&model, &q, 10)
    );
}

fn fsck(
    dev: MemDevice,
    mode: vexfs_core::check::RepairMode,
) -> (vexfs_core::check::CheckReport, MemDevice) {
    let opts = vexfs_core::check::CheckOptions {
        mode,
        ..Default::default()
    };
    vexfs_core::check::check(dev, &opts, &mut |_, _, _| true).unwrap()
}

#[test]
fn fsck_finds_and_rebuilds_stale_damaged_and_unplaced() {
    use vexfs_core::check::RepairMode;
    let mut fs = fresh(64 << 20, 4096);
    let d = mkdir(&mut fs, 1, "d");
    fs.index_create(d, spec(IndexKind::Hnsw, 4), false).unwrap();
    let mut model = BTreeMap::new();
    for i in 0..40u64 {
        let ino = file(&mut fs, d, &format!("x{i}"));
        set(&mut fs, ino, &vecf(i, 4)).unwrap();
        model.insert(ino, vecf(i, 4));
    }
    // A crash after a sync: the record is dirty.
    fs.sync().unwrap();
    let dev = fs.device().clone();
    drop(fs);
    let (r, dev) = fsck(dev, RepairMode::No);
    assert!(
        r.problems
            .iter()
            .any(|p| p.text.contains("changed after its last save")),
        "{:#?}",
        r.problems
    );
    let (r, dev) = fsck(dev, RepairMode::Preen);
    assert!(r.problems.iter().all(|p| p.fixed), "{:#?}", r.problems);
    let (r, dev) = fsck(dev, RepairMode::No);
    assert!(r.problems.is_empty(), "{:#?}", r.problems);

    // Damaged saved data: overwrite bytes of the index file.
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    let file_ino = fs.lookup(3, d.to_string().as_bytes()).unwrap().ino;
    fs.write(file_ino, 70, b"scribble", T0).unwrap();
    let dev = fs.unmount(T0).unwrap();
    let (r, dev) = fsck(dev, RepairMode::No);
    assert!(
        r.problems.iter().any(|p| p.text.contains("unusable")),
        "{:#?}",
        r.problems
    );
    let (_, dev) = fsck(dev, RepairMode::Preen);
    let (r, dev) = fsck(dev, RepairMode::No);
    assert!(r.problems.is_empty(), "{:#?}", r.problems);

    // An indexed file loses its primary link but keeps another one.
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    let x3 = fs.lookup(d, b"x3").unwrap().ino;
    fs.link(x3, d, b"again", T0).unwrap();
    fs.unlink(d, b"x3", T0).unwrap();
    assert_eq!(fs.index_info(d).unwrap().unwrap().vectors, 39);
    let dev = fs.unmount(T0).unwrap();
    let (r, dev) = fsck(dev, RepairMode::No);
    assert!(
        r.problems
            .iter()
            .any(|p| p.text.contains("no primary link")),
        "{:#?}",
        r.problems
    );
    let (_, dev) = fsck(dev, RepairMode::Preen);
    let (r, dev) = fsck(dev, RepairMode::No);
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    // Placed under its remaining link, back in the index.
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    assert_eq!(fs.index_info(d).unwrap().unwrap().vectors, 40);
    let q = vecf(1000, 4);
    assert_eq!(
        search_ids(&mut fs, d, &query(&q, 10)),
        brute(&model, &q, 10)
    );
    let hit = fs
        .vector_search(d, &query(&vecf(3, 4), 1), &Caller::root())
        .unwrap();
    assert_eq!(hit.path(&hit.hits[0]), Some(&b"again"[..]));
    fsck_clean(fs);
}

#[test]
fn background_inserts_are_searchable_at_once_and_absorbed_in_steps() {
    let mut fs = fresh(64 << 20, 4096);
    fs.set_background_inserts(Some(300));
    let d = mkdir(&mut fs, 1, "bg");
    let sub = mkdir(&mut fs, d, "sub");
    fs.index_create(d, spec(IndexKind::Hnsw, 8), false).unwrap();
    let mut model = BTreeMap::new();
    let mut in_sub = BTreeMap::new();
    for i in 0..250u64 {
        let dir = if i % 5 == 0 { sub } else { d };
        let ino = file(&mut fs, dir, &format!("b{i}"));
        let v = vecf(i, 8);
        set(&mut fs, ino, &v).unwrap();
        if dir == sub {
            in_sub.insert(ino, v.clone());
        }
        model.insert(ino, v);
    }
    let q = vecf(31337, 8);
    // Nothing was inserted into the graph: every search scans the pending
    // rows exactly, with the filter inside the scan.
    let info = fs.index_info(d).unwrap().unwrap();
    assert_eq!((info.vectors, info.pending), (250, 250));
    assert_eq!(fs.vectors_backlog(), 250);
    assert_eq!(
        search_ids(&mut fs, d, &query(&q, 10)),
        brute(&model, &q, 10)
    );
    let mut sq = query(&q, 5);
    sq.filter.subtree = Some(sub);
    assert_eq!(search_ids(&mut fs, d, &sq), brute(&in_sub, &q, 5));
    // Replacing and removing pending vectors.
    let first = *model.keys().next().unwrap();
    let v = vecf(4242, 8);
    set(&mut fs, first, &v).unwrap();
    model.insert(first, v);
    fs.unlink(d, b"b1", T0).unwrap();
    model.remove(&(first + 1));
    assert_eq!(
        search_ids(&mut fs, d, &query(&q, 10)),
        brute(&model, &q, 10)
    );
    // A save keeps the pending rows; the remounted index still has them.
    let changes = fs.vectors_changes();
    let mut fs = remount(fs);
    assert_eq!(fs.index_info(d).unwrap().unwrap().pending, 249);
    assert_eq!(
        search_ids(&mut fs, d, &query(&q, 10)),
        brute(&model, &q, 10)
    );
    // Without a worker the first search took them in.
    assert_eq!(fs.index_info(d).unwrap().unwrap().pending, 0);
    let mut fs = remount(fs);
    fs.set_background_inserts(Some(300));
    assert!(fs.vectors_changes() <= changes);
    for i in 250..300u64 {
        let ino = file(&mut fs, d, &format!("b{i}"));
        let v = vecf(i, 8);
        set(&mut fs, ino, &v).unwrap();
        model.insert(ino, v);
    }
    assert_eq!(fs.index_info(d).unwrap().unwrap().pending, 50);
    // The worker's steps: bounded batches until nothing is left.
    let mut steps = 0;
    loop {
        let a = fs.vectors_absorb(16).unwrap();
        assert!(a.rows <= 16);
        steps += 1;
        if a.left == 0 {
            break;
        }
    }
    assert_eq!(steps, 4);
    let info = fs.index_info(d).unwrap().unwrap();
    assert_eq!((info.vectors, info.pending), (299, 0));
    assert_eq!(fs.vectors_absorb(16).unwrap(), Default::default());
    assert_eq!(
        search_ids(&mut fs, d, &query(&q, 10)),
        brute(&model, &q, 10)
    );
    // Past the backlog limit a writer inserts the excess (and a little
    // more) itself.
    for i in 300..650u64 {
        let ino = file(&mut fs, d, &format!("b{i}"));
        let v = vecf(i, 8);
        set(&mut fs, ino, &v).unwrap();
        model.insert(ino, v);
        assert!(fs.index_info(d).unwrap().unwrap().pending <= 300);
    }
    assert_eq!(
        search_ids(&mut fs, d, &query(&q, 10)),
        brute(&model, &q, 10)
    );
    fsck_clean(fs);
}

/// One `VEXFS_IOC_BULK_SET` of `(name, vector)` items into `dir`; the
/// reply's (error, error_index, done).
fn bulk(
    fs: &mut Fs<MemDevice>,
    dir: u64,
    items: &[(&str, Vec<f32>)],
    create: bool,
    who: &Caller,
) -> (i32, u32, u32) {
    use vexfs_uapi as u;
    use vexfs_uapi::Request as _;
    let mut b = Box::new(u::Bulk::new_request());
    b.flags = if create { u::BULK_CREATE } else { 0 };
    b.dim = items[0].1.len() as u32;
    b.count = items.len() as u32;
    let mut names = Vec::new();
    for (n, _) in items {
        names.extend_from_slice(n.as_bytes());
        names.push(0);
    }
    b.names_len = names.len() as u32;
    b.data[..names.len()].copy_from_slice(&names);
    let mut off = names.len().next_multiple_of(4);
    for (_, v) in items {
        let raw = bytes(v);
        b.data[off..off + raw.len()].copy_from_slice(&raw);
        off += raw.len();
    }
    let mut session = vexfs_core::QuerySession::default();
    let mut out = vec![0u8; u::as_bytes(&*b).len()];
    let n = fs
        .vector_ioctl(
            dir,
            u::IOC_BULK_SET,
            u::as_bytes(&*b),
            &mut out,
            &mut session,
            who,
            T0,
        )
        .expect("bulk ioctl");
    let r: u::Bulk = u::from_bytes(&out[..n]).unwrap();
    (r.error, r.error_index, r.done)
}

#[test]
fn bulk_updates_need_write_permission_on_the_file_or_to_create_in_the_directory() {
    let mut fs = fresh(32 << 20, 4096);
    let open = fs.mkdir(1, b"open", 0o777, 0, 0, T0).unwrap().ino;
    let shut = fs.mkdir(1, b"shut", 0o755, 0, 0, T0).unwrap().ino;
    let mine = fs.create(shut, b"mine", 0o644, 2000, 2000, T0).unwrap().ino;
    let theirs = fs.create(shut, b"theirs", 0o644, 0, 0, T0).unwrap().ino;
    fs.create(open, b"ro", 0o444, 0, 0, T0).unwrap();
    let user = Caller {
        uid: 2000,
        gid: 2000,
        groups: vec![],
    };
    let v = vecf(1, 4);
    let eacces = -FsError::AccessDenied.errno();
    // Creating needs write permission on the directory.
    assert_eq!(
        bulk(&mut fs, open, &[("new", v.clone())], true, &user),
        (0, 0, 1)
    );
    assert_eq!(
        bulk(
            &mut fs,
            shut,
            &[("mine", v.clone()), ("new", v.clone())],
            true,
            &user
        ),
        (eacces, 1, 0),
        "no new name in a directory the caller may not write"
    );
    // An existing file needs write permission on itself, with or without
    // the create flag.
    assert_eq!(
        bulk(&mut fs, shut, &[("mine", v.clone())], true, &user),
        (0, 0, 1)
    );
    assert_eq!(
        bulk(&mut fs, shut, &[("theirs", v.clone())], false, &user),
        (eacces, 0, 0)
    );
    assert_eq!(
        bulk(&mut fs, open, &[("ro", v.clone())], true, &user),
        (eacces, 0, 0)
    );
    // A missing name without the create flag, and a failed call changes
    // nothing.
    assert_eq!(
        bulk(
            &mut fs,
            shut,
            &[("mine", vecf(2, 4)), ("nope", v.clone())],
            false,
            &user
        )
        .1,
        1
    );
    assert_eq!(fs.getxattr(mine, EMB).unwrap(), bytes(&v));
    assert_eq!(fs.getxattr(theirs, EMB).unwrap_err(), FsError::NoData);
    fsck_clean(fs);
}

#[test]
fn sq8_indexes_learn_their_ranges_from_a_sample_first() {
    for background in [None, Some(100_000)] {
        let mut fs = fresh(64 << 20, 4096);
        fs.set_background_inserts(background);
        let d = mkdir(&mut fs, 1, "q");
        let mut s = spec(IndexKind::Hnsw, 16);
        s.params = b"storage=sq8,ef_construction=100".to_vec();
        fs.index_create(d, s, false).unwrap();
        let mut model = BTreeMap::new();
        for i in 0..1500u64 {
            let ino = file(&mut fs, d, &format!("v{i}"));
            set(&mut fs, ino, &vecf(i, 16)).unwrap();
            model.insert(ino, vecf(i, 16));
            if i == 999 {
                // Not trained on the first few: all 1,000 still pending,
                // and searched exactly.
                assert_eq!(fs.index_info(d).unwrap().unwrap().pending, 1000);
                let q = vecf(7, 16);
                assert_eq!(search_ids(&mut fs, d, &query(&q, 5)), brute(&model, &q, 5));
            }
        }
        while fs.vectors_absorb(4096).unwrap().left > 0 {}
        let mut q = query(&vecf(4242, 16), 10);
        q.ef = Some(200);
        let got = search_ids(&mut fs, d, &q);
        let want = brute(&model, &q.vector, 10);
        let overlap = got.iter().filter(|i| want.contains(i)).count();
        assert!(overlap >= 8, "8-bit codes keep recall: {overlap}/10");
        let info = fs.index_info(d).unwrap().unwrap();
        assert_eq!((info.vectors, info.pending), (1500, 0));
        let mut fs = remount(fs);
        assert_eq!(search_ids(&mut fs, d, &q), got, "the saved codes load back");
        fsck_clean(fs);
    }
}
