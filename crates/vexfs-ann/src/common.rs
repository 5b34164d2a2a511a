//! Small pieces shared by the strategies: result heaps, id maps, input
//! checks and a lock-free-enough scratch pool.

use crate::error::{AnnError, Result};
use crate::index::{Neighbor, SearchParams, VectorId};
use crate::metric::Metric;
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::cmp::Ordering;
use core::sync::atomic::{AtomicBool, Ordering as AtOrd};

/// `a < b` as IEEE 754 defines it (false when either is NaN; -0 and +0
/// are equal). Without SSE (the kernel module's soft-float build) every
/// float comparison would be a library call, and searches compare
/// distances at every heap step; there the same answer comes from integer
/// operations on the bits, inline.
#[inline(always)]
pub(crate) fn lt(a: f32, b: f32) -> bool {
    #[cfg(target_feature = "sse")]
    {
        a < b
    }
    #[cfg(not(target_feature = "sse"))]
    {
        lt_bits(a, b)
    }
}

/// [`lt`] on the bit patterns, for builds without SSE (and its tests).
#[cfg_attr(target_feature = "sse", allow(dead_code))]
#[inline(always)]
pub(crate) fn lt_bits(a: f32, b: f32) -> bool {
    const ABS: u32 = 0x7fff_ffff;
    const INF: u32 = 0x7f80_0000;
    let (x, y) = (a.to_bits(), b.to_bits());
    if x & ABS > INF || y & ABS > INF || (x | y) & ABS == 0 {
        return false;
    }
    // Sign and magnitude to one unsigned order: negatives reversed below
    // positives.
    let key = |v: u32| if v >> 31 != 0 { !v } else { v | 0x8000_0000 };
    key(x) < key(y)
}

/// A (distance, payload) pair ordered by distance only.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scored<T> {
    pub d: f32,
    pub v: T,
}

impl<T> PartialEq for Scored<T> {
    fn eq(&self, o: &Self) -> bool {
        !lt(self.d, o.d) && !lt(o.d, self.d)
    }
}
impl<T> Eq for Scored<T> {}
impl<T> PartialOrd for Scored<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Scored<T> {
    #[inline]
    fn cmp(&self, o: &Self) -> Ordering {
        // Distances are finite for finite inputs; NaN compares equal so a
        // bad vector cannot panic a sort or a heap.
        if lt(self.d, o.d) {
            Ordering::Less
        } else if lt(o.d, self.d) {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }
}

/// Same as [`Scored`] but reversed, for min-heaps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MinScored<T>(pub Scored<T>);
impl<T> PartialEq for MinScored<T> {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl<T> Eq for MinScored<T> {}
impl<T> PartialOrd for MinScored<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for MinScored<T> {
    #[inline]
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.cmp(&self.0)
    }
}

/// Keeps the `k` smallest distances seen (bounded max-heap).
pub(crate) struct TopK<T> {
    k: usize,
    heap: BinaryHeap<Scored<T>>,
}

/// Room a result heap reserves up front; a larger `k` grows past it.
const TOPK_RESERVE_MAX: usize = 1 << 16;

impl<T: Copy> TopK<T> {
    pub fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k.saturating_add(1).min(TOPK_RESERVE_MAX)),
        }
    }
    /// [`TopK::new`] for the search paths: a failed allocation is an
    /// error. With `k` up to the reserved room (every `k` the filesystem
    /// accepts) the heap never grows after this.
    pub fn try_new(k: usize) -> Result<Self> {
        let mut heap = BinaryHeap::new();
        heap.try_reserve_exact(k.saturating_add(1).min(TOPK_RESERVE_MAX))
            .map_err(|_| AnnError::OutOfMemory)?;
        Ok(Self { k, heap })
    }
    /// Current admission threshold: a distance must be below this to enter.
    #[inline(always)]
    pub fn worst(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |s| s.d)
        }
    }
    #[inline]
    pub fn push(&mut self, d: f32, v: T) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Scored { d, v });
        } else if let Some(mut top) = self.heap.peek_mut() {
            if lt(d, top.d) {
                *top = Scored { d, v };
            }
        }
    }
    /// Sorted ascending.
    pub fn into_sorted(self) -> Vec<Scored<T>> {
        self.heap.into_sorted_vec()
    }
}

