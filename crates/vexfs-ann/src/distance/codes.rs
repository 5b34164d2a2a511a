//! Portable kernels over compressed vectors: IEEE half floats (f16, two
//! little-endian bytes per value) and 8-bit scalar-quantised codes (one
//! byte per value). The query stays f32 (asymmetric distance, as FAISS's
//! ScalarQuantizer does), so only the stored side loses precision.
//!
//! These are the reference the AVX2 and AVX-512 versions are tested
//! against. The SQ8 kernels here take the query already mapped into code
//! units (see `crate::storage`), which keeps the inner loop a weighted
//! difference of a float and a byte.

/// f16 bits to f32, exact (every half is representable as a float).
/// Integer operations only: usable where the FPU is off.
#[inline]
pub fn f16_to_f32_bits(h: u16) -> u32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    if exp == 0 {
        if man == 0 {
            return sign;
        }
        // Subnormal half: shift the mantissa up until its leading one
        // reaches the implicit-bit position, lowering the exponent as it goes.
        let (mut e, mut m) = (113u32, man);
        while m & 0x400 == 0 {
            m <<= 1;
            e -= 1;
        }
        sign | (e << 23) | ((m & 0x3ff) << 13)
    } else if exp == 0x1f {
        sign | 0x7f80_0000 | (man << 13)
    } else {
        sign | ((exp + 112) << 23) | (man << 13)
    }
}

/// f16 bits to f32.
#[inline]
pub fn f16_to_f32(h: u16) -> f32 {
    f32::from_bits(f16_to_f32_bits(h))
}

/// f32 to f16 bits, rounding to nearest even like `vcvtps2ph` with the
/// default rounding mode: too large becomes infinity, too small zero,
/// NaN stays NaN.
pub fn f32_to_f16(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32;
    let man = b & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if man != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        // Subnormal half: the implicit one joins the mantissa, which is
        // shifted right with round-half-even.
        let m = man | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rem = m & ((1u32 << shift) - 1);
        let mut r = m >> shift;
        if rem > half || (rem == half && r & 1 == 1) {
            r += 1;
        }
        return sign | r as u16;
    }
    let mut r = ((e as u32) << 10) | (man >> 13);
    let rem = man & 0x1fff;
    // A carry out of the mantissa bumps the exponent, up to infinity:
    // exactly the IEEE result.
    if rem > 0x1000 || (rem == 0x1000 && r & 1 == 1) {
        r += 1;
    }
    sign | r as u16
}

#[inline(always)]
fn half_at(code: &[u8], i: usize) -> f32 {
    match code.get(2 * i..2 * i + 2) {
        Some(b) => f16_to_f32(u16::from_le_bytes([b[0], b[1]])),
        None => 0.0,
    }
}

/// Squared L2 between `q` and an f16 vector (`2 * len` bytes), over the
/// common length.
pub fn f16_l2sq(q: &[f32], code: &[u8]) -> f32 {
    let n = q.len().min(code.len() / 2);
    let mut acc = [0.0f32; 4];
    let mut i = 0;
    while i + 4 <= n {
        for (j, a) in acc.iter_mut().enumerate() {
            let d = q[i + j] - half_at(code, i + j);
            *a += d * d;
        }
        i += 4;
    }
    let mut s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    while i < n {
        let d = q[i] - half_at(code, i);
        s += d * d;
        i += 1;
    }
    s
}

/// Dot product of `q` with an f16 vector.
pub fn f16_dot(q: &[f32], code: &[u8]) -> f32 {
    let n = q.len().min(code.len() / 2);
    let mut acc = [0.0f32; 4];
    let mut i = 0;
    while i + 4 <= n {
        for (j, a) in acc.iter_mut().enumerate() {
            *a += q[i + j] * half_at(code, i + j);
        }
        i += 4;
    }
    let mut s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    while i < n {
        s += q[i] * half_at(code, i);
        i += 1;
    }
    s
}

/// `sum (q[j] - s[j] * code[j])^2`: the squared L2 to an SQ8 vector when
/// `q` is the query minus the per-dimension minimum and `s` the step.
pub fn sq8_l2(q: &[f32], s: &[f32], code: &[u8]) -> f32 {
    let n = q.len().min(s.len()).min(code.len());
    let mut acc = [0.0f32; 4];
    let mut i = 0;
    while i + 4 <= n {
        for (j, a) in acc.iter_mut().enumerate() {
            let d = q[i + j] - s[i + j] * code[i + j] as f32;
            *a += d * d;
        }
        i += 4;
    }
    let mut t = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    while i < n {
        let d = q[i] - s[i] * code[i] as f32;
        t += d * d;
        i += 1;
    }
    t
}

/// `sum a[j] * code[j]`: with `a = query * scale` this is the dot product
/// with an SQ8 vector minus the query-constant `sum query * min`.
pub fn sq8_dot(a: &[f32], code: &[u8]) -> f32 {
    let n = a.len().min(code.len());
    let mut acc = [0.0f32; 4];
    let mut i = 0;
    while i + 4 <= n {
        for (j, s) in acc.iter_mut().enumerate() {
            *s += a[i + j] * code[i + j] as f32;
        }
        i += 4;
    }
    let mut s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    while i < n {
        s += a[i] * code[i] as f32;
        i += 1;
    }
    s
}

/// Integer-only SQ8 squared L2 (the path of FPU-less kernel builds):
/// `sum w[j] * (q[j] - 16 * code[j])^2` with the query in code units
/// times 16 (`q`, clamped by the caller to `[-4096, 8192]`) and integer
/// weights `w <= 65535`. The bounds keep every sum below 2^59 at 65536
/// dimensions.
pub fn sq8_l2_int(q: &[i32], w: &[u32], code: &[u8]) -> u64 {
    let mut s = 0u64;
    for ((&x, &wt), &c) in q.iter().zip(w).zip(code) {
        let d = x - 16 * c as i32;
        s = s.wrapping_add((d * d) as u64 * wt as u64);
    }
    s
}

/// Integer-only SQ8 dot: `sum a[j] * code[j]` with `|a[j]| <= 32767`.
pub fn sq8_dot_int(a: &[i32], code: &[u8]) -> i64 {
    let mut s = 0i64;
    for (&x, &c) in a.iter().zip(code) {
        s = s.wrapping_add(x as i64 * c as i64);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every finite half survives f16 -> f32 -> f16 unchanged, and the
    /// f32 value is the one the IEEE definition gives.
    #[test]
    fn half_round_trip_is_exact() {
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            if f.is_nan() {
                assert!(f32_to_f16(f) & 0x7c00 == 0x7c00 && f32_to_f16(f) & 0x3ff != 0);
                continue;
            }
            assert_eq!(f32_to_f16(f), h, "half {h:#06x} -> {f}");
        }
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
    }

    /// Rounding: to nearest, ties to even, overflow to infinity.
    #[test]
    fn half_rounding() {
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        // 1 + 3 * 2^-11 is halfway between odd and even: rounds up.
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        assert_eq!(f32_to_f16(1.0e6), 0x7c00);
        assert_eq!(f32_to_f16(-1.0e-9), 0x8000);
        assert_eq!(f32_to_f16(65519.0), 0x7bff);
        assert_eq!(f32_to_f16(65520.0), 0x7c00);
    }
}
