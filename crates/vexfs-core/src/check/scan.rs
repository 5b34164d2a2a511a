//! Scanning: read every structure into a [`Model`], then hand it to the
//! planner and compare the bitmaps with what the plan keeps.
//!
//! Everything is read straight from the device (not through the metadata
//! cache) and verified here, so a damaged structure becomes a [`Problem`]
//! about one inode instead of an error that stops the whole check.

use super::bits::Bits;
use super::model::{Entry, Model, Node};
use super::plan::{
    plan_connectivity, plan_counts, plan_duplicate_names, plan_entries, plan_orphans,
};
use super::salvage::{self, Salvaged};
use super::{Pass, Problem, ProblemKind, Severity};
use crate::device::BlockDevice;
use crate::error::Result;
use crate::file::MAX_FILE_SIZE;
use crate::fs::Fs;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use vexfs_format::bytes::get_u64;
use vexfs_format::checksum::crc32c;
use vexfs_format::dirent::{key_range, DirEntry};
use vexfs_format::extent::Extent;
use vexfs_format::header::{self, BITMAP_MAGIC, HEADER_SIZE, NODE_MAGIC, XATTR_MAGIC};
use vexfs_format::inode::{
    FileType, Inode, FLAG_INLINE_SYMLINK, FLAG_XATTR_PACKED, FLAG_XATTR_TREE, INODE_SIZE,
};
use vexfs_format::node::{self, Placement};
use vexfs_format::superblock::bits_per_bitmap_block;
use vexfs_format::xattr::{blob_bounds_at, XattrIter, BLOB_HEADER, MAX_BLOB};
use vexfs_format::xattr_pack::{self, PACK_MAGIC};
use vexfs_format::xattr_tree::{
    key_range as xattr_key_range, TreeItem, TreeValue, TREE_BLOB_HEADER, TREE_ROOT_OFFSET,
};
use vexfs_format::{LOST_FOUND_INO, ROOT_INO, SYMLINK_MAX, VECTOR_CATALOG_INO};

pub(super) fn problem(
    kind: ProblemKind,
    severity: Severity,
    ino: u64,
    block: u64,
    text: String,
) -> Problem {
    Problem {
        kind,
        severity,
        ino,
        block,
        text,
        fixed: false,
    }
}

pub(super) fn read_block<D: BlockDevice>(fs: &mut Fs<D>, nr: u64, buf: &mut [u8]) -> Result<()> {
    // Home contents: repairs are committed before each scan, and a
    // read-only check of an image needing replay sees the replayed blocks.
    fs.block_offset(nr)?;
    fs.read_home(nr, buf)
}

/// Whether blocks `first..first + count` lie inside the data area.
pub(super) fn in_data_area<D: BlockDevice>(fs: &Fs<D>, first: u64, count: u64) -> bool {
    first >= fs.sb.data_start
        && first
            .checked_add(count)
            .is_some_and(|e| e <= fs.sb.block_count)
}

/// Blocks `first..first + count`, read home (see [`read_block`]) into one
/// buffer.
pub(super) fn read_blocks<D: BlockDevice>(
    fs: &mut Fs<D>,
    first: u64,
    count: u64,
) -> Result<Vec<u8>> {
    let mut buf = alloc::vec![0u8; count as usize * fs.bs];
    for (i, chunk) in buf.chunks_mut(fs.bs).enumerate() {
        read_block(fs, first + i as u64, chunk)?;
    }
    Ok(buf)
}

/// The repair a damaged attribute set gets, in words.
fn salvage_text(s: &Salvaged) -> String {
    let lost = match (s.lost_items, s.lost_blocks) {
        (0, 0) => String::new(),
        (i, 0) => format!(" ({i} unreadable)"),
        (0, b) => format!(" ({b} unreadable blocks)"),
        (i, b) => format!(" ({i} unreadable, and {b} unreadable blocks)"),
    };
    match s.attrs.len() {
        0 => format!("drop its extended attributes{lost}"),
        k => format!("rebuild its extended attributes from the {k} that verify{lost}"),
    }
}

/// Why a tree is unusable.
type TreeResult = core::result::Result<(), String>;

struct TreeWalk<'a> {
    ino: u64,
    data_start: u64,
    block_count: u64,
    bs: usize,
    seen: BTreeSet<u64>,
    items: &'a mut Vec<(u64, Vec<u8>)>,
}

