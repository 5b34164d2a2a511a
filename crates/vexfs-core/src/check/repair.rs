//! The writing half of the checker: apply a [`Model`]'s plan through the
//! transaction API.
//!
//! Order matters. Releasing inodes only zeroes their slots; the bitmaps are
//! then rewritten from the plan, which already leaves out what the released
//! inodes owned. Only after that do steps run that may allocate (a
//! directory tree growing when an entry is added to lost+found), so the
//! allocator never hands out a block that is still in use.

use super::model::{Action, Model};
use super::salvage::Attr;
use super::{CheckOptions, Pass, Problem, ProblemKind, Severity};
use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::fs::Fs;
use crate::tx::Seal;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use vexfs_format::dirent::DirEntry;
use vexfs_format::header::{BITMAP_MAGIC, HEADER_SIZE};
use vexfs_format::inode::{
    Inode, FLAG_ORPHAN, FLAG_XATTR_PACKED, FLAG_XATTR_TREE, INODE_SIZE, S_IFDIR,
};
use vexfs_format::superblock::bits_per_bitmap_block;
use vexfs_format::{LOST_FOUND_INO, ROOT_INO};

/// Errors that mean the device itself failed stop the check; anything else
/// a repair step hits is reported and the check goes on.
fn operational(e: &FsError) -> bool {
    matches!(e, FsError::Io(_))
}

struct Log {
    repairs: Vec<String>,
    failures: Vec<Problem>,
}

impl Log {
    fn outcome(&mut self, r: Result<()>, what: &str, ino: u64) -> Result<bool> {
        match r {
            Ok(()) => Ok(true),
            Err(e) if operational(&e) => Err(e),
            Err(e) => {
                self.failures.push(Problem {
                    kind: ProblemKind::RepairFailed,
                    severity: Severity::Unfixable,
                    ino,
                    block: 0,
                    text: format!("could not {what}: {e}"),
                    fixed: false,
                });
                Ok(false)
            }
        }
    }
}

fn zero_slot<D: BlockDevice>(fs: &mut Fs<D>, ino: u64) -> Result<()> {
    let (blk, off) = fs.sb.inode_location(ino).ok_or(FsError::Invalid)?;
    fs.modify_block(blk, Seal::Raw, |b| {
        b.get_mut(off..off + INODE_SIZE)
            .ok_or(FsError::Invalid)?
            .fill(0);
        Ok(())
    })
}

fn bitmap_block(bs: usize, want: &super::bits::Bits, k: u64, bits: u64) -> Vec<u8> {
    let mut b = alloc::vec![0u8; bs];
    let base = k * bits / 8;
    for (j, byte) in b.iter_mut().skip(HEADER_SIZE).enumerate() {
        *byte = want.byte(base + j as u64);
    }
    b
}

