//! Crafted images whose checksums are all valid: tree nodes edited after
//! the fact and re-sealed, as an attacker (or a buggy writer) would. Every
//! operation must end in bounded time with a corruption error (EUCLEAN) or
//! a normal answer, never hang, panic or write outside the file's blocks,
//! and fsck must still report the damage.

mod common;
use common::*;
use proptest::prelude::*;
use std::sync::mpsc;
use std::time::Duration;
use vexfs_core::check::{check, CheckOptions, ProblemKind, RepairMode};
use vexfs_core::format::header::{self, HEADER_SIZE, NODE_MAGIC};
use vexfs_core::format::inode::{Inode, INODE_SIZE};
use vexfs_core::format::node;
use vexfs_core::format::superblock::Superblock;
use vexfs_core::format::ROOT_INO;
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{Fs, FsError, Location, MemDevice, MountOptions};

const BS: usize = 1024;
/// Far longer than any operation here takes; reaching it means a hang.
const TIMEOUT: Duration = Duration::from_secs(20);

fn sb_of(dev: &MemDevice) -> Superblock {
    Superblock::decode(&dev.data[..512]).unwrap()
}

fn inode_of(dev: &MemDevice, ino: u64) -> Inode {
    let (blk, off) = sb_of(dev).inode_location(ino).unwrap();
    let at = blk as usize * BS + off;
    Inode::decode(&dev.data[at..at + INODE_SIZE], ino).unwrap()
}

/// Edit an inode record and re-seal its checksum.
fn edit_inode(dev: &mut MemDevice, ino: u64, f: impl FnOnce(&mut Inode)) {
    let (blk, off) = sb_of(dev).inode_location(ino).unwrap();
    let at = blk as usize * BS + off;
    let mut i = Inode::decode(&dev.data[at..at + INODE_SIZE], ino).unwrap();
    f(&mut i);
    i.encode(&mut dev.data[at..at + INODE_SIZE], ino).unwrap();
}

fn block(dev: &mut MemDevice, nr: u64) -> &mut [u8] {
    &mut dev.data[nr as usize * BS..(nr as usize + 1) * BS]
}

/// Edit the body of tree node block `nr` and re-seal the block checksum.
fn edit_node(dev: &mut MemDevice, nr: u64, f: impl FnOnce(&mut [u8])) {
    let b = block(dev, nr);
    let owner = header::verify(b, NODE_MAGIC, nr, "node").unwrap();
    f(&mut b[HEADER_SIZE..]);
    header::seal(b, NODE_MAGIC, nr, owner).unwrap();
}

/// Tree node blocks of `ino`: (block, level), highest level first.
fn tree_nodes(dev: &MemDevice, ino: u64) -> Vec<(u64, u16)> {
    let mut out: Vec<(u64, u16)> = tree_edges(dev, ino)
        .into_iter()
        .map(|(_, c, level)| (c, level))
        .collect();
    out.sort_by_key(|&(b, level)| (std::cmp::Reverse(level), b));
    out
}

fn leaves(dev: &MemDevice, ino: u64) -> Vec<u64> {
    tree_nodes(dev, ino)
        .into_iter()
        .filter(|&(_, l)| l == 0)
        .map(|(b, _)| b)
        .collect()
}

fn internal_blocks(dev: &MemDevice, ino: u64) -> Vec<u64> {
    tree_nodes(dev, ino)
        .into_iter()
        .filter(|&(_, l)| l > 0)
        .map(|(b, _)| b)
        .collect()
}

fn body_of(dev: &MemDevice, nr: u64) -> Vec<u8> {
    dev.data[nr as usize * BS + HEADER_SIZE..(nr as usize + 1) * BS].to_vec()
}

fn slot(i: usize) -> usize {
    node::NODE_HEADER + i * node::SLOT_SIZE
}

fn set_key(body: &mut [u8], i: usize, k: u64) {
    body[slot(i)..slot(i) + 8].copy_from_slice(&k.to_le_bytes());
}

