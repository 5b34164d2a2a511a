//! Batched code-scan search: a group of queries shares each block of
//! stored codes while it is in L1.
//!
//! One query streams every stored code once (64 bytes a vector at 512
//! bits: 6.4 MB for 100k vectors, from L3 or memory). A group of
//! [`GROUP`] queries reads a block of [`BLOCK`] codes once from there and
//! then [`GROUP`] times from L1, the blocking FAISS's Hamming k-NN uses.
//! Distances are exact integers, so the results are those of one query
//! at a time.

use super::{LshIndex, LshScratch};
use crate::common::{batch_rows, prepare};
use crate::error::Result;
use crate::index::{Neighbor, SearchParams};
use alloc::vec::Vec;

/// Queries that share a block of codes.
const GROUP: usize = 8;

/// Stored codes per block: 16 KiB of codes at 8 words, half of L1.
const BLOCK_BYTES: usize = 16 << 10;

impl LshIndex {
    /// Code-scan search of many queries (row-major), in query order.
    pub(super) fn search_codes_batch(
        &self,
        queries: &[f32],
        params: &SearchParams,
    ) -> Result<Vec<Vec<Neighbor>>> {
        let dim = self.dim;
        let nq = batch_rows(dim, queries)?;
        let rerank = params.rerank.unwrap_or(self.cfg.rerank);
        let groups = nq.div_ceil(GROUP);
        let one = |g: usize| -> Result<Vec<Vec<Neighbor>>> {
            let lo = g * GROUP;
            let hi = (lo + GROUP).min(nq);
            let mut qs = Vec::with_capacity(hi - lo);
            let mut codes = Vec::with_capacity(hi - lo);
            let (mut proj, mut centred) = (Vec::new(), Vec::new());
            for i in lo..hi {
                let row = &queries[i * dim..(i + 1) * dim];
                crate::common::check_query(dim, row, params)?;
                let q = prepare(self.metric, row)?;
                let mut key = Vec::new();
                self.project(&q, &mut proj, &mut centred)?;
                self.keys_of(&proj, &mut key)?;
                qs.push(q);
                codes.push(key);
            }
            self.group_search(&qs, &codes, params.k, rerank)
        };
        let parts = crate::parallel::par_map(groups, &one);
        let mut out = Vec::with_capacity(nq);
        for p in parts {
            out.extend(p?);
        }
        Ok(out)
    }

    /// Distances of every query of a group to every code, block by block,
    /// then each query's selection and re-rank.
    fn group_search(
        &self,
        qs: &[Vec<f32>],
        codes: &[Vec<u64>],
        k: usize,
        rerank: usize,
    ) -> Result<Vec<Vec<Neighbor>>> {
        let n = self.ids.len();
        let w = self.cfg.tables;
        let mut sc = self.pool.take().unwrap_or_else(LshScratch::new);
        let g = qs.len();
        sc.dist.clear();
        sc.dist.resize(n * g, 0);
        let block = (BLOCK_BYTES / (8 * w)).max(1);
        let mut start = 0;
        while start < n {
            let end = (start + block).min(n);
            let blk = &self.keys[start * w..end * w];
            for (j, qc) in codes.iter().enumerate() {
                crate::hamming::distances(blk, qc, &mut sc.dist[j * n + start..j * n + end]);
            }
            start = end;
        }
        let LshScratch {
            dist, hist, cand, ..
        } = &mut sc;
        let res = qs
            .iter()
            .zip(dist.chunks_exact_mut(n.max(1)))
            .map(|(q, d)| self.rank_codes(q, d, hist, cand, k, rerank, None))
            .collect();
        self.pool.give(sc);
        res
    }
}
