//! AVX-512 scans of one query against many vectors: consecutive rows
//! (`dist_rows`, `dist_rows_stream`) or graph nodes in a record arena
//! (`gather`), sixteen (or eight, or four) vectors at a time.
//!
//! A per-row kernel ends every row with a horizontal sum (a chain of
//! shuffles and adds) and reloads the query; on short rows (GloVe's 50
//! floats are four vectors) that overhead is as large as the arithmetic.
//! Here sixteen row accumulators stay in registers while the query is
//! walked once per group, and the sixteen horizontal sums are done
//! together by a transpose-and-add tree (15 adds, 30 shuffles) that ends
//! with the sixteen distances in one register.
//!
//! That order (all sixteen rows for one 16-float column, then the next
//! column) is the fastest while the rows sit in cache, but it walks memory
//! back and forth across the group and defeats the hardware streamer when
//! rows come from DRAM. Long single-query scans therefore use
//! [`dist_rows_stream`], which reads strictly in address order with 256-bit
//! loads: on current AMD and Intel cores a 512-bit load that straddles two
//! cache lines (most of them, for 200-byte GloVe rows) costs a quarter of
//! the streaming bandwidth, a 256-bit one much less.
//!
//! Callers must have detected `avx512f` (and `avx512vl` for the stream
//! kernel).

use core::arch::x86_64::*;

/// Rows scored per group (one accumulator register each).
const GROUP: usize = 16;

/// Distances from `q` to consecutive `dim`-wide rows of `rows` into `out`
/// (as many as both hold): squared L2 when `l2`, else `-dot`.
///
/// Callers guarantee the `avx512f` feature.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn dist_rows(q: &[f32], rows: &[f32], dim: usize, out: &mut [f32], l2: bool) {
    if dim == 0 || q.len() < dim {
        return;
    }
    let n = out.len().min(rows.len() / dim);
    let groups = n / GROUP;
    // Two groups ahead: lists and blocks come from memory in short runs,
    // where the hardware streamer has not yet caught on.
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
        let ptrs: [*const f32; GROUP] = core::array::from_fn(|r| block[r * dim..].as_ptr());
        // SAFETY: each pointer starts one of the GROUP rows of `block`, `dim`
        // floats each, and `q` holds at least `dim`; same feature set.
        let d = unsafe { score_group::<GROUP>(&q[..dim], &ptrs, l2) };
        // SAFETY: out[g*16 .. g*16+16] is in bounds because g < n / 16.
        unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(g * GROUP), d) };
    }
    for i in groups * GROUP..n {
        // SAFETY: same feature set.
        out[i] = unsafe { single(q, &rows[i * dim..(i + 1) * dim], l2) };
    }
}

/// One distance, for what is left after the groups.
///
/// Callers guarantee `avx512f`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn single(q: &[f32], r: &[f32], l2: bool) -> f32 {
    // SAFETY: same feature set; the kernels bound reads by the slices.
    unsafe {
        if l2 {
            super::avx512::l2sq(q, r)
        } else {
            super::avx512::neg_dot(q, r)
        }
    }
}

/// Lane r of the result is the sum of the 16 lanes of `v[r]`.
///
/// Three rounds halve the register count while doubling how many rows each
/// register carries partial sums for: within 128-bit lanes by unpacking
/// floats, then pairs, then across 128-bit lanes by `shuffle_f32x4`.
#[inline]
#[target_feature(enable = "avx512f")]
fn sum16(v: &[__m512; 16]) -> __m512 {
    // Round 1: t[i] holds rows 2i, 2i+1 as [a, b, a, b] per 128-bit lane.
    let mut t = [_mm512_setzero_ps(); 8];
    for (i, t) in t.iter_mut().enumerate() {
        let (a, b) = (v[2 * i], v[2 * i + 1]);
        *t = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    }
    // Round 2: u[i] holds rows 4i..4i+4 in order, per 128-bit lane.
    let mut u = [_mm512_setzero_ps(); 4];
    for (i, u) in u.iter_mut().enumerate() {
        let (a, b) = (_mm512_castps_pd(t[2 * i]), _mm512_castps_pd(t[2 * i + 1]));
        *u = _mm512_add_ps(
            _mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
            _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)),
        );
    }
    // Round 3: 128-bit lanes [L0+L1, L2+L3] of rows 8i..8i+4, then of the
    // next four rows, giving w[i] = [r0-3 half, r0-3 half, r4-7 half, r4-7 half].
    let mut w = [_mm512_setzero_ps(); 2];
    for (i, w) in w.iter_mut().enumerate() {
        let (a, b) = (u[2 * i], u[2 * i + 1]);
        *w = _mm512_add_ps(
            _mm512_shuffle_f32x4::<0b10_00_10_00>(a, b),
            _mm512_shuffle_f32x4::<0b11_01_11_01>(a, b),
        );
    }
    // Round 4: fold the two halves of each group of four rows.
    _mm512_add_ps(
        _mm512_shuffle_f32x4::<0b10_00_10_00>(w[0], w[1]),
        _mm512_shuffle_f32x4::<0b11_01_11_01>(w[0], w[1]),
    )
}