fn set_child(body: &mut [u8], i: usize, c: u64) {
    let off = u32::from_le_bytes(body[slot(i) + 8..slot(i) + 12].try_into().unwrap()) as usize;
    body[off..off + 8].copy_from_slice(&c.to_le_bytes());
}

/// Names in the big directory.
fn name(i: usize) -> Vec<u8> {
    format!("entry-{i:04}").into_bytes()
}
const ENTRIES: usize = 400;

struct Crafted {
    dev: MemDevice,
    dir: u64,
    file: u64,
    /// The file's contents (every other 1 KiB block written: one extent each).
    content: Vec<u8>,
}

/// A directory big enough for a three-level tree (root in the inode,
/// internal blocks, leaves) and a file with one extent per written block.
fn build() -> Crafted {
    let mut fs = fresh(32 << 20, BS as u32);
    let dir = fs.mkdir(ROOT_INO, b"big", 0o755, 0, 0, T0).unwrap().ino;
    for i in 0..ENTRIES {
        fs.create(dir, &name(i), 0o644, 0, 0, T0).unwrap();
    }
    let file = fs.create(ROOT_INO, b"file", 0o644, 0, 0, T0).unwrap().ino;
    let blocks = 200;
    let mut content = vec![0u8; blocks * BS];
    for b in (0..blocks).step_by(2) {
        let data = vec![(b % 251) as u8 + 1; BS];
        content[b * BS..(b + 1) * BS].copy_from_slice(&data);
        fs.write(file, (b * BS) as u64, &data, T0).unwrap();
    }
    // The size ends with the last block written.
    content.truncate((blocks - 1) * BS);
    Crafted {
        dev: fs.unmount(T0).unwrap(),
        dir,
        file,
        content,
    }
}

/// Run `f` on a mounted filesystem in a thread; fail if it does not end
/// within [`TIMEOUT`] (a hang) or panics.
fn bounded<T: Send + 'static>(
    fs: Fs<MemDevice>,
    f: impl FnOnce(&mut Fs<MemDevice>) -> T + Send + 'static,
) -> (Fs<MemDevice>, T) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut fs = fs;
        let r = f(&mut fs);
        let _ = tx.send((fs, r));
    });
    match rx.recv_timeout(TIMEOUT) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("operation did not finish: a hang"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("operation panicked"),
    }
}

fn mount(dev: MemDevice) -> Fs<MemDevice> {
    Fs::mount(dev, MountOptions::default(), T0).expect("mount")
}

fn is_corrupt<T>(r: &Result<T, FsError>) -> bool {
    matches!(r, Err(e @ FsError::Corrupt(_)) if e.errno() == 117)
}

/// Every failure is a corruption error; anything else is a normal answer.
fn only_corrupt<T: std::fmt::Debug>(what: &str, r: &Result<T, FsError>) {
    if let Err(e) = r {
        assert!(
            matches!(e, FsError::Corrupt(_) | FsError::NotFound | FsError::Exists),
            "{what}: unexpected {e:?}"
        );
    }
}

/// What a battery of directory operations gave.
#[derive(Debug, Default)]
struct DirOutcome {
    lookups_corrupt: usize,
    lookups_ok: usize,
    creates_corrupt: usize,
    readdir_corrupt: bool,
    sample_error: Option<String>,
}

fn dir_ops(fs: Fs<MemDevice>, dir: u64) -> (Fs<MemDevice>, DirOutcome) {
    bounded(fs, move |fs| {
        let mut o = DirOutcome::default();
        for i in 0..ENTRIES {
            let r = fs.lookup(dir, &name(i));
            only_corrupt("lookup", &r);
            if is_corrupt(&r) {
                o.lookups_corrupt += 1;
                if o.sample_error.is_none() {
                    o.sample_error = r.as_ref().err().map(|e| e.to_string());
                }
            } else if r.is_ok() {
                o.lookups_ok += 1;
            }
        }
        for i in 0..50 {
            let r = fs.create(dir, format!("new-{i}").as_bytes(), 0o644, 0, 0, T0);
            only_corrupt("create", &r);
            o.creates_corrupt += usize::from(is_corrupt(&r));
        }
        // Full listing, the way a front end pages through it.
        let mut off = 0;
        loop {
            match fs.readdir(dir, off, 64) {
                Ok(batch) if batch.is_empty() => break,
                Ok(batch) => {
                    let last = batch.last().unwrap().offset;
                    assert!(last > off, "readdir offsets must increase");
                    off = last;
                }
                Err(e) => {
                    assert!(matches!(e, FsError::Corrupt(_)), "readdir: {e:?}");
                    o.readdir_corrupt = true;
                    break;
                }
            }
        }
        o
    })
}

