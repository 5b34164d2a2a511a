//! `vexctl search DIR (--vector F | --values .. | --like PATH) -k N ...`.

use super::Ctx;
use crate::vexctl::cli::SearchArgs;
use crate::vexctl::error::{errno_of, CtlError, Result};
use crate::vexctl::params::{metric_name, parse_metric};
use crate::vexctl::search::{self, Filter, Found, Query};
use crate::vexctl::{fsinfo, output, sys};
use serde::Serialize;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use vexfs_uapi::{self as uapi, Request, Results};

#[derive(Serialize)]
pub(super) struct HitJson {
    /// Joined to DIR (or relative to it with --relative); null when the
    /// filesystem gave no path.
    pub(super) path: Option<String>,
    pub(super) distance: f32,
    pub(super) ino: u64,
}

#[derive(Serialize)]
struct SearchJson {
    dir: String,
    k: u32,
    /// Hits the filesystem found (before --like removed the file itself).
    total: u32,
    indexed: bool,
    exact_scan: bool,
    scanned: u64,
    results: Vec<HitJson>,
}

pub fn run(ctx: &Ctx, a: &SearchArgs) -> Result<()> {
    let (vector, exclude) = match &a.queries {
        Some(_) => (Vec::new(), None),
        None => query_vector(a)?,
    };
    let mut q = Query {
        vector,
        k: a.k,
        ..Query::default()
    };
    if q.k == 0 || q.k as usize > uapi::K_MAX {
        return Err(CtlError::usage(format!(
            "-k {}: k must be from 1 to {}",
            q.k,
            uapi::K_MAX
        )));
    }
    if exclude.is_some() {
        // One more, since the file itself is usually the nearest.
        q.k = (q.k + 1).min(uapi::K_MAX as u32);
    }
    q.ef = a.ef.unwrap_or(0);
    q.nprobe = a.nprobe.unwrap_or(0);
    q.rerank = a.rerank.unwrap_or(0);
    if let Some(m) = &a.metric {
        q.metric = parse_metric(m).map_err(CtlError::usage)?;
    }
    if a.exact {
        q.flags |= uapi::SEARCH_EXACT;
    }
    if a.no_paths {
        q.flags |= uapi::SEARCH_NO_PATHS;
    }
    apply_filters(&mut q, &a.dir, &a.filter)?;
    if let Some(file) = &a.queries {
        return super::search_batch::run(ctx, a, file, &q);
    }
    let built = search::build(&q).map_err(CtlError::usage)?;
    let dirf = sys::open_dir(&a.dir).map_err(|e| CtlError::os(a.dir.display(), &e))?;

    for chunk in &built.stage {
        let mut c = chunk.clone();
        sys::ioctl_struct(&dirf, uapi::IOC_STAGE_VECTOR, c.as_mut())
            .map_err(|e| search_error(&a.dir, &q, &e))?;
    }
    let mut s = built.search;
    sys::ioctl_struct(&dirf, uapi::IOC_SEARCH, s.as_mut())
        .map_err(|e| search_error(&a.dir, &q, &e))?;
    let first = search::first_page(&s);
    let hits = search::collect(first, !a.no_paths, |offset| {
        let mut r = Box::new(Results::new_request());
        r.offset = offset;
        sys::ioctl_struct(&dirf, uapi::IOC_RESULTS, r.as_mut())?;
        Ok(search::results_page(&r))
    })
    .map_err(|e| CtlError::os(format!("{}: fetching results", a.dir.display()), &e))?;

    let mut hits: Vec<Found> = match exclude {
        Some(ino) => hits.into_iter().filter(|h| h.ino != ino).collect(),
        None => hits,
    };
    hits.truncate(a.k as usize);
    let shown = |h: &Found| h.path.as_deref().map(|p| show_path(&a.dir, p, a.relative));
    if ctx.json {
        let results = hits
            .iter()
            .map(|h| HitJson {
                path: shown(h),
                distance: h.distance,
                ino: h.ino,
            })
            .collect();
        return output::json(&SearchJson {
            dir: a.dir.display().to_string(),
            k: a.k,
            total: s.total,
            indexed: s.out_flags & uapi::OUT_INDEXED != 0,
            exact_scan: s.out_flags & uapi::OUT_EXACT_SCAN != 0,
            scanned: s.scanned,
            results,
        });
    }
    for h in &hits {
        let p = shown(h).unwrap_or_else(|| format!("ino:{}", h.ino));
        output::line(&format!("{p}\t{}", h.distance))?;
    }
    Ok(())
}

/// The query vector, and the inode to leave out (`--like` without
/// `--include-self`).
fn query_vector(a: &SearchArgs) -> Result<(Vec<f32>, Option<u64>)> {
    if let Some(like) = &a.like {
        let v = super::embed::get_one(like)?;
        let ino = std::fs::metadata(like)
            .map_err(|e| CtlError::os(like.display(), &e))?
            .ino();
        return Ok((v, (!a.include_self).then_some(ino)));
    }
    match super::load_vector(&a.source)? {
        Some(v) => Ok((v, None)),
        None => Err(CtlError::usage(
            "search needs --vector FILE, --values V,V,... or --like PATH",
        )),
    }
}

