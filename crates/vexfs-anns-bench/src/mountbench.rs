//! Measurement and report of `vexfs_mount_bench`: the same timing loop
//! for searches through the mount and in the process (one or more client
//! threads), the results document and its markdown tables.

use crate::analysis::qps_at_recall;
use crate::data::IdMatrix;
use crate::truth::recall_at_k;
use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};
use std::sync::{Barrier, Mutex};
use std::time::Instant;

/// One search point measured with some number of clients.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    /// Median over repetitions of (clients x queries) / wall time.
    pub qps: f64,
    pub qps_runs: Vec<f64>,
    pub recall: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

fn percentile_us(sorted_ns: &[u64], p: f64) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    let pos = p / 100.0 * (sorted_ns.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let v =
        sorted_ns[lo] as f64 + (sorted_ns[hi] as f64 - sorted_ns[lo] as f64) * (pos - lo as f64);
    v / 1e3
}

/// `clients` threads each make their own searcher with `make`, then each
/// runs all `nq` queries (client `t` starting at offset t*nq/clients) with
/// `run(searcher, query, out_ids)`, each query timed. Repeated `reps`
/// times; the repetition with the median QPS is reported. Recall comes
/// from client 0's answers.
pub fn measure<S, M, R>(
    clients: usize,
    nq: usize,
    reps: usize,
    k: usize,
    gt: &IdMatrix,
    make: M,
    run: R,
) -> Result<Measured>
where
    M: Fn() -> Result<S> + Sync,
    R: Fn(&mut S, usize, &mut Vec<u64>) -> Result<()> + Sync,
{
    let mut runs: Vec<Measured> = Vec::new();
    for _ in 0..reps.max(1) {
        let barrier = Barrier::new(clients + 1);
        let found: Mutex<Vec<Vec<u64>>> = Mutex::new(Vec::new());
        let lat: Mutex<Vec<u64>> = Mutex::new(Vec::new());
        let err: Mutex<Option<String>> = Mutex::new(None);
        // Each client notes when it started and finished; the wall time is
        // first start to last finish (the coordinating thread may be
        // descheduled on a busy machine, so it does not time).
        let span: Mutex<(Option<Instant>, Option<Instant>)> = Mutex::new((None, None));
        std::thread::scope(|s| {
            for t in 0..clients {
                let (barrier, found, lat, err, make, run, span) =
                    (&barrier, &found, &lat, &err, &make, &run, &span);
                s.spawn(move || {
                    let mut st = make();
                    let mut ids = Vec::new();
                    if let Ok(st) = st.as_mut() {
                        for q in 0..nq.min(20) {
                            let _ = run(st, q, &mut ids);
                        }
                    }
                    barrier.wait();
                    let start = Instant::now();
                    let mut mine = vec![Vec::new(); if t == 0 { nq } else { 0 }];
                    let mut l = Vec::with_capacity(nq);
                    match st {
                        Ok(mut st) => {
                            for j in 0..nq {
                                let q = (j + t * nq / clients) % nq;
                                ids.clear();
                                let t0 = Instant::now();
                                if let Err(e) = run(&mut st, q, &mut ids) {
                                    *err.lock().expect("lock") = Some(format!("{e:#}"));
                                    break;
                                }
                                l.push(t0.elapsed().as_nanos() as u64);
                                if t == 0 {
                                    mine[q] = ids.clone();
                                }
                            }
                        }
                        Err(e) => *err.lock().expect("lock") = Some(format!("{e:#}")),
                    }
                    let end = Instant::now();
                    {
                        let mut sp = span.lock().expect("lock");
                        sp.0 = Some(sp.0.map_or(start, |s: Instant| s.min(start)));
                        sp.1 = Some(sp.1.map_or(end, |e: Instant| e.max(end)));
                    }
                    lat.lock().expect("lock").extend(l);
                    if t == 0 {
                        *found.lock().expect("lock") = mine;
                    }
                });
            }
            barrier.wait();
        });
        let wall = match span.into_inner().expect("lock") {
            (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
            _ => 0.0,
        };
        if let Some(e) = err.into_inner().expect("lock") {
            return Err(anyhow!("search failed: {e}"));
        }
        let mut lat = lat.into_inner().expect("lock");
        lat.sort_unstable();
        let found = found.into_inner().expect("lock");
        runs.push(Measured {
            qps: (clients * nq) as f64 / wall.max(1e-12),
            qps_runs: Vec::new(),
            recall: recall_at_k(&found, gt, k),
            p50_us: percentile_us(&lat, 50.0),
            p99_us: percentile_us(&lat, 99.0),
        });
    }
    Ok(median(runs))
}

/// The repetition with the median QPS, carrying every repetition's QPS.
fn median(mut runs: Vec<Measured>) -> Measured {
    runs.sort_by(|a, b| a.qps.total_cmp(&b.qps));
    let qps_runs = runs.iter().map(|r| r.qps).collect();
    let mut med = runs[runs.len() / 2].clone();
    med.qps_runs = qps_runs;
    med
}

/// One client sends the `nq` queries in groups of `batch` with
/// `run(searcher, first..end, out)`, which appends one id list per query;
/// each group is timed (p50/p99 are per group). Repeated `reps` times, the
/// median QPS reported, as [`measure`] does.
pub fn measure_batched<S, R>(
    nq: usize,
    reps: usize,
    k: usize,
    gt: &IdMatrix,
    batch: usize,
    mut st: S,
    mut run: R,
) -> Result<Measured>
where
    R: FnMut(&mut S, std::ops::Range<usize>, &mut Vec<Vec<u64>>) -> Result<()>,
{
    let batch = batch.max(1);
    let mut warm = Vec::new();
    run(&mut st, 0..batch.min(nq), &mut warm)?;
    let mut runs: Vec<Measured> = Vec::new();
    for _ in 0..reps.max(1) {
        let mut found: Vec<Vec<u64>> = Vec::with_capacity(nq);
        let mut lat = Vec::with_capacity(nq / batch + 1);
        let start = Instant::now();
        for first in (0..nq).step_by(batch) {
            let t0 = Instant::now();
            run(&mut st, first..(first + batch).min(nq), &mut found)?;
            lat.push(t0.elapsed().as_nanos() as u64);
        }
        let wall = start.elapsed().as_secs_f64();
        if found.len() != nq {
            return Err(anyhow!(
                "batched search gave {} answers for {nq} queries",
                found.len()
            ));
        }
        lat.sort_unstable();
        runs.push(Measured {
            qps: nq as f64 / wall.max(1e-12),
            qps_runs: Vec::new(),
            recall: recall_at_k(&found, gt, k),
            p50_us: percentile_us(&lat, 50.0),
            p99_us: percentile_us(&lat, 99.0),
        });
    }
    Ok(median(runs))
}

/// A row of the insert table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Insert {
    pub what: String,
    pub rows: usize,
    pub seconds: f64,
    pub per_s: f64,
    pub note: String,
}

