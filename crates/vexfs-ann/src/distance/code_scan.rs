//! Scoring one query against many f16 or SQ8 vectors at once: consecutive
//! rows (Flat) or nodes of a record arena (HNSW neighbours).
//!
//! A per-vector kernel ends every vector with a horizontal sum, reloads
//! the query and goes through a function pointer; at 128 dimensions that
//! overhead and the single accumulator chain cost as much as the
//! arithmetic. The SIMD forms of these scans (`x86::avx2_code_rows`) keep
//! one accumulator per vector for a group of vectors, walk the query once
//! per group and reduce the group with one transpose-and-add tree, as the
//! f32 row and gather kernels do. This file holds what they are tested
//! against and what levels without them run: the per-vector kernels of
//! `distance::codes`, one vector at a time.

use super::codes;

/// A query prepared for one codec (see `storage::Codec::query`), in the
/// form the code kernels take.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CodeSpec<'a> {
    /// SQ8 codes (one byte a value); f16 (two bytes a value) otherwise.
    pub sq8: bool,
    /// Squared L2; otherwise `-(c0 + dot)`.
    pub l2: bool,
    /// f16: the query; SQ8 L2: `q - min`; SQ8 IP: `q * scale`.
    pub q: &'a [f32],
    /// SQ8 L2: the per-dimension step (empty otherwise).
    pub step: &'a [f32],
    /// Added to the dot product before it is negated (SQ8 IP:
    /// `sum q * min`; zero otherwise).
    pub c0: f32,
}

impl CodeSpec<'_> {
    /// Values per vector: the query length (and the step's, for SQ8 L2).
    #[inline(always)]
    pub fn dim(&self) -> usize {
        if self.sq8 && self.l2 {
            self.q.len().min(self.step.len())
        } else {
            self.q.len()
        }
    }

    /// Bytes of one stored vector.
    #[inline(always)]
    pub fn code_len(&self) -> usize {
        if self.sq8 {
            self.dim()
        } else {
            2 * self.dim()
        }
    }
}

/// One distance with the portable kernels (a short or absent `code`
/// scores over what it holds).
#[inline]
pub(crate) fn dist_one(s: &CodeSpec<'_>, code: &[u8]) -> f32 {
    let dim = s.dim();
    let q = &s.q[..dim];
    match (s.sq8, s.l2) {
        (false, true) => codes::f16_l2sq(q, code),
        (false, false) => -(s.c0 + codes::f16_dot(q, code)),
        (true, true) => codes::sq8_l2(q, &s.step[..dim], code),
        (true, false) => -(s.c0 + codes::sq8_dot(q, code)),
    }
}

/// Distances to consecutive `code_len`-byte rows of `rows` into `out`
/// (as many as both hold).
pub(crate) fn scalar_rows(s: &CodeSpec<'_>, rows: &[u8], out: &mut [f32]) {
    let len = s.code_len().max(1);
    for (o, r) in out.iter_mut().zip(rows.chunks_exact(len)) {
        *o = dist_one(s, r);
    }
}

/// The codes of node `id` in a record arena (`rec` words a node, codes
/// from word `off`), or an empty slice when out of range.
#[inline(always)]
pub(crate) fn arena_code(words: &[u32], rec: usize, off: usize, id: u32, len: usize) -> &[u8] {
    let at = (id as usize)
        .checked_mul(rec)
        .and_then(|s| s.checked_add(off))
        .and_then(|s| Some((s, s.checked_add(len.div_ceil(4))?)))
        .and_then(|(s, e)| words.get(s..e));
    match at {
        // SAFETY: u8 has alignment 1 and every byte of a u32 is a valid
        // u8; `len` bytes lie inside the `len.div_ceil(4)` words.
        Some(w) => unsafe { core::slice::from_raw_parts(w.as_ptr() as *const u8, len) },
        None => &[],
    }
}

