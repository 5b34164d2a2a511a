//! Random-hyperplane (sign) LSH with several tables, multi-probe and exact
//! re-ranking.
//!
//! Each table hashes a vector to `bits` sign bits of projections on random
//! Gaussian hyperplanes (after subtracting the training mean, which makes
//! sign hashing useful for L2 data that is not centred). A query probes,
//! per table, its own bucket and then the buckets reached by flipping the
//! bits whose projections were closest to zero (the least certain ones),
//! in order of the summed squared margins. Candidates are ranked by the
//! Hamming distance of their full signature and the best `rerank` of them
//! get exact distances (or all of them when `rerank` is 0).
//!
//! [`LshMode::CodeScan`] keeps no buckets: the `tables` signatures of a
//! vector form one packed binary code of `tables * bits` sign bits (64
//! bits per table fills the words), every stored code is compared with the
//! query's by XOR + popcount, the best `rerank` by Hamming distance are
//! chosen with a histogram (distances are small integers) and re-ranked
//! exactly. `probes` is ignored there. This is the better mode when long
//! codes are affordable: with many bits a bucket holds about one vector,
//! and with few bits buckets mix neighbourhoods that are not well
//! separated by a short hash.
//!
//! **Automatic bits.** How many bits a bucket key should have depends on
//! the row count: a fixed 16 bits leaves a directory of 2,000 vectors with
//! one vector per bucket and a recall@10 of 0.08 at 8 probes (uniform
//! 32-d rows), where 7 bits gives 0.92. With `bits = 0` (the default)
//! the index keeps about [`AUTO_BUCKET_ROWS`] rows per bucket: it chooses
//! `round(log2(n)) - 4` bits (at least 4) as it grows, and rehashes every
//! row when that number rises, or falls by more than two after removals.
//! Rehashing at each doubling costs at most as much hashing again as the
//! rows themselves took.

use crate::common::{
    check_query, check_vec, finish, prepare, reserve, resize, row, Pool, TopK, Visited,
};
use crate::distance::kernels;
use crate::error::{AnnError, Result};
use crate::index::{IndexKind, IndexStats, Neighbor, SearchParams, VectorId, VectorIndex};
use crate::io::ByteSink;
use crate::metric::Metric;
use crate::persist::{Header, Reader, Writer};
use crate::rng::Rng;
use alloc::collections::BTreeMap;

#[path = "lsh_batch.rs"]
mod batch;
use alloc::vec;
use alloc::vec::Vec;

/// How an LSH index finds candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LshMode {
    /// Hash tables of buckets, multi-probe.
    #[default]
    Buckets,
    /// No buckets: Hamming ranking of every stored code
    /// (`tables * bits` sign bits per vector).
    CodeScan,
}

/// LSH parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LshConfig {
    /// Candidate search: bucket probing or a full code scan.
    pub mode: LshMode,
    /// Number of hash tables (code words of `bits` bits in code-scan mode).
    pub tables: usize,
    /// Hash bits per table (1..=64), or 0 to let the index choose them
    /// from its row count (64, whole words, in code-scan mode).
    pub bits: usize,
    /// Buckets probed per table by default (1 = exact bucket only).
    pub probes: usize,
    /// Candidates re-ranked with exact distances by default, chosen by
    /// the Hamming distance of their signatures (0 = every candidate found
    /// gets an exact distance).
    pub rerank: usize,
    /// Hyperplane seed.
    pub seed: u64,
}

impl Default for LshConfig {
    fn default() -> Self {
        Self {
            mode: LshMode::Buckets,
            tables: 8,
            bits: 0,
            probes: 8,
            rerank: 0,
            seed: 42,
        }
    }
}

/// LSH index.
pub struct LshIndex {
    dim: usize,
    metric: Metric,
    cfg: LshConfig,
    /// Hash bits per table in use: `cfg.bits`, or the automatic choice
    /// when that is 0.
    bits: usize,
    /// `tables * bits` hyperplanes of `dim` floats.
    planes: Vec<f32>,
    center: Vec<f32>,
    data: Vec<f32>,
    ids: Vec<VectorId>,
    pos: crate::id_map::IdMap<u32>,
    /// Per-slot keys, `tables` per slot.
    keys: Vec<u64>,
    buckets: Vec<BTreeMap<u64, Vec<u32>>>,
    pool: Pool<LshScratch>,
    /// Whether `center` was learnt (by `train` or the first batch).
    centered: bool,
}

/// Per-search reusable state.
struct LshScratch {
    vis: Visited,
    /// Per-slot collision counts (valid for slots visited this search).
    hits: Vec<u8>,
    cand: Vec<u32>,
    /// Per-slot Hamming distances (code-scan mode).
    dist: Vec<u16>,
    /// Hamming distance histogram (code-scan mode).
    hist: Vec<u32>,
    /// Multi-probe masks of every table, and where each table's start.
    masks: Vec<u64>,
    mask_at: Vec<usize>,
    /// `probe_masks` scratch.
    order: Vec<(f32, usize)>,
    subsets: Vec<(f32, u64)>,
    /// The query's projections, table keys and centred copy.
    proj: Vec<f32>,
    keys: Vec<u64>,
    centred: Vec<f32>,
}

impl LshScratch {
    fn new() -> Self {
        Self {
            vis: Visited::new(),
            hits: Vec::new(),
            cand: Vec::new(),
            dist: Vec::new(),
            hist: Vec::new(),
            masks: Vec::new(),
            mask_at: Vec::new(),
            order: Vec::new(),
            subsets: Vec::new(),
            proj: Vec::new(),
            keys: Vec::new(),
            centred: Vec::new(),
        }
    }
}

