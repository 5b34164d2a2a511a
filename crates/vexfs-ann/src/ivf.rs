//! IVF-Flat: a k-means coarse quantiser partitions the vectors into
//! `nlist` inverted lists of raw vectors; a query scans the `nprobe` lists
//! whose centroids are nearest.

use crate::common::{
    batch_rows, check_query, check_vec, finish, lt, prepare, prepare_rows, reserve, row, Scored,
    TopK,
};
use crate::distance::kernels;
use crate::error::{AnnError, Result};
use crate::flat::FlatIndex;
use crate::index::{IndexKind, IndexStats, Neighbor, SearchParams, VectorId, VectorIndex};
use crate::io::ByteSink;
use crate::metric::Metric;
use crate::persist::{Header, Reader, Writer};
use alloc::vec::Vec;

/// IVF-Flat parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvfConfig {
    /// Number of inverted lists (k-means centroids).
    pub nlist: usize,
    /// Lists probed per query by default.
    pub nprobe: usize,
    /// k-means seed.
    pub seed: u64,
    /// Lloyd iterations.
    pub train_iters: usize,
}

impl Default for IvfConfig {
    fn default() -> Self {
        Self {
            nlist: 256,
            nprobe: 16,
            seed: 42,
            train_iters: 20,
        }
    }
}

/// One inverted list: ids and row-major vectors.
#[derive(Default, Clone)]
pub(crate) struct InvList {
    pub ids: Vec<VectorId>,
    pub data: Vec<f32>,
}

/// The `nprobe` centroids nearest to `q` (by squared L2), nearest first.
pub(crate) fn probe_lists(
    centroids: &[f32],
    dim: usize,
    q: &[f32],
    nprobe: usize,
) -> Result<Vec<Scored<u32>>> {
    let k = kernels();
    let mut top = TopK::try_new(nprobe)?;
    const CHUNK: usize = 64;
    let mut buf = [0f32; CHUNK];
    for (ci, cs) in centroids.chunks(CHUNK * dim).enumerate() {
        k.dist_rows(q, cs, dim, &mut buf, true);
        for (j, &d) in buf.iter().take(cs.len() / dim).enumerate() {
            if lt(d, top.worst()) {
                top.push(d, (ci * CHUNK + j) as u32);
            }
        }
    }
    Ok(top.into_sorted())
}

/// Batches at least this large probe lists with one blocked matrix
/// product over the centroids instead of one scan per query.
const BATCH_COARSE_MIN: usize = 16;

/// IVF-Flat index.
pub struct IvfFlatIndex {
    dim: usize,
    metric: Metric,
    cfg: IvfConfig,
    centroids: Vec<f32>,
    lists: Vec<InvList>,
    map: crate::id_map::IdMap<(u32, u32)>,
}

impl IvfFlatIndex {
    /// An untrained IVF-Flat index.
    pub fn new(dim: usize, metric: Metric, cfg: IvfConfig) -> Result<Self> {
        if dim == 0 || dim > crate::persist::MAX_DIM {
            return Err(AnnError::InvalidParameter("dim must be in 1..=65536"));
        }
        if cfg.nlist == 0 || cfg.nlist > 1 << 20 || cfg.nprobe == 0 {
            return Err(AnnError::InvalidParameter("nlist and nprobe must be > 0"));
        }
        Ok(Self {
            dim,
            metric,
            cfg,
            centroids: Vec::new(),
            lists: Vec::new(),
            map: crate::id_map::id_map(),
        })
    }

    /// The configuration (`nlist` reflects the trained list count).
    pub fn config(&self) -> &IvfConfig {
        &self.cfg
    }

    /// Change the default number of probed lists.
    pub fn set_nprobe(&mut self, nprobe: usize) {
        self.cfg.nprobe = nprobe.max(1);
    }

    fn push(&mut self, list: usize, id: VectorId, v: &[f32]) -> Result<()> {
        let l = &mut self.lists[list];
        reserve(&mut l.data, v.len())?;
        reserve(&mut l.ids, 1)?;
        crate::id_map::reserve(&mut self.map, 1)?;
        l.data.extend_from_slice(v);
        self.map.insert(id, (list as u32, l.ids.len() as u32));
        l.ids.push(id);
        Ok(())
    }

    pub(crate) fn write_payload(&self, w: &mut Writer) {
        w.usize(self.cfg.nlist);
        w.usize(self.cfg.nprobe);
        w.u64(self.cfg.seed);
        w.usize(self.cfg.train_iters);
        w.f32s(&self.centroids);
        for l in &self.lists {
            w.u64s(&l.ids);
            w.f32s(&l.data);
        }
    }

    pub(crate) fn read_payload(h: &Header, r: &mut Reader<'_>) -> Result<Self> {
        let bad = AnnError::Corrupt;
        let cfg = IvfConfig {
            nlist: r.usize_max(1 << 20)?,
            nprobe: r.usize_max(1 << 20)?,
            seed: r.u64()?,
            train_iters: r.usize_max(1 << 20)?,
        };
        let mut me = Self::new(h.dim, h.metric, cfg).map_err(|_| bad("ivf: invalid parameters"))?;
        let cent = r.f32s()?;
        if !cent.is_empty() && cent.len() != cfg.nlist * h.dim {
            return Err(bad("ivf: centroid table size"));
        }
        let nl = cent.len() / h.dim;
        me.centroids = cent;
        for li in 0..nl {
            let ids = r.u64s()?;
            let data = r.f32s()?;
            if data.len() != ids.len() * h.dim {
                return Err(bad("ivf: list data size"));
            }
            crate::id_map::reserve(&mut me.map, ids.len())?;
            for (p, &id) in ids.iter().enumerate() {
                if me.map.insert(id, (li as u32, p as u32)).is_some() {
                    return Err(bad("ivf: duplicate id"));
                }
            }
            me.lists.push(InvList { ids, data });
        }
        Ok(me)
    }