impl TopK<VectorId> {
    /// Offer a scanned block (`dists[i]` belongs to `ids[i]`): only
    /// candidates under the current threshold reach `filter` and the heap.
    #[inline]
    pub fn offer(
        &mut self,
        dists: &[f32],
        ids: &[VectorId],
        filter: Option<&dyn Fn(VectorId) -> bool>,
    ) {
        let mut worst = self.worst();
        for (&d, &id) in dists.iter().zip(ids) {
            if lt(d, worst) {
                if let Some(flt) = filter {
                    if !flt(id) {
                        continue;
                    }
                }
                self.push(d, id);
                worst = self.worst();
            }
        }
    }
}

/// Validate the query dimension and `k`.
pub(crate) fn check_query(dim: usize, q: &[f32], params: &SearchParams) -> Result<()> {
    if q.len() != dim {
        return Err(AnnError::DimensionMismatch {
            expected: dim,
            got: q.len(),
        });
    }
    if params.k == 0 {
        return Err(AnnError::InvalidParameter("k must be > 0"));
    }
    Ok(())
}

/// Validate a vector to insert.
pub(crate) fn check_vec(dim: usize, v: &[f32]) -> Result<()> {
    if v.len() != dim {
        return Err(AnnError::DimensionMismatch {
            expected: dim,
            got: v.len(),
        });
    }
    Ok(())
}

/// Copy `v`, normalised when the metric is cosine.
pub(crate) fn prepare(metric: Metric, v: &[f32]) -> Result<Vec<f32>> {
    let mut out = Vec::new();
    out.try_reserve_exact(v.len())
        .map_err(|_| AnnError::OutOfMemory)?;
    out.extend_from_slice(v);
    if metric == Metric::Cosine {
        crate::distance::normalize(&mut out);
    }
    Ok(out)
}

/// Copy of the row-major `rows` (`dim` wide) prepared for `metric`:
/// normalised for cosine, as [`prepare`] does for one vector.
pub(crate) fn prepare_rows(metric: Metric, dim: usize, rows: &[f32]) -> Result<Vec<f32>> {
    let mut out = Vec::new();
    reserve(&mut out, rows.len())?;
    out.extend_from_slice(rows);
    if metric == Metric::Cosine && dim > 0 {
        out.chunks_exact_mut(dim)
            .for_each(crate::distance::normalize);
    }
    Ok(out)
}

/// Number of `dim`-wide query rows in a batch, or an error when the batch
/// does not hold whole rows.
pub(crate) fn batch_rows(dim: usize, queries: &[f32]) -> Result<usize> {
    if dim == 0 || !queries.len().is_multiple_of(dim) {
        return Err(AnnError::DimensionMismatch {
            expected: dim,
            got: queries.len() % dim.max(1),
        });
    }
    Ok(queries.len() / dim)
}

/// Validate a batch insert and return its vectors prepared for `metric`
/// (copied; normalised for cosine): the row count matches the ids, the
/// index is trained, and no id is already `present` or repeated in the batch.
pub(crate) fn prepare_batch(
    dim: usize,
    metric: Metric,
    trained: bool,
    ids: &[VectorId],
    vectors: &[f32],
    present: impl Fn(VectorId) -> bool,
) -> Result<Vec<f32>> {
    if vectors.len() != ids.len() * dim {
        return Err(AnnError::DimensionMismatch {
            expected: ids.len() * dim,
            got: vectors.len(),
        });
    }
    if !trained {
        return Err(AnnError::NotTrained);
    }
    let mut seen = alloc::collections::BTreeSet::new();
    for &id in ids {
        if present(id) || !seen.insert(id) {
            return Err(AnnError::DuplicateId(id));
        }
    }
    prepare_rows(metric, dim, vectors)
}