/// Hyperplane floats allowed (64 MiB); also bounds what a damaged saved
/// index can make the loader generate.
const MAX_PLANE_FLOATS: usize = 1 << 24;

/// Smallest batch hashed with one matrix product (below it, row by row:
/// packing the hyperplanes costs more than it saves).
const BATCH_HASH_MIN: usize = 64;

/// An index never trained centres itself on its rows once it holds this
/// many (or on a first batch this large, before hashing it).
const AUTO_CENTER_MIN: usize = 256;

/// Payload flag: the bits were chosen automatically (`cfg.bits` 0).
const PAYLOAD_AUTO_BITS: u32 = 1;

/// Rows per bucket that automatic bits aim at (a power of two).
pub const AUTO_BUCKET_ROWS: usize = 16;
/// Fewest and most bits automatic bits choose.
const AUTO_BITS_MIN: usize = 4;
const AUTO_BITS_MAX: usize = 32;

/// `round(log2(n))` for `n >= 1`, in integers (no `libm` in `no_std`):
/// the floor, plus one when `n >= 2^(f + 1/2)`, i.e. `n^2 >= 2^(2f + 1)`.
/// `n` is capped at `u32::MAX` (an index's row limit), so the square fits
/// a `u64` and no 128-bit helper is needed in the kernel.
fn round_log2(n: usize) -> usize {
    let n = n.clamp(1, u32::MAX as usize) as u64;
    let f = 63 - n.leading_zeros();
    (f + u32::from(n * n >= 1u64 << (2 * f + 1))) as usize
}

/// Bits per key for `n` rows: about [`AUTO_BUCKET_ROWS`] rows per bucket,
/// within the automatic range and what the hyperplane budget allows for
/// `tables * dim` (0 when not even one bit fits).
fn auto_bits(n: usize, tables: usize, dim: usize) -> usize {
    let want = round_log2(n)
        .saturating_sub(AUTO_BUCKET_ROWS.trailing_zeros() as usize)
        .clamp(AUTO_BITS_MIN, AUTO_BITS_MAX);
    want.min(MAX_PLANE_FLOATS / tables.saturating_mul(dim).max(1))
}

impl LshIndex {
    const BAD_PARAMETERS: AnnError = AnnError::InvalidParameter(
        "tables in 1..=1024, bits in 0..=64 (0 = automatic), probes > 0",
    );

    /// An empty LSH index (usable without training; `train` centres the
    /// hash on the sample mean).
    pub fn new(dim: usize, metric: Metric, cfg: LshConfig) -> Result<Self> {
        // Everything else is checked by `with_bits`.
        if cfg.bits > 64 {
            return Err(Self::BAD_PARAMETERS);
        }
        let bits = match (cfg.bits, cfg.mode) {
            (0, LshMode::CodeScan) => 64,
            (0, LshMode::Buckets) => auto_bits(0, cfg.tables, dim).max(1),
            (b, _) => b,
        };
        Self::with_bits(dim, metric, cfg, bits)
    }

    /// [`LshIndex::new`] hashing with `bits` bits per table (the
    /// automatic choice, or `cfg.bits`).
    fn with_bits(dim: usize, metric: Metric, cfg: LshConfig, bits: usize) -> Result<Self> {
        if dim == 0 || dim > crate::persist::MAX_DIM {
            return Err(AnnError::InvalidParameter("dim must be in 1..=65536"));
        }
        if cfg.tables == 0 || cfg.tables > 1024 || bits == 0 || bits > 64 || cfg.probes == 0 {
            return Err(Self::BAD_PARAMETERS);
        }
        if cfg.mode == LshMode::CodeScan && cfg.tables > 1000 {
            // Hamming distances are kept as u16.
            return Err(AnnError::InvalidParameter(
                "code scan allows at most 1000 tables",
            ));
        }
        if cfg.tables * bits * dim > MAX_PLANE_FLOATS {
            return Err(AnnError::InvalidParameter(
                "tables * bits * dim exceeds 2^24 hyperplane floats",
            ));
        }
        let planes = Self::make_planes(cfg.seed, cfg.tables * bits * dim)?;
        Ok(Self {
            dim,
            metric,
            cfg,
            bits,
            planes,
            center: vec![0.0; dim],
            data: Vec::new(),
            ids: Vec::new(),
            pos: crate::id_map::id_map(),
            keys: Vec::new(),
            buckets: (0..cfg.tables).map(|_| BTreeMap::new()).collect(),
            pool: Pool::new(),
            centered: false,
        })
    }

    /// `count` Gaussian hyperplane floats from `seed`: the same seed and
    /// bits give the same hash on every load.
    fn make_planes(seed: u64, count: usize) -> Result<Vec<f32>> {
        let mut rng = Rng::new(seed);
        let mut planes = Vec::new();
        reserve(&mut planes, count)?;
        planes.extend((0..count).map(|_| rng.normal()));
        Ok(planes)
    }

    /// The configuration (`bits` 0 when the index chooses them).
    pub fn config(&self) -> &LshConfig {
        &self.cfg
    }

    /// Hash bits per table in use now.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// With automatic bits, the choice for `n` rows when it differs
    /// enough from the bits in use: any rise, or a fall of more than two
    /// (so removals around a boundary do not rehash back and forth).
    fn rebits_for(&self, n: usize) -> Option<usize> {
        if self.cfg.bits != 0 || self.scan_mode() {
            return None;
        }
        let want = auto_bits(n, self.cfg.tables, self.dim).max(1);
        (want > self.bits || want + 2 < self.bits).then_some(want)
    }

