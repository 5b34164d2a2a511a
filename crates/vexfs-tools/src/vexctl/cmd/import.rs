//! `vexctl import`: many embeddings into one directory through
//! `VEXFS_IOC_BULK_SET`, in requests that fill the 16000-byte data area.
//!
//! Everything is checked before the first request (values, names, the
//! index's dimension), so a bad input stores nothing. Each request is one
//! transaction on the filesystem side; if one fails, the rows of the
//! requests before it stay stored, and the message says how many.

use super::Ctx;
use crate::vexctl::cli::ImportArgs;
use crate::vexctl::error::{describe_errno, errno_of, CtlError, Exit, Result};
use crate::vexctl::{bulk, fsinfo, names, output, sys, vectors};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use serde::Serialize;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Instant;
use vexfs_uapi as uapi;

#[derive(Serialize)]
struct ImportJson {
    dir: String,
    rows: usize,
    skipped: usize,
    dim: usize,
    requests: usize,
    seconds: f64,
    rows_per_second: f64,
}

pub fn run(ctx: &Ctx, a: &ImportArgs) -> Result<()> {
    let m = super::read_vectors(&a.vectors)?;
    let (items, skipped) = mapping(a, m.rows)?;
    for (row, name, why) in &skipped {
        if !ctx.json {
            ctx.note(&format!(
                "skipping row {row} ({}): {why}",
                names::show(name)
            ));
        }
    }
    let dirf = sys::open_dir(&a.dir).map_err(|e| CtlError::os(a.dir.display(), &e))?;
    let st = fsinfo::index_stats(&dirf, &a.dir)?;
    if st.state != uapi::STATE_NONE && st.dim as usize != m.dim {
        let root = fsinfo::ancestor_with_ino(&a.dir, st.root_ino).unwrap_or_else(|| a.dir.clone());
        let msg = format!(
            "embeddings have {} dimensions, the index under {} expects {}",
            m.dim,
            fsinfo::show_dir(&root),
            st.dim
        );
        return Err(CtlError::errno(a.vectors.display(), libc::EINVAL, &msg));
    }
    let name_list: Vec<&[u8]> = items.iter().map(|(_, n)| n.as_slice()).collect();
    let bar = progress_bar(ctx, items.len() as u64);
    let start = Instant::now();
    let requests = match bulk::plan(&name_list, m.dim) {
        Ok(chunks) => send_bulk(a, &dirf, &m, &items, &chunks, &bar)?,
        Err(_) => {
            // A vector this long (about 4000 floats) does not fit one bulk
            // request with its name: set the attributes one by one.
            if !ctx.json {
                ctx.note(&format!(
                    "{}-float vectors do not fit a bulk request; setting them one by one",
                    m.dim
                ));
            }
            send_each(a, &m, &items, &bar)?
        }
    };
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let rate = items.len() as f64 / seconds.max(1e-9);
    if ctx.json {
        return output::json(&ImportJson {
            dir: a.dir.display().to_string(),
            rows: items.len(),
            skipped: skipped.len(),
            dim: m.dim,
            requests,
            seconds,
            rows_per_second: rate,
        });
    }
    if !ctx.quiet {
        let skip = if skipped.is_empty() {
            String::new()
        } else {
            format!(", {} rows skipped", skipped.len())
        };
        eprintln!("vexctl: imported {} embeddings of {} dimensions into {} in {seconds:.2} s ({rate:.0} rows/s, {requests} requests{skip})", items.len(), m.dim, a.dir.display());
    }
    Ok(())
}

/// `(row, name)` pairs to import.
type Items = Vec<(usize, Vec<u8>)>;
/// `(row, name, reason)` of rows left out.
type Skipped = Vec<(usize, Vec<u8>, String)>;

/// `(row, name)` for every row to import, and the rows skipped.
fn mapping(a: &ImportArgs, rows: usize) -> Result<(Items, Skipped)> {
    match &a.names {
        Some(p) => {
            let text = std::fs::read(p).map_err(|e| {
                CtlError::usage(format!(
                    "{}: {}",
                    p.display(),
                    crate::vexctl::error::describe_io(&e)
                ))
            })?;
            let m = names::parse_names(&text, rows, a.skip_invalid)
                .map_err(|e| CtlError::usage(format!("{}: {e}", p.display())))?;
            Ok((m.items, m.skipped))
        }
        None => {
            let ns = names::row_names(&a.prefix, rows)
                .map_err(|e| CtlError::usage(format!("--prefix: {e}")))?;
            Ok((ns.into_iter().enumerate().collect(), Vec::new()))
        }
    }
}

