//! Builds the VexFS indexes and measures them at each sweep point.

use crate::data::{IdMatrix, Matrix};
use crate::results::{Curve, Point};
use crate::sweep::Sweep;
use crate::truth::recall_at_k;
use anyhow::{anyhow, Context, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use vexfs_ann::{Metric, SearchParams, Storage, VectorIndex};

/// A strategy with its build configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum BuildSpec {
    /// Exact scan; f16 / SQ8 storage scans the codes.
    Flat {
        storage: Storage,
    },
    Hnsw {
        m: usize,
        ef_construction: usize,
        storage: Storage,
    },
    Ivf {
        nlist: usize,
        train_iters: usize,
    },
    IvfPq {
        nlist: usize,
        m: usize,
        nbits: usize,
        train_iters: usize,
    },
    Lsh {
        tables: usize,
        bits: usize,
        /// Code scan instead of bucket probing.
        scan: bool,
    },
}

impl BuildSpec {
    pub fn strategy(&self) -> &'static str {
        match self {
            BuildSpec::Flat { storage } => match storage {
                Storage::F32 => "flat",
                Storage::F16 => "flat-f16",
                Storage::Sq8 => "flat-sq8",
            },
            BuildSpec::Hnsw { storage, .. } => match storage {
                Storage::F32 => "hnsw",
                Storage::F16 => "hnsw-f16",
                Storage::Sq8 => "hnsw-sq8",
            },
            BuildSpec::Ivf { .. } => "ivf",
            BuildSpec::IvfPq { .. } => "ivfpq",
            BuildSpec::Lsh { .. } => "lsh",
        }
    }

    pub fn params_json(&self) -> serde_json::Value {
        match self {
            BuildSpec::Flat { storage } => serde_json::json!({"storage": storage.name()}),
            BuildSpec::Hnsw {
                m,
                ef_construction,
                storage,
            } => {
                serde_json::json!({"M": m, "ef_construction": ef_construction, "storage": storage.name()})
            }
            BuildSpec::Ivf { nlist, train_iters } => {
                serde_json::json!({"nlist": nlist, "train_iters": train_iters})
            }
            BuildSpec::IvfPq {
                nlist,
                m,
                nbits,
                train_iters,
            } => {
                serde_json::json!({"nlist": nlist, "m": m, "nbits": nbits, "train_iters": train_iters})
            }
            BuildSpec::Lsh { tables, bits, scan } => serde_json::json!({
                "tables": tables,
                "bits": bits,
                // In code-scan mode the whole code is tables * bits long;
                // FAISS reports its `nbits` beside it.
                "code_bits": tables * bits,
                "mode": if *scan { "code-scan" } else { "buckets" },
            }),
        }
    }
}

/// Seed for every randomised build, so recall is reproducible.
pub const BUILD_SEED: u64 = 42;

