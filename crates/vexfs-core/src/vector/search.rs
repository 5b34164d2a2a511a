//! Search: which indexes answer for a directory, the filters and
//! permission checks applied inside their walks, exact scans of what no
//! index covers, merging, and result paths.

use super::ann_error;
use super::glob;
use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::fallible;
use crate::fs::Fs;
use crate::perm::{Caller, MAY_EXEC, MAY_READ};
use alloc::vec::Vec;
use core::cell::RefCell;
use vexfs_ann::{Metric, Neighbor, SearchParams};
use vexfs_format::inode::FLAG_HAS_EMBEDDING;
use vexfs_format::vector::MAX_DIM;

/// Largest `k`.
pub const K_MAX: usize = 4096;

/// Optional restrictions, combined with AND, applied inside the walk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only files under this directory (which must lie under the searched
    /// one).
    pub subtree: Option<u64>,
    /// Only files whose (primary link) name matches this glob.
    pub name_glob: Option<Vec<u8>>,
    /// Only files with this attribute set to exactly this value.
    pub xattr: Option<(Vec<u8>, Vec<u8>)>,
}

/// A k-nearest-neighbour query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub vector: Vec<f32>,
    pub k: usize,
    pub ef: Option<usize>,
    pub nprobe: Option<usize>,
    pub rerank: Option<usize>,
    /// Must match every index used; exact scans use it (L2 if `None` and
    /// no index covers the directory).
    pub metric: Option<Metric>,
    /// Scan every embedding exactly, ignoring indexes.
    pub exact: bool,
    /// Resolve paths relative to the searched directory.
    pub paths: bool,
    pub filter: Filter,
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub ino: u64,
    pub distance: f32,
    /// Where its path (relative to the searched directory) lies in
    /// [`SearchOutcome::names`]; `None` when not resolvable (or not asked
    /// for). [`SearchOutcome::path`] reads it.
    pub path: Option<core::ops::Range<usize>>,
}

/// Results and how they were found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchOutcome {
    pub hits: Vec<Hit>,
    /// The hits' paths, one after another (no separators).
    pub names: Vec<u8>,
    /// At least one persistent index answered.
    pub indexed: bool,
    /// At least part was an exact scan.
    pub exact_scan: bool,
    /// Embeddings compared by exact scans.
    pub scanned: u64,
}

impl SearchOutcome {
    /// The path of `h`, relative to the searched directory.
    pub fn path(&self, h: &Hit) -> Option<&[u8]> {
        self.names.get(h.path.clone()?)
    }

    /// Empty, keeping the buffers for the next search.
    fn clear(&mut self) {
        self.hits.clear();
        self.names.clear();
        (self.indexed, self.exact_scan, self.scanned) = (false, false, 0);
    }
}

/// Who asks, where, with which filters; memoises directory checks.
struct Scope<'a> {
    caller: &'a Caller,
    filter: &'a Filter,
    /// Candidates must lie under this directory.
    top: u64,
    /// Whether the caller may search every directory from the searched one
    /// down to `top`.
    top_ok: bool,
    /// Directory -> "under top and searchable from there", sorted by
    /// directory (a search meets few directories).
    reach: Vec<(u64, bool)>,
    /// No check can fail (root, no filter, scope = index root).
    trivial: bool,
}

impl<D: BlockDevice> Fs<D> {
    /// The k nearest files under directory `dir` (see VECTORS.md).
    pub fn vector_search(&mut self, dir: u64, q: &Query, caller: &Caller) -> Result<SearchOutcome> {
        let mut out = SearchOutcome::default();
        self.vector_search_into(dir, q, caller, &mut out)?;
        Ok(out)
    }

    /// [`Fs::vector_search`] into `out`, reusing its buffers (a query
    /// session keeps one outcome for all its searches). On error `out`
    /// holds no results.
    pub fn vector_search_into(
        &mut self,
        dir: u64,
        q: &Query,
        caller: &Caller,
        out: &mut SearchOutcome,
    ) -> Result<()> {
        out.clear();
        let r = self.search_into(dir, q, caller, out);
        if r.is_err() {
            out.clear();
        }
        r
    }

