//! The vector pass of fsck, run once the structure is sound: embedding
//! flags against attributes, primary links against directory entries,
//! the catalogue against indexed directories, and every index against the
//! embeddings of the files it covers (count and content digest). Every fix
//! here is safe (nothing is lost: an index is rebuilt from the files).

use super::scan::problem;
use super::{CheckReport, ProblemKind, RepairMode, Severity};
use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::fs::Fs;
use crate::vector::domain::{digest_of, member_hash};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::vec::Vec;
use vexfs_format::inode::{FLAG_HAS_EMBEDDING, FLAG_VECTOR_INDEX};
use vexfs_format::vector::{embedding_dim, EMBEDDING_XATTR, STATE_CLEAN};
use vexfs_format::{LOST_FOUND_INO, ROOT_INO, VECTOR_CATALOG_INO};

/// Record a problem; fix it with `fix` when the mode allows.
fn found<D: BlockDevice>(
    fs: &mut Fs<D>,
    report: &mut CheckReport,
    mode: RepairMode,
    ino: u64,
    text: alloc::string::String,
    fix: impl FnOnce(&mut Fs<D>) -> Result<()>,
) -> Result<()> {
    let mut p = problem(ProblemKind::VectorIndex, Severity::Safe, ino, 0, text);
    if mode != RepairMode::No {
        match fix(fs) {
            Ok(()) => {
                p.fixed = true;
                report.repairs.push(format!("{} (fixed)", p.text));
            }
            Err(e) => report
                .repairs
                .push(format!("{}: repair failed: {e}", p.text)),
        }
    }
    report.problems.push(p);
    Ok(())
}