/// The build configurations to run for one strategy name.
pub fn build_specs(strategy: &str, sweep: &Sweep) -> Vec<BuildSpec> {
    // `flat-sq8`, `hnsw-f16`, ...: the strategy with that vector storage.
    let (base, storage) = match strategy.split_once('-') {
        Some((b, st)) => match Storage::parse(st) {
            Some(st) if st != Storage::F32 => (b, st),
            _ => return Vec::new(),
        },
        None => (strategy, Storage::F32),
    };
    match base {
        "flat" => vec![BuildSpec::Flat { storage }],
        "hnsw" => sweep
            .hnsw
            .m
            .iter()
            .map(|&m| BuildSpec::Hnsw {
                m,
                ef_construction: sweep.hnsw.ef_construction,
                storage,
            })
            .collect(),
        _ if storage != Storage::F32 => Vec::new(),
        "ivf" => vec![BuildSpec::Ivf {
            nlist: sweep.ivf.nlist,
            train_iters: sweep.ivf.train_iters,
        }],
        "ivfpq" => vec![BuildSpec::IvfPq {
            nlist: sweep.ivfpq.nlist,
            m: sweep.ivfpq.m,
            nbits: sweep.ivfpq.nbits,
            train_iters: sweep.ivfpq.train_iters,
        }],
        "lsh" => sweep
            .lsh
            .tables
            .iter()
            .map(|&tables| BuildSpec::Lsh {
                tables,
                bits: sweep.lsh.bits,
                scan: sweep.lsh.scan,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Search points of a build: (label, params) pairs.
pub fn search_points(spec: &BuildSpec, sweep: &Sweep, k: usize) -> Vec<(String, SearchParams)> {
    let base = SearchParams::k(k);
    match spec {
        BuildSpec::Flat { .. } => vec![("exact".into(), base)],
        BuildSpec::Hnsw { m, .. } => sweep
            .hnsw
            .ef
            .iter()
            .map(|&ef| {
                (
                    format!("M={m},ef={ef}"),
                    SearchParams {
                        ef: Some(ef.max(k)),
                        ..base
                    },
                )
            })
            .collect(),
        BuildSpec::Ivf { .. } => sweep
            .ivf
            .nprobe
            .iter()
            .map(|&p| {
                (
                    format!("nprobe={p}"),
                    SearchParams {
                        nprobe: Some(p),
                        ..base
                    },
                )
            })
            .collect(),
        BuildSpec::IvfPq { .. } => {
            let mut v = Vec::new();
            for &p in &sweep.ivfpq.nprobe {
                for &r in &sweep.ivfpq.rerank {
                    v.push((
                        format!("nprobe={p},rerank={r}"),
                        SearchParams {
                            nprobe: Some(p),
                            rerank: Some(r),
                            ..base
                        },
                    ));
                }
            }
            v
        }
        BuildSpec::Lsh { .. } => {
            let mut v = Vec::new();
            for &p in &sweep.lsh.probes {
                for &r in &sweep.lsh.rerank {
                    v.push((
                        format!("probes={p},rerank={r}"),
                        SearchParams {
                            nprobe: Some(p),
                            rerank: Some(r),
                            ..base
                        },
                    ));
                }
            }
            v
        }
    }
}

/// Legend name of a VexFS build; extra HNSW degrees and LSH code lengths
/// get a suffix so the first configuration keeps the plain name (as the
/// peers name their extra FAISS LSH code lengths).
pub fn algo_name(spec: &BuildSpec, sweep: &Sweep) -> String {
    match spec {
        BuildSpec::Hnsw { m, .. } if Some(m) != sweep.hnsw.m.first() => {
            format!("vexfs-{}-M{m}", spec.strategy())
        }
        BuildSpec::Lsh { tables, bits, .. } if Some(tables) != sweep.lsh.tables.first() => {
            format!("vexfs-lsh-{}", tables * bits)
        }
        _ => format!("vexfs-{}", spec.strategy()),
    }
}

/// Create an empty index for `spec`, seeded so that recall at a given
/// point is reproducible run to run.
pub fn make_index(
    spec: &BuildSpec,
    dim: usize,
    metric: Metric,
    expected_rows: usize,
) -> Result<Box<dyn VectorIndex>> {
    use vexfs_ann::{
        FlatIndex, HnswConfig, HnswIndex, IvfConfig, IvfFlatIndex, IvfPqConfig, IvfPqIndex,
        LshConfig, LshIndex, LshMode,
    };
    let err = |e: vexfs_ann::AnnError| anyhow!("creating {} index: {e}", spec.strategy());
    Ok(match *spec {
        BuildSpec::Flat { storage } => {
            Box::new(FlatIndex::with_storage(dim, metric, storage).map_err(err)?)
        }
        BuildSpec::Hnsw {
            m,
            ef_construction,
            storage,
        } => Box::new(
            HnswIndex::with_storage(
                dim,
                metric,
                HnswConfig {
                    m,
                    ef_construction,
                    ef_search: 64,
                    seed: BUILD_SEED,
                    max_elements: expected_rows,
                },
                storage,
            )
            .map_err(err)?,
        ),
        BuildSpec::Ivf { nlist, train_iters } => Box::new(
            IvfFlatIndex::new(
                dim,
                metric,
                IvfConfig {
                    nlist,
                    train_iters,
                    seed: BUILD_SEED,
                    ..IvfConfig::default()
                },
            )
            .map_err(err)?,
        ),
        BuildSpec::IvfPq {
            nlist,
            m,
            nbits,
            train_iters,
        } => Box::new(
            IvfPqIndex::new(
                dim,
                metric,
                IvfPqConfig {
                    nlist,
                    m_subquantizers: m,
                    nbits,
                    train_iters,
                    seed: BUILD_SEED,
                    ..IvfPqConfig::default()
                },
            )
            .map_err(err)?,
        ),
        BuildSpec::Lsh { tables, bits, scan } => Box::new(
            LshIndex::new(
                dim,
                metric,
                LshConfig {
                    mode: if scan {
                        LshMode::CodeScan
                    } else {
                        LshMode::Buckets
                    },
                    tables,
                    bits,
                    seed: BUILD_SEED,
                    ..LshConfig::default()
                },
            )
            .map_err(err)?,
        ),
    })
}

/// Counts serialised bytes without keeping them.
struct CountingSink(u64);

impl vexfs_ann::ByteSink for CountingSink {
    fn write_all(&mut self, buf: &[u8]) -> vexfs_ann::Result<()> {
        self.0 += buf.len() as u64;
        Ok(())
    }
}

/// Resident set size of this process, from /proc (0 where unavailable).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|x| x.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

/// Build facts recorded with a curve.
pub struct Built {
    pub index: Box<dyn VectorIndex>,
    pub train_s: f64,
    pub build_s: f64,
    pub inserts_per_s: f64,
    pub memory_bytes: u64,
}

/// Train (when needed) and insert all of `base`, ids = row numbers.
/// `progress` receives rows inserted.
pub fn build(
    spec: &BuildSpec,
    base: &Matrix,
    train: &Matrix,
    metric: Metric,
    progress: &dyn Fn(u64),
) -> Result<Built> {
    let rss0 = rss_bytes();
    let t0 = Instant::now();
    let mut index = make_index(spec, base.dim, metric, base.rows)?;
    if !index.is_trained() {
        index
            .train(&train.data)
            .map_err(|e| anyhow!("training {} failed: {e}", spec.strategy()))?;
    }
    let train_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    // Chunks large enough for parallel insertion to pay off, small enough
    // for the progress bar to move.
    let chunk = (base.rows / 20).max(10_000);
    let mut start = 0;
    while start < base.rows {
        let end = (start + chunk).min(base.rows);
        let ids: Vec<u64> = (start as u64..end as u64).collect();
        index
            .add_batch(&ids, &base.data[start * base.dim..end * base.dim])
            .map_err(|e| anyhow!("inserting into {} failed: {e}", spec.strategy()))?;
        progress((end - start) as u64);
        start = end;
    }
    let insert_s = t1.elapsed().as_secs_f64();
    Ok(Built {
        index,
        train_s,
        build_s: train_s + insert_s,
        inserts_per_s: base.rows as f64 / insert_s.max(1e-9),
        memory_bytes: rss_bytes().saturating_sub(rss0),
    })
}

/// Serialised size of an index.
pub fn serialized_size(index: &dyn VectorIndex) -> Result<u64> {
    let mut sink = CountingSink(0);
    index
        .save(&mut sink)
        .map_err(|e| anyhow!("saving the index failed: {e}"))?;
    Ok(sink.0)
}

fn ids(res: Vec<vexfs_ann::Neighbor>) -> Vec<u64> {
    res.into_iter().map(|n| n.id).collect()
}

/// Search every query with the engine's batch search; results in query
/// order.
pub fn search_all(
    index: &dyn VectorIndex,
    queries: &Matrix,
    params: &SearchParams,
    threads: usize,
) -> Result<Vec<Vec<u64>>> {
    if threads == vexfs_ann::num_threads() {
        let res = index
            .search_batch(&queries.data, params)
            .map_err(|e| anyhow!("batch search failed: {e}"))?;
        return Ok(res.into_iter().map(ids).collect());
    }
    search_threads(index, queries, params, threads)
}

/// Fallback batch search on our own threads (when the engine's thread
/// count differs from the one asked for).
pub fn search_threads(
    index: &dyn VectorIndex,
    queries: &Matrix,
    params: &SearchParams,
    threads: usize,
) -> Result<Vec<Vec<u64>>> {
    let n = queries.rows;
    let results: Mutex<Vec<Vec<u64>>> = Mutex::new(vec![Vec::new(); n]);
    let next = AtomicUsize::new(0);
    let error: Mutex<Option<String>> = Mutex::new(None);
    const BLOCK: usize = 32;
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                let mut local = Vec::with_capacity(BLOCK);
                loop {
                    let start = next.fetch_add(BLOCK, Ordering::Relaxed);
                    if start >= n {
                        break;
                    }
                    let end = (start + BLOCK).min(n);
                    local.clear();
                    for q in start..end {
                        match index.search(queries.row(q), params, None) {
                            Ok(r) => local.push(ids(r)),
                            Err(e) => {
                                *error.lock().expect("error lock") = Some(e.to_string());
                                return;
                            }
                        }
                    }
                    let mut all = results.lock().expect("results lock");
                    for (i, r) in local.drain(..).enumerate() {
                        all[start + i] = r;
                    }
                }
            });
        }
    });
    if let Some(e) = error.into_inner().expect("error lock") {
        return Err(anyhow!("search failed: {e}"));
    }
    Ok(results.into_inner().expect("results lock"))
}

