//! AVX-512 Hamming scan (VPOPCNTDQ) and threshold selection (BW).
//!
//! Eight codes are scored together: their XOR with the query is counted
//! per 64-bit lane, and one transpose-and-add tree turns the eight count
//! vectors into eight distances, stored as u16.
//!
//! Callers must have detected `avx512f`, `avx512bw` and `avx512vpopcntdq`.

use alloc::vec::Vec;
use core::arch::x86_64::*;

/// Hamming distance of `q` (`w = q.len()` words) to each `w`-word code of
/// `codes`, into `dist` (as many as both hold).
///
/// Callers guarantee the three features.
#[target_feature(enable = "avx512f,avx512bw,avx512vpopcntdq")]
pub(crate) unsafe fn distances(codes: &[u64], q: &[u64], dist: &mut [u16]) {
    let w = q.len();
    if w == 0 {
        return;
    }
    let n = dist.len().min(codes.len() / w);
    let groups = n / 8;
    let (cp, qp) = (codes.as_ptr(), q.as_ptr());
    for g in 0..groups {
        let mut acc = [_mm512_setzero_si512(); 8];
        let mut c = 0;
        while c < w {
            let m: __mmask8 = if w - c >= 8 {
                0xFF
            } else {
                (1u8 << (w - c)) - 1
            };
            // SAFETY: masked loads touch only words c..c+popcount(m) of the
            // query and of codes g*8..g*8+8, all below n * w <= codes.len().
            unsafe {
                // Full words use plain loads: masked loads that straddle
                // cache lines stream several times slower from DRAM.
                let load = |p: *const u64| {
                    if m == 0xFF {
                        _mm512_loadu_si512(p as *const __m512i)
                    } else {
                        _mm512_maskz_loadu_epi64(m, p as *const i64)
                    }
                };
                let qv = load(qp.add(c));
                for (j, a) in acc.iter_mut().enumerate() {
                    let x = load(cp.add((g * 8 + j) * w + c));
                    *a = _mm512_add_epi64(*a, _mm512_popcnt_epi64(_mm512_xor_si512(x, qv)));
                }
            }
            c += 8;
        }
        let d = _mm512_cvtepi64_epi16(sum8_epi64(&acc));
        // SAFETY: dist[g*8 .. g*8+8] is in bounds because g < n / 8.
        unsafe { _mm_storeu_si128(dist.as_mut_ptr().add(g * 8) as *mut __m128i, d) };
    }
    for i in groups * 8..n {
        let h: u32 = codes[i * w..(i + 1) * w]
            .iter()
            .zip(q)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        dist[i] = h as u16;
    }
}

/// Lane j of the result is the sum of the eight u64 lanes of `v[j]`.
#[inline]
#[target_feature(enable = "avx512f")]
fn sum8_epi64(v: &[__m512i; 8]) -> __m512i {
    // Round 1: t[i] = codes 2i, 2i+1 as [a, b] per 128-bit lane.
    let mut t = [_mm512_setzero_si512(); 4];
    for (i, t) in t.iter_mut().enumerate() {
        let (a, b) = (v[2 * i], v[2 * i + 1]);
        *t = _mm512_add_epi64(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
    }
    // Round 2: u[i] = [c4i c4i+1 (half), same (other half), c4i+2 c4i+3 (half), (half)].
    let mut u = [_mm512_setzero_si512(); 2];
    for (i, u) in u.iter_mut().enumerate() {
        let (a, b) = (t[2 * i], t[2 * i + 1]);
        *u = _mm512_add_epi64(
            _mm512_shuffle_i64x2::<0b10_00_10_00>(a, b),
            _mm512_shuffle_i64x2::<0b11_01_11_01>(a, b),
        );
    }
    // Round 3: fold the halves: lanes are codes 0..8 in order.
    _mm512_add_epi64(
        _mm512_shuffle_i64x2::<0b10_00_10_00>(u[0], u[1]),
        _mm512_shuffle_i64x2::<0b11_01_11_01>(u[0], u[1]),
    )
}

/// Append to `out`, in slot order, every slot with `dist < thr` and the
/// first `*at_thr` slots with `dist == thr` (decrementing `*at_thr`).
///
/// Callers guarantee `avx512f` and `avx512bw`.
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn select(dist: &[u16], thr: u16, at_thr: &mut usize, out: &mut Vec<u32>) {
    let tv = _mm512_set1_epi16(thr as i16);
    let chunks = dist.len() / 32;
    for c in 0..chunks {
        // SAFETY: reads dist[c*32 .. c*32+32], inside the slice.
        let v = unsafe { _mm512_loadu_si512(dist.as_ptr().add(c * 32) as *const __m512i) };
        let lt = _mm512_cmplt_epu16_mask(v, tv);
        let eq = if *at_thr > 0 {
            _mm512_cmpeq_epi16_mask(v, tv)
        } else {
            0
        };
        let mut bits = lt | eq;
        while bits != 0 {
            let b = bits.trailing_zeros();
            bits &= bits - 1;
            if lt & (1 << b) != 0 {
                out.push((c * 32) as u32 + b);
            } else if *at_thr > 0 {
                *at_thr -= 1;
                out.push((c * 32) as u32 + b);
            }
        }
    }
    for (s, &d) in dist.iter().enumerate().skip(chunks * 32) {
        if d < thr {
            out.push(s as u32);
        } else if d == thr && *at_thr > 0 {
            *at_thr -= 1;
            out.push(s as u32);
        }
    }
}
