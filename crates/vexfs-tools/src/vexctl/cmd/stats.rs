//! `vexctl stats [PATH] [--scan]`: the mount, the index covering PATH, a
//! file's embedding, and with `--scan` a walk of the tree that counts
//! embeddings by dimension and lists every index root in it.

use super::Ctx;
use crate::vexctl::cli::StatsArgs;
use crate::vexctl::error::{errno_of, CtlError, Result};
use crate::vexctl::output::{self, StatsJson};
use crate::vexctl::{fsinfo, sys};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vexfs_uapi as uapi;

#[derive(Serialize)]
struct MountJson {
    mount_point: String,
    fs_type: String,
    source: String,
    vexfs: bool,
}

#[derive(Serialize)]
struct SpaceJson {
    block_size: u64,
    blocks: u64,
    blocks_free: u64,
    inodes: u64,
    inodes_free: u64,
}

#[derive(Serialize)]
struct EmbeddingJson {
    dim: usize,
}

#[derive(Serialize)]
struct RootJson {
    path: String,
    state: String,
    strategy: Option<String>,
    metric: Option<String>,
    dim: Option<u32>,
    vectors: u64,
    unindexed: u64,
}

#[derive(Serialize, Default)]
struct ScanJson {
    dirs: u64,
    files: u64,
    embeddings: u64,
    /// Embeddings per dimension.
    by_dim: BTreeMap<usize, u64>,
    index_roots: Vec<RootJson>,
    /// Entries that could not be read (permissions, races).
    errors: u64,
}

#[derive(Serialize)]
struct StatsOut {
    path: String,
    mount: Option<MountJson>,
    space: Option<SpaceJson>,
    /// The file's own embedding (files only).
    embedding: Option<EmbeddingJson>,
    /// The index covering the directory (of) PATH.
    index: Option<StatsJson>,
    scan: Option<ScanJson>,
}

pub fn run(ctx: &Ctx, a: &StatsArgs) -> Result<()> {
    let path = a.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let md = std::fs::metadata(&path).map_err(|e| CtlError::os(path.display(), &e))?;
    let mount = fsinfo::mount_of(&path);
    let vexfs = mount
        .as_ref()
        .is_some_and(|m| fsinfo::is_vexfs_type(&m.fs_type));
    let space = sys::statvfs(&path).ok().map(|s| SpaceJson {
        block_size: s.block_size,
        blocks: s.blocks,
        blocks_free: s.blocks_free,
        inodes: s.inodes,
        inodes_free: s.inodes_free,
    });
    let embedding = if md.is_file() {
        super::embed::get_one(&path)
            .ok()
            .map(|v| EmbeddingJson { dim: v.len() })
    } else {
        None
    };
    let dir = fsinfo::dir_of(&path);
    let index = match sys::open_dir(&dir) {
        Ok(f) => match super::index::stats_json(&f, &dir) {
            Ok(j) => Some(j),
            Err(e) if vexfs => return Err(e),
            Err(_) => None,
        },
        Err(e) => return Err(CtlError::os(dir.display(), &e)),
    };
    let scan = if a.scan { Some(scan(ctx, &path)) } else { None };
    let out = StatsOut {
        path: path.display().to_string(),
        mount: mount.map(|m| MountJson {
            vexfs: fsinfo::is_vexfs_type(&m.fs_type),
            mount_point: m.mount_point,
            fs_type: m.fs_type,
            source: m.source,
        }),
        space,
        embedding,
        index,
        scan,
    };
    if ctx.json {
        return output::json(&out);
    }
    print_text(&out)
}

