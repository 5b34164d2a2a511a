//! `--simd`: the same benchmark once per SIMD level, side by side.
//!
//! The kernel table of `vexfs-ann` is chosen once per process, so every
//! level runs as a child `anns_benchmark` with `VEXFS_ANN_SIMD` set and its
//! own `--out` subdirectory. For a capped level the peers are capped as far
//! as they allow: FAISS through `FAISS_SIMD_LEVEL` and its bundled OpenBLAS
//! through `OPENBLAS_CORETYPE`. hnswlib (compiled with `-march=native`) and
//! usearch (its own run-time dispatch) keep the machine's best level; each
//! run's `results.json` records what every side used.

use crate::report::{self, Mode};
use crate::results::RunReport;
use anyhow::{bail, Result};
use std::fmt::Write as _;

/// One level to run: its name (the `--out` subdirectory) and the
/// environment of its child process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub name: String,
    /// Variables to set; every other variable named in [`CAPS`] is removed.
    pub env: Vec<(&'static str, &'static str)>,
}

/// The variables a level may set.
pub const CAPS: [&str; 3] = ["VEXFS_ANN_SIMD", "FAISS_SIMD_LEVEL", "OPENBLAS_CORETYPE"];

/// Parse `native,avx2,...` into levels (duplicates rejected).
pub fn parse(list: &[String]) -> Result<Vec<Level>> {
    let mut out: Vec<Level> = Vec::new();
    for name in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let env = match name {
            "native" => vec![],
            "avx512" => vec![("VEXFS_ANN_SIMD", "avx512"), ("FAISS_SIMD_LEVEL", "AVX512")],
            "avx2" => vec![
                ("VEXFS_ANN_SIMD", "avx2"),
                ("FAISS_SIMD_LEVEL", "AVX2"),
                ("OPENBLAS_CORETYPE", "Haswell"),
            ],
            "sse2" => vec![("VEXFS_ANN_SIMD", "sse2")],
            "scalar" => vec![("VEXFS_ANN_SIMD", "scalar")],
            other => {
                bail!("unknown SIMD level {other:?}: use native, avx512, avx2, sse2 or scalar")
            }
        };
        if out.iter().any(|l| l.name == name) {
            bail!("SIMD level {name:?} given twice");
        }
        out.push(Level {
            name: name.to_string(),
            env,
        });
    }
    if out.is_empty() {
        bail!("--simd needs at least one level");
    }
    Ok(out)
}

/// The command line for a child: `args` (without the program name) minus
/// `--simd` and `--out` in either `--flag value` or `--flag=value` form.
pub fn child_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--simd" || a == "--out" {
            it.next();
        } else if !(a.starts_with("--simd=") || a.starts_with("--out=")) {
            out.push(a.clone());
        }
    }
    out
}