    /// Switch to `bits` bits per table: new hyperplanes, every row
    /// rehashed.
    fn set_bits(&mut self, bits: usize) -> Result<()> {
        self.planes = Self::make_planes(self.cfg.seed, self.cfg.tables * bits * self.dim)?;
        self.bits = bits;
        self.rehash_all();
        Ok(())
    }

    /// Before adding rows that bring the index to `n`: the bits those rows
    /// are to be hashed with, so a large batch is hashed once.
    fn grow_bits(&mut self, n: usize) -> Result<()> {
        match self.rebits_for(n) {
            Some(b) if b > self.bits => self.set_bits(b),
            _ => Ok(()),
        }
    }

    /// Change the default probes / re-rank limit.
    pub fn set_search_defaults(&mut self, probes: usize, rerank: usize) {
        self.cfg.probes = probes.max(1);
        self.cfg.rerank = rerank;
    }

    /// Projections of `v - center` on every hyperplane (tables * bits).
    /// `v`'s projections on every hyperplane into `out`, and its centred
    /// copy into `c` (scratch).
    fn project(&self, v: &[f32], out: &mut Vec<f32>, c: &mut Vec<f32>) -> Result<()> {
        let k = kernels();
        c.clear();
        reserve(c, self.dim)?;
        c.extend(v.iter().zip(&self.center).map(|(x, m)| x - m));
        // One grouped scan over all hyperplanes (it returns `-dot`).
        out.clear();
        let planes = self.planes.len() / self.dim.max(1);
        resize(out, planes, 0.0)?;
        k.dist_rows(c, &self.planes, self.dim, out, false);
        out.iter_mut().for_each(|x| *x = -*x);
        Ok(())
    }

    fn keys_of(&self, proj: &[f32], out: &mut Vec<u64>) -> Result<()> {
        out.clear();
        reserve(out, proj.len() / self.bits.max(1))?;
        for t in proj.chunks_exact(self.bits) {
            out.push(crate::lsh_project::sign_key(t));
        }
        Ok(())
    }

    /// [`VectorIndex::add_batch`] for large batches: every id checked
    /// first (nothing is added when one is a duplicate), then the codes of
    /// all rows from one matrix product (see `lsh_project`).
    fn add_hashed_batch(&mut self, ids: &[VectorId], vectors: &[f32]) -> Result<()> {
        let dim = self.dim;
        for v in vectors.chunks_exact(dim) {
            check_vec(dim, v)?;
        }
        let mut seen = crate::id_map::id_map();
        crate::id_map::reserve(&mut seen, ids.len())?;
        for &id in ids {
            if self.pos.contains_key(&id) || seen.insert(id, ()).is_some() {
                return Err(AnnError::DuplicateId(id));
            }
        }
        if self.ids.len() + ids.len() > u32::MAX as usize {
            return Err(AnnError::InvalidParameter("index full"));
        }
        crate::id_map::reserve(&mut self.pos, ids.len())?;
        // The bits for the grown index, so the batch is hashed only once.
        self.grow_bits(self.ids.len() + ids.len())?;
        let t = self.cfg.tables;
        reserve(&mut self.data, vectors.len())?;
        reserve(&mut self.keys, ids.len() * t)?;
        // Rows go straight into the arena (normalised there for cosine)
        // and are hashed from it: no copy of the batch.
        let first = self.data.len();
        self.data.extend_from_slice(vectors);
        if self.metric == Metric::Cosine {
            self.data[first..]
                .chunks_exact_mut(dim)
                .for_each(crate::distance::normalize);
        }
        let rows = &self.data[first..];
        let keys = match crate::lsh_project::batch_keys(&self.planes, &self.center, self.bits, rows)
        {
            Some(k) => k,
            None => {
                let mut all = Vec::with_capacity(ids.len() * t);
                let (mut proj, mut k, mut c) = (Vec::new(), Vec::new(), Vec::new());
                for r in rows.chunks_exact(dim) {
                    self.project(r, &mut proj, &mut c)?;
                    self.keys_of(&proj, &mut k)?;
                    all.extend_from_slice(&k);
                }
                all
            }
        };
        for (i, (&id, k)) in ids.iter().zip(keys.chunks_exact(t)).enumerate() {
            let slot = (self.ids.len() + i) as u32;
            self.pos.insert(id, slot);
            self.keys.extend_from_slice(k);
            self.insert_slot(slot, k);
        }
        self.ids.extend_from_slice(ids);
        Ok(())
    }

    /// Whether the index scans packed codes instead of probing buckets.
    fn scan_mode(&self) -> bool {
        self.cfg.mode == LshMode::CodeScan
    }

    fn insert_slot(&mut self, slot: u32, keys: &[u64]) {
        if self.scan_mode() {
            return;
        }
        for (t, &key) in keys.iter().enumerate() {
            self.buckets[t].entry(key).or_default().push(slot);
        }
    }

    /// Centre an index that was never trained once it holds
    /// [`AUTO_CENTER_MIN`] rows, rehashing them: rows that arrive a few at a
    /// time (a filesystem's insertion worker hands them over as writes
    /// pause) would otherwise stay hashed around the origin, and sign
    /// hashing of data that is not centred puts most of it in a few buckets.
    fn center_if_due(&mut self) -> Result<()> {
        if self.centered || self.ids.len() < AUTO_CENTER_MIN {
            return Ok(());
        }
        let rows = self.data.clone();
        self.train(&rows)
    }