    fn search_into(
        &mut self,
        dir: u64,
        q: &Query,
        caller: &Caller,
        out: &mut SearchOutcome,
    ) -> Result<()> {
        self.trim_before_read();
        let d = self.read_inode(dir)?;
        if !d.is_dir() {
            return Err(FsError::NotDir);
        }
        if q.k == 0 || q.k > K_MAX || q.vector.is_empty() || q.vector.len() > MAX_DIM {
            return Err(FsError::Invalid);
        }
        if q.vector.iter().any(|x| !x.is_finite()) {
            return Err(FsError::Invalid);
        }
        if !caller.may(&d, MAY_EXEC) {
            return Err(FsError::AccessDenied);
        }
        let top = match q.filter.subtree {
            Some(t) => {
                let ti = self.read_inode(t)?;
                if !ti.is_dir() || !self.dir_is_under(t, dir)? {
                    return Err(FsError::Invalid);
                }
                t
            }
            None => dir,
        };
        let top_ok = self.searchable_between(top, dir, caller)?;
        let mut scope = Scope {
            caller,
            filter: &q.filter,
            top,
            top_ok,
            reach: Vec::new(),
            trivial: false,
        };

        // Which indexes answer, and which parts need an exact scan.
        let own = if q.exact {
            None
        } else {
            self.index_root_of_dir(top)?
        };
        let mut metric = q.metric;
        // Index roots: those that answer (`own` first), and those of
        // another metric or dimension, whose files are compared exactly.
        let mut use_roots: Vec<u64> = Vec::new();
        let mut exact_roots: Vec<u64> = Vec::new();
        if let Some(r) = own {
            let (dim, m) = self.domain_shape(r)?;
            if dim != q.vector.len() || metric.is_some_and(|x| x != m) {
                return Err(FsError::Invalid);
            }
            metric = Some(m);
            fallible::push(&mut use_roots, r)?;
        }
        let metric = metric.unwrap_or(Metric::L2);
        let mut next = if q.exact {
            None
        } else {
            self.catalog_root_after(None)?
        };
        while let Some(r) = next {
            next = self.catalog_root_after(Some(r))?;
            if Some(r) == own || r == top || !self.dir_is_under(r, top)? {
                continue;
            }
            if self.domain_shape(r)? == (q.vector.len(), metric) {
                fallible::push(&mut use_roots, r)?;
            } else {
                fallible::push(&mut exact_roots, r)?;
            }
        }
        for &r in &use_roots {
            scope.trivial = caller.is_root()
                && q.filter == Filter::default()
                && (r != own.unwrap_or(0) || top == r);
            self.search_domain(r, q, &mut scope, &mut out.hits)?;
            out.indexed = true;
        }
        // Whatever no index covers is compared exactly. Roots that answer
        // for themselves are not entered.
        let skip = use_roots.get(usize::from(own.is_some())..).unwrap_or(&[]);
        let mut exact = ExactRows {
            dim: q.vector.len(),
            metric,
            rows: Vec::new(),
            ids: Vec::new(),
        };
        scope.trivial = false;
        if own.is_none() {
            self.exact_collect(top, skip, &mut scope, &mut exact, out)?;
        } else {
            for &r in &exact_roots {
                self.exact_collect(r, skip, &mut scope, &mut exact, out)?;
            }
        }
        if !exact.ids.is_empty() {
            let hits =
                vexfs_ann::search_rows(metric, exact.dim, &exact.rows, &exact.ids, &q.vector, q.k)
                    .map_err(ann_error)?;
            add_hits(&mut out.hits, &hits)?;
            out.exact_scan = true;
        }
        // A file two answers found is kept once, at its nearest; then
        // nearest first, ties by inode. Unstable sorts: they sort in place.
        out.hits
            .sort_unstable_by(|a, b| a.ino.cmp(&b.ino).then(a.distance.total_cmp(&b.distance)));
        out.hits.dedup_by_key(|h| h.ino);
        out.hits
            .sort_unstable_by(|a, b| a.distance.total_cmp(&b.distance).then(a.ino.cmp(&b.ino)));
        out.hits.truncate(q.k);
        if q.paths {
            for i in 0..out.hits.len() {
                let ino = out.hits[i].ino;
                out.hits[i].path = self.path_below(ino, dir, &mut out.names)?;
            }
        }
        Ok(())
    }

