//! Crafted damage to attribute trees, checksums re-sealed so that only the
//! structure is wrong: every attribute call ends with a corruption error
//! (EUCLEAN) or a normal answer, never a panic or a hang; fsck reports it,
//! and `fsck -y` rebuilds the inode's attributes from those that still
//! verify (dropping only the damaged ones) and leaves a clean image.

mod common;
use common::*;
use std::sync::mpsc;
use std::time::Duration;
use vexfs_core::check::{check, CheckOptions, CheckReport, ProblemKind, RepairMode};
use vexfs_core::format::header::{self, HEADER_SIZE, NODE_MAGIC, XATTR_MAGIC};
use vexfs_core::format::inode::{Inode, INODE_SIZE};
use vexfs_core::format::node;
use vexfs_core::format::superblock::Superblock;
use vexfs_core::format::xattr_tree::TREE_ROOT_OFFSET;
use vexfs_core::format::ROOT_INO;
use vexfs_core::{Fs, FsError, MemDevice, MountOptions, XattrFlags};

const BS: usize = 1024;
const NAMES: u64 = 600;
const TIMEOUT: Duration = Duration::from_secs(20);

fn name(i: u64) -> Vec<u8> {
    format!("user.attribute-{i:05}").into_bytes()
}

/// Every 50th value is large enough for a value run.
fn value(i: u64) -> Vec<u8> {
    let len = if i.is_multiple_of(50) { 3000 } else { 20 };
    vec![(i % 251) as u8; len]
}

/// A file whose 600 attributes make a tree of at least two levels.
fn build() -> (MemDevice, u64) {
    let mut fs = fresh(16 << 20, BS as u32);
    let ino = fs.create(ROOT_INO, b"f", 0o644, 0, 0, T0).unwrap().ino;
    for i in 0..NAMES {
        fs.setxattr(ino, &name(i), &value(i), XattrFlags::default(), T0)
            .unwrap();
    }
    assert!(fs.xattr_uses_tree(ino).unwrap());
    (fs.unmount(T0).unwrap(), ino)
}

fn inode_of(dev: &MemDevice, ino: u64) -> Inode {
    let sb = Superblock::decode(&dev.data[..512]).unwrap();
    let (blk, off) = sb.inode_location(ino).unwrap();
    let at = blk as usize * BS + off;
    Inode::decode(&dev.data[at..at + INODE_SIZE], ino).unwrap()
}

fn block(dev: &mut MemDevice, nr: u64) -> &mut [u8] {
    &mut dev.data[nr as usize * BS..(nr as usize + 1) * BS]
}

fn root_of(dev: &MemDevice, ino: u64) -> u64 {
    let blob = inode_of(dev, ino).xattr_block as usize * BS;
    u64::from_le_bytes(
        dev.data[blob + TREE_ROOT_OFFSET..blob + TREE_ROOT_OFFSET + 8]
            .try_into()
            .unwrap(),
    )
}

fn body_of(dev: &MemDevice, nr: u64) -> Vec<u8> {
    dev.data[nr as usize * BS + HEADER_SIZE..(nr as usize + 1) * BS].to_vec()
}

/// Edit the body of node block `nr` and re-seal it.
fn edit_node(dev: &mut MemDevice, nr: u64, f: impl FnOnce(&mut [u8])) {
    let b = block(dev, nr);
    let owner = header::verify(b, NODE_MAGIC, nr, "node").unwrap();
    f(&mut b[HEADER_SIZE..]);
    header::seal(b, NODE_MAGIC, nr, owner).unwrap();
}

/// (block, level) of every node under the root, root first.
fn nodes(dev: &MemDevice, ino: u64) -> Vec<(u64, u16)> {
    let mut out = Vec::new();
    let mut todo = vec![root_of(dev, ino)];
    while let Some(nr) = todo.pop() {
        let body = body_of(dev, nr);
        let h = node::header(&body).unwrap();
        out.push((nr, h.level));
        if h.level > 0 {
            for i in 0..h.nitems {
                todo.push(node::child(&body, i).unwrap());
            }
        }
    }
    out
}

fn a_leaf(dev: &MemDevice, ino: u64) -> u64 {
    nodes(dev, ino)
        .into_iter()
        .find(|&(_, l)| l == 0)
        .map(|(nr, _)| nr)
        .unwrap()
}