impl TreeWalk<'_> {
    /// Walk one node: verify its structure and its place in the tree with
    /// the same checks the tree code applies when it loads a node (so fsck
    /// reports exactly what a lookup would refuse), collect leaf items,
    /// descend into children. Depth is bounded by the format's maximum
    /// level and every block is visited at most once, so a damaged tree
    /// cannot make this loop or blow up.
    fn node<D: BlockDevice>(
        &mut self,
        fs: &mut Fs<D>,
        body: &[u8],
        at: &Placement,
        depth: u16,
    ) -> Result<TreeResult> {
        if depth > node::MAX_LEVEL {
            return Ok(Err(String::from("tree deeper than the format allows")));
        }
        let checked = if at.level.is_none() {
            node::validate(body)
        } else {
            node::validate_block(body, self.data_start..self.block_count)
        };
        let h = match checked.and_then(|h| node::check_placement(body, &h, at).map(|()| h)) {
            Ok(h) => h,
            Err(e) => return Ok(Err(format!("tree node: {e}"))),
        };
        for i in 0..h.nitems {
            if h.level == 0 {
                match node::key(body, i).and_then(|k| Ok((k, node::value(body, i)?))) {
                    Ok((k, v)) => self.items.push((k, v.to_vec())),
                    Err(e) => return Ok(Err(format!("tree node: {e}"))),
                }
                continue;
            }
            let (c, sub_at) = match node::child(body, i)
                .and_then(|c| Ok((c, node::child_placement(body, &h, i, at)?)))
            {
                Ok(v) => v,
                Err(e) => return Ok(Err(format!("tree node: {e}"))),
            };
            if c < self.data_start || c >= self.block_count {
                return Ok(Err(format!("tree child pointer {c} outside the data area")));
            }
            if !self.seen.insert(c) {
                return Ok(Err(format!("tree block {c} referenced twice")));
            }
            let mut blk = alloc::vec![0u8; self.bs];
            read_block(fs, c, &mut blk)?;
            match header::verify(&blk, NODE_MAGIC, c, "tree node") {
                Ok(owner) if owner == self.ino => {}
                Ok(owner) => return Ok(Err(format!("tree block {c} belongs to inode {owner}"))),
                Err(e) => return Ok(Err(format!("tree block {c}: {e}"))),
            }
            let sub = blk.get(HEADER_SIZE..).unwrap_or(&[]);
            if let Err(e) = self.node(fs, sub, &sub_at, depth + 1)? {
                return Ok(Err(format!("tree block {c}: {e}")));
            }
        }
        Ok(Ok(()))
    }
}

/// What one inode's walk found.
struct Walked {
    runs: Vec<(u64, u64)>,
    entries: Vec<Entry>,
}

/// Walk the tree of a sound-looking inode; `Err(reason)` when it is damaged.
fn walk_inode<D: BlockDevice>(
    fs: &mut Fs<D>,
    ino: u64,
    inode: &Inode,
    ft: FileType,
) -> Result<core::result::Result<Walked, String>> {
    let mut out = Walked {
        runs: Vec::new(),
        entries: Vec::new(),
    };
    if inode.flags & FLAG_INLINE_SYMLINK != 0 {
        if inode.size == 0 {
            return Ok(Err(String::from("empty symlink target")));
        }
        return Ok(Ok(out));
    }
    let sb = &fs.sb;
    let mut items = Vec::new();
    let mut walk = TreeWalk {
        ino,
        data_start: sb.data_start,
        block_count: sb.block_count,
        bs: fs.bs,
        seen: BTreeSet::new(),
        items: &mut items,
    };
    if let Err(e) = walk.node(fs, &inode.data, &Placement::ROOT, 0)? {
        return Ok(Err(e));
    }
    let seen = core::mem::take(&mut walk.seen);
    out.runs.extend(seen.into_iter().map(|b| (b, 1)));
    match ft {
        FileType::Directory => {
            for (key, v) in items {
                out.entries.push(match DirEntry::decode(&v) {
                    Ok(e) => {
                        let (lo, hi) = key_range(e.name);
                        Entry {
                            dir: ino,
                            key,
                            ino: e.ino,
                            ft: Some(e.file_type),
                            name: e.name.to_vec(),
                            key_ok: (lo..=hi).contains(&key),
                        }
                    }
                    Err(_) => Entry {
                        dir: ino,
                        key,
                        ino: 0,
                        ft: None,
                        name: Vec::new(),
                        key_ok: true,
                    },
                });
            }
        }
        FileType::Regular | FileType::Symlink => {
            if ft == FileType::Symlink && (inode.size == 0 || inode.size > SYMLINK_MAX as u64) {
                return Ok(Err(format!("symlink length {}", inode.size)));
            }
            let mut prev_end = 0u64;
            for (key, v) in items {
                let e = match Extent::decode_value(key, &v, fs.sb.block_count) {
                    Ok(e) => e,
                    Err(err) => return Ok(Err(format!("extent at block {key}: {err}"))),
                };
                if e.physical < fs.sb.data_start {
                    return Ok(Err(format!(
                        "extent at block {key} points into the metadata area"
                    )));
                }
                if e.logical_end() > MAX_FILE_SIZE.div_ceil(fs.bs as u64) {
                    return Ok(Err(format!(
                        "extent at block {key} lies beyond the largest file"
                    )));
                }
                if key < prev_end {
                    return Ok(Err(format!("extents overlap at logical block {key}")));
                }
                prev_end = e.logical_end();
                out.runs.push((e.physical, u64::from(e.len)));
            }
        }
        _ => {
            if !items.is_empty() {
                return Ok(Err(String::from("special file has a block map")));
            }
        }
    }
    Ok(Ok(out))
}

