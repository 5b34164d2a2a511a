//! One index in memory (a *domain*: the files its root directory covers),
//! and the operations that build it from the files, load it from its index
//! file and save it back.

use super::pending::Pending;
use super::{ann_error, Deferred, IndexInfo};
use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::fs::Fs;
use crate::nr_map::{nr_map, sorted_keys, try_insert, NrMap};
use alloc::boxed::Box;
use alloc::vec::Vec;
use vexfs_ann::{IndexKind, Metric, VectorIndex};
use vexfs_format::vector::MAX_DIM;

/// Vectors a Flat or HNSW index with 8-bit storage (`storage=sq8`) waits
/// for before it learns its per-dimension ranges.
const SQ8_TRAIN_AT: usize = 1024;

/// Pending vectors a trained index collects before one batch insertion
/// (when no background worker inserts them).
const ABSORB_AT: usize = 8192;

/// Pending vectors an index with a background worker may hold, by
/// default, before a writer inserts some itself: writers then wait for the
/// strategy, as writers of dirty pages wait for writeback, and searches
/// never scan more than this exactly.
pub const DEFAULT_INSERT_BACKLOG: usize = 1 << 18;

/// A 64-bit hash of one member (inode number and vector bits): two crc32c
/// with different seeds.
pub(crate) fn member_hash(ino: u64, v: &[f32]) -> u64 {
    use vexfs_format::checksum::crc32c_update;
    let mut a = crc32c_update(0x5643_4958, &ino.to_le_bytes());
    let mut b = crc32c_update(0x1b87_3593, &ino.to_le_bytes());
    // The vector's little-endian bytes, a stack chunk at a time (one CRC
    // call per chunk, not per float).
    let mut buf = [0u8; 256];
    for chunk in v.chunks(buf.len() / 4) {
        let bytes = buf.get_mut(..chunk.len() * 4).unwrap_or_default();
        for (o, x) in bytes.chunks_exact_mut(4).zip(chunk) {
            o.copy_from_slice(&x.to_le_bytes());
        }
        a = crc32c_update(a, bytes);
        b = crc32c_update(b, bytes);
    }
    (u64::from(a) << 32) | u64::from(b)
}

/// Order-independent digest of a set of member hashes.
pub(crate) fn digest_of(hashes: impl Iterator<Item = u64>) -> u64 {
    hashes.fold(0u64, u64::wrapping_add)
}

/// Called with each file (inode number) and its embedding.
pub(crate) type EmbeddingVisitor<'a, D> = dyn FnMut(&mut Fs<D>, u64, &[f32]) -> Result<()> + 'a;

/// What an index is: strategy, metric, dimension and parameter text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub kind: IndexKind,
    pub metric: Metric,
    pub dim: usize,
    /// `key=value,...` as accepted by `vexfs_ann::build_index`.
    pub params: Vec<u8>,
}

impl IndexSpec {
    /// A copy, or ENOMEM (the parameter text is on the heap).
    pub(crate) fn try_clone(&self) -> Result<Self> {
        Ok(Self {
            params: crate::fallible::copy(&self.params)?,
            ..*self
        })
    }

    /// Check the spec by building an empty index from it.
    pub(crate) fn empty_index(&self) -> Result<Box<dyn VectorIndex>> {
        if self.dim == 0 || self.dim > MAX_DIM {
            return Err(FsError::Invalid);
        }
        if self.params.len() > vexfs_format::vector::PARAMS_MAX {
            return Err(FsError::Invalid);
        }
        let params = core::str::from_utf8(&self.params).map_err(|_| FsError::Invalid)?;
        vexfs_ann::build_index(self.kind, self.dim, self.metric, params).map_err(ann_error)
    }

