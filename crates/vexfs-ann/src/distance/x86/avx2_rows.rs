//! AVX2 + FMA scans of one query against many vectors: consecutive rows
//! (`dist_rows`, `dist_rows_stream`) or graph nodes in a record arena
//! (`gather`), eight (or four) vectors at a time.
//!
//! The same design as `avx512_rows`, sized for sixteen 256-bit registers:
//! eight row accumulators stay in registers while the query is walked once
//! per group, and the eight horizontal sums are done together by one
//! transpose-and-add tree (7 adds, 14 shuffles) that ends with the eight
//! distances in one register. Row tails shorter than eight floats use
//! `vmaskmovps` loads, which never touch the masked-out lanes.
//!
//! Callers must have detected `avx2` and `fma`.

use core::arch::x86_64::*;

/// Rows scored per group (one accumulator register each).
const GROUP: usize = 8;

/// Lane mask with the low `rem` (0..=8) lanes set, for `_mm256_maskload_ps`.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn tail_mask(rem: usize) -> __m256i {
    let r = rem.min(8) as i32;
    let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_cmpgt_epi32(_mm256_set1_epi32(r), idx)
}

/// Distances from `q` to consecutive `dim`-wide rows of `rows` into `out`
/// (as many as both hold): squared L2 when `l2`, else `-dot`.
///
/// Callers guarantee `avx2` and `fma`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn dist_rows(q: &[f32], rows: &[f32], dim: usize, out: &mut [f32], l2: bool) {
    if dim == 0 || q.len() < dim {
        return;
    }
    let n = out.len().min(rows.len() / dim);
    let groups = n / GROUP;
    // Two groups ahead, as in the AVX-512 kernel: lists and centroid
    // blocks arrive in runs too short for the hardware streamer.
    let ahead = 2;
    for g in 0..groups {
        let block = &rows[g * GROUP * dim..(g + 1) * GROUP * dim];
        if g + ahead < groups {
            let p = rows.as_ptr().wrapping_add((g + ahead) * GROUP * dim) as *const i8;
            let mut off = 0;
            while off < GROUP * dim * 4 {
                // A prefetch is only a hint and cannot fault.
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off));
                off += 64;
            }
        }
        let mut ptrs = [core::ptr::null::<f32>(); GROUP];
        for (r, p) in ptrs.iter_mut().enumerate() {
            *p = block[r * dim..].as_ptr();
        }
        // SAFETY: each pointer starts one of the GROUP rows of `block`, `dim`
        // floats each, and `q` holds at least `dim`; same feature set.
        let d = unsafe { score_group::<GROUP>(&q[..dim], &ptrs, l2) };
        // SAFETY: out[g*8 .. g*8+8] is in bounds because g < n / 8.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(g * GROUP), d) };
    }
    for i in groups * GROUP..n {
        // SAFETY: same feature set.
        out[i] = unsafe { single(q, &rows[i * dim..(i + 1) * dim], l2) };
    }
}

/// One distance, for what is left after the groups.
///
/// Callers guarantee `avx2` and `fma`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn single(q: &[f32], r: &[f32], l2: bool) -> f32 {
    // SAFETY: same feature set; the kernels bound reads by the slices.
    unsafe {
        if l2 {
            super::avx2::l2sq(q, r)
        } else {
            super::avx2::neg_dot(q, r)
        }
    }
}

