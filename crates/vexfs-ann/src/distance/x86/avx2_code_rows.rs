//! AVX2 + FMA + F16C scans of one query against many f16 or SQ8 vectors
//! (see `distance::code_scan`): consecutive rows (`rows`) or graph nodes
//! in a record arena (`gather`), eight vectors per group.
//!
//! Eight accumulators stay in registers while the query is walked once
//! per group, one 8-value column at a time: the column of every vector is
//! widened (f16 by `vcvtph2ps`, SQ8 bytes by `vpmovzxbd` + `vcvtdq2ps`)
//! and folded in with one or two fused operations, and the eight sums end
//! in one register after one transpose-and-add tree (`avx2_rows::sum8`).
//! Against one call per vector this removes the horizontal sum, the
//! query reloads and the call per vector, and gives the FMA units eight
//! independent chains instead of two.
//!
//! The same kernels serve the AVX-512 table: on CPUs that split 512-bit
//! operations in two (AMD Zen 4), a 512-bit `vcvtph2ps` does no more work
//! a cycle than two 256-bit ones.
//!
//! Callers must have detected `avx2`, `fma` and `f16c`.

use super::super::code_scan::{arena_code, dist_one, CodeSpec};
use super::avx2_rows::{sum8, tail_mask};
use core::arch::x86_64::*;

/// Vectors scored per group (one accumulator register each).
const GROUP: usize = 8;

/// Eight values of a vector from value index `k` (`p` its first byte).
///
/// Callers guarantee 8 (SQ8) or 16 (f16) readable bytes there and the
/// features.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load8<const SQ8: bool>(p: *const u8, k: usize) -> __m256 {
    // SAFETY: the caller vouches for the bytes read.
    unsafe {
        if SQ8 {
            _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(
                p.add(k) as *const __m128i
            )))
        } else {
            _mm256_cvtph_ps(_mm_loadu_si128(p.add(2 * k) as *const __m128i))
        }
    }
}

/// The last `rem` (< 8) values of a vector from value index `k`, zero in
/// the other lanes, through a bounce buffer (no read past the vector).
///
/// Callers guarantee `rem` values readable at `k` and the features.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load_tail<const SQ8: bool>(p: *const u8, k: usize, rem: usize) -> __m256 {
    let mut b = [0u8; 16];
    let (at, bytes) = if SQ8 { (k, rem) } else { (2 * k, 2 * rem) };
    // SAFETY: the caller vouches for `bytes` bytes at `at` (at most 14, so
    // they fit `b`); `b` is a 16-byte local, read whole by `load8`.
    unsafe {
        core::ptr::copy_nonoverlapping(p.add(at), b.as_mut_ptr(), bytes.min(16));
        load8::<SQ8>(b.as_ptr(), 0)
    }
}

/// One column step for one vector: `acc + (q - s * x)^2` (SQ8 L2),
/// `acc + (q - x)^2` (f16 L2) or `acc + q * x`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn step<const SQ8: bool, const L2: bool>(acc: __m256, q: __m256, s: __m256, x: __m256) -> __m256 {
    if L2 {
        let d = if SQ8 {
            _mm256_fnmadd_ps(s, x, q)
        } else {
            _mm256_sub_ps(q, x)
        };
        _mm256_fmadd_ps(d, d, acc)
    } else {
        _mm256_fmadd_ps(q, x, acc)
    }
}

/// Distances from the query of `s` to the `N` (1, 4 or 8) vectors whose
/// codes start at `ptrs[..N]`, in lanes `0..N` (squared L2, or
/// `-(c0 + dot)`).
///
/// Callers guarantee `s.code_len()` readable bytes at each pointer, that
/// `s.sq8 == SQ8 && s.l2 == L2`, and the features.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn score_group<const N: usize, const SQ8: bool, const L2: bool>(
    s: &CodeSpec<'_>,
    ptrs: &[*const u8; GROUP],
) -> __m256 {
    let dim = s.dim();
    let qp = s.q.as_ptr();
    // The step is read only for SQ8 L2, where `dim` bounds it too.
    let sp = s.step.as_ptr();
    let mut acc = [_mm256_setzero_ps(); GROUP];
    let mut k = 0;
    // SAFETY: full loads read values [k, k + 8) with k + 8 <= dim of the
    // query, the step (SQ8 L2) and each vector; the tail loads are masked
    // (query, step) or bounced (codes) below dim.
    unsafe {
        while k + 8 <= dim {
            let qv = _mm256_loadu_ps(qp.add(k));
            let s8 = if SQ8 && L2 {
                _mm256_loadu_ps(sp.add(k))
            } else {
                _mm256_setzero_ps()
            };
            for (a, &p) in acc.iter_mut().zip(ptrs).take(N) {
                *a = step::<SQ8, L2>(*a, qv, s8, load8::<SQ8>(p, k));
            }
            k += 8;
        }
        if k < dim {
            let m = tail_mask(dim - k);
            let qv = _mm256_maskload_ps(qp.add(k), m);
            let s8 = if SQ8 && L2 {
                _mm256_maskload_ps(sp.add(k), m)
            } else {
                _mm256_setzero_ps()
            };
            for (a, &p) in acc.iter_mut().zip(ptrs).take(N) {
                *a = step::<SQ8, L2>(*a, qv, s8, load_tail::<SQ8>(p, k, dim - k));
            }
        }
    }
    let sums = sum8(&acc);
    if L2 {
        sums
    } else {
        _mm256_sub_ps(_mm256_set1_ps(-s.c0), sums)
    }
}

