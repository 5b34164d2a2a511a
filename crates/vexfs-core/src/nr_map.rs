//! The filesystem's maps keyed by a block or inode number: the block
//! cache, the running transaction's dirty set, an operation's undo images,
//! the loaded indexes and the pack hints.
//!
//! They are the ANN crate's [`vexfs_ann::id_map`] (a hash map whose
//! inserts report out of memory instead of aborting), with ENOMEM as the
//! filesystem's error. Replacing the value of a present key never
//! allocates; the rollback of a failed operation relies on this (see
//! `crate::tx`).

use crate::error::{FsError, Result};

/// A hash map from block or inode numbers.
pub(crate) type NrMap<V> = vexfs_ann::id_map::IdMap<V>;

/// An empty map (allocates nothing).
pub(crate) fn nr_map<V>() -> NrMap<V> {
    vexfs_ann::id_map::id_map()
}

/// Insert `v` under `k`, returning the value it replaced; ENOMEM, and the
/// map unchanged, when the map must grow and cannot.
pub(crate) fn try_insert<V>(m: &mut NrMap<V>, k: u64, v: V) -> Result<Option<V>> {
    vexfs_ann::id_map::try_insert(m, k, v).map_err(|_| FsError::NoMemory)
}

/// Room for `n` more keys: the next `n` inserts of new keys allocate
/// nothing.
pub(crate) fn reserve<V>(m: &mut NrMap<V>, n: usize) -> Result<()> {
    vexfs_ann::id_map::reserve(m, n).map_err(|_| FsError::NoMemory)
}

/// The keys of `m`, ascending (for output that must not depend on the
/// table's layout, such as a save).
pub(crate) fn sorted_keys<V>(m: &NrMap<V>) -> Result<alloc::vec::Vec<u64>> {
    let mut keys = alloc::vec::Vec::new();
    crate::fallible::reserve(&mut keys, m.len())?;
    keys.extend(m.keys().copied());
    keys.sort_unstable();
    Ok(keys)
}
