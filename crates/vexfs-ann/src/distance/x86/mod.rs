//! x86-64 SIMD kernels, one file per instruction-set level. Each public
//! function here is a safe wrapper that is only ever installed in the
//! dispatch table after the matching CPU feature was detected at run time.

pub mod avx2;
pub mod avx2_code_rows;
pub mod avx2_codes;
pub mod avx2_hamming;
pub mod avx2_rows;
pub mod avx512;
pub mod avx512_codes;
pub mod avx512_hamming;
pub mod avx512_rows;
pub mod sse2;
