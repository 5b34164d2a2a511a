//! AVX-512 kernels (F for floats, BW for the integer paths). Tails use
//! masked loads, so no scalar remainder loop runs for odd dimensions.
//! Callers must have detected the features named on each function.

use core::arch::x86_64::*;

#[inline]
#[target_feature(enable = "avx512f")]
fn tail_mask(rem: usize) -> __mmask16 {
    ((1u32 << rem) - 1) as __mmask16
}

#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    let mut s0 = _mm512_setzero_ps();
    let mut s1 = _mm512_setzero_ps();
    let mut s2 = _mm512_setzero_ps();
    let mut s3 = _mm512_setzero_ps();
    // SAFETY: full loads read [i, i + 16) with i + 16 <= n; the masked
    // tail load only touches lanes below n (masked lanes are not accessed).
    unsafe {
        while i + 64 <= n {
            let d0 = _mm512_sub_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)));
            let d1 = _mm512_sub_ps(
                _mm512_loadu_ps(pa.add(i + 16)),
                _mm512_loadu_ps(pb.add(i + 16)),
            );
            let d2 = _mm512_sub_ps(
                _mm512_loadu_ps(pa.add(i + 32)),
                _mm512_loadu_ps(pb.add(i + 32)),
            );
            let d3 = _mm512_sub_ps(
                _mm512_loadu_ps(pa.add(i + 48)),
                _mm512_loadu_ps(pb.add(i + 48)),
            );
            s0 = _mm512_fmadd_ps(d0, d0, s0);
            s1 = _mm512_fmadd_ps(d1, d1, s1);
            s2 = _mm512_fmadd_ps(d2, d2, s2);
            s3 = _mm512_fmadd_ps(d3, d3, s3);
            i += 64;
        }
        while i + 16 <= n {
            let d0 = _mm512_sub_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)));
            s0 = _mm512_fmadd_ps(d0, d0, s0);
            i += 16;
        }
        if i < n {
            let m = tail_mask(n - i);
            let d = _mm512_sub_ps(
                _mm512_maskz_loadu_ps(m, pa.add(i)),
                _mm512_maskz_loadu_ps(m, pb.add(i)),
            );
            s1 = _mm512_fmadd_ps(d, d, s1);
        }
    }
    _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)))
}

#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut i = 0;
    let mut s0 = _mm512_setzero_ps();
    let mut s1 = _mm512_setzero_ps();
    let mut s2 = _mm512_setzero_ps();
    let mut s3 = _mm512_setzero_ps();
    // SAFETY: as in `l2sq`: full loads stay below n, the tail is masked.
    unsafe {
        while i + 64 <= n {
            s0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), s0);
            s1 = _mm512_fmadd_ps(
                _mm512_loadu_ps(pa.add(i + 16)),
                _mm512_loadu_ps(pb.add(i + 16)),
                s1,
            );
            s2 = _mm512_fmadd_ps(
                _mm512_loadu_ps(pa.add(i + 32)),
                _mm512_loadu_ps(pb.add(i + 32)),
                s2,
            );
            s3 = _mm512_fmadd_ps(
                _mm512_loadu_ps(pa.add(i + 48)),
                _mm512_loadu_ps(pb.add(i + 48)),
                s3,
            );
            i += 64;
        }
        while i + 16 <= n {
            s0 = _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), s0);
            i += 16;
        }
        if i < n {
            let m = tail_mask(n - i);
            s1 = _mm512_fmadd_ps(
                _mm512_maskz_loadu_ps(m, pa.add(i)),
                _mm512_maskz_loadu_ps(m, pb.add(i)),
                s1,
            );
        }
    }
    _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)))
}

#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn dot4(q: [&[f32]; 4], row: &[f32]) -> [f32; 4] {
    let n = row
        .len()
        .min(q[0].len())
        .min(q[1].len())
        .min(q[2].len())
        .min(q[3].len());
    let pr = row.as_ptr();
    let (p0, p1, p2, p3) = (q[0].as_ptr(), q[1].as_ptr(), q[2].as_ptr(), q[3].as_ptr());
    let mut i = 0;
    let mut s0 = _mm512_setzero_ps();
    let mut s1 = _mm512_setzero_ps();
    let mut s2 = _mm512_setzero_ps();
    let mut s3 = _mm512_setzero_ps();
    // SAFETY: full loads stay below n in all five slices, the tail is masked.
    unsafe {
        while i + 16 <= n {
            let r = _mm512_loadu_ps(pr.add(i));
            s0 = _mm512_fmadd_ps(_mm512_loadu_ps(p0.add(i)), r, s0);
            s1 = _mm512_fmadd_ps(_mm512_loadu_ps(p1.add(i)), r, s1);
            s2 = _mm512_fmadd_ps(_mm512_loadu_ps(p2.add(i)), r, s2);
            s3 = _mm512_fmadd_ps(_mm512_loadu_ps(p3.add(i)), r, s3);
            i += 16;
        }
        if i < n {
            let m = tail_mask(n - i);
            let r = _mm512_maskz_loadu_ps(m, pr.add(i));
            s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, p0.add(i)), r, s0);
            s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, p1.add(i)), r, s1);
            s2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, p2.add(i)), r, s2);
            s3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, p3.add(i)), r, s3);
        }
    }
    [
        _mm512_reduce_add_ps(s0),
        _mm512_reduce_add_ps(s1),
        _mm512_reduce_add_ps(s2),
        _mm512_reduce_add_ps(s3),
    ]
}

