//! Quick single-thread performance probe on synthetic data.
//!
//! `cargo run --release -p vexfs-ann --example perf -- [n] [dim] [kind]`
//! writes `data.f32` / `queries.f32` into `$VEXFS_PERF_DIR` (if set) so
//! other libraries can be measured on the same vectors.

use std::time::Instant;
use vexfs_ann::rng::Rng;
use vexfs_ann::*;

/// CPU time of this thread in seconds (robust against other load on a
/// shared machine), falling back to wall time.
struct Clock(f64, Instant);
fn cpu() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(s.split_whitespace().next()?.parse::<f64>().ok()? * 1e-9)
}
impl Clock {
    fn now() -> Self {
        Clock(cpu().unwrap_or(0.0), Instant::now())
    }
    fn secs(&self) -> f64 {
        match cpu() {
            Some(c) if self.0 > 0.0 => c - self.0,
            _ => self.1.elapsed().as_secs_f64(),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let dim: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(128);
    let kinds = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| "flat,hnsw,ivf,ivfpq,lsh".into());
    // More queries (VEXFS_PERF_QUERIES) when a pass is only a few clock
    // ticks of CPU time.
    let nq: usize = std::env::var("VEXFS_PERF_QUERIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let mut rng = Rng::new(7);
    let clusters = 100;
    let centres: Vec<f32> = (0..clusters * dim).map(|_| rng.normal()).collect();
    // VEXFS_PERF_UNIFORM: rows uniform in [0, 1)^dim instead of clustered
    // (the VM benchmark's data; the hardest case for hashing).
    let uniform = std::env::var_os("VEXFS_PERF_UNIFORM").is_some();
    let mut gen = |m: usize| -> Vec<f32> {
        let mut v = Vec::with_capacity(m * dim);
        if uniform {
            v.extend((0..m * dim).map(|_| rng.next_f32()));
            return v;
        }
        for _ in 0..m {
            let c = rng.below(clusters);
            for d in 0..dim {
                v.push(centres[c * dim + d] + rng.normal() * 0.7);
            }
        }
        v
    };
    let (data, queries, n) = match std::env::var("VEXFS_PERF_LOAD") {
        Ok(dir) => {
            let r = |name: &str| -> Vec<f32> {
                let b = std::fs::read(format!("{dir}/{name}")).unwrap();
                b.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect()
            };
            let d = r("data.f32");
            let q = r("queries.f32");
            let n = d.len() / dim;
            (d, q[..nq * dim].to_vec(), n)
        }
        Err(_) => (gen(n), gen(nq), n),
    };
    let metric = match std::env::var("VEXFS_PERF_METRIC").as_deref() {
        Ok("cosine") => Metric::Cosine,
        Ok("ip") => Metric::InnerProduct,
        _ => Metric::L2,
    };
    if let Ok(dir) = std::env::var("VEXFS_PERF_DIR") {
        let w = |name: &str, v: &[f32]| {
            let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            std::fs::write(format!("{dir}/{name}"), b).unwrap();
        };
        w("data.f32", &data);
        w("queries.f32", &queries);
    }
    let ids: Vec<u64> = (0..n as u64).collect();
    eprintln!(
        "kernels: {}, threads: {}",
        distance::kernels().name(),
        num_threads()
    );
    let mut flat = FlatIndex::new(dim, metric).unwrap();
    flat.add_batch(&ids, &data).unwrap();
    let t = Instant::now();
    let truth = flat.search_batch(&queries, &SearchParams::k(10)).unwrap();
    let tb = t.elapsed().as_secs_f64();
    let recall = |res: &[Vec<Neighbor>]| {
        let mut h = 0;
        for (r, t) in res.iter().zip(&truth) {
            h += r.iter().filter(|x| t.iter().any(|y| y.id == x.id)).count();
        }
        h as f64 / (10 * nq) as f64
    };
    let one_thread = |idx: &dyn VectorIndex, p: SearchParams| {
        let t = Clock::now();
        let res: Vec<Vec<Neighbor>> = queries
            .chunks_exact(dim)
            .map(|q| idx.search(q, &p, None).unwrap())
            .collect();
        let qps = nq as f64 / t.secs();
        (recall(&res), qps)
    };
    for kind in kinds.split(',') {
        match kind {
            "flat" => {
                set_num_threads(1);
                let mut b1 = 0.0f64;
                for _ in 0..3 {
                    let t = Clock::now();
                    let _ = flat.search_batch(&queries, &SearchParams::k(10)).unwrap();
                    b1 = b1.max(nq as f64 / t.secs());
                }
                set_num_threads(0);
                let (r, q) = one_thread(&flat, SearchParams::k(10));
                println!("flat: batch(all threads) {:.0} qps, batch(1 thread) {b1:.0} qps, single {q:.0} qps recall {r:.3}", nq as f64 / tb);
            }
            "flat-f16" | "flat-sq8" => {
                let storage = Storage::parse(&kind[5..]).unwrap();
                let mut f = FlatIndex::with_storage(dim, metric, storage).unwrap();
                f.train(&data).unwrap();
                f.add_batch(&ids, &data).unwrap();
                let reps: usize = std::env::var("VEXFS_PERF_REPS")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(3);
                let mut best = (0.0, 0.0);
                for _ in 0..reps {
                    let (r, q) = one_thread(&f, SearchParams::k(10));
                    if q > best.1 {
                        best = (r, q);
                    }
                }
                println!("{kind}: single {:.0} qps recall {:.4}", best.1, best.0);
            }
            "hnsw" => {
                let bt: usize = std::env::var("PERF_BUILD_THREADS")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1);
                for threads in [bt] {
                    set_num_threads(threads);
                    let cache = std::env::var("VEXFS_PERF_DIR")
                        .ok()
                        .map(|d| format!("{d}/hnsw-{n}-{dim}-{metric:?}.idx"));
                    let h = match cache.as_ref().and_then(|c| std::fs::read(c).ok()) {
                        Some(b) => HnswIndex::load(&mut &b[..]).unwrap(),
                        None => {
                            // VEXFS_PERF_STORAGE=f16|sq8 keeps codes in the graph.
                            let storage = std::env::var("VEXFS_PERF_STORAGE")
                                .ok()
                                .and_then(|s| Storage::parse(&s))
                                .unwrap_or_default();
                            let mut h = HnswIndex::with_storage(
                                dim,
                                metric,
                                HnswConfig {
                                    m: 16,
                                    ef_construction: 200,
                                    ef_search: 64,
                                    seed: 1,
                                    max_elements: n,
                                },
                                storage,
                            )
                            .unwrap();
                            h.train(&data).unwrap();
                            let t = Clock::now();
                            let w = Instant::now();
                            h.add_batch(&ids, &data).unwrap();
                            println!(
                                "hnsw build ({threads} threads): {:.2}s cpu, {:.2}s wall",
                                t.secs(),
                                w.elapsed().as_secs_f64()
                            );
                            if let Some(c) = &cache {
                                let mut b = Vec::new();
                                h.save(&mut b).unwrap();
                                std::fs::write(c, b).unwrap();
                            }
                            h
                        }
                    };
                    let reps: usize = std::env::var("VEXFS_PERF_REPS")
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(1);
                    let mut h = h;
                    if let Ok(modes) = std::env::var("VEXFS_PERF_PF") {
                        // A/B prefetch settings, interleaved so machine load hits all alike.
                        let modes: Vec<(usize, bool)> = modes
                            .split(',')
                            .map(|m| (m.trim_end_matches('b').parse().unwrap(), m.ends_with('b')))
                            .collect();
                        for ef in [20, 80] {
                            let mut best = vec![0.0f64; modes.len()];
                            for _ in 0..reps {
                                for (mi, &(w, b)) in modes.iter().enumerate() {
                                    h.set_prefetch(w % 10000, b);
                                    h.set_gather(w < 10000);
                                    let (_, q) = one_thread(
                                        &h,
                                        SearchParams {
                                            ef: Some(ef),
                                            ..SearchParams::k(10)
                                        },
                                    );
                                    best[mi] = best[mi].max(q);
                                }
                            }
                            for (m, b) in modes.iter().zip(best) {
                                println!("pf {m:?} ef={ef}: qps {b:.0}");
                            }
                        }
                    }
                    let efs: Vec<usize> = std::env::var("VEXFS_PERF_EF")
                        .ok()
                        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
                        .unwrap_or_else(|| vec![10, 20, 40, 80, 160]);
                    for ef in efs {
                        let mut best = (0.0, 0.0);
                        for _ in 0..reps {
                            let (r, q) = one_thread(
                                &h,
                                SearchParams {
                                    ef: Some(ef),
                                    ..SearchParams::k(10)
                                },
                            );
                            if q > best.1 {
                                best = (r, q);
                            }
                        }
                        println!("hnsw ef={ef}: recall {:.4} qps {:.0}", best.0, best.1);
                    }
                }
                set_num_threads(0);
            }
            "ivf" => {
                let mut x = IvfFlatIndex::new(
                    dim,
                    metric,
                    IvfConfig {
                        nlist: std::env::var("IVF_NLIST")
                            .ok()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(1024),
                        nprobe: 8,
                        seed: 1,
                        train_iters: 10,
                    },
                )
                .unwrap();
                let t = Instant::now();
                x.train(&data).unwrap();
                x.add_batch(&ids, &data).unwrap();
                println!("ivf build {:.2}s", t.elapsed().as_secs_f64());
                for np in [1, 4, 8, 16, 32, 64] {
                    let (r, q) = one_thread(
                        &x,
                        SearchParams {
                            nprobe: Some(np),
                            ..SearchParams::k(10)
                        },
                    );
                    println!("ivf nprobe={np}: recall {r:.4} qps {q:.0}");
                }
            }
            "ivfpq" => {
                let mut x = IvfPqIndex::new(
                    dim,
                    metric,
                    IvfPqConfig {
                        nlist: 1024,
                        m_subquantizers: 16,
                        nbits: 8,
                        nprobe: 8,
                        rerank: 100,
                        seed: 1,
                        train_iters: 10,
                    },
                )
                .unwrap();
                let t = Instant::now();
                x.train(&data).unwrap();
                x.add_batch(&ids, &data).unwrap();
                println!("ivfpq build {:.2}s", t.elapsed().as_secs_f64());
                for np in [4, 8, 16, 32] {
                    let (r, q) = one_thread(
                        &x,
                        SearchParams {
                            nprobe: Some(np),
                            rerank: Some(100),
                            ..SearchParams::k(10)
                        },
                    );
                    println!("ivfpq nprobe={np} rerank=100: recall {r:.4} qps {q:.0}");
                }
            }
            "lsh" => {
                let env = |k: &str, d: usize| {
                    std::env::var(k)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(d)
                };
                // LSH_BITS=0: the index chooses from the row count.
                let (tables, bits) = (env("LSH_TABLES", 16), env("LSH_BITS", 14));
                let mut x = LshIndex::new(
                    dim,
                    metric,
                    LshConfig {
                        tables,
                        bits,
                        probes: 8,
                        rerank: 0,
                        seed: 1,
                        ..LshConfig::default()
                    },
                )
                .unwrap();
                let t = Instant::now();
                x.train(&data).unwrap();
                x.add_batch(&ids, &data).unwrap();
                println!(
                    "lsh {tables}x{} build {:.2}s",
                    x.bits(),
                    t.elapsed().as_secs_f64()
                );
                for pr in [1, 4, 8, 16, 32] {
                    for rr in [100, 1000, 0] {
                        let (r, q) = one_thread(
                            &x,
                            SearchParams {
                                nprobe: Some(pr),
                                rerank: Some(rr),
                                ..SearchParams::k(10)
                            },
                        );
                        println!("lsh probes={pr} rerank={rr}: recall {r:.4} qps {q:.0}");
                    }
                }
            }
            "lshscan" => {
                // The benchmark's quick-profile code scan: 4 * dim sign bits.
                let tables = (dim * 4).div_ceil(64);
                let mut x = LshIndex::new(
                    dim,
                    metric,
                    LshConfig {
                        mode: LshMode::CodeScan,
                        tables,
                        bits: 64,
                        probes: 1,
                        rerank: 100,
                        seed: 1,
                    },
                )
                .unwrap();
                let t = Clock::now();
                x.add_batch(&ids, &data).unwrap();
                println!("lsh code scan {tables}x64 build {:.3}s", t.secs());
                for rr in [50, 100, 200, 400] {
                    let (r, q) = one_thread(
                        &x,
                        SearchParams {
                            rerank: Some(rr),
                            ..SearchParams::k(10)
                        },
                    );
                    set_num_threads(1);
                    let params = SearchParams {
                        rerank: Some(rr),
                        ..SearchParams::k(10)
                    };
                    let t = Clock::now();
                    let _ = x.search_batch(&queries, &params).unwrap();
                    let b = nq as f64 / t.secs();
                    set_num_threads(0);
                    println!(
                        "lsh code scan rerank={rr}: recall {r:.4} qps {q:.0} batched 1 thread {b:.0}"
                    );
                }
            }
            _ => eprintln!("unknown kind {kind}"),
        }
    }
}
