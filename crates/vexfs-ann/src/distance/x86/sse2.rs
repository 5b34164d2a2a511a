//! SSE2 kernels (baseline on x86-64, no FMA).

use core::arch::x86_64::*;

#[inline]
unsafe fn hsum(v: __m128) -> f32 {
    // SAFETY: SSE2 is part of the x86-64 baseline ABI; pure register ops.
    unsafe {
        let hi = _mm_movehl_ps(v, v);
        let s = _mm_add_ps(v, hi);
        let s2 = _mm_shuffle_ps::<0b01>(s, s);
        _mm_cvtss_f32(_mm_add_ss(s, s2))
    }
}

/// Squared L2 distance with SSE2.
#[inline]
pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let mut i = 0;
    // SAFETY: SSE2 is always present on x86-64; every load reads
    // [i, i + 4) with i + 4 <= n, inside both slices.
    unsafe {
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut s0 = _mm_setzero_ps();
        let mut s1 = _mm_setzero_ps();
        while i + 8 <= n {
            let d0 = _mm_sub_ps(_mm_loadu_ps(pa.add(i)), _mm_loadu_ps(pb.add(i)));
            let d1 = _mm_sub_ps(_mm_loadu_ps(pa.add(i + 4)), _mm_loadu_ps(pb.add(i + 4)));
            s0 = _mm_add_ps(s0, _mm_mul_ps(d0, d0));
            s1 = _mm_add_ps(s1, _mm_mul_ps(d1, d1));
            i += 8;
        }
        if i + 4 <= n {
            let d0 = _mm_sub_ps(_mm_loadu_ps(pa.add(i)), _mm_loadu_ps(pb.add(i)));
            s0 = _mm_add_ps(s0, _mm_mul_ps(d0, d0));
            i += 4;
        }
        let mut s = hsum(_mm_add_ps(s0, s1));
        while i < n {
            let d = a[i] - b[i];
            s += d * d;
            i += 1;
        }
        s
    }
}

/// Dot product with SSE2.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let mut i = 0;
    // SAFETY: SSE2 is always present on x86-64; loads stay below n.
    unsafe {
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut s0 = _mm_setzero_ps();
        let mut s1 = _mm_setzero_ps();
        while i + 8 <= n {
            s0 = _mm_add_ps(
                s0,
                _mm_mul_ps(_mm_loadu_ps(pa.add(i)), _mm_loadu_ps(pb.add(i))),
            );
            s1 = _mm_add_ps(
                s1,
                _mm_mul_ps(_mm_loadu_ps(pa.add(i + 4)), _mm_loadu_ps(pb.add(i + 4))),
            );
            i += 8;
        }
        if i + 4 <= n {
            s0 = _mm_add_ps(
                s0,
                _mm_mul_ps(_mm_loadu_ps(pa.add(i)), _mm_loadu_ps(pb.add(i))),
            );
            i += 4;
        }
        let mut s = hsum(_mm_add_ps(s0, s1));
        while i < n {
            s += a[i] * b[i];
            i += 1;
        }
        s
    }
}

/// Squared L2 over u8 codes with SSE2 (16-bit differences, 32-bit sums).
#[inline]
pub fn l2sq_u8(a: &[u8], b: &[u8]) -> u32 {
    let n = a.len().min(b.len());
    let mut i = 0;
    // SAFETY: SSE2 baseline; 16-byte loads at [i, i + 16) with i + 16 <= n.
    let mut s = unsafe {
        let z = _mm_setzero_si128();
        let mut acc = _mm_setzero_si128();
        while i + 16 <= n {
            let va = _mm_loadu_si128(a.as_ptr().add(i) as *const __m128i);
            let vb = _mm_loadu_si128(b.as_ptr().add(i) as *const __m128i);
            let dlo = _mm_sub_epi16(_mm_unpacklo_epi8(va, z), _mm_unpacklo_epi8(vb, z));
            let dhi = _mm_sub_epi16(_mm_unpackhi_epi8(va, z), _mm_unpackhi_epi8(vb, z));
            acc = _mm_add_epi32(acc, _mm_madd_epi16(dlo, dlo));
            acc = _mm_add_epi32(acc, _mm_madd_epi16(dhi, dhi));
            i += 16;
        }
        let mut lanes = [0u32; 4];
        _mm_storeu_si128(lanes.as_mut_ptr() as *mut __m128i, acc);
        lanes.iter().fold(0u32, |x, y| x.wrapping_add(*y))
    };
    while i < n {
        let d = a[i] as i32 - b[i] as i32;
        s = s.wrapping_add((d * d) as u32);
        i += 1;
    }
    s
}

/// Negated dot product: the inner-product distance.
#[inline]
pub fn neg_dot(a: &[f32], b: &[f32]) -> f32 {
    -dot(a, b)
}

/// Four dot products against one row.
#[inline]
pub fn dot4(q: [&[f32]; 4], row: &[f32]) -> [f32; 4] {
    [
        dot(q[0], row),
        dot(q[1], row),
        dot(q[2], row),
        dot(q[3], row),
    ]
}