/// Passes over the single-thread queries; the fastest pass is reported.
pub const ROUNDS: usize = 3;

fn percentile_us(sorted_ns: &[u64], p: f64) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    // Linear interpolation between closest ranks, as numpy's default, so
    // both sides compute percentiles alike.
    let pos = p / 100.0 * (sorted_ns.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let v =
        sorted_ns[lo] as f64 + (sorted_ns[hi] as f64 - sorted_ns[lo] as f64) * (pos - lo as f64);
    v / 1e3
}

/// Fastest of ROUNDS batched calls over `queries` restricted to one
/// thread, in seconds: the same measurement the peer harness makes, so a
/// strategy whose batch path differs from its per-query path (IVF's
/// blocked coarse step, FAISS's matrix-product quantiser) is credited
/// with it on both sides.
fn one_thread_batch(
    index: &dyn VectorIndex,
    queries: &[f32],
    params: &SearchParams,
) -> Result<f64> {
    let prev = vexfs_ann::num_threads();
    vexfs_ann::set_num_threads(1);
    let mut best = f64::INFINITY;
    let mut outcome = Ok(());
    for _ in 0..ROUNDS {
        let t = Instant::now();
        match index.search_batch(queries, params) {
            Ok(r) => {
                best = best.min(t.elapsed().as_secs_f64());
                std::hint::black_box(r);
            }
            Err(e) => {
                outcome = Err(anyhow!("batch search failed: {e}"));
                break;
            }
        }
    }
    vexfs_ann::set_num_threads(prev);
    outcome.map(|_| best)
}

