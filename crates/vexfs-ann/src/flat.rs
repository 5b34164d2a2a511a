//! Exact search: every stored vector is compared with the query.
//!
//! Vectors are kept row-major in one contiguous buffer. A single query is a
//! streaming scan with a bounded max-heap; many queries
//! ([`VectorIndex::search_batch`]) are blocked like FAISS's exhaustive search:
//! a block of rows that fits in cache is swept by groups of four queries
//! with a kernel that loads each row once for all four.
//!
//! With f16 or SQ8 storage ([`Storage`]) the rows are kept as codes
//! instead (half or a quarter of the bytes) and every query is a scan of
//! the codes with the matching kernel.

use crate::common::{
    batch_rows, check_query, check_vec, finish, prepare, prepare_rows, reserve, row, TopK,
};
use crate::distance::kernels;
use crate::error::{AnnError, Result};
use crate::index::{IndexKind, IndexStats, Neighbor, SearchParams, VectorId, VectorIndex};
use crate::io::ByteSink;
use crate::metric::Metric;
use crate::persist::{Header, Reader, Writer};
use crate::storage::{Codec, Storage};
use alloc::vec;
use alloc::vec::Vec;

/// Vector bytes above which a single-query scan uses the streaming kernel
/// (about where the rows stop fitting in the per-core caches).
const STREAM_MIN_BYTES: usize = 4 << 20;

/// Brute-force exact index.
pub struct FlatIndex {
    dim: usize,
    metric: Metric,
    data: Vec<f32>,
    /// Squared norm of each row (for the blocked L2 path).
    norms: Vec<f32>,
    ids: Vec<VectorId>,
    pos: crate::id_map::IdMap<u32>,
    /// f16 / SQ8 storage: the codec, and `code_len` bytes per row in
    /// `codes` (then `data` and `norms` stay empty).
    codec: Option<Codec>,
    codes: Vec<u8>,
    /// Large buffers grow into fresh huge-page memory (`crate::mem`).
    huge_pages: bool,
}

impl FlatIndex {
    /// An empty index of `dim`-dimensional vectors.
    pub fn new(dim: usize, metric: Metric) -> Result<Self> {
        Self::with_storage(dim, metric, Storage::F32)
    }

    /// An empty index keeping its vectors as `storage` (SQ8 must be
    /// trained before the first `add`).
    pub fn with_storage(dim: usize, metric: Metric, storage: Storage) -> Result<Self> {
        if dim == 0 || dim > crate::persist::MAX_DIM {
            return Err(AnnError::InvalidParameter("dim must be in 1..=65536"));
        }
        Ok(Self {
            dim,
            metric,
            data: Vec::new(),
            norms: Vec::new(),
            ids: Vec::new(),
            pos: crate::id_map::id_map(),
            codec: Codec::new(storage, dim),
            codes: Vec::new(),
            huge_pages: true,
        })
    }

    /// Grow by plain reallocation, never moving the rows into fresh
    /// huge-page memory: for rows that stream in, stay briefly and are
    /// scanned in address order (a filesystem's pending embeddings), where
    /// each move's copy and page faults cost more than huge pages save.
    pub fn without_huge_pages(mut self) -> Self {
        self.huge_pages = false;
        self
    }

    /// How the vectors are stored.
    pub fn storage(&self) -> Storage {
        self.codec.as_ref().map_or(Storage::F32, Codec::storage)
    }

    /// Stored vector of `id` decoded to f32 (normalised for cosine;
    /// rounded as stored for f16 / SQ8).
    pub fn get_decoded(&self, id: VectorId) -> Option<Vec<f32>> {
        let &p = self.pos.get(&id)?;
        match &self.codec {
            None => Some(row(&self.data, self.dim, p as usize).to_vec()),
            Some(c) => {
                let mut v = vec![0f32; self.dim];
                c.decode(row(&self.codes, c.code_len(), p as usize), &mut v);
                Some(v)
            }
        }
    }

