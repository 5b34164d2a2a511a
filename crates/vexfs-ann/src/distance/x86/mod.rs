//! x86-64 SIMD kernels, one file per instruction-set level. Each public
//! function here is a safe wrapper that is only ever installed in the
//! dispatch table after the matching CPU feature was detected at run time.
//! A no_std build with `fpu-executor` (the kernel module's FPU object) has
//! SSE2 only: it detects nothing, and SSE2 is the x86-64 baseline.

#[cfg(feature = "std")]
pub mod avx2;
#[cfg(feature = "std")]
pub mod avx2_code_rows;
#[cfg(feature = "std")]
pub mod avx2_codes;
#[cfg(feature = "std")]
pub mod avx2_hamming;
#[cfg(feature = "std")]
pub mod avx2_rows;
#[cfg(feature = "std")]
pub mod avx512;
#[cfg(feature = "std")]
pub mod avx512_codes;
#[cfg(feature = "std")]
pub mod avx512_hamming;
#[cfg(feature = "std")]
pub mod avx512_rows;
pub mod sse2;