/// Distances from the query of `s` to consecutive `s.code_len()`-byte
/// rows of `rows` into `out` (as many as both hold).
///
/// Callers guarantee `avx2`, `fma` and `f16c`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn rows(s: &CodeSpec<'_>, rows: &[u8], out: &mut [f32]) {
    // SAFETY: same features; `rows_impl` bounds every read by `rows`.
    unsafe {
        match (s.sq8, s.l2) {
            (false, true) => rows_impl::<false, true>(s, rows, out),
            (false, false) => rows_impl::<false, false>(s, rows, out),
            (true, true) => rows_impl::<true, true>(s, rows, out),
            (true, false) => rows_impl::<true, false>(s, rows, out),
        }
    }
}

/// [`rows`] for one codec and metric.
///
/// Callers guarantee the features and `s.sq8 == SQ8 && s.l2 == L2`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn rows_impl<const SQ8: bool, const L2: bool>(
    s: &CodeSpec<'_>,
    rows: &[u8],
    out: &mut [f32],
) {
    let len = s.code_len();
    if len == 0 {
        return;
    }
    let n = out.len().min(rows.len() / len);
    let groups = n / GROUP;
    // Two groups ahead, as in the f32 row kernel: the hardware streamer
    // does not follow eight rows read column by column.
    let ahead = 2;
    let base = rows.as_ptr();
    for g in 0..groups {
        if g + ahead < groups {
            let p = base.wrapping_add((g + ahead) * GROUP * len) as *const i8;
            let mut off = 0;
            while off < GROUP * len {
                // A prefetch is only a hint and cannot fault.
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off));
                off += 64;
            }
        }
        let ptrs: [*const u8; GROUP] =
            core::array::from_fn(|r| base.wrapping_add((g * GROUP + r) * len));
        // SAFETY: each pointer starts one of the rows below n, `len` bytes
        // each, inside `rows`; same features, matching SQ8 / L2.
        let d = unsafe { score_group::<GROUP, SQ8, L2>(s, &ptrs) };
        // SAFETY: out[g*8 .. g*8+8] is in bounds because g < n / 8.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(g * GROUP), d) };
    }
    for i in groups * GROUP..n {
        out[i] = dist_one(s, &rows[i * len..(i + 1) * len]);
    }
}

/// Distances from the query of `s` to the codes of graph nodes `ids` in a
/// record arena (`rec` words a node, codes from word `off`) into `out`,
/// in groups of 8, 4 and 1; ids out of range score against no values.
///
/// Callers guarantee `avx2`, `fma` and `f16c`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn gather(
    s: &CodeSpec<'_>,
    words: &[u32],
    rec: usize,
    off: usize,
    ids: &[u32],
    out: &mut [f32],
) {
    // SAFETY: same features; `gather_impl` checks every id's range.
    unsafe {
        match (s.sq8, s.l2) {
            (false, true) => gather_impl::<false, true>(s, words, rec, off, ids, out),
            (false, false) => gather_impl::<false, false>(s, words, rec, off, ids, out),
            (true, true) => gather_impl::<true, true>(s, words, rec, off, ids, out),
            (true, false) => gather_impl::<true, false>(s, words, rec, off, ids, out),
        }
    }
}

/// [`gather`] for one codec and metric.
///
/// Callers guarantee the features and `s.sq8 == SQ8 && s.l2 == L2`.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gather_impl<const SQ8: bool, const L2: bool>(
    s: &CodeSpec<'_>,
    words: &[u32],
    rec: usize,
    off: usize,
    ids: &[u32],
    out: &mut [f32],
) {
    let len = s.code_len();
    let n = ids.len().min(out.len());
    let mut i = 0;
    while i < n {
        let left = n - i;
        let width = if left >= 8 {
            8
        } else if left >= 4 {
            4
        } else {
            1
        };
        let mut ptrs = [core::ptr::null::<u8>(); GROUP];
        let mut ok = len > 0;
        for (p, &id) in ptrs.iter_mut().zip(&ids[i..i + width]) {
            let c = arena_code(words, rec, off, id, len);
            ok &= c.len() == len;
            *p = c.as_ptr();
        }
        let dst = &mut out[i..i + width];
        if ok {
            // SAFETY: every pointer in ptrs[..width] starts `len` readable
            // bytes (checked by `arena_code`); same features, matching
            // SQ8 / L2.
            let sums = unsafe {
                match width {
                    8 => score_group::<8, SQ8, L2>(s, &ptrs),
                    4 => score_group::<4, SQ8, L2>(s, &ptrs),
                    _ => score_group::<1, SQ8, L2>(s, &ptrs),
                }
            };
            let mut buf = [0f32; GROUP];
            // SAFETY: `buf` holds 8 floats.
            unsafe { _mm256_storeu_ps(buf.as_mut_ptr(), sums) };
            dst.copy_from_slice(&buf[..width]);
        } else {
            for (o, &id) in dst.iter_mut().zip(&ids[i..i + width]) {
                *o = dist_one(s, arena_code(words, rec, off, id, len));
            }
        }
        i += width;
    }
}