/// A sound blob (and tree): the blob's used bytes and every block run the
/// inode's attributes own.
struct XattrOwned {
    used: u32,
    runs: Vec<(u64, u64)>,
    /// A packed blob: its pack block, first unit and unit count.
    pack: Option<(u64, u32, u32)>,
}

/// Verify a packed blob: its pack block's header and map, its units in
/// use, its own header (address, owner, checksum) and its entries.
fn check_packed<D: BlockDevice>(
    fs: &mut Fs<D>,
    ino: u64,
    inode: &Inode,
) -> Result<core::result::Result<XattrOwned, String>> {
    let nr = inode.xattr_block;
    let (first, n) = match xattr_pack::blob_units(inode.xattr_offset, inode.xattr_len, fs.bs) {
        Ok(u) => u,
        Err(e) => return Ok(Err(format!("packed attribute blob: {e}"))),
    };
    if nr < fs.sb.data_start || nr >= fs.sb.block_count {
        return Ok(Err(format!(
            "attribute pack block {nr} outside the data area"
        )));
    }
    let mut block = alloc::vec![0u8; fs.bs];
    read_block(fs, nr, &mut block)?;
    match header::verify(&block, PACK_MAGIC, nr, "xattr pack") {
        Ok(0) => {}
        Ok(owner) => {
            return Ok(Err(format!(
                "attribute pack block {nr} names owner {owner}"
            )))
        }
        Err(e) => return Ok(Err(format!("attribute pack block {nr}: {e}"))),
    }
    let map = match xattr_pack::map(&block) {
        Ok(m) => m,
        Err(e) => return Ok(Err(format!("attribute pack block {nr}: {e}"))),
    };
    let bits = xattr_pack::run_bits(first, n);
    if map & bits != bits {
        return Ok(Err(format!(
            "packed attribute blob in free units of block {nr}"
        )));
    }
    let off = inode.xattr_offset as usize;
    let blob = &block[off..off + inode.xattr_len as usize];
    let addr = xattr_pack::blob_address(nr, inode.xattr_offset, fs.bs);
    match header::verify(blob, XATTR_MAGIC, addr, "packed xattr blob") {
        Ok(owner) if owner == ino => {}
        Ok(owner) => {
            return Ok(Err(format!(
                "packed attribute blob belongs to inode {owner}"
            )))
        }
        Err(e) => return Ok(Err(format!("packed attribute blob: {e}"))),
    }
    let iter = match XattrIter::new_at(blob, BLOB_HEADER) {
        Ok(it) => it,
        Err(e) => return Ok(Err(format!("packed attribute blob: {e}"))),
    };
    for e in iter {
        if let Err(e) = e {
            return Ok(Err(format!("packed attribute blob: {e}")));
        }
    }
    match blob_bounds_at(blob, BLOB_HEADER) {
        Ok((_, used)) if used == blob.len() => {}
        _ => return Ok(Err(String::from("packed attribute blob length"))),
    }
    Ok(Ok(XattrOwned {
        used: inode.xattr_len,
        runs: Vec::new(),
        pack: Some((nr, first, n)),
    }))
}

