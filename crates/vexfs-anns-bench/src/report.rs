//! JSON, CSV, SVG plots, the Markdown summary and the ratio table.

use crate::analysis::{pareto, qps_at_recall};
use crate::results::{Curve, DatasetResult, Point, RunReport};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;

/// Recall levels the tables and ratios are reported at.
pub const TARGETS: [f64; 3] = [0.90, 0.95, 0.99];

/// Which throughput a table or plot uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One thread (for peers the better of per-call and batched-on-one-thread).
    Single,
    /// All threads, batched.
    Batch,
}

impl Mode {
    /// Throughput of a point of curve `c`. Single-thread brute force is
    /// compared one query per call on both sides: a batched call lets FAISS
    /// switch to a matrix-matrix product, a different algorithm from the
    /// single-query scan the goal is about.
    fn qps(self, c: &Curve, p: &Point) -> f64 {
        match self {
            Mode::Single if c.strategy.starts_with("flat") => p.qps_1t,
            Mode::Single => p.qps_single(),
            Mode::Batch => p.qps_batch,
        }
    }
    fn label(self) -> &'static str {
        match self {
            Mode::Single => "1 thread",
            Mode::Batch => "all threads, batched",
        }
    }
    fn tag(self) -> &'static str {
        match self {
            Mode::Single => "1t",
            Mode::Batch => "batch",
        }
    }
}

fn curve_points(c: &Curve, mode: Mode) -> Vec<(f64, f64)> {
    c.points
        .iter()
        .map(|p| (p.recall, mode.qps(c, p)))
        .collect()
}

/// File-name-safe form of a dataset name.
pub fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

pub fn write_json(path: &Path, report: &RunReport) -> Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

pub fn write_csv(path: &Path, report: &RunReport) -> Result<()> {
    let mut s = String::from(
        "dataset,metric,algo,library,strategy,params,recall,qps_1t,qps_1t_batch,qps_batch,p50_us,p99_us,\
         build_s,train_s,inserts_per_s,memory_bytes,stats_memory_bytes,index_bytes\n",
    );
    for d in &report.datasets {
        for c in &d.curves {
            for p in &c.points {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{},\"{}\",{:.5},{:.1},{},{:.1},{:.1},{:.1},{:.3},{:.3},{:.1},{},{},{}",
                    d.name,
                    d.metric,
                    c.algo,
                    c.library,
                    c.strategy,
                    p.params,
                    p.recall,
                    p.qps_1t,
                    p.qps_1t_batch.map(|q| format!("{q:.1}")).unwrap_or_default(),
                    p.qps_batch,
                    p.p50_us,
                    p.p99_us,
                    c.build_s,
                    c.train_s,
                    c.inserts_per_s,
                    c.memory_bytes,
                    c.stats_memory_bytes.map(|b| b.to_string()).unwrap_or_default(),
                    c.index_bytes
                );
            }
        }
    }
    std::fs::write(path, s).with_context(|| format!("cannot write {}", path.display()))
}

// ------------------------------------------------------------------- SVG