fn bounded_check(dev: MemDevice, mode: RepairMode) -> (CheckReport, MemDevice) {
    let opts = CheckOptions {
        mode,
        force: true,
        now: T0,
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(check(dev, &opts, &mut |_, _, _| true).expect("check"));
    });
    rx.recv_timeout(TIMEOUT).expect("fsck hung or panicked")
}

/// Every attribute call on the damaged inode, in a thread with a timeout.
/// Returns how many ended in a corruption error.
fn exercise(dev: MemDevice, ino: u64) -> (MemDevice, usize) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut fs = Fs::mount(dev, MountOptions::default(), T0).expect("mount");
        let mut corrupt = 0;
        let mut note = |r: Result<(), FsError>| match r {
            Err(FsError::Corrupt(_)) => corrupt += 1,
            Err(FsError::NoData) | Ok(()) => {}
            Err(e) => panic!("unexpected {e:?}"),
        };
        for i in 0..NAMES {
            note(fs.getxattr(ino, &name(i)).map(|_| ()));
        }
        note(fs.listxattr(ino).map(|_| ()));
        for i in 0..40 {
            note(fs.setxattr(ino, &name(i * 7), b"new", XattrFlags::default(), T0));
            note(fs.removexattr(ino, &name(i * 11 + 1), T0));
        }
        let _ = tx.send((fs.unmount(T0), corrupt));
    });
    let (dev, corrupt) = rx
        .recv_timeout(TIMEOUT)
        .expect("operations hung or panicked");
    (dev.expect("unmount"), corrupt)
}

/// fsck -n reports the damage as an attribute problem of `ino`; -y
/// rebuilds the attributes from what verifies and a second check is clean.
/// Every attribute left reads back with its own value (a salvage never
/// invents or mixes values; `exercise` may have changed some on the
/// damaged mount), at most `lose` of those `exercise` did not try to
/// remove are missing, and the file still takes new attributes. Returns
/// how many of those survived.
fn fsck_salvages(dev: MemDevice, ino: u64, lose: u64) -> u64 {
    let (r, dev) = bounded_check(dev, RepairMode::No);
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == ProblemKind::Xattr && p.ino == ino),
        "fsck did not report inode {ino}'s attributes: {:#?}",
        r.problems
    );
    let (fixed, dev) = bounded_check(dev, RepairMode::Yes);
    let rebuilt = fixed
        .repairs
        .iter()
        .any(|t| t.contains("salvaged extended attributes"));
    let (r, dev) = bounded_check(dev, RepairMode::No);
    assert!(r.problems.is_empty(), "after repair: {:#?}", r.problems);
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    let (mut kept, mut listed_want) = (0, 0);
    for i in 0..NAMES {
        let untouched = !removed_by_exercise(i);
        match fs.getxattr(ino, &name(i)) {
            Ok(v) => {
                // `exercise` may have set these to "new" on the damaged
                // mount before the check.
                let set = i.is_multiple_of(7) && i < 280 && v == b"new";
                assert!(
                    v == value(i) || set,
                    "attribute {i} came back with another value ({} bytes)",
                    v.len()
                );
                kept += u64::from(untouched);
                listed_want += 1;
            }
            Err(FsError::NoData) => {}
            Err(e) => panic!("attribute {i}: {e:?}"),
        }
    }
    let listed = fs.listxattr(ino).unwrap();
    assert_eq!(listed.iter().filter(|&&b| b == 0).count(), listed_want);
    assert_eq!(rebuilt, listed_want > 0, "repairs: {:#?}", fixed.repairs);
    let untouched = (0..NAMES).filter(|&i| !removed_by_exercise(i)).count() as u64;
    assert!(
        kept + lose >= untouched,
        "only {kept} of {untouched} attributes kept, {lose} may be lost"
    );
    fs.setxattr(
        ino,
        b"user.after-repair",
        b"again",
        XattrFlags::default(),
        T0,
    )
    .unwrap();
    assert_eq!(fs.getxattr(ino, b"user.after-repair").unwrap(), b"again");
    let dev = fs.unmount(T0).unwrap();
    let (r, _) = bounded_check(dev, RepairMode::No);
    assert!(
        r.problems.is_empty(),
        "after a new attribute: {:#?}",
        r.problems
    );
    kept
}

/// The attributes `exercise` tries to remove.
fn removed_by_exercise(i: u64) -> bool {
    i >= 1 && (i - 1).is_multiple_of(11) && (i - 1) / 11 < 40
}

