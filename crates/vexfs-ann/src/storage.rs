//! How Flat and HNSW keep their vectors: exact f32 (the default), IEEE
//! half floats, or 8-bit scalar-quantised codes.
//!
//! SQ8 follows FAISS's `ScalarQuantizer` with `QT_8bit`: a minimum and a
//! range per dimension, learned from training data, code
//! `round((x - min) / scale)` with `scale = range / 255`, and values outside
//! the trained range clamped to 0 or 255. Distances are asymmetric: the
//! query stays f32 and is compared with the stored codes directly, never
//! with a decoded copy, in one of two forms:
//!
//! - float (std builds, every SIMD level): L2 is
//!   `sum ((q - min) - scale * code)^2` (one fused multiply-add a value to
//!   get the difference); inner product is
//!   `sum q * min + sum (q * scale) * code`, the first term a per-query
//!   constant.
//! - integer (builds without `std`, i.e. the kernel module, where floats
//!   are soft-float and about 9x slower): the same sums in fixed point,
//!   `sum scale^2 * (q' - code)^2` with the query in code units
//!   `q' = (q - min) / scale` at 1/16 unit and the weights at 16 bits,
//!   accumulated
//!   in u64 / i64. Only the per-query preparation (O(dim)) and one
//!   conversion per scored vector touch floats; the O(dim) inner loop is
//!   integer multiply-adds.
//!
//! f16 values are converted with integer bit operations (no FPU) when
//! encoding and by F16C / AVX-512F when scoring.

use crate::distance::{code_scan, codes, kernels, sq8, CodeSpec, Kernels};
use crate::error::{AnnError, Result};
use crate::metric::Metric;
use crate::persist::{Reader, Writer};
use alloc::vec::Vec;

/// Vector storage of an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Storage {
    /// Exact 32-bit floats (4 bytes a value).
    #[default]
    F32 = 0,
    /// IEEE 754 half precision (2 bytes a value).
    F16 = 1,
    /// 8-bit scalar quantisation, per-dimension range (1 byte a value);
    /// needs training.
    Sq8 = 2,
}

impl Storage {
    /// Decode the stored tag.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Sq8,
            _ => return None,
        })
    }

    /// Parse `f32`, `f16` or `sq8` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("f32") {
            Some(Self::F32)
        } else if s.eq_ignore_ascii_case("f16") || s.eq_ignore_ascii_case("fp16") {
            Some(Self::F16)
        } else if s.eq_ignore_ascii_case("sq8") {
            Some(Self::Sq8)
        } else {
            None
        }
    }

    /// Name as [`Storage::parse`] accepts it.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::Sq8 => "sq8",
        }
    }

    /// Bytes one stored vector of `dim` values takes.
    pub fn code_len(self, dim: usize) -> usize {
        match self {
            Self::F32 => 4 * dim,
            Self::F16 => 2 * dim,
            Self::Sq8 => dim,
        }
    }
}

/// Fixed-point query scale of the integer SQ8 L2 path (code units * 16).
const Q_FRAC: f32 = 16.0;
/// Clamp of the fixed-point query: 256 code units below 0 and above 255
/// (queries further out of the trained range all score as that far).
const Q_MIN: i32 = -4096;
const Q_MAX: i32 = 8192;
/// Largest integer weight.
const W_MAX: f32 = 65535.0;

/// A query prepared for one codec.
pub(crate) struct CodeQuery {
    l2: bool,
    /// f16: the query; SQ8 L2: `q - min`; SQ8 IP: `q * scale`.
    f: Vec<f32>,
    /// Integer SQ8 path: fixed-point `q'` or `q * scale`.
    i: Vec<i32>,
    /// SQ8 IP: `sum q * min`.
    c0: f32,
    /// Integer SQ8 path: factor from the integer sum to the distance.
    inv: f32,
}

/// Encoder and distance for f16 or SQ8 storage (f32 storage needs none).
#[derive(Clone)]
pub(crate) struct Codec {
    storage: Storage,
    dim: usize,
    /// SQ8: per-dimension minimum and step (empty until trained).
    min: Vec<f32>,
    scale: Vec<f32>,
    /// SQ8: `scale^2` as 16-bit integers in units of `wmax / 65535`
    /// (`wmax` the largest `scale^2`).
    wint: Vec<u32>,
    wmax: f32,
    /// Integer-only SQ8 distances (builds without std).
    integer: bool,
    kern: &'static Kernels,
}

