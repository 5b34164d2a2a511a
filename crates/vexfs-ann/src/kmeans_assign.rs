//! Nearest-centroid assignment of many points with the 8 x 32 panel kernel
//! (k-means iterations, IVF list assignment of a batch).
//!
//! `argmin_c |x - c|^2 = argmin_c (|c|^2 - 2 x.c)`, so assignment is a
//! matrix product of points and centroids followed by a running minimum.
//! The centroids are packed once into 32-row element-major panels; every
//! group of 8 points multiplies against each panel with the register-
//! blocked kernel and keeps, per point, the smallest `|c|^2 - 2 x.c`. No
//! top-k structure and no per-point allocation: with PQ sub-spaces of
//! 2-8 dimensions the distance arithmetic is a few instructions and any
//! per-point bookkeeping would dominate.

use crate::common::row;
use crate::distance::{kernels, PANEL_QUERIES as PQ, PANEL_ROWS as PR};
use alloc::vec;
use alloc::vec::Vec;

/// Nearest centroid (by squared L2) of every row of `data`, or `None` when
/// the kernel level has no panel kernel. Rows run in parallel where
/// allowed; each row's answer does not depend on the thread count.
pub(crate) fn assign_panels(centroids: &[f32], dim: usize, data: &[f32]) -> Option<Vec<u32>> {
    let kern = kernels();
    if !kern.has_panel() || dim == 0 {
        return None;
    }
    let k = centroids.len() / dim;
    if k == 0 {
        return None;
    }
    let panels = k.div_ceil(PR);
    let mut packed = vec![0f32; panels * PR * dim];
    // Padding columns get +inf so they never win.
    let mut cn = vec![f32::INFINITY; panels * PR];
    for (c, (x, n)) in centroids.chunks_exact(dim).zip(cn.iter_mut()).enumerate() {
        let (p, j) = (c / PR, c % PR);
        for (kk, &v) in x.iter().enumerate() {
            packed[p * PR * dim + kk * PR + j] = v;
        }
        *n = kern.dot(x, x);
    }
    let per = |chunk: &[f32]| assign_chunk(&packed, &cn, dim, chunk);
    let out = crate::parallel::map_chunks(data, dim, 64, &per);
    // `None` from a chunk means a length check failed: fall back.
    (out.len() == data.len() / dim).then_some(out)
}

/// Assignment of the rows of `chunk` against the packed panels.
fn assign_chunk(packed: &[f32], cn: &[f32], dim: usize, chunk: &[f32]) -> Vec<u32> {
    let kern = kernels();
    let n = chunk.len() / dim;
    let panels = cn.len() / PR;
    let mut res = Vec::with_capacity(n);
    let mut out = [0f32; PR * PQ];
    let mut i = 0;
    while i < n {
        let g = (n - i).min(PQ);
        // A short last group repeats its last row (results ignored).
        let q = |j: usize| row(chunk, dim, i + j.min(g - 1));
        let qv = [q(0), q(1), q(2), q(3), q(4), q(5), q(6), q(7)];
        let mut best = [f32::INFINITY; PQ];
        let mut arg = [0u32; PQ];
        let mut ds = [0f32; PR];
        for p in 0..panels {
            let pan = &packed[p * PR * dim..(p + 1) * PR * dim];
            if !kern.panel_dots(qv, pan, dim, &mut out) {
                return Vec::new();
            }
            let norms = &cn[p * PR..(p + 1) * PR];
            for j in 0..g {
                let dots = &out[j * PR..(j + 1) * PR];
                // Branch-free pass (vectorises: sub, compare, or), then the
                // rare scan when some column beats the best so far. A
                // running minimum would be a serial chain of `minss`.
                let bj = best[j];
                let mut any = false;
                for ((d, &dt), &c) in ds.iter_mut().zip(dots).zip(norms) {
                    *d = c - 2.0 * dt;
                    any |= *d < bj;
                }
                if any {
                    for (r, &d) in ds.iter().enumerate() {
                        if d < best[j] {
                            best[j] = d;
                            arg[j] = (p * PR + r) as u32;
                        }
                    }
                }
            }
        }
        res.extend_from_slice(&arg[..g]);
        i += g;
    }
    res
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The panel assignment picks a centroid whose exact distance equals
    /// the true minimum (up to rounding), for dimensions that exercise
    /// the kernel tails and centroid counts that leave padding columns.
    #[test]
    fn matches_exhaustive_nearest() {
        let mut rng = Rng::new(21);
        for dim in [1usize, 2, 4, 7, 16, 50, 129] {
            for k in [1usize, 5, 32, 33, 100] {
                let cent: Vec<f32> = (0..k * dim).map(|_| rng.normal()).collect();
                let n = 77;
                let data: Vec<f32> = (0..n * dim).map(|_| rng.normal()).collect();
                let Some(a) = assign_panels(&cent, dim, &data) else {
                    return; // no panel kernel at this level
                };
                assert_eq!(a.len(), n);
                for (i, &c) in a.iter().enumerate() {
                    let x = row(&data, dim, i);
                    let got = crate::distance::SCALAR.l2sq(x, row(&cent, dim, c as usize));
                    let best = (0..k)
                        .map(|j| crate::distance::SCALAR.l2sq(x, row(&cent, dim, j)))
                        .fold(f32::INFINITY, f32::min);
                    assert!(
                        got <= best + 1e-4 * (1.0 + best),
                        "dim {dim} k {k} row {i}: {got} vs {best}"
                    );
                }
            }
        }
    }
}