/// fsck -f -n must report a damaged tree for `ino`.
fn fsck_reports_tree(dev: MemDevice, ino: u64) -> MemDevice {
    let opts = CheckOptions {
        mode: RepairMode::No,
        force: true,
        now: T0,
    };
    let (report, dev) = bounded_check(dev, opts);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::Tree && p.ino == ino),
        "fsck did not report inode {ino}'s tree: {:#?}",
        report.problems
    );
    dev
}

fn bounded_check(
    dev: MemDevice,
    opts: CheckOptions,
) -> (vexfs_core::check::CheckReport, MemDevice) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(check(dev, &opts, &mut |_, _, _| true).expect("check"));
    });
    rx.recv_timeout(TIMEOUT).expect("fsck hung or panicked")
}

#[test]
fn image_has_the_expected_shape() {
    let c = build();
    let dir = inode_of(&c.dev, c.dir);
    assert_eq!(
        node::header(&dir.data).unwrap().level,
        2,
        "three-level tree"
    );
    assert!(!internal_blocks(&c.dev, c.dir).is_empty());
    assert!(leaves(&c.dev, c.dir).len() > 4);
    assert!(
        !leaves(&c.dev, c.file).is_empty(),
        "extents in block leaves"
    );
    let (fs, o) = dir_ops(mount(c.dev), c.dir);
    let (fs, data) = bounded(fs, move |fs| fs.read(c.file, 0, 1 << 20).unwrap());
    assert!(data == c.content);
    assert_eq!(o.lookups_ok, ENTRIES);
    assert_eq!(o.lookups_corrupt + o.creates_corrupt, 0);
    assert!(!o.readdir_corrupt);
    let dev = fs.unmount(T0).unwrap();
    let (r, _) = bounded_check(dev, CheckOptions::default());
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
}

#[test]
fn directory_leaf_keys_out_of_order() {
    let mut c = build();
    let leaf = leaves(&c.dev, c.dir)[2];
    let body = body_of(&c.dev, leaf);
    let h = node::header(&body).unwrap();
    assert!(h.nitems >= 4);
    let (a, b) = (node::key(&body, 1).unwrap(), node::key(&body, 2).unwrap());
    edit_node(&mut c.dev, leaf, |body| {
        set_key(body, 1, b);
        set_key(body, 2, a);
    });
    let (fs, o) = dir_ops(mount(c.dev), c.dir);
    assert!(o.lookups_corrupt >= h.nitems, "{o:?}");
    assert!(o.lookups_ok > 0, "other leaves stay readable: {o:?}");
    assert!(o.readdir_corrupt, "{o:?}");
    // The error names the inode and the block.
    let text = o.sample_error.unwrap();
    assert!(
        text.contains(&format!("inode {}, block {leaf}", c.dir)),
        "{text}"
    );
    let (fs, r) = bounded(fs, move |fs| {
        let dir = c.dir;
        let leaf_name = (0..ENTRIES)
            .map(name)
            .find(|n| is_corrupt(&fs.lookup(dir, n)))
            .unwrap();
        let e = fs.lookup(dir, &leaf_name).unwrap_err();
        (
            e.location(),
            fs.unlink(dir, &leaf_name, T0),
            fs.rename(dir, &leaf_name, ROOT_INO, b"moved", Default::default(), T0),
        )
    });
    assert_eq!(
        r.0,
        Some(Location::InodeBlock {
            ino: c.dir,
            block: leaf
        })
    );
    assert!(is_corrupt(&r.1) && is_corrupt(&r.2), "{r:?}");
    let dev = fs.unmount(T0).unwrap();
    fsck_reports_tree(dev, c.dir);
}

