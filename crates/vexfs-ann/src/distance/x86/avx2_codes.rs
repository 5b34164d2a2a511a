//! AVX2 + FMA kernels over compressed vectors (see `distance::codes`):
//! f16 values widened with F16C's `vcvtph2ps`, SQ8 bytes widened with
//! `vpmovzxbd` and converted with `vcvtdq2ps`. Callers must have detected
//! `avx2`, `fma` and (for the f16 ones) `f16c`.

use super::super::codes as scalar;
use super::avx2::hsum256;
use core::arch::x86_64::*;

/// Eight halves at byte pointer `p`, widened.
#[inline]
#[target_feature(enable = "avx2,f16c")]
unsafe fn halves8(p: *const u8) -> __m256 {
    // SAFETY: the caller guarantees 16 readable bytes at `p` and F16C.
    unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i)) }
}

/// Eight code bytes at `p`, widened to floats.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn bytes8(p: *const u8) -> __m256 {
    // SAFETY: the caller guarantees 8 readable bytes at `p` and AVX2.
    unsafe { _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(p as *const __m128i))) }
}

/// `sum (q - x)^2` (`L2`) or `sum q * x` over an f16 vector, two
/// accumulator chains.
///
/// Callers guarantee `avx2`, `fma` and `f16c`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f16_sum<const L2: bool>(q: &[f32], code: &[u8]) -> f32 {
    let n = q.len().min(code.len() / 2);
    let (pq, pc) = (q.as_ptr(), code.as_ptr());
    let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut i = 0;
    // SAFETY: value loads read [i, i + 8) with i + 8 <= n, so query
    // floats and code bytes [2i, 2i + 16) are in bounds; features detected.
    unsafe {
        while i + 8 <= n {
            let (qv, x) = (_mm256_loadu_ps(pq.add(i)), halves8(pc.add(2 * i)));
            s0 = if L2 {
                let d = _mm256_sub_ps(qv, x);
                _mm256_fmadd_ps(d, d, s0)
            } else {
                _mm256_fmadd_ps(qv, x, s0)
            };
            core::mem::swap(&mut s0, &mut s1);
            i += 8;
        }
    }
    let tail = if L2 {
        scalar::f16_l2sq(&q[i..n], &code[2 * i..2 * n])
    } else {
        scalar::f16_dot(&q[i..n], &code[2 * i..2 * n])
    };
    hsum256(_mm256_add_ps(s0, s1)) + tail
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn f16_l2sq(q: &[f32], code: &[u8]) -> f32 {
    // SAFETY: same features.
    unsafe { f16_sum::<true>(q, code) }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn f16_dot(q: &[f32], code: &[u8]) -> f32 {
    // SAFETY: same features.
    unsafe { f16_sum::<false>(q, code) }
}

/// `sum (q - st * code)^2` (`L2`) or `sum q * code` (`st` unused) over an
/// SQ8 vector, two accumulator chains.
///
/// Callers guarantee `avx2` and `fma`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn sq8_sum<const L2: bool>(q: &[f32], st: &[f32], code: &[u8]) -> f32 {
    let n = if L2 {
        q.len().min(st.len()).min(code.len())
    } else {
        q.len().min(code.len())
    };
    let (pq, ps, pc) = (q.as_ptr(), st.as_ptr(), code.as_ptr());
    let (mut s0, mut s1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut i = 0;
    // SAFETY: loads read [i, i + 8) of the query and the codes (and of the
    // step, for L2) with i + 8 <= n; AVX2 and FMA detected.
    unsafe {
        while i + 8 <= n {
            let (qv, x) = (_mm256_loadu_ps(pq.add(i)), bytes8(pc.add(i)));
            s0 = if L2 {
                // d = q - step * code in one fused op.
                let d = _mm256_fnmadd_ps(_mm256_loadu_ps(ps.add(i)), x, qv);
                _mm256_fmadd_ps(d, d, s0)
            } else {
                _mm256_fmadd_ps(qv, x, s0)
            };
            core::mem::swap(&mut s0, &mut s1);
            i += 8;
        }
    }
    let tail = if L2 {
        scalar::sq8_l2(&q[i..n], &st[i..n], &code[i..n])
    } else {
        scalar::sq8_dot(&q[i..n], &code[i..n])
    };
    hsum256(_mm256_add_ps(s0, s1)) + tail
}

#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn sq8_l2(q: &[f32], st: &[f32], code: &[u8]) -> f32 {
    // SAFETY: same features.
    unsafe { sq8_sum::<true>(q, st, code) }
}

#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn sq8_dot(a: &[f32], code: &[u8]) -> f32 {
    // SAFETY: same features.
    unsafe { sq8_sum::<false>(a, &[], code) }
}