    /// Vectors an untrained strategy collects before it trains.
    fn train_threshold(&self) -> usize {
        let text = core::str::from_utf8(&self.params).unwrap_or("");
        let param = |key: &str| {
            text.split(|c: char| c == ',' || c.is_whitespace())
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim())
        };
        let get = |key: &str, default: usize| -> usize {
            param(key).and_then(|v| v.parse().ok()).unwrap_or(default)
        };
        let sq8 = param("storage") == Some("sq8");
        match self.kind {
            // 8-bit codes learn each dimension's range from the data: wait
            // for a sample worth learning from.
            IndexKind::Flat | IndexKind::Hnsw if sq8 => SQ8_TRAIN_AT,
            IndexKind::IvfFlat => get("nlist", vexfs_ann::IvfConfig::default().nlist).max(256),
            IndexKind::IvfPq => {
                let d = vexfs_ann::IvfPqConfig::default();
                let codes = 1usize << get("nbits", d.nbits).min(16);
                get("nlist", d.nlist).max(codes).max(256)
            }
            _ => 0,
        }
    }
}

/// An index in memory.
pub(crate) struct Domain {
    pub(crate) root: u64,
    pub(crate) spec: IndexSpec,
    pub(crate) index: Box<dyn VectorIndex>,
    /// Embeddings the strategy does not hold yet (searched exactly).
    pub(crate) pending: Pending,
    /// With a background worker inserting `pending` into the strategy
    /// (`Fs::vectors_absorb`): the most it may hold before writers insert
    /// too. `None`: writers and searches insert.
    pub(crate) background: Option<usize>,
    /// Files under the root whose embedding has another dimension.
    pub(crate) unindexed: NrMap<()>,
    /// Every vector the index holds (pending ones included): inode ->
    /// [`member_hash`] of (inode, vector). Their sum is the index's content
    /// digest, which fsck compares with the files.
    pub(crate) members: NrMap<u64>,
    /// Whether the record on disk says clean.
    pub(crate) record_clean: bool,
    /// The strategy took in pending vectors since the last save: the saved
    /// copy is still right, but a new save spares the next mount the work.
    pub(crate) absorbed_unsaved: bool,
    pub(crate) generation: u64,
    pub(crate) disk_bytes: u64,
    /// An insertion into the strategy failed part way: it may hold part
    /// of a batch, and this copy must be dropped (rebuilt from the files).
    pub(crate) torn: bool,
}

impl Domain {
    pub(crate) fn new(root: u64, spec: IndexSpec) -> Result<Self> {
        let index = spec.empty_index()?;
        Self::with_index(root, spec, index)
    }

    /// A domain around an existing index, with nothing else known yet.
    fn with_index(root: u64, spec: IndexSpec, index: Box<dyn VectorIndex>) -> Result<Self> {
        Ok(Self {
            root,
            pending: Pending::new(spec.dim, spec.metric)?,
            background: None,
            spec,
            index,
            unindexed: nr_map(),
            members: nr_map(),
            record_clean: false,
            absorbed_unsaved: false,
            generation: 0,
            disk_bytes: 0,
            torn: false,
        })
    }

    /// Remove `ino` wherever it is; true if it was present.
    pub(crate) fn remove(&mut self, ino: u64) -> Result<bool> {
        let a = self.pending.remove(ino)?;
        let b = self.unindexed.remove(&ino).is_some();
        let c = self.index.remove(ino).map_err(ann_error)?;
        self.members.remove(&ino);
        Ok(a || b || c)
    }

    /// Room for `n` more vectors (inside the transaction that queues
    /// them), so that applying them after the commit allocates nothing up
    /// to the strategy's own insertion.
    pub(crate) fn reserve(&mut self, n: usize) -> Result<()> {
        crate::nr_map::reserve(&mut self.members, n)?;
        self.pending.reserve(n)
    }

    /// Room for `n` more files with an embedding of another dimension.
    pub(crate) fn reserve_unindexed(&mut self, n: usize) -> Result<()> {
        crate::nr_map::reserve(&mut self.unindexed, n)
    }