/// Verify an inode's attribute blob and, for a tree inode, its attribute
/// tree; `Err(reason)` when anything is damaged.
fn check_xattr<D: BlockDevice>(
    fs: &mut Fs<D>,
    ino: u64,
    inode: &Inode,
) -> Result<core::result::Result<XattrOwned, String>> {
    if inode.flags & FLAG_XATTR_PACKED != 0 {
        return check_packed(fs, ino, inode);
    }
    let first = inode.xattr_block;
    let n = u64::from(inode.xattr_blocks);
    let bs = fs.bs as u64;
    let tree = inode.flags & FLAG_XATTR_TREE != 0;
    if first == 0 {
        return Ok(Err(String::from("attribute tree flag without a blob")));
    }
    if n == 0 || n.saturating_mul(bs) > MAX_BLOB as u64 + bs {
        return Ok(Err(format!("attribute blob of {n} blocks")));
    }
    if !in_data_area(fs, first, n) {
        return Ok(Err(format!(
            "attribute blob at block {first} outside the data area"
        )));
    }
    let blob = read_blocks(fs, first, n)?;
    match header::verify(&blob, XATTR_MAGIC, first, "xattr blob") {
        Ok(owner) if owner == ino => {}
        Ok(owner) => return Ok(Err(format!("attribute blob belongs to inode {owner}"))),
        Err(e) => return Ok(Err(format!("attribute blob: {e}"))),
    }
    let start = if tree { TREE_BLOB_HEADER } else { BLOB_HEADER };
    let iter = match XattrIter::new_at(&blob, start) {
        Ok(it) => it,
        Err(e) => return Ok(Err(format!("attribute blob: {e}"))),
    };
    for e in iter {
        if let Err(e) = e {
            return Ok(Err(format!("attribute blob: {e}")));
        }
    }
    let used = blob_bounds_at(&blob, start)
        .map(|(_, u)| u as u32)
        .unwrap_or(0);
    let mut runs = alloc::vec![(first, n)];
    if tree {
        let root = match get_u64(&blob, TREE_ROOT_OFFSET) {
            Ok(r) => r,
            Err(e) => return Ok(Err(format!("attribute blob: {e}"))),
        };
        match check_xattr_tree(fs, ino, root)? {
            Ok(more) => runs.extend(more),
            Err(why) => return Ok(Err(format!("attribute tree at block {root}: {why}"))),
        }
    }
    Ok(Ok(XattrOwned {
        used,
        runs,
        pack: None,
    }))
}

/// Walk an attribute tree from its root block: node checks and key order
/// as for directory trees, each item's key inside its name's hash range, no
/// name twice, each value run inside the data area with its checksum.
/// Returns the runs it owns (nodes and values).
fn check_xattr_tree<D: BlockDevice>(
    fs: &mut Fs<D>,
    ino: u64,
    root: u64,
) -> Result<core::result::Result<Vec<(u64, u64)>, String>> {
    let (data_start, block_count) = (fs.sb.data_start, fs.sb.block_count);
    if !(data_start..block_count).contains(&root) {
        return Ok(Err(String::from("root outside the data area")));
    }
    let mut blk = alloc::vec![0u8; fs.bs];
    read_block(fs, root, &mut blk)?;
    match header::verify(&blk, NODE_MAGIC, root, "attribute tree root") {
        Ok(owner) if owner == ino => {}
        Ok(owner) => return Ok(Err(format!("root belongs to inode {owner}"))),
        Err(e) => return Ok(Err(format!("root: {e}"))),
    }
    let mut items = Vec::new();
    let mut walk = TreeWalk {
        ino,
        data_start,
        block_count,
        bs: fs.bs,
        seen: BTreeSet::new(),
        items: &mut items,
    };
    walk.seen.insert(root);
    let body = blk.get(HEADER_SIZE..).unwrap_or(&[]);
    if let Err(e) = walk.node(fs, body, &Placement::ROOT, 0)? {
        return Ok(Err(e));
    }
    let mut runs: Vec<(u64, u64)> = walk.seen.iter().map(|&b| (b, 1)).collect();
    let mut names = BTreeSet::new();
    for (key, raw) in &items {
        let it = match TreeItem::decode(raw) {
            Ok(it) => it,
            Err(e) => return Ok(Err(format!("item {key:#x}: {e}"))),
        };
        let (lo, hi) = xattr_key_range(it.namespace, it.name);
        if !(lo..=hi).contains(key) {
            return Ok(Err(format!("item {key:#x} is not under its name's hash")));
        }
        if !names.insert((it.namespace, it.name.to_vec())) {
            return Ok(Err(format!("item {key:#x} repeats a name")));
        }
        if let TreeValue::Run(r) = it.value {
            let nb = r.blocks(fs.bs);
            if !in_data_area(fs, r.first, nb) {
                return Ok(Err(format!(
                    "value run at block {} outside the data area",
                    r.first
                )));
            }
            let mut v = read_blocks(fs, r.first, nb)?;
            v.truncate(r.len as usize);
            if crc32c(&v) != r.crc {
                return Ok(Err(format!("value run at block {}: bad checksum", r.first)));
            }
            if nb > 0 {
                runs.push((r.first, nb));
            }
        }
    }
    Ok(Ok(runs))
}

