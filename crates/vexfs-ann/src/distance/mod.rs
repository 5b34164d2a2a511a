//! Distance kernels and their dispatch.
//!
//! Every kernel exists as a portable scalar version (`scalar.rs`) and, on
//! x86-64 std builds, as SSE2, AVX2+FMA and AVX-512 versions. The best
//! supported set is chosen once, at first use, and cached in a static
//! [`Kernels`] table; hot loops copy the function pointer they need out of
//! it. `no_std` builds (the kernel module, soft-float) always use scalar.
//!
//! Setting the environment variable `VEXFS_ANN_SIMD` to `scalar`, `sse2`,
//! `avx2` or `avx512` caps the level chosen (std builds), which the
//! benchmark uses to compare kernels.

pub(crate) mod code_scan;
pub mod codes;
pub mod scalar;
pub mod sq8;
pub mod offload;
pub(crate) mod pq;
#[cfg(all(target_arch = "x86_64", any(feature = "std", feature = "fpu-executor")))]
pub(crate) mod x86;

use crate::metric::Metric;
pub(crate) use code_scan::CodeSpec;

type F32Fn = unsafe fn(&[f32], &[f32]) -> f32;
type Dot4Fn = unsafe fn([&[f32]; 4], &[f32]) -> [f32; 4];
type U8Fn = unsafe fn(&[u8], &[u8]) -> u32;
type I8Fn = unsafe fn(&[i8], &[i8]) -> i32;
type RowsFn = unsafe fn(&[f32], &[f32], usize, &mut [f32], bool);
type GatherFn = unsafe fn(&[f32], &[u32], usize, usize, &[u32], &mut [f32], bool);
type PanelFn = unsafe fn([&[f32]; 8], &[f32], usize, &mut [f32; 256]);
type CodeFn = unsafe fn(&[f32], &[u8]) -> f32;
type Sq8L2Fn = unsafe fn(&[f32], &[f32], &[u8]) -> f32;
type CodeRowsFn = unsafe fn(&CodeSpec<'_>, &[u8], &mut [f32]);
type CodeGatherFn = unsafe fn(&CodeSpec<'_>, &[u32], usize, usize, &[u32], &mut [f32]);

/// Rows in one packed panel for [`Kernels::panel_dots`].
pub const PANEL_ROWS: usize = 32;
/// Queries handled by one [`Kernels::panel_dots`] call.
pub const PANEL_QUERIES: usize = 8;

/// One complete set of kernels for one instruction-set level.
///
/// The fields are private function pointers; a table can only be obtained
/// from [`kernels`] or [`available`], which construct SIMD tables only after
/// detecting the CPU features they need. That is what makes the safe
/// methods below sound.
#[derive(Clone, Copy)]
pub struct Kernels {
    name: &'static str,
    l2sq: F32Fn,
    dot: F32Fn,
    neg_dot: F32Fn,
    dot4: Dot4Fn,
    l2sq_u8: U8Fn,
    dot_i8: I8Fn,
    panel: Option<PanelFn>,
    rows: RowsFn,
    stream: RowsFn,
    gather: GatherFn,
    f16_l2sq: CodeFn,
    f16_dot: CodeFn,
    sq8_l2: Sq8L2Fn,
    sq8_dot: CodeFn,
    code_rows: CodeRowsFn,
    code_gather: CodeGatherFn,
}

impl core::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Kernels").field("name", &self.name).finish()
    }
}

