//! Float kernels run by another copy of this crate, in an FPU section.
//!
//! The kernel module builds the crate soft-float: general kernel code may
//! not touch FPU or SIMD registers, and soft-float distance arithmetic is
//! about nine times slower than SSE2. So the module also links a second
//! copy of the crate built for SSE2 (`crates/vexfs-kfpu`), and the
//! soft-float copy hands each float kernel call to it through one C entry
//! point that brackets the call with `kernel_fpu_begin()` /
//! `kernel_fpu_end()`.
//!
//! Only integers and pointers cross, because the two copies pass floats
//! differently: a call is an [`OffloadCall`] naming the kernel and its
//! slices, and the results come back through its `out` pointer. The
//! soft-float side registers the entry point with [`install`]; from then on
//! `kernels()` (no_std) returns [`OFFLOAD`], whose float kernels are the
//! wrappers below and whose integer and code kernels stay local. The SSE2
//! side runs a call with [`execute`].
//!
//! Since the portable kernels sum in the SSE2 kernels' order, results do
//! not depend on whether a call was handed over.

use super::{Kernels, SCALAR};
use core::sync::atomic::{AtomicPtr, Ordering};

/// Pair distance: squared L2 when `l2` is set, else the dot product;
/// `out[0]`.
pub const OP_PAIR: u32 = 1;
/// Dot products of the four queries `q` with the row `b`: `out[0..4]`.
pub const OP_DOT4: u32 = 2;
/// Distances (squared L2, or `-dot`) from `a` to each `dim`-wide row of
/// `b`: `out[0..rows]`.
pub const OP_ROWS: u32 = 3;
/// Distances from `a` to the arena vectors of `ids` (`rec` words per node,
/// vector at word `off`; `b` is the arena as f32 bits): `out[0..ids]`.
pub const OP_GATHER: u32 = 4;
/// The IVF-PQ query table of `a` (`rec` sub-quantisers of `dim`
/// dimensions, `off` codewords) from the transposed codebooks `b`, `-2`
/// scaled for `l2`: `out[0..rec * 256]`, zeroed by the caller.
pub const OP_PQ_TABLE: u32 = 5;
/// ADC distances of `codes` (`rec` bytes each) from the table `a`, each
/// started at `q[0][0]` plus `b[i]` (when `b` is not empty): `out[0..n]`.
pub const OP_ADC: u32 = 6;

/// One kernel call, as it crosses between the two copies of the crate.
/// Every pointer comes from a live slice of the stated length (dangling
/// but aligned when empty); `out` is written, nothing else.
#[repr(C)]
#[derive(Debug)]
pub struct OffloadCall {
    /// One of the `OP_*` constants.
    pub op: u32,
    /// 1: squared L2; 0: dot product (negated where the op says so).
    pub l2: u32,
    /// First vector (the query).
    pub a: *const f32,
    /// Length of `a`.
    pub a_len: usize,
    /// Second vector, the rows, or the arena.
    pub b: *const f32,
    /// Length of `b`.
    pub b_len: usize,
    /// The four queries of [`OP_DOT4`].
    pub q: [*const f32; 4],
    /// Their lengths.
    pub q_len: [usize; 4],
    /// Node ids of [`OP_GATHER`].
    pub ids: *const u32,
    /// Number of ids.
    pub ids_len: usize,
    /// Row width of [`OP_ROWS`].
    pub dim: usize,
    /// Words per node record of [`OP_GATHER`].
    pub rec: usize,
    /// Word offset of the vector in a record.
    pub off: usize,
    /// PQ codes of [`OP_ADC`].
    pub codes: *const u8,
    /// Their length in bytes.
    pub codes_len: usize,
    /// Results.
    pub out: *mut f32,
    /// Room in `out`.
    pub out_len: usize,
}

impl OffloadCall {
    /// A call of `op` on `a` into `out`, with every other slice empty and
    /// every other field 0 (the wrappers then set what their op reads).
    pub fn new(op: u32, l2: bool, a: &[f32], out: &mut [f32]) -> Self {
        let none = [].as_ptr();
        Self {
            op,
            l2: l2 as u32,
            a: a.as_ptr(),
            a_len: a.len(),
            b: none,
            b_len: 0,
            q: [none; 4],
            q_len: [0; 4],
            ids: [].as_ptr(),
            ids_len: 0,
            dim: 0,
            rec: 0,
            off: 0,
            codes: [].as_ptr(),
            codes_len: 0,
            out: out.as_mut_ptr(),
            out_len: out.len(),
        }
    }
}