pub(super) fn check<D: BlockDevice>(
    fs: &mut Fs<D>,
    mode: RepairMode,
    report: &mut CheckReport,
) -> Result<()> {
    // Pass A: flags against attributes; indexed directories.
    let mut flagged = BTreeSet::new();
    let first = fs.sb.first_user_ino;
    for ino in 1..=fs.sb.inode_count {
        if ino < first && ino != ROOT_INO && ino != LOST_FOUND_INO && ino != VECTOR_CATALOG_INO {
            continue;
        }
        let i = match fs.read_inode(ino) {
            Ok(i) => i,
            Err(FsError::NotFound) | Err(FsError::Corrupt(_)) => continue,
            Err(e) => return Err(e),
        };
        if i.is_dir() && i.flags & FLAG_VECTOR_INDEX != 0 {
            flagged.insert(ino);
        }
        if !i.is_reg() {
            continue;
        }
        let value = match fs.getxattr(ino, EMBEDDING_XATTR) {
            Ok(v) => Some(v),
            Err(FsError::NoData) => None,
            Err(e) => return Err(e),
        };
        let has_flag = i.flags & FLAG_HAS_EMBEDDING != 0;
        match (&value, has_flag) {
            (Some(v), _) if embedding_dim(v).is_err() => {
                found(
                    fs,
                    report,
                    mode,
                    ino,
                    format!("file {ino} has a malformed embedding; remove it"),
                    |fs| {
                        let now = fs.vectors_now();
                        fs.removexattr(ino, EMBEDDING_XATTR, now)
                    },
                )?;
            }
            (Some(_), false) | (None, true) => {
                found(
                    fs,
                    report,
                    mode,
                    ino,
                    format!("file {ino}: embedding flag disagrees with its attributes; fix it"),
                    |fs| {
                        fs.transact(|fs| {
                            let mut i = fs.read_inode(ino)?;
                            i.flags ^= FLAG_HAS_EMBEDDING;
                            fs.write_inode(ino, &i)
                        })
                    },
                )?;
            }
            _ => {}
        }
    }

    // Pass B: primary links against directory entries.
    let mut first_link: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    let mut primary_ok: BTreeSet<u64> = BTreeSet::new();
    for top in [ROOT_INO, VECTOR_CATALOG_INO] {
        if fs.read_inode(top).is_err() {
            continue;
        }
        fs.walk_tree(top, &|_, _| false, &mut |_fs, dir, key, ino, inode| {
            first_link.entry(ino).or_insert((dir, key));
            if inode.parent == dir && inode.link_key == key {
                primary_ok.insert(ino);
            }
            Ok(())
        })?;
    }
    for (&ino, &link) in &first_link {
        if primary_ok.contains(&ino) {
            continue;
        }
        let i = fs.read_inode(ino)?;
        let needs = i.is_dir() || i.parent != 0 || i.flags & FLAG_HAS_EMBEDDING != 0;
        if !needs {
            continue;
        }
        let text = if i.flags & FLAG_HAS_EMBEDDING != 0 && i.parent == 0 {
            format!("file {ino} has an embedding but no primary link (not in any index); link it")
        } else {
            format!("inode {ino}: primary link does not name its directory entry; fix it")
        };
        found(fs, report, mode, ino, text, |fs| {
            fs.transact(|fs| fs.set_primary(ino, Some(link)))
        })?;
    }

    // Pass C: the catalogue against indexed directories.
    let roots = fs.catalog_roots()?;
    for &root in &roots {
        let ok = match fs.read_inode(root) {
            Ok(i) => i.is_dir() && i.flags & FLAG_VECTOR_INDEX != 0,
            Err(_) => false,
        };
        let rec_ok = ok && fs.catalog_record(root).is_ok_and(|r| r.is_some());
        if !rec_ok {
            found(fs, report, mode, root, format!("vector catalogue entry {root} does not belong to an indexed directory; remove it"), |fs| {
                fs.transact(|fs| {
                    fs.catalog_remove(root)?;
                    if let Ok(mut i) = fs.read_inode(root) {
                        if i.is_dir() && i.flags & FLAG_VECTOR_INDEX != 0 {
                            i.flags &= !FLAG_VECTOR_INDEX;
                            fs.write_inode(root, &i)?;
                        }
                    }
                    Ok(())
                })
            })?;
        }
    }
    for &dir in &flagged {
        if !roots.contains(&dir) {
            found(
                fs,
                report,
                mode,
                dir,
                format!("directory {dir} is marked indexed but has no index; clear the mark"),
                |fs| {
                    fs.transact(|fs| {
                        let mut i = fs.read_inode(dir)?;
                        i.flags &= !FLAG_VECTOR_INDEX;
                        fs.write_inode(dir, &i)
                    })
                },
            )?;
        }
    }
    fs.vectors.roots = None;

    // Pass D: every index against the files it covers.
    let roots: Vec<u64> = fs.catalog_roots()?.into_iter().collect();
    for root in roots {
        let Some((rec, file)) = fs.catalog_record(root)? else {
            continue;
        };
        let dim = rec.dim as usize;
        let mut want = Vec::new();
        fs.walk_embeddings(root, true, &mut |_fs, ino, v| {
            if v.len() == dim {
                want.push(member_hash(ino, v));
            }
            Ok(())
        })?;
        let want_digest = digest_of(want.iter().copied());
        let verdict = if rec.state != STATE_CLEAN {
            Some(format!(
                "index of directory {root} changed after its last save; rebuild it"
            ))
        } else {
            match fs.catalog_read_data(file, &rec).and_then(|bytes| {
                let spec = crate::vector::catalog::spec_of(&rec)?;
                crate::vector::domain::Domain::deserialize(root, spec, &bytes)
            }) {
                Err(e) => Some(format!(
                    "saved index of directory {root} is unusable ({e}); rebuild it"
                )),
                Ok(d) if d.members.len() != want.len() || d.digest() != want_digest => {
                    Some(format!(
                    "index of directory {root} holds {} vectors, the files have {}{}; rebuild it",
                    d.members.len(),
                    want.len(),
                    if d.members.len() == want.len() { " with other contents" } else { "" }
                ))
                }
                Ok(_) => None,
            }
        };
        if let Some(text) = verdict {
            found(fs, report, mode, root, text, |fs| {
                fs.vectors.domains.remove(&root);
                let spec = crate::vector::catalog::spec_of(&rec)?;
                let mut d = fs.build_domain(root, spec)?;
                d.train_now()?;
                d.generation = rec.generation;
                fs.vectors.domains.insert(root, d);
                fs.domain_save(root)
            })?;
        }
    }
    Ok(())
}