const PALETTE: [&str; 12] = [
    "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f", "#393b79", "#637939",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An ann-benchmarks style plot: recall on x, QPS on a log y axis, the
/// Pareto frontier of each index as one curve. VexFS curves are solid,
/// peers dashed.
pub fn svg_plot(d: &DatasetResult, mode: Mode) -> String {
    let (w, h) = (900.0, 600.0);
    let (ml, mr, mt, mb) = (80.0, 230.0, 50.0, 60.0);
    let pw = w - ml - mr;
    let ph = h - mt - mb;
    let curves: Vec<(&Curve, Vec<(f64, f64)>)> = d
        .curves
        .iter()
        .map(|c| (c, pareto(&curve_points(c, mode))))
        .filter(|(_, f)| !f.is_empty())
        .collect();
    let all: Vec<(f64, f64)> = curves.iter().flat_map(|(_, f)| f.iter().copied()).collect();
    let min_r = all.iter().map(|p| p.0).fold(1.0, f64::min);
    let xmin = ((min_r * 10.0).floor() / 10.0).clamp(0.0, 0.9);
    let (qmin, qmax) = all.iter().fold((f64::INFINITY, 0.0f64), |(a, b), p| {
        (a.min(p.1), b.max(p.1))
    });
    let (qmin, qmax) = if all.is_empty() {
        (1.0, 10.0)
    } else {
        (qmin, qmax)
    };
    let ylo = qmin.log10().floor();
    let yhi = (qmax.log10().ceil()).max(ylo + 1.0);
    let x = |r: f64| ml + (r - xmin) / (1.0 - xmin) * pw;
    let y = |q: f64| mt + ph - (q.log10() - ylo) / (yhi - ylo) * ph;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="28" font-size="15" text-anchor="middle">{} ({}, n={}, d={}) — recall@{} vs QPS, {}</text>"#,
        ml + pw / 2.0,
        esc(&d.name),
        d.metric,
        d.base_rows,
        d.dim,
        d.k,
        mode.label()
    );
    // Grid and ticks: a line per decade, lighter lines at 2x and 5x.
    let mut e = ylo;
    while e <= yhi + 1e-9 {
        for (m, major) in [(1.0, true), (2.0, false), (5.0, false)] {
            let q = m * 10f64.powf(e);
            if q.log10() > yhi + 1e-9 {
                continue;
            }
            let yy = y(q);
            let color = if major { "#bbb" } else { "#e6e6e6" };
            let _ = writeln!(
                s,
                r#"<line x1="{ml}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="{color}"/>"#,
                ml + pw
            );
            let label = if q >= 1e6 {
                format!("{}M", q / 1e6)
            } else if q >= 1e3 {
                format!("{}k", q / 1e3)
            } else {
                format!("{q}")
            };
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{:.1}" text-anchor="end">{label}</text>"#,
                ml - 6.0,
                yy + 4.0
            );
        }
        e += 1.0;
    }
    let steps = ((1.0 - xmin) / 0.1).round() as usize;
    for i in 0..=steps {
        let r = xmin + i as f64 * 0.1;
        let xx = x(r);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{mt}" y2="{}" stroke="#e6e6e6"/>"##,
            mt + ph
        );
        let _ = writeln!(
            s,
            r#"<text x="{xx:.1}" y="{}" text-anchor="middle">{r:.1}</text>"#,
            mt + ph + 18.0
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">recall@{}</text>"#,
        ml + pw / 2.0,
        h - 15.0,
        d.k
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(22,{}) rotate(-90)" text-anchor="middle">queries per second (log)</text>"#,
        mt + ph / 2.0
    );
    for (i, (c, front)) in curves.iter().enumerate() {
        // One colour per strategy, so an index and its peers read as a
        // family; the line style tells the libraries apart.
        // HNSW has three peers, so they get shades of their own.
        let color = match (c.strategy.as_str(), c.library.as_str()) {
            ("hnsw", "vexfs") if c.algo.contains("-M") => "#7f0000",
            ("hnsw", "vexfs") => "#d62728",
            ("hnsw", "faiss") => "#ff7f0e",
            ("hnsw", "hnswlib") => "#8c564b",
            ("hnsw", _) => "#e377c2",
            ("ivf", _) => "#1f77b4",
            ("ivfpq", _) => "#2ca02c",
            ("lsh", _) => "#9467bd",
            ("flat", _) => "#555555",
            _ => PALETTE[i % PALETTE.len()],
        };
        let dash = match c.library.as_str() {
            "vexfs" => "",
            "faiss" => r#" stroke-dasharray="7,4""#,
            "hnswlib" => r#" stroke-dasharray="2,3""#,
            _ => r#" stroke-dasharray="10,3,2,3""#,
        };
        let width = if c.is_vexfs() { 2.5 } else { 1.8 };
        let pts: Vec<String> = front
            .iter()
            .map(|(r, q)| format!("{:.1},{:.1}", x(*r), y(*q)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="{width}"{dash}/>"#,
            pts.join(" ")
        );
        for (r, q) in front {
            if c.is_vexfs() {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{color}"/>"#,
                    x(*r),
                    y(*q)
                );
            } else {
                let _ = writeln!(
                    s,
                    r#"<rect x="{:.1}" y="{:.1}" width="6" height="6" fill="white" stroke="{color}"/>"#,
                    x(*r) - 3.0,
                    y(*q) - 3.0
                );
            }
        }
        let ly = mt + 10.0 + i as f64 * 20.0;
        let lx = ml + pw + 15.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" x2="{}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="{width}"{dash}/>"#,
            lx + 28.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}">{}</text>"#,
            lx + 34.0,
            ly + 4.0,
            esc(&c.algo)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Write `<slug>-1t.svg` and `<slug>-batch.svg`; returns the file names.