    fn rehash_all(&mut self) {
        let n = self.ids.len();
        self.buckets = (0..self.cfg.tables).map(|_| BTreeMap::new()).collect();
        self.keys.clear();
        // Loading a saved index hashes every row: one matrix product.
        let t = self.cfg.tables;
        if let Some(all) =
            crate::lsh_project::batch_keys(&self.planes, &self.center, self.bits, &self.data)
        {
            for (i, k) in all.chunks_exact(t).enumerate() {
                self.insert_slot(i as u32, k);
            }
            self.keys = all;
            return;
        }
        let mut proj = Vec::new();
        let mut keys = Vec::new();
        let mut c = Vec::new();
        for i in 0..n {
            self.project(row(&self.data, self.dim, i), &mut proj, &mut c)
                .and_then(|()| self.keys_of(&proj, &mut keys))
                .unwrap_or_else(|_| crate::mem::out_of_memory());
            self.keys.extend_from_slice(&keys);
            self.insert_slot(i as u32, &keys);
        }
    }

    /// Probe masks for one table, appended to `out`: the empty mask, then
    /// subsets of the least certain bits by increasing summed squared
    /// margin (`order` and `subsets` are scratch).
    fn probe_masks(
        &self,
        proj: &[f32],
        probes: usize,
        out: &mut Vec<u64>,
        order: &mut Vec<(f32, usize)>,
        subsets: &mut Vec<(f32, u64)>,
    ) -> Result<()> {
        reserve(out, probes)?;
        out.push(0);
        if probes <= 1 {
            return Ok(());
        }
        let bits = proj.len();
        let l = (usize::BITS - (probes - 1).leading_zeros()) as usize + 2;
        let l = l.min(bits).min(12);
        order.clear();
        reserve(order, proj.len())?;
        order.extend(proj.iter().enumerate().map(|(b, &p)| (p * p, b)));
        order.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(core::cmp::Ordering::Equal));
        let low = &order[..l];
        subsets.clear();
        reserve(subsets, (1 << l) - 1)?;
        subsets.extend((1u32..(1 << l)).map(|s| {
            let mut score = 0.0;
            let mut mask = 0u64;
            for (i, &(m2, b)) in low.iter().enumerate() {
                if s & (1 << i) != 0 {
                    score += m2;
                    mask |= 1 << b;
                }
            }
            (score, mask)
        }));
        subsets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(core::cmp::Ordering::Equal));
        out.extend(subsets.iter().take(probes - 1).map(|s| s.1));
        Ok(())
    }

    /// One search in bucket or code-scan mode, with the pooled scratch.
    fn search_with(
        &self,
        q: &[f32],
        params: &SearchParams,
        filter: Option<&dyn Fn(VectorId) -> bool>,
        sc: &mut LshScratch,
    ) -> Result<Vec<Neighbor>> {
        let probes = params.nprobe.unwrap_or(self.cfg.probes).max(1);
        let rerank = params.rerank.unwrap_or(self.cfg.rerank);
        self.project(q, &mut sc.proj, &mut sc.centred)?;
        self.keys_of(&sc.proj, &mut sc.keys)?;
        if self.scan_mode() {
            return self.search_codes(q, params.k, rerank, filter, sc);
        }
        // Every table's masks in one list (`mask_at[t]..mask_at[t + 1]`),
        // built in the pooled scratch: no allocation per table.
        {
            let LshScratch {
                masks,
                mask_at,
                order,
                subsets,
                proj,
                ..
            } = &mut *sc;
            masks.clear();
            mask_at.clear();
            reserve(mask_at, self.cfg.tables + 1)?;
            mask_at.push(0);
            for t in proj.chunks_exact(self.bits) {
                self.probe_masks(t, probes, masks, order, subsets)?;
                mask_at.push(masks.len());
            }
        }
        let n = self.ids.len();
        sc.vis.reset(n)?;
        if sc.hits.len() < n {
            resize(&mut sc.hits, n, 0)?;
        }
        sc.cand.clear();
        let f = kernels().dist_fn(self.metric);
        let mut top = TopK::try_new(params.k)?;
        // With a re-rank budget, candidates are ranked by how many probed
        // buckets they were found in (closer vectors collide more often);
        // counting touches only a small per-slot array, not the vectors.
        let budget = rerank.max(params.k);
        for rank in 0..probes {
            for (ti, (&key, table)) in sc.keys.iter().zip(&self.buckets).enumerate() {
                // `mask_at` has an entry per table and one past the last.
                let masks = &sc.masks[sc.mask_at[ti]..sc.mask_at[ti + 1]];
                let Some(&mask) = masks.get(rank) else {
                    continue;
                };
                let Some(b) = table.get(&(key ^ mask)) else {
                    continue;
                };
                if rerank > 0 {
                    reserve(&mut sc.cand, b.len())?;
                }
                for &s in b {
                    let su = s as usize;
                    if !sc.vis.insert(su) {
                        if let Some(h) = sc.hits.get_mut(su) {
                            *h = h.saturating_add(1);
                        }
                        continue;
                    }
                    let id = self.ids[su];
                    if let Some(flt) = filter {
                        if !flt(id) {
                            continue;
                        }
                    }
                    if rerank == 0 {
                        top.push(f.eval(q, row(&self.data, self.dim, su)), id);
                    } else {
                        sc.hits[su] = 1;
                        sc.cand.push(s);
                    }
                }
            }
        }
        if rerank > 0 {
            let LshScratch { cand, hits, .. } = &mut *sc;
            if cand.len() > budget {
                cand.select_nth_unstable_by_key(budget, |&s| core::cmp::Reverse(hits[s as usize]));
                cand.truncate(budget);
            }
            for &s in cand.iter() {
                let d = f.eval(q, row(&self.data, self.dim, s as usize));
                top.push(d, self.ids[s as usize]);
            }
        }
        Ok(finish(self.metric, top.into_sorted()))
    }

    /// Code-scan search: Hamming distance of every code, the best
    /// `rerank` (all when 0) re-ranked exactly.
    /// The query's code is in `sc.keys`.
    fn search_codes(
        &self,
        q: &[f32],
        k: usize,
        rerank: usize,
        filter: Option<&dyn Fn(VectorId) -> bool>,
        sc: &mut LshScratch,
    ) -> Result<Vec<Neighbor>> {
        let n = self.ids.len();
        let w = self.cfg.tables;
        sc.dist.clear();
        resize(&mut sc.dist, n, 0)?;
        let LshScratch {
            dist,
            hist,
            cand,
            keys,
            ..
        } = sc;
        crate::hamming::distances(&self.keys[..n * w], keys, dist);
        self.rank_codes(q, dist, hist, cand, k, rerank, filter)
    }

    /// The second half of a code scan, given every slot's Hamming distance
    /// in `dist` (changed for filtered-out slots): the histogram, the
    /// threshold for the best `rerank`, their selection and exact re-rank.
    #[allow(clippy::too_many_arguments)]
    fn rank_codes(
        &self,
        q: &[f32],
        dist: &mut [u16],
        hist: &mut Vec<u32>,
        cand: &mut Vec<u32>,
        k: usize,
        rerank: usize,
        filter: Option<&dyn Fn(VectorId) -> bool>,
    ) -> Result<Vec<Neighbor>> {
        let w = self.cfg.tables;
        hist.clear();
        resize(hist, w * 64 + 2, 0)?;
        crate::hamming::histogram(dist, hist);
        // Filtered-out slots get a distance past every real one.
        let excluded = (w * 64 + 1) as u16;
        let mut live = dist.len();
        if let Some(flt) = filter {
            for (d, &id) in dist.iter_mut().zip(&self.ids) {
                if !flt(id) {
                    hist[*d as usize] -= 1;
                    *d = excluded;
                    live -= 1;
                }
            }
        }
        let budget = if rerank == 0 {
            live
        } else {
            rerank.max(k).min(live)
        };
        // Threshold: every slot below `thr`, plus `at_thr` of those at it.
        let mut thr = 0usize;
        let mut below = 0usize;
        while thr < excluded as usize && below + hist[thr] as usize <= budget {
            below += hist[thr] as usize;
            thr += 1;
        }
        let thr = thr as u16;
        // Filtered-out slots never qualify, not even to fill the budget.
        let at_thr = if thr == excluded { 0 } else { budget - below };
        cand.clear();
        // `select` takes exactly `budget` slots.
        reserve(cand, budget)?;
        crate::hamming::select(dist, thr, at_thr, cand);
        let f = kernels().dist_fn(self.metric);
        let mut top = TopK::try_new(k)?;
        for &s in cand.iter() {
            let s = s as usize;
            top.push(f.eval(q, row(&self.data, self.dim, s)), self.ids[s]);
        }
        Ok(finish(self.metric, top.into_sorted()))
    }

    /// Payload: mode word (0 buckets, 1 code scan), flags word (format 5
    /// on; bit 0: bits chosen automatically), then tables, the bits in
    /// use, probes, rerank, seed, the centre, ids and rows.
    pub(crate) fn write_payload(&self, w: &mut Writer) {
        let c = &self.cfg;
        w.u32(match c.mode {
            LshMode::Buckets => 0,
            LshMode::CodeScan => 1,
        });
        w.u32(u32::from(c.bits == 0) * PAYLOAD_AUTO_BITS);
        w.usize(c.tables);
        w.usize(self.bits);
        w.usize(c.probes);
        w.usize(c.rerank);
        w.u64(c.seed);
        w.f32s(&self.center);
        w.u64s(&self.ids);
        w.f32s(&self.data);
    }

    pub(crate) fn read_payload(h: &Header, r: &mut Reader<'_>) -> Result<Self> {
        let bad = AnnError::Corrupt;
        // Format 1 had no mode word; bits = 64 meant a code scan there.
        let mode = if h.version >= 2 {
            match r.u32()? {
                0 => Some(LshMode::Buckets),
                1 => Some(LshMode::CodeScan),
                _ => return Err(bad("lsh: unknown mode")),
            }
        } else {
            None
        };
        let flags = if h.version >= 5 { r.u32()? } else { 0 };
        if flags & !PAYLOAD_AUTO_BITS != 0 {
            return Err(bad("lsh: unknown flags"));
        }
        let mut cfg = LshConfig {
            mode: LshMode::Buckets,
            tables: r.usize_max(1024)?,
            bits: r.usize_max(64)?,
            probes: r.usize_max(1 << 20)?,
            rerank: r.usize_max(1 << 30)?,
            seed: r.u64()?,
        };
        cfg.mode = mode.unwrap_or(if cfg.bits == 64 {
            LshMode::CodeScan
        } else {
            LshMode::Buckets
        });
        let bits = cfg.bits;
        if flags & PAYLOAD_AUTO_BITS != 0 {
            cfg.bits = 0;
        }
        let mut me = Self::with_bits(h.dim, h.metric, cfg, bits)
            .map_err(|_| bad("lsh: invalid parameters"))?;
        let center = r.f32s()?;
        let ids = r.u64s()?;
        let data = r.f32s()?;
        if center.len() != h.dim || data.len() != ids.len() * h.dim {
            return Err(bad("lsh: data size"));
        }
        crate::id_map::reserve(&mut me.pos, ids.len())?;
        for (i, &id) in ids.iter().enumerate() {
            if me.pos.insert(id, i as u32).is_some() {
                return Err(bad("lsh: duplicate id"));
            }
        }
        me.centered = center.iter().any(|&c| c != 0.0);
        me.center = center;
        me.ids = ids;
        me.data = data;
        me.rehash_all();
        Ok(me)
    }

    crate::persist::typed_load!(LshIndex, IndexKind::Lsh);
}