#[test]
fn child_pointer_into_the_inode_table() {
    let mut c = build();
    let sb = sb_of(&c.dev);
    let internal = internal_blocks(&c.dev, c.dir)[0];
    edit_node(&mut c.dev, internal, |body| {
        set_child(body, 1, sb.inode_table_start)
    });
    let (fs, o) = dir_ops(mount(c.dev), c.dir);
    assert!(o.lookups_corrupt > 0 && o.readdir_corrupt, "{o:?}");
    let dev = fs.unmount(T0).unwrap();
    fsck_reports_tree(dev, c.dir);
}

#[test]
fn root_child_pointer_into_the_inode_table() {
    let mut c = build();
    let sb = sb_of(&c.dev);
    edit_inode(&mut c.dev, c.dir, |i| {
        set_child(&mut i.data, 0, sb.inode_table_start)
    });
    let (fs, o) = dir_ops(mount(c.dev), c.dir);
    assert!(o.lookups_corrupt > 0 && o.readdir_corrupt, "{o:?}");
    let dev = fs.unmount(T0).unwrap();
    fsck_reports_tree(dev, c.dir);
}

#[test]
fn node_claims_more_items_than_fit() {
    let mut c = build();
    let leaf = leaves(&c.dev, c.dir)[1];
    edit_node(&mut c.dev, leaf, |body| {
        body[2..4].copy_from_slice(&200u16.to_le_bytes())
    });
    let (fs, o) = dir_ops(mount(c.dev), c.dir);
    assert!(o.lookups_corrupt > 0 && o.readdir_corrupt, "{o:?}");
    let dev = fs.unmount(T0).unwrap();
    let mut dev = fsck_reports_tree(dev, c.dir);

    // One more item than written: the extra slot is stale bytes.
    let leaf = leaves(&dev, c.file)[0];
    edit_node(&mut dev, leaf, |body| {
        let n = u16::from_le_bytes([body[2], body[3]]);
        body[2..4].copy_from_slice(&(n + 1).to_le_bytes());
    });
    let (fs, r) = bounded(mount(dev), move |fs| fs.read(c.file, 0, 1 << 20));
    assert!(is_corrupt(&r), "{r:?}");
    fsck_reports_tree(fs.unmount(T0).unwrap(), c.file);
}

#[test]
fn internal_node_pointing_at_itself_or_an_ancestor() {
    let mut c = build();
    let internal = internal_blocks(&c.dev, c.dir)[0];
    edit_node(&mut c.dev, internal, |body| set_child(body, 1, internal));
    let (fs, o) = dir_ops(mount(c.dev), c.dir);
    assert!(o.lookups_corrupt > 0 && o.readdir_corrupt, "{o:?}");
    let dev = fs.unmount(T0).unwrap();
    fsck_reports_tree(dev, c.dir);

    // A four-level tree: a level-1 node pointing back at its level-2
    // parent would make a descent cycle.
    let opts = MkfsOptions {
        block_size: BS as u32,
        inode_count: Some(8000),
        ..Default::default()
    };
    let dev = format(MemDevice::new(24 << 20), &opts, T0, &mut |_, _| {}).unwrap();
    let mut fs = mount(dev);
    let dir = fs.mkdir(ROOT_INO, b"deep", 0o755, 0, 0, T0).unwrap().ino;
    for i in 0..7000 {
        fs.create(dir, format!("e{i}").as_bytes(), 0o644, 0, 0, T0)
            .unwrap();
    }
    let mut dev = fs.unmount(T0).unwrap();
    assert_eq!(node::header(&inode_of(&dev, dir).data).unwrap().level, 3);
    let (parent, child) = tree_edges(&dev, dir)
        .into_iter()
        .find(|&(p, _, level)| p.is_some() && level == 1)
        .map(|(p, c, _)| (p.unwrap(), c))
        .unwrap();
    edit_node(&mut dev, child, |body| set_child(body, 0, parent));
    let (fs, o) = dir_ops(mount(dev), dir);
    assert!(o.readdir_corrupt, "{o:?}");
    let (fs, r) = bounded(fs, move |fs| {
        (0..7000)
            .map(|i| fs.lookup(dir, format!("e{i}").as_bytes()))
            .filter(is_corrupt)
            .count()
    });
    assert!(r > 0);
    fsck_reports_tree(fs.unmount(T0).unwrap(), dir);
}