impl Kernels {
    /// Instruction-set level name: `scalar`, `sse2`, `avx2` or `avx512`.
    pub fn name(&self) -> &'static str {
        self.name
    }
    /// Squared Euclidean distance over the common prefix of `a` and `b`.
    #[inline(always)]
    pub fn l2sq(&self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: the table was built only after its CPU features were
        // detected (see `Kernels` docs); the kernels bound all reads by the
        // shorter slice.
        unsafe { (self.l2sq)(a, b) }
    }
    /// Dot product.
    #[inline(always)]
    pub fn dot(&self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: as in `l2sq`.
        unsafe { (self.dot)(a, b) }
    }
    /// `-dot(a, b)`, the inner-product distance.
    #[inline(always)]
    pub fn neg_dot(&self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: as in `l2sq`.
        unsafe { (self.neg_dot)(a, b) }
    }
    /// Dot products of four queries with one row (shares the row loads).
    #[inline(always)]
    pub fn dot4(&self, q: [&[f32]; 4], row: &[f32]) -> [f32; 4] {
        // SAFETY: as in `l2sq`.
        unsafe { (self.dot4)(q, row) }
    }
    /// Squared L2 between u8 codes, exact integer arithmetic.
    #[inline(always)]
    pub fn l2sq_u8(&self, a: &[u8], b: &[u8]) -> u32 {
        // SAFETY: as in `l2sq`.
        unsafe { (self.l2sq_u8)(a, b) }
    }
    /// Dot product of i8 codes, exact integer arithmetic.
    #[inline(always)]
    pub fn dot_i8(&self, a: &[i8], b: &[i8]) -> i32 {
        // SAFETY: as in `l2sq`.
        unsafe { (self.dot_i8)(a, b) }
    }
    /// Squared L2 between `q` and an f16 vector (little-endian halves).
    #[inline(always)]
    pub fn f16_l2sq(&self, q: &[f32], code: &[u8]) -> f32 {
        // SAFETY: as in `l2sq`.
        unsafe { (self.f16_l2sq)(q, code) }
    }
    /// Dot product of `q` with an f16 vector.
    #[inline(always)]
    pub fn f16_dot(&self, q: &[f32], code: &[u8]) -> f32 {
        // SAFETY: as in `l2sq`.
        unsafe { (self.f16_dot)(q, code) }
    }
    /// `sum (q - step * code)^2` over an SQ8 vector (see
    /// [`codes::sq8_l2`]).
    #[inline(always)]
    pub fn sq8_l2(&self, q: &[f32], step: &[f32], code: &[u8]) -> f32 {
        // SAFETY: as in `l2sq`.
        unsafe { (self.sq8_l2)(q, step, code) }
    }
    /// `sum a * code` over an SQ8 vector (see [`codes::sq8_dot`]).
    #[inline(always)]
    pub fn sq8_dot(&self, a: &[f32], code: &[u8]) -> f32 {
        // SAFETY: as in `l2sq`.
        unsafe { (self.sq8_dot)(a, code) }
    }
    /// Distances from a prepared code query to consecutive stored f16 /
    /// SQ8 vectors (`s.code_len()` bytes each) into `out`.
    #[inline(always)]
    pub(crate) fn code_rows(&self, s: &CodeSpec<'_>, rows: &[u8], out: &mut [f32]) {
        // SAFETY: as in `l2sq`; the kernels bound every read by `rows`.
        unsafe { (self.code_rows)(s, rows, out) }
    }
    /// Distances from a prepared code query to the codes of nodes `ids` in
    /// a record arena (`rec` words a node, codes from word `off`).
    #[inline(always)]
    pub(crate) fn code_gather(
        &self,
        s: &CodeSpec<'_>,
        words: &[u32],
        rec: usize,
        off: usize,
        ids: &[u32],
        out: &mut [f32],
    ) {
        // SAFETY: as in `l2sq`; the kernels bound-check every id.
        unsafe { (self.code_gather)(s, words, rec, off, ids, out) }
    }
    /// Distances (squared L2 when `l2`, else `-dot`) from `q` to each
    /// `dim`-wide row of `rows`, written to `out` (as many as fit).
    #[inline(always)]
    pub fn dist_rows(&self, q: &[f32], rows: &[f32], dim: usize, out: &mut [f32], l2: bool) {
        if dim == 0 || q.len() < dim {
            return;
        }
        // SAFETY: as in `l2sq`; `q` holds at least `dim` values.
        unsafe { (self.rows)(q, rows, dim, out, l2) }
    }
    /// [`Kernels::dist_rows`] for long scans of rows that come from memory
    /// rather than cache (one query against a whole exact index): reads in
    /// address order with loads that suit the hardware streamer.
    #[inline(always)]
    pub fn dist_rows_stream(&self, q: &[f32], rows: &[f32], dim: usize, out: &mut [f32], l2: bool) {
        if dim == 0 || q.len() < dim {
            return;
        }
        // SAFETY: as in `l2sq`; `q` holds at least `dim` values.
        unsafe { (self.stream)(q, rows, dim, out, l2) }
    }
    /// Distances from `q` to the vectors of `ids` in a node-record arena
    /// (`rec` words per node, vector at word `off`, stored as f32 bits).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn gather(
        &self,
        q: &[f32],
        words: &[u32],
        rec: usize,
        off: usize,
        ids: &[u32],
        out: &mut [f32],
        l2: bool,
    ) {
        // SAFETY: as in `l2sq`; the gather kernels bound-check every slice.
        unsafe { (self.gather)(q, words, rec, off, ids, out, l2) }
    }
    /// Whether [`Kernels::panel_dots`] is available (AVX2 and AVX-512).
    pub fn has_panel(&self) -> bool {
        self.panel.is_some()
    }
    /// Dot products of 8 queries with a packed panel of 32 rows (row j's
    /// element k at `panel[k * 32 + j]`) into `out[i * 32 + j]`. Returns
    /// false (and leaves `out` alone) when unsupported or when a slice is
    /// shorter than `dim` requires.
    #[inline]
    pub fn panel_dots(
        &self,
        q: [&[f32]; 8],
        panel: &[f32],
        dim: usize,
        out: &mut [f32; 256],
    ) -> bool {
        let Some(f) = self.panel else { return false };
        if panel.len() < dim.saturating_mul(PANEL_ROWS) || q.iter().any(|x| x.len() < dim) {
            return false;
        }
        // SAFETY: lengths checked above; the table only holds `panel` after
        // detecting the features of its level (AVX2+FMA or AVX-512F).
        unsafe { f(q, panel, dim, out) };
        true
    }
    /// The raw distance function for `metric` (L2: squared L2; inner
    /// product and cosine: `-dot`). Indexes copy this pointer into their
    /// hot loops.
    #[inline]
    pub(crate) fn dist_fn(&self, metric: Metric) -> DistFn {
        DistFn(match metric {
            Metric::L2 => self.l2sq,
            Metric::InnerProduct | Metric::Cosine => self.neg_dot,
        })
    }
}