    /// Dimension and metric of the index at `root`, loaded if need be.
    fn domain_shape(&mut self, root: u64) -> Result<(usize, Metric)> {
        self.domain_load(root)?;
        self.vectors
            .domains
            .get(&root)
            .map(|d| (d.spec.dim, d.spec.metric))
            .ok_or(FsError::NotFound)
    }

    /// Search one loaded index (its strategy, and its pending vectors
    /// exactly) with the scope's checks inside both walks.
    fn search_domain(
        &mut self,
        root: u64,
        q: &Query,
        scope: &mut Scope<'_>,
        hits: &mut Vec<Hit>,
    ) -> Result<()> {
        let params = SearchParams {
            k: q.k,
            ef: q.ef,
            nprobe: q.nprobe,
            rerank: q.rerank,
        };
        let Some(mut dom) = self.vectors.domains.remove(&root) else {
            return Err(FsError::NotFound);
        };
        // A batch insertion that fails half way leaves the copy in memory
        // untrustworthy: it stays out of the map and is rebuilt on next use.
        dom.absorb_for_search()?;
        let result = if scope.trivial {
            search_both(&dom, &q.vector, &params, None, hits)
        } else {
            // The index is out of the map, so the filter may borrow the
            // filesystem mutably to read inodes and directories.
            let cell = RefCell::new((&mut *self, &mut *scope, None::<FsError>));
            let f = |id: u64| -> bool {
                let mut g = cell.borrow_mut();
                let (fs, sc, err) = &mut *g;
                match fs.accept(sc, id) {
                    Ok(b) => b,
                    Err(e) => {
                        err.get_or_insert(e);
                        false
                    }
                }
            };
            let r = search_both(&dom, &q.vector, &params, Some(&f), hits);
            let (_, _, err) = cell.into_inner();
            match err {
                Some(e) => Err(e),
                None => r,
            }
        };
        crate::nr_map::try_insert(&mut self.vectors.domains, root, dom)?;
        result
    }

    /// Whether the caller may search every directory from `top` up to
    /// (not including) `dir`, which the caller was already checked for.
    fn searchable_between(&mut self, top: u64, dir: u64, caller: &Caller) -> Result<bool> {
        if caller.is_root() {
            return Ok(true);
        }
        let mut cur = top;
        for _ in 0..=self.sb.inode_count {
            if cur == dir {
                return Ok(true);
            }
            let i = self.read_inode(cur)?;
            if !caller.may(&i, MAY_EXEC) {
                return Ok(false);
            }
            if i.parent == cur || i.parent == 0 {
                return Ok(false);
            }
            cur = i.parent;
        }
        Err(crate::error::corrupt("directory parent chain loops"))
    }

    /// Whether directory `dir` lies under the scope's top and the caller
    /// may search every directory from there down to it.
    fn reach(&mut self, s: &mut Scope<'_>, dir: u64) -> Result<bool> {
        let mut chain = Vec::new();
        let mut cur = dir;
        let mut verdict = None;
        for _ in 0..=self.sb.inode_count {
            if let Ok(at) = s.reach.binary_search_by_key(&cur, |&(d, _)| d) {
                verdict = Some(s.reach[at].1);
                break;
            }
            if cur == s.top {
                verdict = Some(s.top_ok);
                break;
            }
            let i = self.read_inode(cur)?;
            fallible::push(&mut chain, cur)?;
            if !i.is_dir() || i.parent == cur || i.parent == 0 || cur == vexfs_format::ROOT_INO {
                verdict = Some(false);
                break;
            }
            if !s.caller.may(&i, MAY_EXEC) {
                verdict = Some(false);
                break;
            }
            cur = i.parent;
        }
        let v = verdict.ok_or(crate::error::corrupt("directory parent chain loops"))?;
        fallible::reserve(&mut s.reach, chain.len())?;
        for d in chain {
            if let Err(at) = s.reach.binary_search_by_key(&d, |&(x, _)| x) {
                s.reach.insert(at, (d, v));
            }
        }
        Ok(v)
    }