/// Every (parent block or None for the root, child block, child level).
fn tree_edges(dev: &MemDevice, ino: u64) -> Vec<(Option<u64>, u64, u16)> {
    let mut out = Vec::new();
    let mut queue = vec![(None, inode_of(dev, ino).data.to_vec())];
    while let Some((me, body)) = queue.pop() {
        let h = node::validate(&body).unwrap();
        if h.level == 0 {
            continue;
        }
        for i in 0..h.nitems {
            let c = node::child(&body, i).unwrap();
            out.push((me, c, h.level - 1));
            queue.push((Some(c), body_of(dev, c)));
        }
    }
    out
}

/// The inode table as bytes, to prove nothing was written there.
fn inode_table(dev: &MemDevice) -> Vec<u8> {
    let sb = sb_of(dev);
    let s = sb.inode_table_start as usize * BS;
    let e = (sb.inode_table_start + sb.inode_table_blocks) as usize * BS;
    dev.data[s..e].to_vec()
}

#[test]
fn extent_key_changed_so_the_mapping_wraps() {
    let mut c = build();
    let leaf = leaves(&c.dev, c.file)[0];
    let body = body_of(&c.dev, leaf);
    let h = node::header(&body).unwrap();
    assert!(h.nitems >= 3);
    // Slot 1 claims to start after slot 2: a lookup for a block between
    // them used to find slot 1 as its floor and wrap `lblk - logical`.
    let k2 = node::key(&body, 2).unwrap();
    edit_node(&mut c.dev, leaf, |body| set_key(body, 1, k2 + 1));
    let first_key = node::key(&body, 0).unwrap();
    let k1 = node::key(&body, 1).unwrap();
    let table = inode_table(&c.dev);
    let file = c.file;
    let (fs, r) = bounded(mount(c.dev), move |fs| {
        let off = (k1 * BS as u64) + 10;
        let read = fs.read(file, off, BS);
        let write = fs.write(file, off, &[0xEE; 3000], T0);
        let read0 = fs.read(file, first_key * BS as u64, BS);
        (read, write, read0)
    });
    assert!(is_corrupt(&r.0) && is_corrupt(&r.1), "{r:?}");
    only_corrupt("read", &r.2);
    let dev = fs.unmount(T0).unwrap();
    assert!(
        inode_table(&dev) == table,
        "a write reached the inode table"
    );
    fsck_reports_tree(dev, c.file);
}

#[test]
fn extent_key_in_the_root_changed() {
    // A small file keeps its extents in the inode's root node.
    let mut fs = fresh(8 << 20, BS as u32);
    let f = fs.create(ROOT_INO, b"small", 0o644, 0, 0, T0).unwrap().ino;
    for b in [0u64, 2, 4] {
        fs.write(f, b * BS as u64, &[7u8; BS], T0).unwrap();
    }
    let mut dev = fs.unmount(T0).unwrap();
    let table = inode_table(&dev);
    edit_inode(&mut dev, f, |i| {
        assert_eq!(node::header(&i.data).unwrap().nitems, 3);
        set_key(&mut i.data, 0, 3);
    });
    let (fs, r) = bounded(mount(dev), move |fs| {
        (
            fs.read(f, 0, 6 * BS),
            fs.write(f, 3 * BS as u64, &[1; 100], T0),
            fs.getattr(f),
        )
    });
    assert!(is_corrupt(&r.0) && is_corrupt(&r.1), "{r:?}");
    assert!(r.2.is_ok(), "the inode itself is sound");
    let dev = fs.unmount(T0).unwrap();
    // Only the file's own inode slot may differ (its record is rewritten).
    let sb = sb_of(&dev);
    let (blk, off) = sb.inode_location(f).unwrap();
    let slot = (blk - sb.inode_table_start) as usize * BS + off;
    let mut now = inode_table(&dev);
    now[slot..slot + INODE_SIZE].copy_from_slice(&table[slot..slot + INODE_SIZE]);
    assert!(now == table);
    fsck_reports_tree(dev, f);
}

