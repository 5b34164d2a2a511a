//! Portable kernels. Used by `no_std` / kernel builds (soft-float) and as the
//! reference the SIMD versions are tested against.
//!
//! The float kernels add in exactly the order of the SSE2 ones (two
//! four-lane accumulators over eight-wide steps, a four-wide step into the
//! first, the same horizontal sum, then the tail one by one), so they give
//! the same bits: the kernel module, which computes soft-float, and a
//! daemon on an SSE2 machine then score, hash and rank alike.

/// The SSE2 kernels' reduction: eight lane sums (`acc[j]` lane `j` of the
/// first accumulator, `acc[4 + j]` of the second) summed as
/// `_mm_add_ps` then the movehl/shuffle horizontal sum do it.
#[inline(always)]
fn reduce(acc: &[f32; 8]) -> f32 {
    let v = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (v[0] + v[2]) + (v[1] + v[3])
}

/// Lane sums of `f(a[i], b[i])` in the SSE2 kernels' order, and where the
/// tail that they add one by one starts.
#[inline(always)]
fn lanes(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> ([f32; 8], usize) {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 8];
    let mut i = 0;
    while i + 8 <= n {
        for j in 0..8 {
            acc[j] += f(a[i + j], b[i + j]);
        }
        i += 8;
    }
    if i + 4 <= n {
        for j in 0..4 {
            acc[j] += f(a[i + j], b[i + j]);
        }
        i += 4;
    }
    (acc, i)
}

/// Squared Euclidean distance.
#[inline]
pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
    let sq = |x: f32, y: f32| {
        let d = x - y;
        d * d
    };
    let (acc, tail) = lanes(a, b, sq);
    let mut s = reduce(&acc);
    for (&x, &y) in a[tail..].iter().zip(&b[tail..]) {
        s += sq(x, y);
    }
    s
}

/// Dot product.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (acc, tail) = lanes(a, b, |x, y| x * y);
    let mut s = reduce(&acc);
    for (&x, &y) in a[tail..].iter().zip(&b[tail..]) {
        s += x * y;
    }
    s
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
