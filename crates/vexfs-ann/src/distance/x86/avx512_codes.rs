//! AVX-512F kernels over compressed vectors (see `distance::codes`):
//! sixteen values per step, f16 widened with `vcvtph2ps` (its zmm form is
//! AVX-512F), SQ8 bytes with `vpmovzxbd` + `vcvtdq2ps`. The tail goes
//! through a zeroed 16-value bounce buffer and a masked query load (code
//! lanes past the end are zero, query lanes too), so no scalar loop runs.
//! Callers must have detected `avx512f`.

use core::arch::x86_64::*;

#[inline]
#[target_feature(enable = "avx512f")]
fn mask(rem: usize) -> __mmask16 {
    ((1u32 << rem) - 1) as __mmask16
}

/// Sixteen halves starting at value `i` (fewer at the end, zero-filled).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn halves16(code: &[u8], i: usize, n: usize) -> __m512 {
    if i + 16 <= n {
        // SAFETY: bytes [2i, 2i + 32) are inside `code` (2n <= len); the
        // caller detected AVX-512F.
        unsafe {
            _mm512_cvtph_ps(_mm256_loadu_si256(
                code.as_ptr().add(2 * i) as *const __m256i
            ))
        }
    } else {
        let mut b = [0u8; 32];
        let rest = code.get(2 * i..2 * n).unwrap_or(&[]);
        b[..rest.len()].copy_from_slice(rest);
        // SAFETY: `b` is 32 readable bytes; AVX-512F detected.
        unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(b.as_ptr() as *const __m256i)) }
    }
}

/// Sixteen code bytes starting at `i` as floats (zero-filled at the end).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn bytes16(code: &[u8], i: usize, n: usize) -> __m512 {
    if i + 16 <= n {
        // SAFETY: bytes [i, i + 16) are inside `code`; AVX-512F detected.
        unsafe {
            _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(
                code.as_ptr().add(i) as *const __m128i
            )))
        }
    } else {
        let mut b = [0u8; 16];
        let rest = code.get(i..n).unwrap_or(&[]);
        b[..rest.len()].copy_from_slice(rest);
        // SAFETY: `b` is 16 readable bytes; AVX-512F detected.
        unsafe {
            _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(
                b.as_ptr() as *const __m128i
            )))
        }
    }
}

/// Query lanes [i, i + 16), masked past `n`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn load_q(p: *const f32, i: usize, n: usize) -> __m512 {
    // SAFETY: full loads read [i, i + 16) with i + 16 <= n; the masked
    // load touches only lanes below n. AVX-512F detected by the caller.
    unsafe {
        if i + 16 <= n {
            _mm512_loadu_ps(p.add(i))
        } else {
            _mm512_maskz_loadu_ps(mask(n - i), p.add(i))
        }
    }
}

#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn f16_l2sq(q: &[f32], code: &[u8]) -> f32 {
    let n = q.len().min(code.len() / 2);
    let (mut s0, mut s1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let mut i = 0;
    // SAFETY: the helpers bound every access by `n` (see each).
    unsafe {
        while i + 32 <= n {
            let d0 = _mm512_sub_ps(load_q(q.as_ptr(), i, n), halves16(code, i, n));
            let d1 = _mm512_sub_ps(load_q(q.as_ptr(), i + 16, n), halves16(code, i + 16, n));
            s0 = _mm512_fmadd_ps(d0, d0, s0);
            s1 = _mm512_fmadd_ps(d1, d1, s1);
            i += 32;
        }
        while i < n {
            let d = _mm512_sub_ps(load_q(q.as_ptr(), i, n), halves16(code, i, n));
            s0 = _mm512_fmadd_ps(d, d, s0);
            i += 16;
        }
    }
    _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
}

#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn f16_dot(q: &[f32], code: &[u8]) -> f32 {
    let n = q.len().min(code.len() / 2);
    let (mut s0, mut s1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let mut i = 0;
    // SAFETY: the helpers bound every access by `n`.
    unsafe {
        while i + 32 <= n {
            s0 = _mm512_fmadd_ps(load_q(q.as_ptr(), i, n), halves16(code, i, n), s0);
            s1 = _mm512_fmadd_ps(load_q(q.as_ptr(), i + 16, n), halves16(code, i + 16, n), s1);
            i += 32;
        }
        while i < n {
            s0 = _mm512_fmadd_ps(load_q(q.as_ptr(), i, n), halves16(code, i, n), s0);
            i += 16;
        }
    }
    _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
}

#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn sq8_l2(q: &[f32], st: &[f32], code: &[u8]) -> f32 {
    let n = q.len().min(st.len()).min(code.len());
    let (pq, ps) = (q.as_ptr(), st.as_ptr());
    let (mut s0, mut s1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let mut i = 0;
    // SAFETY: the helpers bound every access by `n`; lanes past `n` are
    // zero in all three operands, so they add nothing.
    unsafe {
        while i + 32 <= n {
            // d = q - step * code in one fused op.
            let d0 = _mm512_fnmadd_ps(load_q(ps, i, n), bytes16(code, i, n), load_q(pq, i, n));
            let d1 = _mm512_fnmadd_ps(
                load_q(ps, i + 16, n),
                bytes16(code, i + 16, n),
                load_q(pq, i + 16, n),
            );
            s0 = _mm512_fmadd_ps(d0, d0, s0);
            s1 = _mm512_fmadd_ps(d1, d1, s1);
            i += 32;
        }
        while i < n {
            let d = _mm512_fnmadd_ps(load_q(ps, i, n), bytes16(code, i, n), load_q(pq, i, n));
            s0 = _mm512_fmadd_ps(d, d, s0);
            i += 16;
        }
    }
    _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
}

#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn sq8_dot(a: &[f32], code: &[u8]) -> f32 {
    let n = a.len().min(code.len());
    let pa = a.as_ptr();
    let (mut s0, mut s1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let mut i = 0;
    // SAFETY: the helpers bound every access by `n`.
    unsafe {
        while i + 32 <= n {
            s0 = _mm512_fmadd_ps(load_q(pa, i, n), bytes16(code, i, n), s0);
            s1 = _mm512_fmadd_ps(load_q(pa, i + 16, n), bytes16(code, i + 16, n), s1);
            i += 32;
        }
        while i < n {
            s0 = _mm512_fmadd_ps(load_q(pa, i, n), bytes16(code, i, n), s0);
            i += 16;
        }
    }
    _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
}
