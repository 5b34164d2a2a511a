//! A heap-allocated bitset: the checker's model of which blocks and inodes
//! are in use. Kept on the heap so a large device never strains the stack
//! (the kernel module runs this code too).

use alloc::vec::Vec;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bits {
    words: Vec<u64>,
    len: u64,
}

impl Bits {
    pub(crate) fn new(len: u64) -> Self {
        let words = usize::try_from(len.div_ceil(64)).unwrap_or(0);
        Self {
            words: alloc::vec![0; words],
            len,
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    pub(crate) fn get(&self, i: u64) -> bool {
        if i >= self.len {
            return false;
        }
        self.words
            .get((i / 64) as usize)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    pub(crate) fn set(&mut self, i: u64, v: bool) {
        if i >= self.len {
            return;
        }
        if let Some(w) = self.words.get_mut((i / 64) as usize) {
            if v {
                *w |= 1 << (i % 64);
            } else {
                *w &= !(1 << (i % 64));
            }
        }
    }

    /// Set `[first, first+count)`, clamped to the length.
    pub(crate) fn set_range(&mut self, first: u64, count: u64) {
        let end = first.saturating_add(count).min(self.len);
        let mut i = first;
        while i < end {
            if i.is_multiple_of(64) && i + 64 <= end {
                if let Some(w) = self.words.get_mut((i / 64) as usize) {
                    *w = !0;
                }
                i += 64;
            } else {
                self.set(i, true);
                i += 1;
            }
        }
    }

    /// The first set bit in `[first, first+count)`, if any.
    pub(crate) fn any_in(&self, first: u64, count: u64) -> Option<u64> {
        let end = first.saturating_add(count).min(self.len);
        let mut i = first;
        while i < end {
            if i.is_multiple_of(64)
                && i + 64 <= end
                && self.words.get((i / 64) as usize).is_some_and(|w| *w == 0)
            {
                i += 64;
                continue;
            }
            if self.get(i) {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// Byte `i` of the on-disk bitmap encoding (bit `j` of byte `i` is
    /// bit `8i + j`), matching the allocator's layout.
    pub(crate) fn byte(&self, i: u64) -> u8 {
        self.words
            .get((i / 8) as usize)
            .map_or(0, |w| (w >> (8 * (i % 8))) as u8)
    }

    /// Number of clear bits below `limit`.
    pub(crate) fn zeros_below(&self, limit: u64) -> u64 {
        let limit = limit.min(self.len);
        let full = limit / 64;
        let mut ones: u64 = self
            .words
            .iter()
            .take(full as usize)
            .map(|w| u64::from(w.count_ones()))
            .sum();
        for i in full * 64..limit {
            if self.get(i) {
                ones += 1;
            }
        }
        limit - ones
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_counts() {
        let mut b = Bits::new(200);
        b.set_range(10, 100);
        assert!(b.get(10) && b.get(109) && !b.get(110) && !b.get(9));
        assert_eq!(b.any_in(0, 10), None);
        assert_eq!(b.any_in(0, 11), Some(10));
        assert_eq!(b.zeros_below(200), 100);
        b.set_range(190, 100);
        assert_eq!(b.zeros_below(200), 90);
        assert!(!b.get(500));
    }
}
