//! Hamming ranking of packed binary codes (the LSH code scan).
//!
//! [`distances`] computes the Hamming distance of a query code to every
//! stored code (`w` u64 words each), [`histogram`] their histogram; [`select`] then picks the
//! slots under a distance threshold. Distances are small integers, so the
//! histogram gives the threshold for "the best `r`" without sorting. Both
//! have an AVX-512 path (VPOPCNTDQ for the scan, BW compares for the
//! selection), an AVX2 one (nibble-table or POPCNT scan, AVX2 compares),
//! a POPCNT-only one, and a portable one; all give the same results.

use alloc::vec;

/// Hamming distances of `q` to each `q.len()`-word code in `codes`, into
/// `dist` (as many as both hold), and their histogram added into `hist`
/// (which must have more than `64 * q.len()` entries).
#[cfg(test)]
pub(crate) fn scan(codes: &[u64], q: &[u64], dist: &mut [u16], hist: &mut [u32]) {
    let n = distances(codes, q, dist);
    histogram(&dist[..n], hist);
}

/// Hamming distances of `q` to each `q.len()`-word code in `codes`, into
/// `dist` (as many as both hold; that count is returned).
pub(crate) fn distances(codes: &[u64], q: &[u64], dist: &mut [u16]) -> usize {
    let w = q.len();
    if w == 0 {
        return 0;
    }
    let n = dist.len().min(codes.len() / w);
    let dist = &mut dist[..n];
    if !simd_scan(codes, q, dist) {
        portable_scan(codes, q, dist);
    }
    n
}

/// Append to `out`, in slot order, every slot whose distance is below
/// `thr`, and the first `at_thr` slots whose distance equals `thr`.
pub(crate) fn select(dist: &[u16], thr: u16, mut at_thr: usize, out: &mut alloc::vec::Vec<u32>) {
    if simd_select(dist, thr, &mut at_thr, out) {
        return;
    }
    for (s, &d) in dist.iter().enumerate() {
        if d < thr {
            out.push(s as u32);
        } else if d == thr && at_thr > 0 {
            at_thr -= 1;
            out.push(s as u32);
        }
    }
}

/// Histogram of `dist` added into `hist` (distances past its end wrap),
/// with four interleaved sub-histograms, so runs of equal distances do
/// not serialise on one counter's store-to-load latency.
pub(crate) fn histogram(dist: &[u16], hist: &mut [u32]) {
    let len = hist.len();
    let mut sub = vec![0u32; 4 * len];
    let (h0, rest) = sub.split_at_mut(len);
    let (h1, rest) = rest.split_at_mut(len);
    let (h2, h3) = rest.split_at_mut(len);
    let mut it = dist.chunks_exact(4);
    for c in &mut it {
        h0[c[0] as usize % len] += 1;
        h1[c[1] as usize % len] += 1;
        h2[c[2] as usize % len] += 1;
        h3[c[3] as usize % len] += 1;
    }
    for &d in it.remainder() {
        h0[d as usize % len] += 1;
    }
    for (i, h) in hist.iter_mut().enumerate() {
        *h += h0[i] + h1[i] + h2[i] + h3[i];
    }
}

fn portable_scan(codes: &[u64], q: &[u64], dist: &mut [u16]) {
    match q.len() {
        2 => portable_scan_n::<2>(codes, q, dist),
        4 => portable_scan_n::<4>(codes, q, dist),
        8 => portable_scan_n::<8>(codes, q, dist),
        w => {
            for (c, d) in codes.chunks_exact(w).zip(dist.iter_mut()) {
                let h: u32 = c.iter().zip(q).map(|(a, b)| (a ^ b).count_ones()).sum();
                *d = h as u16;
            }
        }
    }
}