impl VectorIndex for LshIndex {
    fn kind(&self) -> IndexKind {
        IndexKind::Lsh
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
        let dim = self.dim;
        if sample.is_empty() || !sample.len().is_multiple_of(dim) {
            return Err(AnnError::DimensionMismatch {
                expected: dim,
                got: sample.len() % dim,
            });
        }
        let mut mean = vec![0.0f64; dim];
        let mut tmp = vec![0.0f32; dim];
        let n = sample.len() / dim;
        for x in sample.chunks_exact(dim) {
            tmp.copy_from_slice(x);
            if self.metric == Metric::Cosine {
                crate::distance::normalize(&mut tmp);
            }
            for (m, &v) in mean.iter_mut().zip(&tmp) {
                *m += v as f64;
            }
        }
        self.center = mean.iter().map(|&m| (m / n as f64) as f32).collect();
        self.centered = true;
        self.rehash_all();
        Ok(())
    }
    fn is_trained(&self) -> bool {
        true
    }
    fn add_batch(&mut self, ids: &[VectorId], vectors: &[f32]) -> Result<()> {
        if vectors.len() != ids.len() * self.dim {
            return Err(AnnError::DimensionMismatch {
                expected: ids.len() * self.dim,
                got: vectors.len(),
            });
        }
        // An index that was never trained centres its hyperplanes on the
        // first sizeable batch: sign hashing of uncentred data puts most
        // vectors into a few buckets.
        if !self.centered && self.ids.is_empty() && ids.len() >= AUTO_CENTER_MIN {
            self.train(vectors)?;
        }
        if ids.len() < BATCH_HASH_MIN {
            for (i, &id) in ids.iter().enumerate() {
                self.add(id, &vectors[i * self.dim..(i + 1) * self.dim])?;
            }
            return Ok(());
        }
        self.add_hashed_batch(ids, vectors)?;
        self.center_if_due()
    }
    fn add(&mut self, id: VectorId, vector: &[f32]) -> Result<()> {
        check_vec(self.dim, vector)?;
        if self.pos.contains_key(&id) {
            return Err(AnnError::DuplicateId(id));
        }
        if self.ids.len() >= u32::MAX as usize {
            return Err(AnnError::InvalidParameter("index full"));
        }
        let v = prepare(self.metric, vector)?;
        self.grow_bits(self.ids.len() + 1)?;
        let mut proj = Vec::new();
        let mut keys = Vec::new();
        self.project(&v, &mut proj, &mut Vec::new())?;
        self.keys_of(&proj, &mut keys)?;
        reserve(&mut self.data, self.dim)?;
        reserve(&mut self.ids, 1)?;
        reserve(&mut self.keys, keys.len())?;
        crate::id_map::reserve(&mut self.pos, 1)?;
        let slot = self.ids.len() as u32;
        self.data.extend_from_slice(&v);
        self.ids.push(id);
        self.pos.insert(id, slot);
        self.keys.extend_from_slice(&keys);
        self.insert_slot(slot, &keys);
        self.center_if_due()
    }
    fn remove(&mut self, id: VectorId) -> Result<bool> {
        let Some(p) = self.pos.remove(&id) else {
            return Ok(false);
        };
        let t = self.cfg.tables;
        let p = p as usize;
        let last = self.ids.len() - 1;
        for ti in 0..t {
            let key = self.keys[p * t + ti];
            if let Some(b) = self.buckets[ti].get_mut(&key) {
                b.retain(|&s| s as usize != p);
                if b.is_empty() {
                    self.buckets[ti].remove(&key);
                }
            }
        }
        if p != last {
            for ti in 0..t {
                let key = self.keys[last * t + ti];
                if let Some(b) = self.buckets[ti].get_mut(&key) {
                    for s in b.iter_mut() {
                        if *s as usize == last {
                            *s = p as u32;
                        }
                    }
                }
                self.keys[p * t + ti] = key;
            }
            let moved = self.ids[last];
            self.ids[p] = moved;
            self.data
                .copy_within(last * self.dim..(last + 1) * self.dim, p * self.dim);
            if let Some(slot) = self.pos.get_mut(&moved) {
                *slot = p as u32;
            }
        }
        self.ids.truncate(last);
        self.data.truncate(last * self.dim);
        self.keys.truncate(last * t);
        // Many removals: fewer bits, so buckets do not thin out to one row.
        if let Some(b) = self.rebits_for(self.ids.len()) {
            self.set_bits(b)?;
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
        let mut sc = self.pool.take().unwrap_or_else(LshScratch::new);
        let res = self.search_with(&q, params, filter, &mut sc);
        // Back to the pool on failure too: what was reserved stays.
        self.pool.give(sc);
        res
    }
    fn search_batch(&self, queries: &[f32], params: &SearchParams) -> Result<Vec<Vec<Neighbor>>> {
        if self.scan_mode() && !self.ids.is_empty() {
            return self.search_codes_batch(queries, params);
        }
        let dim = self.dim;
        let n = crate::common::batch_rows(dim, queries)?;
        let f = |i: usize| self.search(&queries[i * dim..(i + 1) * dim], params, None);
        crate::parallel::par_map(n, &f).into_iter().collect()
    }
    fn stats(&self) -> IndexStats {
        IndexStats {
            len: self.len(),
            deleted: 0,
            dim: self.dim,
            memory_bytes: self.planes.capacity() * 4
                + self.data.capacity() * 4
                + self.ids.capacity() * 8
                + self.keys.capacity() * 8
                + self.buckets.iter().map(|b| b.len() * 48).sum::<usize>()
                + self.ids.len() * self.cfg.tables * 4
                + self.pos.len() * 24,
        }
    }
    fn save(&self, sink: &mut dyn ByteSink) -> Result<()> {
        let mut w = Writer::new();
        self.write_payload(&mut w);
        let c = &self.cfg;
        w.finish(
            sink,
            IndexKind::Lsh,
            self.metric,
            self.dim,
            self.len(),
            [
                c.tables as u32,
                self.bits as u32,
                c.probes as u32,
                c.rerank as u32,
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, dim: usize) -> Vec<f32> {
        let mut rng = Rng::new(7);
        (0..n * dim).map(|_| rng.normal()).collect()
    }

    fn exact(d: &[f32], dim: usize, q: &[f32], keep: &dyn Fn(u64) -> bool) -> Vec<u64> {
        let f = kernels().dist_fn(Metric::L2);
        let mut all: Vec<(f32, u64)> = d
            .chunks_exact(dim)
            .enumerate()
            .filter(|(i, _)| keep(*i as u64))
            .map(|(i, v)| (f.eval(q, v), i as u64))
            .collect();
        all.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        all.iter().take(10).map(|x| x.1).collect()
    }

    /// A large batch (hashed with one matrix product) gives the same
    /// searches as the same rows added one at a time, in both modes, and a
    /// duplicate id in a batch adds nothing.
    #[test]
    fn batch_hashing_matches_row_by_row() {
        let (n, dim) = (2000, 24);
        let d = data(n, dim);
        let ids: Vec<u64> = (0..n as u64).collect();
        for mode in [LshMode::Buckets, LshMode::CodeScan] {
            let cfg = LshConfig {
                mode,
                tables: 4,
                bits: if mode == LshMode::CodeScan { 64 } else { 10 },
                probes: 4,
                rerank: 100,
                seed: 5,
            };
            let mut a = LshIndex::new(dim, Metric::L2, cfg).unwrap();
            a.add_batch(&ids, &d).unwrap();
            let mut b = LshIndex::new(dim, Metric::L2, cfg).unwrap();
            b.train(&d).unwrap();
            for (i, &id) in ids.iter().enumerate() {
                b.add(id, &d[i * dim..(i + 1) * dim]).unwrap();
            }
            let differ = a.keys.iter().zip(&b.keys).filter(|(x, y)| x != y).count();
            assert!(
                differ * 1000 <= a.keys.len(),
                "{mode:?}: {differ} keys differ"
            );
            let p = SearchParams::k(10);
            let mut same = 0;
            for q in data(50, dim).chunks_exact(dim) {
                same +=
                    usize::from(a.search(q, &p, None).unwrap() == b.search(q, &p, None).unwrap());
            }
            assert!(same >= 48, "{mode:?}: {same}/50 searches equal");
            let dup = [5000u64, 5001, 5000];
            let before = a.len();
            let rows = data(3, dim);
            let many: Vec<u64> = (0..100).map(|i| 9000 + i).chain([9000]).collect();
            let many_rows = data(101, dim);
            assert!(matches!(
                a.add_batch(&many, &many_rows),
                Err(AnnError::DuplicateId(9000))
            ));
            assert!(matches!(
                a.add_batch(&dup, &rows),
                Err(AnnError::DuplicateId(5000))
            ));
            assert_eq!(
                a.len(),
                before + 2,
                "the small batch adds row by row up to the duplicate"
            );
        }
    }

    #[test]
    fn round_log2_rounds_to_nearest() {
        let cases = [
            (1, 0),
            (2, 1),
            (3, 2),
            (5, 2),
            (6, 3),
            (1000, 10),
            (1448, 10),
            (1449, 11),
        ];
        for (n, want) in cases {
            assert_eq!(round_log2(n), want, "n = {n}");
        }
        assert_eq!(auto_bits(0, 8, 32), AUTO_BITS_MIN);
        assert_eq!(auto_bits(2000, 8, 32), 7);
        assert_eq!(auto_bits(1 << 20, 8, 32), 16);
        // The hyperplane budget caps the choice.
        assert_eq!(auto_bits(usize::MAX, 1024, 65536), 0);
        assert_eq!(round_log2(usize::MAX), 32);
    }

    /// Automatic bits follow the row count (rows added one at a time and
    /// as a batch hash alike), fall back after many removals, survive a
    /// save and load, and give a small uniform set the recall that fixed
    /// 16-bit keys do not.
    #[test]
    fn automatic_bits_follow_the_row_count() {
        let dim = 32;
        let mut rng = Rng::new(11);
        let rows: Vec<f32> = (0..2000 * dim).map(|_| rng.next_f32()).collect();
        let qs: Vec<f32> = (0..50 * dim).map(|_| rng.next_f32()).collect();
        let ids: Vec<u64> = (0..2000).collect();
        let recall = |idx: &LshIndex| {
            let mut hit = 0;
            for q in qs.chunks_exact(dim) {
                let want = exact(&rows, dim, q, &|_| true);
                let got = idx.search(q, &SearchParams::k(10), None).unwrap();
                hit += got.iter().filter(|n| want.contains(&n.id)).count();
            }
            hit as f64 / 500.0
        };
        let mut one = LshIndex::new(dim, Metric::L2, LshConfig::default()).unwrap();
        assert_eq!(one.bits(), AUTO_BITS_MIN);
        for (i, r) in rows.chunks_exact(dim).enumerate() {
            one.add(i as u64, r).unwrap();
        }
        let mut batch = LshIndex::new(dim, Metric::L2, LshConfig::default()).unwrap();
        batch.add_batch(&ids, &rows).unwrap();
        assert_eq!((one.bits(), batch.bits()), (7, 7));
        assert_eq!(one.config().bits, 0);
        let (r1, rb) = (recall(&one), recall(&batch));
        assert!(r1 >= 0.8 && rb >= 0.8, "recall {r1} / {rb}");
        let fixed = LshConfig {
            bits: 16,
            ..LshConfig::default()
        };
        let mut old = LshIndex::new(dim, Metric::L2, fixed).unwrap();
        old.add_batch(&ids, &rows).unwrap();
        assert_eq!(old.bits(), 16);
        assert!(recall(&old) < 0.3, "fixed 16 bits: {}", recall(&old));

        // Save and load: the same bits, still automatic, same answers.
        let mut bytes: Vec<u8> = Vec::new();
        batch.save(&mut bytes).unwrap();
        let back = LshIndex::load(&mut &bytes[..]).unwrap();
        assert_eq!((back.bits(), back.config().bits), (7, 0));
        for q in qs.chunks_exact(dim) {
            let p = SearchParams::k(10);
            assert_eq!(
                batch.search(q, &p, None).unwrap(),
                back.search(q, &p, None).unwrap()
            );
        }

        // Removing down to 100 rows returns to the fewest bits, and what
        // is left is still found.
        for id in 100..2000u64 {
            assert!(batch.remove(id).unwrap());
        }
        assert_eq!(batch.bits(), AUTO_BITS_MIN);
        let all = SearchParams {
            nprobe: Some(16),
            ..SearchParams::k(1)
        };
        for (i, r) in rows.chunks_exact(dim).take(100).enumerate() {
            assert_eq!(batch.search(r, &all, None).unwrap()[0].id, i as u64);
        }
    }

    #[test]
    fn code_scan_recall_filter_remove_persist() {
        // Full 64-bit words, and words only partly used.
        for (tables, bits) in [(4, 64), (6, 40)] {
            code_scan_case(tables, bits);
        }
    }

    fn code_scan_case(tables: usize, bits: usize) {
        let (n, dim) = (3000, 16);
        let d = data(n, dim);
        let ids: Vec<u64> = (0..n as u64).collect();
        let cfg = LshConfig {
            mode: LshMode::CodeScan,
            tables,
            bits,
            probes: 1,
            rerank: 300,
            seed: 3,
        };
        let mut idx = LshIndex::new(dim, Metric::L2, cfg).unwrap();
        idx.add_batch(&ids, &d).unwrap();
        let qs = data(40, dim);
        let p = SearchParams::k(10);
        let mut hit = 0;
        for q in qs.chunks_exact(dim) {
            let t = exact(&d, dim, q, &|_| true);
            let r = idx.search(q, &p, None).unwrap();
            hit += r.iter().filter(|x| t.contains(&x.id)).count();
        }
        assert!(
            hit as f32 / 400.0 >= 0.8,
            "{tables}x{bits}: recall {hit}/400"
        );
        // rerank 0 re-ranks every vector: exact.
        let all = SearchParams {
            rerank: Some(0),
            ..SearchParams::k(10)
        };
        let q = &qs[..dim];
        let r: Vec<u64> = idx
            .search(q, &all, None)
            .unwrap()
            .iter()
            .map(|x| x.id)
            .collect();
        assert_eq!(r, exact(&d, dim, q, &|_| true));
        // Filters.
        let even = |id: u64| id.is_multiple_of(2);
        let r = idx.search(q, &all, Some(&even)).unwrap();
        assert_eq!(r.len(), 10);
        assert!(r.iter().all(|x| even(x.id)));
        let r = idx.search(q, &p, Some(&even)).unwrap();
        assert_eq!(r.len(), 10);
        assert!(r.iter().all(|x| even(x.id)));
        // Remove.
        let top = idx.search(q, &p, None).unwrap()[0].id;
        assert!(idx.remove(top).unwrap());
        let r = idx.search(q, &all, None).unwrap();
        assert!(r.iter().all(|x| x.id != top));
        assert_eq!(idx.len(), n - 1);
        // A batch (blocked scan, groups of queries with a short last one)
        // gives each query's own results.
        for params in [p, all] {
            let got = idx.search_batch(&qs[..13 * dim], &params).unwrap();
            for (q, g) in qs.chunks_exact(dim).zip(&got) {
                assert_eq!(*g, idx.search(q, &params, None).unwrap());
            }
            assert_eq!(got.len(), 13);
        }
        // Save / load gives identical results.
        let mut bytes: Vec<u8> = Vec::new();
        idx.save(&mut bytes).unwrap();
        let back = LshIndex::load(&mut &bytes[..]).unwrap();
        assert_eq!(back.config(), idx.config());
        for q in qs.chunks_exact(dim) {
            assert_eq!(
                idx.search(q, &p, None).unwrap(),
                back.search(q, &p, None).unwrap()
            );
        }
    }
}