/// Measure one search point: 1-thread per-query timing on the first
/// `single` queries, then all queries over all threads (recall from
/// those results).
pub fn measure(
    index: &dyn VectorIndex,
    queries: &Matrix,
    gt: &IdMatrix,
    label: &str,
    params: &SearchParams,
    threads: usize,
    single: usize,
) -> Result<Point> {
    let n1 = single.min(queries.rows);
    for q in 0..n1.min(20) {
        index
            .search(queries.row(q), params, None)
            .map_err(|e| anyhow!("search failed: {e}"))?;
    }
    // Best of ROUNDS passes: on shared cores a pass can lose milliseconds
    // to preemption, which would dominate a mean of microsecond queries.
    // The peer harness does the same.
    let mut lat: Vec<u64> = Vec::new();
    for _ in 0..ROUNDS {
        let mut round = Vec::with_capacity(n1);
        for q in 0..n1 {
            let t = Instant::now();
            let r = index
                .search(queries.row(q), params, None)
                .map_err(|e| anyhow!("search failed: {e}"))?;
            round.push(t.elapsed().as_nanos() as u64);
            std::hint::black_box(r);
        }
        if lat.is_empty() || round.iter().sum::<u64>() < lat.iter().sum::<u64>() {
            lat = round;
        }
    }
    let total_s = lat.iter().sum::<u64>() as f64 / 1e9;
    lat.sort_unstable();
    let batch_1t_s = one_thread_batch(index, &queries.data[..n1 * queries.dim], params)?;
    let t = Instant::now();
    let found = search_all(index, queries, params, threads)?;
    let batch_s = t.elapsed().as_secs_f64();
    Ok(Point {
        params: label.to_string(),
        recall: recall_at_k(&found, gt, params.k),
        qps_1t: n1 as f64 / total_s.max(1e-12),
        qps_1t_batch: Some(n1 as f64 / batch_1t_s.max(1e-12)),
        qps_batch: queries.rows as f64 / batch_s.max(1e-12),
        p50_us: percentile_us(&lat, 50.0),
        p99_us: percentile_us(&lat, 99.0),
    })
}

/// Build one configuration and sweep its search points.
#[allow(clippy::too_many_arguments)]
pub fn run_build(
    spec: &BuildSpec,
    sweep: &Sweep,
    base: &Matrix,
    train: &Matrix,
    queries: &Matrix,
    gt: &IdMatrix,
    metric: Metric,
    k: usize,
    threads: usize,
    progress: &dyn Fn(u64),
    on_point: &dyn Fn(&Point),
) -> Result<Curve> {
    let built = build(spec, base, train, metric, progress)?;
    let stats = built.index.stats();
    let index_bytes =
        serialized_size(built.index.as_ref()).context("measuring the serialised size")?;
    let mut curve = Curve {
        algo: algo_name(spec, sweep),
        library: "vexfs".into(),
        strategy: spec.strategy().into(),
        train_s: built.train_s,
        build_s: built.build_s,
        inserts_per_s: built.inserts_per_s,
        memory_bytes: built.memory_bytes,
        stats_memory_bytes: Some(stats.memory_bytes as u64),
        index_bytes,
        build_params: spec.params_json(),
        points: Vec::new(),
    };
    for (label, params) in search_points(spec, sweep, k) {
        let p = measure(
            built.index.as_ref(),
            queries,
            gt,
            &label,
            &params,
            threads,
            sweep.single_queries,
        )?;
        on_point(&p);
        curve.points.push(p);
    }
    Ok(curve)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        assert!((percentile_us(&v, 50.0) - 50.5).abs() < 1e-9);
        assert!((percentile_us(&v, 99.0) - 99.01).abs() < 1e-9);
        assert_eq!(percentile_us(&[], 50.0), 0.0);
    }
}
