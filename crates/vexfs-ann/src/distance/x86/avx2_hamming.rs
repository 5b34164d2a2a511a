//! Hamming scan and threshold selection for CPUs without AVX-512
//! VPOPCNTDQ: a hardware-POPCNT scan, an AVX2 nibble-table scan and an
//! AVX2 selection.
//!
//! The crate is compiled for baseline x86-64, where `count_ones` becomes a
//! dozen shifts and masks per word; the POPCNT scan is the same loop
//! compiled with the instruction enabled. The AVX2 scan counts bits with
//! two 16-entry table lookups per byte (`vpshufb`), adds the byte counts
//! of a code's chunks and widens them once with `vpsadbw`, four codes per
//! reduction.

use alloc::vec::Vec;
use core::arch::x86_64::*;

/// Hamming distance of `q` (`w = q.len()` words) to each `w`-word code of
/// `codes`, into `dist` (as many as both hold), with the POPCNT
/// instruction.
///
/// Callers guarantee the `popcnt` feature.
#[target_feature(enable = "popcnt")]
pub(crate) unsafe fn distances_popcnt(codes: &[u64], q: &[u64], dist: &mut [u16]) {
    match q.len() {
        0 => {}
        1 => scan_n::<1>(codes, q, dist),
        2 => scan_n::<2>(codes, q, dist),
        4 => scan_n::<4>(codes, q, dist),
        8 => scan_n::<8>(codes, q, dist),
        w => {
            for (c, d) in codes.chunks_exact(w).zip(dist.iter_mut()) {
                let h: u32 = c.iter().zip(q).map(|(a, b)| (a ^ b).count_ones()).sum();
                *d = h as u16;
            }
        }
    }
}

/// The fixed-width loop, unrolled over the `W` words of a code.
#[inline]
#[target_feature(enable = "popcnt")]
fn scan_n<const W: usize>(codes: &[u64], q: &[u64], dist: &mut [u16]) {
    let mut qq = [0u64; W];
    qq.copy_from_slice(&q[..W]);
    for (c, d) in codes.chunks_exact(W).zip(dist.iter_mut()) {
        let mut h = 0u32;
        for i in 0..W {
            h += (c[i] ^ qq[i]).count_ones();
        }
        *d = h as u16;
    }
}

/// Per-byte popcount of `v` (each byte 0..=8).
#[inline]
#[target_feature(enable = "avx2")]
fn popcnt_bytes(v: __m256i) -> __m256i {
    let lut = _mm256_setr_epi8(
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3,
        3, 4,
    );
    let low = _mm256_set1_epi8(0x0f);
    let lo = _mm256_and_si256(v, low);
    let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(v), low);
    _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi))
}

/// Chunks (of 256 bits) whose byte counts may be summed before a byte
/// overflows: 31 * 8 = 248 < 256.
const BYTE_SUM_CHUNKS: usize = 31;

/// [`distances_popcnt`] with the AVX2 nibble table, for codes of a
/// multiple of four words (other widths go to the POPCNT scan).
///
/// Callers guarantee `avx2` and `popcnt`.
#[target_feature(enable = "avx2,popcnt")]
pub(crate) unsafe fn distances_avx2(codes: &[u64], q: &[u64], dist: &mut [u16]) {
    let w = q.len();
    if w == 0 || !w.is_multiple_of(4) {
        // SAFETY: `popcnt` is guaranteed by the caller.
        unsafe { distances_popcnt(codes, q, dist) };
        return;
    }
    let n = dist.len().min(codes.len() / w);
    // Sixteen codes per store: sub-group k holds codes k, k+4, k+8, k+12,
    // so shifting sub-group k's lanes by 16k and or-ing the four puts the
    // sixteen u16 distances in slot order in one register. Storing four
    // distances at a time went through a chain of lane inserts that cost
    // as much as the counting.
    let blocks = n / 16;
    for b in 0..blocks {
        let base = b * 16;
        let mut s = _mm256_setzero_si256();
        for k in 0..4 {
            let idx = [base + k, base + k + 4, base + k + 8, base + k + 12];
            // SAFETY: every index is below blocks * 16 <= n, so each code
            // read lies inside `codes[..n * w]`.
            let v = unsafe { four(codes, q, idx) };
            s = _mm256_or_si256(s, shift_lanes(v, k));
        }
        // SAFETY: writes dist[base..base + 16], inside `dist[..n]`.
        unsafe { _mm256_storeu_si256(dist.as_mut_ptr().add(base) as *mut __m256i, s) };
    }
    let mut g = blocks * 16;
    while g + 4 <= n {
        // SAFETY: codes g..g+4 are below n.
        let v = unsafe { four(codes, q, [g, g + 1, g + 2, g + 3]) };
        let mut lanes = [0u64; 4];
        // SAFETY: `lanes` is 32 bytes; unaligned store is allowed.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, v) };
        for (d, &l) in dist[g..g + 4].iter_mut().zip(&lanes) {
            *d = l as u16;
        }
        g += 4;
    }
    // SAFETY: `popcnt` is guaranteed by the caller.
    unsafe { distances_popcnt(&codes[g * w..n * w], q, &mut dist[g..n]) };
}

