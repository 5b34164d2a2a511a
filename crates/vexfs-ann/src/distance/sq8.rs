//! SQ8 scalar quantisation: f32 -> u8 codes (and a symmetric i8 variant
//! for inner product), compared with exact integer kernels so that distance
//! ranking needs no FPU once vectors are encoded (kernel context).
//!
//! With [`Sq8Mode::Global`] every dimension shares one scale, so the integer
//! L2 between codes is exactly `scale^2` times the L2 between the decoded
//! vectors and ranking by the integer value is ranking by decoded distance.
//! [`Sq8Mode::PerDimension`] is more accurate per value but its integer L2
//! is a weighted approximation; use [`Sq8::l2sq_decoded`] to rank exactly.

use crate::error::{AnnError, Result};
use alloc::vec;
use alloc::vec::Vec;

/// How the quantisation range is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sq8Mode {
    /// One min / scale for all dimensions.
    Global,
    /// A min / scale per dimension.
    PerDimension,
}

/// A trained SQ8 quantiser.
#[derive(Debug, Clone, PartialEq)]
pub struct Sq8 {
    mode: Sq8Mode,
    dim: usize,
    min: Vec<f32>,
    scale: Vec<f32>,
}

impl Sq8 {
    /// Learn ranges from a row-major sample of `n * dim` floats.
    pub fn train(dim: usize, sample: &[f32], mode: Sq8Mode) -> Result<Self> {
        if dim == 0 {
            return Err(AnnError::InvalidParameter("dim must be > 0"));
        }
        let (min, scale) = train_ranges(dim, sample, mode)?;
        Ok(Self {
            mode,
            dim,
            min,
            scale,
        })
    }

    /// Mode this quantiser was trained with.
    pub fn mode(&self) -> Sq8Mode {
        self.mode
    }

    /// Encode `v` into `out` (both `dim` long); values outside the trained
    /// range saturate.
    pub fn encode(&self, v: &[f32], out: &mut [u8]) {
        encode(&self.min, &self.scale, v, out);
    }

    /// Decode `code` into `out`.
    pub fn decode(&self, code: &[u8], out: &mut [f32]) {
        for (((o, &c), &m), &s) in out.iter_mut().zip(code).zip(&self.min).zip(&self.scale) {
            *o = m + c as f32 * s;
        }
    }

    /// Integer squared L2 between two codes (no FPU).
    #[inline]
    pub fn l2sq_codes(&self, a: &[u8], b: &[u8]) -> u32 {
        super::kernels().l2sq_u8(a, b)
    }

    /// Squared L2 between the decoded vectors. Global mode: computed from
    /// the integer distance; per-dimension mode: weighted per dimension.
    pub fn l2sq_decoded(&self, a: &[u8], b: &[u8]) -> f32 {
        match self.mode {
            Sq8Mode::Global => {
                let s = self.scale.first().copied().unwrap_or(1.0);
                self.l2sq_codes(a, b) as f32 * s * s
            }
            Sq8Mode::PerDimension => {
                let mut acc = 0.0f32;
                for ((&x, &y), &s) in a.iter().zip(b).zip(&self.scale) {
                    let d = (x as f32 - y as f32) * s;
                    acc += d * d;
                }
                acc
            }
        }
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }
}

/// The range rule shared by [`Sq8`] and the SQ8 vector storage
/// (`crate::storage`), FAISS's `QT_8bit` rule: per dimension (or, in
/// [`Sq8Mode::Global`], over all dimensions) the minimum and
/// `step = (max - min) / 255` of the finite sample values. A dimension
/// with no finite value gets minimum 0; one whose range is zero, or whose
/// step would round to zero, gets step 1. Returns `(min, step)`.
pub(crate) fn train_ranges(
    dim: usize,
    sample: &[f32],
    mode: Sq8Mode,
) -> Result<(Vec<f32>, Vec<f32>)> {
    if dim == 0 || sample.is_empty() || !sample.len().is_multiple_of(dim) {
        return Err(AnnError::DimensionMismatch {
            expected: dim,
            got: sample.len() % dim.max(1),
        });
    }
    let mut lo = vec![f32::INFINITY; dim];
    let mut hi = vec![f32::NEG_INFINITY; dim];
    for row in sample.chunks_exact(dim) {
        for ((l, h), &x) in lo.iter_mut().zip(hi.iter_mut()).zip(row) {
            if x.is_finite() {
                *l = l.min(x);
                *h = h.max(x);
            }
        }
    }
    if mode == Sq8Mode::Global {
        let l = lo.iter().copied().fold(f32::INFINITY, f32::min);
        let h = hi.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        lo.iter_mut().for_each(|x| *x = l);
        hi.iter_mut().for_each(|x| *x = h);
    }
    let mut step = vec![1.0f32; dim];
    for ((l, h), s) in lo.iter_mut().zip(&mut hi).zip(&mut step) {
        if !l.is_finite() || !h.is_finite() {
            (*l, *h) = (0.0, 0.0);
        }
        let mut r = (*h - *l) / 255.0;
        if r.is_infinite() {
            // Finite ends more than f32::MAX apart.
            r = *h / 255.0 - *l / 255.0;
        }
        *s = if r > 0.0 && r.is_finite() { r } else { 1.0 };
    }
    Ok((lo, step))
}

/// Encode `v` with ranges `(min, step)` into `out`:
/// `round((x - min) / step)` clamped to 0..=255 (NaN to 0).
#[inline]
pub(crate) fn encode(min: &[f32], step: &[f32], v: &[f32], out: &mut [u8]) {
    for (((o, &x), &m), &s) in out.iter_mut().zip(v).zip(min).zip(step) {
        let q = libm::roundf((x - m) / s);
        *o = if q >= 255.0 {
            255
        } else if q > 0.0 {
            q as u8
        } else {
            0
        };
    }
}

/// Symmetric i8 quantisation for inner product: `round(x / absmax * 127)`.
/// `dot_i8` of two such codes is `dot * (127 / absmax)^2`, so ranking by the
/// integer dot product needs no FPU.
pub fn quantize_i8(v: &[f32], absmax: f32, out: &mut [i8]) {
    let f = if absmax > 0.0 { 127.0 / absmax } else { 0.0 };
    for (o, &x) in out.iter_mut().zip(v) {
        let q = libm::roundf(x * f);
        *o = if q.is_nan() {
            0
        } else {
            q.clamp(-127.0, 127.0) as i8
        };
    }
}