/// Like [`dist_rows`], for long scans from memory: rows are read strictly
/// in address order (one row at a time), eight rows per reduction tree.
///
/// Callers guarantee `avx2` and `fma`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn dist_rows_stream(
    q: &[f32],
    rows: &[f32],
    dim: usize,
    out: &mut [f32],
    l2: bool,
) {
    if dim == 0 || q.len() < dim {
        return;
    }
    let n = out.len().min(rows.len() / dim);
    let groups = n / GROUP;
    let mask = tail_mask(dim % 8);
    for g in 0..groups {
        let block = &rows[g * GROUP * dim..(g + 1) * GROUP * dim];
        let mut acc = [_mm256_setzero_ps(); GROUP];
        for (r, a) in acc.iter_mut().enumerate() {
            // SAFETY: row r of `block` and the query hold `dim` floats;
            // same feature set as this function.
            *a = unsafe { row_acc(&q[..dim], &block[r * dim..(r + 1) * dim], mask, l2) };
        }
        let d = finish(sum8(&acc), l2);
        // SAFETY: out[g*8 .. g*8+8] is in bounds because g < n / 8.
        unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(g * GROUP), d) };
    }
    for i in groups * GROUP..n {
        // SAFETY: same feature set.
        out[i] = unsafe { single(q, &rows[i * dim..(i + 1) * dim], l2) };
    }
}

/// Per-lane partial sums of `(q - x)^2` (`l2`) or `q * x` over one row;
/// `mask` selects the `x.len() % 8` tail lanes.
///
/// Callers guarantee `q.len() == x.len()` and `avx2` + `fma`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_acc(q: &[f32], x: &[f32], mask: __m256i, l2: bool) -> __m256 {
    let dim = x.len().min(q.len());
    let (qp, xp) = (q.as_ptr(), x.as_ptr());
    // Two chains so one row's FMAs are not serialised on one register.
    let mut a = _mm256_setzero_ps();
    let mut b = _mm256_setzero_ps();
    let mut k = 0;
    let step = |acc: __m256, qv: __m256, xv: __m256| {
        if l2 {
            let d = _mm256_sub_ps(qv, xv);
            _mm256_fmadd_ps(d, d, acc)
        } else {
            _mm256_fmadd_ps(qv, xv, acc)
        }
    };
    // SAFETY: full loads read [k, k + 8) with k + 8 <= dim of both slices;
    // the tail loads are masked to lanes below dim and do not touch others.
    unsafe {
        while k + 16 <= dim {
            a = step(a, _mm256_loadu_ps(qp.add(k)), _mm256_loadu_ps(xp.add(k)));
            b = step(
                b,
                _mm256_loadu_ps(qp.add(k + 8)),
                _mm256_loadu_ps(xp.add(k + 8)),
            );
            k += 16;
        }
        if k + 8 <= dim {
            a = step(a, _mm256_loadu_ps(qp.add(k)), _mm256_loadu_ps(xp.add(k)));
            k += 8;
        }
        if k < dim {
            let qv = _mm256_maskload_ps(qp.add(k), mask);
            let xv = _mm256_maskload_ps(xp.add(k), mask);
            b = step(b, qv, xv);
        }
    }
    _mm256_add_ps(a, b)
}

/// Lane r of the result is the sum of the 8 lanes of `v[r]`.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) fn sum8(v: &[__m256; 8]) -> __m256 {
    // Round 1: t[i] holds rows 2i, 2i+1 as [a, b, a, b] per 128-bit lane.
    let mut t = [_mm256_setzero_ps(); 4];
    for (i, t) in t.iter_mut().enumerate() {
        let (a, b) = (v[2 * i], v[2 * i + 1]);
        *t = _mm256_add_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
    }
    // Round 2: u[i] holds rows 4i..4i+4 in order, per 128-bit lane.
    let mut u = [_mm256_setzero_ps(); 2];
    for (i, u) in u.iter_mut().enumerate() {
        let (a, b) = (_mm256_castps_pd(t[2 * i]), _mm256_castps_pd(t[2 * i + 1]));
        *u = _mm256_add_ps(
            _mm256_castpd_ps(_mm256_unpacklo_pd(a, b)),
            _mm256_castpd_ps(_mm256_unpackhi_pd(a, b)),
        );
    }
    // Round 3: add the two 128-bit lanes: rows 0-3 low, 4-7 high.
    _mm256_add_ps(
        _mm256_permute2f128_ps::<0x20>(u[0], u[1]),
        _mm256_permute2f128_ps::<0x31>(u[0], u[1]),
    )
}