    /// Set the vector of `ino` (replacing any), without taking pending
    /// vectors into the strategy.
    fn put(&mut self, ino: u64, v: &[f32]) -> Result<()> {
        self.remove(ino)?;
        if v.len() != self.spec.dim {
            try_insert(&mut self.unindexed, ino, ())?;
            return Ok(());
        }
        // New vectors wait in `pending` (searched exactly, so they are
        // found at once) and join the strategy in batches: one batch
        // insertion of thousands is as fast as an in-process build, one
        // at a time is several times slower.
        crate::nr_map::reserve(&mut self.members, 1)?;
        self.pending.insert(ino, v)?;
        try_insert(&mut self.members, ino, member_hash(ino, v))?;
        Ok(())
    }

    /// Set the vector of `ino` (replacing any).
    pub(crate) fn upsert(&mut self, ino: u64, v: &[f32]) -> Result<()> {
        self.put(ino, v)?;
        self.maybe_train()
    }

    /// Set the vectors of many inodes at once (a bulk call): one batch
    /// insertion, which strategies run faster than single adds. Later
    /// entries for the same inode win.
    pub(crate) fn upsert_many<'a>(
        &mut self,
        items: impl Iterator<Item = (u64, &'a [f32])>,
    ) -> Result<()> {
        for (ino, v) in items {
            self.put(ino, v)?;
        }
        self.maybe_train()
    }

    /// The content digest: sum of the member hashes.
    pub(crate) fn digest(&self) -> u64 {
        digest_of(self.members.values().copied())
    }

    /// Whether the strategy can take pending vectors now: it is trained,
    /// or enough of them wait to train on.
    pub(crate) fn can_absorb(&self) -> bool {
        !self.pending.is_empty()
            && (self.index.is_trained() || self.pending.len() >= self.spec.train_threshold())
    }

    /// After a change: move pending vectors into the strategy if there are
    /// enough of them. Without a background worker that is `ABSORB_AT` for
    /// a trained index and the training threshold for an untrained one
    /// (which trains first); with one, only the part of a backlog beyond
    /// its limit.
    pub(crate) fn maybe_train(&mut self) -> Result<()> {
        if let Some(limit) = self.background {
            let over = self.pending.len().saturating_sub(limit);
            if over > 0 && self.can_absorb() {
                // A little more than the excess, so the next writers do not
                // each pay for one small batch.
                self.absorb(over + limit.min(1024))?;
            }
            return Ok(());
        }
        let want = if self.index.is_trained() {
            ABSORB_AT
        } else {
            self.spec.train_threshold()
        };
        if self.pending.len() < want {
            return Ok(());
        }
        self.train_now()
    }

    /// Before a search without a background worker: a trained index takes
    /// its pending vectors in, so queries run on the strategy alone. With a
    /// worker they stay pending (scanned exactly) until it gets to them.
    pub(crate) fn absorb_for_search(&mut self) -> Result<()> {
        if self.background.is_none() && self.index.is_trained() && !self.pending.is_empty() {
            self.train_now()?;
        }
        Ok(())
    }

    /// Train on the pending vectors (whatever their number) and absorb them.
    pub(crate) fn train_now(&mut self) -> Result<()> {
        self.absorb(usize::MAX).map(|_| ())
    }

