//! Embeddings an index has taken but its strategy does not hold yet.
//!
//! An untrained IVF or IVF-PQ index collects them until there are enough
//! to train on; any index collects them while its insertions are left to a
//! background worker (`Fs::vectors_absorb`). Either way every search scans
//! them exactly, so a file is found the moment its embedding is stored.
//! The rows sit in a flat index of their own, so that scan is one SIMD
//! pass over contiguous rows with the query's filter applied inside it.

use super::ann_error;
use crate::error::{FsError, Result};
use alloc::vec::Vec;
use vexfs_ann::{FlatIndex, Metric, Neighbor, SearchParams, VectorIndex};

pub(crate) struct Pending {
    rows: FlatIndex,
    /// The same inodes in ascending order: the oldest inode numbers go
    /// first, and saves list them in a stable order. A sorted vector, so
    /// growing it can fail with ENOMEM (new files mostly append).
    order: Vec<u64>,
    dim: usize,
}

impl Pending {
    pub(crate) fn new(dim: usize, metric: Metric) -> Result<Self> {
        Ok(Self {
            rows: FlatIndex::new(dim, metric)
                .map_err(ann_error)?
                .without_huge_pages(),
            order: Vec::new(),
            dim,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Room for `n` more vectors: the next `n` inserts allocate nothing.
    pub(crate) fn reserve(&mut self, n: usize) -> Result<()> {
        crate::fallible::reserve(&mut self.order, n)?;
        self.rows.reserve(n).map_err(ann_error)
    }

    /// Add or replace the vector of `ino`.
    pub(crate) fn insert(&mut self, ino: u64, v: &[f32]) -> Result<()> {
        self.remove(ino)?;
        crate::fallible::reserve(&mut self.order, 1)?;
        self.rows.add(ino, v).map_err(ann_error)?;
        let at = self.order.partition_point(|&x| x < ino);
        self.order.insert(at, ino);
        Ok(())
    }

    pub(crate) fn remove(&mut self, ino: u64) -> Result<bool> {
        let Ok(at) = self.order.binary_search(&ino) else {
            return Ok(false);
        };
        self.order.remove(at);
        self.rows.remove(ino).map_err(ann_error)
    }

    /// Every pending (inode, vector) in inode order. The vectors are as the
    /// strategy would store them (scaled to unit length for cosine).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &[f32])> + '_ {
        self.order
            .iter()
            .filter_map(|&ino| self.rows.get(ino).map(|v| (ino, v)))
    }

    /// All pending rows as one batch (inode numbers, row-major vectors),
    /// left in place.
    pub(crate) fn batch(&self, n: usize) -> Result<(Vec<u64>, Vec<f32>)> {
        let n = n.min(self.len());
        let mut ids = Vec::new();
        let mut rows = Vec::new();
        ids.try_reserve(n).map_err(|_| FsError::NoMemory)?;
        rows.try_reserve(n.saturating_mul(self.dim))
            .map_err(|_| FsError::NoMemory)?;
        for (ino, v) in self.iter().take(n) {
            ids.push(ino);
            rows.extend_from_slice(v);
        }
        Ok((ids, rows))
    }

    /// Forget the given inodes (after the strategy took them; ascending,
    /// as [`Pending::batch`] lists them).
    pub(crate) fn forget(&mut self, ids: &[u64]) -> Result<()> {
        for &ino in ids {
            self.rows.remove(ino).map_err(ann_error)?;
        }
        if ids.is_sorted() {
            self.order.retain(|x| ids.binary_search(x).is_err());
        } else {
            self.order.retain(|x| !ids.contains(x));
        }
        Ok(())
    }

    /// The `k` nearest pending vectors that pass `filter`, exactly.
    pub(crate) fn search(
        &self,
        q: &[f32],
        k: usize,
        filter: Option<&dyn Fn(u64) -> bool>,
    ) -> Result<Vec<Neighbor>> {
        if self.is_empty() {
            return Ok(Vec::new());
        }
        self.rows
            .search(q, &SearchParams::k(k), filter)
            .map_err(ann_error)
    }

    /// Bytes held (rows, norms, and the two id maps).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.len() * (self.dim * 4 + 4 + 8 + 2 * 48)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replace_remove_and_batches_in_inode_order() {
        let mut p = Pending::new(2, Metric::L2).unwrap();
        p.insert(9, &[9.0, 0.0]).unwrap();
        p.insert(3, &[3.0, 0.0]).unwrap();
        p.insert(5, &[5.0, 0.0]).unwrap();
        p.insert(3, &[3.5, 0.0]).unwrap();
        assert_eq!(p.len(), 3);
        let (ids, rows) = p.batch(2).unwrap();
        assert_eq!(ids, [3, 5]);
        assert_eq!(rows, [3.5, 0.0, 5.0, 0.0]);
        p.forget(&ids).unwrap();
        assert_eq!(p.iter().map(|(i, _)| i).collect::<Vec<_>>(), [9]);
        assert!(p.remove(9).unwrap());
        assert!(!p.remove(9).unwrap());
        assert!(p.is_empty());
    }

    #[test]
    fn search_is_exact_and_filtered() {
        let mut p = Pending::new(1, Metric::L2).unwrap();
        for i in 1..=100u64 {
            p.insert(i, &[i as f32]).unwrap();
        }
        let hits = p.search(&[10.2], 3, None).unwrap();
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [10, 11, 9]);
        let odd = |id: u64| id % 2 == 1;
        let hits = p.search(&[10.2], 2, Some(&odd)).unwrap();
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [11, 9]);
        let empty = Pending::new(1, Metric::L2).unwrap();
        assert!(empty.search(&[1.0], 1, None).unwrap().is_empty());
    }
}