#[test]
fn extent_physical_run_outside_the_data_area() {
    let c = build();
    let sb = sb_of(&c.dev);
    let leaf = leaves(&c.dev, c.file)[0];
    let body = body_of(&c.dev, leaf);
    let k = node::key(&body, 0).unwrap();
    // Physical start at the inode table, and one whose end wraps.
    for physical in [sb.inode_table_start, u64::MAX - 1] {
        let mut dev = c.dev.clone();
        edit_node(&mut dev, leaf, |body| set_child(body, 0, physical));
        let table = inode_table(&dev);
        let file = c.file;
        let (fs, r) = bounded(mount(dev), move |fs| {
            (
                fs.read(file, k * BS as u64, BS),
                fs.write(file, k * BS as u64, &[9; BS], T0),
            )
        });
        assert!(is_corrupt(&r.0) && is_corrupt(&r.1), "{r:?}");
        let dev = fs.unmount(T0).unwrap();
        assert!(inode_table(&dev) == table);
        fsck_reports_tree(dev, c.file);
    }
}

#[test]
fn huge_inode_fields_are_corruption_not_overflow() {
    let mut fs = fresh(8 << 20, BS as u32);
    let f = fs.create(ROOT_INO, b"f", 0o644, 0, 0, T0).unwrap().ino;
    fs.write(f, 0, b"data", T0).unwrap();
    let d = fs.mkdir(ROOT_INO, b"d", 0o755, 0, 0, T0).unwrap().ino;
    let mut dev = fs.unmount(T0).unwrap();
    edit_inode(&mut dev, f, |i| {
        i.size = u64::MAX - 1;
        i.blocks = u64::MAX;
    });
    edit_inode(&mut dev, d, |i| i.size = u64::MAX);
    let (fs, r) = bounded(mount(dev), move |fs| {
        (
            fs.read(f, u64::MAX - 10, 100),
            fs.write(f, 0, &[1; 5000], T0),
            fs.getattr(f).map(|s| s.blocks_512),
            fs.create(d, b"x", 0o644, 0, 0, T0).map(|s| s.ino),
        )
    });
    assert!(is_corrupt(&r.0) && is_corrupt(&r.1), "{r:?}");
    assert_eq!(r.2, Ok(u64::MAX), "saturates instead of wrapping");
    assert!(is_corrupt(&r.3), "{r:?}");
    drop(fs);
}

#[test]
fn one_bad_inode_does_not_hide_the_directory() {
    let mut fs = fresh(8 << 20, BS as u32);
    let d = fs.mkdir(ROOT_INO, b"d", 0o755, 0, 0, T0).unwrap().ino;
    let mut inos = Vec::new();
    for i in 0..20 {
        inos.push(fs.create(d, &name(i), 0o644, 0, 0, T0).unwrap().ino);
    }
    let mut dev = fs.unmount(T0).unwrap();
    let bad = inos[7];
    // A field that fails the inode's own checks, checksum re-sealed.
    edit_inode(&mut dev, bad, |i| i.flags = 0x8000_0000);
    let all = inos.clone();
    let (fs, r) = bounded(mount(dev), move |fs| {
        let listed = fs.readdir(d, 0, 1000).map(|v| v.len());
        let attrs: Vec<_> = all.iter().map(|&i| fs.getattr(i)).collect();
        let plus = fs.readdir_plus(d, 0, 1000).unwrap();
        let plus: Vec<_> = plus
            .into_iter()
            .map(|(e, st)| (e.ino, st.map(|s| s.ino)))
            .collect();
        (listed, attrs, fs.lookup(d, &name(7)), plus)
    });
    assert_eq!(r.3.len(), 22);
    for (ino, st) in &r.3 {
        if *ino == bad {
            assert!(is_corrupt(st), "{st:?}");
        } else {
            assert_eq!(st, &Ok(*ino));
        }
    }
    assert_eq!(r.0, Ok(22), "every entry listed, . and .. included");
    for (i, a) in r.1.iter().enumerate() {
        if inos[i] == bad {
            assert!(is_corrupt(a), "{a:?}");
            let e = a.as_ref().unwrap_err();
            assert_eq!(e.location(), Some(Location::Inode(bad)));
            assert!(e.to_string().contains(&format!("inode {bad}")), "{e}");
        } else {
            assert!(a.is_ok(), "{a:?}");
        }
    }
    assert!(is_corrupt(&r.2));
    drop(fs);
}

