//! Shared test data: clustered Gaussian vectors and exact ground truth.
#![allow(dead_code)]

use vexfs_ann::rng::Rng;
use vexfs_ann::*;

/// `n` points around `clusters` random centres (row-major).
pub fn clustered(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let centres: Vec<f32> = (0..clusters * dim).map(|_| rng.normal() * 1.5).collect();
    let mut out = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let c = rng.below(clusters);
        for d in 0..dim {
            out.push(centres[c * dim + d] + rng.normal());
        }
    }
    out
}

/// The standard data set of the recall tests: 5000 x 32, 50 clusters, and
/// 100 queries from the same distribution (not in the data).
pub fn dataset() -> (Vec<f32>, Vec<f32>) {
    let all = clustered(5100, 32, 50, 1234);
    let (d, q) = all.split_at(5000 * 32);
    (d.to_vec(), q.to_vec())
}

/// Exact k nearest ids for every query, honouring `allowed`.
pub fn ground_truth(
    data: &[f32],
    ids: &[u64],
    queries: &[f32],
    dim: usize,
    metric: Metric,
    k: usize,
    allowed: &dyn Fn(u64) -> bool,
) -> Vec<Vec<u64>> {
    let mut flat = FlatIndex::new(dim, metric).unwrap();
    for (i, &id) in ids.iter().enumerate() {
        flat.add(id, &data[i * dim..(i + 1) * dim]).unwrap();
    }
    queries
        .chunks_exact(dim)
        .map(|q| {
            flat.search(q, &SearchParams::k(k), Some(allowed))
                .unwrap()
                .iter()
                .map(|n| n.id)
                .collect()
        })
        .collect()
}

/// Mean recall@k of `results` against `truth`.
pub fn recall(results: &[Vec<Neighbor>], truth: &[Vec<u64>]) -> f64 {
    let mut hit = 0usize;
    let mut tot = 0usize;
    for (r, t) in results.iter().zip(truth) {
        tot += t.len();
        hit += r.iter().filter(|n| t.contains(&n.id)).count();
    }
    hit as f64 / tot.max(1) as f64
}

/// Build every strategy with the parameters the recall floors are stated
/// for, trained on the data and filled with it (ids = row index).
pub fn build_all(
    data: &[f32],
    dim: usize,
    metric: Metric,
) -> Vec<(&'static str, Box<dyn VectorIndex>, f64)> {
    let specs: [(&str, IndexKind, &str, f64); 5] = [
        ("flat", IndexKind::Flat, "", 1.0),
        (
            "hnsw",
            IndexKind::Hnsw,
            "m=16,ef_construction=100,ef_search=64,seed=1",
            0.95,
        ),
        ("ivf", IndexKind::IvfFlat, "nlist=64,nprobe=8,seed=1", 0.90),
        (
            "ivfpq",
            IndexKind::IvfPq,
            "nlist=64,m=8,nprobe=8,rerank=100,seed=1",
            0.85,
        ),
        (
            "lsh",
            IndexKind::Lsh,
            "tables=10,bits=12,probes=8,seed=1",
            0.80,
        ),
    ];
    let n = data.len() / dim;
    let ids: Vec<u64> = (0..n as u64).map(|i| i * 3 + 1).collect();
    specs
        .iter()
        .map(|(name, kind, params, floor)| {
            let mut idx = build_index(*kind, dim, metric, params).unwrap();
            idx.train(data).unwrap();
            idx.add_batch(&ids, data).unwrap();
            (*name, idx, *floor)
        })
        .collect()
}

/// The ids `build_all` uses.
pub fn ids_for(n: usize) -> Vec<u64> {
    (0..n as u64).map(|i| i * 3 + 1).collect()
}