impl core::fmt::Debug for Codec {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Codec")
            .field("storage", &self.storage)
            .field("dim", &self.dim)
            .field("trained", &self.is_trained())
            .finish()
    }
}

impl Codec {
    /// A codec for `storage` (F16 or Sq8); `None` for F32.
    pub fn new(storage: Storage, dim: usize) -> Option<Self> {
        if storage == Storage::F32 {
            return None;
        }
        Some(Self {
            storage,
            dim,
            min: Vec::new(),
            scale: Vec::new(),
            wint: Vec::new(),
            wmax: 0.0,
            integer: !cfg!(feature = "std"),
            kern: kernels(),
        })
    }

    pub fn storage(&self) -> Storage {
        self.storage
    }

    pub fn code_len(&self) -> usize {
        self.storage.code_len(self.dim)
    }

    pub fn is_trained(&self) -> bool {
        self.storage == Storage::F16 || self.min.len() == self.dim
    }

    /// Use the integer-only SQ8 distances (the default without std).
    #[cfg(test)]
    pub fn set_integer(&mut self, on: bool) {
        self.integer = on;
    }

    /// Learn the SQ8 ranges from a row-major sample (f16 needs nothing),
    /// with the rule of [`crate::distance::sq8`] (per dimension).
    pub fn train(&mut self, sample: &[f32]) -> Result<()> {
        if self.storage != Storage::Sq8 {
            return Ok(());
        }
        let (lo, scale) = sq8::train_ranges(self.dim, sample, sq8::Sq8Mode::PerDimension)?;
        self.set_ranges(lo, scale)
    }

    fn set_ranges(&mut self, min: Vec<f32>, scale: Vec<f32>) -> Result<()> {
        if min.len() != self.dim
            || scale.len() != self.dim
            || min.iter().any(|x| !x.is_finite())
            || scale.iter().any(|&s| !(s.is_finite() && s > 0.0))
        {
            return Err(AnnError::Corrupt("sq8: bad quantiser ranges"));
        }
        self.wmax = scale.iter().map(|s| s * s).fold(0.0, f32::max);
        let f = if self.wmax > 0.0 {
            W_MAX / self.wmax
        } else {
            0.0
        };
        self.wint = scale
            .iter()
            .map(|&s| libm::roundf(s * s * f).clamp(0.0, W_MAX) as u32)
            .collect();
        self.min = min;
        self.scale = scale;
        Ok(())
    }

    /// Encode a (prepared) vector into `out` (`code_len` bytes).
    pub fn encode(&self, v: &[f32], out: &mut [u8]) -> Result<()> {
        match self.storage {
            Storage::F16 => {
                for (o, &x) in out.chunks_exact_mut(2).zip(v) {
                    o.copy_from_slice(&codes::f32_to_f16(x).to_le_bytes());
                }
            }
            _ => {
                if !self.is_trained() {
                    return Err(AnnError::NotTrained);
                }
                sq8::encode(&self.min, &self.scale, v, out);
            }
        }
        Ok(())
    }

    /// Decode a stored vector into `out` (`dim` values).
    pub fn decode(&self, code: &[u8], out: &mut [f32]) {
        match self.storage {
            Storage::F16 => {
                for (o, c) in out.iter_mut().zip(code.chunks_exact(2)) {
                    *o = codes::f16_to_f32(u16::from_le_bytes([c[0], c[1]]));
                }
            }
            _ => {
                for (((o, &c), &m), &s) in out.iter_mut().zip(code).zip(&self.min).zip(&self.scale)
                {
                    *o = m + c as f32 * s;
                }
            }
        }
    }

