//! Planning: from the scanned model alone, decide what the repaired
//! filesystem looks like (entries kept or dropped, inodes released,
//! directories reconnected, link counts, sizes and parents). Nothing here
//! touches the device.

use super::model::{Action, Added, Fix, Model};
use super::scan::problem;
use super::{ProblemKind, Severity};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use vexfs_format::inode::{FileType, FLAG_ORPHAN};
use vexfs_format::{LOST_FOUND_INO, ROOT_INO, VECTOR_CATALOG_INO};

/// Pass 2: every entry must name a sound inode of the type it says.
pub(super) fn plan_entries(m: &mut Model) {
    m.actions = alloc::vec![Action::Keep; m.entries.len()];
    for (e, a) in m.entries.iter().zip(m.actions.iter_mut()) {
        let shown = String::from_utf8_lossy(&e.name);
        let bad = |text: String| problem(ProblemKind::DirEntry, Severity::Unsafe, e.dir, 0, text);
        let Some(ft) = e.ft else {
            m.problems.push(bad(format!(
                "directory {}: damaged entry at key {:#x}; remove it",
                e.dir, e.key
            )));
            *a = Action::Remove;
            continue;
        };
        let target = m.nodes.get(&e.ino);
        if e.ino == ROOT_INO || e.ino == e.dir {
            m.problems.push(bad(format!(
                "directory {}: entry '{shown}' names inode {} (the root or itself); remove it",
                e.dir, e.ino
            )));
            *a = Action::Remove;
            continue;
        }
        let Some(t) = target else {
            let why = if m.release.contains(&e.ino) {
                "a damaged"
            } else {
                "an unused"
            };
            m.problems.push(bad(format!(
                "directory {}: entry '{shown}' names {why} inode {}; remove it",
                e.dir, e.ino
            )));
            *a = Action::Remove;
            continue;
        };
        if t.ft != ft {
            m.problems.push(problem(
                ProblemKind::DirEntry,
                Severity::Safe,
                e.dir,
                0,
                format!(
                    "directory {}: entry '{shown}' has type {:?}, inode {} is {:?}; fix the entry",
                    e.dir, ft, e.ino, t.ft
                ),
            ));
            *a = Action::Retype(t.ft);
        }
        if !e.key_ok {
            m.problems.push(problem(
                ProblemKind::DirEntry,
                Severity::Safe,
                e.dir,
                0,
                format!(
                    "directory {}: entry '{shown}' is stored under the wrong hash; re-insert it",
                    e.dir
                ),
            ));
            *a = Action::Rekey;
        }
    }
}

/// A name may appear once per directory: later copies (correctly hashed
/// ones win over misplaced ones) are removed.
pub(super) fn plan_duplicate_names(m: &mut Model) {
    let mut seen: BTreeSet<(u64, &[u8])> = BTreeSet::new();
    let mut dups = Vec::new();
    for rekeyed in [false, true] {
        for (i, e) in m.entries.iter().enumerate() {
            let a = m.actions.get(i).copied().unwrap_or(Action::Remove);
            if a == Action::Remove || (a == Action::Rekey) != rekeyed {
                continue;
            }
            if !seen.insert((e.dir, &e.name)) {
                dups.push(i);
            }
        }
    }
    for i in dups {
        if let (Some(e), Some(a)) = (m.entries.get(i), m.actions.get_mut(i)) {
            m.problems.push(problem(
                ProblemKind::DirEntry,
                Severity::Unsafe,
                e.dir,
                0,
                format!(
                    "directory {}: second entry named '{}' (inode {}); remove it",
                    e.dir,
                    String::from_utf8_lossy(&e.name),
                    e.ino
                ),
            ));
            *a = Action::Remove;
        }
    }
}

/// Entries that stay (kept, retyped or re-keyed) in directories that stay.
fn live(m: &Model, i: usize) -> bool {
    let Some(e) = m.entries.get(i) else {
        return false;
    };
    m.actions.get(i).is_some_and(|a| *a != Action::Remove) && m.nodes.contains_key(&e.dir)
}

