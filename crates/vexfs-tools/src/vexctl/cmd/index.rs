//! `vexctl index create|config|rebuild|drop|save|stats DIR`.

use super::Ctx;
use crate::vexctl::cli::{IndexArgs, IndexCmd};
use crate::vexctl::error::{errno_of, CtlError, Result};
use crate::vexctl::output::{self, StatsJson};
use crate::vexctl::params::{check_params, parse_metric, parse_strategy};
use crate::vexctl::{fsinfo, sys};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};
use vexfs_uapi::{self as uapi, IndexConfig, Request};

#[derive(Serialize)]
struct ActionJson {
    dir: String,
    action: &'static str,
    seconds: f64,
    /// The index covering the directory afterwards.
    stats: StatsJson,
}

pub fn run(ctx: &Ctx, c: &IndexCmd) -> Result<()> {
    match c {
        IndexCmd::Create(a) => configure(ctx, a, false),
        IndexCmd::Config(a) => configure(ctx, a, true),
        IndexCmd::Rebuild(d) => simple(ctx, &d.dir, "rebuild", uapi::IOC_INDEX_REBUILD),
        IndexCmd::Drop(d) => simple(ctx, &d.dir, "drop", uapi::IOC_INDEX_DROP),
        IndexCmd::Save(d) => simple(ctx, &d.dir, "save", uapi::IOC_INDEX_SAVE),
        IndexCmd::Stats(d) => stats(ctx, &d.dir),
    }
}

/// Open `dir` for an index ioctl.
fn open(dir: &Path) -> Result<std::fs::File> {
    sys::open_dir(dir).map_err(|e| CtlError::os(dir.display(), &e))
}

/// Stats of the index covering `dir`, for printing.
pub fn stats_json(dirf: &std::fs::File, dir: &Path) -> Result<StatsJson> {
    let st = fsinfo::index_stats(dirf, dir)?;
    let root = if st.state == uapi::STATE_NONE {
        None
    } else {
        fsinfo::ancestor_with_ino(dir, st.root_ino).map(|p| p.display().to_string())
    };
    Ok(StatsJson::new(&dir.display().to_string(), root, &st))
}

fn stats(ctx: &Ctx, dir: &Path) -> Result<()> {
    let j = stats_json(&open(dir)?, dir)?;
    if ctx.json {
        return output::json(&j);
    }
    for l in j.text_lines() {
        output::line(&l)?;
    }
    Ok(())
}

/// The config to send: for `create`, the arguments with defaults; for
/// `config`, the current index with the given arguments replacing fields.
fn build_config(a: &IndexArgs, current: Option<&uapi::IndexStats>) -> Result<Box<IndexConfig>> {
    let usage = |m: String| CtlError::usage(m);
    let strategy = match &a.strategy {
        Some(s) => parse_strategy(s).map_err(usage)?,
        None => current.map_or(uapi::STRATEGY_HNSW, |c| c.strategy),
    };
    let metric = match &a.metric {
        Some(s) => parse_metric(s).map_err(usage)?,
        None => current.map_or(uapi::METRIC_L2, |c| c.metric),
    };
    let dim = match (a.dim, current) {
        (Some(d), _) => d,
        (None, Some(c)) => c.dim,
        (None, None) => {
            return Err(usage(
                "index create needs --dim N (the embeddings' dimension)".into(),
            ))
        }
    };
    if dim == 0 || dim as usize > uapi::MAX_DIM {
        return Err(usage(format!(
            "--dim {dim}: the dimension must be from 1 to {}",
            uapi::MAX_DIM
        )));
    }
    let params = match (&a.params, current) {
        (Some(p), _) => p.clone(),
        // A new strategy starts from its own defaults; the same one keeps
        // its parameters.
        (None, Some(c)) if a.strategy.is_none() || c.strategy == strategy => {
            String::from_utf8_lossy(uapi::c_str(&c.params)).into_owned()
        }
        (None, _) => String::new(),
    };
    let params = check_params(strategy, &params).map_err(|e| usage(format!("--params: {e}")))?;
    let mut cfg = Box::new(IndexConfig::new_request());
    cfg.strategy = strategy;
    cfg.metric = metric;
    cfg.dim = dim;
    if current.is_some() {
        cfg.flags = uapi::INDEX_REPLACE;
    }
    // check_params bounds the length, so this always fits.
    if !uapi::set_c_str(&mut cfg.params, params.as_bytes()) {
        return Err(usage("--params: too long".into()));
    }
    Ok(cfg)
}