    /// Many prepared queries over the codes, single thread: a block of
    /// rows small enough to stay in L2 is scored against every query
    /// before the next block is read, so the codes come from memory once
    /// per block of queries instead of once per query.
    fn scan_codes_block(&self, c: &Codec, qs: &[f32], k: usize) -> Vec<Vec<Neighbor>> {
        let cqs: Vec<_> = qs
            .chunks_exact(self.dim)
            .map(|q| c.query(q, self.metric))
            .collect();
        let mut tops: Vec<TopK<VectorId>> = (0..cqs.len()).map(|_| TopK::new(k)).collect();
        let len = c.code_len();
        let block = ((256 * 1024) / len.max(1)).clamp(64, 1 << 16);
        const CHUNK: usize = 64;
        let mut buf = [0f32; CHUNK];
        for (rows, ids) in self.codes.chunks(block * len).zip(self.ids.chunks(block)) {
            for (cq, top) in cqs.iter().zip(tops.iter_mut()) {
                for (r, i) in rows.chunks(CHUNK * len).zip(ids.chunks(CHUNK)) {
                    c.dist_rows(cq, r, &mut buf);
                    top.offer(&buf[..i.len()], i, None);
                }
            }
        }
        tops.into_iter()
            .map(|t| finish(self.metric, t.into_sorted()))
            .collect()
    }

    /// Scan of the codes for one prepared query.
    fn scan_codes(
        &self,
        c: &Codec,
        q: &[f32],
        k: usize,
        filter: Option<&dyn Fn(VectorId) -> bool>,
    ) -> Result<TopK<VectorId>> {
        let cq = c.query(q, self.metric);
        let len = c.code_len();
        let mut top = TopK::try_new(k)?;
        const CHUNK: usize = 64;
        let mut buf = [0f32; CHUNK];
        for (rows, ids) in self.codes.chunks(CHUNK * len).zip(self.ids.chunks(CHUNK)) {
            c.dist_rows(&cq, rows, &mut buf);
            top.offer(&buf[..ids.len()], ids, filter);
        }
        Ok(top)
    }

    /// Stored f32 vector of `id` (normalised for cosine), if present;
    /// `None` with f16 / SQ8 storage (see [`FlatIndex::get_decoded`]).
    pub fn get(&self, id: VectorId) -> Option<&[f32]> {
        self.pos
            .get(&id)
            .map(|&p| row(&self.data, self.dim, p as usize))
    }

    /// Reserve room for `n` more vectors: the next `n` [`VectorIndex::add`]
    /// calls of uncompressed rows then allocate nothing.
    pub fn reserve(&mut self, n: usize) -> Result<()> {
        fn grow<T>(v: &mut Vec<T>, n: usize, huge: bool) -> Result<()> {
            if huge {
                reserve(v, n)
            } else {
                v.try_reserve(n).map_err(|_| AnnError::OutOfMemory)
            }
        }
        let huge = self.huge_pages;
        match &self.codec {
            None => {
                grow(&mut self.data, n.saturating_mul(self.dim), huge)?;
                grow(&mut self.norms, n, huge)?;
            }
            Some(c) => grow(&mut self.codes, n.saturating_mul(c.code_len()), huge)?,
        }
        grow(&mut self.ids, n, huge)?;
        crate::id_map::reserve(&mut self.pos, n)
    }

    fn scan(
        &self,
        q: &[f32],
        k: usize,
        filter: Option<&dyn Fn(VectorId) -> bool>,
    ) -> Result<TopK<VectorId>> {
        scan_rows(self.metric, self.dim, &self.data, &self.ids, q, k, filter)
    }

    /// Blocked multi-query scan, single thread, for queries `qs`
    /// (already prepared).
    fn scan_block(&self, qs: &[f32], k: usize, use_panel: bool) -> Vec<Vec<Neighbor>> {
        let dim = self.dim;
        let nq = qs.len() / dim;
        let kern = kernels();
        let mut tops: Vec<TopK<VectorId>> = (0..nq).map(|_| TopK::new(k)).collect();
        let qnorm: Vec<f32> = qs.chunks_exact(dim).map(|q| kern.dot(q, q)).collect();
        let l2 = self.metric == Metric::L2;
        let n = self.ids.len();
        if use_panel && kern.has_panel() {
            self.scan_panels(qs, &qnorm, &mut tops);
        } else {
            // About 256 KiB of rows per block keeps them in L2 while all query
            // groups sweep them.
            let block = ((256 * 1024) / (dim * 4)).max(16);
            let mut start = 0;
            while start < n {
                let end = (start + block).min(n);
                let mut qi = 0;
                while qi < nq {
                    let g = (nq - qi).min(4);
                    let q = |j: usize| row(qs, dim, qi + j.min(g - 1));
                    let qv = [q(0), q(1), q(2), q(3)];
                    for r in start..end {
                        let x = row(&self.data, dim, r);
                        let dots = kern.dot4(qv, x);
                        for j in 0..g {
                            let d = if l2 {
                                qnorm[qi + j] + self.norms[r] - 2.0 * dots[j]
                            } else {
                                -dots[j]
                            };
                            let t = &mut tops[qi + j];
                            if d < t.worst() {
                                t.push(d, self.ids[r]);
                            }
                        }
                    }
                    qi += g;
                }
                start = end;
            }
        }
        tops.into_iter()
            .map(|t| {
                let mut v = t.into_sorted();
                if l2 {
                    // The expansion can go slightly negative by rounding.
                    v.iter_mut().for_each(|s| s.d = s.d.max(0.0));
                }
                finish(self.metric, v)
            })
            .collect()
    }

