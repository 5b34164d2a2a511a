//! Random operation sequences against a simple in-memory model, with
//! remounts in between; after every sequence the whole tree, contents,
//! link counts and xattrs must match the model.

mod common;
use common::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use vexfs_core::check::{check, CheckOptions};
use vexfs_core::format::ROOT_INO;
use vexfs_core::{FallocMode, FileType, Fs, FsError, MemDevice, RenameFlags, SetAttr, XattrFlags};

/// Model inode: a regular file's contents and xattrs.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    data: Vec<u8>,
    xattrs: BTreeMap<Vec<u8>, Vec<u8>>,
}

#[derive(Debug, Default)]
struct Model {
    /// path -> model inode id
    paths: BTreeMap<String, usize>,
    nodes: Vec<Node>,
    /// Extra (always empty) directories, moved around to exercise
    /// parent pointers and directory link counts.
    dirs: std::collections::BTreeSet<String>,
}

const SUBDIRS: [&str; 2] = ["x", "y"];

fn dir_path(dir: usize, name: usize) -> String {
    let d = DIRS[dir % DIRS.len()];
    let n = SUBDIRS[name % SUBDIRS.len()];
    if d.is_empty() {
        n.to_string()
    } else {
        format!("{d}/{n}")
    }
}

const DIRS: [&str; 3] = ["", "d0", "d1"];
const NAMES: [&str; 5] = [
    "a",
    "b",
    "c",
    "long-name-with-more-bytes-than-the-inline-root-holds-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "e",
];

fn path(dir: usize, name: usize) -> String {
    let d = DIRS[dir % DIRS.len()];
    let n = NAMES[name % NAMES.len()];
    if d.is_empty() {
        n.to_string()
    } else {
        format!("{d}/{n}")
    }
}

#[derive(Debug, Clone)]
enum Op {
    Create(usize, usize),
    Write(usize, usize, u32, Vec<u8>),
    Truncate(usize, usize, u32),
    Punch(usize, usize, u32, u32),
    /// fallocate: reserve unwritten blocks, extending the size unless the
    /// flag (KEEP_SIZE) is set.
    Alloc(usize, usize, u32, u32, bool),
    Unlink(usize, usize),
    Link(usize, usize, usize, usize),
    Rename(usize, usize, usize, usize),
    SetXattr(usize, usize, u8, usize),
    RemoveXattr(usize, usize, u8),
    Mkdir(usize, usize),
    Rmdir(usize, usize),
    RenameDir(usize, usize, usize, usize),
    Remount,
}

fn op() -> impl Strategy<Value = Op> {
    let loc = (0usize..3, 0usize..5);
    prop_oneof![
        3 => loc.clone().prop_map(|(d, n)| Op::Create(d, n)),
        4 => (loc.clone(), 0u32..300_000, prop::collection::vec(any::<u8>(), 1..9000))
            .prop_map(|((d, n), o, v)| Op::Write(d, n, o, v)),
        1 => (loc.clone(), 0u32..300_000).prop_map(|((d, n), s)| Op::Truncate(d, n, s)),
        1 => (loc.clone(), 0u32..200_000, 1u32..50_000).prop_map(|((d, n), o, l)| Op::Punch(d, n, o, l)),
        1 => (loc.clone(), 0u32..200_000, 1u32..50_000, any::<bool>()).prop_map(|((d, n), o, l, k)| Op::Alloc(d, n, o, l, k)),
        2 => loc.clone().prop_map(|(d, n)| Op::Unlink(d, n)),
        1 => (loc.clone(), loc.clone()).prop_map(|((a, b), (c, d))| Op::Link(a, b, c, d)),
        2 => (loc.clone(), loc.clone()).prop_map(|((a, b), (c, d))| Op::Rename(a, b, c, d)),
        1 => (loc.clone(), 0u8..3, 0usize..20000).prop_map(|((d, n), k, len)| Op::SetXattr(d, n, k, len)),
        1 => (loc, 0u8..3).prop_map(|((d, n), k)| Op::RemoveXattr(d, n, k)),
        1 => (0usize..3, 0usize..2).prop_map(|(d, n)| Op::Mkdir(d, n)),
        1 => (0usize..3, 0usize..2).prop_map(|(d, n)| Op::Rmdir(d, n)),
        1 => (0usize..3, 0usize..2, 0usize..3, 0usize..2).prop_map(|(a, b, c, d)| Op::RenameDir(a, b, c, d)),
        1 => Just(Op::Remount),
    ]
}

