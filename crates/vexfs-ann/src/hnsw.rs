//! Hierarchical Navigable Small World graph (Malkov & Yashunin), laid out
//! like hnswlib: one flat arena of fixed-size node records holding the
//! level-0 link list and the vector together (packed: no padding between
//! the link list and the vector, nor after it), upper layers in separate
//! small per-node arrays, labels and flags alongside. With f16 or SQ8
//! storage ([`Storage`]) the record holds the codes instead of the f32
//! vector, and every distance is computed on the codes.
//!
//! Insertion works in *waves*: a wave of new nodes first searches the graph
//! as it was before the wave (read-only, so the searches run in parallel),
//! then candidate lists are completed with the other members of the wave,
//! neighbours are chosen with the paper's heuristic, and reverse links are
//! merged per target node. Every step is a pure function of the graph
//! before the wave and of the wave in order, so the graph is the same for
//! any thread count. A single [`VectorIndex::add`] is a wave of one, which
//! is exactly the classic sequential insertion. Waves grow with the graph
//! (up to 64 nodes) so that nodes of one wave rarely need each other.
//!
//! Deletion marks a node: it is still traversed (keeping the graph
//! connected) but never returned. Filtered-out nodes are treated the same.

use crate::common::{
    check_query, check_vec, finish, heap_room, lt, prepare, reserve, resize, MinScored, Pool,
    Scored, Visited,
};
use crate::distance::{kernels, prefetch, DistFn};
use crate::error::{AnnError, Result};
use crate::index::{IndexKind, IndexStats, Neighbor, SearchParams, VectorId, VectorIndex};
use crate::io::ByteSink;
use crate::metric::Metric;
use crate::persist::{Header, Reader, Writer};
use crate::rng::Rng;
use crate::storage::{CodeQuery, Codec, Storage};
use alloc::borrow::Cow;
use alloc::collections::BinaryHeap;
use alloc::vec;
use alloc::vec::Vec;

/// HNSW parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswConfig {
    /// Links per node on upper layers; level 0 keeps `2 * m`.
    pub m: usize,
    /// Candidate list size while inserting.
    pub ef_construction: usize,
    /// Default candidate list size while searching (overridable per query).
    pub ef_search: usize,
    /// Seed of the level generator.
    pub seed: u64,
    /// Expected number of vectors (pre-allocation hint; 0 = none).
    pub max_elements: usize,
}

impl Default for HnswConfig {
    fn default() -> Self {
        Self {
            m: 16,
            ef_construction: 200,
            ef_search: 64,
            seed: 42,
            max_elements: 0,
        }
    }
}

/// One 64-byte arena line; the arena is a Vec of these so it starts on
/// a cache-line boundary (records, packed, start on 16-byte ones).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u32; 16]);
const _: () = assert!(core::mem::size_of::<Line>() == 64);

const NONE: u32 = u32::MAX;
const MAX_LEVEL: usize = 31;
const MAX_M: usize = 1024;
/// Largest insertion wave. Bigger waves mean fewer synchronisation points
/// in parallel builds; wave peers are linked through exact peer distances,
/// so graph quality does not depend on it much.
const MAX_WAVE: usize = 256;

/// Per-search reusable state.
struct Scratch {
    visited: Visited,
    cand: BinaryHeap<MinScored<u32>>,
    top: BinaryHeap<Scored<u32>>,
    /// Unvisited neighbours of the node being expanded.
    fresh: Vec<u32>,
    /// Their distances to the query.
    fdist: Vec<f32>,
}

impl Scratch {
    fn new() -> Self {
        Self {
            visited: Visited::new(),
            cand: BinaryHeap::new(),
            top: BinaryHeap::new(),
            fresh: Vec::new(),
            fdist: Vec::new(),
        }
    }
}

/// A query as the graph walk scores it: the prepared f32 vector, and for
/// f16 / SQ8 storage its form for the code kernels.
struct Query<'a> {
    v: Cow<'a, [f32]>,
    code: Option<CodeQuery>,
}

/// HNSW index.
pub struct HnswIndex {
    dim: usize,
    metric: Metric,
    cfg: HnswConfig,
    m0: usize,
    /// u32 words per node record.
    rec_words: usize,
    /// u32 words of the vector (or its codes) inside a record.
    vec_words: usize,
    /// f16 / SQ8 storage; `None` keeps f32 vectors.
    codec: Option<Codec>,
    /// Word offset of the vector inside a record (right after the links).
    vec_off: usize,
    /// Vector words prefetched per neighbour.
    pf_words: usize,
    /// Prefetch all unvisited neighbours before computing distances.
    pf_batch: bool,
    /// Compute a node's neighbour distances with one gather-kernel call.
    gather: bool,
    kern: &'static crate::distance::Kernels,
    arena: Vec<Line>,
    /// Upper layers: node -> `level * (1 + m)` words, level l at
    /// `(l - 1) * (1 + m)`: a count followed by `m` link slots.
    upper: Vec<Vec<u32>>,
    levels: Vec<u8>,
    labels: Vec<VectorId>,
    deleted: Vec<bool>,
    n_deleted: usize,
    map: crate::id_map::IdMap<u32>,
    entry: u32,
    max_level: usize,
    rng: Rng,
    mult: f64,
    dist: DistFn,
    pool: Pool<Scratch>,
}

/// Nearest first, ties by node number: a total order, so the in-place
/// sort (which needs no buffer, unlike a stable one) gives the same graph
/// on every run.
fn sort_by_distance(v: &mut [Scored<u32>]) {
    v.sort_unstable_by(|a, b| a.cmp(b).then(a.v.cmp(&b.v)));
}

/// Record layout `(vector offset, record words)` for a vector of
/// `vec_words` words: the level-0 count and `2m` link slots, the vector
/// right after them, nothing after it. Aligning the vector and the record
/// to 64-byte lines (format versions 1 and 2, [`legacy_layout`]) cost up
/// to 30 words a node (172 vs 130 MiB beside hnswlib on GloVe-50) and
/// bought no measurable speed: the kernels use unaligned loads and a
/// record spans lines either way. Format 3 still rounded records to 16
/// bytes ([`v3_layout`]), about 1.5 MiB on GloVe-50.
fn layout(m: usize, vec_words: usize) -> (usize, usize) {
    let vec_off = 1 + 2 * m;
    (vec_off, vec_off + vec_words)
}