/// Read a bitmap as it is on disk; returns the bits and the indexes of
/// blocks whose header does not verify.
fn read_bitmap<D: BlockDevice>(
    fs: &mut Fs<D>,
    start: u64,
    nblocks: u64,
) -> Result<(Bits, Vec<u64>)> {
    let bits = bits_per_bitmap_block(fs.sb.block_size);
    let mut out = Bits::new(nblocks.saturating_mul(bits));
    let mut bad = Vec::new();
    let mut buf = alloc::vec![0u8; fs.bs];
    for k in 0..nblocks {
        read_block(fs, start + k, &mut buf)?;
        if header::verify(&buf, BITMAP_MAGIC, start + k, "bitmap block").ok() != Some(0) {
            bad.push(k);
            continue;
        }
        for (j, byte) in buf.iter().skip(HEADER_SIZE).enumerate() {
            if *byte == 0 {
                continue;
            }
            for b in 0..8u64 {
                if byte & (1 << b) != 0 {
                    out.set(k * bits + j as u64 * 8 + b, true);
                }
            }
        }
    }
    Ok((out, bad))
}

/// Scan the whole filesystem and plan its repair. `Ok(None)` if cancelled.
/// With `defer_orphans` (a check that will not write), inodes waiting on a
/// sound orphan list are the mount's work, not problems.
pub(crate) fn scan<D: BlockDevice>(
    fs: &mut Fs<D>,
    defer_orphans: bool,
    progress: &mut dyn FnMut(Pass, u64, u64) -> bool,
) -> Result<Option<Model>> {
    let sb = fs.sb.clone();
    let mut problems = Vec::new();
    let mut nodes: BTreeMap<u64, Node> = BTreeMap::new();
    let mut release: BTreeSet<u64> = BTreeSet::new();
    let mut salvaged = BTreeMap::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut claimed = Bits::new(sb.block_count);
    // Units of pack blocks claimed by packed blobs so far, per block.
    let mut pack_units: BTreeMap<u64, u64> = BTreeMap::new();
    claimed.set_range(0, sb.data_start);

    // Pass 1: every inode, its tree, extents and attribute blob.
    let per = sb.inodes_per_block();
    let mut itb = alloc::vec![0u8; fs.bs];
    for t in 0..sb.inode_table_blocks {
        if !progress(Pass::Inodes, t, sb.inode_table_blocks) {
            return Ok(None);
        }
        let first_ino = t * per + 1;
        if first_ino > sb.inode_count {
            break;
        }
        read_block(fs, sb.inode_table_start + t, &mut itb)?;
        for j in 0..per {
            let ino = first_ino + j;
            if ino > sb.inode_count {
                break;
            }
            // Reserved slots other than the root, lost+found and the vector
            // catalogue belong to features not written yet; leave them alone.
            if ino != ROOT_INO
                && ino != LOST_FOUND_INO
                && ino != VECTOR_CATALOG_INO
                && ino < sb.first_user_ino
            {
                continue;
            }
            let off = (j as usize) * INODE_SIZE;
            let Some(raw) = itb.get(off..off + INODE_SIZE) else {
                break;
            };
            if Inode::is_zeroed(raw) {
                continue;
            }
            let inode = match Inode::decode(raw, ino) {
                Ok(i) => i,
                Err(e) => {
                    let text = if ino == ROOT_INO {
                        format!("root directory inode is damaged ({e}); recreate it")
                    } else {
                        format!("inode {ino} is damaged ({e}); clear it")
                    };
                    problems.push(problem(
                        ProblemKind::Inode,
                        Severity::Unsafe,
                        ino,
                        sb.inode_table_start + t,
                        text,
                    ));
                    release.insert(ino);
                    continue;
                }
            };
            let Some(ft) = inode.file_type() else {
                continue;
            };
            // Inodes 1 and 2 are the root and lost+found by definition; as
            // anything else they are damage, replaced by fresh directories.
            if (ino == ROOT_INO || ino == LOST_FOUND_INO || ino == VECTOR_CATALOG_INO)
                && ft != FileType::Directory
            {
                let what = match ino {
                    ROOT_INO => "root",
                    LOST_FOUND_INO => "lost+found",
                    _ => "vector catalogue",
                };
                problems.push(problem(
                    ProblemKind::Inode,
                    Severity::Unsafe,
                    ino,
                    0,
                    format!("{what} inode is not a directory; recreate it"),
                ));
                release.insert(ino);
                continue;
            }
            let walked = match walk_inode(fs, ino, &inode, ft)? {
                Ok(w) => w,
                Err(why) => {
                    let text = if ino == ROOT_INO {
                        format!("root directory has a damaged block map ({why}); recreate it")
                    } else {
                        format!("inode {ino} has a damaged block map ({why}); clear it")
                    };
                    problems.push(problem(ProblemKind::Tree, Severity::Unsafe, ino, 0, text));
                    release.insert(ino);
                    continue;
                }
            };
            let mut n = Node {
                inode,
                ft,
                runs: walked.runs,
                xattr_runs: Vec::new(),
                pack: None,
                drop_xattr: false,
                xattr_used: None,
            };
            if n.inode.xattr_block != 0 || n.inode.flags & FLAG_XATTR_TREE != 0 {
                match check_xattr(fs, ino, &n.inode)? {
                    Ok(x) => {
                        n.xattr_runs = x.runs;
                        n.xattr_used = Some(x.used);
                        n.pack = x.pack;
                    }
                    Err(why) => {
                        let s = salvage::salvage_xattrs(fs, ino, &n.inode)?;
                        let what = salvage_text(&s);
                        problems.push(problem(
                            ProblemKind::Xattr,
                            Severity::Unsafe,
                            ino,
                            n.inode.xattr_block,
                            format!("inode {ino}: {why}; {what}"),
                        ));
                        n.drop_xattr = true;
                        if !s.attrs.is_empty() {
                            salvaged.insert(ino, s.attrs);
                        }
                    }
                }
            }
            // Claims: within the inode first, then against everything
            // claimed so far; only a fully sound inode commits its claims.
            let mut all: Vec<(u64, u64)> = n.runs.clone();
            all.extend(n.xattr_runs.iter().copied());
            all.sort_unstable();
            let mut clash = None;
            let mut prev_end = 0u64;
            for &(s, len) in &all {
                if s < prev_end {
                    clash = Some(s);
                    break;
                }
                prev_end = s.saturating_add(len);
                if let Some(b) = claimed.any_in(s, len) {
                    clash = Some(b);
                    break;
                }
                // A whole-block claim on a block that holds packed blobs.
                if let Some((&b, _)) = pack_units.range(s..s.saturating_add(len)).next() {
                    clash = Some(b);
                    break;
                }
            }
            // A packed blob shares its block with other packed blobs only,
            // in units no other blob claims.
            if let (None, Some((b, first, count))) = (clash, n.pack) {
                let bits = xattr_pack::run_bits(first, count);
                let taken = pack_units.get(&b).copied().unwrap_or(0);
                if claimed.any_in(b, 1).is_some() || taken & bits != 0 {
                    clash = Some(b);
                }
            }
            if let Some(b) = clash {
                let what = if b < sb.data_start {
                    "the metadata area"
                } else {
                    "another inode"
                };
                problems.push(problem(
                    ProblemKind::DuplicateBlock,
                    Severity::Unsafe,
                    ino,
                    b,
                    format!("inode {ino} claims block {b}, already used by {what}; clear it"),
                ));
                release.insert(ino);
                continue;
            }
            for &(s, len) in &all {
                claimed.set_range(s, len);
            }
            if let Some((b, first, count)) = n.pack {
                *pack_units.entry(b).or_insert(0) |= xattr_pack::run_bits(first, count);
            }
            entries.extend(walked.entries);
            nodes.insert(ino, n);
        }
    }

    let mut model = Model {
        sb,
        nodes,
        release,
        actions: Vec::new(),
        entries,
        added: Vec::new(),
        recreate_lost_found: false,
        recreate_root: false,
        fixes: BTreeMap::new(),
        block_bitmap: Bits::new(0),
        inode_bitmap: Bits::new(0),
        rewrite_block_bitmap: Vec::new(),
        rewrite_packs: Vec::new(),
        rewrite_inode_bitmap: Vec::new(),
        free_blocks: 0,
        free_inodes: 0,
        reset_orphan_head: false,
        defer_orphans,
        pending_orphans: Vec::new(),
        pending_truncations: 0,
        problems,
        salvaged,
        files: 0,
        directories: 0,
    };
    if !progress(Pass::Directories, 0, 1) {
        return Ok(None);
    }
    plan_entries(&mut model);
    plan_duplicate_names(&mut model);
    if !progress(Pass::Connectivity, 0, 1) {
        return Ok(None);
    }
    plan_orphans(&mut model);
    plan_connectivity(&mut model);
    if !progress(Pass::Counts, 0, 1) {
        return Ok(None);
    }
    plan_counts(&mut model);
    if !progress(Pass::Bitmaps, 0, 1) {
        return Ok(None);
    }
    plan_bitmaps(fs, &mut model)?;
    model.files = model
        .nodes
        .values()
        .filter(|n| n.ft != FileType::Directory)
        .count() as u64;
    model.directories = model
        .nodes
        .values()
        .filter(|n| n.ft == FileType::Directory)
        .count() as u64;
    Ok(Some(model))
}

