//! Growth of the large vector buffers, backed by huge pages where the
//! system allows it.
//!
//! A scan over a few hundred megabytes of vectors, or a graph walk that
//! jumps across them, misses the TLB on almost every 4 KiB page. Linux
//! backs anonymous memory with 2 MiB pages only where asked to
//! (`transparent_hugepage=madvise`, the usual default), and only for pages
//! not yet touched, so a buffer that grows past [`HUGE_MIN`] bytes is moved
//! into a fresh allocation that is advised *before* the old contents are
//! copied in. Smaller buffers, other systems and `no_std` builds grow the
//! ordinary way.

use crate::error::{AnnError, Result};
use alloc::vec::Vec;

/// Buffers at least this large are advised for huge pages (numpy uses the
/// same 4 MiB threshold).
pub(crate) const HUGE_MIN: usize = 4 << 20;

/// Make room for `n` more elements in `v`, like `Vec::try_reserve`.
pub(crate) fn reserve<T>(v: &mut Vec<T>, n: usize) -> Result<()> {
    let need = v.len().checked_add(n).ok_or(AnnError::OutOfMemory)?;
    if need <= v.capacity() {
        return Ok(());
    }
    let bytes = need.saturating_mul(core::mem::size_of::<T>());
    if !HUGE_PAGES || bytes < HUGE_MIN {
        return v.try_reserve(n).map_err(|_| AnnError::OutOfMemory);
    }
    // Amortised doubling, as Vec itself would grow.
    let cap = need.max(v.capacity().saturating_mul(2));
    let mut fresh: Vec<T> = Vec::new();
    fresh
        .try_reserve_exact(cap)
        .map_err(|_| AnnError::OutOfMemory)?;
    advise_huge(fresh.as_ptr() as *const u8, cap * core::mem::size_of::<T>());
    fresh.append(v);
    *v = fresh;
    Ok(())
}

/// `Box::new` that reports out of memory instead of aborting
/// (`Box::try_new` is not stable yet). Indexes are boxed as trait objects
/// when created or loaded, which the filesystem does on behalf of a caller.
pub(crate) fn try_box<T>(x: T) -> Result<alloc::boxed::Box<T>> {
    let layout = core::alloc::Layout::new::<T>();
    if layout.size() == 0 {
        // Nothing to allocate.
        return Ok(alloc::boxed::Box::new(x));
    }
    // SAFETY: `layout` has a non-zero size, as `alloc` requires. A non-null
    // result is a fresh block of exactly `Layout::new::<T>()` from the
    // global allocator, which is what a `Box<T>` owns and frees; the value
    // is written into it before `from_raw` takes ownership.
    unsafe {
        let p = alloc::alloc::alloc(layout).cast::<T>();
        if p.is_null() {
            return Err(AnnError::OutOfMemory);
        }
        p.write(x);
        Ok(alloc::boxed::Box::from_raw(p))
    }
}

/// `Vec::resize` that fails instead of aborting when it must grow.
pub(crate) fn resize<T: Clone>(v: &mut Vec<T>, n: usize, x: T) -> Result<()> {
    reserve(v, n.saturating_sub(v.len()))?;
    v.resize(n, x);
    Ok(())
}

/// Room for `n` more entries in the heap `h` (a search's candidate or
/// result heap), failing instead of aborting.
pub(crate) fn heap_room<T: Ord>(h: &mut alloc::collections::BinaryHeap<T>, n: usize) -> Result<()> {
    if h.capacity() - h.len() >= n {
        return Ok(());
    }
    h.try_reserve(n).map_err(|_| AnnError::OutOfMemory)
}

/// Out of memory where the caller has no error to return (the build
/// paths, whose allocations all abort like ordinary `Vec` growth): the
/// same end as theirs, through the allocator's error handler.
pub(crate) fn out_of_memory() -> ! {
    alloc::alloc::handle_alloc_error(core::alloc::Layout::new::<u64>())
}

/// Whether this build can ask for huge pages (`madvise` on Linux).
const HUGE_PAGES: bool = cfg!(all(feature = "std", target_os = "linux"));

/// Ask the kernel to back the whole 2 MiB pages inside `[p, p + len)` with
/// huge pages. Advice only: failure (old kernels, THP disabled) changes
/// nothing but speed, so the result is ignored.
#[cfg(all(feature = "std", target_os = "linux"))]
fn advise_huge(p: *const u8, len: usize) {
    const HUGE: usize = 2 << 20;
    let start = (p as usize).next_multiple_of(HUGE);
    let end = (p as usize).saturating_add(len) & !(HUGE - 1);
    if end > start {
        // SAFETY: the range lies inside an allocation this process owns;
        // MADV_HUGEPAGE only changes how the kernel backs those pages and
        // never their contents or validity.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(all(feature = "std", target_os = "linux")))]
fn advise_huge(_p: *const u8, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_keeps_contents_across_the_huge_threshold() {
        let mut v: Vec<u64> = (0..1000).collect();
        reserve(&mut v, HUGE_MIN).unwrap();
        assert!(v.capacity() >= 1000 + HUGE_MIN);
        assert!(v.iter().copied().eq(0..1000));
        v.extend(1000..2000);
        assert!(v.iter().copied().eq(0..2000));
    }

    #[test]
    fn reserve_overflow_is_an_error() {
        let mut v: Vec<u8> = alloc::vec![1];
        assert!(reserve(&mut v, usize::MAX).is_err());
    }
}