/// One ef of the sweep on both VexFS sides.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EfPoint {
    pub ef: usize,
    pub mount: Vec<Measured>,
    pub inproc: Vec<Measured>,
    /// One client through the mount with VEXFS_IOC_SEARCH_BATCH (as many
    /// queries per request as fit); absent in older results.
    #[serde(default)]
    pub mount_batched: Option<Measured>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MountReport {
    pub started_utc: String,
    pub command: String,
    pub cpu: String,
    pub cores: usize,
    pub vexfs_simd: String,
    /// /proc/loadavg at the start, before search and at the end.
    pub loadavg: Vec<String>,
    pub dataset: String,
    pub metric: String,
    pub rows: usize,
    pub dim: usize,
    pub queries: usize,
    pub k: usize,
    pub reps: usize,
    pub hnsw_params: String,
    pub clients: Vec<usize>,
    pub inserts: Vec<Insert>,
    pub searchable_check: String,
    pub sweep: Vec<EfPoint>,
    /// Mount search with paths resolved, at one ef (1 client).
    pub with_paths: Option<(usize, Measured)>,
    /// Queries per VEXFS_IOC_SEARCH_BATCH request in the batched pass.
    #[serde(default)]
    pub batch_rows: Option<usize>,
    pub memory: serde_json::Value,
    pub lancedb: serde_json::Value,
    pub notes: Vec<String>,
}