/// Apply the plan. Returns the model's problems marked as fixed, the
/// repair log (with failures appended as unfixed problems) and whether the
/// caller cancelled.
pub(crate) fn apply<D: BlockDevice>(
    fs: &mut Fs<D>,
    m: Model,
    opts: &CheckOptions,
    progress: &mut dyn FnMut(Pass, u64, u64) -> bool,
) -> Result<(Vec<Problem>, Vec<String>, bool)> {
    // The scan read the device directly; start repairs from it too.
    fs.cache.clear();
    let mut log = Log {
        repairs: Vec::new(),
        failures: Vec::new(),
    };
    const STEPS: u64 = 7;
    let mut step = 0u64;
    let mut next = |step: &mut u64| {
        *step += 1;
        progress(Pass::Repair, *step, STEPS)
    };
    let mut cancelled = false;

    // 1. Release inodes: zero their slots (their blocks are already left
    //    out of the planned bitmaps).
    if !m.release.is_empty() {
        let release = m.release.clone();
        let r = fs.transact(|fs| release.iter().try_for_each(|&ino| zero_slot(fs, ino)));
        if log.outcome(r, "clear inodes", 0)? {
            for ino in &m.release {
                log.repairs.push(format!("cleared inode {ino}"));
            }
        }
    }
    if !next(&mut step) {
        cancelled = true;
    }

    // 2. Bitmaps, free counts, orphan list head.
    if !cancelled {
        let bits = bits_per_bitmap_block(fs.sb.block_size);
        let bs = fs.bs;
        let r = fs.transact(|fs| {
            for &k in &m.rewrite_block_bitmap {
                let b = bitmap_block(bs, &m.block_bitmap, k, bits);
                fs.put_block(
                    fs.sb.block_bitmap_start + k,
                    b,
                    Seal::Meta {
                        magic: BITMAP_MAGIC,
                        owner: 0,
                    },
                )?;
            }
            for &(nr, map) in &m.rewrite_packs {
                rewrite_pack(fs, nr, map)?;
            }
            for &k in &m.rewrite_inode_bitmap {
                let b = bitmap_block(bs, &m.inode_bitmap, k, bits);
                fs.put_block(
                    fs.sb.inode_bitmap_start + k,
                    b,
                    Seal::Meta {
                        magic: BITMAP_MAGIC,
                        owner: 0,
                    },
                )?;
            }
            fs.sb.free_blocks = m.free_blocks;
            fs.sb.free_inodes = m.free_inodes;
            if m.reset_orphan_head {
                fs.sb.orphan_head = 0;
            }
            Ok(())
        });
        if log.outcome(r, "rewrite the bitmaps", 0)? {
            if !m.rewrite_block_bitmap.is_empty() {
                log.repairs.push(format!(
                    "rewrote {} block bitmap block(s)",
                    m.rewrite_block_bitmap.len()
                ));
            }
            if !m.rewrite_packs.is_empty() {
                log.repairs.push(format!(
                    "freed unowned units in {} attribute pack block(s)",
                    m.rewrite_packs.len()
                ));
            }
            if !m.rewrite_inode_bitmap.is_empty() {
                log.repairs.push(format!(
                    "rewrote {} inode bitmap block(s)",
                    m.rewrite_inode_bitmap.len()
                ));
            }
            if m.reset_orphan_head {
                log.repairs.push(String::from("emptied the orphan list"));
            }
        }
        if !next(&mut step) {
            cancelled = true;
        }
    }

    // 3. A fresh root and lost+found when the old ones are gone.
    for (wanted, ino, perm, name) in [
        (m.recreate_root, ROOT_INO, 0o755, "the root directory"),
        (m.recreate_lost_found, LOST_FOUND_INO, 0o700, "lost+found"),
    ] {
        if cancelled || !wanted {
            continue;
        }
        let now = opts.now;
        let r = fs.transact(|fs| {
            let mut d = Inode::new(S_IFDIR | perm, 0, 0, now);
            d.nlink = 2;
            d.parent = ROOT_INO;
            d.generation = fs.sb.next_generation as u32;
            fs.sb.next_generation = fs.sb.next_generation.wrapping_add(1);
            crate::btree::init_root(&mut d.data)?;
            fs.write_inode(ino, &d)
        });
        if log.outcome(r, &format!("recreate {name}"), ino)? {
            log.repairs.push(format!("recreated {name}"));
        }
    }
    if !cancelled && !next(&mut step) {
        cancelled = true;
    }

    // 4. Entry removals and rewrites, one transaction per directory.
    let mut touched: BTreeSet<u64> = BTreeSet::new();
    if !cancelled {
        let mut by_dir: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, a) in m.actions.iter().enumerate() {
            if *a != Action::Keep {
                if let Some(e) = m.entries.get(i) {
                    if m.nodes.contains_key(&e.dir) {
                        by_dir.entry(e.dir).or_default().push(i);
                    }
                }
            }
        }
        for (dir, list) in by_dir {
            touched.insert(dir);
            let r = fs.transact(|fs| {
                let mut d = fs.read_inode(dir)?;
                for &i in &list {
                    let (Some(e), Some(a)) = (m.entries.get(i), m.actions.get(i)) else {
                        continue;
                    };
                    match *a {
                        Action::Keep => {}
                        Action::Remove => {
                            fs.tree_remove(dir, &mut d, e.key)?;
                        }
                        Action::Retype(ft) => {
                            let de = DirEntry {
                                ino: e.ino,
                                file_type: ft,
                                name: &e.name,
                            };
                            let mut buf = alloc::vec![0u8; de.encoded_len()];
                            de.encode(&mut buf)?;
                            fs.tree_update(dir, &mut d, e.key, &buf)?;
                        }
                        Action::Rekey => {
                            let ft = m
                                .nodes
                                .get(&e.ino)
                                .map(|n| n.ft)
                                .or(e.ft)
                                .ok_or(FsError::Invalid)?;
                            fs.tree_remove(dir, &mut d, e.key)?;
                            fs.dir_add(dir, &mut d, &e.name, e.ino, ft)?;
                        }
                    }
                }
                fs.write_inode(dir, &d)
            });
            if log.outcome(r, &format!("fix the entries of directory {dir}"), dir)? {
                for &i in &list {
                    let (Some(e), Some(a)) = (m.entries.get(i), m.actions.get(i)) else {
                        continue;
                    };
                    let name = String::from_utf8_lossy(&e.name);
                    log.repairs.push(match a {
                        Action::Remove => format!(
                            "removed entry '{name}' (key {:#x}) from directory {dir}",
                            e.key
                        ),
                        Action::Retype(ft) => {
                            format!("set the type of '{name}' in directory {dir} to {ft:?}")
                        }
                        Action::Rekey => {
                            format!("re-inserted '{name}' in directory {dir} under its hash")
                        }
                        Action::Keep => continue,
                    });
                }
            }
        }
        if !next(&mut step) {
            cancelled = true;
        }
    }

    // 5. Reconnections.
    if !cancelled {
        for a in &m.added {
            touched.insert(a.dir);
            let mut name = a.name.clone();
            let mut done = false;
            for attempt in 0..8u32 {
                if attempt > 0 {
                    name = format!("{}.{attempt}", String::from_utf8_lossy(&a.name)).into_bytes();
                }
                let r = fs.transact(|fs| {
                    let mut d = fs.read_inode(a.dir)?;
                    fs.dir_add(a.dir, &mut d, &name, a.ino, a.ft)?;
                    fs.write_inode(a.dir, &d)
                });
                match r {
                    Err(FsError::Exists) => continue,
                    r => {
                        done = log.outcome(
                            r,
                            &format!("connect inode {} to directory {}", a.ino, a.dir),
                            a.ino,
                        )?;
                        break;
                    }
                }
            }
            if done {
                let where_ = if a.dir == LOST_FOUND_INO {
                    String::from("lost+found")
                } else {
                    format!("directory {}", a.dir)
                };
                log.repairs.push(format!(
                    "connected inode {} to {where_} as '{}'",
                    a.ino,
                    String::from_utf8_lossy(&name)
                ));
            }
        }
        if !next(&mut step) {
            cancelled = true;
        }
    }

    // 6. Inode fields, set to absolute values computed for the planned
    //    structure. A tree edited above keeps its own block count up to
    //    date; if it was wrong before, the verifying scan catches it.
    if !cancelled {
        for (&ino, fix) in &m.fixes {
            let edited = touched.contains(&ino);
            let r = fs.transact(|fs| {
                let mut i = fs.read_inode(ino)?;
                if let Some(n) = fix.nlink {
                    i.nlink = n;
                }
                if let Some(s) = fix.size {
                    i.size = s;
                }
                if let Some(p) = fix.parent {
                    i.parent = p;
                }
                if fix.drop_xattr {
                    // The blob, the tree and its value runs go together:
                    // none is claimed, so the bitmap pass frees them.
                    i.xattr_block = 0;
                    i.xattr_blocks = 0;
                    i.xattr_len = 0;
                    i.xattr_offset = 0;
                    i.flags &= !(FLAG_XATTR_TREE | FLAG_XATTR_PACKED);
                }
                if let Some(l) = fix.xattr_len {
                    i.xattr_len = l;
                }
                if fix.clear_orphan {
                    i.flags &= !FLAG_ORPHAN;
                    i.orphan_next = 0;
                }
                if let Some(b) = fix.blocks {
                    if !edited {
                        i.blocks = b;
                    }
                }
                fs.write_inode(ino, &i)
            });
            if log.outcome(r, &format!("update inode {ino}"), ino)? {
                let mut what: Vec<&str> = Vec::new();
                if fix.nlink.is_some() {
                    what.push("link count");
                }
                if fix.size.is_some() {
                    what.push("size");
                }
                if fix.parent.is_some() {
                    what.push("parent");
                }
                if fix.blocks.is_some() && !edited {
                    what.push("block count");
                }
                if fix.drop_xattr {
                    what.push("dropped extended attributes");
                }
                if fix.xattr_len.is_some() {
                    what.push("attribute length");
                }
                if fix.clear_orphan {
                    what.push("orphan mark");
                }
                if !what.is_empty() {
                    log.repairs
                        .push(format!("inode {ino}: fixed {}", what.join(", ")));
                }
            }
        }
        if !next(&mut step) {
            cancelled = true;
        }
    }

    // 7. Attributes salvaged from a dropped set, written back through the
    //    attribute code (a fresh blob or tree). The drop above left the
    //    inode without any, and the bitmaps no longer hold the old blocks,
    //    so this allocates like any setxattr.
    if !cancelled {
        for (&ino, attrs) in &m.salvaged {
            if !m.fixes.get(&ino).is_some_and(|f| f.drop_xattr) {
                continue;
            }
            let kept = restore_xattrs(fs, ino, attrs, &mut log)?;
            log.repairs.push(format!(
                "inode {ino}: rebuilt {kept} of {} salvaged extended attributes",
                attrs.len()
            ));
        }
        if !next(&mut step) {
            cancelled = true;
        }
    }

    let ok = log.failures.is_empty() && !cancelled;
    let mut problems = m.problems;
    for p in &mut problems {
        p.fixed = ok && p.severity != Severity::Unfixable;
    }
    problems.extend(log.failures);
    Ok((problems, log.repairs, cancelled))
}

