//! Sets of block ranges: the running transaction's freed (quarantined) and
//! freshly allocated blocks.
//!
//! A sorted vector of disjoint `(first, count)` pairs instead of a
//! `BTreeMap`: adding a range is the one step that may allocate, and it
//! reports ENOMEM (a `BTreeMap` insert would abort). A transaction holds
//! tens to hundreds of ranges, so the shift of an insert is a small copy.

use crate::error::Result;
use alloc::vec::Vec;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ranges {
    /// Disjoint, ascending by first block.
    runs: Vec<(u64, u64)>,
}

impl Ranges {
    pub(crate) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    pub(crate) fn clear(&mut self) {
        self.runs.clear();
    }

    /// The range holding `nr`, if one does.
    fn holding(&self, nr: u64) -> Option<(u64, u64)> {
        let i = self.runs.partition_point(|&(f, _)| f <= nr);
        let (f, c) = *self.runs.get(i.checked_sub(1)?)?;
        (nr - f < c).then_some((f, c))
    }

    /// Whether `nr` lies in one of the ranges.
    pub(crate) fn holds(&self, nr: u64) -> bool {
        self.holding(nr).is_some()
    }

    /// The end of the range holding `nr`, if one does.
    pub(crate) fn end_of(&self, nr: u64) -> Option<u64> {
        self.holding(nr).map(|(f, c)| f + c)
    }

    /// The first block of the first range that starts after `nr`.
    pub(crate) fn next_start_after(&self, nr: u64) -> Option<u64> {
        let i = self.runs.partition_point(|&(f, _)| f <= nr);
        self.runs.get(i).map(|&(f, _)| f)
    }

    /// Add `[first, first + count)`, merging it with every range it
    /// overlaps or touches, so membership only ever grows. ENOMEM leaves
    /// the set as it was.
    pub(crate) fn add(&mut self, first: u64, count: u64) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        let mut lo = first;
        let mut hi = first.saturating_add(count);
        // Ranges i..j overlap or touch [lo, hi).
        let i = self.runs.partition_point(|&(f, c)| f + c < lo);
        let j = self.runs.partition_point(|&(f, _)| f <= hi);
        if i == j {
            crate::fallible::reserve(&mut self.runs, 1)?;
            self.runs.insert(i, (lo, hi - lo));
            return Ok(());
        }
        lo = lo.min(self.runs[i].0);
        let (lf, lc) = self.runs[j - 1];
        hi = hi.max(lf + lc);
        self.runs[i] = (lo, hi - lo);
        self.runs.drain(i + 1..j);
        Ok(())
    }

    /// Add `[first, first + count)`, which overlaps no range, as a range of
    /// its own (touching ones are not merged), so that
    /// [`Ranges::remove_start`] can take it out again.
    pub(crate) fn insert_apart(&mut self, first: u64, count: u64) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        let i = self.runs.partition_point(|&(f, _)| f < first);
        crate::fallible::reserve(&mut self.runs, 1)?;
        self.runs.insert(i, (first, count));
        Ok(())
    }

    /// Take out the range that starts at `first` (one added apart).
    pub(crate) fn remove_start(&mut self, first: u64) {
        if let Ok(i) = self.runs.binary_search_by_key(&first, |&(f, _)| f) {
            self.runs.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_matches_a_bitmap_after_random_adds() {
        let mut s = 0x1234_5678_u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for _ in 0..50 {
            let mut r = Ranges::default();
            let mut bits = [false; 300];
            for _ in 0..20 {
                let first = next() % 280;
                let count = next() % 15;
                r.add(first, count).unwrap();
                for b in first..first + count {
                    bits[b as usize] = true;
                }
                // Disjoint, ascending, never touching.
                for w in r.runs.windows(2) {
                    assert!(w[0].0 + w[0].1 < w[1].0, "{:?}", r.runs);
                }
                for (nr, &set) in bits.iter().enumerate() {
                    let nr = nr as u64;
                    assert_eq!(r.holds(nr), set, "block {nr} in {:?}", r.runs);
                    let next_start = r.runs.iter().map(|&(f, _)| f).find(|&f| f > nr);
                    assert_eq!(r.next_start_after(nr), next_start);
                    if set {
                        let end = (nr..).find(|&b| b >= 300 || !bits[b as usize]).unwrap();
                        assert_eq!(r.end_of(nr), Some(end));
                    }
                }
            }
        }
    }

    #[test]
    fn a_range_added_apart_can_be_taken_out_again() {
        let mut r = Ranges::default();
        r.add(10, 5).unwrap();
        r.insert_apart(15, 2).unwrap();
        r.insert_apart(40, 2).unwrap();
        assert_eq!(r.end_of(15), Some(17));
        r.remove_start(15);
        assert!(!r.holds(15));
        r.remove_start(40);
        assert!(!r.holds(40));
        assert!(r.holds(12));
        r.remove_start(11);
        assert!(r.holds(12));
    }
}
