//! The trait every index strategy implements.

use crate::error::Result;
use crate::io::ByteSink;
use crate::metric::Metric;
use alloc::vec::Vec;

/// Vector ids are u64: in the filesystem they are inode numbers.
pub type VectorId = u64;

/// One search hit. `distance` follows [`Metric`]: smaller is nearer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    /// The vector's id.
    pub id: VectorId,
    /// Distance to the query (see [`Metric`]).
    pub distance: f32,
}

/// The strategies, as stored in a serialised index header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum IndexKind {
    /// Exact brute force ([`crate::FlatIndex`]).
    Flat = 0,
    /// Graph index ([`crate::HnswIndex`]).
    Hnsw = 1,
    /// Inverted lists of raw vectors ([`crate::IvfFlatIndex`]).
    IvfFlat = 2,
    /// Inverted lists of PQ codes ([`crate::IvfPqIndex`]).
    IvfPq = 3,
    /// Random-hyperplane hashing ([`crate::LshIndex`]).
    Lsh = 4,
}

impl IndexKind {
    /// Decode from the byte stored in serialised headers and the
    /// filesystem's index records.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::Flat,
            1 => Self::Hnsw,
            2 => Self::IvfFlat,
            3 => Self::IvfPq,
            4 => Self::Lsh,
            _ => return None,
        })
    }
}

/// Per-query knobs. Fields a strategy does not use are ignored; `None` means
/// the strategy's configured default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchParams {
    /// Number of neighbours to return.
    pub k: usize,
    /// HNSW: size of the dynamic candidate list.
    pub ef: Option<usize>,
    /// IVF / IVF-PQ: number of inverted lists probed. LSH: number of probes.
    pub nprobe: Option<usize>,
    /// IVF-PQ / LSH: candidates re-ranked with exact distances.
    pub rerank: Option<usize>,
}

impl SearchParams {
    /// Defaults for everything except `k`.
    pub const fn k(k: usize) -> Self {
        Self {
            k,
            ef: None,
            nprobe: None,
            rerank: None,
        }
    }
}

/// Size and shape of an index, for `vexctl stats` and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexStats {
    /// Live vectors.
    pub len: usize,
    /// Removed but not yet reclaimed entries.
    pub deleted: usize,
    /// Vector dimension.
    pub dim: usize,
    /// Heap bytes held by the index (approximate, excluding allocator slack).
    pub memory_bytes: usize,
}

/// A vector index. All strategies share this interface so the filesystem,
/// `vexctl` and `anns_benchmark` treat them alike.
pub trait VectorIndex: Send + Sync {
    /// The strategy.
    fn kind(&self) -> IndexKind;
    /// The metric distances follow.
    fn metric(&self) -> Metric;
    /// Vector dimension.
    fn dim(&self) -> usize;
    /// Number of live (not removed) vectors.
    fn len(&self) -> usize;
    /// True when no live vector is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether a live vector with this id is stored.
    fn contains(&self, id: VectorId) -> bool;
    /// Learn quantisers / centroids from a row-major sample (`n * dim`
    /// floats). Strategies that need no training return `Ok(())`.
    fn train(&mut self, sample: &[f32]) -> Result<()>;
    /// Whether `add` may be called (trained, or needs no training).
    fn is_trained(&self) -> bool;
    /// Insert one vector. Fails on a dimension mismatch or a duplicate id.
    fn add(&mut self, id: VectorId, vector: &[f32]) -> Result<()>;
    /// Insert many vectors (row-major). std builds may use all cores; the
    /// result is deterministic for a fixed seed regardless of thread count.
    /// On an error the index holds a prefix of the batch (possibly empty);
    /// the filesystem checks this with [`VectorIndex::contains`] before it
    /// relies on it.
    fn add_batch(&mut self, ids: &[VectorId], vectors: &[f32]) -> Result<()> {
        let dim = self.dim();
        for (i, id) in ids.iter().enumerate() {
            let v = vectors.get(i * dim..(i + 1) * dim).ok_or(
                crate::error::AnnError::DimensionMismatch {
                    expected: dim * ids.len(),
                    got: vectors.len(),
                },
            )?;
            self.add(*id, v)?;
        }
        Ok(())
    }
    /// Remove a vector; `Ok(false)` if the id was not present.
    fn remove(&mut self, id: VectorId) -> Result<bool>;
    /// The k nearest neighbours of `query`, nearest first. `filter`, when
    /// given, must return true for every id that may appear in the result.
    fn search(
        &self,
        query: &[f32],
        params: &SearchParams,
        filter: Option<&dyn Fn(VectorId) -> bool>,
    ) -> Result<Vec<Neighbor>>;
    /// Search many queries (row-major, `n * dim` floats) without a filter.
    /// std builds spread the queries over [`crate::num_threads`] threads;
    /// results are in query order and independent of the thread count.
    fn search_batch(&self, queries: &[f32], params: &SearchParams) -> Result<Vec<Vec<Neighbor>>> {
        let dim = self.dim();
        let n = crate::common::batch_rows(dim, queries)?;
        let f = |i: usize| self.search(&queries[i * dim..(i + 1) * dim], params, None);
        crate::parallel::par_map(n, &f).into_iter().collect()
    }
    /// Size and shape.
    fn stats(&self) -> IndexStats;
    /// Serialise behind the common versioned, checksummed header.
    fn save(&self, sink: &mut dyn ByteSink) -> Result<()>;
}