fn configure(ctx: &Ctx, a: &IndexArgs, replace: bool) -> Result<()> {
    if !replace {
        // Bad arguments are reported before the directory is looked at.
        build_config(a, None)?;
    }
    let dirf = open(&a.dir)?;
    let current = if replace {
        let st = fsinfo::index_stats(&dirf, &a.dir)?;
        if st.state == uapi::STATE_NONE {
            return Err(CtlError::errno(
                a.dir.display(),
                libc::ENODATA,
                "has no index to reconfigure (create one with vexctl index create)",
            ));
        }
        let ino = std::fs::metadata(&a.dir).map(|m| m.ino()).unwrap_or(0);
        if st.root_ino != ino {
            let root = fsinfo::ancestor_with_ino(&a.dir, st.root_ino).map_or_else(
                || format!("inode {}", st.root_ino),
                |p| p.display().to_string(),
            );
            return Err(CtlError::usage(format!(
                "{}: is covered by the index of {root}; reconfigure it there",
                a.dir.display()
            )));
        }
        Some(st)
    } else {
        None
    };
    let mut cfg = build_config(a, current.as_deref())?;
    let action = if replace { "config" } else { "create" };
    let start = Instant::now();
    let spin = spinner(ctx, &format!("{action} index of {}", a.dir.display()));
    let rc = sys::ioctl_struct(&dirf, uapi::IOC_INDEX_CREATE, cfg.as_mut());
    spin.finish_and_clear();
    rc.map_err(|e| index_error(&a.dir, action, &e))?;
    report(ctx, &dirf, &a.dir, action, start)
}

fn simple(ctx: &Ctx, dir: &Path, action: &'static str, cmd: u32) -> Result<()> {
    let dirf = open(dir)?;
    let start = Instant::now();
    let spin = spinner(ctx, &format!("{action} index of {}", dir.display()));
    let rc = sys::ioctl_none(&dirf, cmd);
    spin.finish_and_clear();
    rc.map_err(|e| index_error(dir, action, &e))?;
    report(ctx, &dirf, dir, action, start)
}

fn report(
    ctx: &Ctx,
    dirf: &std::fs::File,
    dir: &Path,
    action: &'static str,
    start: Instant,
) -> Result<()> {
    let seconds = start.elapsed().as_secs_f64();
    let stats = stats_json(dirf, dir)?;
    if ctx.json {
        return output::json(&ActionJson {
            dir: dir.display().to_string(),
            action,
            seconds,
            stats,
        });
    }
    if !ctx.quiet {
        let what = match action {
            "drop" => "dropped".to_string(),
            _ => format!(
                "{} ({} {}, {} dimensions, {} vectors)",
                past(action),
                stats.strategy.clone().unwrap_or_default(),
                stats.metric.clone().unwrap_or_default(),
                stats.dim.unwrap_or(0),
                stats.vectors
            ),
        };
        eprintln!("vexctl: {}: index {what} in {seconds:.2} s", dir.display());
    }
    Ok(())
}

fn past(action: &str) -> &'static str {
    match action {
        "create" => "created",
        "config" => "reconfigured",
        "rebuild" => "rebuilt",
        "save" => "saved",
        _ => "done",
    }
}

