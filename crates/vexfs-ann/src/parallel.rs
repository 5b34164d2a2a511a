//! Thread control and the small parallel helpers used by training, batch
//! insertion and batch search. In `no_std` builds everything runs on the
//! calling thread. Work is always split into contiguous, ordered chunks and
//! results are concatenated in order, so the output never depends on the
//! thread count.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Set the number of worker threads used by `search_batch`, `add_batch`
/// and training. `0` (the default) means all available cores; `1` runs
/// everything on the calling thread.
pub fn set_num_threads(n: usize) {
    THREADS.store(n, Ordering::Relaxed);
}

/// The effective number of worker threads (always >= 1).
pub fn num_threads() -> usize {
    let n = THREADS.load(Ordering::Relaxed);
    if n > 0 {
        return n;
    }
    #[cfg(feature = "std")]
    {
        // available_parallelism reads cgroup files on every call (tens of
        // microseconds): ask once. Callers that insert one vector at a time
        // (the filesystem) would otherwise pay it per insert.
        static CORES: AtomicUsize = AtomicUsize::new(0);
        let c = CORES.load(Ordering::Relaxed);
        if c > 0 {
            return c;
        }
        let c = std::thread::available_parallelism().map_or(1, |n| n.get());
        CORES.store(c, Ordering::Relaxed);
        c
    }
    #[cfg(not(feature = "std"))]
    {
        1
    }
}

/// Map `f` over `0..n`, in parallel when allowed; output in index order.
///
/// Workers take small chunks of indices from a shared counter, so a worker
/// that the OS deschedules (the machine may be shared) delays only its
/// current chunk, not a fixed half of the work. Results are reassembled by
/// index, so the output never depends on which worker ran what.
pub fn par_map<R: Send>(n: usize, f: &(dyn Fn(usize) -> R + Sync)) -> Vec<R> {
    let t = num_threads().min(n.max(1));
    #[cfg(feature = "std")]
    if t > 1 {
        use core::sync::atomic::AtomicUsize;
        let next = AtomicUsize::new(0);
        let grain = (n / (t * 16)).max(1);
        let mut parts: Vec<(usize, Vec<R>)> = Vec::new();
        std::thread::scope(|s| {
            let worker = || {
                let mut mine: Vec<(usize, Vec<R>)> = Vec::new();
                loop {
                    let lo = next.fetch_add(grain, Ordering::Relaxed);
                    if lo >= n {
                        break;
                    }
                    let hi = (lo + grain).min(n);
                    mine.push((lo, (lo..hi).map(f).collect()));
                }
                mine
            };
            let hs: Vec<_> = (1..t).map(|_| s.spawn(worker)).collect();
            parts.extend(worker());
            for h in hs {
                match h.join() {
                    Ok(v) => parts.extend(v),
                    Err(e) => std::panic::resume_unwind(e),
                }
            }
        });
        parts.sort_unstable_by_key(|p| p.0);
        return parts.into_iter().flat_map(|p| p.1).collect();
    }
    let _ = t;
    (0..n).map(f).collect()
}

/// [`par_map`] of a fallible `f`: the first error (in index order when
/// run on one thread), else every result in index order. On the calling
/// thread alone (one thread, and every `no_std` build, the kernel
/// module's) the result vector is reserved fallibly, so running out of
/// memory is an error there too.
pub(crate) fn try_par_map<R: Send>(
    n: usize,
    f: &(dyn Fn(usize) -> crate::error::Result<R> + Sync),
) -> crate::error::Result<Vec<R>> {
    if num_threads().min(n.max(1)) > 1 {
        return par_map(n, f).into_iter().collect();
    }
    let mut out = Vec::new();
    crate::mem::reserve(&mut out, n)?;
    for i in 0..n {
        out.push(f(i)?);
    }
    Ok(out)
}

/// Split row-major `rows` (`dim` wide) into per-thread chunks of at least
/// `min_rows` rows, apply `f` to each chunk and concatenate the outputs.
pub fn map_chunks<R: Send>(
    rows: &[f32],
    dim: usize,
    min_rows: usize,
    f: &(dyn Fn(&[f32]) -> Vec<R> + Sync),
) -> Vec<R> {
    let n = rows.len().checked_div(dim).unwrap_or(0);
    let t = num_threads().min(n / min_rows.max(1)).max(1);
    if t <= 1 {
        return f(rows);
    }
    let per = n.div_ceil(t);
    let chunks: Vec<&[f32]> = rows.chunks(per * dim).collect();
    par_map(chunks.len(), &|i| f(chunks[i]))
        .into_iter()
        .flatten()
        .collect()
}
