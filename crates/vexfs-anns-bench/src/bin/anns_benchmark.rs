//! anns_benchmark: recall/QPS of the VexFS index strategies against FAISS,
//! hnswlib and usearch on the same data, in one invocation.

use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;
use vexfs_anns_bench::dataset::{self, DatasetSpec};
use vexfs_anns_bench::results::{DatasetResult, RunReport};
use vexfs_anns_bench::sweep::Profile;
use vexfs_anns_bench::{check, peers, report, runner};

#[derive(Parser, Debug)]
#[command(
    name = "anns_benchmark",
    about = "ANN benchmark: VexFS index strategies vs FAISS, hnswlib and usearch (recall@k vs QPS)"
)]
struct Cli {
    /// Datasets (comma-separated): glove50, synthetic:NxD, or a .npy/.fvecs/.bvecs file.
    /// Defaults to the profile's datasets.
    #[arg(long, value_delimiter = ',')]
    dataset: Vec<String>,
    /// l2, ip or cosine (default: cosine for glove50, l2 otherwise).
    #[arg(long)]
    metric: Option<String>,
    /// Held-out query count (default depends on the profile).
    #[arg(long)]
    queries: Option<usize>,
    /// Neighbours per query; recall is recall@k.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Strategies to run (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "hnsw,ivf,ivfpq,lsh,flat")]
    strategies: Vec<String>,
    /// Peers: comma-separated subset of faiss,hnswlib,usearch; `none`; or
    /// `auto` (those already installed). Default: auto for ci, all otherwise.
    #[arg(long)]
    peers: Option<String>,
    #[arg(long, value_enum, default_value = "quick")]
    profile: Profile,
    /// Output directory for results.json, results.csv, summary.md and plots.
    #[arg(long, default_value = "bench-out/latest")]
    out: PathBuf,
    /// Threads for batched search, builds and ground truth (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Fail (exit 1) if a recall floor in this JSON file is not met.
    #[arg(long)]
    check_recall: Option<PathBuf>,
    /// Write a recall-floor file from this run's VexFS results.
    #[arg(long)]
    write_floor: Option<PathBuf>,
    /// Margin below the measured recall for --write-floor.
    #[arg(long, default_value_t = 0.02)]
    floor_margin: f64,
    /// Ground truth (.ivecs or .npy) instead of brute force; single dataset only.
    #[arg(long)]
    ground_truth: Option<PathBuf>,
    /// Query vectors for a file dataset instead of holding out base rows.
    #[arg(long)]
    query_file: Option<PathBuf>,
    /// Use only the first N base rows.
    #[arg(long)]
    max_rows: Option<usize>,
    /// Also run synthetic 1M x 128 (quick/full profiles).
    #[arg(long)]
    with_1m: bool,
    /// Python virtualenv for the peers and GloVe (default: <repo>/.venv).
    #[arg(long)]
    venv: Option<PathBuf>,
    /// Ground-truth cache directory (default: <repo>/bench-out/cache).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Never draw progress bars.
    #[arg(long)]
    no_progress: bool,
    /// Re-create plots, CSV, summary and the ratio table from an earlier
    /// results.json into --out, without measuring anything.
    #[arg(long)]
    replot: Option<PathBuf>,
    /// Run the whole benchmark once per SIMD level (comma-separated:
    /// native, avx512, avx2, sse2, scalar), each in <out>/<level>, and
    /// write <out>/simd-levels.md comparing them. avx2 also caps FAISS
    /// (FAISS_SIMD_LEVEL=AVX2, OPENBLAS_CORETYPE=Haswell).
    #[arg(long, value_delimiter = ',')]
    simd: Vec<String>,
    /// With --simd: measure nothing, only rebuild simd-levels.md from the
    /// results.json already in <out>/<level>.
    #[arg(long, requires = "simd")]
    simd_compare_only: bool,
}

struct Ui {
    bars: bool,
}

impl Ui {
    fn new(disabled: bool) -> Self {
        // Bars only on an interactive terminal; CI logs get plain lines.
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        Self {
            bars: !disabled && !ci && std::io::stderr().is_terminal(),
        }
    }

    fn bar(&self, len: u64, msg: &str) -> ProgressBar {
        eprintln!("{msg} ...");
        let pb = ProgressBar::new(len);
        if self.bars {
            pb.set_draw_target(ProgressDrawTarget::stderr());
            pb.set_style(
                ProgressStyle::with_template("  {msg:30} [{bar:40}] {pos}/{len} ({eta})")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            pb.set_message(msg.to_string());
        } else {
            pb.set_draw_target(ProgressDrawTarget::hidden());
        }
        pb
    }
}

fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn vexfs_simd() -> String {
    #[allow(unused_mut)]
    let mut feats: Vec<&str> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        for (name, on) in [
            ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
        ] {
            if on {
                feats.push(name);
            }
        }
    }
    format!(
        "CPU features {}; kernels: {}",
        feats.join(","),
        vexfs_anns_bench::vexfs_kernels()
    )
}