    /// GEMM-style sweep: a block of rows is packed once into 32-row panels
    /// (element-major), then every group of 8 queries multiplies against
    /// each panel with a register-blocked kernel, FAISS/BLAS style.
    fn scan_panels(&self, qs: &[f32], qnorm: &[f32], tops: &mut [TopK<VectorId>]) {
        use crate::distance::{PANEL_QUERIES as PQ, PANEL_ROWS as PR};
        let dim = self.dim;
        let nq = qs.len() / dim;
        let n = self.ids.len();
        let kern = kernels();
        let l2 = self.metric == Metric::L2;
        let block = (((256 * 1024) / (dim * 4)) / PR).max(1) * PR;
        let mut packed = vec![0f32; block * dim];
        let mut out = [0f32; PR * PQ];
        let mut start = 0;
        while start < n {
            let end = (start + block).min(n);
            let panels = (end - start).div_ceil(PR);
            for p in 0..panels {
                let pan = &mut packed[p * PR * dim..(p + 1) * PR * dim];
                for j in 0..PR {
                    let r = start + p * PR + j;
                    if r < end {
                        for (kk, &x) in row(&self.data, dim, r).iter().enumerate() {
                            pan[kk * PR + j] = x;
                        }
                    } else {
                        for kk in 0..dim {
                            pan[kk * PR + j] = 0.0;
                        }
                    }
                }
            }
            let mut qi = 0;
            while qi < nq {
                let g = (nq - qi).min(PQ);
                let q = |j: usize| row(qs, dim, qi + j.min(g - 1));
                let qv = [q(0), q(1), q(2), q(3), q(4), q(5), q(6), q(7)];
                for p in 0..panels {
                    let pan = &packed[p * PR * dim..(p + 1) * PR * dim];
                    if !kern.panel_dots(qv, pan, dim, &mut out) {
                        return;
                    }
                    let base = start + p * PR;
                    let rows = PR.min(end - base);
                    // Padding rows get +inf so they never qualify.
                    let mut rn = [f32::INFINITY; PR];
                    if l2 {
                        rn[..rows].copy_from_slice(&self.norms[base..base + rows]);
                    } else {
                        rn[..rows].iter_mut().for_each(|x| *x = 0.0);
                    }
                    let ids = &self.ids[base..base + rows];
                    let mut ds = [0f32; PR];
                    for j in 0..g {
                        let t = &mut tops[qi + j];
                        let mut worst = t.worst();
                        let qn = if l2 { qnorm[qi + j] } else { 0.0 };
                        let f = if l2 { 2.0 } else { 1.0 };
                        let dots = &out[j * PR..(j + 1) * PR];
                        // Branch-free pass (vectorised), then the rare pushes.
                        let mut any = false;
                        for ((d, &dt), &r) in ds.iter_mut().zip(dots).zip(&rn) {
                            *d = qn + r - f * dt;
                            any |= *d < worst;
                        }
                        if !any {
                            continue;
                        }
                        for (&d, &id) in ds.iter().zip(ids) {
                            if d < worst {
                                t.push(d, id);
                                worst = t.worst();
                            }
                        }
                    }
                }
                qi += g;
            }
            start = end;
        }
    }

    pub(crate) fn write_payload(&self, w: &mut Writer) {
        w.u64s(&self.ids);
        w.f32s(&self.data);
        // Format 4: storage tag, quantiser, codes.
        Codec::write(self.codec.as_ref(), w);
        if self.codec.is_some() {
            w.bytes(&self.codes);
        }
    }