/// Turn sorted internal results into reported neighbours.
pub(crate) fn finish(metric: Metric, v: Vec<Scored<VectorId>>) -> Vec<Neighbor> {
    v.into_iter()
        .map(|s| Neighbor {
            id: s.v,
            distance: crate::distance::report(metric, s.d),
        })
        .collect()
}

/// Epoch-tagged visited set: clearing is one increment, not a memset.
pub(crate) struct Visited {
    tags: Vec<u16>,
    epoch: u16,
}

impl Visited {
    pub fn new() -> Self {
        Self {
            tags: Vec::new(),
            epoch: 0,
        }
    }
    /// Start a new query over `n` slots.
    pub fn reset(&mut self, n: usize) -> Result<()> {
        if self.tags.len() < n {
            resize(&mut self.tags, n, 0)?;
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.tags.iter_mut().for_each(|t| *t = 0);
            self.epoch = 1;
        }
        Ok(())
    }
    /// Mark `i`; true if it was not yet visited in this epoch.
    #[inline(always)]
    pub fn insert(&mut self, i: usize) -> bool {
        match self.tags.get_mut(i) {
            Some(t) if *t != self.epoch => {
                *t = self.epoch;
                true
            }
            _ => false,
        }
    }
    #[inline(always)]
    pub fn prefetch(&self, i: usize) {
        crate::distance::prefetch(self.tags.as_ptr().wrapping_add(i));
    }
}

/// A tiny pool of reusable scratch objects guarded by a spin flag. It works
/// the same in std and `no_std`: when the flag is taken the caller simply
/// builds a fresh object instead of waiting.
pub(crate) struct Pool<T> {
    busy: AtomicBool,
    items: UnsafeCell<Vec<T>>,
}

// SAFETY: `items` is only accessed while `busy` is held (acquire/release),
// so at most one thread touches the Vec at a time; T moves between threads.
unsafe impl<T: Send> Sync for Pool<T> {}
// SAFETY: the pool owns its items; sending it sends them.
unsafe impl<T: Send> Send for Pool<T> {}

impl<T> Pool<T> {
    pub const fn new() -> Self {
        Self {
            busy: AtomicBool::new(false),
            items: UnsafeCell::new(Vec::new()),
        }
    }
    pub fn take(&self) -> Option<T> {
        if self
            .busy
            .compare_exchange(false, true, AtOrd::Acquire, AtOrd::Relaxed)
            .is_err()
        {
            return None;
        }
        // SAFETY: we hold `busy`, so no other reference to `items` exists.
        let it = unsafe { (*self.items.get()).pop() };
        self.busy.store(false, AtOrd::Release);
        it
    }
    pub fn give(&self, t: T) {
        if self
            .busy
            .compare_exchange(false, true, AtOrd::Acquire, AtOrd::Relaxed)
            .is_err()
        {
            return;
        }
        // SAFETY: we hold `busy`, so no other reference to `items` exists.
        unsafe {
            let v = &mut *self.items.get();
            // Out of memory, the item is dropped instead of kept.
            if v.len() < 64 && v.try_reserve(1).is_ok() {
                v.push(t);
            }
        }
        self.busy.store(false, AtOrd::Release);
    }
}

/// Row `i` of a row-major matrix (empty if out of range).
#[inline(always)]
pub(crate) fn row<T>(data: &[T], dim: usize, i: usize) -> &[T] {
    data.get(i * dim..(i + 1) * dim).unwrap_or(&[])
}

/// `try_reserve` mapped to our error (large buffers get huge pages).
pub(crate) use crate::mem::{heap_room, reserve, resize};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// The integer comparison of soft-float builds is IEEE `<`: on zeros
    /// of both signs, infinities, NaNs, subnormals and random values.
    #[test]
    fn lt_bits_is_ieee_less_than() {
        let mut v = [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-45,
            -1e-45,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
        ]
        .to_vec();
        let mut rng = Rng::new(11);
        v.extend((0..200).map(|_| rng.normal() * 10f32.powi(rng.below(20) as i32 - 10)));
        for &a in &v {
            for &b in &v {
                assert_eq!(lt_bits(a, b), a < b, "{a:e} < {b:e}");
            }
        }
    }
}