    /// Move up to `n` pending vectors (lowest inode numbers first) into the
    /// strategy, training it first on all of them if it is untrained.
    /// Returns how many moved: fewer than asked when the strategy ran out
    /// of memory part way and kept a prefix of the batch. An error leaves
    /// everything as it was, unless it sets `torn` (the strategy may hold
    /// part of the batch in another shape): then the caller drops this
    /// copy of the index.
    pub(crate) fn absorb(&mut self, n: usize) -> Result<usize> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        if !self.index.is_trained() {
            let (_, rows) = self.pending.batch(usize::MAX)?;
            // Too few vectors for the configured lists is not an error:
            // they stay pending (and searchable) until there are more.
            if self.index.train(&rows).is_err() {
                return Ok(0);
            }
        }
        let (ids, rows) = self.pending.batch(n)?;
        let before = self.index.len();
        if let Err(e) = self.index.add_batch(&ids, &rows) {
            // A strategy that fails a batch keeps a prefix of it (HNSW:
            // the waves before the one that failed). Checked, not
            // trusted: anything else leaves this copy torn.
            let done = self.index.len().saturating_sub(before);
            let prefix = done <= ids.len()
                && ids[..done].iter().all(|&i| self.index.contains(i))
                && !ids[done..].iter().any(|&i| self.index.contains(i));
            if !prefix {
                self.torn = true;
                return Err(ann_error(e));
            }
            self.pending.forget(&ids[..done])?;
            if done == 0 {
                return Err(ann_error(e));
            }
            // Part of the batch moved: that is progress, and the rest
            // waits for the next call (which reports the error if it
            // persists, with nothing changed).
            self.absorbed_unsaved = true;
            return Ok(done);
        }
        self.pending.forget(&ids)?;
        self.absorbed_unsaved = true;
        Ok(ids.len())
    }

    pub(crate) fn info(&self) -> Result<IndexInfo> {
        let st = self.index.stats();
        Ok(IndexInfo {
            root: self.root,
            spec: self.spec.try_clone()?,
            clean: self.record_clean,
            stale: false,
            loaded: true,
            vectors: self.members.len() as u64,
            pending: self.pending.len() as u64,
            unindexed: self.unindexed.len() as u64,
            deleted: st.deleted as u64,
            memory_bytes: (st.memory_bytes + self.pending.memory_bytes()) as u64,
            disk_bytes: self.disk_bytes,
            generation: self.generation,
        })
    }

    /// Serialise: the ANN engine's bytes, then the trailer (FORMAT.md).
    pub(crate) fn serialize(&self) -> Result<Vec<u8>> {
        let mut out: Vec<u8> = Vec::new();
        self.index.save(&mut out).map_err(ann_error)?;
        let mut put = |b: &[u8]| -> Result<()> {
            out.try_reserve(b.len()).map_err(|_| FsError::NoMemory)?;
            out.extend_from_slice(b);
            Ok(())
        };
        // Hash maps in memory, ascending inode order on disk (a save of the
        // same index is the same bytes).
        put(&(self.unindexed.len() as u64).to_le_bytes())?;
        for ino in sorted_keys(&self.unindexed)? {
            put(&ino.to_le_bytes())?;
        }
        put(&(self.pending.len() as u64).to_le_bytes())?;
        for (ino, v) in self.pending.iter() {
            put(&ino.to_le_bytes())?;
            for x in v {
                put(&x.to_le_bytes())?;
            }
        }
        put(&(self.members.len() as u64).to_le_bytes())?;
        for ino in sorted_keys(&self.members)? {
            let h = self.members.get(&ino).copied().unwrap_or(0);
            put(&ino.to_le_bytes())?;
            put(&h.to_le_bytes())?;
        }
        Ok(out)
    }

    /// The inverse of [`Domain::serialize`]; any inconsistency is an error
    /// (the caller rebuilds).
    pub(crate) fn deserialize(root: u64, spec: IndexSpec, bytes: &[u8]) -> Result<Self> {
        let mut src: &[u8] = bytes;
        let index = vexfs_ann::load(&mut src).map_err(ann_error)?;
        if index.kind() != spec.kind || index.metric() != spec.metric || index.dim() != spec.dim {
            return Err(crate::error::corrupt(
                "saved index does not match its record",
            ));
        }
        let mut d = Domain::with_index(root, spec, index)?;
        d.record_clean = true;
        d.disk_bytes = bytes.len() as u64;
        let take_u64 = |src: &mut &[u8]| -> Result<u64> {
            let (h, t) = src
                .split_first_chunk::<8>()
                .ok_or(crate::error::corrupt("index trailer truncated"))?;
            *src = t;
            Ok(u64::from_le_bytes(*h))
        };
        let n = take_u64(&mut src)?;
        if n > (src.len() / 8) as u64 {
            return Err(crate::error::corrupt("index trailer count"));
        }
        crate::nr_map::reserve(&mut d.unindexed, n as usize)?;
        for _ in 0..n {
            d.unindexed.insert(take_u64(&mut src)?, ());
        }
        let n = take_u64(&mut src)?;
        let row = 8 + d.spec.dim * 4;
        if n > (src.len() / row) as u64 {
            return Err(crate::error::corrupt("index trailer count"));
        }
        for _ in 0..n {
            let ino = take_u64(&mut src)?;
            let (vb, t) = src
                .split_at_checked(d.spec.dim * 4)
                .ok_or(crate::error::corrupt("index trailer truncated"))?;
            src = t;
            let v = super::embedding::floats(vb)?;
            // A bad vector or a repeated inode: not what a save writes.
            d.pending.insert(ino, &v)?;
        }
        let n = take_u64(&mut src)?;
        if n > (src.len() / 16) as u64 {
            return Err(crate::error::corrupt("index trailer count"));
        }
        crate::nr_map::reserve(&mut d.members, n as usize)?;
        for _ in 0..n {
            let ino = take_u64(&mut src)?;
            let h = take_u64(&mut src)?;
            d.members.insert(ino, h);
        }
        if d.members.len() != d.index.len() + d.pending.len() {
            return Err(crate::error::corrupt(
                "index members do not match its vectors",
            ));
        }
        if !src.is_empty() {
            return Err(crate::error::corrupt("index trailer has trailing bytes"));
        }
        Ok(d)
    }
}