pub fn write_plots(dir: &Path, d: &DatasetResult) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for mode in [Mode::Single, Mode::Batch] {
        let name = format!("{}-{}.svg", slug(&d.name), mode.tag());
        std::fs::write(dir.join(&name), svg_plot(d, mode))
            .with_context(|| format!("cannot write {}", dir.join(&name).display()))?;
        names.push(name);
    }
    Ok(names)
}

// ----------------------------------------------------------------- ratios

/// One line of the VexFS-vs-peer table.
#[derive(Debug, Clone)]
pub struct Ratio {
    pub dataset: String,
    pub strategy: String,
    /// Target recall, or `None` for Flat (exact, one point).
    pub recall: Option<f64>,
    pub mode: Mode,
    pub vexfs: Option<f64>,
    pub peer: Option<(String, f64)>,
    /// Required ratio VexFS / peer.
    pub goal: f64,
}

impl Ratio {
    pub fn ratio(&self) -> Option<f64> {
        Some(self.vexfs? / self.peer.as_ref()?.1)
    }
}

/// The twins each strategy is measured against, and the ratio it must
/// reach: HNSW against the fastest HNSW peer, the others against FAISS.
fn goal_for(strategy: &str) -> f64 {
    match strategy.split('-').next().unwrap_or(strategy) {
        "hnsw" => 1.2,
        "flat" => 1.0 / 1.2,
        _ => 1.0,
    }
}

/// Every strategy a table can have, in table order (f16 / SQ8 storage
/// variants after the plain ones).
pub const STRATEGIES: [&str; 9] = [
    "hnsw", "ivf", "ivfpq", "lsh", "flat", "hnsw-f16", "hnsw-sq8", "flat-f16", "flat-sq8",
];

/// Primary curves only: extra HNSW degrees (e.g. `-M32`) are plotted but
/// not part of the like-for-like ratio. Every LSH code length, on either
/// side, counts: the code length is LSH's speed/recall knob besides
/// re-ranking, so each side is represented by its best code length at
/// each recall.
fn primary(c: &Curve) -> bool {
    !c.algo.contains("-M")
}

pub fn ratios(d: &DatasetResult) -> Vec<Ratio> {
    let mut out = Vec::new();
    for strategy in STRATEGIES {
        let mine: Vec<&Curve> = d
            .curves
            .iter()
            .filter(|c| c.is_vexfs() && c.strategy == strategy && primary(c))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let peers: Vec<&Curve> = d
            .curves
            .iter()
            .filter(|c| !c.is_vexfs() && c.strategy == strategy && primary(c))
            .collect();
        for mode in [Mode::Single, Mode::Batch] {
            let targets: Vec<Option<f64>> = if strategy == "flat" {
                vec![None]
            } else {
                TARGETS.iter().map(|t| Some(*t)).collect()
            };
            for target in targets {
                let at = |c: &Curve| match target {
                    Some(t) => qps_at_recall(&curve_points(c, mode), t),
                    None => c.points.iter().map(|p| mode.qps(c, p)).reduce(f64::max),
                };
                let peer = peers
                    .iter()
                    .filter_map(|c| at(c).map(|q| (c.algo.clone(), q)))
                    .max_by(|a, b| a.1.total_cmp(&b.1));
                out.push(Ratio {
                    dataset: d.name.clone(),
                    strategy: strategy.to_string(),
                    recall: target,
                    mode,
                    vexfs: mine.iter().filter_map(|c| at(c)).reduce(f64::max),
                    peer,
                    goal: goal_for(strategy),
                });
            }
        }
    }
    out
}

fn fmt_qps(q: Option<f64>) -> String {
    match q {
        Some(q) if q >= 100.0 => format!("{q:.0}"),
        Some(q) => format!("{q:.1}"),
        None => "—".into(),
    }
}

