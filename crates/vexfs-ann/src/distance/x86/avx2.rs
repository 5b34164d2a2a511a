//! AVX2 + FMA kernels. Callers must have detected `avx2` and `fma`; the
//! dispatcher installs them only then.

use core::arch::x86_64::*;

/// Sum of the eight lanes (also used by the kernels over codes).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn hsum256(v: __m256) -> f32 {
    let lo = _mm256_castps256_ps128(v);
    let hi = _mm256_extractf128_ps::<1>(v);
    let s = _mm_add_ps(lo, hi);
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
    _mm_cvtss_f32(s)
}

#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    let mut s0 = _mm256_setzero_ps();
    let mut s1 = _mm256_setzero_ps();
    let mut s2 = _mm256_setzero_ps();
    let mut s3 = _mm256_setzero_ps();
    // SAFETY: every load below reads [i, i + 8) with i + 8 <= n, inside
    // both slices; the caller guarantees AVX2 and FMA.
    unsafe {
        while i + 32 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            let d1 = _mm256_sub_ps(
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
            );
            let d2 = _mm256_sub_ps(
                _mm256_loadu_ps(pa.add(i + 16)),
                _mm256_loadu_ps(pb.add(i + 16)),
            );
            let d3 = _mm256_sub_ps(
                _mm256_loadu_ps(pa.add(i + 24)),
                _mm256_loadu_ps(pb.add(i + 24)),
            );
            s0 = _mm256_fmadd_ps(d0, d0, s0);
            s1 = _mm256_fmadd_ps(d1, d1, s1);
            s2 = _mm256_fmadd_ps(d2, d2, s2);
            s3 = _mm256_fmadd_ps(d3, d3, s3);
            i += 32;
        }
        while i + 8 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            s0 = _mm256_fmadd_ps(d0, d0, s0);
            i += 8;
        }
    }
    let mut s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    while i < n {
        let d = a[i] - b[i];
        s += d * d;
        i += 1;
    }
    s
}

#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    let mut s0 = _mm256_setzero_ps();
    let mut s1 = _mm256_setzero_ps();
    let mut s2 = _mm256_setzero_ps();
    let mut s3 = _mm256_setzero_ps();
    // SAFETY: loads read [i, i + 8) with i + 8 <= n; AVX2/FMA guaranteed.
    unsafe {
        while i + 32 <= n {
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), s0);
            s1 = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
                s1,
            );
            s2 = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i + 16)),
                _mm256_loadu_ps(pb.add(i + 16)),
                s2,
            );
            s3 = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i + 24)),
                _mm256_loadu_ps(pb.add(i + 24)),
                s3,
            );
            i += 32;
        }
        while i + 8 <= n {
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), s0);
            i += 8;
        }
    }
    let mut s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn dot4(q: [&[f32]; 4], row: &[f32]) -> [f32; 4] {
    let n = row
        .len()
        .min(q[0].len())
        .min(q[1].len())
        .min(q[2].len())
        .min(q[3].len());
    let pr = row.as_ptr();
    let mut i = 0;
    let mut s = [_mm256_setzero_ps(); 4];
    // SAFETY: loads read [i, i + 8) with i + 8 <= n, inside all five slices.
    unsafe {
        while i + 8 <= n {
            let r = _mm256_loadu_ps(pr.add(i));
            s[0] = _mm256_fmadd_ps(_mm256_loadu_ps(q[0].as_ptr().add(i)), r, s[0]);
            s[1] = _mm256_fmadd_ps(_mm256_loadu_ps(q[1].as_ptr().add(i)), r, s[1]);
            s[2] = _mm256_fmadd_ps(_mm256_loadu_ps(q[2].as_ptr().add(i)), r, s[2]);
            s[3] = _mm256_fmadd_ps(_mm256_loadu_ps(q[3].as_ptr().add(i)), r, s[3]);
            i += 8;
        }
    }
    let mut out = [hsum256(s[0]), hsum256(s[1]), hsum256(s[2]), hsum256(s[3])];
    while i < n {
        for (o, qq) in out.iter_mut().zip(q.iter()) {
            *o += qq[i] * row[i];
        }
        i += 1;
    }
    out
}

#[target_feature(enable = "avx2")]
pub(crate) unsafe fn l2sq_u8(a: &[u8], b: &[u8]) -> u32 {
    let n = a.len().min(b.len());
    let mut i = 0;
    let mut acc = _mm256_setzero_si256();
    // SAFETY: 16-byte loads at [i, i + 16) with i + 16 <= n.
    unsafe {
        while i + 16 <= n {
            let va = _mm256_cvtepu8_epi16(_mm_loadu_si128(a.as_ptr().add(i) as *const __m128i));
            let vb = _mm256_cvtepu8_epi16(_mm_loadu_si128(b.as_ptr().add(i) as *const __m128i));
            let d = _mm256_sub_epi16(va, vb);
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(d, d));
            i += 16;
        }
    }
    let mut lanes = [0u32; 8];
    // SAFETY: `lanes` is 32 bytes; unaligned store is allowed.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc) };
    let mut s = lanes.iter().fold(0u32, |x, y| x.wrapping_add(*y));
    while i < n {
        let d = a[i] as i32 - b[i] as i32;
        s = s.wrapping_add((d * d) as u32);
        i += 1;
    }
    s
}

#[target_feature(enable = "avx2")]
pub(crate) unsafe fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let mut i = 0;
    let mut acc = _mm256_setzero_si256();
    // SAFETY: 16-byte loads at [i, i + 16) with i + 16 <= n.
    unsafe {
        while i + 16 <= n {
            let va = _mm256_cvtepi8_epi16(_mm_loadu_si128(a.as_ptr().add(i) as *const __m128i));
            let vb = _mm256_cvtepi8_epi16(_mm_loadu_si128(b.as_ptr().add(i) as *const __m128i));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(va, vb));
            i += 16;
        }
    }
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` is 32 bytes; unaligned store is allowed.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc) };
    let mut s = lanes.iter().fold(0i32, |x, y| x.wrapping_add(*y));
    while i < n {
        s = s.wrapping_add(a[i] as i32 * b[i] as i32);
        i += 1;
    }
    s
}

/// Negated dot product: the inner-product distance.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn neg_dot(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: same contract as `dot`, which the caller upholds.
    -unsafe { dot(a, b) }
}