/// The entry point: runs `call` in an FPU section and returns 0, or a
/// negative errno when the call is malformed (nothing written then).
pub type OffloadEntry = unsafe extern "C" fn(call: *mut OffloadCall) -> i32;

static ENTRY: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Hand the float kernels to `entry` from now on.
///
/// # Safety
/// `entry` must run every well-formed call exactly as [`execute`] does
/// (it may be `execute` itself behind an FPU section), and stay callable
/// for the life of the process or module.
pub unsafe fn install(entry: OffloadEntry) {
    ENTRY.store(entry as *mut (), Ordering::Release);
}

/// Whether [`install`] has run.
#[inline]
pub fn installed() -> bool {
    !ENTRY.load(Ordering::Acquire).is_null()
}

fn run(call: &mut OffloadCall) {
    let p = ENTRY.load(Ordering::Acquire);
    if !p.is_null() {
        // SAFETY: `install` stored an `OffloadEntry`; its contract is that
        // of `execute`, whose requirements the wrappers meet.
        if unsafe { core::mem::transmute::<*mut (), OffloadEntry>(p)(call) } == 0 {
            return;
        }
    }
    // Nothing installed, or the entry refused the call (the wrappers only
    // build well-formed ones): compute here rather than return what `out`
    // held.
    // SAFETY: the call was built from live slices by the wrappers.
    unsafe { execute_with(&SCALAR, call) };
}

fn off_pair(a: &[f32], b: &[f32], l2: bool) -> f32 {
    let mut out = [0f32; 1];
    let mut c = OffloadCall::new(OP_PAIR, l2, a, &mut out);
    (c.b, c.b_len) = (b.as_ptr(), b.len());
    run(&mut c);
    out[0]
}

fn off_l2sq(a: &[f32], b: &[f32]) -> f32 {
    off_pair(a, b, true)
}

fn off_dot(a: &[f32], b: &[f32]) -> f32 {
    off_pair(a, b, false)
}

fn off_neg_dot(a: &[f32], b: &[f32]) -> f32 {
    -off_pair(a, b, false)
}

fn off_dot4(q: [&[f32]; 4], row: &[f32]) -> [f32; 4] {
    let mut out = [0f32; 4];
    let mut c = OffloadCall::new(OP_DOT4, false, &[], &mut out);
    (c.b, c.b_len) = (row.as_ptr(), row.len());
    c.q = q.map(|x| x.as_ptr());
    c.q_len = q.map(|x| x.len());
    run(&mut c);
    out
}

/// Floats of rows per call: an FPU section keeps preemption off, so a long
/// scan is cut into pieces of about 256 KiB.
const ROWS_FLOATS_PER_CALL: usize = 64 * 1024;

fn off_rows(q: &[f32], rows: &[f32], dim: usize, out: &mut [f32], l2: bool) {
    let dim = dim.max(1);
    let per = (ROWS_FLOATS_PER_CALL / dim).max(1);
    for (o, r) in out.chunks_mut(per).zip(rows.chunks(per * dim)) {
        let mut c = OffloadCall::new(OP_ROWS, l2, q, o);
        (c.b, c.b_len, c.dim) = (r.as_ptr(), r.len(), dim);
        run(&mut c);
    }
}

fn off_gather(
    q: &[f32],
    words: &[u32],
    rec: usize,
    off: usize,
    ids: &[u32],
    out: &mut [f32],
    l2: bool,
) {
    let mut c = OffloadCall::new(OP_GATHER, l2, q, out);
    (c.b, c.b_len) = (words.as_ptr() as *const f32, words.len());
    (c.ids, c.ids_len, c.rec, c.off) = (ids.as_ptr(), ids.len(), rec, off);
    run(&mut c);
}

/// [`super::pq::query_table`], in an FPU section once [`install`] has run.
pub(crate) fn pq_table(
    q: &[f32],
    books_t: &[f32],
    m: usize,
    dsub: usize,
    ksub: usize,
    l2: bool,
    out: &mut [f32],
) {
    if !installed() {
        return super::pq::query_table(q, books_t, m, dsub, ksub, l2, out);
    }
    let mut c = OffloadCall::new(OP_PQ_TABLE, l2, q, out);
    (c.b, c.b_len) = (books_t.as_ptr(), books_t.len());
    (c.rec, c.dim, c.off) = (m, dsub, ksub);
    run(&mut c);
}