    /// Whether file `ino` may appear in the results: in scope, readable,
    /// reachable, and passing the filters.
    fn accept(&mut self, s: &mut Scope<'_>, ino: u64) -> Result<bool> {
        let i = match self.read_inode(ino) {
            Ok(i) => i,
            Err(FsError::NotFound) => return Ok(false),
            Err(e) => return Err(e),
        };
        if !i.is_reg() || i.flags & FLAG_HAS_EMBEDDING == 0 || i.parent == 0 {
            return Ok(false);
        }
        if !s.caller.may(&i, MAY_READ) || !self.reach(s, i.parent)? {
            return Ok(false);
        }
        if let Some(g) = &s.filter.name_glob {
            let named = self.with_entry(i.parent, i.link_key, |name, e| {
                Ok(e == ino && glob::matches(g, name))
            })?;
            if named != Some(true) {
                return Ok(false);
            }
        }
        if let Some((name, want)) = &s.filter.xattr {
            match self.getxattr(ino, name) {
                Ok(v) if v == *want => {}
                Ok(_) | Err(FsError::NoData) | Err(FsError::NotSupported) | Err(FsError::Range) => {
                    return Ok(false)
                }
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Exact scan: add every accepted embedding of dimension `dim` under
    /// `top` (except below the roots in `skip`) to `flat`.
    fn exact_collect(
        &mut self,
        top: u64,
        skip: &[u64],
        s: &mut Scope<'_>,
        exact: &mut ExactRows,
        out: &mut SearchOutcome,
    ) -> Result<()> {
        // Directories the caller may not search are not entered (their
        // files would fail `accept` anyway); other index roots answer for
        // themselves.
        let caller = s.caller;
        let prune = |ino: u64, d: &vexfs_format::inode::Inode| {
            skip.contains(&ino) || !caller.may(d, MAY_EXEC)
        };
        self.walk_tree(top, &prune, &mut |fs, dir, key, ino, child| {
            if !child.is_reg()
                || child.flags & FLAG_HAS_EMBEDDING == 0
                || child.parent != dir
                || child.link_key != key
                || !fs.accept(s, ino)?
            {
                return Ok(());
            }
            let v = fs.embedding_of(ino)?;
            out.scanned += 1;
            exact.add(ino, &v)
        })?;
        Ok(())
    }
}

/// The embeddings an exact scan compares, as a Flat index would store
/// them (normalised for cosine), in buffers that grow fallibly.
struct ExactRows {
    dim: usize,
    metric: Metric,
    rows: Vec<f32>,
    ids: Vec<u64>,
}

impl ExactRows {
    /// Take `v` for file `ino`; a vector of another length is not
    /// comparable and is left out (the outcome counts it as scanned).
    fn add(&mut self, ino: u64, v: &[f32]) -> Result<()> {
        if v.len() != self.dim {
            return Ok(());
        }
        let at = self.rows.len();
        fallible::extend(&mut self.rows, v)?;
        if self.metric == Metric::Cosine {
            vexfs_ann::distance::normalize(&mut self.rows[at..]);
        }
        fallible::push(&mut self.ids, ino).inspect_err(|_| self.rows.truncate(at))
    }
}

/// Add the strategy's hits and the pending vectors' exact hits to `hits`.
fn search_both(
    dom: &super::domain::Domain,
    q: &[f32],
    params: &SearchParams,
    filter: Option<&dyn Fn(u64) -> bool>,
    hits: &mut Vec<Hit>,
) -> Result<()> {
    add_hits(
        hits,
        &dom.index.search(q, params, filter).map_err(ann_error)?,
    )?;
    add_hits(hits, &dom.pending.search(q, params.k, filter)?)
}

/// Append an answer's neighbours as hits (paths come later).
fn add_hits(hits: &mut Vec<Hit>, found: &[Neighbor]) -> Result<()> {
    fallible::reserve(hits, found.len())?;
    hits.extend(found.iter().map(|n| Hit {
        ino: n.id,
        distance: n.distance,
        path: None,
    }));
    Ok(())
}