/// Attributes written back per transaction.
const RESTORE_BATCH: usize = 64;

/// Write `attrs` back onto `ino`, a batch per transaction; a batch that
/// fails is retried one attribute at a time, so one the attribute code
/// refuses costs only itself (reported as a failure). Returns how many
/// were written.
fn restore_xattrs<D: BlockDevice>(
    fs: &mut Fs<D>,
    ino: u64,
    attrs: &[Attr],
    log: &mut Log,
) -> Result<usize> {
    let put = |fs: &mut Fs<D>, batch: &[Attr]| {
        fs.transact(|fs| {
            let mut inode = fs.read_inode(ino)?;
            for (ns, name, value) in batch {
                fs.xattr_put(ino, &mut inode, *ns, name, Some(value))?;
            }
            fs.write_inode(ino, &inode)
        })
    };
    let mut kept = 0;
    for batch in attrs.chunks(RESTORE_BATCH) {
        match put(fs, batch) {
            Ok(()) => kept += batch.len(),
            Err(e) if operational(&e) => return Err(e),
            Err(_) => {
                for a in batch {
                    let what = format!(
                        "restore attribute {}{} of inode {ino}",
                        String::from_utf8_lossy(a.0.prefix()),
                        String::from_utf8_lossy(&a.1)
                    );
                    if log.outcome(put(fs, core::slice::from_ref(a)), &what, ino)? {
                        kept += 1;
                    }
                }
            }
        }
    }
    Ok(kept)
}

/// Give a pack block (whose header verified in the scan) the map `map`:
/// the units outside it are zeroed.
fn rewrite_pack<D: BlockDevice>(fs: &mut Fs<D>, nr: u64, map: u64) -> Result<()> {
    let mut b = alloc::vec![0u8; fs.bs];
    fs.read_data(nr, &mut b)?;
    let unit = vexfs_format::xattr_pack::unit_size(fs.bs);
    let head = vexfs_format::xattr_pack::header_units(fs.bs);
    for u in head..vexfs_format::xattr_pack::UNITS {
        if map & (1u64 << u) == 0 {
            let at = u as usize * unit;
            b[at..at + unit].fill(0);
        }
    }
    vexfs_format::xattr_pack::set_map(&mut b, map)?;
    fs.put_block(
        nr,
        b,
        Seal::Meta {
            magic: vexfs_format::xattr_pack::PACK_MAGIC,
            owner: 0,
        },
    )
}