/// Attributes in one leaf: the most a single damaged leaf can lose.
fn per_leaf(dev: &MemDevice, ino: u64) -> u64 {
    nodes(dev, ino)
        .into_iter()
        .filter(|&(_, l)| l == 0)
        .map(|(nr, _)| node::header(&body_of(dev, nr)).unwrap().nitems as u64)
        .max()
        .unwrap()
}

#[test]
fn the_tree_has_internal_nodes() {
    let (dev, ino) = build();
    let n = nodes(&dev, ino);
    assert!(n[0].1 >= 1, "root is internal: {n:?}");
    let (r, _) = bounded_check(dev, RepairMode::No);
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
}

#[test]
fn leaf_key_moved_out_of_its_hash_range() {
    let (mut dev, ino) = build();
    let leaf = a_leaf(&dev, ino);
    // Keep the order (add 1 to the last key), break the hash.
    edit_node(&mut dev, leaf, |b| {
        let n = node::header(b).unwrap().nitems;
        let at = node::NODE_HEADER + (n - 1) * node::SLOT_SIZE;
        let k = u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        b[at..at + 8].copy_from_slice(&(k + 256).to_le_bytes());
    });
    let (dev, _) = exercise(dev, ino);
    // The name is intact: every attribute comes back, under its right key.
    fsck_salvages(dev, ino, 0);
}