fn dir_ino(fs: &mut Fs<MemDevice>, dir: usize) -> u64 {
    let d = DIRS[dir % DIRS.len()];
    if d.is_empty() {
        ROOT_INO
    } else {
        fs.lookup(ROOT_INO, d.as_bytes()).unwrap().ino
    }
}

fn name_of(n: usize) -> &'static [u8] {
    NAMES[n % NAMES.len()].as_bytes()
}

fn apply(fs: &mut Fs<MemDevice>, m: &mut Model, op: &Op) {
    let t = T0;
    match op {
        Op::Create(d, n) => {
            let p = path(*d, *n);
            let di = dir_ino(fs, *d);
            let r = fs.create(di, name_of(*n), 0o644, 0, 0, t);
            if m.paths.contains_key(&p) {
                assert_eq!(r.unwrap_err(), FsError::Exists);
            } else {
                r.unwrap();
                m.nodes.push(Node {
                    data: vec![],
                    xattrs: BTreeMap::new(),
                });
                m.paths.insert(p, m.nodes.len() - 1);
            }
        }
        Op::Write(d, n, off, v) => {
            let Some(&id) = m.paths.get(&path(*d, *n)) else {
                return;
            };
            let di = dir_ino(fs, *d);
            let ino = fs.lookup(di, name_of(*n)).unwrap().ino;
            fs.write(ino, u64::from(*off), v, t).unwrap();
            {
                let data = &mut m.nodes[id].data;
                let end = *off as usize + v.len();
                if data.len() < end {
                    data.resize(end, 0);
                }
                data[*off as usize..end].copy_from_slice(v);
            }
        }
        Op::Truncate(d, n, s) => {
            let Some(&id) = m.paths.get(&path(*d, *n)) else {
                return;
            };
            let di = dir_ino(fs, *d);
            let ino = fs.lookup(di, name_of(*n)).unwrap().ino;
            fs.setattr(
                ino,
                &SetAttr {
                    size: Some(u64::from(*s)),
                    ..Default::default()
                },
                t,
            )
            .unwrap();
            {
                let data = &mut m.nodes[id].data;
                data.resize(*s as usize, 0);
            }
        }
        Op::Punch(d, n, o, l) => {
            let Some(&id) = m.paths.get(&path(*d, *n)) else {
                return;
            };
            let di = dir_ino(fs, *d);
            let ino = fs.lookup(di, name_of(*n)).unwrap().ino;
            fs.fallocate(ino, u64::from(*o), u64::from(*l), FallocMode::PunchHole, t)
                .unwrap();
            {
                let data = &mut m.nodes[id].data;
                let lo = (*o as usize).min(data.len());
                let hi = (*o as usize + *l as usize).min(data.len());
                data[lo..hi].fill(0);
            }
        }
        Op::Alloc(d, n, o, l, keep) => {
            let Some(&id) = m.paths.get(&path(*d, *n)) else {
                return;
            };
            let di = dir_ino(fs, *d);
            let ino = fs.lookup(di, name_of(*n)).unwrap().ino;
            let mode = FallocMode::Allocate { keep_size: *keep };
            fs.fallocate(ino, u64::from(*o), u64::from(*l), mode, t)
                .unwrap();
            let data = &mut m.nodes[id].data;
            let end = *o as usize + *l as usize;
            if !keep && end > data.len() {
                data.resize(end, 0);
            }
        }
        Op::Unlink(d, n) => {
            let p = path(*d, *n);
            let di = dir_ino(fs, *d);
            let r = fs.unlink(di, name_of(*n), t);
            if m.paths.remove(&p).is_some() {
                r.unwrap()
            } else {
                assert_eq!(r.unwrap_err(), FsError::NotFound)
            }
        }
        Op::Link(a, b, c, d) => {
            let (src, dst) = (path(*a, *b), path(*c, *d));
            let Some(&id) = m.paths.get(&src) else { return };
            let sdi = dir_ino(fs, *a);
            let ino = fs.lookup(sdi, name_of(*b)).unwrap().ino;
            let ddi = dir_ino(fs, *c);
            let r = fs.link(ino, ddi, name_of(*d), t);
            match m.paths.entry(dst) {
                std::collections::btree_map::Entry::Occupied(_) => {
                    assert_eq!(r.unwrap_err(), FsError::Exists)
                }
                std::collections::btree_map::Entry::Vacant(v) => {
                    r.unwrap();
                    v.insert(id);
                }
            }
        }
        Op::Rename(a, b, c, d) => {
            let (src, dst) = (path(*a, *b), path(*c, *d));
            let sdi = dir_ino(fs, *a);
            let ddi = dir_ino(fs, *c);
            let r = fs.rename(
                sdi,
                name_of(*b),
                ddi,
                name_of(*d),
                RenameFlags::default(),
                t,
            );
            match m.paths.get(&src).copied() {
                None => assert_eq!(r.unwrap_err(), FsError::NotFound),
                Some(id) => {
                    r.unwrap();
                    if m.paths.get(&dst) != Some(&id) {
                        m.paths.remove(&src);
                        m.paths.insert(dst, id);
                    }
                }
            }
        }
        Op::SetXattr(d, n, k, len) => {
            let Some(&id) = m.paths.get(&path(*d, *n)) else {
                return;
            };
            let di = dir_ino(fs, *d);
            let ino = fs.lookup(di, name_of(*n)).unwrap().ino;
            let name = format!("user.k{k}").into_bytes();
            let val: Vec<u8> = (0..*len).map(|i| (i * 31 + *k as usize) as u8).collect();
            fs.setxattr(ino, &name, &val, XattrFlags::default(), t)
                .unwrap();
            {
                let xattrs = &mut m.nodes[id].xattrs;
                xattrs.insert(name, val);
            }
        }
        Op::RemoveXattr(d, n, k) => {
            let Some(&id) = m.paths.get(&path(*d, *n)) else {
                return;
            };
            let di = dir_ino(fs, *d);
            let ino = fs.lookup(di, name_of(*n)).unwrap().ino;
            let name = format!("user.k{k}").into_bytes();
            let r = fs.removexattr(ino, &name, t);
            {
                let xattrs = &mut m.nodes[id].xattrs;
                if xattrs.remove(&name).is_some() {
                    r.unwrap()
                } else {
                    assert_eq!(r.unwrap_err(), FsError::NoData)
                }
            }
        }
        Op::Mkdir(d, n) => {
            let p = dir_path(*d, *n);
            let di = dir_ino(fs, *d);
            let r = fs.mkdir(di, SUBDIRS[*n].as_bytes(), 0o755, 0, 0, t);
            if m.dirs.insert(p) {
                r.unwrap();
            } else {
                assert_eq!(r.unwrap_err(), FsError::Exists)
            }
        }
        Op::Rmdir(d, n) => {
            let p = dir_path(*d, *n);
            let di = dir_ino(fs, *d);
            let r = fs.rmdir(di, SUBDIRS[*n].as_bytes(), t);
            if m.dirs.remove(&p) {
                r.unwrap()
            } else {
                assert_eq!(r.unwrap_err(), FsError::NotFound)
            }
        }
        Op::RenameDir(a, b, c, d) => {
            let (src, dst) = (dir_path(*a, *b), dir_path(*c, *d));
            let sdi = dir_ino(fs, *a);
            let ddi = dir_ino(fs, *c);
            let r = fs.rename(
                sdi,
                SUBDIRS[*b].as_bytes(),
                ddi,
                SUBDIRS[*d].as_bytes(),
                RenameFlags::default(),
                t,
            );
            if m.dirs.contains(&src) {
                r.unwrap();
                m.dirs.remove(&src);
                m.dirs.insert(dst);
            } else {
                assert_eq!(r.unwrap_err(), FsError::NotFound);
            }
        }
        Op::Remount => {}
    }
}