/// A distance function copied out of a [`Kernels`] table.
#[derive(Clone, Copy)]
pub(crate) struct DistFn(F32Fn);

impl DistFn {
    #[inline(always)]
    pub(crate) fn eval(self, a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: a `DistFn` only comes from `Kernels::dist_fn`, whose table
        // was built after feature detection.
        unsafe { (self.0)(a, b) }
    }
}

/// The portable table.
pub static SCALAR: Kernels = Kernels {
    name: "scalar",
    l2sq: scalar::l2sq,
    dot: scalar::dot,
    neg_dot: scalar::neg_dot,
    dot4: scalar::dot4,
    l2sq_u8: scalar::l2sq_u8,
    dot_i8: scalar::dot_i8,
    panel: None,
    rows: scalar_rows,
    stream: scalar_rows,
    gather: scalar_gather,
    f16_l2sq: codes::f16_l2sq,
    f16_dot: codes::f16_dot,
    sq8_l2: codes::sq8_l2,
    sq8_dot: codes::sq8_dot,
    code_rows: code_scan::scalar_rows,
    code_gather: code_scan::scalar_gather,
};

/// Gather with the portable pair kernels.
fn scalar_gather(
    q: &[f32],
    words: &[u32],
    rec: usize,
    off: usize,
    ids: &[u32],
    out: &mut [f32],
    l2: bool,
) {
    gather_pairs(scalar::l2sq, scalar::neg_dot, q, words, rec, off, ids, out, l2);
}