/// Codes per [`OP_ADC`] call: like a row scan, a long list is cut into
/// pieces so an FPU section stays short.
const ADC_CODES_PER_CALL: usize = 16 * 1024;

/// [`super::pq::adc_scan`], in FPU sections once [`install`] has run.
pub(crate) fn adc_scan(
    lut: &[f32],
    codes: &[u8],
    m: usize,
    base: f32,
    bias: &[f32],
    out: &mut [f32],
) {
    if !installed() {
        return super::pq::adc_scan(lut, codes, m, base, bias, out);
    }
    let base = [base];
    let m1 = m.max(1);
    for (i, o) in out.chunks_mut(ADC_CODES_PER_CALL).enumerate() {
        let at = i * ADC_CODES_PER_CALL;
        let cs = codes.get(at * m1..).unwrap_or(&[]);
        let bs = bias.get(at..).unwrap_or(&[]);
        let mut c = OffloadCall::new(OP_ADC, false, lut, o);
        (c.b, c.b_len) = (bs.as_ptr(), bs.len().min(o.len()));
        (c.codes, c.codes_len) = (cs.as_ptr(), cs.len());
        c.q[0] = base.as_ptr();
        c.q_len[0] = 1;
        c.rec = m;
        run(&mut c);
    }
}

/// The table `kernels()` returns in a no_std build after [`install`]: float
/// kernels handed over, the rest (integer, code and f16/SQ8 kernels) local.
pub static OFFLOAD: Kernels = Kernels {
    name: "offload",
    l2sq: off_l2sq,
    dot: off_dot,
    neg_dot: off_neg_dot,
    dot4: off_dot4,
    rows: off_rows,
    stream: off_rows,
    gather: off_gather,
    ..SCALAR
};

/// Slice from a call's pointer and length.
///
/// # Safety
/// `p` and `n` come from one live slice.
unsafe fn part<'a, T>(p: *const T, n: usize) -> &'a [T] {
    // SAFETY: the caller's contract.
    unsafe { core::slice::from_raw_parts(p, n) }
}

/// Run `call` with the kernels of `k`; 0, or -EINVAL for an unknown op or
/// an `out` too short for it (nothing is written then).
///
/// # Safety
/// Every pointer and length of `call` describes a live slice (`out` one
/// that may be written) that does not overlap `out`.
pub unsafe fn execute_with(k: &Kernels, call: &mut OffloadCall) -> i32 {
    const EINVAL: i32 = -22;
    let c = &*call;
    // SAFETY: the caller's contract, for each slice below.
    let (a, b) = unsafe { (part(c.a, c.a_len), part(c.b, c.b_len)) };
    // SAFETY: as above; `out` is written only through this slice.
    let out = unsafe { core::slice::from_raw_parts_mut(c.out, c.out_len) };
    let l2 = c.l2 != 0;
    match c.op {
        OP_PAIR if !out.is_empty() => {
            out[0] = if l2 { k.l2sq(a, b) } else { k.dot(a, b) };
        }
        OP_DOT4 if out.len() >= 4 => {
            // SAFETY: as above.
            let q = unsafe { [0, 1, 2, 3].map(|i| part(c.q[i], c.q_len[i])) };
            out[..4].copy_from_slice(&k.dot4(q, b));
        }
        OP_ROWS if c.dim > 0 => k.dist_rows(a, b, c.dim, out, l2),
        OP_GATHER => {
            // SAFETY: u32 and f32 have the same size and alignment, so the
            // arena slice reads back as the words it was built from.
            let words = unsafe { part(c.b as *const u32, c.b_len) };
            // SAFETY: as above.
            let ids = unsafe { part(c.ids, c.ids_len) };
            k.gather(a, words, c.rec, c.off, ids, out, l2);
        }
        OP_PQ_TABLE if super::pq::table_fits(a.len(), b.len(), c.rec, c.dim, c.off, out.len()) => {
            super::pq::query_table(a, b, c.rec, c.dim, c.off, l2, out);
        }
        OP_ADC if c.q_len[0] == 1 => {
            // SAFETY: as above.
            let (base, codes) = unsafe { (part(c.q[0], 1)[0], part(c.codes, c.codes_len)) };
            if !super::pq::adc_fits(a.len(), codes.len(), b.len(), c.rec, out.len()) {
                return EINVAL;
            }
            super::pq::adc_scan(a, codes, c.rec, base, b, out);
        }
        _ => return EINVAL,
    }
    0
}