/// The layout of format version 3 (f32 vectors, records rounded to 16
/// bytes).
fn v3_layout(m: usize, dim: usize) -> (usize, usize) {
    let vec_off = 1 + 2 * m;
    (vec_off, (vec_off + dim).div_ceil(4) * 4)
}

/// The line-aligned layout of format versions 1 and 2 (read on load and
/// repacked).
fn legacy_layout(m: usize, dim: usize) -> (usize, usize) {
    let vec_off = (1 + 2 * m).div_ceil(16) * 16;
    (vec_off, (vec_off + dim).div_ceil(16) * 16)
}

/// Arena lines that hold `nodes` records of `rec_words` words.
fn lines_for(nodes: usize, rec_words: usize) -> usize {
    nodes.saturating_mul(rec_words).div_ceil(16)
}

impl HnswIndex {
    /// An empty HNSW index.
    pub fn new(dim: usize, metric: Metric, cfg: HnswConfig) -> Result<Self> {
        Self::with_storage(dim, metric, cfg, Storage::F32)
    }

    /// An empty HNSW index keeping its vectors as `storage` in the node
    /// records (SQ8 must be trained before the first insertion).
    pub fn with_storage(
        dim: usize,
        metric: Metric,
        cfg: HnswConfig,
        storage: Storage,
    ) -> Result<Self> {
        if dim == 0 || dim > crate::persist::MAX_DIM {
            return Err(AnnError::InvalidParameter("dim must be in 1..=65536"));
        }
        if cfg.m < 2 || cfg.m > MAX_M {
            return Err(AnnError::InvalidParameter("M must be in 2..=1024"));
        }
        if cfg.ef_construction == 0 || cfg.ef_search == 0 {
            return Err(AnnError::InvalidParameter("ef must be > 0"));
        }
        let codec = Codec::new(storage, dim);
        let vec_words = storage.code_len(dim).div_ceil(4);
        let (vec_off, rec_words) = layout(cfg.m, vec_words);
        let mut me = Self {
            dim,
            metric,
            cfg,
            m0: 2 * cfg.m,
            rec_words,
            vec_words,
            codec,
            vec_off,
            // Measured on 100k x 128: prefetching the whole vector of every
            // unvisited neighbour before computing distances is ~1.5x faster
            // than prefetching only the next neighbour.
            pf_words: vec_words.div_ceil(16).min(16) * 16,
            pf_batch: true,
            gather: true,
            kern: kernels(),
            arena: Vec::new(),
            upper: Vec::new(),
            levels: Vec::new(),
            labels: Vec::new(),
            deleted: Vec::new(),
            n_deleted: 0,
            map: crate::id_map::id_map(),
            entry: NONE,
            max_level: 0,
            rng: Rng::new(cfg.seed),
            mult: 1.0 / libm::log(cfg.m as f64),
            dist: kernels().dist_fn(metric),
            pool: Pool::new(),
        };
        if cfg.max_elements > 0 {
            let lines = lines_for(cfg.max_elements, rec_words);
            let _ = crate::common::reserve(&mut me.arena, lines);
        }
        Ok(me)
    }

    /// The configuration.
    pub fn config(&self) -> &HnswConfig {
        &self.cfg
    }

    /// How the vectors are stored.
    pub fn storage(&self) -> Storage {
        self.codec.as_ref().map_or(Storage::F32, Codec::storage)
    }

