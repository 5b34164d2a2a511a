//! Vectors in the filesystem: embeddings on files, one index per indexed
//! directory (covering its subtree), and search. `docs/VECTORS.md` is the
//! design; this module follows it.
//!
//! - `links`: primary links (inode -> directory entry) and which index a
//!   file belongs to;
//! - `domain`: one index in memory, its load/rebuild/save, and the changes
//!   that keep it in step with the files;
//! - `catalog`: the on-disk catalogue of indexes (inode 3);
//! - `embedding`: the `user.vexfs.embedding` attribute hooks;
//! - `search`: queries, filters, permission checks and result paths;
//! - `ioctl`: the `include/uapi/vexfs.h` requests, decoded from bytes.
//!
//! Index changes made inside a transaction are queued ([`Deferred`]) and
//! applied to the in-memory indexes only after the transaction committed,
//! so a failed operation leaves them as it leaves the disk.

mod absorb;
pub(crate) mod catalog;
pub(crate) mod domain;
mod embedding;
mod glob;
pub mod ioctl;
mod links;
mod manage;
mod pending;
mod search;

pub use absorb::{Absorbed, DEFAULT_INSERT_BACKLOG};
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use domain::Domain;
pub use domain::IndexSpec;
pub(crate) use embedding::is_embedding;
pub use search::{Filter, Hit, Query, SearchOutcome};
pub use vexfs_ann::{IndexKind, Metric};

/// Vector state of a mounted filesystem.
pub(crate) struct VectorState {
    /// Indexes loaded into memory, by root directory.
    pub(crate) domains: crate::nr_map::NrMap<Domain>,
    /// Every index root (the catalogue's entries), once read.
    pub(crate) roots: Option<BTreeSet<u64>>,
    /// Changes to apply to `domains` when the transaction commits.
    deferred: Vec<Deferred>,
    /// Domains loaded during the current transaction: dropped on abort,
    /// since they may have been built from changes that were rolled back.
    loaded_in_tx: Vec<u64>,
    /// A background worker inserts pending vectors (`Fs::vectors_absorb`),
    /// writers only beyond this backlog.
    background: Option<usize>,
    /// Index changes applied so far (the worker waits for a quiet moment).
    changes: u64,
}

impl Default for VectorState {
    fn default() -> Self {
        Self {
            domains: crate::nr_map::nr_map(),
            roots: None,
            deferred: Vec::new(),
            loaded_in_tx: Vec::new(),
            background: None,
            changes: 0,
        }
    }
}

/// An in-memory index change waiting for its transaction to commit.
pub(crate) enum Deferred {
    /// Set (or replace) the vector of `ino`.
    Upsert {
        root: u64,
        ino: u64,
        vector: Vec<f32>,
    },
    /// `ino` no longer belongs to the index (or has no embedding).
    Remove { root: u64, ino: u64 },
    /// `ino` has an embedding of the wrong dimension under `root`.
    Unindexed { root: u64, ino: u64 },
    /// The record on disk is now dirty.
    MarkedDirty { root: u64 },
    /// The index was saved (record clean, this generation and size).
    Saved {
        root: u64,
        generation: u64,
        disk_bytes: u64,
    },
    /// Drop the in-memory copy (index dropped, or must be reloaded).
    Forget { root: u64 },
}

impl<D: crate::device::BlockDevice> crate::fs::Fs<D> {
    /// Queue an index change for the end of the transaction.
    pub(crate) fn vectors_defer(&mut self, op: Deferred) -> crate::Result<()> {
        crate::fallible::push(&mut self.vectors.deferred, op)
    }

    /// Queue "`ino` has `vector` in the (loaded) index of `root`", with
    /// room reserved for it and for every insert already queued there, so
    /// applying them after the commit cannot run out of memory (short of
    /// the strategy's own insertion, see `Domain::maybe_train`).
    pub(crate) fn vectors_defer_upsert(
        &mut self,
        root: u64,
        ino: u64,
        vector: Vec<f32>,
    ) -> crate::Result<()> {
        let queued = self.vectors_queued(root, |op| matches!(op, Deferred::Upsert { .. }));
        if let Some(d) = self.vectors.domains.get_mut(&root) {
            d.reserve(queued + 1)?;
        }
        self.vectors_defer(Deferred::Upsert { root, ino, vector })
    }

    /// Queue "`ino` has an embedding of another dimension under `root`",
    /// with room reserved as [`Fs::vectors_defer_upsert`] does.
    pub(crate) fn vectors_defer_unindexed(&mut self, root: u64, ino: u64) -> crate::Result<()> {
        let queued = self.vectors_queued(root, |op| matches!(op, Deferred::Unindexed { .. }));
        if let Some(d) = self.vectors.domains.get_mut(&root) {
            d.reserve_unindexed(queued + 1)?;
        }
        self.vectors_defer(Deferred::Unindexed { root, ino })
    }

    /// How many queued changes to `root` are of the kind `is`.
    fn vectors_queued(&self, root: u64, is: impl Fn(&Deferred) -> bool) -> usize {
        self.vectors
            .deferred
            .iter()
            .filter(|op| is(op) && op.root() == root)
            .count()
    }
}

impl Deferred {
    /// The index the change is for.
    pub(crate) fn root(&self) -> u64 {
        match self {
            Deferred::Upsert { root, .. }
            | Deferred::Remove { root, .. }
            | Deferred::Unindexed { root, .. }
            | Deferred::MarkedDirty { root }
            | Deferred::Saved { root, .. }
            | Deferred::Forget { root } => *root,
        }
    }
}

/// The index that covers a directory, as reported by `vexctl index stats`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexInfo {
    /// Directory that owns the index.
    pub root: u64,
    pub spec: IndexSpec,
    /// True when the persisted copy matches the files.
    pub clean: bool,
    /// True when the persisted copy is unusable and will be rebuilt.
    pub stale: bool,
    pub loaded: bool,
    /// Embeddings in the index (pending ones included).
    pub vectors: u64,
    /// Embeddings searched exactly until the strategy takes them in (an
    /// untrained index waiting for enough to train on, or insertions left
    /// to the background worker).
    pub pending: u64,
    /// Files under the root whose embedding has another dimension.
    pub unindexed: u64,
    /// Removed entries the strategy still holds (HNSW tombstones).
    pub deleted: u64,
    pub memory_bytes: u64,
    pub disk_bytes: u64,
    pub generation: u64,
}

/// Per-open-descriptor query state (a staged long vector, the last
/// results for paging). The front end keeps one per open directory.
#[derive(Debug, Default, Clone)]
pub struct QuerySession {
    staged: Vec<f32>,
    staged_dim: usize,
    /// The last search's outcome (for paging), its buffers reused.
    last: SearchOutcome,
}

/// Convert an ANN engine error into the filesystem's.
pub(crate) fn ann_error(e: vexfs_ann::AnnError) -> crate::FsError {
    use vexfs_ann::AnnError as A;
    match e {
        A::DimensionMismatch { .. } | A::InvalidParameter(_) | A::DuplicateId(_) => {
            crate::FsError::Invalid
        }
        A::NotTrained => crate::FsError::Invalid,
        A::Corrupt(what) => crate::error::corrupt(what),
        A::UnsupportedVersion(_) => crate::FsError::Incompatible("index format too new"),
        A::Io => crate::FsError::Io(crate::DeviceError::Io(5)),
        A::OutOfMemory => crate::FsError::NoMemory,
    }
}