/// Markdown table of the ratios (also printed at the end of each run).
pub fn ratio_table(rows: &[Ratio]) -> String {
    let mut s = String::from(
        "| dataset | strategy | recall@k | threads | VexFS QPS | best peer | peer QPS | ratio | goal | status |\n\
         |---|---|---|---|---:|---|---:|---:|---:|---|\n",
    );
    for r in rows {
        let (status, ratio) = match r.ratio() {
            Some(x) if x >= r.goal => ("ok", format!("{x:.2}x")),
            Some(x) => ("behind", format!("{x:.2}x")),
            None if r.vexfs.is_none() && r.peer.is_some() => {
                ("VexFS does not reach it", "—".into())
            }
            None if r.vexfs.is_some() => ("no peer reaches it", "—".into()),
            None => ("neither reaches it", "—".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | ≥{:.2}x | {} |",
            r.dataset,
            r.strategy,
            r.recall
                .map(|t| format!("{t:.2}"))
                .unwrap_or_else(|| "exact".into()),
            match r.mode {
                Mode::Single => "1",
                Mode::Batch => "all",
            },
            fmt_qps(r.vexfs),
            r.peer.as_ref().map(|p| p.0.as_str()).unwrap_or("—"),
            fmt_qps(r.peer.as_ref().map(|p| p.1)),
            ratio,
            r.goal,
            status
        );
    }
    s
}

fn mb(b: u64) -> String {
    format!("{:.1}", b as f64 / (1024.0 * 1024.0))
}

/// Per-dataset table: QPS at the target recalls for every index, with build
/// time, insert rate, memory and serialised size.
pub fn dataset_table(d: &DatasetResult) -> String {
    let mut s = String::from(
        "| index | QPS@0.90 (1t) | QPS@0.95 (1t) | QPS@0.99 (1t) | QPS@0.95 (batch) | best recall | \
         p50/p99 µs @≥0.95 | build s | inserts/s | RSS Δ MB | index MB |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for c in &d.curves {
        let single = curve_points(c, Mode::Single);
        let batch = curve_points(c, Mode::Batch);
        let best = c.points.iter().map(|p| p.recall).fold(0.0, f64::max);
        // Latency of the fastest point that reaches 0.95 (or the most
        // accurate point when none does).
        let lat = c
            .points
            .iter()
            .filter(|p| p.recall >= 0.95)
            .max_by(|a, b| a.qps_1t.total_cmp(&b.qps_1t))
            .or_else(|| c.points.iter().max_by(|a, b| a.recall.total_cmp(&b.recall)))
            .map(|p| format!("{:.0}/{:.0}", p.p50_us, p.p99_us))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.4} | {} | {:.1} | {:.0} | {} | {} |",
            c.algo,
            fmt_qps(qps_at_recall(&single, 0.90)),
            fmt_qps(qps_at_recall(&single, 0.95)),
            fmt_qps(qps_at_recall(&single, 0.99)),
            fmt_qps(qps_at_recall(&batch, 0.95)),
            best,
            lat,
            c.build_s,
            c.inserts_per_s,
            mb(c.memory_bytes),
            mb(c.index_bytes)
        );
    }
    s
}