    /// Stored vector of node `i`, decoded to f32 for f16 / SQ8 storage.
    fn node_vector(&self, i: u32) -> Cow<'_, [f32]> {
        match &self.codec {
            None => Cow::Borrowed(self.vector(i)),
            Some(c) => {
                let mut v = vec![0f32; self.dim];
                c.decode(self.code(i), &mut v);
                Cow::Owned(v)
            }
        }
    }

    /// A prepared query in the form the storage scores against.
    fn make_query<'a>(&self, v: Cow<'a, [f32]>) -> Query<'a> {
        let code = self.codec.as_ref().map(|c| c.query(&v, self.metric));
        Query { v, code }
    }

    /// Node `i` as a query (building: distances between stored nodes).
    fn node_query(&self, i: u32) -> Query<'_> {
        self.make_query(self.node_vector(i))
    }

    /// The codes of node `i` (f16 / SQ8 storage).
    #[inline(always)]
    fn code(&self, i: u32) -> &[u8] {
        let o = i as usize * self.rec_words + self.vec_off;
        let w = self.words().get(o..o + self.vec_words).unwrap_or(&[]);
        // SAFETY: u8 has alignment 1 and every byte of a u32 is a valid
        // u8; the slice covers exactly the `vec_words` words above.
        unsafe { core::slice::from_raw_parts(w.as_ptr() as *const u8, w.len() * 4) }
    }

    /// Rebuild the graph from the live vectors only, reclaiming the space
    /// of removed ones (which are otherwise kept as traversable
    /// tombstones). Ids are kept; the level generator restarts from the
    /// configured seed, so the result is deterministic.
    pub fn compact(&mut self) -> Result<()> {
        if self.n_deleted == 0 {
            return Ok(());
        }
        let mut fresh = Self::new(self.dim, self.metric, self.cfg)?;
        let live = self.n() - self.n_deleted;
        let mut ids = Vec::new();
        let mut vecs = Vec::new();
        crate::common::reserve(&mut ids, live)?;
        crate::common::reserve(&mut vecs, live.saturating_mul(self.dim))?;
        for i in 0..self.n() {
            if !self.deleted[i] {
                ids.push(self.labels[i]);
                vecs.extend_from_slice(&self.node_vector(i as u32));
            }
        }
        fresh.codec = self.codec.clone();
        fresh.add_batch(&ids, &vecs)?;
        *self = fresh;
        Ok(())
    }

    /// Change the default `ef` used by searches without `params.ef`.
    pub fn set_ef_search(&mut self, ef: usize) {
        self.cfg.ef_search = ef.max(1);
    }

    #[inline(always)]
    fn n(&self) -> usize {
        self.labels.len()
    }

    #[inline(always)]
    fn words(&self) -> &[u32] {
        // SAFETY: `Line` is `repr(C)` around `[u32; 16]` with no padding
        // (size asserted to 64), so the arena is exactly `16 * len` u32s.
        unsafe {
            core::slice::from_raw_parts(self.arena.as_ptr() as *const u32, self.arena.len() * 16)
        }
    }

    #[inline(always)]
    fn words_mut(&mut self) -> &mut [u32] {
        // SAFETY: as in `words`; the unique borrow of `self.arena` makes
        // the returned slice the only access.
        unsafe {
            core::slice::from_raw_parts_mut(
                self.arena.as_mut_ptr() as *mut u32,
                self.arena.len() * 16,
            )
        }
    }

    #[inline(always)]
    fn vector(&self, i: u32) -> &[f32] {
        let o = i as usize * self.rec_words + self.vec_off;
        let w = self.words().get(o..o + self.dim).unwrap_or(&[]);
        // SAFETY: u32 and f32 have the same size and alignment and every bit
        // pattern is a valid f32.
        unsafe { core::slice::from_raw_parts(w.as_ptr() as *const f32, w.len()) }
    }

    /// Prefetch the start of a node's level-0 record (count + links).
    #[inline(always)]
    fn prefetch_links(&self, i: u32, level: usize) {
        if level == 0 {
            let o = i as usize * self.rec_words;
            prefetch(self.words().as_ptr().wrapping_add(o));
        }
    }

    /// Prefetch the first `pf_words` words of a node's vector.
    #[inline(always)]
    fn prefetch_vector(&self, i: u32) {
        let o = i as usize * self.rec_words + self.vec_off;
        let p = self.words().as_ptr().wrapping_add(o);
        let mut w = 0;
        while w < self.pf_words {
            prefetch(p.wrapping_add(w));
            w += 16;
        }
    }

    /// Tuning hook for the benchmark: compute neighbour distances with
    /// the gather kernel (default) or one call per neighbour.
    #[doc(hidden)]
    pub fn set_gather(&mut self, on: bool) {
        self.gather = on;
    }

    /// Tuning hook for the benchmark: words of each neighbour vector to
    /// prefetch, and whether to prefetch all unvisited neighbours of a node
    /// before computing their distances.
    #[doc(hidden)]
    pub fn set_prefetch(&mut self, words: usize, batch: bool) {
        self.pf_words = words.min(self.vec_words.div_ceil(16) * 16);
        self.pf_batch = batch;
    }

    #[inline(always)]
    fn links(&self, i: u32, level: usize) -> &[u32] {
        if level == 0 {
            let o = i as usize * self.rec_words;
            let w = self.words();
            let c = w.get(o).copied().unwrap_or(0) as usize;
            w.get(o + 1..o + 1 + c.min(self.m0)).unwrap_or(&[])
        } else {
            let u = match self.upper.get(i as usize) {
                Some(u) => u,
                None => return &[],
            };
            let o = (level - 1) * (1 + self.cfg.m);
            let c = u.get(o).copied().unwrap_or(0) as usize;
            u.get(o + 1..o + 1 + c.min(self.cfg.m)).unwrap_or(&[])
        }
    }

    /// Set node `i`'s links on `level` (at most its capacity of them).
    /// Allocates nothing: a wave's link changes run after every
    /// allocation of the wave has succeeded.
    fn set_links(&mut self, i: u32, level: usize, l: impl ExactSizeIterator<Item = u32>) {
        let fill = |dst: &mut [u32], n: usize, l: &mut dyn Iterator<Item = u32>| {
            dst[0] = n as u32;
            for (d, x) in dst[1..].iter_mut().zip(l) {
                *d = x;
            }
        };
        let mut l = l;
        if level == 0 {
            let n = l.len().min(self.m0);
            let o = i as usize * self.rec_words;
            let w = self.words_mut();
            if let Some(dst) = w.get_mut(o..o + 1 + n) {
                fill(dst, n, &mut l);
            }
        } else {
            let m = self.cfg.m;
            let n = l.len().min(m);
            if let Some(u) = self.upper.get_mut(i as usize) {
                let o = (level - 1) * (1 + m);
                if let Some(dst) = u.get_mut(o..o + 1 + n) {
                    fill(dst, n, &mut l);
                }
            }
        }
    }

    #[inline(always)]
    fn d(&self, q: &Query<'_>, i: u32) -> f32 {
        match (&q.code, &self.codec) {
            (Some(cq), Some(c)) => c.dist(cq, self.code(i)),
            _ => self.dist.eval(&q.v, self.vector(i)),
        }
    }

    /// Distances from `q` to the nodes `ids` with one grouped kernel call
    /// (f32 vectors or codes alike).
    #[inline(always)]
    fn gather_dists(&self, q: &Query<'_>, ids: &[u32], out: &mut [f32]) {
        match (&q.code, &self.codec) {
            (Some(cq), Some(c)) => {
                c.dist_gather(cq, self.words(), self.rec_words, self.vec_off, ids, out)
            }
            _ => self.kern.gather(
                &q.v,
                self.words(),
                self.rec_words,
                self.vec_off,
                ids,
                out,
                self.metric == Metric::L2,
            ),
        }
    }

    fn random_level(&mut self) -> usize {
        let u = 1.0 - self.rng.next_f64(); // (0, 1]
        let l = -libm::log(u) * self.mult;
        if l >= MAX_LEVEL as f64 {
            MAX_LEVEL
        } else {
            l as usize
        }
    }

    /// Greedy descent on one upper layer.
    fn greedy(&self, q: &Query<'_>, mut cur: u32, mut cd: f32, level: usize) -> (u32, f32) {
        loop {
            let mut changed = false;
            for &nb in self.links(cur, level) {
                let d = self.d(q, nb);
                if lt(d, cd) {
                    cd = d;
                    cur = nb;
                    changed = true;
                }
            }
            if !changed {
                return (cur, cd);
            }
        }
    }

    /// Best-first search of one layer; results (at most `ef`) in `s.top`.
    /// Nodes for which `allowed` is false are traversed but not collected.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn search_layer<F: Fn(u32) -> bool>(
        &self,
        q: &Query<'_>,
        ep: u32,
        ep_d: f32,
        ef: usize,
        level: usize,
        s: &mut Scratch,
        allowed: F,
        filtered: bool,
    ) -> Result<()> {
        // Every allocation of the walk is made here or before a node's
        // links are pushed, and may fail: a search answers ENOMEM, never
        // aborts (the kernel module's searches run through here).
        let width = self.cap(level);
        s.visited.reset(self.n())?;
        s.cand.clear();
        s.top.clear();
        heap_room(&mut s.top, ef + 1)?;
        heap_room(&mut s.cand, width + 1)?;
        reserve(&mut s.fresh, width)?;
        if s.fdist.len() < width {
            resize(&mut s.fdist, width, 0.0)?;
        }
        s.visited.insert(ep as usize);
        let mut lower = f32::INFINITY;
        if allowed(ep) {
            s.top.push(Scored { d: ep_d, v: ep });
            lower = ep_d;
        }
        s.cand.push(MinScored(Scored { d: ep_d, v: ep }));
        while let Some(MinScored(c)) = s.cand.pop() {
            if lt(lower, c.d) && (s.top.len() >= ef || !filtered) {
                break;
            }
            heap_room(&mut s.cand, width)?;
            if self.pf_batch {
                // Gather the unvisited neighbours first and prefetch their
                // vectors so the memory loads overlap.
                s.fresh.clear();
                for &nb in self.links(c.v, level) {
                    if s.visited.insert(nb as usize) {
                        self.prefetch_vector(nb);
                        s.fresh.push(nb);
                    }
                }
                if self.gather {
                    self.gather_dists(q, &s.fresh, &mut s.fdist);
                } else {
                    for (o, &nb) in s.fdist.iter_mut().zip(&s.fresh) {
                        *o = self.d(q, nb);
                    }
                }
                for (&nb, &d) in s.fresh.iter().zip(&s.fdist) {
                    if s.top.len() < ef || lt(d, lower) {
                        s.cand.push(MinScored(Scored { d, v: nb }));
                        if allowed(nb) {
                            s.top.push(Scored { d, v: nb });
                            if s.top.len() > ef {
                                s.top.pop();
                            }
                            if let Some(t) = s.top.peek() {
                                lower = t.d;
                            }
                        }
                    }
                }
                if let Some(MinScored(p)) = s.cand.peek() {
                    self.prefetch_links(p.v, level);
                }
                continue;
            }
            let links = self.links(c.v, level);
            if let Some(&first) = links.first() {
                s.visited.prefetch(first as usize);
                self.prefetch_vector(first);
            }
            for (j, &nb) in links.iter().enumerate() {
                if let Some(&nx) = links.get(j + 1) {
                    s.visited.prefetch(nx as usize);
                    self.prefetch_vector(nx);
                }
                if !s.visited.insert(nb as usize) {
                    continue;
                }
                let d = self.d(q, nb);
                if s.top.len() < ef || lt(d, lower) {
                    s.cand.push(MinScored(Scored { d, v: nb }));
                    if let Some(MinScored(p)) = s.cand.peek() {
                        self.prefetch_links(p.v, level);
                    }
                    if allowed(nb) {
                        s.top.push(Scored { d, v: nb });
                        if s.top.len() > ef {
                            s.top.pop();
                        }
                        if let Some(t) = s.top.peek() {
                            lower = t.d;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn scratch(&self) -> Scratch {
        self.pool.take().unwrap_or_else(Scratch::new)
    }

    /// The paper's neighbour-selection heuristic over candidates sorted by
    /// distance to the base point: keep a candidate only if it is nearer to
    /// the base than to every already kept one.
    fn heuristic(&self, cands: &[Scored<u32>], m: usize) -> Result<Vec<Scored<u32>>> {
        let mut sel: Vec<Scored<u32>> = Vec::new();
        if cands.len() <= m {
            reserve(&mut sel, cands.len())?;
            sel.extend_from_slice(cands);
            return Ok(sel);
        }
        reserve(&mut sel, m)?;
        // The kept nodes are prepared as queries once each, and every
        // candidate is scored from them (distances are symmetric): at
        // most `m` preparations instead of one per candidate, which for
        // f16 / SQ8 storage is a decode and two allocations. For f32 the
        // sums are the same operations in the same order either way.
        let mut sel_q: Vec<Query<'_>> = Vec::new();
        reserve(&mut sel_q, m)?;
        for c in cands {
            if sel.len() >= m {
                break;
            }
            if sel_q.iter().all(|qs| self.d(qs, c.v) >= c.d) {
                sel.push(*c);
                sel_q.push(self.node_query(c.v));
            }
        }
        Ok(sel)
    }

    fn cap(&self, level: usize) -> usize {
        if level == 0 {
            self.m0
        } else {
            self.cfg.m
        }
    }

    /// Phase 1 for one new node: search the frozen graph on every level
    /// the node lives on. Returns candidate lists indexed by level.
    fn wave_search(
        &self,
        node: u32,
        frozen_entry: u32,
        frozen_max: usize,
    ) -> Result<Vec<Vec<Scored<u32>>>> {
        let level = self.levels[node as usize] as usize;
        let mut out: Vec<Vec<Scored<u32>>> = Vec::new();
        reserve(&mut out, level + 1)?;
        out.resize_with(level + 1, Vec::new);
        if frozen_entry == NONE {
            return Ok(out);
        }
        let q = self.node_query(node);
        let q = &q;
        let mut ep = frozen_entry;
        let mut ed = self.d(q, ep);
        let mut lev = frozen_max;
        while lev > level {
            (ep, ed) = self.greedy(q, ep, ed, lev);
            lev -= 1;
        }
        let mut s = self.scratch();
        let mut walk = || -> Result<()> {
            for lev in (0..=level.min(frozen_max)).rev() {
                self.search_layer(
                    q,
                    ep,
                    ed,
                    self.cfg.ef_construction,
                    lev,
                    &mut s,
                    |_| true,
                    false,
                )?;
                let mut c: Vec<Scored<u32>> = Vec::new();
                reserve(&mut c, s.top.len())?;
                c.extend(s.top.drain());
                sort_by_distance(&mut c);
                if let Some(b) = c.first() {
                    ep = b.v;
                    ed = b.d;
                }
                out[lev] = c;
            }
            Ok(())
        };
        let r = walk();
        self.pool.give(s);
        r.map(|()| out)
    }

    /// Insert the already-allocated nodes `first..first + count` as one wave.
    ///
    /// Phases 1, 2 and the planning of phase 4 only read the graph and make
    /// every allocation of the wave; phases 3 to 5 change links and
    /// allocate nothing. So out of memory leaves the graph as it was, with
    /// the wave's nodes allocated but unlinked (the caller drops them).
    fn insert_wave(&mut self, first: u32, count: u32) -> Result<()> {
        let frozen_entry = self.entry;
        let frozen_max = self.max_level;
        let mut nodes: Vec<u32> = Vec::new();
        reserve(&mut nodes, count as usize)?;
        nodes.extend(first..first + count);
        // Phase 1 + 2 (read-only, parallel): search, add wave peers, select.
        let selected: Vec<Vec<Vec<Scored<u32>>>> = {
            let me = &*self;
            let f = |wi: usize| -> Result<Vec<Vec<Scored<u32>>>> {
                let node = nodes[wi];
                let mut lists = me.wave_search(node, frozen_entry, frozen_max)?;
                let q = me.node_query(node);
                let q = &q;
                let mut peers = Vec::new();
                let mut ds = Vec::new();
                reserve(&mut peers, nodes.len())?;
                for (lev, list) in lists.iter_mut().enumerate() {
                    peers.clear();
                    peers.extend(
                        nodes
                            .iter()
                            .copied()
                            .filter(|&p| p != node && me.levels[p as usize] as usize >= lev),
                    );
                    resize(&mut ds, peers.len(), 0.0)?;
                    me.gather_dists(q, &peers, &mut ds);
                    reserve(list, peers.len())?;
                    list.extend(peers.iter().zip(&ds).map(|(&v, &d)| Scored { d, v }));
                    sort_by_distance(list);
                    *list = me.heuristic(list, me.cfg.m)?;
                }
                Ok(lists)
            };
            crate::parallel::try_par_map(nodes.len(), &f)?
        };
        // Phase 4 planning: the reverse links each target gets, grouped per
        // (target, level) in wave order, and each target's new list.
        let total: usize = selected
            .iter()
            .map(|ls| ls.iter().map(Vec::len).sum::<usize>())
            .sum();
        let mut incoming: Vec<(u32, usize, usize, Scored<u32>)> = Vec::new();
        reserve(&mut incoming, total)?;
        for (wi, lists) in selected.iter().enumerate() {
            for (lev, l) in lists.iter().enumerate() {
                for s in l {
                    let seq = incoming.len();
                    incoming.push((
                        s.v,
                        lev,
                        seq,
                        Scored {
                            d: s.d,
                            v: nodes[wi],
                        },
                    ));
                }
            }
        }
        incoming.sort_unstable_by_key(|&(t, lev, seq, _)| (t, lev, seq));
        let mut inc: Vec<Scored<u32>> = Vec::new();
        reserve(&mut inc, incoming.len())?;
        inc.extend(incoming.iter().map(|e| e.3));
        let mut targets: Vec<(u32, usize, usize, usize)> = Vec::new();
        reserve(
            &mut targets,
            incoming.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)).count(),
        )?;
        let mut at = 0;
        for g in incoming.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            targets.push((g[0].0, g[0].1, at, at + g.len()));
            at += g.len();
        }
        let updates: Vec<Option<Vec<u32>>> = {
            let me = &*self;
            let f = |ti: usize| {
                let (t, lev, lo, hi) = targets[ti];
                // A target in this wave has, by then, the forward links
                // phase 3 gives it (not yet written: nothing is until
                // every allocation is made).
                let forward = t
                    .checked_sub(first)
                    .filter(|&w| w < count)
                    .and_then(|w| selected[w as usize].get(lev));
                me.merge_links(t, lev, forward.map(Vec::as_slice), &inc[lo..hi])
            };
            crate::parallel::try_par_map(targets.len(), &f)?
        };
        // Phase 3: forward links.
        for (wi, lists) in selected.iter().enumerate() {
            for (lev, l) in lists.iter().enumerate() {
                self.set_links(nodes[wi], lev, l.iter().map(|s| s.v));
            }
        }
        // Phase 4: reverse links.
        for (&(t, lev, _, _), up) in targets.iter().zip(&updates) {
            if let Some(l) = up {
                self.set_links(t, lev, l.iter().copied());
            }
        }
        // Phase 5: entry point.
        for &node in &nodes {
            let l = self.levels[node as usize] as usize;
            if self.entry == NONE || l > self.max_level {
                self.entry = node;
                self.max_level = l;
            }
        }
        Ok(())
    }

    /// Forget nodes `first..` that were allocated but never linked (a wave
    /// that ran out of memory): the index is as before their allocation.
    fn drop_unlinked(&mut self, first: u32) {
        let first = first as usize;
        for i in first..self.n() {
            self.map.remove(&self.labels[i]);
        }
        self.labels.truncate(first);
        self.levels.truncate(first);
        self.deleted.truncate(first);
        self.upper.truncate(first);
        // Their words are zeroed, as a fresh record expects (a link count
        // of zero), and whole lines past the kept records go.
        let rec = self.rec_words;
        let keep = first * rec;
        let words = self.words_mut();
        let end = words.len();
        words[keep.min(end)..].fill(0);
        self.arena.truncate(lines_for(first, rec));
    }

    /// New link list of `t` on `lev` after adding `inc`, or None if
    /// unchanged.
    /// `forward`: `t`'s links on `lev` when they are not yet in the graph
    /// (a node of the wave being inserted), else they are read from it.
    fn merge_links(
        &self,
        t: u32,
        lev: usize,
        forward: Option<&[Scored<u32>]>,
        inc: &[Scored<u32>],
    ) -> Result<Option<Vec<u32>>> {
        let cap = self.cap(lev);
        let mut all: Vec<u32> = Vec::new();
        match forward {
            Some(f) => {
                let n = f.len().min(cap);
                reserve(&mut all, n + inc.len())?;
                all.extend(f[..n].iter().map(|s| s.v));
            }
            None => {
                let cur = self.links(t, lev);
                reserve(&mut all, cur.len() + inc.len())?;
                all.extend_from_slice(cur);
            }
        }
        let cur_len = all.len();
        for s in inc {
            if s.v != t && !all.contains(&s.v) {
                all.push(s.v);
            }
        }
        if all.len() == cur_len {
            return Ok(None);
        }
        if all.len() <= cap {
            return Ok(Some(all));
        }
        let qt = self.node_query(t);
        let mut ds = Vec::new();
        resize(&mut ds, all.len(), 0f32)?;
        self.gather_dists(&qt, &all, &mut ds);
        let mut sc: Vec<Scored<u32>> = Vec::new();
        reserve(&mut sc, all.len())?;
        sc.extend(all.iter().zip(&ds).map(|(&x, &d)| Scored { d, v: x }));
        sort_by_distance(&mut sc);
        let kept = self.heuristic(&sc, cap)?;
        all.clear();
        all.extend(kept.iter().map(|s| s.v));
        Ok(Some(all))
    }

    /// Allocate a node record for a prepared vector.
    fn alloc_node(&mut self, id: VectorId, v: &[f32]) -> Result<u32> {
        if self.n() >= (u32::MAX - 1) as usize {
            return Err(AnnError::InvalidParameter("index full"));
        }
        let level = self.random_level();
        let node = self.n() as u32;
        // Everything the node needs, before the index changes: out of
        // memory leaves it as it was.
        let mut links = Vec::new();
        crate::common::resize(&mut links, level * (1 + self.cfg.m), 0u32)?;
        reserve(&mut self.upper, 1)?;
        reserve(&mut self.levels, 1)?;
        reserve(&mut self.labels, 1)?;
        reserve(&mut self.deleted, 1)?;
        crate::id_map::reserve(&mut self.map, 1)?;
        let lines = lines_for(self.n() + 1, self.rec_words);
        crate::common::resize(&mut self.arena, lines, Line([0; 16]))?;
        let o = node as usize * self.rec_words + self.vec_off;
        let vw = self.vec_words;
        match &self.codec {
            None => {
                if let Some(dst) = self.words_mut().get_mut(o..o + vw) {
                    for (d, x) in dst.iter_mut().zip(v) {
                        *d = x.to_bits();
                    }
                }
            }
            Some(c) => {
                let mut code = Vec::new();
                crate::common::resize(&mut code, vw * 4, 0u8)?;
                c.encode(v, &mut code)?;
                if let Some(dst) = self.words_mut().get_mut(o..o + vw) {
                    // Native byte order, so that `code` reads the bytes back
                    // through a byte view of the same words.
                    for (d, b) in dst.iter_mut().zip(code.chunks_exact(4)) {
                        *d = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
                    }
                }
            }
        }
        self.upper.push(links);
        self.levels.push(level as u8);
        self.labels.push(id);
        self.deleted.push(false);
        self.map.insert(id, node);
        Ok(node)
    }

    fn validate_batch(&self, ids: &[VectorId], vectors: &[f32]) -> Result<()> {
        if vectors.len() != ids.len() * self.dim {
            return Err(AnnError::DimensionMismatch {
                expected: ids.len() * self.dim,
                got: vectors.len(),
            });
        }
        let mut seen = crate::id_map::id_map();
        crate::id_map::reserve(&mut seen, ids.len())?;
        for &id in ids {
            if self.map.contains_key(&id) || seen.insert(id, ()).is_some() {
                return Err(AnnError::DuplicateId(id));
            }
        }
        Ok(())
    }

    fn wave_size(&self) -> usize {
        (self.n() / 32).clamp(1, MAX_WAVE)
    }

    fn do_search<F: Fn(u32) -> bool>(
        &self,
        q: &Query<'_>,
        k: usize,
        ef: usize,
        allowed: F,
        filtered: bool,
    ) -> Result<Vec<Scored<VectorId>>> {
        let mut out = Vec::new();
        if self.entry == NONE {
            return Ok(out);
        }
        let mut ep = self.entry;
        let mut ed = self.d(q, ep);
        for lev in (1..=self.max_level).rev() {
            (ep, ed) = self.greedy(q, ep, ed, lev);
        }
        let mut s = self.scratch();
        let walked = self
            .search_layer(q, ep, ed, ef.max(k), 0, &mut s, allowed, filtered)
            .and_then(|()| {
                while s.top.len() > k {
                    s.top.pop();
                }
                reserve(&mut out, s.top.len())
            });
        if walked.is_ok() {
            out.extend(s.top.drain().map(|x| Scored {
                d: x.d,
                v: self.labels[x.v as usize],
            }));
            out.sort_unstable_by(|a, b| a.cmp(b).then(a.v.cmp(&b.v)));
        }
        // The scratch goes back to the pool on failure too: what it did
        // reserve is kept for the next search.
        self.pool.give(s);
        walked.map(|()| out)
    }

    pub(crate) fn write_payload(&self, w: &mut Writer) {
        // The records only: the last line's tail past them is not stored.
        let used = self.n() * self.rec_words;
        let words = self.words().get(..used).unwrap_or(&[]);
        self.write_payload_with(w, words, crate::persist::FORMAT_VERSION);
    }

    /// The payload of format `version` with `words` as the record arena
    /// (tests write the older layouts through it).
    fn write_payload_with(&self, w: &mut Writer, words: &[u32], version: u32) {
        w.usize(self.cfg.m);
        w.usize(self.cfg.ef_construction);
        w.usize(self.cfg.ef_search);
        w.u64(self.cfg.seed);
        w.usize(self.cfg.max_elements);
        for s in self.rng.state() {
            w.u64(s);
        }
        w.u32(self.entry);
        w.u32(self.max_level as u32);
        if version >= 4 {
            w.built(crate::varint::encode_deltas(&self.labels));
        } else {
            w.u64s(&self.labels);
        }
        w.bytes(&self.levels);
        if version >= 4 {
            w.built(crate::varint::pack_bits(&self.deleted));
        } else {
            // Older formats: a byte per flag (written by tests only).
            w.bytes(&self.deleted.iter().map(|&d| d as u8).collect::<Vec<u8>>());
        }
        w.u32s(words);
        let upper = self.upper.iter().map(Vec::len).sum();
        w.u32s_from(upper, self.upper.iter().flatten().copied());
        if version >= 4 {
            Codec::write(self.codec.as_ref(), w);
        }
    }

    pub(crate) fn read_payload(h: &Header, r: &mut Reader<'_>) -> Result<Self> {
        let bad = |s: &'static str| AnnError::Corrupt(s);
        let cfg = HnswConfig {
            m: r.usize_max(MAX_M)?,
            ef_construction: r.usize_max(1 << 24)?,
            ef_search: r.usize_max(1 << 24)?,
            seed: r.u64()?,
            max_elements: 0,
        };
        let _hint = r.u64()?;
        let mut me =
            Self::new(h.dim, h.metric, cfg).map_err(|_| bad("hnsw: invalid parameters"))?;
        let st = [r.u64()?, r.u64()?, r.u64()?, r.u64()?];
        me.rng = Rng::from_state(st);
        let entry = r.u32()?;
        let max_level = r.u32()? as usize;
        let v4 = h.version >= 4;
        let labels = if v4 {
            crate::varint::decode_deltas(&r.bytes()?).ok_or(bad("hnsw: bad label encoding"))?
        } else {
            r.u64s()?
        };
        let levels = r.bytes()?;
        let n = labels.len();
        let del: Vec<u8> = if v4 {
            crate::varint::unpack_bits(&r.bytes()?, n)
                .ok_or(bad("hnsw: bad deleted bitmap"))?
                .into_iter()
                .map(u8::from)
                .collect()
        } else {
            r.bytes()?
        };
        let words = r.u32s()?;
        let flat = r.u32s()?;
        if levels.len() != n || del.len() != n || n >= u32::MAX as usize {
            return Err(bad("hnsw: per-node arrays differ in length"));
        }
        if v4 {
            me.codec = Codec::read(r, h.dim, n > 0)?;
            me.vec_words = me.storage().code_len(h.dim).div_ceil(4);
            (me.vec_off, me.rec_words) = layout(me.cfg.m, me.vec_words);
            me.pf_words = me.vec_words.div_ceil(16).min(16) * 16;
        }
        // Versions 1 and 2 stored line-aligned records, version 3 records
        // rounded to 16 bytes: validated in that layout, then repacked.
        let (old_off, old_rec) = match h.version {
            ..=2 => legacy_layout(me.cfg.m, h.dim),
            3 => v3_layout(me.cfg.m, h.dim),
            _ => (me.vec_off, me.rec_words),
        };
        if words.len() != n.checked_mul(old_rec).ok_or(bad("hnsw: size overflow"))? {
            return Err(bad("hnsw: arena size does not match node count"));
        }
        let m = me.cfg.m;
        let mut need = 0usize;
        for &l in &levels {
            if l as usize > MAX_LEVEL {
                return Err(bad("hnsw: level out of range"));
            }
            need += l as usize * (1 + m);
        }
        if flat.len() != need {
            return Err(bad("hnsw: upper layer size mismatch"));
        }
        if n == 0 {
            if entry != NONE {
                return Err(bad("hnsw: entry point in empty graph"));
            }
        } else if entry as usize >= n || levels[entry as usize] as usize != max_level {
            return Err(bad("hnsw: bad entry point"));
        }
        // Level 0 links.
        for i in 0..n {
            let o = i * old_rec;
            let c = words[o] as usize;
            if c > me.m0 || words[o + 1..o + 1 + c].iter().any(|&x| x as usize >= n) {
                return Err(bad("hnsw: bad level-0 link list"));
            }
        }
        let mut upper = Vec::with_capacity(n);
        let mut off = 0;
        for &l in &levels {
            let len = l as usize * (1 + m);
            let u = flat[off..off + len].to_vec();
            off += len;
            for lev in 0..l as usize {
                let o = lev * (1 + m);
                let c = u[o] as usize;
                if c > m || u[o + 1..o + 1 + c].iter().any(|&x| x as usize >= n) {
                    return Err(bad("hnsw: bad upper link list"));
                }
            }
            upper.push(u);
        }
        let mut arena = Vec::new();
        let lines = lines_for(n, me.rec_words);
        crate::common::resize(&mut arena, lines, Line([0; 16]))?;
        me.arena = arena;
        let (rec, off, m0, vw) = (me.rec_words, me.vec_off, me.m0, me.vec_words);
        let dst = me.words_mut();
        for (i, src) in words.chunks_exact(old_rec.max(1)).enumerate() {
            let o = i * rec;
            dst[o..o + 1 + m0].copy_from_slice(&src[..1 + m0]);
            dst[o + off..o + off + vw].copy_from_slice(&src[old_off..old_off + vw]);
        }
        let mut map = crate::id_map::id_map();
        crate::id_map::reserve(&mut map, labels.len())?;
        let mut n_deleted = 0;
        let mut deleted = Vec::with_capacity(n);
        for (i, (&id, &d)) in labels.iter().zip(&del).enumerate() {
            match d {
                0 => {
                    if map.insert(id, i as u32).is_some() {
                        return Err(bad("hnsw: duplicate id"));
                    }
                    deleted.push(false);
                }
                1 => {
                    n_deleted += 1;
                    deleted.push(true);
                }
                _ => return Err(bad("hnsw: bad deleted flag")),
            }
        }
        me.upper = upper;
        me.levels = levels;
        me.labels = labels;
        me.deleted = deleted;
        me.n_deleted = n_deleted;
        me.map = map;
        me.entry = entry;
        me.max_level = max_level;
        Ok(me)
    }

    crate::persist::typed_load!(HnswIndex, IndexKind::Hnsw);
}

impl VectorIndex for HnswIndex {
    fn kind(&self) -> IndexKind {
        IndexKind::Hnsw
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
        let (metric, dim, n) = (self.metric, self.dim, self.n());
        match &mut self.codec {
            Some(c) if n > 0 && c.is_trained() => Err(AnnError::InvalidParameter(
                "cannot retrain a quantiser that holds vectors",
            )),
            Some(c) => c.train(&crate::common::prepare_rows(metric, dim, sample)?),
            None => Ok(()),
        }
    }
    fn is_trained(&self) -> bool {
        self.codec.as_ref().is_none_or(Codec::is_trained)
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
        let rng = self.rng.clone();
        let node = match self.alloc_node(id, &v) {
            Ok(node) => node,
            Err(e) => {
                self.rng = rng;
                return Err(e);
            }
        };
        if let Err(e) = self.insert_wave(node, 1) {
            self.drop_unlinked(node);
            self.rng = rng;
            return Err(e);
        }
        Ok(())
    }
    fn add_batch(&mut self, ids: &[VectorId], vectors: &[f32]) -> Result<()> {
        self.validate_batch(ids, vectors)?;
        if !self.is_trained() {
            return Err(AnnError::NotTrained);
        }
        // Wave by wave; out of memory drops the failing wave's nodes, so
        // the index then holds the waves before it: a prefix of the batch.
        let mut i = 0;
        while i < ids.len() {
            let w = self.wave_size().min(ids.len() - i);
            let first = self.n() as u32;
            let rng = self.rng.clone();
            let mut wave = || -> Result<()> {
                for j in i..i + w {
                    let v = prepare(self.metric, &vectors[j * self.dim..(j + 1) * self.dim])?;
                    self.alloc_node(ids[j], &v)?;
                }
                self.insert_wave(first, w as u32)
            };
            if let Err(e) = wave() {
                self.drop_unlinked(first);
                // The retry draws the same levels.
                self.rng = rng;
                return Err(e);
            }
            i += w;
        }
        Ok(())
    }
    fn remove(&mut self, id: VectorId) -> Result<bool> {
        let Some(node) = self.map.remove(&id) else {
            return Ok(false);
        };
        if let Some(d) = self.deleted.get_mut(node as usize) {
            *d = true;
            self.n_deleted += 1;
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
        let q = self.make_query(Cow::Owned(prepare(self.metric, query)?));
        let ef = params.ef.unwrap_or(self.cfg.ef_search);
        let k = params.k;
        let res = match filter {
            None if self.n_deleted == 0 => self.do_search(&q, k, ef, |_| true, false)?,
            None => self.do_search(&q, k, ef, |i| !self.deleted[i as usize], true)?,
            Some(f) => self.do_search(
                &q,
                k,
                ef,
                |i| !self.deleted[i as usize] && f(self.labels[i as usize]),
                true,
            )?,
        };
        Ok(finish(self.metric, res))
    }
    fn stats(&self) -> IndexStats {
        IndexStats {
            len: self.len(),
            deleted: self.n_deleted,
            dim: self.dim,
            memory_bytes: self.arena.capacity() * 64
                + self
                    .upper
                    .iter()
                    .map(|u| u.capacity() * 4 + 24)
                    .sum::<usize>()
                + self.labels.capacity() * 8
                + self.levels.capacity()
                + self.deleted.capacity()
                + self.map.len() * 24
                + self.codec.as_ref().map_or(0, Codec::memory_bytes),
        }
    }
    fn save(&self, sink: &mut dyn ByteSink) -> Result<()> {
        let mut w = Writer::new();
        self.write_payload(&mut w);
        let c = &self.cfg;
        w.finish(
            sink,
            IndexKind::Hnsw,
            self.metric,
            self.dim,
            self.len(),
            [c.m as u32, c.ef_construction as u32, c.ef_search as u32, 0],
        )
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    /// Records are packed: the vector follows the link list, nothing
    /// follows the vector.
    #[test]
    fn packed_layout_sizes() {
        assert_eq!(layout(16, 50), (33, 83));
        assert_eq!(layout(16, 128), (33, 161));
        assert_eq!(v3_layout(16, 50), (33, 84));
        assert_eq!(legacy_layout(16, 50), (48, 112));
        let h = |s| HnswIndex::with_storage(50, Metric::L2, HnswConfig::default(), s).unwrap();
        assert_eq!(h(Storage::F32).rec_words, 83);
        assert_eq!(h(Storage::F16).rec_words, 33 + 25);
        assert_eq!(h(Storage::Sq8).rec_words, 33 + 13);
    }

    /// Format-2 files (line-aligned records) and format-3 files (records
    /// rounded to 16 bytes) load into the packed layout with the same
    /// graph, vectors and search results, and save as the current format.
    #[test]
    fn older_records_are_repacked_on_load() {
        let (n, dim, m) = (300usize, 7usize, 5usize);
        let mut rng = Rng::new(3);
        let data: Vec<f32> = (0..n * dim).map(|_| rng.normal()).collect();
        let ids: Vec<u64> = (0..n as u64).map(|i| i * 3).collect();
        let cfg = HnswConfig {
            m,
            ..HnswConfig::default()
        };
        let mut idx = HnswIndex::new(dim, Metric::L2, cfg).unwrap();
        idx.add_batch(&ids, &data).unwrap();
        idx.remove(9).unwrap();
        for version in [2u32, 3] {
            let (old_off, old_rec) = if version == 2 {
                legacy_layout(m, dim)
            } else {
                v3_layout(m, dim)
            };
            let mut old = vec![0u32; n * old_rec];
            for i in 0..n {
                let (o, src) = (i * old_rec, &idx.words()[i * idx.rec_words..]);
                old[o..o + 1 + 2 * m].copy_from_slice(&src[..1 + 2 * m]);
                old[o + old_off..o + old_off + dim]
                    .copy_from_slice(&src[idx.vec_off..idx.vec_off + dim]);
            }
            let mut w = Writer::new();
            idx.write_payload_with(&mut w, &old, version);
            let mut bytes: Vec<u8> = Vec::new();
            w.finish(
                &mut bytes,
                IndexKind::Hnsw,
                Metric::L2,
                dim,
                idx.len(),
                [0; 4],
            )
            .unwrap();
            bytes[8..12].copy_from_slice(&version.to_le_bytes());
            let pc = crate::crc::crc32c(&bytes[64..]);
            bytes[56..60].copy_from_slice(&pc.to_le_bytes());
            let hc = crate::crc::crc32c(&bytes[..60]);
            bytes[60..64].copy_from_slice(&hc.to_le_bytes());
            let back = HnswIndex::load(&mut &bytes[..]).unwrap();
            let used = n * idx.rec_words;
            assert_eq!(back.words()[..used], idx.words()[..used]);
            let p = SearchParams::k(10);
            for q in data.chunks_exact(dim).take(20) {
                assert_eq!(
                    back.search(q, &p, None).unwrap(),
                    idx.search(q, &p, None).unwrap()
                );
            }
            let mut again: Vec<u8> = Vec::new();
            back.save(&mut again).unwrap();
            assert_eq!(
                u32::from_le_bytes([again[8], again[9], again[10], again[11]]),
                crate::persist::FORMAT_VERSION
            );
            let mut direct: Vec<u8> = Vec::new();
            idx.save(&mut direct).unwrap();
            assert_eq!(again, direct);
        }
    }
}