/// Like [`dist_rows`], for long scans from memory: rows are read in address
/// order, 256 bits at a time, sixteen rows per reduction tree.
///
/// Callers guarantee the `avx512f` and `avx512vl` features.
#[target_feature(enable = "avx512f,avx512vl")]
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
    for g in 0..groups {
        let block = &rows[g * GROUP * dim..(g + 1) * GROUP * dim];
        let mut acc = [_mm256_setzero_ps(); GROUP];
        for (r, a) in acc.iter_mut().enumerate() {
            // SAFETY: row r of `block` and the query hold `dim` floats;
            // same feature set as this function.
            *a = unsafe { row_acc256(q, &block[r * dim..(r + 1) * dim], l2) };
        }
        let (lo, hi) = sum16_256(&acc);
        let (lo, hi) = if l2 {
            (lo, hi)
        } else {
            let z = _mm256_setzero_ps();
            (_mm256_sub_ps(z, lo), _mm256_sub_ps(z, hi))
        };
        // SAFETY: out[g*16 .. g*16+16] is in bounds because g < n / 16.
        unsafe {
            _mm256_storeu_ps(out.as_mut_ptr().add(g * GROUP), lo);
            _mm256_storeu_ps(out.as_mut_ptr().add(g * GROUP + 8), hi);
        }
    }
    for i in groups * GROUP..n {
        // SAFETY: same feature set (plus avx512vl).
        out[i] = unsafe { single(q, &rows[i * dim..(i + 1) * dim], l2) };
    }
}

/// Per-lane partial sums of `(q - x)^2` (`l2`) or `q * x` over one row.
///
/// Callers guarantee `q.len() >= x.len()` and `avx512f` + `avx512vl`.
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
unsafe fn row_acc256(q: &[f32], x: &[f32], l2: bool) -> __m256 {
    let dim = x.len();
    let (qp, xp) = (q.as_ptr(), x.as_ptr());
    let mut a = _mm256_setzero_ps();
    let mut k = 0;
    // SAFETY: full loads read [k, k + 8) with k + 8 <= dim of both slices;
    // the tail loads are masked to lanes below dim.
    unsafe {
        while k + 8 <= dim {
            let (qv, xv) = (_mm256_loadu_ps(qp.add(k)), _mm256_loadu_ps(xp.add(k)));
            a = if l2 {
                let d = _mm256_sub_ps(qv, xv);
                _mm256_fmadd_ps(d, d, a)
            } else {
                _mm256_fmadd_ps(qv, xv, a)
            };
            k += 8;
        }
        if k < dim {
            let m = ((1u32 << (dim - k)) - 1) as __mmask8;
            let (qv, xv) = (
                _mm256_maskz_loadu_ps(m, qp.add(k)),
                _mm256_maskz_loadu_ps(m, xp.add(k)),
            );
            a = if l2 {
                let d = _mm256_sub_ps(qv, xv);
                _mm256_fmadd_ps(d, d, a)
            } else {
                _mm256_fmadd_ps(qv, xv, a)
            };
        }
    }
    a
}

/// Lane r of (lo, hi) is the sum of the 8 lanes of `v[r]` (rows 0-7 in
/// `lo`, 8-15 in `hi`): the 256-bit form of [`sum16`].
#[inline]
#[target_feature(enable = "avx512f,avx512vl")]
fn sum16_256(v: &[__m256; 16]) -> (__m256, __m256) {
    let mut t = [_mm256_setzero_ps(); 8];
    for (i, t) in t.iter_mut().enumerate() {
        let (a, b) = (v[2 * i], v[2 * i + 1]);
        *t = _mm256_add_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
    }
    let mut u = [_mm256_setzero_ps(); 4];
    for (i, u) in u.iter_mut().enumerate() {
        let (a, b) = (_mm256_castps_pd(t[2 * i]), _mm256_castps_pd(t[2 * i + 1]));
        *u = _mm256_add_ps(
            _mm256_castpd_ps(_mm256_unpacklo_pd(a, b)),
            _mm256_castpd_ps(_mm256_unpackhi_pd(a, b)),
        );
    }
    // Each u holds four rows per 128-bit lane; add the two lanes.
    let fold = |a: __m256, b: __m256| {
        _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(a, b),
            _mm256_permute2f128_ps::<0x31>(a, b),
        )
    };
    (fold(u[0], u[1]), fold(u[2], u[3]))
}