fn ref_counts(m: &Model) -> BTreeMap<u64, u32> {
    let mut refs: BTreeMap<u64, u32> = BTreeMap::new();
    for (i, e) in m.entries.iter().enumerate() {
        if live(m, i) {
            let r = refs.entry(e.ino).or_insert(0);
            *r = r.saturating_add(1);
        }
    }
    refs
}

/// Orphans: unlinked inodes are released; the list itself is checked.
pub(super) fn plan_orphans(m: &mut Model) {
    // Walk the on-disk list, bounded by the inode count.
    let mut on_list = BTreeSet::new();
    let mut cur = m.sb.orphan_head;
    let mut steps = 0u64;
    while cur != 0 {
        steps += 1;
        if steps > m.sb.inode_count || !on_list.insert(cur) {
            m.problems.push(problem(
                ProblemKind::Orphan,
                Severity::Safe,
                cur,
                0,
                String::from("orphan list loops; rebuild it"),
            ));
            break;
        }
        let Some(n) = m.nodes.get(&cur) else {
            if !m.release.contains(&cur) {
                m.problems.push(problem(
                    ProblemKind::Orphan,
                    Severity::Safe,
                    cur,
                    0,
                    format!("orphan list names unused inode {cur}; rebuild it"),
                ));
            }
            break;
        };
        cur = n.inode.orphan_next;
    }
    // A list that walked to its end, every member marked, is sound: what
    // it holds is recovery work for the mount when this check will not
    // write (the writing check reaps it before the scan).
    let sound = cur == 0
        && on_list.iter().all(|i| {
            m.nodes
                .get(i)
                .is_some_and(|n| n.inode.flags & FLAG_ORPHAN != 0)
        });
    let unmarked = on_list.iter().copied().find(|i| {
        m.nodes
            .get(i)
            .is_some_and(|n| n.inode.flags & FLAG_ORPHAN == 0)
    });
    if let Some(ino) = unmarked {
        // The mount refuses such a list; emptying it loses nothing (the
        // scan below still frees whatever has no links).
        m.problems.push(problem(
            ProblemKind::Orphan,
            Severity::Safe,
            ino,
            0,
            format!("orphan list names inode {ino}, which is not an orphan; empty the list"),
        ));
    }
    let defer = m.defer_orphans && sound;
    if m.sb.orphan_head != 0 && !defer {
        m.reset_orphan_head = true;
    }
    // Release unreferenced unlinked inodes until nothing changes (a
    // released directory drops its entries' references). Bounded: each
    // round releases at least one inode.
    for _ in 0..=m.nodes.len() {
        let refs = ref_counts(m);
        let mut newly = Vec::new();
        for (&ino, n) in &m.nodes {
            if ino == ROOT_INO || n.inode.nlink != 0 || refs.contains_key(&ino) {
                continue;
            }
            let orphan = on_list.contains(&ino) || n.inode.flags & FLAG_ORPHAN != 0;
            if orphan || n.ft == FileType::Directory || n.inode.size == 0 {
                newly.push((ino, orphan));
            }
        }
        if newly.is_empty() {
            break;
        }
        for (ino, orphan) in newly {
            if defer && orphan && on_list.contains(&ino) {
                if let Some(n) = m.nodes.remove(&ino) {
                    m.pending_orphans.push((ino, n));
                }
                continue;
            }
            let text = if orphan {
                format!("orphan inode {ino} was not freed; free it")
            } else {
                format!("unattached inode {ino} with no links; free it")
            };
            m.problems
                .push(problem(ProblemKind::Orphan, Severity::Safe, ino, 0, text));
            m.nodes.remove(&ino);
            m.release.insert(ino);
        }
    }
    // Survivors must not carry orphan state, except a linked file whose
    // truncation a crash cut short: the mount finishes it.
    for (&ino, n) in &m.nodes {
        if defer && on_list.contains(&ino) && n.inode.nlink > 0 {
            m.pending_truncations += 1;
            continue;
        }
        if n.inode.flags & FLAG_ORPHAN != 0 || n.inode.orphan_next != 0 {
            m.problems.push(problem(
                ProblemKind::Orphan,
                Severity::Safe,
                ino,
                0,
                format!("inode {ino} is marked orphan but in use; clear the mark"),
            ));
            m.fixes.entry(ino).or_default().clear_orphan = true;
        }
    }
}