    crate::persist::typed_load!(IvfFlatIndex, IndexKind::IvfFlat);

    /// The `k` nearest stored vectors to the prepared query `q` among the
    /// lists `lists`.
    fn scan_lists(
        &self,
        q: &[f32],
        lists: impl Iterator<Item = usize>,
        k: usize,
        filter: Option<&dyn Fn(VectorId) -> bool>,
    ) -> Result<Vec<Neighbor>> {
        let kern = kernels();
        let l2 = self.metric == Metric::L2;
        let mut top = TopK::try_new(k)?;
        const CHUNK: usize = 64;
        let mut buf = [0f32; CHUNK];
        for li in lists {
            let Some(l) = self.lists.get(li) else {
                continue;
            };
            for (rows, ids) in l.data.chunks(CHUNK * self.dim).zip(l.ids.chunks(CHUNK)) {
                kern.dist_rows(q, rows, self.dim, &mut buf, l2);
                top.offer(&buf, ids, filter);
            }
        }
        Ok(finish(self.metric, top.into_sorted()))
    }
}

impl VectorIndex for IvfFlatIndex {
    fn kind(&self) -> IndexKind {
        IndexKind::IvfFlat
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
        let s = prepare_rows(self.metric, self.dim, sample)?;
        let cent = crate::kmeans::kmeans(
            &s,
            self.dim,
            self.cfg.nlist,
            self.cfg.train_iters,
            self.cfg.seed,
        )?;
        let nl = cent.len() / self.dim;
        // Re-assign anything already stored.
        let old = core::mem::take(&mut self.lists);
        self.map.clear();
        self.centroids = cent;
        self.cfg.nlist = nl;
        self.lists = (0..nl).map(|_| InvList::default()).collect();
        for l in old {
            for (i, &id) in l.ids.iter().enumerate() {
                let v = row(&l.data, self.dim, i);
                let c = crate::kmeans::nearest(&self.centroids, self.dim, v).0;
                self.push(c, id, v)?;
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
        // Assignment is the expensive part and runs in parallel; the
        // appends then happen in input order.
        let a = crate::kmeans::assign_all(&self.centroids, self.dim, &vs);
        for (i, (&id, &c)) in ids.iter().zip(&a).enumerate() {
            self.push(c as usize, id, row(&vs, self.dim, i))?;
        }
        Ok(())
    }
    fn remove(&mut self, id: VectorId) -> Result<bool> {
        let Some((li, p)) = self.map.remove(&id) else {
            return Ok(false);
        };
        let dim = self.dim;
        let l = &mut self.lists[li as usize];
        let p = p as usize;
        let last = l.ids.len() - 1;
        if p != last {
            let moved = l.ids[last];
            l.ids[p] = moved;
            l.data.copy_within(last * dim..(last + 1) * dim, p * dim);
            if let Some(slot) = self.map.get_mut(&moved) {
                *slot = (li, p as u32);
            }
        }
        l.ids.truncate(last);
        l.data.truncate(last * dim);
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
        let nprobe = params.nprobe.unwrap_or(self.cfg.nprobe).max(1);
        let lists = probe_lists(&self.centroids, self.dim, &q, nprobe)?;
        self.scan_lists(&q, lists.iter().map(|pl| pl.v as usize), params.k, filter)
    }
    fn search_batch(&self, queries: &[f32], params: &SearchParams) -> Result<Vec<Vec<Neighbor>>> {
        let dim = self.dim;
        let nq = batch_rows(dim, queries)?;
        if nq < BATCH_COARSE_MIN || !self.is_trained() {
            let f = |i: usize| self.search(&queries[i * dim..(i + 1) * dim], params, None);
            return crate::parallel::par_map(nq, &f).into_iter().collect();
        }
        check_query(dim, &queries[..dim], params)?;
        let qs = prepare_rows(self.metric, dim, queries)?;
        // The coarse step for all queries at once is a matrix product
        // against the centroids: the exact index's blocked batch kernel.
        let nprobe = params.nprobe.unwrap_or(self.cfg.nprobe).max(1);
        let mut coarse = FlatIndex::new(dim, Metric::L2)?;
        let nl = self.centroids.len() / dim;
        let cids: Vec<VectorId> = (0..nl as VectorId).collect();
        coarse.add_batch(&cids, &self.centroids)?;
        let probes = coarse.search_batch(&qs, &SearchParams::k(nprobe))?;
        let f = |i: usize| {
            let lists = probes[i].iter().map(|n| n.id as usize);
            self.scan_lists(row(&qs, dim, i), lists, params.k, None)
        };
        crate::parallel::par_map(nq, &f).into_iter().collect()
    }
    fn stats(&self) -> IndexStats {
        IndexStats {
            len: self.len(),
            deleted: 0,
            dim: self.dim,
            memory_bytes: self.centroids.capacity() * 4
                + self
                    .lists
                    .iter()
                    .map(|l| l.ids.capacity() * 8 + l.data.capacity() * 4 + 48)
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
            IndexKind::IvfFlat,
            self.metric,
            self.dim,
            self.len(),
            [c.nlist as u32, c.nprobe as u32, 0, 0],
        )
    }
}