/// Read the whole tree back and compare it with the model.
fn compare(fs: &mut Fs<MemDevice>, m: &Model) {
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut dirs_seen = std::collections::BTreeSet::new();
    let mut stack = vec![(String::new(), ROOT_INO)];
    while let Some((prefix, dino)) = stack.pop() {
        let mut subdirs = 0u32;
        let mut off = 0;
        loop {
            let batch = fs.readdir(dino, off, 7).unwrap();
            let Some(last) = batch.last() else { break };
            off = last.offset;
            for e in batch {
                let name = String::from_utf8(e.name).unwrap();
                if name == "." || name == ".." || name == "lost+found" {
                    continue;
                }
                let p = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}/{name}")
                };
                if e.file_type == FileType::Directory {
                    subdirs += 1;
                    assert_eq!(fs.lookup(e.ino, b"..").unwrap().ino, dino, "{p}: parent");
                    if !DIRS.contains(&p.as_str()) {
                        dirs_seen.insert(p.clone());
                    }
                    stack.push((p, e.ino));
                } else {
                    seen.insert(p, e.ino);
                }
            }
        }
        let lost_found = u32::from(dino == ROOT_INO);
        assert_eq!(
            fs.getattr(dino).unwrap().nlink,
            2 + subdirs + lost_found,
            "{prefix}: directory link count"
        );
    }
    assert_eq!(dirs_seen, m.dirs, "directories differ");
    let expected: Vec<&String> = m.paths.keys().collect();
    let got: Vec<&String> = seen.keys().collect();
    assert_eq!(got, expected, "namespace differs");
    for (p, id) in &m.paths {
        let ino = seen[p];
        let st = fs.getattr(ino).unwrap();
        let links = m.paths.values().filter(|&&v| v == *id).count() as u32;
        assert_eq!(st.nlink, links, "{p}: link count");
        {
            let Node { data, xattrs } = &m.nodes[*id];
            assert_eq!(st.size, data.len() as u64, "{p}: size");
            let got = fs.read(ino, 0, data.len() + 10).unwrap();
            assert!(got == *data, "{p}: contents differ");
            for (k, v) in xattrs {
                assert_eq!(&fs.getxattr(ino, k).unwrap(), v, "{p}: xattr");
            }
            let list = fs.listxattr(ino).unwrap();
            assert_eq!(
                list.split(|&b| b == 0).filter(|s| !s.is_empty()).count(),
                xattrs.len()
            );
        }
    }
}