#[inline(always)]
fn portable_scan_n<const W: usize>(codes: &[u64], q: &[u64], dist: &mut [u16]) {
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

/// Which scan and selection kernels this CPU and the chosen kernel level
/// allow (`VEXFS_ANN_SIMD=scalar` keeps the portable loops, `avx2` the
/// AVX2/POPCNT ones even on AVX-512 hardware).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Path {
    Avx512,
    Avx2,
    Popcnt,
    Portable,
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn path() -> Path {
    use std::is_x86_feature_detected as has;
    let level = crate::distance::kernels().name();
    if level == "avx512" && has!("avx512f") && has!("avx512bw") && has!("avx512vpopcntdq") {
        Path::Avx512
    } else if (level == "avx512" || level == "avx2") && has!("avx2") && has!("popcnt") {
        Path::Avx2
    } else if level != "scalar" && has!("popcnt") {
        Path::Popcnt
    } else {
        Path::Portable
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn simd_scan(codes: &[u64], q: &[u64], dist: &mut [u16]) -> bool {
    use crate::distance::x86::{avx2_hamming, avx512_hamming};
    let w = q.len();
    match path() {
        Path::Avx512 if w >= VECTOR_MIN_WORDS => {
            // SAFETY: `path` detected avx512f/bw/vpopcntdq; the kernel bounds
            // every read by `codes.len()` and writes only `dist`.
            unsafe { avx512_hamming::distances(codes, q, dist) }
        }
        Path::Avx2 if w >= AVX2_TABLE_MIN_WORDS => {
            // SAFETY: `path` detected avx2 and popcnt; reads bounded as above.
            unsafe { avx2_hamming::distances_avx2(codes, q, dist) }
        }
        Path::Avx512 | Path::Avx2 | Path::Popcnt => {
            // SAFETY: every one of these paths detected popcnt.
            unsafe { avx2_hamming::distances_popcnt(codes, q, dist) }
        }
        Path::Portable => return false,
    }
    true
}

/// Shortest code (in words) the VPOPCNTDQ scan takes; shorter codes fill
/// a fraction of a register and POPCNT was as fast or faster (Zen 4,
/// cached 8k codes: 2 words 4.5 us vs 9.2 us, 4 words 8.9 vs 9.2).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
const VECTOR_MIN_WORDS: usize = 4;

/// Shortest code the AVX2 nibble-table scan takes; below it POPCNT wins
/// (Zen 4, cached 8k codes: 4 words 8.9 us POPCNT vs 9.9 table, 8 words
/// 16.6 vs 15.8, 16 words 40.7 vs 27.7).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
const AVX2_TABLE_MIN_WORDS: usize = 8;

#[cfg(not(all(feature = "std", target_arch = "x86_64")))]
fn simd_scan(_codes: &[u64], _q: &[u64], _dist: &mut [u16]) -> bool {
    false
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn simd_select(dist: &[u16], thr: u16, at_thr: &mut usize, out: &mut alloc::vec::Vec<u32>) -> bool {
    use crate::distance::x86::{avx2_hamming, avx512_hamming};
    match path() {
        Path::Avx512 => {
            // SAFETY: `path` detected avx512f/bw; reads stay inside `dist`.
            unsafe { avx512_hamming::select(dist, thr, at_thr, out) }
        }
        Path::Avx2 => {
            // SAFETY: `path` detected avx2; reads stay inside `dist`.
            unsafe { avx2_hamming::select(dist, thr, at_thr, out) }
        }
        Path::Popcnt | Path::Portable => return false,
    }
    true
}

#[cfg(not(all(feature = "std", target_arch = "x86_64")))]
fn simd_select(_dist: &[u16], _thr: u16, _at: &mut usize, _out: &mut alloc::vec::Vec<u32>) -> bool {
    false
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use alloc::vec::Vec;

    #[test]
    fn simd_and_portable_agree() {
        let mut rng = Rng::new(9);
        for w in [1usize, 2, 3, 4, 7, 8, 9, 16, 17] {
            for n in [0usize, 1, 7, 8, 9, 31, 32, 33, 200] {
                let codes: Vec<u64> = (0..n * w).map(|_| rng.next_u64()).collect();
                let q: Vec<u64> = (0..w).map(|_| rng.next_u64()).collect();
                let mut a = vec![0u16; n];
                let mut b = vec![0u16; n];
                let mut ha = vec![0u32; 64 * w + 2];
                scan(&codes, &q, &mut a, &mut ha);
                portable_scan(&codes, &q, &mut b);
                assert_eq!(a, b, "w {w} n {n}");
                assert_eq!(ha.iter().sum::<u32>() as usize, n);
                for thr in [0u16, 1, 30, 64 * w as u16, 64 * w as u16 + 1] {
                    for at in [0usize, 1, 5, 1000] {
                        let mut got = Vec::new();
                        select(&a, thr, at, &mut got);
                        let mut want = Vec::new();
                        let mut left = at;
                        for (s, &d) in a.iter().enumerate() {
                            if d < thr
                                || (d == thr && left > 0 && {
                                    left -= 1;
                                    true
                                })
                            {
                                want.push(s as u32);
                            }
                        }
                        assert_eq!(got, want, "w {w} n {n} thr {thr} at {at}");
                    }
                }
            }
        }
    }

    /// The AVX2 and POPCNT kernels, called directly (the process-wide level
    /// may select another), agree with the portable scan and selection.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_and_popcnt_kernels_agree() {
        use crate::distance::x86::avx2_hamming as h;
        use std::is_x86_feature_detected as has;
        if !(has!("avx2") && has!("popcnt")) {
            return;
        }
        let mut rng = Rng::new(11);
        for w in [1usize, 2, 3, 4, 5, 8, 12, 16, 124, 128] {
            for n in [0usize, 1, 3, 4, 5, 15, 16, 17, 33, 130] {
                let codes: Vec<u64> = (0..n * w).map(|_| rng.next_u64()).collect();
                let q: Vec<u64> = (0..w).map(|_| rng.next_u64()).collect();
                let mut want = vec![0u16; n];
                portable_scan(&codes, &q, &mut want);
                let mut a = vec![u16::MAX; n];
                let mut b = vec![u16::MAX; n];
                // SAFETY: avx2 and popcnt detected above.
                unsafe {
                    h::distances_popcnt(&codes, &q, &mut a);
                    h::distances_avx2(&codes, &q, &mut b);
                }
                assert_eq!(a, want, "popcnt w {w} n {n}");
                assert_eq!(b, want, "avx2 w {w} n {n}");
                // Distances around the threshold, including values above
                // i16::MAX so the compares must be unsigned.
                let mut dist: Vec<u16> = want.clone();
                for (i, d) in dist.iter_mut().enumerate() {
                    if i % 7 == 3 {
                        *d = 40000;
                    }
                }
                for thr in [0u16, 1, 32 * w as u16, 40000, u16::MAX] {
                    for at in [0usize, 1, 3, 1000] {
                        let mut got = Vec::new();
                        let mut left = at;
                        // SAFETY: avx2 detected above.
                        unsafe { h::select(&dist, thr, &mut left, &mut got) };
                        let mut exp = Vec::new();
                        let mut l2 = at;
                        for (s, &d) in dist.iter().enumerate() {
                            if d < thr
                                || (d == thr && l2 > 0 && {
                                    l2 -= 1;
                                    true
                                })
                            {
                                exp.push(s as u32);
                            }
                        }
                        assert_eq!(got, exp, "select w {w} n {n} thr {thr} at {at}");
                        assert_eq!(left, l2);
                    }
                }
            }
        }
    }
}