    /// Prepare a (prepared, `dim`-long) query for `metric`.
    pub fn query(&self, q: &[f32], metric: Metric) -> CodeQuery {
        let l2 = metric == Metric::L2;
        let mut cq = CodeQuery {
            l2,
            f: Vec::new(),
            i: Vec::new(),
            c0: 0.0,
            inv: 0.0,
        };
        if self.storage == Storage::F16 {
            cq.f = q.to_vec();
            return cq;
        }
        if l2 {
            cq.f = q.iter().zip(&self.min).map(|(&x, &m)| x - m).collect();
            if self.integer {
                cq.i =
                    cq.f.iter()
                        .zip(&self.scale)
                        .map(|(&x, &s)| {
                            let v = libm::roundf(x / s * Q_FRAC);
                            if v.is_nan() {
                                0
                            } else {
                                v.clamp(Q_MIN as f32, Q_MAX as f32) as i32
                            }
                        })
                        .collect();
                cq.inv = if self.wmax > 0.0 {
                    self.wmax / W_MAX / (Q_FRAC * Q_FRAC)
                } else {
                    0.0
                };
            }
        } else {
            cq.c0 = q.iter().zip(&self.min).map(|(x, m)| x * m).sum();
            cq.f = q.iter().zip(&self.scale).map(|(x, s)| x * s).collect();
            if self.integer {
                let amax = cq.f.iter().fold(0.0f32, |a, x| a.max(x.abs()));
                let f = if amax > 0.0 { 32767.0 / amax } else { 0.0 };
                cq.i =
                    cq.f.iter()
                        .map(|&x| libm::roundf(x * f).clamp(-32767.0, 32767.0) as i32)
                        .collect();
                cq.inv = if f > 0.0 { 1.0 / f } else { 0.0 };
            }
        }
        cq
    }

    /// Distance (squared L2, or `-dot` for inner product and cosine) from
    /// a prepared query to one stored vector.
    #[inline(always)]
    pub fn dist(&self, q: &CodeQuery, code: &[u8]) -> f32 {
        match (self.storage, q.l2, self.integer) {
            (Storage::F16, true, _) => self.kern.f16_l2sq(&q.f, code),
            (Storage::F16, false, _) => -self.kern.f16_dot(&q.f, code),
            (_, true, false) => self.kern.sq8_l2(&q.f, &self.scale, code),
            (_, false, false) => -(q.c0 + self.kern.sq8_dot(&q.f, code)),
            (_, true, true) => codes::sq8_l2_int(&q.i, &self.wint, code) as f32 * q.inv,
            (_, false, true) => -(q.c0 + codes::sq8_dot_int(&q.i, code) as f32 * q.inv),
        }
    }

    /// The float form of a prepared query for the grouped code kernels;
    /// `None` on the integer path.
    #[inline(always)]
    fn spec<'a>(&'a self, q: &'a CodeQuery) -> Option<CodeSpec<'a>> {
        if self.integer && self.storage == Storage::Sq8 {
            return None;
        }
        let sq8 = self.storage == Storage::Sq8;
        Some(CodeSpec {
            sq8,
            l2: q.l2,
            q: &q.f,
            step: if sq8 && q.l2 { &self.scale } else { &[] },
            c0: q.c0,
        })
    }

    /// Distances from a prepared query to consecutive stored vectors
    /// (`code_len` bytes each) into `out`, as many as both hold.
    pub fn dist_rows(&self, q: &CodeQuery, rows: &[u8], out: &mut [f32]) {
        match self.spec(q) {
            Some(s) => self.kern.code_rows(&s, rows, out),
            None => {
                for (o, r) in out
                    .iter_mut()
                    .zip(rows.chunks_exact(self.code_len().max(1)))
                {
                    *o = self.dist(q, r);
                }
            }
        }
    }

    /// Distances from a prepared query to the codes of nodes `ids` in a
    /// record arena (`rec` words a node, codes from word `off`).
    pub fn dist_gather(
        &self,
        q: &CodeQuery,
        words: &[u32],
        rec: usize,
        off: usize,
        ids: &[u32],
        out: &mut [f32],
    ) {
        match self.spec(q) {
            Some(s) => self.kern.code_gather(&s, words, rec, off, ids, out),
            None => {
                let len = self.code_len();
                for (o, &id) in out.iter_mut().zip(ids) {
                    *o = self.dist(q, code_scan::arena_code(words, rec, off, id, len));
                }
            }
        }
    }

    /// Heap bytes of the quantiser.
    pub fn memory_bytes(&self) -> usize {
        (self.min.capacity() + self.scale.capacity() + self.wint.capacity()) * 4
    }

    /// Persist the storage tag and, for SQ8, the ranges.
    pub fn write(codec: Option<&Self>, w: &mut Writer) {
        match codec {
            None => w.u32(Storage::F32 as u32),
            Some(c) => {
                w.u32(c.storage as u32);
                if c.storage == Storage::Sq8 {
                    w.f32s(&c.min);
                    w.f32s(&c.scale);
                }
            }
        }
    }