/// Markdown comparing the levels: per dataset, the single-thread ratio
/// VexFS / best peer at each recall for every level, then the builds.
pub fn compare_markdown(runs: &[(String, RunReport)]) -> String {
    let mut s = String::from("# SIMD levels side by side\n\n");
    for (name, r) in runs {
        let _ = writeln!(s, "- **{name}**: CPU {}; VexFS {}", r.cpu, r.vexfs_simd);
        if let Some(d) = r.datasets.first() {
            if let Some(f) = d.peers.get("faiss").and_then(|f| f.get("simd")) {
                let _ = writeln!(s, "  FAISS SIMD: {f}");
            }
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for (_, r) in runs {
        for d in &r.datasets {
            if !names.contains(&d.name.as_str()) {
                names.push(&d.name);
            }
        }
    }
    for ds in names {
        let _ = writeln!(
            s,
            "\n## {ds}: VexFS / best peer, ratio (VexFS QPS / peer QPS), 1 thread unless marked\n"
        );
        let _ = write!(s, "| strategy | recall@k |");
        for (name, _) in runs {
            let _ = write!(s, " {name} |");
        }
        let _ = write!(s, "\n|---|---|");
        for _ in runs {
            let _ = write!(s, "---:|");
        }
        s.push('\n');
        let per_level: Vec<Vec<report::Ratio>> = runs
            .iter()
            .map(|(_, r)| {
                r.datasets
                    .iter()
                    .filter(|d| d.name == ds)
                    .flat_map(report::ratios)
                    // Single-thread rows, plus Flat batched over all
                    // threads (the panel kernel's figure).
                    .filter(|x| x.mode == Mode::Single || x.strategy == "flat")
                    .collect()
            })
            .collect();
        // Rows in the order of the first level that has them.
        let Some(first) = per_level.iter().find(|v| !v.is_empty()) else {
            continue;
        };
        for row in first {
            let _ = write!(
                s,
                "| {}{} | {} |",
                row.strategy,
                if row.mode == Mode::Batch {
                    " (batched, all threads)"
                } else {
                    ""
                },
                row.recall
                    .map(|t| format!("{t:.2}"))
                    .unwrap_or_else(|| "exact".into())
            );
            for lv in &per_level {
                let cell = lv
                    .iter()
                    .find(|x| {
                        x.strategy == row.strategy && x.recall == row.recall && x.mode == row.mode
                    })
                    .map(cell)
                    .unwrap_or_else(|| "—".into());
                let _ = write!(s, " {cell} |");
            }
            s.push('\n');
        }
        // Flat batched on one thread (a matrix product on both sides).
        let _ = write!(s, "| flat (batched, 1 thread) | exact |");
        for (_, r) in runs {
            let q = |lib: &str| {
                r.datasets
                    .iter()
                    .filter(|d| d.name == ds)
                    .flat_map(|d| &d.curves)
                    .find(|c| c.library == lib && c.strategy == "flat")
                    .and_then(|c| c.points.first())
                    .and_then(|p| p.qps_1t_batch)
            };
            let c = match (q("vexfs"), q("faiss")) {
                (Some(v), Some(f)) => format!("{:.2}x ({v:.0} / {f:.0} faiss-flat)", v / f),
                (Some(v), None) => format!("{v:.0} (no peer)"),
                _ => "—".into(),
            };
            let _ = write!(s, " {c} |");
        }
        s.push('\n');
        let _ = writeln!(s, "\n## {ds}: build seconds (VexFS / FAISS twin)\n");
        let _ = write!(s, "| strategy |");
        for (name, _) in runs {
            let _ = write!(s, " {name} |");
        }
        let _ = write!(s, "\n|---|");
        for _ in runs {
            let _ = write!(s, "---:|");
        }
        s.push('\n');
        for strategy in ["hnsw", "ivf", "ivfpq", "lsh", "hnsw-f16", "hnsw-sq8"] {
            let present = runs.iter().any(|(_, r)| {
                r.datasets
                    .iter()
                    .filter(|d| d.name == ds)
                    .flat_map(|d| &d.curves)
                    .any(|c| c.strategy == strategy)
            });
            // The storage variants only where they were run.
            if !present && strategy.contains('-') {
                continue;
            }
            let _ = write!(s, "| {strategy} |");
            for (_, r) in runs {
                let build = |lib: &str| {
                    r.datasets
                        .iter()
                        .filter(|d| d.name == ds)
                        .flat_map(|d| &d.curves)
                        .find(|c| c.library == lib && c.strategy == strategy)
                        .map(|c| format!("{:.1}", c.build_s))
                        .unwrap_or_else(|| "—".into())
                };
                let _ = write!(s, " {} / {} |", build("vexfs"), build("faiss"));
            }
            s.push('\n');
        }
    }
    s
}

/// `1.23x (4520 / 3675 faiss-ivf)`, or the VexFS QPS alone without a peer.
fn cell(r: &report::Ratio) -> String {
    let q = |x: f64| format!("{x:.0}");
    match (r.vexfs, &r.peer) {
        (Some(v), Some((name, p))) => format!("{:.2}x ({} / {} {name})", v / p, q(v), q(*p)),
        (Some(v), None) => format!("{} (no peer)", q(v)),
        (None, Some((name, p))) => format!("not reached ({} {name})", q(*p)),
        (None, None) => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_reject() {
        let l = parse(&["native".into(), "avx2".into()]).unwrap();
        assert_eq!(l[0].env, vec![]);
        assert!(l[1].env.contains(&("VEXFS_ANN_SIMD", "avx2")));
        assert!(l[1].env.contains(&("FAISS_SIMD_LEVEL", "AVX2")));
        assert!(parse(&["avx3".into()]).is_err());
        assert!(parse(&["avx2".into(), "avx2".into()]).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn child_args_drop_simd_and_out() {
        let a: Vec<String> = [
            "--profile",
            "quick",
            "--simd",
            "native,avx2",
            "--out=x",
            "--dataset",
            "glove50",
            "--out",
            "y",
            "--simd=avx2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            child_args(&a),
            vec!["--profile", "quick", "--dataset", "glove50"]
        );
    }
}
