//! Portable kernels. Used by `no_std` / kernel builds (soft-float) and as the
//! reference the SIMD versions are tested against. Eight independent
//! accumulators let the compiler vectorise when the target allows it and
//! break the add dependency chain when it does not.

/// Squared Euclidean distance.
#[inline]
pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    let mut s = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        let d = x - y;
        s += d * d;
    }
    s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// Dot product.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// Dot products of four queries against one row.
#[inline]
pub fn dot4(q: [&[f32]; 4], row: &[f32]) -> [f32; 4] {
    [
        dot(q[0], row),
        dot(q[1], row),
        dot(q[2], row),
        dot(q[3], row),
    ]
}

/// Squared Euclidean distance between u8 codes, exact in integers (no FPU).
#[inline]
pub fn l2sq_u8(a: &[u8], b: &[u8]) -> u32 {
    let mut s = 0u32;
    for (x, y) in a.iter().zip(b) {
        let d = *x as i32 - *y as i32;
        s = s.wrapping_add((d * d) as u32);
    }
    s
}

/// Dot product of i8 codes, exact in integers (no FPU).
#[inline]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut s = 0i32;
    for (x, y) in a.iter().zip(b) {
        s = s.wrapping_add(*x as i32 * *y as i32);
    }
    s
}

/// Negated dot product: the inner-product distance.
#[inline]
pub fn neg_dot(a: &[f32], b: &[f32]) -> f32 {
    -dot(a, b)
}
