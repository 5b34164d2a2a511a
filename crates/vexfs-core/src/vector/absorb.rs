//! Background insertion: embeddings are stored (and searchable, through
//! the exact scan of the pending rows) at the speed of the filesystem, and
//! join the index's strategy later, in batches, when a front end's worker
//! calls [`Fs::vectors_absorb`] in a quiet moment. HNSW insertion costs a
//! graph search per vector; done on the write path it bounds `setxattr`
//! and bulk loads by the build rate.
//!
//! The pending rows are in memory only; they are not a durability concern:
//! the embeddings are in the files (journaled like any xattr), the index
//! record is dirty from the first change, and a save writes pending rows in
//! the index file's trailer, so nothing here needs a transaction.

pub use super::domain::DEFAULT_INSERT_BACKLOG;
use crate::device::BlockDevice;
use crate::error::Result;
use crate::fs::Fs;

/// What one [`Fs::vectors_absorb`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Absorbed {
    /// Vectors the strategy took in.
    pub rows: u64,
    /// Vectors still waiting that a strategy could take in now.
    pub left: u64,
}

impl<D: BlockDevice> Fs<D> {
    /// `Some(backlog)`: leave insertions into index strategies to a
    /// background worker that calls [`Fs::vectors_absorb`], writers
    /// inserting only what an index holds beyond `backlog` pending vectors
    /// ([`DEFAULT_INSERT_BACKLOG`] is a good value). `None`, the default for
    /// a front end without such a worker: insert on the write path in
    /// batches and before each search.
    pub fn set_background_inserts(&mut self, backlog: Option<usize>) {
        self.vectors.background = backlog;
        for d in self.vectors.domains.values_mut() {
            d.background = backlog;
        }
    }

    /// Pending vectors a strategy could take in now, over every loaded index.
    pub fn vectors_backlog(&self) -> u64 {
        self.vectors
            .domains
            .values()
            .filter(|d| d.can_absorb())
            .map(|d| d.pending.len() as u64)
            .sum()
    }

    /// A counter that moves whenever an index changes: a worker that sees
    /// it still moving waits, so batches form and writers keep the lock.
    pub fn vectors_changes(&self) -> u64 {
        self.vectors.changes
    }

    /// Insert up to `max_rows` pending vectors of one index into its
    /// strategy (training it first when enough wait). An index whose
    /// insertion fails part way is dropped from memory: its record is
    /// dirty, so the next use rebuilds it from the files. Out of memory
    /// before the insertion changes nothing.
    pub fn vectors_absorb(&mut self, max_rows: usize) -> Result<Absorbed> {
        let root = self
            .vectors
            .domains
            .values()
            .find(|d| d.can_absorb())
            .map(|d| d.root);
        let mut done = 0;
        if let Some(root) = root {
            if let Some(d) = self.vectors.domains.get_mut(&root) {
                match d.absorb(max_rows.max(1)) {
                    Ok(n) => done = n as u64,
                    Err(e) => {
                        if d.torn {
                            self.vectors.domains.remove(&root);
                        }
                        return Err(e);
                    }
                }
            }
        }
        Ok(Absorbed {
            rows: done,
            left: self.vectors_backlog(),
        })
    }
}
