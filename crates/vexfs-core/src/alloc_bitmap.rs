//! Block and inode allocation over the on-disk bitmaps.
//!
//! Each bitmap block carries the common header; payload bit `i` of bitmap
//! block `k` stands for block (or inode index) `k * bits_per_block + i`.
//! Bits past the end of the device are set at mkfs so they are never handed
//! out.

use crate::device::BlockDevice;
use crate::error::{corrupt, FsError, Result};
use crate::fs::Fs;
use crate::tx::Seal;
use vexfs_format::header::{BITMAP_MAGIC, HEADER_SIZE};
use vexfs_format::superblock::bits_per_bitmap_block;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bitmap {
    Blocks,
    Inodes,
}

const META: Seal = Seal::Meta {
    magic: BITMAP_MAGIC,
    owner: 0,
};

#[inline]
fn get_bit(buf: &[u8], i: u64) -> bool {
    buf.get(HEADER_SIZE + (i / 8) as usize)
        .is_some_and(|b| b & (1 << (i % 8)) != 0)
}

#[inline]
fn set_bit(buf: &mut [u8], i: u64, v: bool) {
    if let Some(b) = buf.get_mut(HEADER_SIZE + (i / 8) as usize) {
        if v {
            *b |= 1 << (i % 8);
        } else {
            *b &= !(1 << (i % 8));
        }
    }
}

impl<D: BlockDevice> Fs<D> {
    fn bitmap_geometry(&self, which: Bitmap) -> (u64, u64, u64) {
        match which {
            Bitmap::Blocks => (
                self.sb.block_bitmap_start,
                self.sb.block_bitmap_blocks,
                self.sb.block_count,
            ),
            Bitmap::Inodes => (
                self.sb.inode_bitmap_start,
                self.sb.inode_bitmap_blocks,
                self.sb.inode_count,
            ),
        }
    }

    /// Bitmap block `k`, verified into the cache; its block number.
    fn bitmap_block(&mut self, which: Bitmap, k: u64) -> Result<u64> {
        let (start, _, _) = self.bitmap_geometry(which);
        self.verify_meta_block(start + k, BITMAP_MAGIC, Some(0), "bitmap block")?;
        Ok(start + k)
    }

    fn set_bits(&mut self, which: Bitmap, first: u64, count: u64, v: bool) -> Result<()> {
        let bits = bits_per_bitmap_block(self.sb.block_size);
        let (start, _, total) = self.bitmap_geometry(which);
        if first.checked_add(count).is_none_or(|e| e > total) {
            return Err(corrupt("bitmap range beyond its end"));
        }
        let mut i = first;
        let end = first + count;
        while i < end {
            let k = i / bits;
            let upto = end.min((k + 1) * bits);
            self.bitmap_block(which, k)?; // verify before modifying
            let (from, to) = (i % bits, upto - k * bits);
            self.modify_block(start + k, META, |buf| {
                for j in from..to {
                    if get_bit(buf, j) == v {
                        return Err(corrupt(if v {
                            "allocating a bit already set"
                        } else {
                            "freeing a bit already clear"
                        }));
                    }
                    set_bit(buf, j, v);
                }
                Ok(())
            })?;
            i = upto;
        }
        Ok(())
    }

    /// Find and claim up to `want` consecutive clear bits at or after
    /// `goal` (wrapping once). Returns (first, count).
    fn claim_run(&mut self, which: Bitmap, goal: u64, want: u64) -> Result<(u64, u64)> {
        let bits = bits_per_bitmap_block(self.sb.block_size);
        let (_, nblocks, total) = self.bitmap_geometry(which);
        let goal = if goal >= total { 0 } else { goal };
        let first_k = goal / bits;
        for step in 0..=nblocks {
            let k = (first_k + step) % nblocks.max(1);
            let nr = self.bitmap_block(which, k)?;
            let buf = self.cache.get(&nr).ok_or(FsError::Invalid)?;
            let base = k * bits;
            let limit = bits.min(total.saturating_sub(base));
            let mut j = if step == 0 { goal - base } else { 0 };
            // Skip full 64-bit words quickly.
            while j < limit {
                if j % 64 == 0 && j + 64 <= limit {
                    let w = (j / 8) as usize + HEADER_SIZE;
                    if buf
                        .get(w..w + 8)
                        .is_some_and(|s| s.iter().all(|&b| b == 0xFF))
                    {
                        j += 64;
                        continue;
                    }
                }
                if !get_bit(buf, j) {
                    // Blocks freed in the running transaction wait for it
                    // to be durable (see crate::journal).
                    if which == Bitmap::Blocks {
                        if let Some(end) = self.quarantined_until(base + j) {
                            j = end - base;
                            continue;
                        }
                    }
                    let stop = match which {
                        Bitmap::Blocks => self
                            .next_quarantined(base + j)
                            .map_or(limit, |q| (q - base).min(limit)),
                        Bitmap::Inodes => limit,
                    };
                    let mut n = 1;
                    while n < want && j + n < stop && !get_bit(buf, j + n) {
                        n += 1;
                    }
                    self.set_bits(which, base + j, n, true)?;
                    return Ok((base + j, n));
                }
                j += 1;
            }
        }
        Err(FsError::NoSpace)
    }