/// The Markdown summary written next to the JSON (pasted into
/// docs/BENCHMARKS.md after a reference run).
pub fn summary_markdown(r: &RunReport, plots: &[(String, Vec<String>)]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# ANN benchmark run {} (profile `{}`)\n",
        r.started_utc, r.profile
    );
    let _ = writeln!(s, "- command: `{}`", r.command);
    let _ = writeln!(s, "- CPU: {} ({} threads used)", r.cpu, r.threads);
    let _ = writeln!(s, "- VexFS SIMD: {}", r.vexfs_simd);
    for d in &r.datasets {
        let _ = writeln!(
            s,
            "\n## {} ({}, {} base x {} dims, {} queries, recall@{}, ground truth: {})\n",
            d.name, d.metric, d.base_rows, d.dim, d.queries, d.k, d.ground_truth
        );
        if let Some(obj) = d.peers.as_object() {
            for (name, info) in obj {
                let _ = writeln!(s, "- {name}: {info}");
            }
        }
        if let Some(obj) = d.peer_errors.as_object() {
            for (name, err) in obj {
                let _ = writeln!(s, "- {name} FAILED: {err}");
            }
        }
        s.push('\n');
        s.push_str(&dataset_table(d));
        s.push('\n');
        s.push_str(&ratio_table(&ratios(d)));
        if let Some((_, files)) = plots.iter().find(|(n, _)| n == &d.name) {
            s.push('\n');
            for f in files {
                let _ = writeln!(s, "![{f}]({f})");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(params: &str, recall: f64, qps: f64) -> Point {
        Point {
            params: params.into(),
            recall,
            qps_1t: qps,
            qps_1t_batch: None,
            qps_batch: qps * 2.0,
            p50_us: 1e6 / qps,
            p99_us: 2e6 / qps,
        }
    }

    fn curve(algo: &str, library: &str, strategy: &str, pts: Vec<Point>) -> Curve {
        Curve {
            algo: algo.into(),
            library: library.into(),
            strategy: strategy.into(),
            train_s: 0.0,
            build_s: 1.0,
            inserts_per_s: 1000.0,
            memory_bytes: 1 << 20,
            stats_memory_bytes: None,
            index_bytes: 1 << 20,
            build_params: serde_json::Value::Null,
            points: pts,
        }
    }

    fn dataset() -> DatasetResult {
        DatasetResult {
            name: "synthetic:100x4".into(),
            metric: "l2".into(),
            base_rows: 100,
            dim: 4,
            queries: 10,
            k: 10,
            single_queries: 10,
            ground_truth: "computed".into(),
            curves: vec![
                curve(
                    "vexfs-hnsw",
                    "vexfs",
                    "hnsw",
                    vec![point("ef=10", 0.9, 2400.0), point("ef=20", 0.99, 1200.0)],
                ),
                curve(
                    "hnswlib",
                    "hnswlib",
                    "hnsw",
                    vec![point("ef=10", 0.9, 1000.0), point("ef=20", 0.99, 500.0)],
                ),
                curve(
                    "usearch",
                    "usearch",
                    "hnsw",
                    vec![point("ef=10", 0.9, 1500.0)],
                ),
            ],
            peers: serde_json::json!({}),
            peer_errors: serde_json::json!({}),
        }
    }

    #[test]
    fn ratio_picks_fastest_peer_at_each_recall() {
        let rows = ratios(&dataset());
        let r90 = rows
            .iter()
            .find(|r| r.recall == Some(0.90) && r.mode == Mode::Single)
            .unwrap();
        assert_eq!(r90.peer.as_ref().unwrap().0, "usearch");
        assert!((r90.ratio().unwrap() - 1.6).abs() < 1e-9);
        let r99 = rows
            .iter()
            .find(|r| r.recall == Some(0.99) && r.mode == Mode::Single)
            .unwrap();
        // usearch never reaches 0.99, so hnswlib is the peer there.
        assert_eq!(r99.peer.as_ref().unwrap().0, "hnswlib");
        assert!((r99.ratio().unwrap() - 2.4).abs() < 1e-9);
        let table = ratio_table(&rows);
        assert!(table.contains(
            "| synthetic:100x4 | hnsw | 0.90 | 1 | 2400 | usearch | 1500 | 1.60x | ≥1.20x | ok |"
        ));
    }

    #[test]
    fn svg_has_a_curve_per_index() {
        let svg = svg_plot(&dataset(), Mode::Single);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("vexfs-hnsw"));
        let csv_dir = std::env::temp_dir().join(format!("anns-report-{}", std::process::id()));
        std::fs::create_dir_all(&csv_dir).unwrap();
        let report = RunReport {
            started_utc: "t".into(),
            profile: "ci".into(),
            threads: 2,
            cpu: "x".into(),
            vexfs_simd: "y".into(),
            engine: None,
            simd: serde_json::Value::Null,
            command: "c".into(),
            datasets: vec![dataset()],
        };
        write_csv(&csv_dir.join("r.csv"), &report).unwrap();
        let csv = std::fs::read_to_string(csv_dir.join("r.csv")).unwrap();
        assert_eq!(csv.lines().count(), 1 + 5);
        write_json(&csv_dir.join("r.json"), &report).unwrap();
        let back: RunReport =
            serde_json::from_slice(&std::fs::read(csv_dir.join("r.json")).unwrap()).unwrap();
        assert_eq!(back.datasets[0].curves.len(), 3);
    }
}