/// Gather with one pair kernel per id (ids out of range score against an
/// empty vector, as the SIMD gathers do).
#[allow(clippy::too_many_arguments)]
fn gather_pairs(
    l2sq: F32Fn,
    neg_dot: F32Fn,
    q: &[f32],
    words: &[u32],
    rec: usize,
    off: usize,
    ids: &[u32],
    out: &mut [f32],
    l2: bool,
) {
    let dim = q.len();
    for (o, &id) in out.iter_mut().zip(ids) {
        let s = (id as usize).saturating_mul(rec).saturating_add(off);
        let w = words.get(s..s.saturating_add(dim)).unwrap_or(&[]);
        // SAFETY: u32 and f32 have the same size and alignment and every
        // bit pattern is a valid f32.
        let v = unsafe { core::slice::from_raw_parts(w.as_ptr() as *const f32, w.len()) };
        // SAFETY: the pair kernels come from a table built after feature
        // detection (or are baseline); they bound-check their slices.
        *o = unsafe {
            if l2 {
                l2sq(q, v)
            } else {
                neg_dot(q, v)
            }
        };
    }
}

fn scalar_rows(q: &[f32], rows: &[f32], dim: usize, out: &mut [f32], l2: bool) {
    for (o, r) in out.iter_mut().zip(rows.chunks_exact(dim.max(1))) {
        *o = if l2 {
            scalar::l2sq(q, r)
        } else {
            -scalar::dot(q, r)
        };
    }
}

/// The SSE2 table: baseline on x86-64, so no detection. Also what the
/// kernel module's FPU object runs (`offload::execute`).
#[cfg(all(target_arch = "x86_64", any(feature = "std", feature = "fpu-executor")))]
mod sse2_table {
    use super::*;

    fn sse2_rows(q: &[f32], rows: &[f32], dim: usize, out: &mut [f32], l2: bool) {
        for (o, r) in out.iter_mut().zip(rows.chunks_exact(dim.max(1))) {
            *o = if l2 {
                x86::sse2::l2sq(q, r)
            } else {
                x86::sse2::neg_dot(q, r)
            };
        }
    }

    fn sse2_gather(
        q: &[f32],
        words: &[u32],
        rec: usize,
        off: usize,
        ids: &[u32],
        out: &mut [f32],
        l2: bool,
    ) {
        gather_pairs(x86::sse2::l2sq, x86::sse2::neg_dot, q, words, rec, off, ids, out, l2);
    }

    pub(crate) const fn sse2() -> Kernels {
        Kernels {
            name: "sse2",
            l2sq: x86::sse2::l2sq,
            dot: x86::sse2::dot,
            neg_dot: x86::sse2::neg_dot,
            dot4: x86::sse2::dot4,
            l2sq_u8: x86::sse2::l2sq_u8,
            dot_i8: scalar::dot_i8,
            panel: None,
            rows: sse2_rows,
            stream: sse2_rows,
            gather: sse2_gather,
            f16_l2sq: codes::f16_l2sq,
            f16_dot: codes::f16_dot,
            sq8_l2: codes::sq8_l2,
            sq8_dot: codes::sq8_dot,
            code_rows: code_scan::scalar_rows,
            code_gather: code_scan::scalar_gather,
        }
    }
}
#[cfg(all(target_arch = "x86_64", any(feature = "std", feature = "fpu-executor")))]
pub(crate) use sse2_table::sse2;

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod detect {
    use super::*;

    pub(super) fn avx2() -> Option<Kernels> {
        if !(std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")) {
            return None;
        }
        let mut k = Kernels {
            name: "avx2",
            l2sq: x86::avx2::l2sq,
            dot: x86::avx2::dot,
            neg_dot: x86::avx2::neg_dot,
            dot4: x86::avx2::dot4,
            l2sq_u8: x86::avx2::l2sq_u8,
            dot_i8: x86::avx2::dot_i8,
            panel: Some(x86::avx2_rows::panel_8x32),
            rows: x86::avx2_rows::dist_rows,
            stream: x86::avx2_rows::dist_rows_stream,
            gather: x86::avx2_rows::gather,
            f16_l2sq: codes::f16_l2sq,
            f16_dot: codes::f16_dot,
            sq8_l2: x86::avx2_codes::sq8_l2,
            sq8_dot: x86::avx2_codes::sq8_dot,
            code_rows: code_scan::scalar_rows,
            code_gather: code_scan::scalar_gather,
        };
        // F16C comes with every AVX2 CPU in practice, but is its own flag.
        if std::is_x86_feature_detected!("f16c") {
            k.f16_l2sq = x86::avx2_codes::f16_l2sq;
            k.f16_dot = x86::avx2_codes::f16_dot;
            k.code_rows = x86::avx2_code_rows::rows;
            k.code_gather = x86::avx2_code_rows::gather;
        }
        Some(k)
    }

    pub(super) fn avx512() -> Option<Kernels> {
        if !std::is_x86_feature_detected!("avx512f") {
            return None;
        }
        let mut k = Kernels {
            name: "avx512",
            l2sq: x86::avx512::l2sq,
            dot: x86::avx512::dot,
            neg_dot: x86::avx512::neg_dot,
            dot4: x86::avx512::dot4,
            l2sq_u8: scalar::l2sq_u8,
            dot_i8: scalar::dot_i8,
            panel: Some(x86::avx512::panel_8x32),
            rows: x86::avx512_rows::dist_rows,
            stream: x86::avx512_rows::dist_rows,
            gather: x86::avx512_rows::gather,
            f16_l2sq: x86::avx512_codes::f16_l2sq,
            f16_dot: x86::avx512_codes::f16_dot,
            sq8_l2: x86::avx512_codes::sq8_l2,
            sq8_dot: x86::avx512_codes::sq8_dot,
            code_rows: code_scan::scalar_rows,
            code_gather: code_scan::scalar_gather,
        };
        // The grouped code scans are AVX2 ones (see `avx2_code_rows`).
        if let Some(a) = avx2() {
            k.code_rows = a.code_rows;
            k.code_gather = a.code_gather;
        }
        if std::is_x86_feature_detected!("avx512vl") {
            k.stream = x86::avx512_rows::dist_rows_stream;
        }
        if std::is_x86_feature_detected!("avx512bw") {
            k.l2sq_u8 = x86::avx512::l2sq_u8;
            k.dot_i8 = x86::avx512::dot_i8;
        } else if let Some(a) = avx2() {
            k.l2sq_u8 = a.l2sq_u8;
            k.dot_i8 = a.dot_i8;
        }
        Some(k)
    }
}

