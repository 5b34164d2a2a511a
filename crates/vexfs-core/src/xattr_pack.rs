//! Small attribute blobs packed several to a block (format:
//! `vexfs_format::xattr_pack`).
//!
//! A blob of at most half a block (an embedding of up to about 500 floats
//! with nothing else) takes whole units of a shared *pack block* instead of
//! a block of its own: 128 floats take 9 of 64 units, so seven files share
//! one block, and a bulk load writes a seventh of the blocks.
//!
//! Which pack blocks have room is remembered in memory only (`pack_room`),
//! from the blocks this mount created or freed units in; after a remount
//! new blobs start new pack blocks, and the free units of old ones are
//! reused once a blob in them is freed or moved. A pack block created by an
//! operation that is rolled back leaves the set with it; every hint is
//! still checked against the block bitmap, the block's magic and its map
//! before it is used.

use crate::device::BlockDevice;
use crate::error::{corrupt, FsError, Result};
use crate::fs::Fs;
use crate::tx::Seal;
use alloc::vec::Vec;
use vexfs_format::bytes::{get_u32, get_u64};
use vexfs_format::features::INCOMPAT_XATTR_PACKED;
use vexfs_format::header::{self, XATTR_MAGIC};
use vexfs_format::inode::{Inode, FLAG_XATTR_PACKED};
use vexfs_format::xattr_pack::{
    blob_address, blob_units, find_free, header_map, map, run_bits, set_map, unit_size, units_for,
    PACK_MAGIC,
};

const SEAL: Seal = Seal::Meta {
    magic: PACK_MAGIC,
    owner: 0,
};

/// Pack blocks tried before a new one is started.
const CANDIDATES: usize = 4;

impl<D: BlockDevice> Fs<D> {
    /// Borrow the verified pack block `nr`.
    fn with_pack<T>(&mut self, nr: u64, f: impl FnOnce(&[u8]) -> Result<T>) -> Result<T> {
        if nr < self.sb.data_start || nr >= self.sb.block_count {
            return Err(corrupt("xattr pack block outside the data area"));
        }
        self.with_meta_block(nr, PACK_MAGIC, Some(0), "xattr pack", |b| {
            // A cached block was verified when it was read, or written by
            // this code; the magic tells it from any other cached block
            // all the same (new pack blocks carry it from the start).
            if get_u32(b, 0)? != PACK_MAGIC || get_u64(b, 8)? != nr {
                return Err(corrupt("not an xattr pack block"));
            }
            map(b)?;
            f(b)
        })
    }

    /// The verified bytes of `inode`'s packed blob.
    pub(crate) fn pack_read(&mut self, ino: u64, inode: &Inode) -> Result<Vec<u8>> {
        let (first, n) = blob_units(inode.xattr_offset, inode.xattr_len, self.bs)?;
        let off = inode.xattr_offset as usize;
        let addr = blob_address(inode.xattr_block, inode.xattr_offset, self.bs);
        self.with_pack(inode.xattr_block, |b| {
            if map(b)? & run_bits(first, n) != run_bits(first, n) {
                return Err(corrupt("packed xattr blob in free pack units"));
            }
            let blob = b
                .get(off..off + inode.xattr_len as usize)
                .ok_or(FsError::Invalid)?;
            if header::verify(blob, XATTR_MAGIC, addr, "packed xattr blob")? != ino {
                return Err(corrupt("packed xattr blob owned by another inode"));
            }
            crate::fallible::copy(blob)
        })
    }

    /// Whether a blob of `len` bytes at `inode`'s packed place can be
    /// rewritten where it is (same number of units).
    pub(crate) fn pack_fits_in_place(&self, inode: &Inode, len: usize) -> bool {
        inode.flags & FLAG_XATTR_PACKED != 0
            && units_for(inode.xattr_len as usize, self.bs) == units_for(len, self.bs)
    }