impl<D: BlockDevice> Fs<D> {
    /// Build a domain from the files under `root` (every embedding whose
    /// primary link lies in the subtree, deeper index roots excluded).
    pub(crate) fn build_domain(&mut self, root: u64, spec: IndexSpec) -> Result<Domain> {
        let mut d = Domain::new(root, spec)?;
        d.background = self.vectors.background;
        let mut ids = Vec::new();
        let mut rows: Vec<f32> = Vec::new();
        let dim = d.spec.dim;
        self.walk_embeddings(root, true, &mut |_fs, ino, v| {
            if v.len() == dim {
                ids.try_reserve(1).map_err(|_| FsError::NoMemory)?;
                rows.try_reserve(dim).map_err(|_| FsError::NoMemory)?;
                ids.push(ino);
                rows.extend_from_slice(v);
                try_insert(&mut d.members, ino, member_hash(ino, v))?;
            } else {
                try_insert(&mut d.unindexed, ino, ())?;
            }
            Ok(())
        })?;
        if d.index.is_trained() {
            d.index.add_batch(&ids, &rows).map_err(ann_error)?;
        } else {
            for (i, ino) in ids.iter().enumerate() {
                let v = rows.get(i * dim..(i + 1) * dim).ok_or(FsError::Invalid)?;
                d.pending.insert(*ino, v)?;
            }
            d.maybe_train()?;
        }
        Ok(d)
    }