/// Sums to distances: squared L2 as is, `-dot` otherwise.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn finish(s: __m256, l2: bool) -> __m256 {
    if l2 {
        s
    } else {
        _mm256_sub_ps(_mm256_setzero_ps(), s)
    }
}

/// Distances from `q` to the vectors of graph nodes `ids` stored in a
/// record arena (`rec` words per node, vector at word `off`), into `out`,
/// in groups of 8 and 4 with one reduction tree per group.
///
/// Callers guarantee `avx2` and `fma`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn gather(
    q: &[f32],
    words: &[u32],
    rec: usize,
    off: usize,
    ids: &[u32],
    out: &mut [f32],
    l2: bool,
) {
    let dim = q.len();
    let n = ids.len().min(out.len());
    let at = |id: u32| -> Option<*const f32> {
        let s = (id as usize).checked_mul(rec)?.checked_add(off)?;
        // u32 and f32 have the same size and alignment; every bit pattern
        // is a valid f32.
        words
            .get(s..s.checked_add(dim)?)
            .map(|w| w.as_ptr() as *const f32)
    };
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
        let mut ptrs = [core::ptr::null::<f32>(); GROUP];
        let mut ok = width > 1;
        for (p, &id) in ptrs.iter_mut().zip(&ids[i..i + width]) {
            match at(id) {
                Some(x) => *p = x,
                None => ok = false,
            }
        }
        let dst = &mut out[i..i + width];
        if ok {
            // SAFETY: every pointer in ptrs[..width] starts `dim` readable
            // floats (checked by `at`); same feature set.
            let sums = unsafe {
                if width == 8 {
                    score_group::<8>(q, &ptrs, l2)
                } else {
                    score_group::<4>(q, &ptrs, l2)
                }
            };
            let mut buf = [0f32; GROUP];
            // SAFETY: `buf` holds 8 floats.
            unsafe { _mm256_storeu_ps(buf.as_mut_ptr(), sums) };
            dst.copy_from_slice(&buf[..width]);
        } else {
            for (o, &id) in dst.iter_mut().zip(&ids[i..i + width]) {
                let v = match at(id) {
                    // SAFETY: `at` checked that `dim` floats follow.
                    Some(p) => unsafe { core::slice::from_raw_parts(p, dim) },
                    None => &[],
                };
                // SAFETY: same feature set.
                *o = unsafe { single(q, v, l2) };
            }
        }
        i += width;
    }
}

/// Distances from `q` to the `N` vectors at `ptrs[..N]` (each `q.len()`
/// floats), in lanes `0..N` of the result (other lanes zero); `N` is 4 or
/// 8. The query is walked once, one 8-float column for all `N` vectors at
/// a time.
///
/// Callers guarantee the pointers and `avx2` + `fma`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn score_group<const N: usize>(q: &[f32], ptrs: &[*const f32; GROUP], l2: bool) -> __m256 {
    let dim = q.len();
    let qp = q.as_ptr();
    let mut acc = [_mm256_setzero_ps(); GROUP];
    let mut k = 0;
    // SAFETY: full loads read [k, k + 8) with k + 8 <= dim from the query
    // and from vectors the caller vouched for; tails are masked below dim.
    unsafe {
        while k + 8 <= dim {
            let qv = _mm256_loadu_ps(qp.add(k));
            for (a, p) in acc.iter_mut().zip(ptrs).take(N) {
                let x = _mm256_loadu_ps(p.add(k));
                *a = if l2 {
                    let d = _mm256_sub_ps(qv, x);
                    _mm256_fmadd_ps(d, d, *a)
                } else {
                    _mm256_fmadd_ps(qv, x, *a)
                };
            }
            k += 8;
        }
        if k < dim {
            let m = tail_mask(dim - k);
            let qv = _mm256_maskload_ps(qp.add(k), m);
            for (a, p) in acc.iter_mut().zip(ptrs).take(N) {
                let x = _mm256_maskload_ps(p.add(k), m);
                *a = if l2 {
                    let d = _mm256_sub_ps(qv, x);
                    _mm256_fmadd_ps(d, d, *a)
                } else {
                    _mm256_fmadd_ps(qv, x, *a)
                };
            }
        }
    }
    finish(sum8(&acc), l2)
}