/// Describe up to a few differing bit positions.
fn sample(list: &[u64], total: u64) -> String {
    let mut s = String::new();
    for (i, b) in list.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b}"));
    }
    if total > list.len() as u64 {
        s.push_str(" ...");
    }
    s
}

/// Compare one bitmap with its expected contents; record problems and the
/// blocks to rewrite. Bit `i` stands for number `i + first_number` (block 0,
/// inode 1), which is what the messages print.
#[allow(clippy::too_many_arguments)]
fn compare_bitmap(
    problems: &mut Vec<Problem>,
    what: &str,
    disk: &Bits,
    bad: &[u64],
    want: &Bits,
    bits_per: u64,
    first_nr: u64,
    first_number: u64,
) -> Vec<u64> {
    let mut rewrite: Vec<u64> = bad.to_vec();
    for &k in bad {
        problems.push(problem(
            ProblemKind::Bitmap,
            Severity::Safe,
            0,
            first_nr + k,
            format!(
                "{what} bitmap block {} is damaged; rewrite it",
                first_nr + k
            ),
        ));
    }
    let nblocks = want.len() / bits_per.max(1);
    let (mut missing, mut extra) = (Vec::new(), Vec::new());
    let (mut n_missing, mut n_extra) = (0u64, 0u64);
    for k in 0..nblocks {
        if bad.contains(&k) {
            continue;
        }
        let mut differs = false;
        let base_byte = k * bits_per / 8;
        for j in 0..bits_per / 8 {
            let (d, w) = (disk.byte(base_byte + j), want.byte(base_byte + j));
            if d == w {
                continue;
            }
            differs = true;
            for b in 0..8u64 {
                let idx = (base_byte + j) * 8 + b + first_number;
                let (dbit, wbit) = (d & (1 << b) != 0, w & (1 << b) != 0);
                if wbit && !dbit {
                    n_missing += 1;
                    if missing.len() < 8 {
                        missing.push(idx);
                    }
                } else if dbit && !wbit {
                    n_extra += 1;
                    if extra.len() < 8 {
                        extra.push(idx);
                    }
                }
            }
        }
        if differs {
            rewrite.push(k);
        }
    }
    if n_missing > 0 {
        problems.push(problem(
            ProblemKind::Bitmap,
            Severity::Safe,
            0,
            0,
            format!(
                "{what} bitmap: {n_missing} in use but marked free: {}; fix it",
                sample(&missing, n_missing)
            ),
        ));
    }
    if n_extra > 0 {
        problems.push(problem(
            ProblemKind::Bitmap,
            Severity::Safe,
            0,
            0,
            format!(
                "{what} bitmap: {n_extra} marked in use but free: {}; fix it",
                sample(&extra, n_extra)
            ),
        ));
    }
    rewrite.sort_unstable();
    rewrite.dedup();
    rewrite
}