pub const SEED_INSERTS_PER_S: f64 = 2079.0;
pub const SEED_SEARCHES_PER_S: f64 = 155.0;

/// (recall, qps) of the sweep for one side and client count index.
fn curve(r: &MountReport, mount: bool, ci: usize) -> Vec<(f64, f64)> {
    r.sweep
        .iter()
        .filter_map(|p| {
            let v = if mount { &p.mount } else { &p.inproc };
            v.get(ci).map(|m| (m.recall, m.qps))
        })
        .collect()
}

/// (recall, qps) of every LanceDB point with `clients` clients, all index
/// types together (the frontier picks the best).
pub fn lance_curve(r: &MountReport, clients: usize) -> Vec<(f64, f64)> {
    let key = format!("c{clients}");
    let mut v = Vec::new();
    for ix in r.lancedb["indexes"].as_array().into_iter().flatten() {
        for p in ix["points"].as_array().into_iter().flatten() {
            if let (Some(rc), Some(q)) = (p[&key]["recall"].as_f64(), p[&key]["qps"].as_f64()) {
                v.push((rc, q));
            }
        }
    }
    v
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.0}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "n/a".into(),
    }
}

pub const TARGETS: [f64; 3] = [0.90, 0.95, 0.99];

pub fn markdown(r: &MountReport) -> String {
    let mut s = String::new();
    s += &format!(
        "### {} ({}), {} rows x {} dims, {} queries, recall@{}\n\n",
        r.dataset, r.metric, r.rows, r.dim, r.queries, r.k
    );
    s += &format!(
        "CPU {} ({} cores), {}; load average {}; HNSW {}; medians of {} repetitions.\n\n",
        r.cpu,
        r.cores,
        r.vexfs_simd,
        r.loadavg.join(" / "),
        r.hnsw_params,
        r.reps
    );
    s += "| inserts | rows | seconds | rows/s | note |\n|---|---:|---:|---:|---|\n";
    for i in &r.inserts {
        s += &format!(
            "| {} | {} | {:.2} | {:.0} | {} |\n",
            i.what, i.rows, i.seconds, i.per_s, i.note
        );
    }
    s += &format!("| seed project FUSE baseline | | | {SEED_INSERTS_PER_S:.0} | reference |\n\n");
    s += &format!("Searchable after bulk load: {}\n\n", r.searchable_check);
    let cs: Vec<String> = r.clients.iter().map(|c| c.to_string()).collect();
    s += "| ef | recall mount | QPS mount (clients ";
    s += &cs.join(", ");
    s += ") | p50/p99 us mount 1c | recall in-proc | QPS in-proc (threads ";
    s += &cs.join(", ");
    s += ") | p50 us in-proc | mount/in-proc 1c |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for p in &r.sweep {
        let (m, i) = (&p.mount[0], &p.inproc[0]);
        let mq: Vec<String> = p.mount.iter().map(|m| format!("{:.0}", m.qps)).collect();
        let iq: Vec<String> = p.inproc.iter().map(|m| format!("{:.0}", m.qps)).collect();
        s += &format!(
            "| {} | {:.4} | {} | {:.0}/{:.0} | {:.4} | {} | {:.0} | {:.2} |\n",
            p.ef,
            m.recall,
            mq.join(" / "),
            m.p50_us,
            m.p99_us,
            i.recall,
            iq.join(" / "),
            i.p50_us,
            m.qps / i.qps.max(1e-9)
        );
    }
    if let Some((ef, m)) = &r.with_paths {
        s += &format!(
            "\nWith paths (no VEXFS_SEARCH_NO_PATHS), ef={ef}, 1 client: {:.0} QPS, recall {:.4}, p50 {:.0} us, p99 {:.0} us.\n",
            m.qps, m.recall, m.p50_us, m.p99_us
        );
    }
    if let Some(ixs) = r.lancedb["indexes"].as_array() {
        s += "\n| LanceDB index | point | recall | QPS (clients ";
        s += &cs.join(", ");
        s += ") | p50/p99 us 1c |\n|---|---|---:|---:|---:|\n";
        for ix in ixs {
            for p in ix["points"].as_array().into_iter().flatten() {
                let q: Vec<String> = r
                    .clients
                    .iter()
                    .map(|c| fmt_opt(p[&format!("c{c}")]["qps"].as_f64()))
                    .collect();
                s += &format!(
                    "| {} | {} | {:.4} | {} | {:.0}/{:.0} |\n",
                    ix["index"].as_str().unwrap_or(""),
                    p["point"],
                    p["c1"]["recall"].as_f64().unwrap_or(0.0),
                    q.join(" / "),
                    p["c1"]["p50_us"].as_f64().unwrap_or(0.0),
                    p["c1"]["p99_us"].as_f64().unwrap_or(0.0),
                );
            }
        }
    } else if !r.lancedb.is_null() {
        s += &format!("\nLanceDB: {}\n", r.lancedb);
    }
    if let Some(b) = &r.batch_rows {
        s += &format!("\nOne client, {b} queries per VEXFS_IOC_SEARCH_BATCH request (p50/p99 are per request):\n\n");
        s += "| ef | recall | QPS batched | p50/p99 us per request | batched / one query per request | batched / in-proc 1t |\n|---:|---:|---:|---:|---:|---:|\n";
        for p in &r.sweep {
            if let Some(m) = &p.mount_batched {
                s += &format!(
                    "| {} | {:.4} | {:.0} | {:.0}/{:.0} | {:.2} | {:.2} |\n",
                    p.ef,
                    m.recall,
                    m.qps,
                    m.p50_us,
                    m.p99_us,
                    m.qps / p.mount[0].qps.max(1e-9),
                    m.qps / p.inproc[0].qps.max(1e-9)
                );
            }
        }
    }
    s += "\nQPS at equal recall (log-linear interpolation on each frontier):\n\n";
    s += "| recall@k | mount 1c | in-proc 1t | LanceDB 1c | mount/in-proc | mount/LanceDB | mount 2c | LanceDB 2c | mount/LanceDB 2c | mount/seed (155/s) | mount 1c batched | batched/in-proc |\n";
    s += "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    let mb: Vec<(f64, f64)> = r
        .sweep
        .iter()
        .filter_map(|p| p.mount_batched.as_ref().map(|m| (m.recall, m.qps)))
        .collect();
    let (m1, i1, l1) = (curve(r, true, 0), curve(r, false, 0), lance_curve(r, 1));
    let (m2, l2) = (curve(r, true, 1), lance_curve(r, 2));
    for t in TARGETS {
        let (a, b, c) = (
            qps_at_recall(&m1, t),
            qps_at_recall(&i1, t),
            qps_at_recall(&l1, t),
        );
        let (d, e) = (qps_at_recall(&m2, t), qps_at_recall(&l2, t));
        let f = qps_at_recall(&mb, t);
        s += &format!(
            "| {t:.2} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            fmt_opt(a),
            fmt_opt(b),
            fmt_opt(c),
            ratio(a, b),
            ratio(a, c),
            fmt_opt(d),
            fmt_opt(e),
            ratio(d, e),
            ratio(a, Some(SEED_SEARCHES_PER_S)),
            fmt_opt(f),
            ratio(f, b),
        );
    }
    s += &format!("\nMemory: {}\n", r.memory);
    for n in &r.notes {
        s += &format!("\n{n}\n");
    }
    s
}
