//! Maps keyed by a block or inode number whose inserts report ENOMEM.
//!
//! `alloc`'s `BTreeMap` allocates a node on insert and aborts when that
//! fails, with no fallible variant; in the kernel module that abort is a
//! `BUG()`. The block cache, the running transaction's dirty set and the
//! undo images of an operation are hash maps instead (hashbrown, which has
//! `try_reserve`), and every insert goes through [`try_insert`].
//!
//! Replacing the value of a key that is present never allocates. The
//! rollback of a failed operation relies on this: it only puts back
//! values under keys the operation left in place (see `crate::tx`).

use crate::error::{FsError, Result};
use core::hash::{BuildHasher, Hasher};

/// A hash map from block or inode numbers.
pub(crate) type NrMap<V> = hashbrown::HashMap<u64, V, BuildNrHasher>;

/// An empty map (allocates nothing).
pub(crate) fn nr_map<V>() -> NrMap<V> {
    NrMap::with_hasher(BuildNrHasher)
}

/// Insert `v` under `k`, returning the value it replaced; ENOMEM, and the
/// map unchanged, when the map must grow and cannot.
pub(crate) fn try_insert<V>(m: &mut NrMap<V>, k: u64, v: V) -> Result<Option<V>> {
    if let Some(slot) = m.get_mut(&k) {
        return Ok(Some(core::mem::replace(slot, v)));
    }
    m.try_reserve(1).map_err(|_| FsError::NoMemory)?;
    Ok(m.insert(k, v))
}

/// The hasher of [`NrMap`]. Keys are not chosen by an attacker who sees
/// the table (they are positions on the device), so no random seed: one
/// folded multiply spreads runs of consecutive numbers over both the low
/// bits (the bucket) and the high bits (hashbrown's tag byte).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BuildNrHasher;

impl BuildHasher for BuildNrHasher {
    type Hasher = NrHasher;
    fn build_hasher(&self) -> NrHasher {
        NrHasher(0)
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct NrHasher(u64);

/// The two halves of the 128-bit product, xored.
fn fold(x: u64) -> u64 {
    let p = u128::from(x) * 0x9e37_79b9_7f4a_7c15;
    (p as u64) ^ ((p >> 64) as u64)
}

impl Hasher for NrHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Not used by u64 keys; correct for any other.
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = fold(self.0 ^ x);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_numbers_spread_over_buckets_and_tags() {
        let h = |x: u64| {
            let mut s = BuildNrHasher.build_hasher();
            s.write_u64(x);
            s.finish()
        };
        let mut low = [0u32; 64];
        let mut top = [0u32; 128];
        for x in 1000..1000 + 64 * 128 {
            low[(h(x) & 63) as usize] += 1;
            top[(h(x) >> 57) as usize] += 1;
        }
        // 8192 keys: 128 per bucket and 64 per tag on average.
        assert!(low.iter().all(|&n| (64..=256).contains(&n)), "{low:?}");
        assert!(top.iter().all(|&n| (24..=128).contains(&n)), "{top:?}");
    }

    #[test]
    fn replacing_a_present_key_keeps_the_table() {
        let mut m = nr_map();
        for k in 0..100 {
            try_insert(&mut m, k, k).unwrap();
        }
        let cap = m.capacity();
        assert_eq!(try_insert(&mut m, 7, 70).unwrap(), Some(7));
        assert_eq!(m.capacity(), cap);
        assert_eq!(m[&7], 70);
    }
}