/// Every kernel table this CPU supports, best last (scalar first).
#[cfg(feature = "std")]
pub fn available() -> std::vec::Vec<Kernels> {
    #[allow(unused_mut)]
    let mut v = std::vec![SCALAR];
    #[cfg(target_arch = "x86_64")]
    {
        v.push(sse2());
        v.extend(detect::avx2());
        v.extend(detect::avx512());
    }
    v
}

#[cfg(feature = "std")]
fn choose() -> Kernels {
    let cap = std::env::var("VEXFS_ANN_SIMD").ok();
    let all = available();
    if let Some(cap) = cap {
        if let Some(k) = all.iter().find(|k| k.name == cap.trim()) {
            return *k;
        }
    }
    // invariant: `available` always contains at least the scalar table.
    all.last().copied().unwrap_or(SCALAR)
}

/// The kernel table chosen for this process (detected once).
#[cfg(feature = "std")]
#[inline]
pub fn kernels() -> &'static Kernels {
    static K: std::sync::OnceLock<Kernels> = std::sync::OnceLock::new();
    K.get_or_init(choose)
}

/// The kernel table in `no_std` builds: scalar, or the float kernels
/// handed to an FPU section once the embedder installed one (the kernel
/// module, see [`offload`]).
#[cfg(not(feature = "std"))]
#[inline]
pub fn kernels() -> &'static Kernels {
    if offload::installed() {
        &offload::OFFLOAD
    } else {
        &SCALAR
    }
}

/// Hint the CPU to pull the cache line at `p` into L1. No-op where
/// unsupported; never faults (prefetch of any address is allowed).
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    // SAFETY: `_mm_prefetch` is SSE (x86-64 baseline) and is only a hint:
    // it does not dereference in the architectural sense and cannot fault.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
    let _ = p;
}

/// Distance of `query` to every row of `rows` (row-major, `dim` wide),
/// written to `out` (which must hold `rows.len() / dim` values).
pub fn distance_batch(metric: Metric, query: &[f32], rows: &[f32], dim: usize, out: &mut [f32]) {
    if dim == 0 {
        return;
    }
    let f = kernels().dist_fn(metric);
    for (o, r) in out.iter_mut().zip(rows.chunks_exact(dim)) {
        *o = f.eval(query, r);
    }
}