/// Distances from `q` to the vectors of graph nodes `ids` stored in a
/// record arena (`rec` words per node, vector at word `off`), into `out`:
/// the neighbours of one expanded node, scored in groups of 16, 8 and 4
/// with one reduction tree per group (a graph walk scores a handful to a
/// few dozen fresh neighbours per step).
///
/// Callers guarantee the `avx512f` feature.
#[target_feature(enable = "avx512f")]
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
        let width = if left >= 16 {
            16
        } else if left >= 8 {
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
                match width {
                    16 => score_group::<16>(q, &ptrs, l2),
                    8 => score_group::<8>(q, &ptrs, l2),
                    _ => score_group::<4>(q, &ptrs, l2),
                }
            };
            let mut buf = [0f32; GROUP];
            // SAFETY: `buf` holds 16 floats.
            unsafe { _mm512_storeu_ps(buf.as_mut_ptr(), sums) };
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
/// floats), in lanes `0..N` of the result; `N` is 4, 8 or 16. The query is
/// walked once per group, one 16-float column for all `N` vectors at a
/// time, so the accumulators stay in registers.
///
/// Callers guarantee the pointers and `avx512f`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn score_group<const N: usize>(q: &[f32], ptrs: &[*const f32; GROUP], l2: bool) -> __m512 {
    let dim = q.len();
    let qp = q.as_ptr();
    let mut acc = [_mm512_setzero_ps(); N];
    let mut k = 0;
    // SAFETY: full loads read [k, k + 16) with k + 16 <= dim from the query
    // and from vectors the caller vouched for; tails are masked below dim.
    unsafe {
        while k + 16 <= dim {
            let qv = _mm512_loadu_ps(qp.add(k));
            for (a, p) in acc.iter_mut().zip(ptrs) {
                let x = _mm512_loadu_ps(p.add(k));
                *a = if l2 {
                    let d = _mm512_sub_ps(qv, x);
                    _mm512_fmadd_ps(d, d, *a)
                } else {
                    _mm512_fmadd_ps(qv, x, *a)
                };
            }
            k += 16;
        }
        if k < dim {
            let m = ((1u32 << (dim - k)) - 1) as __mmask16;
            let qv = _mm512_maskz_loadu_ps(m, qp.add(k));
            for (a, p) in acc.iter_mut().zip(ptrs) {
                let x = _mm512_maskz_loadu_ps(m, p.add(k));
                *a = if l2 {
                    let d = _mm512_sub_ps(qv, x);
                    _mm512_fmadd_ps(d, d, *a)
                } else {
                    _mm512_fmadd_ps(qv, x, *a)
                };
            }
        }
    }
    let sums = match N {
        16 => {
            let mut v = [_mm512_setzero_ps(); 16];
            v.copy_from_slice(&acc[..16]);
            sum16(&v)
        }
        8 => {
            let mut v = [_mm512_setzero_ps(); 8];
            v.copy_from_slice(&acc[..8]);
            sum8(&v)
        }
        _ => {
            let mut v = [_mm512_setzero_ps(); 4];
            v.copy_from_slice(&acc[..4]);
            sum4(&v)
        }
    };
    if l2 {
        sums
    } else {
        _mm512_sub_ps(_mm512_setzero_ps(), sums)
    }
}

/// Lanes 0-7 of the result are the lane sums of `v[0..8]` (the first three
/// rounds of [`sum16`], then a fold of the 128-bit halves).
#[inline]
#[target_feature(enable = "avx512f")]
fn sum8(v: &[__m512; 8]) -> __m512 {
    let mut t = [_mm512_setzero_ps(); 4];
    for (i, t) in t.iter_mut().enumerate() {
        let (a, b) = (v[2 * i], v[2 * i + 1]);
        *t = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    }
    let mut u = [_mm512_setzero_ps(); 2];
    for (i, u) in u.iter_mut().enumerate() {
        let (a, b) = (_mm512_castps_pd(t[2 * i]), _mm512_castps_pd(t[2 * i + 1]));
        *u = _mm512_add_ps(
            _mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
            _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)),
        );
    }
    // w = [r0-3: L0+L2... halves], as in round 3 of `sum16`.
    let w = _mm512_add_ps(
        _mm512_shuffle_f32x4::<0b10_00_10_00>(u[0], u[1]),
        _mm512_shuffle_f32x4::<0b11_01_11_01>(u[0], u[1]),
    );
    _mm512_add_ps(
        _mm512_shuffle_f32x4::<0b10_00_10_00>(w, w),
        _mm512_shuffle_f32x4::<0b11_01_11_01>(w, w),
    )
}

/// Lanes 0-3 of the result are the lane sums of `v[0..4]`.
#[inline]
#[target_feature(enable = "avx512f")]
fn sum4(v: &[__m512; 4]) -> __m512 {
    let t0 = _mm512_add_ps(
        _mm512_unpacklo_ps(v[0], v[1]),
        _mm512_unpackhi_ps(v[0], v[1]),
    );
    let t1 = _mm512_add_ps(
        _mm512_unpacklo_ps(v[2], v[3]),
        _mm512_unpackhi_ps(v[2], v[3]),
    );
    let (a, b) = (_mm512_castps_pd(t0), _mm512_castps_pd(t1));
    // Rows 0-3 in order within every 128-bit lane; add the four lanes.
    let u = _mm512_add_ps(
        _mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
        _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)),
    );
    let h = _mm512_add_ps(u, _mm512_shuffle_f32x4::<0b01_00_11_10>(u, u));
    _mm512_add_ps(h, _mm512_shuffle_f32x4::<0b10_11_00_01>(h, h))
}
