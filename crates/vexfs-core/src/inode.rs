//! Reading, writing, creating and deleting inodes; the orphan list.

use crate::device::BlockDevice;
use crate::error::{corrupt, FsError, Result};
use crate::fs::Fs;
use crate::tx::Seal;
use alloc::vec::Vec;
use vexfs_format::inode::{Inode, Timestamp, FLAG_INLINE_SYMLINK, FLAG_ORPHAN, INODE_SIZE};

impl<D: BlockDevice> Fs<D> {
    /// Decode inode `ino`; `NotFound` if the slot is free.
    pub(crate) fn read_inode(&mut self, ino: u64) -> Result<Inode> {
        let (blk, off) = self.sb.inode_location(ino).ok_or(FsError::NotFound)?;
        self.with_raw_block(blk, |b| {
            let raw = b.get(off..off + INODE_SIZE).ok_or(FsError::Invalid)?;
            if Inode::is_zeroed(raw) {
                return Err(FsError::NotFound);
            }
            Inode::decode(raw, ino)
                .map_err(|e| FsError::from(e).at(crate::error::Location::Inode(ino)))
        })
    }

    pub(crate) fn write_inode(&mut self, ino: u64, inode: &Inode) -> Result<()> {
        let (blk, off) = self.sb.inode_location(ino).ok_or(FsError::Invalid)?;
        self.modify_block(blk, Seal::Raw, |b| {
            let raw = b.get_mut(off..off + INODE_SIZE).ok_or(FsError::Invalid)?;
            inode.encode(raw, ino)?;
            Ok(())
        })
    }

    fn zero_inode(&mut self, ino: u64) -> Result<()> {
        let (blk, off) = self.sb.inode_location(ino).ok_or(FsError::Invalid)?;
        self.modify_block(blk, Seal::Raw, |b| {
            b.get_mut(off..off + INODE_SIZE)
                .ok_or(FsError::Invalid)?
                .fill(0);
            Ok(())
        })
    }

    /// Allocate and write a new inode (caller links it into a directory).
    pub(crate) fn create_inode(
        &mut self,
        mode: u16,
        uid: u32,
        gid: u32,
        now: Timestamp,
    ) -> Result<(u64, Inode)> {
        let ino = self.alloc_ino()?;
        let mut inode = Inode::new(mode, uid, gid, now);
        inode.generation = self.sb.next_generation as u32;
        self.sb.next_generation = self.sb.next_generation.wrapping_add(1);
        crate::btree::init_root(&mut inode.data)?;
        self.write_inode(ino, &inode)?;
        Ok((ino, inode))
    }

    /// Free everything an inode owns and its number. A file with more
    /// blocks than one operation may free stays on the orphan list, its
    /// link count zero, while transactions of their own free the rest and
    /// then delete it (`crate::deferred`).
    pub(crate) fn delete_inode(&mut self, ino: u64, mut inode: Inode) -> Result<()> {
        if inode.flags & FLAG_INLINE_SYMLINK == 0
            && !inode.is_dir()
            && !self.truncate_blocks(ino, &mut inode, 0)?
        {
            return self.write_inode(ino, &inode);
        }
        if inode.flags & FLAG_ORPHAN != 0 {
            self.orphan_remove(ino)?;
        }
        if inode.flags & FLAG_INLINE_SYMLINK == 0 {
            self.tree_free_all(ino, &mut inode)?;
        }
        self.xattr_free_blob(&mut inode)?;
        self.zero_inode(ino)?;
        self.free_ino(ino)
    }

    /// After the last link or the last open handle went: delete if both are
    /// gone, or put on the orphan list if it is still open.
    pub(crate) fn maybe_free_unlinked(&mut self, ino: u64) -> Result<()> {
        let inode = match self.read_inode(ino) {
            Ok(i) => i,
            Err(FsError::NotFound) => return Ok(()),
            Err(e) => return Err(e),
        };
        if inode.nlink > 0 {
            return Ok(());
        }
        if self.open_counts.contains_key(&ino) {
            if inode.flags & FLAG_ORPHAN == 0 {
                self.orphan_add(ino)?;
            }
            return Ok(());
        }
        self.delete_inode(ino, inode)
    }

    fn orphan_add(&mut self, ino: u64) -> Result<()> {
        let mut inode = self.read_inode(ino)?;
        inode.flags |= FLAG_ORPHAN;
        inode.orphan_next = self.sb.orphan_head;
        self.write_inode(ino, &inode)?;
        self.sb.orphan_head = ino;
        Ok(())
    }

    pub(crate) fn orphan_remove(&mut self, ino: u64) -> Result<()> {
        let mut cur = self.sb.orphan_head;
        let mut prev = 0u64;
        let mut steps = 0u64;
        while cur != 0 {
            steps += 1;
            if steps > self.sb.inode_count {
                return Err(corrupt("orphan list loops"));
            }
            let node = self.read_inode(cur)?;
            if cur == ino {
                if prev == 0 {
                    self.sb.orphan_head = node.orphan_next;
                } else {
                    let mut p = self.read_inode(prev)?;
                    p.orphan_next = node.orphan_next;
                    self.write_inode(prev, &p)?;
                }
                return Ok(());
            }
            prev = cur;
            cur = node.orphan_next;
        }
        Ok(())
    }

    /// Finish what a crash left on the orphan list (done at mount, and by
    /// a writing fsck): delete the unlinked inodes (nobody can hold them
    /// open any more) and finish the truncations of linked ones. Returns
    /// how many were deleted. Large ones finish in steps of their own
    /// after the caller's operation.
    pub(crate) fn reap_orphans(&mut self) -> Result<u64> {
        // Walk the list first: members freed in steps stay on it until
        // their last step.
        let mut list = Vec::new();
        let mut cur = self.sb.orphan_head;
        while cur != 0 {
            if list.len() as u64 >= self.sb.inode_count {
                return Err(corrupt("orphan list loops"));
            }
            let inode = self.read_inode(cur)?;
            if inode.flags & FLAG_ORPHAN == 0 {
                return Err(corrupt("orphan list names an inode not marked orphan"));
            }
            list.push(cur);
            cur = inode.orphan_next;
        }
        let mut deleted = 0u64;
        for ino in list {
            let mut inode = self.read_inode(ino)?;
            if inode.nlink == 0 {
                self.delete_inode(ino, inode)?;
                deleted += 1;
                continue;
            }
            // A truncation cut short: free what lies past the size.
            let size = inode.size;
            if self.truncate_blocks(ino, &mut inode, size)? {
                self.orphan_remove(ino)?;
                inode.flags &= !FLAG_ORPHAN;
                inode.orphan_next = 0;
            }
            self.write_inode(ino, &inode)?;
        }
        Ok(deleted)
    }
}