/// Pass 3: each directory reachable from the root through exactly one
/// entry; anything unreachable goes to lost+found.
pub(super) fn plan_connectivity(m: &mut Model) {
    // A lost root is recreated empty; everything under it then shows up
    // as unconnected and goes to lost+found (lost+found back into the
    // new root).
    if !m.nodes.contains_key(&ROOT_INO) {
        if !m.release.contains(&ROOT_INO) {
            m.problems.push(problem(
                ProblemKind::Inode,
                Severity::Unsafe,
                ROOT_INO,
                0,
                String::from("root directory is missing; recreate it"),
            ));
        }
        m.recreate_root = true;
    }
    // Every directory's referring entries; keep one.
    let mut refs: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, e) in m.entries.iter().enumerate() {
        if live(m, i)
            && m.nodes
                .get(&e.ino)
                .is_some_and(|n| n.ft == FileType::Directory)
        {
            refs.entry(e.ino).or_default().push(i);
        }
    }
    let mut chosen: BTreeMap<u64, usize> = BTreeMap::new();
    for (&d, list) in &refs {
        let parent = m.nodes.get(&d).map_or(0, |n| n.inode.parent);
        let keep = list
            .iter()
            .copied()
            .find(|&i| m.entries.get(i).is_some_and(|e| e.dir == parent))
            .or(list.first().copied());
        for &i in list {
            if Some(i) == keep {
                continue;
            }
            if let (Some(e), Some(a)) = (m.entries.get(i), m.actions.get_mut(i)) {
                m.problems.push(problem(
                    ProblemKind::Connectivity,
                    Severity::Unsafe,
                    d,
                    0,
                    format!(
                        "directory {d} has a second link '{}' in directory {}; remove it",
                        String::from_utf8_lossy(&e.name),
                        e.dir
                    ),
                ));
                *a = Action::Remove;
            }
        }
        if let Some(k) = keep {
            chosen.insert(d, k);
        }
    }
    // Children along the chosen links.
    let mut children: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (&d, &i) in &chosen {
        if let Some(e) = m.entries.get(i) {
            children.entry(e.dir).or_default().push(d);
        }
    }
    let mut reached = BTreeSet::new();
    let visit = |start: u64, reached: &mut BTreeSet<u64>, children: &BTreeMap<u64, Vec<u64>>| {
        let mut stack = alloc::vec![start];
        while let Some(d) = stack.pop() {
            if reached.insert(d) {
                if let Some(c) = children.get(&d) {
                    stack.extend(c.iter().copied());
                }
            }
        }
    };
    visit(ROOT_INO, &mut reached, &children);
    // The vector catalogue is a second root: index files hang off it.
    if m.nodes.contains_key(&VECTOR_CATALOG_INO) {
        visit(VECTOR_CATALOG_INO, &mut reached, &children);
    }

    let lf_ok = m
        .nodes
        .get(&LOST_FOUND_INO)
        .is_some_and(|n| n.ft == FileType::Directory);
    let dirs: Vec<u64> = m
        .nodes
        .iter()
        .filter(|(_, n)| n.ft == FileType::Directory)
        .map(|(&i, _)| i)
        .collect();
    // Unreachable directories: first the tops of detached subtrees, then
    // one member of each cycle (its link inside the cycle is cut).
    for cycle_pass in [false, true] {
        for &d in &dirs {
            if reached.contains(&d) {
                continue;
            }
            let has_link = chosen.contains_key(&d);
            if has_link && !cycle_pass {
                continue;
            }
            if let Some(&i) = chosen.get(&d) {
                if let Some(a) = m.actions.get_mut(i) {
                    *a = Action::Remove;
                }
            }
            let text = if has_link {
                format!("directory {d} is part of a directory cycle; move it to lost+found")
            } else {
                format!("unconnected directory {d}; move it to lost+found")
            };
            let sev = if d == LOST_FOUND_INO {
                Severity::Safe
            } else {
                Severity::Unsafe
            };
            m.problems
                .push(problem(ProblemKind::Connectivity, sev, d, 0, text));
            reconnect(m, d, FileType::Directory, lf_ok);
            visit(d, &mut reached, &children);
        }
    }
    // Non-directories nobody names but still linked, or unlinked with data
    // and not on the orphan list: keep them, in lost+found.
    let refs = ref_counts(m);
    let loose: Vec<(u64, FileType)> = m
        .nodes
        .iter()
        .filter(|(i, n)| n.ft != FileType::Directory && !refs.contains_key(i))
        .map(|(&i, n)| (i, n.ft))
        .collect();
    for (ino, ft) in loose {
        m.problems.push(problem(
            ProblemKind::Connectivity,
            Severity::Unsafe,
            ino,
            0,
            format!("unattached inode {ino}; connect it to lost+found"),
        ));
        reconnect(m, ino, ft, lf_ok);
    }
}