/// An index ioctl's failure in words.
fn index_error(dir: &Path, action: &str, e: &std::io::Error) -> CtlError {
    let errno = errno_of(e);
    let what = dir.display();
    match errno {
        libc::ENOTTY | libc::EOPNOTSUPP | libc::ENOSYS => fsinfo::not_vexfs(dir, errno),
        libc::EEXIST => CtlError::errno(what, errno, "already has an index; change it with vexctl index config, or drop it first"),
        libc::ENODATA => CtlError::errno(what, errno, "has no index"),
        libc::EPERM => CtlError::errno(what, errno, "only the directory's owner (or root) may change its index"),
        libc::EINVAL => CtlError::errno(what, errno, &format!("the filesystem refused to {action} the index (strategy, metric, dimension or parameters)")),
        libc::EUCLEAN => CtlError::errno(what, errno, "the index on disk is corrupt beyond rebuilding; run fsck.vexfs"),
        _ => CtlError::os(format!("{what}: index {action}"), e),
    }
}

/// A spinner on stderr for calls that may take a while (builds).
fn spinner(ctx: &Ctx, msg: &str) -> ProgressBar {
    let target = if ctx.progress() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let s = ProgressBar::with_draw_target(None, target);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        s.set_style(style);
    }
    s.set_message(msg.to_string());
    s.enable_steady_tick(Duration::from_millis(120));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(
        strategy: Option<&str>,
        metric: Option<&str>,
        dim: Option<u32>,
        params: Option<&str>,
    ) -> IndexArgs {
        IndexArgs {
            dir: "d".into(),
            strategy: strategy.map(Into::into),
            metric: metric.map(Into::into),
            dim,
            params: params.map(Into::into),
        }
    }

    #[test]
    fn create_config() {
        let c = build_config(&args(None, None, Some(50), None), None).unwrap();
        assert_eq!(
            (c.strategy, c.metric, c.dim, c.flags),
            (uapi::STRATEGY_HNSW, uapi::METRIC_L2, 50, 0)
        );
        let c = build_config(
            &args(Some("ivfpq"), Some("cosine"), Some(8), Some("nlist=4,m=2")),
            None,
        )
        .unwrap();
        assert_eq!(
            (c.strategy, c.metric),
            (uapi::STRATEGY_IVFPQ, uapi::METRIC_COSINE)
        );
        assert_eq!(uapi::c_str(&c.params), b"nlist=4,m=2");
        assert!(build_config(&args(None, None, None, None), None)
            .unwrap_err()
            .msg
            .contains("--dim"));
        assert!(build_config(&args(None, None, Some(0), None), None).is_err());
        assert!(build_config(&args(None, None, Some(4097), None), None).is_err());
        assert!(build_config(&args(Some("kd"), None, Some(3), None), None)
            .unwrap_err()
            .msg
            .contains("unknown strategy"));
        assert!(build_config(&args(None, Some("l1"), Some(3), None), None)
            .unwrap_err()
            .msg
            .contains("unknown metric"));
        let e = build_config(&args(Some("flat"), None, Some(3), Some("m=3")), None).unwrap_err();
        assert_eq!(e.exit, crate::vexctl::error::Exit::Usage);
    }

    #[test]
    fn replace_keeps_current_values() {
        let mut cur = uapi::IndexStats::new_request();
        cur.state = uapi::STATE_CLEAN;
        cur.strategy = uapi::STRATEGY_HNSW;
        cur.metric = uapi::METRIC_COSINE;
        cur.dim = 50;
        uapi::set_c_str(&mut cur.params, b"m=8");
        let c = build_config(&args(None, None, None, Some("m=32")), Some(&cur)).unwrap();
        assert_eq!(
            (c.strategy, c.metric, c.dim, c.flags),
            (
                uapi::STRATEGY_HNSW,
                uapi::METRIC_COSINE,
                50,
                uapi::INDEX_REPLACE
            )
        );
        assert_eq!(uapi::c_str(&c.params), b"m=32");
        let c = build_config(&args(None, Some("l2"), None, None), Some(&cur)).unwrap();
        assert_eq!(
            (c.metric, uapi::c_str(&c.params)),
            (uapi::METRIC_L2, &b"m=8"[..])
        );
        // A new strategy drops the old one's parameters.
        let c = build_config(&args(Some("flat"), None, None, None), Some(&cur)).unwrap();
        assert_eq!(
            (c.strategy, uapi::c_str(&c.params)),
            (uapi::STRATEGY_FLAT, &b""[..])
        );
    }
}
