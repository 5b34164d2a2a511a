//! `vexctl search DIR --queries FILE -k N ...`: every row of a vector file
//! as a query, sent in `VEXFS_IOC_SEARCH_BATCH` requests of as many rows as
//! fit (one round trip each). The filesystem answers with inode numbers;
//! paths come from one walk of DIR afterwards (skipped with --no-paths).

use super::search::HitJson;
use super::Ctx;
use crate::vexctl::cli::SearchArgs;
use crate::vexctl::error::{CtlError, Result};
use crate::vexctl::output;
use crate::vexctl::search::{self, Query};
use crate::vexctl::sys;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use vexfs_uapi::{self as uapi, Request, SearchBatch};

#[derive(Serialize)]
struct QueryJson {
    query: usize,
    results: Vec<HitJson>,
}

#[derive(Serialize)]
struct BatchJson {
    dir: String,
    k: u32,
    queries: Vec<QueryJson>,
    indexed: bool,
    exact_scan: bool,
    scanned: u64,
    requests: usize,
}

/// A request for `rows` (of `dim` floats each) with the query's
/// parameters and filters; an error if a filter does not fit.
fn request(
    q: &Query,
    dim: usize,
    rows: &[&[f32]],
) -> std::result::Result<Box<SearchBatch>, String> {
    let mut b = Box::new(SearchBatch::new_request());
    b.flags = q.flags & uapi::BATCH_FLAGS_KNOWN;
    b.k = q.k;
    b.dim = dim as u32;
    b.count = rows.len() as u32;
    b.metric = q.metric;
    b.ef = q.ef;
    b.nprobe = q.nprobe;
    b.rerank = q.rerank;
    b.subtree_ino = q.subtree_ino;
    search::set_filters(
        q,
        search::FilterFields {
            glob: &mut b.name_glob,
            xattr_name: &mut b.xattr_name,
            xattr_value: &mut b.xattr_value,
            xattr_len: &mut b.xattr_value_len,
        },
    )?;
    for (i, r) in rows.iter().enumerate() {
        if !b.set_query(i, r) {
            return Err("a query row does not fit the request".into());
        }
    }
    Ok(b)
}

/// Paths (relative to `dir`) of the inodes in `want`, from one walk that
/// stays on `dir`'s filesystem and stops once all are found.
fn paths_of(dir: &Path, want: &BTreeSet<u64>) -> HashMap<u64, String> {
    let mut found = HashMap::new();
    let Ok(top) = std::fs::metadata(dir) else {
        return found;
    };
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(dir.join(&rel)) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            let r = rel.join(e.file_name());
            if want.contains(&md.ino()) {
                found
                    .entry(md.ino())
                    .or_insert_with(|| r.display().to_string());
                if found.len() == want.len() {
                    return found;
                }
            }
            if md.is_dir() && md.dev() == top.dev() {
                stack.push(r);
            }
        }
    }
    found
}

pub fn run(ctx: &Ctx, a: &SearchArgs, file: &Path, q: &Query) -> Result<()> {
    let m = super::read_vectors(file)?;
    let per = uapi::batch_rows(m.dim, q.k as usize);
    if per == 0 {
        return Err(CtlError::usage(format!(
            "-k {} with {} dimensions does not fit one batch request (use --vector for one query)",
            q.k, m.dim
        )));
    }
    let dirf = sys::open_dir(&a.dir).map_err(|e| CtlError::os(a.dir.display(), &e))?;
    let rows: Vec<&[f32]> = m.iter_rows().collect();
    let mut per_query: Vec<Vec<(u64, f32)>> = Vec::with_capacity(rows.len());
    let (mut of, mut scanned, mut requests) = (0u32, 0u64, 0usize);
    for part in rows.chunks(per) {
        let mut b = request(q, m.dim, part).map_err(CtlError::usage)?;
        sys::ioctl_struct(&dirf, uapi::IOC_SEARCH_BATCH, b.as_mut()).map_err(|e| {
            let mut one = q.clone();
            one.vector = part[0].to_vec();
            super::search::search_error(&a.dir, &one, &e)
        })?;
        requests += 1;
        of |= b.out_flags;
        scanned = scanned.saturating_add(b.scanned);
        for i in 0..part.len() {
            per_query.push(b.hits(i).map(|h| (h.ino, h.distance)).collect());
        }
    }
    let names = if a.no_paths {
        HashMap::new()
    } else {
        let want: BTreeSet<u64> = per_query.iter().flatten().map(|h| h.0).collect();
        paths_of(&a.dir, &want)
    };
    let shown = |ino: u64| {
        names.get(&ino).map(|rel| {
            if a.relative || a.dir == Path::new(".") {
                rel.clone()
            } else {
                a.dir.join(rel).display().to_string()
            }
        })
    };
    if ctx.json {
        let queries = per_query
            .iter()
            .enumerate()
            .map(|(i, hits)| QueryJson {
                query: i,
                results: hits
                    .iter()
                    .map(|&(ino, distance)| HitJson {
                        path: shown(ino),
                        distance,
                        ino,
                    })
                    .collect(),
            })
            .collect();
        return output::json(&BatchJson {
            dir: a.dir.display().to_string(),
            k: q.k,
            queries,
            indexed: of & uapi::OUT_INDEXED != 0,
            exact_scan: of & uapi::OUT_EXACT_SCAN != 0,
            scanned,
            requests,
        });
    }
    for (i, hits) in per_query.iter().enumerate() {
        for &(ino, d) in hits {
            let p = shown(ino).unwrap_or_else(|| format!("ino:{ino}"));
            output::line(&format!("{i}\t{p}\t{d}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_hold_what_fits() {
        assert_eq!(uapi::batch_rows(128, 10), 30);
        assert_eq!(uapi::batch_rows(4, 1), uapi::BATCH_MAX);
        assert_eq!(uapi::batch_rows(8, 4000), 0);
        let q = Query {
            k: 10,
            name_glob: Some(b"a*".to_vec()),
            ..Query::default()
        };
        let v = [0.5f32; 8];
        let b = request(&q, 8, &[&v, &v]).unwrap();
        assert_eq!((b.count, b.dim, b.k), (2, 8, 10));
        assert_eq!(uapi::c_str(&b.name_glob), b"a*");
        let long = Query {
            name_glob: Some(vec![b'x'; 200]),
            ..q
        };
        assert!(request(&long, 8, &[&v]).is_err());
    }
}