/// Byte edits to apply to one tree node: (node index, byte offset, value).
type Mutation = Vec<(usize, usize, u8)>;

fn mutation() -> impl Strategy<Value = Mutation> {
    // Half the edits land in the node header and first slots, where the
    // structure lives; the rest anywhere in the body.
    let offset = prop_oneof![0usize..72, 0usize..BS - HEADER_SIZE];
    prop::collection::vec((0usize..128, offset, any::<u8>()), 1..12)
}

fn mutate_and_exercise(base: &MemDevice, dir: u64, file: u64, m: &Mutation) {
    let mut dev = base.clone();
    let mut nodes: Vec<u64> = tree_nodes(&dev, dir).into_iter().map(|(b, _)| b).collect();
    nodes.extend(tree_nodes(&dev, file).into_iter().map(|(b, _)| b));
    for &(n, off, v) in m {
        // Two extra targets: the roots inside the directory's and the
        // file's inode records (re-sealed with the inode checksum).
        match n % (nodes.len() + 2) {
            i if i < nodes.len() => edit_node(&mut dev, nodes[i], |body| body[off] = v),
            i => {
                let ino = if i == nodes.len() { dir } else { file };
                edit_inode(&mut dev, ino, |inode| {
                    let len = inode.data.len();
                    inode.data[off % len] = v;
                });
            }
        }
    }
    let fs = match Fs::mount(dev, MountOptions::default(), T0) {
        Ok(fs) => fs,
        Err(e) => {
            assert!(matches!(e, FsError::Corrupt(_)), "{e:?}");
            return;
        }
    };
    let (fs, ()) = bounded(fs, move |fs| {
        for i in (0..ENTRIES).step_by(7) {
            only_corrupt("lookup", &fs.lookup(dir, &name(i)));
        }
        let mut off = 0;
        for _ in 0..ENTRIES {
            match fs.readdir(dir, off, 50) {
                Ok(b) if b.is_empty() => break,
                Ok(b) => {
                    let last = b.last().unwrap().offset;
                    assert!(last > off);
                    off = last;
                }
                Err(e) => {
                    assert!(matches!(e, FsError::Corrupt(_)), "{e:?}");
                    break;
                }
            }
        }
        only_corrupt("read", &fs.read(file, 0, 300 * BS));
        only_corrupt("write", &fs.write(file, 7 * BS as u64, &[3; 2 * BS], T0));
        only_corrupt("create", &fs.create(dir, b"fresh", 0o644, 0, 0, T0));
        only_corrupt("unlink", &fs.unlink(dir, &name(3), T0));
        let sz = fs.getattr(file).map(|s| s.size).unwrap_or(0);
        only_corrupt(
            "truncate",
            &fs.setattr(
                file,
                &vexfs_core::SetAttr {
                    size: Some(sz / 3),
                    ..Default::default()
                },
                T0,
            ),
        );
    });
    // Whatever happened, unmount and fsck finish without a panic.
    if let Ok(dev) = fs.unmount(T0) {
        let _ = bounded_check(dev, CheckOptions::default());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_node_bytes_resealed(m in mutation()) {
        thread_local! {
            static BASE: (MemDevice, u64, u64) = {
                let c = build();
                (c.dev, c.dir, c.file)
            };
        }
        BASE.with(|(dev, dir, file)| mutate_and_exercise(dev, *dir, *file, &m));
    }
}
