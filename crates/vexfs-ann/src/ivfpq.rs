//! IVF-PQ: a coarse k-means quantiser plus product quantisation of the
//! residuals (vector minus its list centroid) with 8-bit codes. Queries
//! build an asymmetric-distance lookup table per probed list, scan the
//! codes, and re-rank the best `rerank` candidates with exact distances
//! against the raw vectors, which are kept for that purpose.
//!
//! L2 distances split as `|q - c - r|^2 = |q - c|^2 + (|r|^2 + 2<c, r>)
//! - 2<q, r>` for list centroid `c` and reconstructed residual `r`. The
//! middle term does not depend on the query and is stored per vector, so a
//! query builds one `-2<q_j, codeword>` table shared by every probed list
//! instead of one table per list (FAISS's "precomputed tables" would cost
//! `nlist * m * 256` floats and an `m * 256` pass per probed list).

use crate::common::{
    check_query, check_vec, finish, lt, prepare, prepare_rows, reserve, resize, row, TopK,
};
use crate::distance::{kernels, offload, pq, pq::KSUB};
use crate::error::{AnnError, Result};
use crate::index::{IndexKind, IndexStats, Neighbor, SearchParams, VectorId, VectorIndex};
use crate::io::ByteSink;
use crate::ivf::probe_lists;
use crate::metric::Metric;
use crate::persist::{Header, Reader, Writer};
use alloc::vec;
use alloc::vec::Vec;

/// Re-rank candidates whose raw rows are prefetched ahead of the one being
/// scored: enough to cover memory latency with a 128-d row per candidate.
const RERANK_AHEAD: usize = 4;

/// f32 values per 64-byte cache line.
const CACHE_LINE_F32: usize = 16;

/// IVF-PQ parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvfPqConfig {
    /// Number of inverted lists.
    pub nlist: usize,
    /// Number of PQ sub-quantisers; must divide the dimension.
    pub m_subquantizers: usize,
    /// Bits per code; only 8 is supported.
    pub nbits: usize,
    /// Lists probed per query by default.
    pub nprobe: usize,
    /// Candidates re-ranked with exact distances by default (0 = none:
    /// report approximate distances).
    pub rerank: usize,
    /// k-means seed.
    pub seed: u64,
    /// Lloyd iterations (coarse and PQ).
    pub train_iters: usize,
}

impl Default for IvfPqConfig {
    fn default() -> Self {
        Self {
            nlist: 256,
            m_subquantizers: 16,
            nbits: 8,
            nprobe: 16,
            rerank: 100,
            seed: 42,
            train_iters: 20,
        }
    }
}

#[derive(Default, Clone)]
struct PqList {
    ids: Vec<VectorId>,
    codes: Vec<u8>,
    raw: Vec<f32>,
    /// L2 only: `|r|^2 + 2<c, r>` per vector (see the module docs);
    /// derived from the codes, never stored. Empty for other metrics.
    bias: Vec<f32>,
}

/// IVF-PQ index.
pub struct IvfPqIndex {
    dim: usize,
    metric: Metric,
    cfg: IvfPqConfig,
    dsub: usize,
    /// Codewords per sub-quantiser actually trained (<= 256).
    ksub: usize,
    centroids: Vec<f32>,
    /// `m * 256 * dsub` floats; sub-quantiser j, codeword c at
    /// `(j * 256 + c) * dsub` (unused codewords stay at a far value).
    codebooks: Vec<f32>,
    /// The codebooks transposed per sub-quantiser, component `d` of
    /// codeword `c` of sub-quantiser `j` at `(j * dsub + d) * 256 + c`, so
    /// the query table is built with contiguous multiply-adds instead of
    /// 256 tiny `dsub`-wide dot products. Derived, never stored.
    books_t: Vec<f32>,
    lists: Vec<PqList>,
    map: crate::id_map::IdMap<(u32, u32)>,
}