fn print_text(o: &StatsOut) -> Result<()> {
    if let Some(m) = &o.mount {
        let note = if m.vexfs { "" } else { " (not VexFS)" };
        output::line(&format!(
            "mount:      {} ({}, {}){note}",
            m.mount_point, m.fs_type, m.source
        ))?;
    }
    if let Some(s) = &o.space {
        let used = s.blocks.saturating_sub(s.blocks_free);
        output::line(&format!(
            "space:      {} used of {}",
            output::bytes(used * s.block_size),
            output::bytes(s.blocks * s.block_size)
        ))?;
        output::line(&format!(
            "inodes:     {} used of {}",
            s.inodes.saturating_sub(s.inodes_free),
            s.inodes
        ))?;
    }
    if let Some(e) = &o.embedding {
        output::line(&format!("embedding:  {} dimensions", e.dim))?;
    }
    if let Some(i) = &o.index {
        for l in i.text_lines() {
            output::line(&l)?;
        }
    }
    if let Some(s) = &o.scan {
        output::line(&format!(
            "scanned:    {} directories, {} files, {} with embeddings",
            s.dirs, s.files, s.embeddings
        ))?;
        for (d, n) in &s.by_dim {
            output::line(&format!("  {n} embeddings of {d} dimensions"))?;
        }
        for r in &s.index_roots {
            let what = format!(
                "{} {} {}-d",
                r.strategy.clone().unwrap_or_default(),
                r.metric.clone().unwrap_or_default(),
                r.dim.unwrap_or(0)
            );
            output::line(&format!(
                "index root: {} ({what}, {} vectors, {} unindexed, {})",
                r.path, r.vectors, r.unindexed, r.state
            ))?;
        }
        if s.errors > 0 {
            output::line(&format!("unreadable: {} entries", s.errors))?;
        }
    }
    Ok(())
}

/// Walk the tree under `root` on its own filesystem (symlinks are not
/// followed), counting files, embeddings by dimension and index roots.
fn scan(ctx: &Ctx, root: &Path) -> ScanJson {
    let target = if ctx.progress() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let spin = ProgressBar::with_draw_target(None, target);
    if let Ok(style) = ProgressStyle::with_template("{spinner} scanning: {pos} entries ({elapsed})")
    {
        spin.set_style(style);
    }
    spin.enable_steady_tick(Duration::from_millis(120));
    let mut out = ScanJson::default();
    let Ok(md) = std::fs::symlink_metadata(root) else {
        out.errors += 1;
        return out;
    };
    let dev = md.dev();
    let mut stack = vec![root.to_path_buf()];
    if md.is_file() {
        stack.clear();
        count_file(&mut out, root);
    }
    while let Some(dir) = stack.pop() {
        out.dirs += 1;
        spin.inc(1);
        index_root(&mut out, &dir);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            out.errors += 1;
            continue;
        };
        for e in entries {
            spin.inc(1);
            let Ok(e) = e else {
                out.errors += 1;
                continue;
            };
            let p = e.path();
            match std::fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() && m.dev() == dev => stack.push(p),
                Ok(m) if m.is_file() => count_file(&mut out, &p),
                Ok(_) => {}
                Err(_) => out.errors += 1,
            }
        }
    }
    spin.finish_and_clear();
    out
}

fn count_file(out: &mut ScanJson, p: &Path) {
    out.files += 1;
    match sys::get_xattr(p, uapi::EMBEDDING_XATTR) {
        Ok(v) => {
            out.embeddings += 1;
            *out.by_dim.entry(v.len() / 4).or_default() += 1;
        }
        Err(e) if matches!(errno_of(&e), libc::ENODATA | libc::EOPNOTSUPP) => {}
        Err(_) => out.errors += 1,
    }
}

/// Record `dir` if it is an index root.
fn index_root(out: &mut ScanJson, dir: &Path) {
    let (Ok(f), Ok(md)) = (sys::open_dir(dir), std::fs::metadata(dir)) else {
        return;
    };
    let Ok(st) = fsinfo::index_stats(&f, dir) else {
        return;
    };
    if st.state == uapi::STATE_NONE || st.root_ino != md.ino() {
        return;
    }
    let j = StatsJson::new(&dir.display().to_string(), None, &st);
    out.index_roots.push(RootJson {
        path: j.dir,
        state: j.state,
        strategy: j.strategy,
        metric: j.metric,
        dim: j.dim,
        vectors: j.vectors,
        unindexed: j.unindexed,
    });
}