/// Distances to the codes of nodes `ids` in a record arena into `out`.
pub(crate) fn scalar_gather(
    s: &CodeSpec<'_>,
    words: &[u32],
    rec: usize,
    off: usize,
    ids: &[u32],
    out: &mut [f32],
) {
    let len = s.code_len();
    for (o, &id) in out.iter_mut().zip(ids) {
        *o = dist_one(s, arena_code(words, rec, off, id, len));
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::distance::available;
    use crate::rng::Rng;
    use std::vec;
    use std::vec::Vec;

    /// Random codes: f16 halves of normal values, or any bytes for SQ8.
    fn codes_for(rng: &mut Rng, sq8: bool, n: usize, dim: usize) -> Vec<u8> {
        if sq8 {
            (0..n * dim).map(|_| rng.below(256) as u8).collect()
        } else {
            (0..n * dim)
                .flat_map(|_| codes::f32_to_f16(rng.normal() * 3.0).to_le_bytes())
                .collect()
        }
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() <= 1e-4 * (1.0 + a.abs().max(b.abs()))
    }

    /// Every table's row scan agrees with one portable call per row, for
    /// both codecs and metrics, on dimensions with and without tails and
    /// row counts that leave partial groups.
    #[test]
    fn rows_match_scalar() {
        let mut rng = Rng::new(11);
        for dim in [1usize, 3, 8, 13, 16, 50, 128, 131] {
            for sq8 in [false, true] {
                let n = 37;
                let rows = codes_for(&mut rng, sq8, n, dim);
                let q: Vec<f32> = (0..dim).map(|_| rng.normal() * 40.0).collect();
                let step: Vec<f32> = (0..dim).map(|_| 0.1 + rng.normal().abs()).collect();
                for l2 in [true, false] {
                    let s = CodeSpec {
                        sq8,
                        l2,
                        q: &q,
                        step: if sq8 && l2 { &step } else { &[] },
                        c0: if sq8 && !l2 { 2.5 } else { 0.0 },
                    };
                    let len = s.code_len();
                    for k in available() {
                        for take in [0usize, 1, 7, 8, 9, 16, 37] {
                            let mut out = vec![f32::NAN; take];
                            k.code_rows(&s, &rows, &mut out);
                            for (i, &o) in out.iter().enumerate() {
                                let e = dist_one(&s, &rows[i * len..(i + 1) * len]);
                                assert!(
                                    close(o, e),
                                    "{} rows sq8={sq8} l2={l2} dim {dim} row {i}: {o} vs {e}",
                                    k.name()
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// Every table's arena gather agrees with the portable distance, for
    /// group sizes that exercise the 8/4/1 paths, records of any word
    /// count and ids out of range.
    #[test]
    fn gather_matches_scalar() {
        let mut rng = Rng::new(12);
        for dim in [1usize, 5, 16, 17, 50, 128] {
            for sq8 in [false, true] {
                let len = if sq8 { dim } else { 2 * dim };
                let off = 33;
                let rec = off + len.div_ceil(4) + dim % 3;
                let nodes = 30;
                let words: Vec<u32> = (0..nodes * rec).map(|_| rng.next_u64() as u32).collect();
                let mut words = words;
                // Valid codes at each record's code words (f16 bytes
                // drawn at random can be NaN or infinity).
                for nd in 0..nodes {
                    let c = codes_for(&mut rng, sq8, 1, dim);
                    let at = nd * rec + off;
                    for (w, b) in words[at..].iter_mut().zip(c.chunks(4)) {
                        let mut x = [0u8; 4];
                        x[..b.len()].copy_from_slice(b);
                        *w = u32::from_ne_bytes(x);
                    }
                }
                let q: Vec<f32> = (0..dim).map(|_| rng.normal() * 4.0).collect();
                let step: Vec<f32> = (0..dim).map(|_| 0.01 + rng.normal().abs()).collect();
                for count in [0usize, 1, 3, 4, 7, 8, 13, 16, 29] {
                    let mut ids: Vec<u32> = (0..count).map(|_| rng.below(nodes) as u32).collect();
                    if count == 13 {
                        ids[5] = u32::MAX;
                    }
                    for l2 in [true, false] {
                        let s = CodeSpec {
                            sq8,
                            l2,
                            q: &q,
                            step: if sq8 && l2 { &step } else { &[] },
                            c0: if sq8 && !l2 { -1.5 } else { 0.0 },
                        };
                        for k in available() {
                            let mut out = vec![f32::NAN; count];
                            k.code_gather(&s, &words, rec, off, &ids, &mut out);
                            for (&o, &id) in out.iter().zip(&ids) {
                                let e = dist_one(&s, arena_code(&words, rec, off, id, len));
                                assert!(
                                    close(o, e),
                                    "{} gather sq8={sq8} l2={l2} dim {dim} count {count}: {o} vs {e}",
                                    k.name()
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