    /// Claim units for a blob of `len` bytes: (pack block, byte offset).
    pub(crate) fn pack_alloc(&mut self, len: usize) -> Result<(u64, u32)> {
        let n = units_for(len, self.bs);
        let unit = unit_size(self.bs) as u32;
        let mut tries = [0u64; CANDIDATES];
        let mut count = 0;
        for (slot, &nr) in tries.iter_mut().zip(self.pack_room.keys()) {
            *slot = nr;
            count += 1;
        }
        for &nr in &tries[..count] {
            // A hint may name a block freed since, or one whose creation
            // was rolled back: only a block in use with a sound map counts.
            let free = if self.block_in_use(nr)? {
                self.with_pack(nr, |b| Ok(find_free(map(b)?, n)))
                    .unwrap_or(None)
            } else {
                None
            };
            match free {
                Some(first) => {
                    self.modify_block(nr, SEAL, |b| {
                        let m = map(b)?;
                        set_map(b, m | run_bits(first, n))?;
                        Ok(())
                    })?;
                    return Ok((nr, first * unit));
                }
                None => {
                    self.pack_room.remove(&nr);
                }
            }
        }
        let (nr, _) = self.alloc_blocks(self.block_hint, 1)?;
        let mut b = crate::fallible::zeroed(self.bs)?;
        let first = vexfs_format::xattr_pack::header_units(self.bs);
        set_map(&mut b, header_map(self.bs) | run_bits(first, n))?;
        header::seal(&mut b, PACK_MAGIC, nr, 0)?;
        if self.tx_depth > 0 {
            crate::fallible::reserve(&mut self.op_new_packs, 1)?;
        }
        self.put_block(nr, b, SEAL)?;
        self.remember_room(nr);
        if self.tx_depth > 0 {
            self.op_new_packs.push(nr);
        }
        self.sb.feature_incompat |= INCOMPAT_XATTR_PACKED;
        Ok((nr, first * unit))
    }

    /// Write a packed blob (its body final, header fields aside) at its
    /// place, sealing it with its own checksum.
    pub(crate) fn pack_write(
        &mut self,
        ino: u64,
        nr: u64,
        offset: u32,
        blob: &mut [u8],
    ) -> Result<()> {
        let addr = blob_address(nr, offset, self.bs);
        header::seal(blob, XATTR_MAGIC, addr, ino)?;
        let units = units_for(blob.len(), self.bs) as usize * unit_size(self.bs);
        let off = offset as usize;
        self.with_pack(nr, |_| Ok(()))?;
        self.modify_block(nr, SEAL, |b| {
            let dst = b.get_mut(off..off + units).ok_or(FsError::Invalid)?;
            dst.fill(0);
            dst[..blob.len()].copy_from_slice(blob);
            Ok(())
        })
    }

    /// Give back the units of `inode`'s packed blob (zeroed), and the pack
    /// block once nothing else is in it. The caller clears the inode's
    /// fields.
    pub(crate) fn pack_free(&mut self, inode: &Inode) -> Result<()> {
        let (first, n) = blob_units(inode.xattr_offset, inode.xattr_len, self.bs)?;
        let nr = inode.xattr_block;
        let units = n as usize * unit_size(self.bs);
        let off = inode.xattr_offset as usize;
        self.with_pack(nr, |_| Ok(()))?;
        let left = self.modify_block(nr, SEAL, |b| {
            let m = map(b)?;
            if m & run_bits(first, n) != run_bits(first, n) {
                return Err(corrupt("freeing free pack units"));
            }
            b.get_mut(off..off + units).ok_or(FsError::Invalid)?.fill(0);
            let m = m & !run_bits(first, n);
            set_map(b, m)?;
            Ok(m)
        })?;
        if left == header_map(self.bs) {
            self.pack_room.remove(&nr);
            self.free_blocks(nr, 1)?;
        } else {
            self.remember_room(nr);
        }
        Ok(())
    }

    /// Note that pack block `nr` has free units. A hint only: out of
    /// memory, it is not kept, and the space is found again when a later
    /// free in the block notes it.
    fn remember_room(&mut self, nr: u64) {
        let _ = crate::nr_map::try_insert(&mut self.pack_room, nr, ());
    }
}