/// `v`'s u64 lanes shifted left by 16 * `k` bits (`k` < 4).
#[inline]
#[target_feature(enable = "avx2")]
fn shift_lanes(v: __m256i, k: usize) -> __m256i {
    match k {
        0 => v,
        1 => _mm256_slli_epi64::<16>(v),
        2 => _mm256_slli_epi64::<32>(v),
        _ => _mm256_slli_epi64::<48>(v),
    }
}

/// Hamming distances of `q` to the four codes `idx`, lane j for `idx[j]`
/// (each below 2^16 for codes of fewer than 1024 words).
///
/// Callers guarantee `avx2`, `q.len()` a multiple of four, and every
/// `(idx[j] + 1) * q.len() <= codes.len()`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn four(codes: &[u64], q: &[u64], idx: [usize; 4]) -> __m256i {
    let w = q.len();
    let (cp, qp) = (codes.as_ptr(), q.as_ptr());
    let mut acc = [_mm256_setzero_si256(); 4];
    let mut c = 0;
    while c < w {
        // Byte counts of up to 31 chunks are summed with byte adds and
        // widened once (`vpsadbw`), not once per chunk: two fewer
        // instructions per chunk in a loop that is ALU-bound.
        let end = (c + 4 * BYTE_SUM_CHUNKS).min(w);
        let mut bytes = [_mm256_setzero_si256(); 4];
        while c < end {
            // SAFETY: reads words c..c+4 of the query and of the four
            // codes; the caller bounds every code inside `codes`.
            unsafe {
                let qv = _mm256_loadu_si256(qp.add(c) as *const __m256i);
                for (b, &i) in bytes.iter_mut().zip(&idx) {
                    let x = _mm256_loadu_si256(cp.add(i * w + c) as *const __m256i);
                    *b = _mm256_add_epi8(*b, popcnt_bytes(_mm256_xor_si256(x, qv)));
                }
            }
            c += 4;
        }
        for (a, b) in acc.iter_mut().zip(&bytes) {
            *a = _mm256_add_epi64(*a, _mm256_sad_epu8(*b, _mm256_setzero_si256()));
        }
    }
    // Lane j of the result is the sum of the four u64 lanes of acc[j].
    let t0 = _mm256_add_epi64(
        _mm256_unpacklo_epi64(acc[0], acc[1]),
        _mm256_unpackhi_epi64(acc[0], acc[1]),
    );
    let t1 = _mm256_add_epi64(
        _mm256_unpacklo_epi64(acc[2], acc[3]),
        _mm256_unpackhi_epi64(acc[2], acc[3]),
    );
    _mm256_add_epi64(
        _mm256_permute2x128_si256::<0x20>(t0, t1),
        _mm256_permute2x128_si256::<0x31>(t0, t1),
    )
}

/// Append to `out`, in slot order, every slot with `dist < thr` and the
/// first `*at_thr` slots with `dist == thr` (decrementing `*at_thr`).
///
/// Callers guarantee `avx2`.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn select(dist: &[u16], thr: u16, at_thr: &mut usize, out: &mut Vec<u32>) {
    let tv = _mm256_set1_epi16(thr as i16);
    let chunks = dist.len() / 16;
    for c in 0..chunks {
        // SAFETY: reads dist[c*16 .. c*16+16], inside the slice.
        let v = unsafe { _mm256_loadu_si256(dist.as_ptr().add(c * 16) as *const __m256i) };
        // Unsigned compares: v <= thr exactly when min(v, thr) == v.
        let le = _mm256_cmpeq_epi16(_mm256_min_epu16(v, tv), v);
        let eq = _mm256_cmpeq_epi16(v, tv);
        // Two mask bits per u16 lane; keep the low one of each pair.
        let pick = if *at_thr > 0 {
            le
        } else {
            _mm256_andnot_si256(eq, le)
        };
        let mut bits = (_mm256_movemask_epi8(pick) as u32) & 0x5555_5555;
        if bits == 0 {
            continue;
        }
        let eqb = (_mm256_movemask_epi8(eq) as u32) & 0x5555_5555;
        while bits != 0 {
            let b = bits.trailing_zeros();
            bits &= bits - 1;
            let slot = (c * 16) as u32 + b / 2;
            if eqb & (1 << b) == 0 {
                out.push(slot);
            } else if *at_thr > 0 {
                *at_thr -= 1;
                out.push(slot);
            }
        }
    }
    for (s, &d) in dist.iter().enumerate().skip(chunks * 16) {
        if d < thr {
            out.push(s as u32);
        } else if d == thr && *at_thr > 0 {
            *at_thr -= 1;
            out.push(s as u32);
        }
    }
}