/// Scale a vector to unit length in place (zero vectors stay zero).
pub fn normalize(v: &mut [f32]) {
    let n = kernels().dot(v, v);
    if n > 0.0 {
        let inv = 1.0 / libm::sqrtf(n);
        for x in v.iter_mut() {
            *x *= inv;
        }
    }
}

/// Convert an internal distance (squared L2 or `-dot`) to the reported one:
/// cosine distances are `1 - cos`.
#[inline]
pub(crate) fn report(metric: Metric, d: f32) -> f32 {
    match metric {
        Metric::Cosine => 1.0 + d,
        _ => d,
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The portable kernels give the SSE2 kernels' bits (same summation
    /// order), for lengths that exercise the 8- and 4-wide steps and tails.
    #[test]
    fn scalar_gives_the_sse2_bits() {
        let Some(sse2) = available().into_iter().find(|k| k.name() == "sse2") else {
            return;
        };
        let mut rng = Rng::new(11);
        for n in (0usize..40).chain([50, 64, 100, 127, 128, 300, 960]) {
            for _ in 0..20 {
                let a: std::vec::Vec<f32> = (0..n).map(|_| rng.normal()).collect();
                let b: std::vec::Vec<f32> = (0..n).map(|_| rng.normal() * 3.0).collect();
                assert_eq!(SCALAR.l2sq(&a, &b).to_bits(), sse2.l2sq(&a, &b).to_bits(), "l2sq {n}");
                assert_eq!(SCALAR.dot(&a, &b).to_bits(), sse2.dot(&a, &b).to_bits(), "dot {n}");
                let rows: std::vec::Vec<f32> = a.iter().chain(&b).copied().collect();
                for l2 in [true, false] {
                    let (mut x, mut y) = ([0f32; 2], [0f32; 2]);
                    SCALAR.dist_rows(&a, &rows, n, &mut x, l2);
                    sse2.dist_rows(&a, &rows, n, &mut y, l2);
                    assert_eq!(x.map(f32::to_bits), y.map(f32::to_bits), "rows {n} {l2}");
                }
            }
        }
    }

    /// Every table's arena gather agrees with the scalar distance, for
    /// group sizes that exercise the 16/8/4/1 paths and ids out of range.
    #[test]
    fn gather_matches_scalar() {
        let mut rng = Rng::new(5);
        for dim in [1usize, 5, 16, 17, 50, 64, 100, 128] {
            // Records of any word count: packed HNSW records are not
            // rounded to lines or 16 bytes.
            let off = 33;
            let rec = off + dim + dim % 3;
            let nodes = 40;
            let words: std::vec::Vec<u32> =
                (0..nodes * rec).map(|_| rng.normal().to_bits()).collect();
            let q: std::vec::Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
            for count in [0usize, 1, 3, 4, 7, 8, 13, 16, 29, 31] {
                let mut ids: std::vec::Vec<u32> =
                    (0..count).map(|_| rng.below(nodes) as u32).collect();
                if count == 13 {
                    ids[5] = u32::MAX; // out of range: scored against nothing
                }
                for k in available() {
                    for l2 in [true, false] {
                        let mut out = std::vec![f32::NAN; count];
                        k.gather(&q, &words, rec, off, &ids, &mut out, l2);
                        for (&o, &id) in out.iter().zip(&ids) {
                            let s = id as usize * rec + off;
                            let v: std::vec::Vec<f32> = match words.get(s..s + dim) {
                                Some(w) => w.iter().map(|&b| f32::from_bits(b)).collect(),
                                None => std::vec::Vec::new(),
                            };
                            let e = if l2 {
                                SCALAR.l2sq(&q, &v)
                            } else {
                                SCALAR.neg_dot(&q, &v)
                            };
                            assert!(
                                (o - e).abs() <= 1e-4 * (1.0 + e.abs()),
                                "{} gather dim {dim} count {count}: {o} vs {e}",
                                k.name()
                            );
                        }
                    }
                }
            }
        }
    }
}
