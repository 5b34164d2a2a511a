//! The float loops of an IVF-PQ search: the per-query table and the
//! asymmetric-distance scan of a list's codes.
//!
//! They live beside the distance kernels so the kernel module's soft-float
//! build can hand them to its SSE2 copy in an FPU section (`offload.rs`,
//! ops `OP_PQ_TABLE` and `OP_ADC`), as it does the row kernels: one loop,
//! the same operations in the same order on both sides, the same bits.

/// Codewords per sub-quantiser table (8-bit codes).
pub const KSUB: usize = 256;

/// Whether the slices can hold a table of `m` sub-quantisers of `dsub`
/// dimensions and `ksub` codewords: what [`query_table`] reads and writes.
pub(crate) fn table_fits(
    q: usize,
    books_t: usize,
    m: usize,
    dsub: usize,
    ksub: usize,
    out: usize,
) -> bool {
    let Some(qd) = m.checked_mul(dsub) else {
        return false;
    };
    ksub <= KSUB
        && q >= qd
        && qd.checked_mul(KSUB).is_some_and(|b| books_t >= b)
        && m.checked_mul(KSUB).is_some_and(|t| out >= t)
}

/// The query table into `out` (`m * 256` floats, zeroed by the caller):
/// entry `j * 256 + c` is `-2<q_j, w_jc>` (`l2`) or `-<q_j, w_jc>`, from
/// the transposed codebooks `books_t` (row `j * dsub + d` holds dimension
/// `d` of sub-quantiser `j`'s codewords). Entries past `ksub` stay 0.
/// The caller has checked the sizes with [`table_fits`].
pub(crate) fn query_table(
    q: &[f32],
    books_t: &[f32],
    m: usize,
    dsub: usize,
    ksub: usize,
    l2: bool,
    out: &mut [f32],
) {
    // Scaling by -2 or -1 is exact, so folding it into q changes no bit.
    let f = if l2 { -2.0 } else { -1.0 };
    for (j, t) in out.chunks_exact_mut(KSUB).take(m).enumerate() {
        let t = &mut t[..ksub];
        for d in 0..dsub {
            let qd = f * q[j * dsub + d];
            let col = &books_t[(j * dsub + d) * KSUB..][..ksub];
            for (e, &w) in t.iter_mut().zip(col) {
                *e += qd * w;
            }
        }
    }
}

/// Whether the slices fit an ADC scan of `out.len()` codes of `m` bytes.
pub(crate) fn adc_fits(lut: usize, codes: usize, bias: usize, m: usize, out: usize) -> bool {
    m.checked_mul(KSUB).is_some_and(|t| lut >= t)
        && out.checked_mul(m).is_some_and(|c| codes >= c)
        && (bias == 0 || bias >= out)
}

/// `out[i] = (base + bias[i]) + sum_j lut[j * 256 + codes[i * m + j]]`
/// (`base` alone when `bias` is empty): the approximate distance of each
/// code of a list. The caller has checked the sizes with [`adc_fits`].
pub(crate) fn adc_scan(
    lut: &[f32],
    codes: &[u8],
    m: usize,
    base: f32,
    bias: &[f32],
    out: &mut [f32],
) {
    out.iter_mut().for_each(|o| *o = base);
    if !bias.is_empty() {
        for (o, &b) in out.iter_mut().zip(bias) {
            *o += b;
        }
    }
    match m {
        8 => adc_scan_m::<8>(lut, codes, out),
        16 => adc_scan_m::<16>(lut, codes, out),
        32 => adc_scan_m::<32>(lut, codes, out),
        _ => {
            for (o, code) in out.iter_mut().zip(codes.chunks_exact(m.max(1))) {
                let mut d = 0.0;
                for (t, &c) in lut.chunks_exact(KSUB).zip(code) {
                    d += t[c as usize];
                }
                *o += d;
            }
        }
    }
}

/// [`adc_scan`]'s sums unrolled for a fixed `M`, four partial sums per code.
#[inline(always)]
fn adc_scan_m<const M: usize>(lut: &[f32], codes: &[u8], out: &mut [f32]) {
    let lut = &lut[..M * KSUB];
    for (o, code) in out.iter_mut().zip(codes.chunks_exact(M)) {
        let mut d = [0.0f32; 4];
        for (j, &c) in code.iter().enumerate() {
            d[j & 3] += lut[j * KSUB + c as usize];
        }
        *o += (d[0] + d[1]) + (d[2] + d[3]);
    }
}