impl IvfPqIndex {
    /// An untrained IVF-PQ index.
    pub fn new(dim: usize, metric: Metric, cfg: IvfPqConfig) -> Result<Self> {
        if dim == 0 || dim > crate::persist::MAX_DIM {
            return Err(AnnError::InvalidParameter("dim must be in 1..=65536"));
        }
        if cfg.nlist == 0 || cfg.nlist > 1 << 20 || cfg.nprobe == 0 {
            return Err(AnnError::InvalidParameter("nlist and nprobe must be > 0"));
        }
        if cfg.m_subquantizers == 0 || !dim.is_multiple_of(cfg.m_subquantizers) {
            return Err(AnnError::InvalidParameter(
                "m_subquantizers must divide the dimension",
            ));
        }
        if cfg.nbits != 8 {
            return Err(AnnError::InvalidParameter(
                "only 8-bit PQ codes are supported",
            ));
        }
        Ok(Self {
            dim,
            metric,
            cfg,
            dsub: dim / cfg.m_subquantizers,
            ksub: 0,
            centroids: Vec::new(),
            codebooks: Vec::new(),
            books_t: Vec::new(),
            lists: Vec::new(),
            map: crate::id_map::id_map(),
        })
    }

    /// The query-independent L2 term `|r|^2 + 2<c, r>` of `code` in
    /// `list`; `r` is scratch of `dim` floats for the reconstruction.
    fn bias(&self, list: usize, code: &[u8], r: &mut [f32]) -> f32 {
        let dsub = self.dsub;
        for (j, (rj, &cj)) in r.chunks_exact_mut(dsub).zip(code).enumerate() {
            let w = (j * KSUB + cj as usize) * dsub;
            rj.copy_from_slice(&self.codebooks[w..w + dsub]);
        }
        let k = kernels();
        let c = row(&self.centroids, self.dim, list);
        k.dot(r, r) + 2.0 * k.dot(c, r)
    }

    /// Recompute every list's `bias` (after loading).
    fn rebuild_bias(&mut self) -> Result<()> {
        if self.metric != Metric::L2 {
            return Ok(());
        }
        let (m, mut r) = (self.m(), vec![0f32; self.dim]);
        for li in 0..self.lists.len() {
            let mut bias = Vec::new();
            reserve(&mut bias, self.lists[li].ids.len())?;
            for code in self.lists[li].codes.chunks_exact(m) {
                bias.push(self.bias(li, code, &mut r));
            }
            self.lists[li].bias = bias;
        }
        Ok(())
    }

    /// Fill `books_t` from `codebooks` (after training and loading).
    fn transpose_books(&mut self) {
        let dsub = self.dsub;
        let mut t = vec![0f32; self.codebooks.len()];
        for (jd, out) in t.chunks_exact_mut(KSUB).enumerate() {
            let (j, d) = (jd / dsub, jd % dsub);
            for (c, o) in out.iter_mut().enumerate() {
                *o = self.codebooks[(j * KSUB + c) * dsub + d];
            }
        }
        self.books_t = t;
    }

    /// The per-query table, sub-quantiser `j` and codeword `c` at
    /// `j * 256 + c`: `-2<q_j, w_jc>` (L2) or `-<q_j, w_jc>` (inner
    /// product). Entries of unused codewords (`c >= ksub`) stay 0; no code
    /// refers to them.
    fn query_table(&self, q: &[f32]) -> Result<Vec<f32>> {
        let (m, dsub, ksub) = (self.m(), self.dsub, self.ksub);
        if !pq::table_fits(q.len(), self.books_t.len(), m, dsub, ksub, m * KSUB) {
            return Err(AnnError::Corrupt("codebooks do not match the dimension"));
        }
        let mut lut = Vec::new();
        resize(&mut lut, m * KSUB, 0f32)?;
        let l2 = self.metric == Metric::L2;
        offload::pq_table(q, &self.books_t, m, dsub, ksub, l2, &mut lut);
        Ok(lut)
    }

    /// Start loading the raw row of candidate `(list, position)`: re-rank
    /// rows are scattered over memory, so each one is a cache miss per line.
    #[inline]
    fn prefetch_raw(&self, (li, p): (u32, u32)) {
        let raw = &self.lists[li as usize].raw;
        let start = p as usize * self.dim;
        for off in (0..self.dim).step_by(CACHE_LINE_F32) {
            crate::distance::prefetch(raw.as_ptr().wrapping_add(start + off));
        }
    }

    /// The configuration.
    pub fn config(&self) -> &IvfPqConfig {
        &self.cfg
    }

    /// Change the default probes / re-rank depth.
    pub fn set_search_defaults(&mut self, nprobe: usize, rerank: usize) {
        self.cfg.nprobe = nprobe.max(1);
        self.cfg.rerank = rerank;
    }