fn run(ops: &[Op], block_size: u32) {
    let mut fs = fresh(48 << 20, block_size);
    fs.mkdir(ROOT_INO, b"d0", 0o755, 0, 0, T0).unwrap();
    fs.mkdir(ROOT_INO, b"d1", 0o755, 0, 0, T0).unwrap();
    let free0 = fs.statfs();
    let mut m = Model::default();
    for op in ops {
        if matches!(op, Op::Remount) {
            fs = remount(fs);
            compare(&mut fs, &m);
        } else {
            apply(&mut fs, &mut m, op);
        }
    }
    let mut fs = remount(fs);
    compare(&mut fs, &m);
    // The checker must agree that the image is consistent.
    let dev = fs.unmount(T0).unwrap();
    let (report, dev) = check(dev, &CheckOptions::default(), &mut |_, _, _| true).unwrap();
    assert_eq!(report.problems, vec![], "fsck found problems");
    let mut fs = Fs::mount(dev, Default::default(), T0).unwrap();
    // Delete everything: all space must come back.
    for p in m.dirs.iter().rev() {
        let (d, n) = p.rsplit_once('/').map_or((ROOT_INO, p.as_str()), |(d, n)| {
            (fs.lookup(ROOT_INO, d.as_bytes()).unwrap().ino, n)
        });
        fs.rmdir(d, n.as_bytes(), T0).unwrap();
    }
    for p in m.paths.keys() {
        let (d, n) = p.rsplit_once('/').map_or((ROOT_INO, p.as_str()), |(d, n)| {
            (fs.lookup(ROOT_INO, d.as_bytes()).unwrap().ino, n)
        });
        fs.unlink(d, n.as_bytes(), T0).unwrap();
    }
    let fs = remount(fs);
    assert_eq!(fs.statfs(), free0, "space leaked");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn model_4k(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops, 4096);
    }
    #[test]
    fn model_1k(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops, 1024);
    }
}
