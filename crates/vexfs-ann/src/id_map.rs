//! Maps keyed by a 64-bit number (a vector id, a block or inode number)
//! whose inserts report out of memory.
//!
//! `alloc`'s `BTreeMap` allocates a node on insert and aborts when that
//! fails, with no fallible variant; in the kernel module that abort is a
//! `BUG()`. The strategies' id maps, and the filesystem's block cache and
//! its companions (`vexfs-core`), are hash maps instead (hashbrown, which
//! has `try_reserve`), and every insert goes through [`try_insert`].
//!
//! Replacing the value of a key that is present never allocates: code
//! that must not fail (a rollback, a removal that moves a row) only does
//! that.

use crate::error::{AnnError, Result};
use core::hash::{BuildHasher, Hasher};

/// A hash map from 64-bit numbers.
pub type IdMap<V> = hashbrown::HashMap<u64, V, BuildIdHasher>;

/// An empty map (allocates nothing).
pub fn id_map<V>() -> IdMap<V> {
    IdMap::with_hasher(BuildIdHasher)
}

/// Insert `v` under `k`, returning the value it replaced; out of memory,
/// and the map unchanged, when the map must grow and cannot.
pub fn try_insert<V>(m: &mut IdMap<V>, k: u64, v: V) -> Result<Option<V>> {
    if let Some(slot) = m.get_mut(&k) {
        return Ok(Some(core::mem::replace(slot, v)));
    }
    m.try_reserve(1).map_err(|_| AnnError::OutOfMemory)?;
    Ok(m.insert(k, v))
}

/// Room for `n` more keys, so the next `n` inserts of new keys cannot fail.
pub fn reserve<V>(m: &mut IdMap<V>, n: usize) -> Result<()> {
    m.try_reserve(n).map_err(|_| AnnError::OutOfMemory)
}

/// The hasher of [`IdMap`]. Keys are not chosen by an attacker who sees
/// the table (positions on a device, file and vector ids), so no random
/// seed: one
/// folded multiply spreads runs of consecutive numbers over both the low
/// bits (the bucket) and the high bits (hashbrown's tag byte).
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildIdHasher;

impl BuildHasher for BuildIdHasher {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

/// The state of one hash: the folded keys so far.
#[derive(Debug, Clone, Copy)]
pub struct IdHasher(u64);

/// The two halves of the 128-bit product, xored.
fn fold(x: u64) -> u64 {
    let p = u128::from(x) * 0x9e37_79b9_7f4a_7c15;
    (p as u64) ^ ((p >> 64) as u64)
}

impl Hasher for IdHasher {
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
            let mut s = BuildIdHasher.build_hasher();
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
        let mut m = id_map();
        for k in 0..100 {
            try_insert(&mut m, k, k).unwrap();
        }
        let cap = m.capacity();
        assert_eq!(try_insert(&mut m, 7, 70).unwrap(), Some(7));
        assert_eq!(m.capacity(), cap);
        assert_eq!(m[&7], 70);
    }
}