    fn m(&self) -> usize {
        self.cfg.m_subquantizers
    }

    fn encode(&self, v: &[f32], list: usize, code: &mut [u8], resid: &mut [f32]) {
        let c = row(&self.centroids, self.dim, list);
        for ((r, &x), &y) in resid.iter_mut().zip(v).zip(c) {
            *r = x - y;
        }
        let k = kernels();
        let mut dists = [0f32; KSUB];
        for (j, cj) in code.iter_mut().enumerate() {
            let sub = &resid[j * self.dsub..(j + 1) * self.dsub];
            let book = &self.codebooks[j * KSUB * self.dsub..(j * KSUB + self.ksub) * self.dsub];
            k.dist_rows(sub, book, self.dsub, &mut dists, true);
            let mut best = (0usize, f32::INFINITY);
            for (w, &d) in dists.iter().take(self.ksub).enumerate() {
                if d < best.1 {
                    best = (w, d);
                }
            }
            *cj = best.0 as u8;
        }
    }

    fn push(&mut self, list: usize, id: VectorId, v: &[f32]) -> Result<()> {
        let mut code = vec![0u8; self.m()];
        let mut resid = vec![0f32; self.dim];
        self.encode(v, list, &mut code, &mut resid);
        self.push_code(list, id, v, &code)
    }

    fn push_code(&mut self, list: usize, id: VectorId, v: &[f32], code: &[u8]) -> Result<()> {
        let l2 = self.metric == Metric::L2;
        let bias = if l2 {
            self.bias(list, code, &mut vec![0f32; self.dim])
        } else {
            0.0
        };
        let l = &mut self.lists[list];
        reserve(&mut l.raw, v.len())?;
        reserve(&mut l.codes, code.len())?;
        reserve(&mut l.ids, 1)?;
        crate::id_map::reserve(&mut self.map, 1)?;
        if l2 {
            reserve(&mut l.bias, 1)?;
            l.bias.push(bias);
        }
        l.raw.extend_from_slice(v);
        l.codes.extend_from_slice(code);
        self.map.insert(id, (list as u32, l.ids.len() as u32));
        l.ids.push(id);
        Ok(())
    }

    pub(crate) fn write_payload(&self, w: &mut Writer) {
        let c = &self.cfg;
        w.usize(c.nlist);
        w.usize(c.m_subquantizers);
        w.usize(c.nbits);
        w.usize(c.nprobe);
        w.usize(c.rerank);
        w.u64(c.seed);
        w.usize(c.train_iters);
        w.usize(self.ksub);
        w.f32s(&self.centroids);
        w.f32s(&self.codebooks);
        for l in &self.lists {
            w.u64s(&l.ids);
            w.bytes(&l.codes);
            w.f32s(&l.raw);
        }
    }

    pub(crate) fn read_payload(h: &Header, r: &mut Reader<'_>) -> Result<Self> {
        let bad = AnnError::Corrupt;
        let cfg = IvfPqConfig {
            nlist: r.usize_max(1 << 20)?,
            m_subquantizers: r.usize_max(crate::persist::MAX_DIM)?,
            nbits: r.usize_max(64)?,
            nprobe: r.usize_max(1 << 20)?,
            rerank: r.usize_max(1 << 30)?,
            seed: r.u64()?,
            train_iters: r.usize_max(1 << 20)?,
        };
        let mut me =
            Self::new(h.dim, h.metric, cfg).map_err(|_| bad("ivfpq: invalid parameters"))?;
        me.ksub = r.usize_max(KSUB)?;
        let cent = r.f32s()?;
        let cb = r.f32s()?;
        if cent.is_empty() {
            if !cb.is_empty() || me.ksub != 0 {
                return Err(bad("ivfpq: codebooks without centroids"));
            }
        } else if cent.len() != cfg.nlist * h.dim
            || cb.len() != cfg.m_subquantizers * KSUB * me.dsub
            || me.ksub == 0
        {
            return Err(bad("ivfpq: quantiser table size"));
        }
        let nl = cent.len() / h.dim;
        me.centroids = cent;
        me.codebooks = cb;
        me.transpose_books();
        let m = me.m();
        for li in 0..nl {
            let ids = r.u64s()?;
            let codes = r.bytes()?;
            let raw = r.f32s()?;
            if raw.len() != ids.len() * h.dim || codes.len() != ids.len() * m {
                return Err(bad("ivfpq: list data size"));
            }
            if codes.iter().any(|&c| c as usize >= me.ksub) {
                return Err(bad("ivfpq: code out of range"));
            }
            crate::id_map::reserve(&mut me.map, ids.len())?;
            for (p, &id) in ids.iter().enumerate() {
                if me.map.insert(id, (li as u32, p as u32)).is_some() {
                    return Err(bad("ivfpq: duplicate id"));
                }
            }
            me.lists.push(PqList {
                ids,
                codes,
                raw,
                bias: Vec::new(),
            });
        }
        me.rebuild_bias()?;
        Ok(me)
    }

