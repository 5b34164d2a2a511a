//! Search: which indexes answer for a directory, the filters and
//! permission checks applied inside their walks, exact scans of what no
//! index covers, merging, and result paths.

use super::ann_error;
use super::glob;
use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::fs::Fs;
use crate::perm::{Caller, MAY_EXEC, MAY_READ};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::cell::RefCell;
use vexfs_ann::{FlatIndex, Metric, Neighbor, SearchParams, VectorIndex};
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
    /// Relative to the searched directory; `None` when not resolvable (or
    /// not asked for).
    pub path: Option<Vec<u8>>,
}

/// Results and how they were found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchOutcome {
    pub hits: Vec<Hit>,
    /// At least one persistent index answered.
    pub indexed: bool,
    /// At least part was an exact scan.
    pub exact_scan: bool,
    /// Embeddings compared by exact scans.
    pub scanned: u64,
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
    /// Directory -> "under top and searchable from there".
    reach: BTreeMap<u64, bool>,
    /// No check can fail (root, no filter, scope = index root).
    trivial: bool,
}

impl<D: BlockDevice> Fs<D> {
    /// The k nearest files under directory `dir` (see VECTORS.md).
    pub fn vector_search(&mut self, dir: u64, q: &Query, caller: &Caller) -> Result<SearchOutcome> {
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
            reach: BTreeMap::new(),
            trivial: false,
        };
        let mut out = SearchOutcome::default();
        let mut found: Vec<Neighbor> = Vec::new();

        // Which indexes answer, and which parts need an exact scan.
        let own = if q.exact {
            None
        } else {
            self.index_root_of_dir(top)?
        };
        let mut metric = q.metric;
        let mut skip: BTreeSet<u64> = BTreeSet::new();
        let mut use_roots: Vec<u64> = Vec::new();
        let mut exact_roots: Vec<u64> = Vec::new();
        if let Some(r) = own {
            self.domain_load(r)?;
            let spec = self
                .vectors
                .domains
                .get(&r)
                .map(|d| d.spec.clone())
                .ok_or(FsError::NotFound)?;
            if spec.dim != q.vector.len() || metric.is_some_and(|m| m != spec.metric) {
                return Err(FsError::Invalid);
            }
            metric = Some(spec.metric);
            use_roots.push(r);
        }
        let metric = metric.unwrap_or(Metric::L2);
        if !q.exact {
            for r in self.catalog_roots()? {
                if Some(r) == own || r == top || !self.dir_is_under(r, top)? {
                    continue;
                }
                self.domain_load(r)?;
                let ok = self
                    .vectors
                    .domains
                    .get(&r)
                    .is_some_and(|d| d.spec.dim == q.vector.len() && d.spec.metric == metric);
                if ok {
                    use_roots.push(r);
                    skip.insert(r);
                } else {
                    // Another metric (or dimension): its files are compared
                    // exactly, with this query's metric.
                    exact_roots.push(r);
                }
            }
        }
        for &r in &use_roots {
            scope.trivial = caller.is_root()
                && q.filter == Filter::default()
                && (r != own.unwrap_or(0) || top == r);
            let hits = self.search_domain(r, q, &mut scope)?;
            found.extend(hits);
            out.indexed = true;
        }
        // Whatever no index covers is compared exactly.
        let mut flat = FlatIndex::new(q.vector.len(), metric).map_err(ann_error)?;
        scope.trivial = false;
        if own.is_none() {
            self.exact_collect(top, &skip, &mut scope, q.vector.len(), &mut flat, &mut out)?;
        } else {
            for r in exact_roots {
                self.exact_collect(r, &skip, &mut scope, q.vector.len(), &mut flat, &mut out)?;
            }
        }
        if !flat.is_empty() {
            let hits = flat
                .search(&q.vector, &SearchParams::k(q.k), None)
                .map_err(ann_error)?;
            found.extend(hits);
            out.exact_scan = true;
        }
        found.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
        let mut seen = BTreeSet::new();
        found.retain(|n| seen.insert(n.id));
        found.truncate(q.k);
        for n in found {
            let path = if q.paths {
                self.path_below(n.id, dir)?
            } else {
                None
            };
            out.hits.push(super::Hit {
                ino: n.id,
                distance: n.distance,
                path,
            });
        }
        Ok(out)
    }

    /// Search one loaded index (its strategy, and its pending vectors
    /// exactly) with the scope's checks inside both walks.
    fn search_domain(
        &mut self,
        root: u64,
        q: &Query,
        scope: &mut Scope<'_>,
    ) -> Result<Vec<Neighbor>> {
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
        let result: Result<Vec<Neighbor>> = if scope.trivial {
            search_both(&dom, &q.vector, &params, None)
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
            let r = search_both(&dom, &q.vector, &params, Some(&f));
            let (_, _, err) = cell.into_inner();
            match err {
                Some(e) => Err(e),
                None => r,
            }
        };
        self.vectors.domains.insert(root, dom);
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
            if let Some(&v) = s.reach.get(&cur) {
                verdict = Some(v);
                break;
            }
            if cur == s.top {
                verdict = Some(s.top_ok);
                break;
            }
            let i = self.read_inode(cur)?;
            if !i.is_dir() || i.parent == cur || i.parent == 0 || cur == vexfs_format::ROOT_INO {
                verdict = Some(false);
                chain.push(cur);
                break;
            }
            chain.push(cur);
            if !s.caller.may(&i, MAY_EXEC) {
                verdict = Some(false);
                break;
            }
            cur = i.parent;
        }
        let v = verdict.ok_or(crate::error::corrupt("directory parent chain loops"))?;
        for d in chain {
            s.reach.insert(d, v);
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
            match self.entry_at(i.parent, i.link_key)? {
                Some((name, e)) if e == ino && glob::matches(g, &name) => {}
                _ => return Ok(false),
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
        skip: &BTreeSet<u64>,
        s: &mut Scope<'_>,
        dim: usize,
        flat: &mut FlatIndex,
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
            if v.len() == dim {
                flat.add(ino, &v).map_err(ann_error)?;
            }
            Ok(())
        })?;
        Ok(())
    }
}

/// The strategy's hits and the pending vectors' exact hits, together.
fn search_both(
    dom: &super::domain::Domain,
    q: &[f32],
    params: &SearchParams,
    filter: Option<&dyn Fn(u64) -> bool>,
) -> Result<Vec<Neighbor>> {
    let mut hits = dom.index.search(q, params, filter).map_err(ann_error)?;
    hits.extend(dom.pending.search(q, params.k, filter)?);
    Ok(hits)
}