    pub(crate) fn read_payload(h: &Header, r: &mut Reader<'_>) -> Result<Self> {
        let mut me = Self::new(h.dim, h.metric)?;
        let ids = r.u64s()?;
        let data = r.f32s()?;
        if h.version >= 4 {
            me.codec = Codec::read(r, h.dim, !ids.is_empty())?;
        }
        if let Some(c) = &me.codec {
            let codes = r.bytes()?;
            let want = ids.len().checked_mul(c.code_len());
            if !data.is_empty() || Some(codes.len()) != want {
                return Err(AnnError::Corrupt("flat: code size does not match id count"));
            }
            crate::id_map::reserve(&mut me.pos, ids.len())?;
            for (i, &id) in ids.iter().enumerate() {
                if me.pos.insert(id, i as u32).is_some() {
                    return Err(AnnError::Corrupt("flat: duplicate id"));
                }
            }
            me.ids = ids;
            me.codes = codes;
            return Ok(me);
        }
        if data.len()
            != ids
                .len()
                .checked_mul(h.dim)
                .ok_or(AnnError::Corrupt("size overflow"))?
        {
            return Err(AnnError::Corrupt("flat: data size does not match id count"));
        }
        let kern = kernels();
        crate::id_map::reserve(&mut me.pos, ids.len())?;
        reserve(&mut me.norms, ids.len())?;
        for (i, &id) in ids.iter().enumerate() {
            if me.pos.insert(id, i as u32).is_some() {
                return Err(AnnError::Corrupt("flat: duplicate id"));
            }
            let x = row(&data, h.dim, i);
            me.norms.push(kern.dot(x, x));
        }
        me.ids = ids;
        me.data = data;
        Ok(me)
    }

    crate::persist::typed_load!(FlatIndex, IndexKind::Flat);
}

/// The exact scan of `data` (row-major, `dim` wide, row `i` is `ids[i]`)
/// for the prepared query `q`: what a Flat index of f32 rows runs.
fn scan_rows(
    metric: Metric,
    dim: usize,
    data: &[f32],
    ids: &[VectorId],
    q: &[f32],
    k: usize,
    filter: Option<&dyn Fn(VectorId) -> bool>,
) -> Result<TopK<VectorId>> {
    let kern = kernels();
    let l2 = metric == Metric::L2;
    let mut top = TopK::try_new(k)?;
    // Distances for a chunk of rows at a time (one kernel call per
    // chunk), then the cheap threshold test.
    const CHUNK: usize = 64;
    let mut buf = [0f32; CHUNK];
    // Rows that fit in cache are scored in cache order; a larger set
    // streams from DRAM and is read strictly in address order.
    let stream = data.len() * 4 > STREAM_MIN_BYTES;
    for (rows, ids) in data.chunks(CHUNK * dim).zip(ids.chunks(CHUNK)) {
        if stream {
            kern.dist_rows_stream(q, rows, dim, &mut buf, l2);
        } else {
            kern.dist_rows(q, rows, dim, &mut buf, l2);
        }
        // A short last chunk leaves stale distances past its rows; `offer`
        // stops at the shorter of the two.
        top.offer(&buf, ids, filter);
    }
    Ok(top)
}

/// Exact k nearest neighbours of `query` among rows the caller owns,
/// nearest first, with no index built: the same distances and order as a
/// [`FlatIndex`] holding them. `rows` is row-major, `dim` wide, row `i`
/// belongs to `ids[i]`, and each row must already be as the index would
/// store it (normalised for cosine, see [`crate::distance::normalize`]).
/// Every allocation is fallible.
pub fn search_rows(
    metric: Metric,
    dim: usize,
    rows: &[f32],
    ids: &[VectorId],
    query: &[f32],
    k: usize,
) -> Result<Vec<Neighbor>> {
    if rows.len() != ids.len().saturating_mul(dim) {
        return Err(AnnError::DimensionMismatch {
            expected: ids.len().saturating_mul(dim),
            got: rows.len(),
        });
    }
    check_query(dim, query, &SearchParams::k(k))?;
    let q = prepare(metric, query)?;
    let top = scan_rows(metric, dim, rows, ids, &q, k, None)?;
    Ok(finish(metric, top.into_sorted()))
}