fn progress_bar(ctx: &Ctx, total: u64) -> ProgressBar {
    let target = if ctx.progress() && total >= 1000 {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) =
        ProgressStyle::with_template("importing [{bar:30}] {pos}/{len} rows, {rate}, eta {eta}")
    {
        let rate = |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} rows/s", s.per_sec());
        };
        bar.set_style(style.with_key("rate", rate).progress_chars("=> "));
    }
    bar
}

/// The rows in bulk requests; returns the number of requests.
fn send_bulk(
    a: &ImportArgs,
    dirf: &std::fs::File,
    m: &vectors::Matrix,
    items: &[(usize, Vec<u8>)],
    chunks: &[std::ops::Range<usize>],
    bar: &ProgressBar,
) -> Result<usize> {
    let flags = if a.create { uapi::BULK_CREATE } else { 0 };
    let mut stored = 0usize;
    for chunk in chunks {
        let part = items.get(chunk.clone()).unwrap_or(&[]);
        let ns: Vec<&[u8]> = part.iter().map(|(_, n)| n.as_slice()).collect();
        let rows = part.iter().filter_map(|(r, _)| m.row(*r));
        let mut req = bulk::fill(&ns, rows, m.dim, flags).ok_or_else(|| {
            CtlError::failure("internal error: a planned bulk request does not fit")
        })?;
        let rc = sys::ioctl_struct(dirf, uapi::IOC_BULK_SET, req.as_mut());
        let errno = match &rc {
            Err(e) => errno_of(e),
            Ok(()) if req.error != 0 => -req.error,
            Ok(()) => 0,
        };
        if errno != 0 {
            // The failing item is named when the filesystem reported it.
            let item = if req.error != 0 {
                part.get(req.error_index as usize)
            } else {
                None
            };
            return Err(bulk_error(a, m.dim, errno, item, stored));
        }
        stored += part.len();
        bar.inc(part.len() as u64);
    }
    Ok(chunks.len())
}

/// A failed bulk request, naming the item and what was stored before it.
fn bulk_error(
    a: &ImportArgs,
    dim: usize,
    errno: i32,
    item: Option<&(usize, Vec<u8>)>,
    stored: usize,
) -> CtlError {
    if matches!(errno, libc::ENOTTY | libc::EOPNOTSUPP | libc::ENOSYS) {
        return fsinfo::not_vexfs(&a.dir, errno);
    }
    let what = match item {
        Some((row, name)) => format!("{} (row {row})", a.dir.join(names::show(name)).display()),
        None => format!("{}: bulk set", a.dir.display()),
    };
    let mut msg = match errno {
        libc::EINVAL => match fsinfo::dim_mismatch(&a.dir, dim) {
            Some(why) => format!("{what}: embedding has {dim} dimensions, {why} (EINVAL)"),
            None => format!(
                "{what}: the filesystem refused the item ({})",
                describe_errno(errno)
            ),
        },
        libc::ENOENT if !a.create => format!(
            "{what}: {}; --create creates missing files",
            describe_errno(errno)
        ),
        _ => format!("{what}: {}", describe_errno(errno)),
    };
    if stored > 0 {
        msg.push_str(&format!(
            "; the {stored} rows before this request were stored"
        ));
    }
    CtlError::new(Exit::of_errno(errno), msg)
}

/// The rows one attribute at a time (vectors too long for a bulk request).
fn send_each(
    a: &ImportArgs,
    m: &vectors::Matrix,
    items: &[(usize, Vec<u8>)],
    bar: &ProgressBar,
) -> Result<usize> {
    for (i, (row, name)) in items.iter().enumerate() {
        let path = a.dir.join(std::ffi::OsStr::from_bytes(name));
        if a.create && !path.exists() {
            create_file(&path)?;
        }
        let v = m.row(*row).unwrap_or(&[]);
        super::embed::set_one(&path, v).map_err(|mut e| {
            e.msg = format!("{} (row {row}); the {i} rows before it were stored", e.msg);
            e
        })?;
        bar.inc(1);
    }
    Ok(items.len())
}

fn create_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(path)
        .map(drop)
        .map_err(|e| CtlError::os(path.display(), &e))
}
