//! Hamming ranking of packed binary codes (the LSH code scan).
//!
//! [`scan`] computes the Hamming distance of a query code to every stored
//! code (`w` u64 words each) and their histogram; [`select`] then picks the
//! slots under a distance threshold. Distances are small integers, so the
//! histogram gives the threshold for "the best `r`" without sorting. Both
//! have an AVX-512 path (VPOPCNTDQ for the scan, BW compares for the
//! selection) and a portable one that gives the same results.

use alloc::vec;

/// Hamming distances of `q` to each `q.len()`-word code in `codes`, into
/// `dist` (as many as both hold), and their histogram added into `hist`
/// (which must have more than `64 * q.len()` entries).
pub(crate) fn scan(codes: &[u64], q: &[u64], dist: &mut [u16], hist: &mut [u32]) {
    let w = q.len();
    if w == 0 {
        return;
    }
    let n = dist.len().min(codes.len() / w);
    let dist = &mut dist[..n];
    if !simd_scan(codes, q, dist) {
        portable_scan(codes, q, dist);
    }
    histogram(dist, hist);
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

/// Four interleaved sub-histograms, so runs of equal distances do not
/// serialise on one counter's store-to-load latency.
fn histogram(dist: &[u16], hist: &mut [u32]) {
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

#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn has_avx512_hamming() -> bool {
    std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vpopcntdq")
        && crate::distance::kernels().name() == "avx512"
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn simd_scan(codes: &[u64], q: &[u64], dist: &mut [u16]) -> bool {
    if !has_avx512_hamming() {
        return false;
    }
    // SAFETY: the three features were detected just above; the kernel
    // bounds every read by `codes.len()` and writes only `dist`.
    unsafe { crate::distance::x86::avx512_hamming::distances(codes, q, dist) };
    true
}

#[cfg(not(all(feature = "std", target_arch = "x86_64")))]
fn simd_scan(_codes: &[u64], _q: &[u64], _dist: &mut [u16]) -> bool {
    false
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn simd_select(dist: &[u16], thr: u16, at_thr: &mut usize, out: &mut alloc::vec::Vec<u32>) -> bool {
    if !has_avx512_hamming() {
        return false;
    }
    // SAFETY: features detected just above; reads stay inside `dist`.
    unsafe { crate::distance::x86::avx512_hamming::select(dist, thr, at_thr, out) };
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
}