    /// Read what [`Codec::write`] wrote. An SQ8 codec may be untrained
    /// (empty ranges) only when `trained_needed` is false.
    pub fn read(r: &mut Reader<'_>, dim: usize, trained_needed: bool) -> Result<Option<Self>> {
        let tag = r.u32()?;
        let storage = u8::try_from(tag)
            .ok()
            .and_then(Storage::from_u8)
            .ok_or(AnnError::Corrupt("unknown vector storage"))?;
        let Some(mut c) = Self::new(storage, dim) else {
            return Ok(None);
        };
        if storage == Storage::Sq8 {
            let min = r.f32s()?;
            let scale = r.f32s()?;
            if min.is_empty() && scale.is_empty() && !trained_needed {
                return Ok(Some(c));
            }
            c.set_ranges(min, scale)?;
        }
        Ok(Some(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use alloc::vec;

    fn data(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        // Different spreads per dimension, so per-dimension ranges matter.
        (0..n * dim)
            .map(|i| rng.normal() * (1.0 + (i % dim) as f32 * 0.3) + (i % 3) as f32)
            .collect()
    }

    /// Codes clamp outside the trained range and decode within half a
    /// step inside it.
    #[test]
    fn sq8_encode_decode_and_clamp() {
        let dim = 5;
        let train = data(200, dim, 1);
        let mut c = Codec::new(Storage::Sq8, dim).unwrap();
        assert!(!c.is_trained());
        let mut code = vec![0u8; dim];
        assert_eq!(
            c.encode(&train[..dim], &mut code),
            Err(AnnError::NotTrained)
        );
        c.train(&train).unwrap();
        let mut back = vec![0f32; dim];
        for row in train.chunks_exact(dim) {
            c.encode(row, &mut code).unwrap();
            c.decode(&code, &mut back);
            for ((x, y), s) in row.iter().zip(&back).zip(&c.scale) {
                assert!((x - y).abs() <= 0.5 * s + 1e-5, "{x} vs {y}");
            }
        }
        let far = [1e9f32, -1e9, f32::NAN, 1e9, -1e9];
        c.encode(&far, &mut code).unwrap();
        assert_eq!(code, [255, 0, 0, 255, 0]);
    }

    /// The float and the integer SQ8 distances agree with the distance to
    /// the decoded vector, for L2 and inner product.
    #[test]
    fn sq8_float_and_integer_distances_match_decoded() {
        let dim = 37;
        let base = data(300, dim, 2);
        let mut c = Codec::new(Storage::Sq8, dim).unwrap();
        c.train(&base).unwrap();
        let q = data(1, dim, 3);
        let mut code = vec![0u8; dim];
        let mut dec = vec![0f32; dim];
        for integer in [false, true] {
            c.set_integer(integer);
            for metric in [Metric::L2, Metric::InnerProduct] {
                let cq = c.query(&q, metric);
                for row in base.chunks_exact(dim).take(50) {
                    c.encode(row, &mut code).unwrap();
                    c.decode(&code, &mut dec);
                    let want = if metric == Metric::L2 {
                        crate::distance::scalar::l2sq(&q, &dec)
                    } else {
                        -crate::distance::scalar::dot(&q, &dec)
                    };
                    let got = c.dist(&cq, &code);
                    let tol = if integer { 2e-3 } else { 1e-4 };
                    let scale = 1.0 + want.abs().max(crate::distance::scalar::dot(&q, &q));
                    assert!(
                        (got - want).abs() <= tol * scale,
                        "integer={integer} {metric:?}: {got} vs {want}"
                    );
                }
            }
        }
    }

    /// f16 storage decodes to the nearest half and scores like it.
    #[test]
    fn f16_distances_match_decoded() {
        let dim = 19;
        let base = data(40, dim, 4);
        let c = Codec::new(Storage::F16, dim).unwrap();
        let q = data(1, dim, 5);
        let mut code = vec![0u8; 2 * dim];
        let mut dec = vec![0f32; dim];
        for row in base.chunks_exact(dim) {
            c.encode(row, &mut code).unwrap();
            c.decode(&code, &mut dec);
            for (x, y) in row.iter().zip(&dec) {
                assert!((x - y).abs() <= x.abs() * 1e-3 + 1e-4);
            }
            let cq = c.query(&q, Metric::L2);
            let want = crate::distance::scalar::l2sq(&q, &dec);
            assert!((c.dist(&cq, &code) - want).abs() <= 1e-4 * (1.0 + want));
        }
    }
}