/// Put the `--filter`s into the query (each kind at most once).
fn apply_filters(q: &mut Query, dir: &Path, filters: &[String]) -> Result<()> {
    let mut subtree = false;
    for f in filters {
        match search::parse_filter(f).map_err(CtlError::usage)? {
            Filter::Subtree(rel) => {
                if subtree {
                    return Err(CtlError::usage("only one subtree= filter may be given"));
                }
                subtree = true;
                q.subtree_ino = subtree_ino(dir, &rel)?;
            }
            Filter::Name(g) => {
                if q.name_glob.replace(g.into_bytes()).is_some() {
                    return Err(CtlError::usage("only one name= filter may be given"));
                }
            }
            Filter::Xattr(n, v) => {
                if q.xattr.replace((n.into_bytes(), v)).is_some() {
                    return Err(CtlError::usage("only one xattr= filter may be given"));
                }
            }
        }
    }
    Ok(())
}

/// The inode of directory `rel` under `dir`, which must be on the same
/// filesystem.
fn subtree_ino(dir: &Path, rel: &str) -> Result<u64> {
    let p = dir.join(rel);
    let md = std::fs::metadata(&p)
        .map_err(|e| CtlError::os(format!("subtree filter {}", p.display()), &e))?;
    if !md.is_dir() {
        return Err(CtlError::errno(
            format!("subtree filter {}", p.display()),
            libc::ENOTDIR,
            "not a directory",
        ));
    }
    let dev = std::fs::metadata(dir)
        .map_err(|e| CtlError::os(dir.display(), &e))?
        .dev();
    if md.dev() != dev {
        return Err(CtlError::usage(format!(
            "subtree filter {}: not on the same filesystem as {}",
            p.display(),
            dir.display()
        )));
    }
    Ok(md.ino())
}

/// A result path as printed: joined to DIR (like find(1)) unless DIR is
/// `.` or `relative`.
fn show_path(dir: &Path, rel: &[u8], relative: bool) -> String {
    let rel = output::path_text(rel);
    if relative || dir == Path::new(".") {
        rel
    } else {
        PathBuf::from(dir).join(rel).display().to_string()
    }
}

/// A failed stage or search call in words.
pub(super) fn search_error(dir: &Path, q: &Query, e: &std::io::Error) -> CtlError {
    let errno = errno_of(e);
    let what = dir.display();
    match errno {
        libc::ENOTTY | libc::EOPNOTSUPP | libc::ENOSYS => fsinfo::not_vexfs(dir, errno),
        libc::EINVAL => {
            if let Some(why) = fsinfo::dim_mismatch(dir, q.vector.len()) {
                return CtlError::errno(
                    what,
                    errno,
                    &format!("query has {} dimensions, {why}", q.vector.len()),
                );
            }
            if q.metric != uapi::METRIC_DEFAULT {
                if let Ok(st) = sys::open_dir(dir)
                    .map_err(|_| ())
                    .and_then(|f| fsinfo::index_stats(&f, dir).map_err(|_| ()))
                {
                    if st.state != uapi::STATE_NONE && st.metric != q.metric {
                        return CtlError::errno(
                            what,
                            errno,
                            &format!(
                                "metric {} does not match the index's ({})",
                                metric_name(q.metric),
                                metric_name(st.metric)
                            ),
                        );
                    }
                }
            }
            CtlError::errno(what, errno, "the filesystem refused the query")
        }
        _ => CtlError::os(format!("{what}: search"), e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_as_printed() {
        assert_eq!(
            show_path(Path::new("words"), b"queen", false),
            "words/queen"
        );
        assert_eq!(show_path(Path::new("words/"), b"a/b", false), "words/a/b");
        assert_eq!(show_path(Path::new("."), b"queen", false), "queen");
        assert_eq!(show_path(Path::new("words"), b"queen", true), "queen");
    }

    #[test]
    fn filters_once_each() {
        let mut q = Query::default();
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("sub")).unwrap();
        std::fs::write(t.path().join("file"), b"").unwrap();
        apply_filters(
            &mut q,
            t.path(),
            &[
                "name=a*".into(),
                "xattr=user.k=v".into(),
                "subtree=sub".into(),
            ],
        )
        .unwrap();
        assert_eq!(q.name_glob.as_deref(), Some(&b"a*"[..]));
        assert_ne!(q.subtree_ino, 0);
        let mut q = Query::default();
        assert!(apply_filters(&mut q, t.path(), &["name=a".into(), "name=b".into()]).is_err());
        let e =
            apply_filters(&mut Query::default(), t.path(), &["subtree=nope".into()]).unwrap_err();
        assert_eq!(e.exit, crate::vexctl::error::Exit::NotFound);
        let e =
            apply_filters(&mut Query::default(), t.path(), &["subtree=file".into()]).unwrap_err();
        assert!(e.msg.contains("not a directory"), "{}", e.msg);
    }
}