    crate::persist::typed_load!(IvfPqIndex, IndexKind::IvfPq);
}

impl VectorIndex for IvfPqIndex {
    fn kind(&self) -> IndexKind {
        IndexKind::IvfPq
    }
    fn metric(&self) -> Metric {
        self.metric
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn contains(&self, id: VectorId) -> bool {
        self.map.contains_key(&id)
    }
    fn len(&self) -> usize {
        self.map.len()
    }
    fn train(&mut self, sample: &[f32]) -> Result<()> {
        let dim = self.dim;
        if !sample.len().is_multiple_of(dim) || sample.is_empty() {
            return Err(AnnError::DimensionMismatch {
                expected: dim,
                got: sample.len() % dim,
            });
        }
        let s = prepare_rows(self.metric, dim, sample)?;
        let cent =
            crate::kmeans::kmeans(&s, dim, self.cfg.nlist, self.cfg.train_iters, self.cfg.seed)?;
        let assign = crate::kmeans::assign_all(&cent, dim, &s);
        // Residuals, then one k-means per sub-space.
        let n = s.len() / dim;
        let (m, dsub) = (self.m(), self.dsub);
        let mut cb = vec![1.0e18f32; m * KSUB * dsub];
        let mut sub = vec![0f32; n * dsub];
        let mut ksub = KSUB;
        for j in 0..m {
            for i in 0..n {
                let x = row(&s, dim, i);
                let c = row(&cent, dim, assign[i] as usize);
                for d in 0..dsub {
                    sub[i * dsub + d] = x[j * dsub + d] - c[j * dsub + d];
                }
            }
            let seed = self.cfg.seed.wrapping_add(1 + j as u64);
            let w = crate::kmeans::kmeans(&sub, dsub, KSUB, self.cfg.train_iters, seed)?;
            ksub = ksub.min(w.len() / dsub);
            cb[j * KSUB * dsub..j * KSUB * dsub + w.len()].copy_from_slice(&w);
        }
        let old = core::mem::take(&mut self.lists);
        self.map.clear();
        self.cfg.nlist = cent.len() / dim;
        self.centroids = cent;
        self.codebooks = cb;
        self.ksub = ksub;
        self.transpose_books();
        self.lists = (0..self.cfg.nlist).map(|_| PqList::default()).collect();
        for l in old {
            for (i, &id) in l.ids.iter().enumerate() {
                let v = row(&l.raw, dim, i).to_vec();
                let c = crate::kmeans::nearest(&self.centroids, dim, &v).0;
                self.push(c, id, &v)?;
            }
        }
        Ok(())
    }
    fn is_trained(&self) -> bool {
        !self.centroids.is_empty()
    }
    fn add(&mut self, id: VectorId, vector: &[f32]) -> Result<()> {
        check_vec(self.dim, vector)?;
        if !self.is_trained() {
            return Err(AnnError::NotTrained);
        }
        if self.map.contains_key(&id) {
            return Err(AnnError::DuplicateId(id));
        }
        let v = prepare(self.metric, vector)?;
        let c = crate::kmeans::nearest(&self.centroids, self.dim, &v).0;
        self.push(c, id, &v)
    }
    fn add_batch(&mut self, ids: &[VectorId], vectors: &[f32]) -> Result<()> {
        let map = &self.map;
        let vs = crate::common::prepare_batch(
            self.dim,
            self.metric,
            self.is_trained(),
            ids,
            vectors,
            |id| map.contains_key(&id),
        )?;
        // Blocked assignment (the panel kernel), then encoding in
        // parallel; appends happen in input order.
        let assign = crate::kmeans::assign_all(&self.centroids, self.dim, &vs);
        let encoded: Vec<(u32, Vec<u8>)> = {
            let me = &*self;
            let vs = &vs;
            let assign = &assign;
            let f = |i: usize| {
                let v = row(vs, me.dim, i);
                let c = assign[i] as usize;
                let mut code = vec![0u8; me.m()];
                let mut resid = vec![0f32; me.dim];
                me.encode(v, c, &mut code, &mut resid);
                (c as u32, code)
            };
            crate::parallel::par_map(ids.len(), &f)
        };
        for (i, (&id, (c, code))) in ids.iter().zip(encoded).enumerate() {
            let v = row(&vs, self.dim, i).to_vec();
            self.push_code(c as usize, id, &v, &code)?;
        }
        Ok(())
    }
    fn remove(&mut self, id: VectorId) -> Result<bool> {
        let Some((li, p)) = self.map.remove(&id) else {
            return Ok(false);
        };
        let (dim, m) = (self.dim, self.m());
        let l = &mut self.lists[li as usize];
        let p = p as usize;
        let last = l.ids.len() - 1;
        if p != last {
            let moved = l.ids[last];
            l.ids[p] = moved;
            l.raw.copy_within(last * dim..(last + 1) * dim, p * dim);
            l.codes.copy_within(last * m..(last + 1) * m, p * m);
            if let Some(&b) = l.bias.get(last) {
                l.bias[p] = b;
            }
            if let Some(slot) = self.map.get_mut(&moved) {
                *slot = (li, p as u32);
            }
        }
        l.bias.truncate(last);
        l.ids.truncate(last);
        l.raw.truncate(last * dim);
        l.codes.truncate(last * m);
        Ok(true)
    }
    fn search(
        &self,
        query: &[f32],
        params: &SearchParams,
        filter: Option<&dyn Fn(VectorId) -> bool>,
    ) -> Result<Vec<Neighbor>> {
        check_query(self.dim, query, params)?;
        if !self.is_trained() {
            return Ok(Vec::new());
        }
        let q = prepare(self.metric, query)?;
        let (dim, m) = (self.dim, self.m());
        let nprobe = params.nprobe.unwrap_or(self.cfg.nprobe).max(1);
        let rerank = params.rerank.unwrap_or(self.cfg.rerank);
        let depth = if rerank > 0 {
            rerank.max(params.k)
        } else {
            params.k
        };
        let kern = kernels();
        let l2 = self.metric == Metric::L2;
        let lut = self.query_table(&q)?;
        let mut dists = Vec::new();
        let mut top: TopK<(u32, u32)> = TopK::try_new(depth)?;
        for pl in probe_lists(&self.centroids, dim, &q, nprobe)? {
            let li = pl.v as usize;
            let l = &self.lists[li];
            if l.ids.is_empty() {
                continue;
            }
            // L2: |q - c|^2 is the probe distance; inner product: -<q, c>.
            let base = if l2 {
                pl.d
            } else {
                -kern.dot(&q, row(&self.centroids, dim, li))
            };
            dists.clear();
            resize(&mut dists, l.ids.len(), 0.0)?;
            let bias: &[f32] = if l2 { &l.bias } else { &[] };
            if !pq::adc_fits(lut.len(), l.codes.len(), bias.len(), m, dists.len()) {
                return Err(AnnError::Corrupt("list codes do not match its ids"));
            }
            offload::adc_scan(&lut, &l.codes, m, base, bias, &mut dists);
            let mut worst = top.worst();
            for (p, (&d, &id)) in dists.iter().zip(&l.ids).enumerate() {
                if lt(d, worst) {
                    if let Some(flt) = filter {
                        if !flt(id) {
                            continue;
                        }
                    }
                    top.push(d, (li as u32, p as u32));
                    worst = top.worst();
                }
            }
        }
        let cands = top.into_sorted();
        if rerank > 0 {
            cands
                .iter()
                .take(RERANK_AHEAD)
                .for_each(|s| self.prefetch_raw(s.v));
        }
        let f = kern.dist_fn(self.metric);
        let mut out = TopK::try_new(params.k)?;
        for (i, s) in cands.iter().enumerate() {
            let (li, p) = s.v;
            let l = &self.lists[li as usize];
            let id = l.ids[p as usize];
            let d = if rerank > 0 {
                if let Some(ahead) = cands.get(i + RERANK_AHEAD) {
                    self.prefetch_raw(ahead.v);
                }
                f.eval(&q, row(&l.raw, dim, p as usize))
            } else {
                s.d
            };
            out.push(d, id);
        }
        Ok(finish(self.metric, out.into_sorted()))
    }
    fn stats(&self) -> IndexStats {
        IndexStats {
            len: self.len(),
            deleted: 0,
            dim: self.dim,
            memory_bytes: self.centroids.capacity() * 4
                + self.codebooks.capacity() * 4
                + self.books_t.capacity() * 4
                + self
                    .lists
                    .iter()
                    .map(|l| {
                        l.ids.capacity() * 8
                            + l.codes.capacity()
                            + l.raw.capacity() * 4
                            + l.bias.capacity() * 4
                            + 96
                    })
                    .sum::<usize>()
                + self.map.len() * 32,
        }
    }
    fn save(&self, sink: &mut dyn ByteSink) -> Result<()> {
        let mut w = Writer::new();
        self.write_payload(&mut w);
        let c = &self.cfg;
        w.finish(
            sink,
            IndexKind::IvfPq,
            self.metric,
            self.dim,
            self.len(),
            [
                c.nlist as u32,
                c.m_subquantizers as u32,
                c.nprobe as u32,
                c.rerank as u32,
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn normal_rows(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n * dim).map(|_| rng.normal()).collect()
    }

    /// `c + r` for the stored code of `id`, straight from the codebooks.
    fn reconstruct(idx: &IvfPqIndex, id: VectorId) -> Vec<f32> {
        let (li, p) = idx.map[&id];
        let (m, dsub) = (idx.m(), idx.dsub);
        let code = &idx.lists[li as usize].codes[p as usize * m..][..m];
        let c = row(&idx.centroids, idx.dim, li as usize);
        let mut v = c.to_vec();
        for (j, &cj) in code.iter().enumerate() {
            let w = &idx.codebooks[(j * KSUB + cj as usize) * dsub..][..dsub];
            for (x, &y) in v[j * dsub..(j + 1) * dsub].iter_mut().zip(w) {
                *x += y;
            }
        }
        v
    }

    fn small_index() -> IvfPqIndex {
        let (dim, n) = (16, 400);
        let cfg = IvfPqConfig {
            nlist: 4,
            m_subquantizers: 4,
            nprobe: 4,
            rerank: 0,
            ..IvfPqConfig::default()
        };
        let mut idx = IvfPqIndex::new(dim, Metric::L2, cfg).unwrap();
        let data = normal_rows(n, dim, 7);
        idx.train(&data).unwrap();
        let ids: Vec<VectorId> = (0..n as VectorId).collect();
        idx.add_batch(&ids, &data).unwrap();
        // Removals move the last row of a list into the gap; the per-vector
        // bias must move with it.
        for id in (0..n as VectorId).step_by(7) {
            assert!(idx.remove(id).unwrap());
        }
        idx
    }

    /// Without re-ranking, the reported L2 distance is the one to the
    /// reconstructed vector: the stored bias plus the shared query table
    /// must add up to `|q - c - r|^2`.
    #[test]
    fn adc_distance_matches_reconstruction() {
        let idx = small_index();
        let params = SearchParams::k(30);
        for q in normal_rows(20, idx.dim, 99).chunks_exact(idx.dim) {
            let hits = idx.search(q, &params, None).unwrap();
            assert_eq!(hits.len(), 30);
            for h in hits {
                let exact: f32 = reconstruct(&idx, h.id)
                    .iter()
                    .zip(q)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                let tol = 1e-4 * exact.max(1.0);
                assert!(
                    (h.distance - exact).abs() <= tol,
                    "{} vs {exact}",
                    h.distance
                );
            }
        }
    }

    /// The bias is rebuilt on load, not stored: results must be identical.
    #[test]
    fn load_rebuilds_bias() {
        let idx = small_index();
        let mut bytes = Vec::new();
        idx.save(&mut bytes).unwrap();
        let back = IvfPqIndex::load(&mut &bytes[..]).unwrap();
        let params = SearchParams::k(10);
        for q in normal_rows(10, idx.dim, 5).chunks_exact(idx.dim) {
            let a = idx.search(q, &params, None).unwrap();
            let b = back.search(q, &params, None).unwrap();
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                assert_eq!((x.id, x.distance.to_bits()), (y.id, y.distance.to_bits()));
            }
        }
    }
}