fn resolve_peers(
    cli: &Cli,
    venv: &Path,
    script: &Path,
    scratch: &Path,
) -> Result<(Vec<String>, serde_json::Value)> {
    let want = cli.peers.clone().unwrap_or_else(|| {
        if cli.profile == Profile::Ci {
            "auto".into()
        } else {
            "all".into()
        }
    });
    if want == "none" {
        return Ok((Vec::new(), serde_json::json!({})));
    }
    let explicit: Vec<String> = match want.as_str() {
        "auto" => Vec::new(),
        "all" => peers::ALL_PEERS.iter().map(|s| s.to_string()).collect(),
        list => {
            let v: Vec<String> = list
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            for p in &v {
                if !peers::ALL_PEERS.contains(&p.as_str()) {
                    bail!("unknown peer {p:?}: use faiss, hnswlib, usearch, none or auto");
                }
            }
            v
        }
    };
    let probe = |venv: &Path| -> serde_json::Value {
        if peers::python(venv).exists() {
            peers::probe(venv, script, scratch)
                .unwrap_or_else(|e| serde_json::json!({"probe": e.to_string()}))
        } else {
            serde_json::json!({})
        }
    };
    let mut info = probe(venv);
    let ok = |info: &serde_json::Value, p: &str| {
        info.get(p)
            .is_some_and(|v| v.get("error").is_none() && v.get("version").is_some())
    };
    if want == "auto" {
        let found: Vec<String> = peers::ALL_PEERS
            .iter()
            .filter(|p| ok(&info, p))
            .map(|s| s.to_string())
            .collect();
        if found.is_empty() {
            eprintln!(
                "no peer libraries installed in {}; running VexFS only",
                venv.display()
            );
        }
        return Ok((found, info));
    }
    if explicit.iter().any(|p| !ok(&info, p)) {
        peers::setup_venv(venv)?;
        info = probe(venv);
        let missing: Vec<&String> = explicit.iter().filter(|p| !ok(&info, p)).collect();
        if !missing.is_empty() {
            bail!("peers {missing:?} do not import after setup: {info}");
        }
    }
    Ok((explicit, info))
}

/// PNG copies of the plots when the venv has cairosvg; SVG stays the
/// reference format, so a missing renderer is only a note.
fn render_png(venv: &Path, out: &Path, plots: &[(String, Vec<String>)]) {
    let script = peers::repo_root().join("bench/peers/svg2png.py");
    let files: Vec<PathBuf> = plots
        .iter()
        .flat_map(|(_, f)| f.iter().map(|f| out.join(f)))
        .collect();
    if files.is_empty() || !peers::python(venv).exists() {
        return;
    }
    let ok = std::process::Command::new(peers::python(venv))
        .arg(&script)
        .args(&files)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "note: PNG plots skipped (pip install cairosvg into {} to get them)",
            venv.display()
        );
    }
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("anns_benchmark: error: {e:#}");
        std::process::exit(2);
    }
}

/// `--simd`: one child run per level, then the side-by-side table.
fn run_levels(cli: &Cli) -> Result<()> {
    use vexfs_anns_bench::simd_levels;
    let levels = simd_levels::parse(&cli.simd)?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let child = simd_levels::child_args(&args);
    let exe = std::env::current_exe().context("cannot locate anns_benchmark")?;
    std::fs::create_dir_all(&cli.out)
        .with_context(|| format!("cannot create {}", cli.out.display()))?;
    let mut runs = Vec::new();
    for level in &levels {
        let out = cli.out.join(&level.name);
        if !cli.simd_compare_only {
            run_level(&exe, &child, level, &out)?;
        }
        let path = out.join("results.json");
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let report: RunReport = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a results.json", path.display()))?;
        runs.push((level.name.clone(), report));
    }
    let md = simd_levels::compare_markdown(&runs);
    std::fs::write(cli.out.join("simd-levels.md"), &md)?;
    println!("{md}");
    Ok(())
}