/// Pass 5: bitmaps and free counts against what the plan keeps.
fn plan_bitmaps<D: BlockDevice>(fs: &mut Fs<D>, m: &mut Model) -> Result<()> {
    let sb = m.sb.clone();
    let bits = bits_per_bitmap_block(sb.block_size);
    let mut bb = Bits::new(sb.block_bitmap_blocks.saturating_mul(bits));
    bb.set_range(0, sb.data_start);
    bb.set_range(sb.block_count, bb.len());
    // Orphans left to the mount still own their blocks and inode.
    let pending = m.pending_orphans.iter().map(|(ino, n)| (ino, n));
    for (_, n) in m.nodes.iter().chain(pending.clone()) {
        for &(s, len) in &n.runs {
            bb.set_range(s, len);
        }
        for &(s, len) in &n.xattr_runs {
            bb.set_range(s, len);
        }
    }
    // Pack blocks: in use while a kept inode's blob is in them; their maps
    // must name exactly the header and those blobs' units.
    let mut packs: BTreeMap<u64, u64> = BTreeMap::new();
    for (_, n) in m.nodes.iter().chain(pending.clone()) {
        if let (Some((b, first, count)), false) = (n.pack, n.drop_xattr) {
            *packs.entry(b).or_insert(0) |= xattr_pack::run_bits(first, count);
        }
    }
    for (&b, &units) in &packs {
        bb.set_range(b, 1);
        let mut block = alloc::vec![0u8; fs.bs];
        read_block(fs, b, &mut block)?;
        let want = units | xattr_pack::header_map(fs.bs);
        let have = xattr_pack::map(&block).unwrap_or(0);
        if have != want {
            m.problems.push(problem(
                ProblemKind::Xattr,
                Severity::Safe,
                0,
                b,
                format!(
                    "attribute pack block {b} marks {} unit(s) in use that no inode owns; free them",
                    (have & !want).count_ones()
                ),
            ));
            m.rewrite_packs.push((b, want));
        }
    }
    let mut ib = Bits::new(sb.inode_bitmap_blocks.saturating_mul(bits));
    ib.set_range(0, sb.first_user_ino.saturating_sub(1));
    ib.set_range(sb.inode_count, ib.len());
    for (&ino, _) in m.nodes.iter().chain(pending) {
        ib.set(ino - 1, true);
    }
    let (disk_bb, bad_bb) = read_bitmap(fs, sb.block_bitmap_start, sb.block_bitmap_blocks)?;
    let (disk_ib, bad_ib) = read_bitmap(fs, sb.inode_bitmap_start, sb.inode_bitmap_blocks)?;
    m.rewrite_block_bitmap = compare_bitmap(
        &mut m.problems,
        "block",
        &disk_bb,
        &bad_bb,
        &bb,
        bits,
        sb.block_bitmap_start,
        0,
    );
    m.rewrite_inode_bitmap = compare_bitmap(
        &mut m.problems,
        "inode",
        &disk_ib,
        &bad_ib,
        &ib,
        bits,
        sb.inode_bitmap_start,
        1,
    );
    m.free_blocks = bb.zeros_below(sb.block_count);
    m.free_inodes = ib.zeros_below(sb.inode_count);
    if sb.free_blocks != m.free_blocks {
        m.problems.push(problem(
            ProblemKind::FreeCount,
            Severity::Safe,
            0,
            0,
            format!(
                "free block count is {}, should be {}; fix it",
                sb.free_blocks, m.free_blocks
            ),
        ));
    }
    if sb.free_inodes != m.free_inodes {
        m.problems.push(problem(
            ProblemKind::FreeCount,
            Severity::Safe,
            0,
            0,
            format!(
                "free inode count is {}, should be {}; fix it",
                sb.free_inodes, m.free_inodes
            ),
        ));
    }
    m.block_bitmap = bb;
    m.inode_bitmap = ib;
    Ok(())
}
