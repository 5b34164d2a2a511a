//! Allocation that reports failure as `ENOMEM` instead of aborting.
//!
//! In the kernel module an allocation that the code does not expect to
//! fail ends in `BUG()`. Paths the module reaches with sizes that come
//! from the caller or the image (search, results, query vectors, filters)
//! grow their buffers only through these helpers, so running out of
//! memory is an error the caller sees (`tests/search_allocs.rs` fails
//! each allocation of a search in turn).
//!
//! Update paths use them too, with `crate::nr_map` for the block cache and
//! its companions (`tests/update_allocs.rs` sweeps one operation at a
//! time; ARCHITECTURE.md lists what is not covered yet).

use crate::error::{FsError, Result};
use alloc::vec::Vec;

/// Room for `n` more elements in `v`.
pub(crate) fn reserve<T>(v: &mut Vec<T>, n: usize) -> Result<()> {
    v.try_reserve(n).map_err(|_| FsError::NoMemory)
}

/// Append `x` to `v`.
pub(crate) fn push<T>(v: &mut Vec<T>, x: T) -> Result<()> {
    reserve(v, 1)?;
    v.push(x);
    Ok(())
}

/// Append a copy of `s` to `v`.
pub(crate) fn extend<T: Copy>(v: &mut Vec<T>, s: &[T]) -> Result<()> {
    reserve(v, s.len())?;
    v.extend_from_slice(s);
    Ok(())
}

/// A copy of `s` in a buffer of exactly its size.
pub(crate) fn copy<T: Copy>(s: &[T]) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(s.len())
        .map_err(|_| FsError::NoMemory)?;
    v.extend_from_slice(s);
    Ok(v)
}

/// A zeroed buffer of `n` bytes (a block read into the cache).
pub(crate) fn zeroed(n: usize) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| FsError::NoMemory)?;
    v.resize(n, 0);
    Ok(v)
}