/// Register-blocked product of 8 queries with a packed panel of 32 rows,
/// `out[i * 32 + j] = dot(q[i][..dim], row_j)` (row j's element k at
/// `panel[k * 32 + j]`), the AVX2 form of `avx512::panel_8x32`.
///
/// Sixteen registers hold a 4-query x 16-row tile (eight accumulators, two
/// panel loads, one broadcast), so the 8 x 32 product is four sweeps over
/// the panel, which stays in L1/L2 between them.
///
/// Callers guarantee `panel.len() >= dim * 32`, every `q[i].len() >= dim`,
/// and `avx2` + `fma`.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn panel_8x32(q: [&[f32]; 8], panel: &[f32], dim: usize, out: &mut [f32; 256]) {
    for qh in 0..2 {
        for rh in 0..2 {
            // SAFETY: the caller's length guarantees cover every tile.
            unsafe { tile_4x16(&q[qh * 4..qh * 4 + 4], panel, dim, rh * 16, qh * 4, out) };
        }
    }
}

/// Queries `q[0..4]` (output rows `q0..q0+4`) against panel columns
/// `c0..c0+16`.
///
/// Callers guarantee what [`panel_8x32`] requires, `q.len() == 4`,
/// `c0 + 16 <= 32` and `q0 + 4 <= 8`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_4x16(
    q: &[&[f32]],
    panel: &[f32],
    dim: usize,
    c0: usize,
    q0: usize,
    out: &mut [f32; 256],
) {
    let pp = panel.as_ptr();
    let (q0p, q1p, q2p, q3p) = (q[0].as_ptr(), q[1].as_ptr(), q[2].as_ptr(), q[3].as_ptr());
    let z = _mm256_setzero_ps();
    let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
    let (mut b0, mut b1, mut b2, mut b3) = (z, z, z, z);
    // SAFETY: k < dim, so panel reads [k*32 + c0, k*32 + c0 + 16) lie below
    // dim*32 <= panel.len(), and query reads at k lie below dim <= q[i].len().
    unsafe {
        for k in 0..dim {
            let p0 = _mm256_loadu_ps(pp.add(k * 32 + c0));
            let p1 = _mm256_loadu_ps(pp.add(k * 32 + c0 + 8));
            let s = _mm256_broadcast_ss(&*q0p.add(k));
            a0 = _mm256_fmadd_ps(s, p0, a0);
            b0 = _mm256_fmadd_ps(s, p1, b0);
            let s = _mm256_broadcast_ss(&*q1p.add(k));
            a1 = _mm256_fmadd_ps(s, p0, a1);
            b1 = _mm256_fmadd_ps(s, p1, b1);
            let s = _mm256_broadcast_ss(&*q2p.add(k));
            a2 = _mm256_fmadd_ps(s, p0, a2);
            b2 = _mm256_fmadd_ps(s, p1, b2);
            let s = _mm256_broadcast_ss(&*q3p.add(k));
            a3 = _mm256_fmadd_ps(s, p0, a3);
            b3 = _mm256_fmadd_ps(s, p1, b3);
        }
        let o = out.as_mut_ptr();
        for (i, (a, b)) in [(a0, b0), (a1, b1), (a2, b2), (a3, b3)]
            .into_iter()
            .enumerate()
        {
            let at = (q0 + i) * 32 + c0;
            _mm256_storeu_ps(o.add(at), a);
            _mm256_storeu_ps(o.add(at + 8), b);
        }
    }
}
