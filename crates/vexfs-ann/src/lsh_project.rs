//! Sign codes of many vectors at once (LSH builds): the projections of a
//! batch on every hyperplane are a matrix product, done with the 8 x 32
//! panel kernel as FAISS does with a GEMM.
//!
//! One vector at a time, each vector streams all `tables * bits`
//! hyperplanes from L2 (256 KiB at 128 dimensions and 512 bits) for one
//! use; a panel of 32 hyperplanes packed once serves 8 vectors from
//! registers, so the build is bound by arithmetic instead of loads.
//! Projections equal the one-vector ones up to float rounding, so a code
//! bit can differ only where a projection is within rounding of zero.

use crate::common::row;
use crate::distance::{kernels, PANEL_QUERIES as PQ, PANEL_ROWS as PR};
use alloc::vec;
use alloc::vec::Vec;

/// Hyperplanes packed into 32-row element-major panels.
pub(crate) struct PackedPlanes {
    dim: usize,
    planes: usize,
    packed: Vec<f32>,
}

impl PackedPlanes {
    /// Packs `planes` (row-major, `dim` wide), or `None` when the kernel
    /// level has no panel kernel.
    pub(crate) fn new(planes: &[f32], dim: usize) -> Option<Self> {
        if !kernels().has_panel() || dim == 0 {
            return None;
        }
        let np = planes.len() / dim;
        let panels = np.div_ceil(PR);
        let mut packed = Vec::new();
        packed.try_reserve_exact(panels * PR * dim).ok()?;
        packed.resize(panels * PR * dim, 0.0);
        for (r, x) in planes.chunks_exact(dim).enumerate() {
            let (p, j) = (r / PR, r % PR);
            for (k, &v) in x.iter().enumerate() {
                packed[p * PR * dim + k * PR + j] = v;
            }
        }
        Some(Self {
            dim,
            planes: np,
            packed,
        })
    }

    /// Sign codes of the rows of `rows` minus `center` as `bits`-bit keys,
    /// `planes / bits` per row, row after row; `None` if a length check in
    /// the kernel failed (the caller then hashes row by row).
    pub(crate) fn keys(&self, rows: &[f32], center: &[f32], bits: usize) -> Option<Vec<u64>> {
        let dim = self.dim;
        let n = rows.len() / dim;
        let tables = self.planes / bits.max(1);
        let panels = self.planes.div_ceil(PR);
        let mut keys = Vec::new();
        keys.try_reserve_exact(n * tables).ok()?;
        let mut out = [0f32; PR * PQ];
        let mut proj = vec![0f32; panels * PR * PQ];
        // The group's rows, centred here rather than in a copy of the
        // whole batch (which would cost a page fault per 4 KiB).
        let mut cen = vec![0f32; PQ * dim];
        let mut i = 0;
        while i < n {
            let g = (n - i).min(PQ);
            for (j, c) in cen.chunks_exact_mut(dim).enumerate() {
                // A short last group repeats its last row (results ignored).
                let r = row(rows, dim, i + j.min(g - 1));
                for ((o, &x), &m) in c.iter_mut().zip(r).zip(center) {
                    *o = x - m;
                }
            }
            let q = |j: usize| row(&cen, dim, j);
            let qv = [q(0), q(1), q(2), q(3), q(4), q(5), q(6), q(7)];
            for p in 0..panels {
                let pan = &self.packed[p * PR * dim..(p + 1) * PR * dim];
                if !kernels().panel_dots(qv, pan, dim, &mut out) {
                    return None;
                }
                for j in 0..g {
                    let dst = &mut proj[j * panels * PR + p * PR..][..PR];
                    dst.copy_from_slice(&out[j * PR..(j + 1) * PR]);
                }
            }
            for j in 0..g {
                let pj = &proj[j * panels * PR..][..self.planes];
                keys.extend(pj.chunks_exact(bits).map(sign_key));
            }
            i += g;
        }
        Some(keys)
    }
}

/// Bit `b` set when projection `b` is non-negative.
pub(crate) fn sign_key(proj: &[f32]) -> u64 {
    proj.iter()
        .enumerate()
        .fold(0u64, |k, (b, &p)| if p >= 0.0 { k | (1 << b) } else { k })
}

/// Keys of every row of `rows` minus `center`, in parallel chunks where
/// allowed; `None` without a panel kernel.
pub(crate) fn batch_keys(
    planes: &[f32],
    center: &[f32],
    bits: usize,
    rows: &[f32],
) -> Option<Vec<u64>> {
    let dim = center.len();
    let packed = PackedPlanes::new(planes, dim)?;
    let n = rows.len() / dim;
    let per = |chunk: &[f32]| packed.keys(chunk, center, bits).unwrap_or_default();
    let keys = crate::parallel::map_chunks(rows, dim, 256, &per);
    // An empty chunk result means a length check failed: fall back.
    (keys.len() == n * (planes.len() / dim / bits)).then_some(keys)
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Batch keys equal the keys of exact (f64) projections, except for
    /// bits whose projection is within rounding of zero; dimensions and
    /// row counts exercise the kernel tails and the short last group.
    #[test]
    fn batch_keys_match_exact_projections() {
        let mut rng = Rng::new(5);
        for (dim, bits, tables) in [
            (1usize, 8usize, 3usize),
            (7, 64, 2),
            (50, 12, 5),
            (128, 64, 8),
        ] {
            let planes: Vec<f32> = (0..dim * bits * tables).map(|_| rng.normal()).collect();
            for n in [1usize, 8, 13, 300] {
                let rows: Vec<f32> = (0..n * dim).map(|_| rng.normal()).collect();
                let center: Vec<f32> = (0..dim).map(|_| rng.normal() * 0.1).collect();
                let Some(keys) = batch_keys(&planes, &center, bits, &rows) else {
                    return; // no panel kernel at this level
                };
                assert_eq!(keys.len(), n * tables);
                for i in 0..n {
                    let x: Vec<f32> = row(&rows, dim, i)
                        .iter()
                        .zip(&center)
                        .map(|(a, m)| a - m)
                        .collect();
                    for t in 0..tables {
                        for b in 0..bits {
                            let p = row(&planes, dim, t * bits + b);
                            let dot: f64 =
                                x.iter().zip(p).map(|(a, c)| *a as f64 * *c as f64).sum();
                            let scale: f64 = x
                                .iter()
                                .zip(p)
                                .map(|(a, c)| (*a as f64 * *c as f64).abs())
                                .sum();
                            let got = keys[i * tables + t] >> b & 1 == 1;
                            if dot.abs() > 1e-5 * scale {
                                assert_eq!(got, dot >= 0.0, "dim {dim} n {n} row {i} bit {t}/{b}");
                            }
                        }
                    }
                }
            }
        }
    }
}