    /// Allocate up to `want` contiguous blocks near `goal`.
    pub(crate) fn alloc_blocks(&mut self, goal: u64, want: u64) -> Result<(u64, u64)> {
        if self.sb.free_blocks == 0 {
            return Err(FsError::NoSpace);
        }
        let goal = if goal < self.sb.data_start {
            self.block_hint.max(self.sb.data_start)
        } else {
            goal
        };
        let (first, n) = self.claim_run(Bitmap::Blocks, goal, want.max(1))?;
        if first < self.sb.data_start {
            return Err(corrupt("block bitmap hands out a reserved block"));
        }
        self.sb.free_blocks = self.sb.free_blocks.saturating_sub(n);
        self.block_hint = first + n;
        self.fresh.add(first, n)?;
        Ok((first, n))
    }

    /// Allocate exactly `count` contiguous blocks (xattr blobs and value
    /// runs), or fail. Shorter free runs are skipped; the search gives up
    /// once it has passed its starting point, so a fragmented device fails
    /// with `NoSpace` only when no such run exists.
    pub(crate) fn alloc_contiguous(&mut self, count: u64) -> Result<u64> {
        let start = self.block_hint;
        let mut goal = start;
        let mut wrapped = false;
        loop {
            let (first, n) = self.alloc_blocks(goal, count)?;
            if n == count {
                return Ok(first);
            }
            // Never used: give the run back without quarantine.
            self.set_bits(Bitmap::Blocks, first, n, false)?;
            self.sb.free_blocks += n;
            if first < goal {
                if wrapped {
                    return Err(FsError::NoSpace);
                }
                wrapped = true;
            }
            if wrapped && first >= start {
                return Err(FsError::NoSpace);
            }
            goal = first + n + 1;
        }
    }

    pub(crate) fn free_blocks(&mut self, first: u64, count: u64) -> Result<()> {
        if first < self.sb.data_start {
            return Err(corrupt("freeing a reserved block"));
        }
        self.set_bits(Bitmap::Blocks, first, count, false)?;
        for b in first..first + count {
            self.forget_block(b)?;
        }
        self.quarantine_add(first, count)?;
        self.sb.free_blocks += count;
        Ok(())
    }

    /// Claim a free inode number.
    pub(crate) fn alloc_ino(&mut self) -> Result<u64> {
        if self.sb.free_inodes == 0 {
            return Err(FsError::NoSpace);
        }
        let goal = self.ino_hint.max(self.sb.first_user_ino) - 1;
        let (idx, _) = self.claim_run(Bitmap::Inodes, goal, 1)?;
        let ino = idx + 1;
        if ino < self.sb.first_user_ino {
            return Err(corrupt("inode bitmap hands out a reserved inode"));
        }
        self.sb.free_inodes -= 1;
        self.ino_hint = ino + 1;
        Ok(ino)
    }

    pub(crate) fn free_ino(&mut self, ino: u64) -> Result<()> {
        self.set_bits(Bitmap::Inodes, ino - 1, 1, false)?;
        self.sb.free_inodes += 1;
        if ino < self.ino_hint {
            self.ino_hint = ino;
        }
        Ok(())
    }
}

impl<D: BlockDevice> Fs<D> {
    /// Whether block `nr` is marked in use in the block bitmap.
    pub(crate) fn block_in_use(&mut self, nr: u64) -> Result<bool> {
        if nr >= self.sb.block_count {
            return Ok(false);
        }
        let bits = bits_per_bitmap_block(self.sb.block_size);
        let b = self.bitmap_block(Bitmap::Blocks, nr / bits)?;
        let buf = self.cache.get(&b).ok_or(FsError::Invalid)?;
        Ok(get_bit(buf, nr % bits))
    }
}