#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn l2sq_u8(a: &[u8], b: &[u8]) -> u32 {
    let n = a.len().min(b.len());
    let mut i = 0;
    let mut acc = _mm512_setzero_si512();
    // SAFETY: 32-byte loads at [i, i + 32) with i + 32 <= n.
    unsafe {
        while i + 32 <= n {
            let va = _mm512_cvtepu8_epi16(_mm256_loadu_si256(a.as_ptr().add(i) as *const __m256i));
            let vb = _mm512_cvtepu8_epi16(_mm256_loadu_si256(b.as_ptr().add(i) as *const __m256i));
            let d = _mm512_sub_epi16(va, vb);
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(d, d));
            i += 32;
        }
    }
    let mut s = _mm512_reduce_add_epi32(acc) as u32;
    while i < n {
        let d = a[i] as i32 - b[i] as i32;
        s = s.wrapping_add((d * d) as u32);
        i += 1;
    }
    s
}

#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let n = a.len().min(b.len());
    let mut i = 0;
    let mut acc = _mm512_setzero_si512();
    // SAFETY: 32-byte loads at [i, i + 32) with i + 32 <= n.
    unsafe {
        while i + 32 <= n {
            let va = _mm512_cvtepi8_epi16(_mm256_loadu_si256(a.as_ptr().add(i) as *const __m256i));
            let vb = _mm512_cvtepi8_epi16(_mm256_loadu_si256(b.as_ptr().add(i) as *const __m256i));
            acc = _mm512_add_epi32(acc, _mm512_madd_epi16(va, vb));
            i += 32;
        }
    }
    let mut s = _mm512_reduce_add_epi32(acc);
    while i < n {
        s = s.wrapping_add(a[i] as i32 * b[i] as i32);
        i += 1;
    }
    s
}

/// Negated dot product: the inner-product distance.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn neg_dot(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: same contract as `dot`, which the caller upholds.
    -unsafe { dot(a, b) }
}

/// Register-blocked product of 8 queries with a packed panel of 32 rows:
/// `out[i * 32 + j] = dot(q[i][..dim], row_j)`, where the panel stores
/// row j's element k at `panel[k * 32 + j]`. No horizontal reductions are
/// needed, which is what makes exhaustive batch search fast.
///
/// Callers guarantee `panel.len() >= dim * 32`, every `q[i].len() >= dim`
/// and the `avx512f` feature.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn panel_8x32(q: [&[f32]; 8], panel: &[f32], dim: usize, out: &mut [f32; 256]) {
    let pp = panel.as_ptr();
    let qp = [
        q[0].as_ptr(),
        q[1].as_ptr(),
        q[2].as_ptr(),
        q[3].as_ptr(),
        q[4].as_ptr(),
        q[5].as_ptr(),
        q[6].as_ptr(),
        q[7].as_ptr(),
    ];
    let z = _mm512_setzero_ps();
    let (mut a0, mut a1, mut a2, mut a3, mut a4, mut a5, mut a6, mut a7) = (z, z, z, z, z, z, z, z);
    let (mut b0, mut b1, mut b2, mut b3, mut b4, mut b5, mut b6, mut b7) = (z, z, z, z, z, z, z, z);
    // SAFETY: k < dim, so panel reads [k*32, k*32+32) lie below dim*32 <=
    // panel.len(), and query reads at k lie below dim <= q[i].len().
    unsafe {
        for k in 0..dim {
            let p0 = _mm512_loadu_ps(pp.add(k * 32));
            let p1 = _mm512_loadu_ps(pp.add(k * 32 + 16));
            let s = _mm512_set1_ps(*qp[0].add(k));
            a0 = _mm512_fmadd_ps(s, p0, a0);
            b0 = _mm512_fmadd_ps(s, p1, b0);
            let s = _mm512_set1_ps(*qp[1].add(k));
            a1 = _mm512_fmadd_ps(s, p0, a1);
            b1 = _mm512_fmadd_ps(s, p1, b1);
            let s = _mm512_set1_ps(*qp[2].add(k));
            a2 = _mm512_fmadd_ps(s, p0, a2);
            b2 = _mm512_fmadd_ps(s, p1, b2);
            let s = _mm512_set1_ps(*qp[3].add(k));
            a3 = _mm512_fmadd_ps(s, p0, a3);
            b3 = _mm512_fmadd_ps(s, p1, b3);
            let s = _mm512_set1_ps(*qp[4].add(k));
            a4 = _mm512_fmadd_ps(s, p0, a4);
            b4 = _mm512_fmadd_ps(s, p1, b4);
            let s = _mm512_set1_ps(*qp[5].add(k));
            a5 = _mm512_fmadd_ps(s, p0, a5);
            b5 = _mm512_fmadd_ps(s, p1, b5);
            let s = _mm512_set1_ps(*qp[6].add(k));
            a6 = _mm512_fmadd_ps(s, p0, a6);
            b6 = _mm512_fmadd_ps(s, p1, b6);
            let s = _mm512_set1_ps(*qp[7].add(k));
            a7 = _mm512_fmadd_ps(s, p0, a7);
            b7 = _mm512_fmadd_ps(s, p1, b7);
        }
        let o = out.as_mut_ptr();
        for (i, (a, b)) in [
            (a0, b0),
            (a1, b1),
            (a2, b2),
            (a3, b3),
            (a4, b4),
            (a5, b5),
            (a6, b6),
            (a7, b7),
        ]
        .into_iter()
        .enumerate()
        {
            _mm512_storeu_ps(o.add(i * 32), a);
            _mm512_storeu_ps(o.add(i * 32 + 16), b);
        }
    }
}
