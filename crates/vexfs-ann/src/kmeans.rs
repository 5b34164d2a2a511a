//! Deterministic k-means (random distinct initial points from a fixed seed,
//! Lloyd iterations, FAISS-style split of the largest cluster when one goes
//! empty). Shared by IVF coarse quantisers and PQ codebooks.
//!
//! Assignment runs in parallel in std builds; sums are accumulated in input
//! order afterwards, so centroids do not depend on the thread count.

use crate::common::row;
use crate::distance::kernels;
use crate::error::{AnnError, Result};
use crate::rng::Rng;
use alloc::vec;
use alloc::vec::Vec;

/// Sample points kept per centroid (more are subsampled away).
pub const MAX_POINTS_PER_CENTROID: usize = 256;

/// Index and squared L2 distance of the centroid nearest to `x`.
///
/// Centroids are scored a block at a time with the grouped row kernel
/// (one reduction tree per 8 or 16 centroids instead of one per centroid).
#[inline]
pub fn nearest(centroids: &[f32], dim: usize, x: &[f32]) -> (usize, f32) {
    let k = kernels();
    let mut best = (0usize, f32::INFINITY);
    if dim == 0 || x.len() < dim {
        return best;
    }
    const CHUNK: usize = 64;
    let mut buf = [0f32; CHUNK];
    for (ci, cs) in centroids.chunks(CHUNK * dim).enumerate() {
        let m = cs.len() / dim;
        k.dist_rows(x, cs, dim, &mut buf[..m], true);
        for (j, &d) in buf[..m].iter().enumerate() {
            if d < best.1 {
                best = (ci * CHUNK + j, d);
            }
        }
    }
    best
}

/// Nearest centroid of every row of `data`, in parallel where allowed.
pub fn assign_all(centroids: &[f32], dim: usize, data: &[f32]) -> Vec<u32> {
    let n = data.len() / dim.max(1);
    let k = centroids.len() / dim.max(1);
    if n >= 64 && k >= 16 {
        // Large problems are a matrix product: the panel kernel with a
        // running minimum where the level has one, else the exhaustive
        // batch search with its blocked kernels.
        if let Some(a) = crate::kmeans_assign::assign_panels(centroids, dim, data) {
            return a;
        }
        if let Some(a) = assign_blocked(centroids, dim, data) {
            return a;
        }
    }
    let f = |i: usize| nearest(centroids, dim, row(data, dim, i)).0 as u32;
    crate::parallel::par_map(n, &f)
}

fn assign_blocked(centroids: &[f32], dim: usize, data: &[f32]) -> Option<Vec<u32>> {
    use crate::index::{SearchParams, VectorIndex};
    let mut f = crate::flat::FlatIndex::new(dim, crate::metric::Metric::L2).ok()?;
    f.reserve(centroids.len() / dim).ok()?;
    for (i, c) in centroids.chunks_exact(dim).enumerate() {
        f.add(i as u64, c).ok()?;
    }
    let res = f.search_batch(data, &SearchParams::k(1)).ok()?;
    Some(
        res.iter()
            .map(|r| r.first().map_or(0, |x| x.id as u32))
            .collect(),
    )
}

/// Train `k` centroids on `data` (`n * dim` floats). Returns `min(k, n)`
/// centroids, row-major.
pub fn kmeans(data: &[f32], dim: usize, k: usize, iters: usize, seed: u64) -> Result<Vec<f32>> {
    if dim == 0 || k == 0 {
        return Err(AnnError::InvalidParameter(
            "k-means needs dim > 0 and k > 0",
        ));
    }
    if !data.len().is_multiple_of(dim) {
        return Err(AnnError::DimensionMismatch {
            expected: dim,
            got: data.len() % dim,
        });
    }
    let n = data.len() / dim;
    if n == 0 {
        return Err(AnnError::InvalidParameter(
            "k-means needs a non-empty sample",
        ));
    }
    let k = k.min(n);
    let mut rng = Rng::new(seed);
    // Deterministic permutation prefix: used both to subsample and to pick
    // the initial centroids.
    let keep = n.min(k.saturating_mul(MAX_POINTS_PER_CENTROID));
    let mut perm: Vec<u32> = (0..n as u32).collect();
    for i in 0..keep {
        let j = i + rng.below(n - i);
        perm.swap(i, j);
    }
    let sample: Vec<f32> = if keep < n {
        let mut s = Vec::with_capacity(keep * dim);
        let mut idx: Vec<u32> = perm[..keep].to_vec();
        idx.sort_unstable();
        for &i in &idx {
            s.extend_from_slice(row(data, dim, i as usize));
        }
        s
    } else {
        data.to_vec()
    };
    let ns = sample.len() / dim;
    let mut cent = Vec::with_capacity(k * dim);
    // The first k entries of the permutation are distinct sample rows when
    // not subsampled; otherwise pick the first k subsample rows (already a
    // random subset).
    if keep < n {
        cent.extend_from_slice(&sample[..k * dim]);
    } else {
        for &i in &perm[..k] {
            cent.extend_from_slice(row(&sample, dim, i as usize));
        }
    }
    let mut sums = vec![0.0f64; k * dim];
    let mut counts = vec![0usize; k];
    for _ in 0..iters {
        let a = assign_all(&cent, dim, &sample);
        sums.iter_mut().for_each(|s| *s = 0.0);
        counts.iter_mut().for_each(|c| *c = 0);
        for (i, &c) in a.iter().enumerate() {
            let c = c as usize;
            counts[c] += 1;
            for (s, &x) in sums[c * dim..(c + 1) * dim]
                .iter_mut()
                .zip(row(&sample, dim, i))
            {
                *s += x as f64;
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                let inv = 1.0 / counts[c] as f64;
                for (o, s) in cent[c * dim..(c + 1) * dim]
                    .iter_mut()
                    .zip(&sums[c * dim..(c + 1) * dim])
                {
                    *o = (*s * inv) as f32;
                }
            }
        }
        // Split the largest cluster into each empty one.
        for c in 0..k {
            if counts[c] != 0 {
                continue;
            }
            let mut big = 0;
            for j in 0..k {
                if counts[j] > counts[big] {
                    big = j;
                }
            }
            if counts[big] < 2 {
                break;
            }
            const EPS: f32 = 1.0 / 1024.0;
            for d in 0..dim {
                let v = cent[big * dim + d];
                let (a, b) = if d % 2 == 0 {
                    (1.0 + EPS, 1.0 - EPS)
                } else {
                    (1.0 - EPS, 1.0 + EPS)
                };
                cent[c * dim + d] = v * a;
                cent[big * dim + d] = v * b;
            }
            counts[c] = counts[big] / 2;
            counts[big] -= counts[c];
        }
        let _ = ns;
    }
    Ok(cent)
}