#[test]
fn leaf_keys_out_of_order() {
    let (mut dev, ino) = build();
    let leaf = a_leaf(&dev, ino);
    edit_node(&mut dev, leaf, |b| {
        b[node::NODE_HEADER..node::NODE_HEADER + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    });
    let leaf_items = per_leaf(&dev, ino);
    let (dev, corrupt) = exercise(dev, ino);
    assert!(corrupt > 0, "a damaged leaf must show as EUCLEAN");
    // At most the damaged leaf is lost.
    fsck_salvages(dev, ino, leaf_items);
}

#[test]
fn internal_node_points_at_the_root() {
    let (mut dev, ino) = build();
    let root = root_of(&dev, ino);
    // The root's first child becomes the root itself: a loop.
    edit_node(&mut dev, root, |b| {
        let off = u32::from_le_bytes(
            b[node::NODE_HEADER + 8..node::NODE_HEADER + 12]
                .try_into()
                .unwrap(),
        ) as usize;
        b[off..off + 8].copy_from_slice(&root.to_le_bytes());
    });
    let (dev, corrupt) = exercise(dev, ino);
    assert!(corrupt > 0);
    // The first child's subtree is unreachable; the others are kept.
    let kept = fsck_salvages(dev, ino, NAMES);
    assert!(kept > 0 && kept < NAMES, "{kept}");
}

#[test]
fn item_with_a_bad_kind() {
    let (mut dev, ino) = build();
    let leaf = a_leaf(&dev, ino);
    edit_node(&mut dev, leaf, |b| {
        let off = u32::from_le_bytes(
            b[node::NODE_HEADER + 8..node::NODE_HEADER + 12]
                .try_into()
                .unwrap(),
        ) as usize;
        b[off + 2] = 7;
    });
    let (dev, corrupt) = exercise(dev, ino);
    assert!(corrupt > 0);
    // Only the item with the bad kind is lost.
    fsck_salvages(dev, ino, 1);
}

#[test]
fn value_run_does_not_match_its_checksum() {
    let (mut dev, ino) = build();
    // Attribute 50's value (3000 bytes of 50) is a value run: flip a bit
    // in each of its full blocks.
    let pat = vec![50u8; BS];
    let mut hit = 0;
    for nr in 0..(dev.data.len() / BS) as u64 {
        if block(&mut dev, nr) == &pat[..] {
            block(&mut dev, nr)[10] ^= 1;
            hit += 1;
        }
    }
    assert!(hit >= 2, "attribute 50's run not found");
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    assert!(matches!(
        fs.getxattr(ino, &name(50)),
        Err(FsError::Corrupt(_))
    ));
    assert_eq!(fs.getxattr(ino, &name(51)).unwrap(), value(51));
    let dev = fs.unmount(T0).unwrap();
    // Attribute 50 is lost, every other one kept.
    fsck_salvages(dev, ino, 1);
}

#[test]
fn blob_names_a_root_in_the_inode_table() {
    let (mut dev, ino) = build();
    let blob = inode_of(&dev, ino).xattr_block;
    let n = inode_of(&dev, ino).xattr_blocks as usize;
    let start = blob as usize * BS;
    dev.data[start + TREE_ROOT_OFFSET..start + TREE_ROOT_OFFSET + 8]
        .copy_from_slice(&3u64.to_le_bytes());
    header::seal(&mut dev.data[start..start + n * BS], XATTR_MAGIC, blob, ino).unwrap();
    let (dev, corrupt) = exercise(dev, ino);
    assert!(corrupt > 0);
    // The tree is unreachable: only the blob's own entries can remain.
    let kept = fsck_salvages(dev, ino, NAMES);
    assert!(kept < NAMES, "{kept}");
}

/// A file whose attribute tree is damaged can still be deleted; nothing
/// the damaged tree names is freed, and fsck -y reclaims the leaked blocks.
#[test]
fn a_file_with_a_damaged_tree_can_be_deleted() {
    let (mut dev, ino) = build();
    let leaf = a_leaf(&dev, ino);
    edit_node(&mut dev, leaf, |b| {
        b[node::NODE_HEADER..node::NODE_HEADER + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    });
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    let free = fs.statfs().blocks_free;
    fs.unlink(ROOT_INO, b"f", T0).unwrap();
    assert!(fs.statfs().blocks_free > free, "the blob itself is freed");
    let dev = fs.unmount(T0).unwrap();
    let (r, dev) = bounded_check(dev, RepairMode::No);
    assert!(!r.problems.is_empty(), "leaked tree blocks are reported");
    let (_, dev) = bounded_check(dev, RepairMode::Yes);
    let (r, _) = bounded_check(dev, RepairMode::No);
    assert!(r.problems.is_empty(), "after repair: {:#?}", r.problems);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Any byte of any tree node changed (and the block re-sealed): the
    /// attribute calls end normally or with EUCLEAN, one fsck -y leaves a
    /// clean image, and every attribute it kept reads back.
    #[test]
    fn any_node_byte_changed(pick in 0usize..1000, off in 0usize..(BS - HEADER_SIZE), byte in 0u8..=255) {
        let (mut dev, ino) = build();
        let all = nodes(&dev, ino);
        let (nr, _) = all[pick % all.len()];
        edit_node(&mut dev, nr, |b| b[off] = byte);
        let (dev, _) = exercise(dev, ino);
        let (_, dev) = bounded_check(dev, RepairMode::Yes);
        let (r, dev) = bounded_check(dev, RepairMode::No);
        proptest::prop_assert!(r.problems.is_empty(), "after repair: {:#?}", r.problems);
        // Whatever was kept reads back.
        let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
        let listed = fs.listxattr(ino).unwrap();
        for n in listed.split(|&b| b == 0).filter(|n| !n.is_empty()) {
            proptest::prop_assert!(fs.getxattr(ino, n).is_ok());
        }
    }
}

/// A NUL byte written into a stored name (found by `any_node_byte_changed`):
/// listxattr would list two names, neither of which reads back. The
/// decoders treat such a name as damage, so fsck -y drops the item and
/// every name listed after the repair reads back.
#[test]
fn a_nul_byte_inside_a_stored_name_is_damage() {
    let (mut dev, ino) = build();
    let all = nodes(&dev, ino);
    let (nr, _) = all[3];
    // Inside the name of an item of that leaf (offset of the failing case).
    edit_node(&mut dev, nr, |b| b[577] = 0);
    let (dev, _) = exercise(dev, ino);
    let (r, dev) = bounded_check(dev, RepairMode::Yes);
    assert!(!r.problems.is_empty(), "the damaged item is reported");
    let (r, dev) = bounded_check(dev, RepairMode::No);
    assert!(r.problems.is_empty(), "after repair: {:#?}", r.problems);
    let mut fs = Fs::mount(dev, MountOptions::default(), T0).unwrap();
    let listed = fs.listxattr(ino).unwrap();
    for n in listed.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        assert!(fs.getxattr(ino, n).is_ok(), "{}", String::from_utf8_lossy(n));
    }
    assert_eq!(
        fs.setxattr(ino, b"user.a\0b", b"x", XattrFlags::default(), T0),
        Err(FsError::Invalid),
        "a name with a NUL cannot be stored either"
    );
}