/// One child run of [`run_levels`], writing into `out`.
fn run_level(
    exe: &Path,
    child: &[String],
    level: &vexfs_anns_bench::simd_levels::Level,
    out: &Path,
) -> Result<()> {
    use vexfs_anns_bench::simd_levels;
    eprintln!("\n==== SIMD level {} -> {} ====", level.name, out.display());
    let mut cmd = std::process::Command::new(exe);
    cmd.args(child).arg("--out").arg(out);
    for v in simd_levels::CAPS {
        cmd.env_remove(v);
    }
    for (k, v) in &level.env {
        cmd.env(k, v);
    }
    let status = cmd
        .status()
        .context("cannot start a child anns_benchmark")?;
    if !status.success() {
        bail!("the {} run failed ({status})", level.name);
    }
    Ok(())
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    if !cli.simd.is_empty() {
        return run_levels(&cli);
    }
    let started = Instant::now();
    let ui = Ui::new(cli.no_progress);
    let threads = cli.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    // Builds (add_batch, training) and search_batch use this many threads.
    vexfs_ann::set_num_threads(threads);
    let venv = cli.venv.clone().unwrap_or_else(peers::default_venv);
    let cache = cli
        .cache_dir
        .clone()
        .unwrap_or_else(|| peers::repo_root().join("bench-out/cache"));
    let script = peers::default_script();
    std::fs::create_dir_all(&cli.out)
        .with_context(|| format!("cannot create {}", cli.out.display()))?;
    for s in &cli.strategies {
        if runner::build_specs(s, &cli.profile.sweep(100_000, 128)).is_empty() {
            bail!(
                "unknown strategy {s:?}: use hnsw, ivf, ivfpq, lsh, flat, \
                 or flat-f16, flat-sq8, hnsw-f16, hnsw-sq8"
            );
        }
    }
    let mut names: Vec<String> = if cli.dataset.is_empty() {
        cli.profile
            .datasets()
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        cli.dataset.clone()
    };
    if cli.with_1m {
        names.push("synthetic:1000000x128".into());
    }
    if cli.ground_truth.is_some() && names.len() != 1 {
        bail!("--ground-truth needs exactly one --dataset");
    }
    let (peer_list, peer_info) = if cli.replot.is_some() {
        (Vec::new(), serde_json::json!({}))
    } else {
        resolve_peers(&cli, &venv, &script, &cli.out)?
    };

    let mut report = RunReport {
        started_utc: utc_now(),
        profile: cli.profile.name().into(),
        threads,
        cpu: cpu_model(),
        vexfs_simd: vexfs_simd(),
        engine: vexfs_anns_bench::provenance::engine_commit(&peers::repo_root()),
        simd: vexfs_anns_bench::provenance::simd_levels(
            &vexfs_anns_bench::vexfs_kernels(),
            &peer_info,
            &peer_list,
        ),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        datasets: Vec::new(),
    };
    eprintln!(
        "anns_benchmark: profile {}, {threads} threads, {}",
        report.profile, report.vexfs_simd
    );
    let mut plots = Vec::new();
    if let Some(path) = &cli.replot {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        report = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a results.json", path.display()))?;
        names.clear();
        for d in &report.datasets {
            plots.push((d.name.clone(), report::write_plots(&cli.out, d)?));
        }
    }

    for name in &names {
        let spec = DatasetSpec::parse(name)?;
        let metric = match &cli.metric {
            Some(m) => dataset::parse_metric(m)?,
            None => spec.default_metric(),
        };
        let nq = cli.queries.unwrap_or_else(|| cli.profile.queries());
        eprintln!("\n== {name} ({}) ==", dataset::metric_name(metric));
        let t = Instant::now();
        let mut loaded = dataset::load(
            &spec,
            nq,
            cli.query_file.as_deref(),
            cli.max_rows,
            &venv,
            threads,
        )?;
        if metric == vexfs_ann::Metric::Cosine {
            // Unit vectors make cosine an inner product for every library;
            // VexFS normalises again on insert, which is then a no-op.
            loaded.base.normalize_rows();
            loaded.queries.normalize_rows();
        }
        eprintln!(
            "loaded {} base x {} dims, {} queries in {:.1}s",
            loaded.base.rows,
            loaded.base.dim,
            loaded.queries.rows,
            t.elapsed().as_secs_f64()
        );
        let pb = ui.bar(loaded.queries.rows as u64, "ground truth");
        let t = Instant::now();
        let (gt, gt_how) = dataset::ground_truth(
            &loaded,
            metric,
            cli.k,
            cli.ground_truth.as_deref(),
            &cache,
            threads,
            &|n| pb.inc(n),
        )?;
        pb.finish_and_clear();
        eprintln!(
            "ground truth: {gt_how} in {:.1}s",
            t.elapsed().as_secs_f64()
        );
        let (base, queries) = (&loaded.base, &loaded.queries);
        let sweep = cli.profile.sweep(base.rows, base.dim);
        let train = dataset::train_sample(base, sweep.train_rows);

        let mut result = DatasetResult {
            name: name.clone(),
            metric: dataset::metric_name(metric).into(),
            base_rows: base.rows,
            dim: base.dim,
            queries: queries.rows,
            k: cli.k,
            single_queries: sweep.single_queries.min(queries.rows),
            ground_truth: gt_how,
            curves: Vec::new(),
            peers: serde_json::json!({}),
            peer_errors: serde_json::json!({}),
        };
        let mut unavailable = serde_json::Map::new();
        for strategy in &cli.strategies {
            for spec in runner::build_specs(strategy, &sweep) {
                let algo = runner::algo_name(&spec, &sweep);
                let pb = ui.bar(base.rows as u64, &format!("build {algo}"));
                let r = runner::run_build(
                    &spec,
                    &sweep,
                    base,
                    &train,
                    queries,
                    &gt,
                    metric,
                    cli.k,
                    threads,
                    &|n| pb.inc(n),
                    &|p| {
                        pb.suspend(|| {
                            eprintln!(
                                "  {algo} {}: recall={:.4} qps_1t={:.0} qps_batch={:.0} p99={:.0}us",
                                p.params, p.recall, p.qps_1t, p.qps_batch, p.p99_us
                            )
                        })
                    },
                );
                pb.finish_and_clear();
                match r {
                    Ok(c) => {
                        eprintln!(
                            "  {algo}: build {:.1}s ({:.0} inserts/s), index {:.1} MiB, RSS +{:.1} MiB",
                            c.build_s,
                            c.inserts_per_s,
                            c.index_bytes as f64 / 1048576.0,
                            c.memory_bytes as f64 / 1048576.0
                        );
                        result.curves.push(c);
                    }
                    Err(e) => {
                        eprintln!("  {algo}: skipped: {e:#}");
                        unavailable.insert(algo, format!("{e:#}").into());
                    }
                }
            }
        }
        if !peer_list.is_empty() {
            eprintln!("running peers {peer_list:?} (same data, same sweep)");
            let job = peers::PeerJob {
                dir: &cli.out.join(format!("data-{}", report::slug(name))),
                base,
                train: &train,
                queries,
                gt: &gt,
                metric: if metric == vexfs_ann::Metric::L2 {
                    "l2"
                } else {
                    "ip"
                },
                k: cli.k,
                threads,
                strategies: &cli.strategies,
                peers: &peer_list,
                sweep: &sweep,
            };
            match peers::run(&job, &venv, &script) {
                Ok(run) => {
                    result.curves.extend(run.curves);
                    result.peers = run.info;
                    result.peer_errors = run.errors;
                }
                Err(e) => {
                    eprintln!("peers failed: {e:#}");
                    result.peers = peer_info.clone();
                    result.peer_errors = serde_json::json!({"harness": format!("{e:#}")});
                }
            }
        }
        if !unavailable.is_empty() {
            if let Some(o) = result.peer_errors.as_object_mut() {
                o.insert("vexfs".into(), serde_json::Value::Object(unavailable));
            }
        }
        plots.push((name.clone(), report::write_plots(&cli.out, &result)?));
        report.datasets.push(result);
        // Write after every dataset so a long run keeps what it measured.
        report::write_json(&cli.out.join("results.json"), &report)?;
    }

    render_png(&venv, &cli.out, &plots);
    report::write_json(&cli.out.join("results.json"), &report)?;
    report::write_csv(&cli.out.join("results.csv"), &report)?;
    std::fs::write(
        cli.out.join("summary.md"),
        report::summary_markdown(&report, &plots),
    )?;
    println!();
    for d in &report.datasets {
        println!("### {} ({})\n", d.name, d.metric);
        println!("{}", report::dataset_table(d));
        println!("{}", report::ratio_table(&report::ratios(d)));
    }
    println!(
        "results: {}/results.json, results.csv, summary.md and *.svg ({:.0}s total)",
        cli.out.display(),
        started.elapsed().as_secs_f64()
    );

    if let Some(path) = &cli.write_floor {
        let floors = check::derive(&report, cli.floor_margin);
        std::fs::write(path, serde_json::to_string_pretty(&floors)? + "\n")?;
        println!("wrote recall floors to {}", path.display());
    }
    if let Some(path) = &cli.check_recall {
        let floors = check::read(path)?;
        let failures = check::check(&report, &floors);
        if failures.is_empty() {
            println!(
                "recall check: all {} floors met ({})",
                floors.floors.len(),
                path.display()
            );
        } else {
            for f in &failures {
                eprintln!("recall check FAILED: {f}");
            }
            std::process::exit(1);
        }
    }
    Ok(())
}