/// Run `call` with the SSE2 kernels: what the FPU object does.
///
/// # Safety
/// As [`execute_with`]; the caller has made the SSE registers usable (in
/// the kernel: inside `kernel_fpu_begin()` / `kernel_fpu_end()`).
#[cfg(all(target_arch = "x86_64", any(feature = "std", feature = "fpu-executor")))]
pub unsafe fn execute(call: &mut OffloadCall) -> i32 {
    static SSE2: Kernels = super::sse2();
    // SAFETY: the caller's contract.
    unsafe { execute_with(&SSE2, call) }
}

#[cfg(all(test, feature = "std", target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::rng::Rng;

    unsafe extern "C" fn entry(call: *mut OffloadCall) -> i32 {
        // SAFETY: the wrappers pass live, well-formed calls.
        unsafe { execute(&mut *call) }
    }

    /// The IVF-PQ table and ADC scan handed over (in pieces, for a list
    /// longer than one call) give the bits of the local loops.
    #[test]
    fn pq_table_and_adc_give_the_portable_bits() {
        use super::super::pq::{self, KSUB};
        let mut rng = Rng::new(4);
        for (m, dsub, ksub) in [(8usize, 4usize, 256usize), (5, 3, 100), (16, 2, 256)] {
            let q: std::vec::Vec<f32> = (0..m * dsub).map(|_| rng.normal()).collect();
            let books: std::vec::Vec<f32> = (0..m * dsub * KSUB).map(|_| rng.normal()).collect();
            for l2 in [true, false] {
                let mut want = std::vec![0f32; m * KSUB];
                pq::query_table(&q, &books, m, dsub, ksub, l2, &mut want);
                // SAFETY: `entry` is `execute`, callable for the whole run.
                unsafe { install(entry) };
                let mut got = std::vec![0f32; m * KSUB];
                pq_table(&q, &books, m, dsub, ksub, l2, &mut got);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<std::vec::Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "table m {m} l2 {l2}");
                let n = ADC_CODES_PER_CALL + 77;
                let codes: std::vec::Vec<u8> = (0..n * m).map(|_| rng.below(ksub) as u8).collect();
                let bias: std::vec::Vec<f32> = (0..n).map(|_| rng.normal()).collect();
                for b in [&bias[..], &[]] {
                    let mut x = std::vec![f32::NAN; n];
                    let mut y = std::vec![f32::NAN; n];
                    adc_scan(&want, &codes, m, 0.75, b, &mut x);
                    pq::adc_scan(&want, &codes, m, 0.75, b, &mut y);
                    assert_eq!(bits(&x), bits(&y), "adc m {m} bias {}", b.len());
                }
            }
        }
    }

    /// The arena gather handed over scores every id as the portable one
    /// does, out-of-range ids included.
    #[test]
    fn gather_gives_the_portable_bits() {
        // SAFETY: `entry` is `execute`, callable for the whole run.
        unsafe { install(entry) };
        let mut rng = Rng::new(9);
        for dim in [1usize, 4, 9, 32, 50, 128] {
            let (rec, off) = (dim + 5, 3);
            let nodes = 30;
            let words: std::vec::Vec<u32> =
                (0..nodes * rec).map(|_| rng.normal().to_bits()).collect();
            let q: std::vec::Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
            let mut ids: std::vec::Vec<u32> = (0..17).map(|_| rng.below(nodes) as u32).collect();
            ids[4] = u32::MAX;
            for l2 in [true, false] {
                let (mut x, mut y) = ([f32::NAN; 17], [f32::NAN; 17]);
                OFFLOAD.gather(&q, &words, rec, off, &ids, &mut x, l2);
                SCALAR.gather(&q, &words, rec, off, &ids, &mut y, l2);
                assert_eq!(
                    x.map(f32::to_bits),
                    y.map(f32::to_bits),
                    "dim {dim} l2 {l2}"
                );
            }
        }
    }
}