    /// Make sure the index of `root` is in memory: load its saved copy if
    /// the record is clean and the data checks out, else rebuild it.
    pub(crate) fn domain_load(&mut self, root: u64) -> Result<()> {
        if self.vectors.domains.contains_key(&root) {
            return Ok(());
        }
        let (rec, file) = self.catalog_record(root)?.ok_or(crate::error::corrupt(
            "directory flagged as indexed has no catalogue entry",
        ))?;
        let spec = super::catalog::spec_of(&rec)?;
        let mut loaded = None;
        if rec.state == vexfs_format::vector::STATE_CLEAN {
            if let Ok(bytes) = self.catalog_read_data(file, &rec) {
                if let Ok(mut d) = Domain::deserialize(root, spec.clone(), &bytes) {
                    d.generation = rec.generation;
                    loaded = Some(d);
                }
            }
        }
        let d = match loaded {
            Some(d) => d,
            None => {
                let mut d = self.build_domain(root, spec)?;
                d.record_clean = false;
                d.generation = rec.generation;
                d.disk_bytes = rec.data_len;
                if rec.state == vexfs_format::vector::STATE_CLEAN && !self.read_only {
                    // The clean copy was unusable: say so on disk, so a
                    // crash before the next save cannot trust it again.
                    self.transact(|fs| fs.catalog_mark_dirty(root))?;
                }
                d
            }
        };
        let mut d = d;
        d.background = self.vectors.background;
        if self.tx_depth > 0 {
            crate::fallible::push(&mut self.vectors.loaded_in_tx, root)?;
        }
        crate::nr_map::try_insert(&mut self.vectors.domains, root, d)?;
        Ok(())
    }

    /// Queue "the record of `root` is dirty now" (writing it if it was
    /// clean). Must run inside the transaction that changes the index.
    pub(crate) fn domain_touch(&mut self, root: u64) -> Result<()> {
        let clean = self
            .vectors
            .domains
            .get(&root)
            .is_some_and(|d| d.record_clean);
        if clean {
            self.catalog_mark_dirty(root)?;
            self.vectors_defer(Deferred::MarkedDirty { root })?;
        }
        Ok(())
    }

    /// Apply queued index changes after a commit. A change that fails here
    /// (out of memory, say) cannot be undone on disk, so the in-memory index
    /// is dropped instead: its record is already dirty, and the next use
    /// rebuilds it from the files.
    pub(crate) fn vectors_after_commit(&mut self) {
        self.vectors.loaded_in_tx.clear();
        if !self.vectors.deferred.is_empty() {
            self.vectors.changes = self.vectors.changes.wrapping_add(1);
        }
        let ops = core::mem::take(&mut self.vectors.deferred);
        let mut i = 0;
        while let Some(op) = ops.get(i) {
            // A run of upserts into one index becomes one batch insertion
            // (the strategy takes the pending rows in once, at the end).
            if let &Deferred::Upsert { root, .. } = op {
                let mut end = i + 1;
                while matches!(ops.get(end), Some(Deferred::Upsert { root: r, .. }) if *r == root) {
                    end += 1;
                }
                let run = ops[i..end].iter().filter_map(|op| match op {
                    Deferred::Upsert { ino, vector, .. } => Some((*ino, vector.as_slice())),
                    _ => None,
                });
                let failed = match self.vectors.domains.get_mut(&root) {
                    Some(d) => d.upsert_many(run).is_err(),
                    None => false,
                };
                if failed {
                    self.vectors.domains.remove(&root);
                }
                i = end;
                continue;
            }
            i += 1;
            let root = op.root();
            let r = match op {
                Deferred::Forget { root } => {
                    self.vectors.domains.remove(root);
                    Ok(())
                }
                op => match self.vectors.domains.get_mut(&root) {
                    None => Ok(()),
                    Some(d) => match op {
                        Deferred::Upsert { ino, vector, .. } => d.upsert(*ino, vector),
                        Deferred::Remove { ino, .. } => d.remove(*ino).map(|_| ()),
                        Deferred::Unindexed { ino, .. } => d
                            .remove(*ino)
                            .and_then(|_| try_insert(&mut d.unindexed, *ino, ()).map(drop)),
                        Deferred::MarkedDirty { .. } => {
                            d.record_clean = false;
                            Ok(())
                        }
                        Deferred::Saved {
                            generation,
                            disk_bytes,
                            ..
                        } => {
                            d.record_clean = true;
                            d.absorbed_unsaved = false;
                            d.generation = *generation;
                            d.disk_bytes = *disk_bytes;
                            Ok(())
                        }
                        _ => Ok(()),
                    },
                },
            };
            if r.is_err() {
                self.vectors.domains.remove(&root);
            }
        }
    }