/// Plan an entry for `ino` in lost+found (lost+found itself goes back
/// into the root), recreating lost+found if needed.
fn reconnect(m: &mut Model, ino: u64, ft: FileType, lf_ok: bool) {
    if ino == LOST_FOUND_INO {
        m.added.push(Added {
            dir: ROOT_INO,
            name: b"lost+found".to_vec(),
            ino,
            ft,
        });
        return;
    }
    if !lf_ok {
        // Inode 2 is never kept as anything but a directory (see the
        // scan), so it is free here and can be made afresh.
        if !m.recreate_lost_found {
            m.problems.push(problem(
                ProblemKind::Connectivity,
                Severity::Unsafe,
                LOST_FOUND_INO,
                0,
                String::from("lost+found is missing; recreate it"),
            ));
            m.recreate_lost_found = true;
            m.added.push(Added {
                dir: ROOT_INO,
                name: b"lost+found".to_vec(),
                ino: LOST_FOUND_INO,
                ft: FileType::Directory,
            });
        }
    }
    m.added.push(Added {
        dir: LOST_FOUND_INO,
        name: format!("#{ino}").into_bytes(),
        ino,
        ft,
    });
}

/// Pass 4: link counts, directory sizes and parents, block counts, as they
/// will be once the planned entry changes are made.
pub(super) fn plan_counts(m: &mut Model) {
    let mut size: BTreeMap<u64, u64> = BTreeMap::new();
    let mut subdirs: BTreeMap<u64, u32> = BTreeMap::new();
    let mut links: BTreeMap<u64, u32> = BTreeMap::new();
    let mut parent: BTreeMap<u64, u64> = BTreeMap::new();
    let mut count = |dir: u64, ino: u64, is_dir: bool| {
        *size.entry(dir).or_insert(0) += 1;
        if is_dir {
            let s = subdirs.entry(dir).or_insert(0);
            *s = s.saturating_add(1);
            parent.insert(ino, dir);
        } else {
            let l = links.entry(ino).or_insert(0);
            *l = l.saturating_add(1);
        }
    };
    for (i, e) in m.entries.iter().enumerate() {
        if live(m, i) {
            if let Some(n) = m.nodes.get(&e.ino) {
                count(e.dir, e.ino, n.ft == FileType::Directory);
            }
        }
    }
    for a in &m.added {
        count(a.dir, a.ino, a.ft == FileType::Directory);
    }
    parent.insert(ROOT_INO, ROOT_INO);
    parent.insert(VECTOR_CATALOG_INO, VECTOR_CATALOG_INO);
    for (&ino, n) in &m.nodes {
        let mut fix = m.fixes.remove(&ino).unwrap_or_default();
        let is_dir = n.ft == FileType::Directory;
        let want_nlink = if is_dir {
            subdirs.get(&ino).copied().unwrap_or(0).saturating_add(2)
        } else {
            links.get(&ino).copied().unwrap_or(0)
        };
        // A kept inode that no entry will name is a planning gap, not a
        // reason to zero its count (which would get it freed later).
        if n.inode.nlink != want_nlink && want_nlink > 0 {
            m.problems.push(problem(
                ProblemKind::LinkCount,
                Severity::Safe,
                ino,
                0,
                format!(
                    "inode {ino} link count is {}, should be {want_nlink}; fix it",
                    n.inode.nlink
                ),
            ));
            fix.nlink = Some(want_nlink);
        }
        if is_dir {
            let want = size.get(&ino).copied().unwrap_or(0);
            if n.inode.size != want {
                m.problems.push(problem(
                    ProblemKind::InodeField,
                    Severity::Safe,
                    ino,
                    0,
                    format!(
                        "directory {ino} size is {}, should be {want} entries; fix it",
                        n.inode.size
                    ),
                ));
                fix.size = Some(want);
            }
            if let Some(&p) = parent.get(&ino) {
                if n.inode.parent != p {
                    m.problems.push(problem(
                        ProblemKind::Connectivity,
                        Severity::Safe,
                        ino,
                        0,
                        format!(
                            "directory {ino} '..' is {}, should be {p}; fix it",
                            n.inode.parent
                        ),
                    ));
                    fix.parent = Some(p);
                }
            }
        }
        let want_blocks = n.owned();
        if n.inode.blocks != want_blocks {
            m.problems.push(problem(
                ProblemKind::InodeField,
                Severity::Safe,
                ino,
                0,
                format!(
                    "inode {ino} block count is {}, should be {want_blocks}; fix it",
                    n.inode.blocks
                ),
            ));
            fix.blocks = Some(want_blocks);
        }
        if n.drop_xattr {
            fix.drop_xattr = true;
            fix.blocks = Some(want_blocks);
        } else if let Some(u) = n.xattr_used {
            if n.inode.xattr_len != u {
                m.problems.push(problem(
                    ProblemKind::Xattr,
                    Severity::Safe,
                    ino,
                    0,
                    format!(
                        "inode {ino} attribute length is {}, should be {u}; fix it",
                        n.inode.xattr_len
                    ),
                ));
                fix.xattr_len = Some(u);
            }
        }
        if !fix.is_empty() {
            m.fixes.insert(ino, fix);
        }
    }
    if m.recreate_root {
        let fix = Fix {
            nlink: Some(
                subdirs
                    .get(&ROOT_INO)
                    .copied()
                    .unwrap_or(0)
                    .saturating_add(2),
            ),
            size: Some(size.get(&ROOT_INO).copied().unwrap_or(0)),
            parent: Some(ROOT_INO),
            ..Fix::default()
        };
        m.fixes.insert(ROOT_INO, fix);
    }
    if m.recreate_lost_found {
        // The fresh lost+found's fields are set from these when it is made.
        let fix = Fix {
            nlink: Some(
                subdirs
                    .get(&LOST_FOUND_INO)
                    .copied()
                    .unwrap_or(0)
                    .saturating_add(2),
            ),
            size: Some(size.get(&LOST_FOUND_INO).copied().unwrap_or(0)),
            parent: Some(ROOT_INO),
            ..Fix::default()
        };
        m.fixes.insert(LOST_FOUND_INO, fix);
    }
}