impl VectorIndex for FlatIndex {
    fn kind(&self) -> IndexKind {
        IndexKind::Flat
    }
    fn metric(&self) -> Metric {
        self.metric
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn contains(&self, id: VectorId) -> bool {
        self.pos.contains_key(&id)
    }
    fn len(&self) -> usize {
        self.ids.len()
    }
    fn train(&mut self, sample: &[f32]) -> Result<()> {
        match &mut self.codec {
            Some(c) if !self.ids.is_empty() && c.is_trained() => Err(AnnError::InvalidParameter(
                "cannot retrain a quantiser that holds vectors",
            )),
            Some(c) => c.train(&prepare_rows(self.metric, self.dim, sample)?),
            None => Ok(()),
        }
    }
    fn is_trained(&self) -> bool {
        self.codec.as_ref().is_none_or(Codec::is_trained)
    }
    fn add(&mut self, id: VectorId, vector: &[f32]) -> Result<()> {
        check_vec(self.dim, vector)?;
        if let Some(c) = &self.codec {
            if !c.is_trained() {
                return Err(AnnError::NotTrained);
            }
        }
        if self.pos.contains_key(&id) {
            return Err(AnnError::DuplicateId(id));
        }
        if self.ids.len() >= u32::MAX as usize {
            return Err(AnnError::InvalidParameter("index full"));
        }
        self.reserve(1)?;
        match &self.codec {
            None => {
                // Prepared where it lands (normalised there for cosine):
                // with room reserved, an add allocates nothing.
                let at = self.data.len();
                self.data.extend_from_slice(vector);
                let v = &mut self.data[at..];
                if self.metric == Metric::Cosine {
                    crate::distance::normalize(v);
                }
                let norm = kernels().dot(v, v);
                self.norms.push(norm);
            }
            Some(c) => {
                let v = prepare(self.metric, vector)?;
                let at = self.codes.len();
                self.codes.resize(at + c.code_len(), 0);
                c.encode(&v, &mut self.codes[at..])?;
            }
        }
        self.pos.insert(id, self.ids.len() as u32);
        self.ids.push(id);
        Ok(())
    }
    fn remove(&mut self, id: VectorId) -> Result<bool> {
        let Some(p) = self.pos.remove(&id) else {
            return Ok(false);
        };
        let p = p as usize;
        let last = self.ids.len() - 1;
        if p != last {
            let moved = self.ids[last];
            if let Some(c) = &self.codec {
                let len = c.code_len();
                self.codes
                    .copy_within(last * len..(last + 1) * len, p * len);
            } else {
                self.data
                    .copy_within(last * self.dim..(last + 1) * self.dim, p * self.dim);
                self.norms[p] = self.norms[last];
            }
            self.ids[p] = moved;
            if let Some(slot) = self.pos.get_mut(&moved) {
                *slot = p as u32;
            }
        }
        self.ids.truncate(last);
        if let Some(c) = &self.codec {
            self.codes.truncate(last * c.code_len());
        } else {
            self.norms.truncate(last);
            self.data.truncate(last * self.dim);
        }
        Ok(true)
    }
    fn search(
        &self,
        query: &[f32],
        params: &SearchParams,
        filter: Option<&dyn Fn(VectorId) -> bool>,
    ) -> Result<Vec<Neighbor>> {
        check_query(self.dim, query, params)?;
        let q = prepare(self.metric, query)?;
        let top = match &self.codec {
            None => self.scan(&q, params.k, filter)?,
            Some(c) => self.scan_codes(c, &q, params.k, filter)?,
        };
        Ok(finish(self.metric, top.into_sorted()))
    }
    fn search_batch(&self, queries: &[f32], params: &SearchParams) -> Result<Vec<Vec<Neighbor>>> {
        batch_rows(self.dim, queries)?;
        if params.k == 0 {
            return Err(AnnError::InvalidParameter("k must be > 0"));
        }
        let qs = prepare_rows(self.metric, self.dim, queries)?;
        let k = params.k;
        if let Some(c) = &self.codec {
            let per = |chunk: &[f32]| self.scan_codes_block(c, chunk, k);
            return Ok(crate::parallel::map_chunks(&qs, self.dim, 4, &per));
        }
        let per = |chunk: &[f32]| self.scan_block(chunk, k, true);
        Ok(crate::parallel::map_chunks(&qs, self.dim, 4, &per))
    }
    fn stats(&self) -> IndexStats {
        IndexStats {
            len: self.ids.len(),
            deleted: 0,
            dim: self.dim,
            memory_bytes: self.data.capacity() * 4
                + self.norms.capacity() * 4
                + self.codes.capacity()
                + self.codec.as_ref().map_or(0, Codec::memory_bytes)
                + self.ids.capacity() * 8
                + self.pos.len() * 24,
        }
    }
    fn save(&self, sink: &mut dyn ByteSink) -> Result<()> {
        let mut w = Writer::new();
        self.write_payload(&mut w);
        w.finish(
            sink,
            IndexKind::Flat,
            self.metric,
            self.dim,
            self.len(),
            [0; 4],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn blocked_paths_agree() {
        let mut rng = Rng::new(3);
        for (dim, metric) in [
            (7usize, Metric::L2),
            (32, Metric::InnerProduct),
            (50, Metric::L2),
        ] {
            let mut f = FlatIndex::new(dim, metric).unwrap();
            for i in 0..300u64 {
                let v: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
                f.add(i, &v).unwrap();
            }
            let qs: Vec<f32> = (0..13 * dim).map(|_| rng.normal()).collect();
            let a = f.scan_block(&qs, 5, true);
            let b = f.scan_block(&qs, 5, false);
            for (qi, (x, y)) in a.iter().zip(&b).enumerate() {
                let single = f
                    .search(&qs[qi * dim..(qi + 1) * dim], &SearchParams::k(5), None)
                    .unwrap();
                let ids = |v: &[Neighbor]| v.iter().map(|n| n.id).collect::<Vec<_>>();
                assert_eq!(ids(x), ids(&single));
                assert_eq!(ids(y), ids(&single));
                for (n, m) in x.iter().zip(&single) {
                    assert!((n.distance - m.distance).abs() < 1e-3 * (1.0 + m.distance.abs()));
                }
            }
        }
    }

    /// Searching rows the caller owns gives a Flat index's answer, bit for
    /// bit, for every metric; bad shapes are errors.
    #[test]
    fn search_rows_is_a_flat_index_without_one() {
        let mut rng = Rng::new(5);
        let dim = 19;
        for metric in [Metric::L2, Metric::InnerProduct, Metric::Cosine] {
            let mut f = FlatIndex::new(dim, metric).unwrap();
            let (mut rows, mut ids) = (Vec::new(), Vec::new());
            for i in 0..500u64 {
                let mut v: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
                f.add(i * 7, &v).unwrap();
                if metric == Metric::Cosine {
                    crate::distance::normalize(&mut v);
                }
                rows.extend_from_slice(&v);
                ids.push(i * 7);
            }
            for _ in 0..20 {
                let q: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
                let want = f.search(&q, &SearchParams::k(10), None).unwrap();
                assert_eq!(search_rows(metric, dim, &rows, &ids, &q, 10).unwrap(), want);
            }
            let q = vec![0.5; dim];
            assert!(search_rows(metric, dim, &rows[1..], &ids, &q, 10).is_err());
            assert!(search_rows(metric, dim, &rows, &ids, &q[1..], 10).is_err());
            assert!(search_rows(metric, dim, &rows, &ids, &q, 0).is_err());
        }
    }

    /// The integer-only SQ8 distances (builds without std) rank like the
    /// float ones: nearly the same top 10, for L2 and inner product.
    #[test]
    fn sq8_integer_path_ranks_like_float() {
        let (dim, n) = (24usize, 2000u64);
        let mut rng = Rng::new(9);
        let data: Vec<f32> = (0..n as usize * dim)
            .map(|i| rng.normal() * (1.0 + (i % dim) as f32 * 0.2))
            .collect();
        for metric in [Metric::L2, Metric::InnerProduct] {
            let mut f = FlatIndex::with_storage(dim, metric, Storage::Sq8).unwrap();
            f.train(&data).unwrap();
            let ids: Vec<u64> = (0..n).collect();
            f.add_batch(&ids, &data).unwrap();
            let mut g = FlatIndex::with_storage(dim, metric, Storage::Sq8).unwrap();
            g.codec = f.codec.clone();
            g.codes = f.codes.clone();
            g.ids = f.ids.clone();
            g.pos = f.pos.clone();
            if let Some(c) = g.codec.as_mut() {
                c.set_integer(true);
            }
            let (mut same, mut total) = (0usize, 0usize);
            for _ in 0..50 {
                let q: Vec<f32> = (0..dim).map(|_| rng.normal()).collect();
                let a = f.search(&q, &SearchParams::k(10), None).unwrap();
                let b = g.search(&q, &SearchParams::k(10), None).unwrap();
                same += b.iter().filter(|x| a.iter().any(|y| y.id == x.id)).count();
                total += a.len();
            }
            assert!(same * 100 >= total * 97, "{metric:?}: {same} of {total}");
        }
    }
}