    /// A commit failed half way: drop every index the transaction touched
    /// (their records are dirty on disk, so they are rebuilt on next use).
    pub(crate) fn vectors_after_failed_commit(&mut self) {
        for op in core::mem::take(&mut self.vectors.deferred) {
            let root = match op {
                Deferred::Upsert { root, .. }
                | Deferred::Remove { root, .. }
                | Deferred::Unindexed { root, .. }
                | Deferred::MarkedDirty { root }
                | Deferred::Saved { root, .. }
                | Deferred::Forget { root } => root,
            };
            self.vectors.domains.remove(&root);
        }
        self.vectors_after_abort();
    }

    /// Forget queued changes and anything loaded from rolled-back state.
    pub(crate) fn vectors_after_abort(&mut self) {
        self.vectors.deferred.clear();
        for root in core::mem::take(&mut self.vectors.loaded_in_tx) {
            self.vectors.domains.remove(&root);
        }
        self.vectors.roots = None;
    }

    /// Save every loaded index whose record is dirty, or whose strategy
    /// took in pending vectors since its save (unmount, sync).
    pub(crate) fn vectors_save_all(&mut self) -> Result<()> {
        let dirty: Vec<u64> = self
            .vectors
            .domains
            .values()
            .filter(|d| !d.record_clean || d.absorbed_unsaved)
            .map(|d| d.root)
            .collect();
        for root in dirty {
            self.domain_save(root)?;
        }
        Ok(())
    }

    /// Write the index of `root` to a new index file and switch the
    /// catalogue to it, clean, in one transaction.
    pub(crate) fn domain_save(&mut self, root: u64) -> Result<()> {
        let (bytes, spec, generation) = {
            let d = self.vectors.domains.get(&root).ok_or(FsError::NotFound)?;
            (d.serialize()?, d.spec.clone(), d.generation.wrapping_add(1))
        };
        self.transact(|fs| {
            fs.catalog_store(root, &spec, generation, &bytes)?;
            fs.vectors_defer(Deferred::Saved {
                root,
                generation,
                disk_bytes: bytes.len() as u64,
            })
        })
    }

    /// Visit every file with an embedding whose primary link lies under
    /// `top` (skipping deeper index roots when `skip_nested`).
    pub(crate) fn walk_embeddings(
        &mut self,
        top: u64,
        skip_nested: bool,
        f: &mut EmbeddingVisitor<'_, D>,
    ) -> Result<()> {
        let prune = |_: u64, d: &vexfs_format::inode::Inode| {
            skip_nested && d.flags & vexfs_format::inode::FLAG_VECTOR_INDEX != 0
        };
        self.walk_tree(top, &prune, &mut |fs, dir, key, ino, inode| {
            if inode.is_reg()
                && inode.flags & vexfs_format::inode::FLAG_HAS_EMBEDDING != 0
                && inode.parent == dir
                && inode.link_key == key
            {
                let v = fs.embedding_of(ino)?;
                f(fs, ino, &v)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vexfs_format::checksum::crc32c_update;

    #[test]
    fn member_hash_is_the_crc_of_each_float_in_turn() {
        // The definition FORMAT.md gives (saved indexes carry these).
        let slow = |ino: u64, v: &[f32]| {
            let mut a = crc32c_update(0x5643_4958, &ino.to_le_bytes());
            let mut b = crc32c_update(0x1b87_3593, &ino.to_le_bytes());
            for x in v {
                a = crc32c_update(a, &x.to_le_bytes());
                b = crc32c_update(b, &x.to_le_bytes());
            }
            (u64::from(a) << 32) | u64::from(b)
        };
        for dim in [1usize, 63, 64, 65, 300] {
            let v: Vec<f32> = (0..dim).map(|i| i as f32 * 0.37 - 9.0).collect();
            assert_eq!(member_hash(42, &v), slow(42, &v), "dim {dim}");
        }
    }
}
