//! Primary links: from an inode back to the directory entry that names it,
//! which index covers a file, and moving files between indexes when their
//! primary link moves.

use super::Deferred;
use crate::device::BlockDevice;
use crate::error::{corrupt, FsError, Result};
use crate::fallible;
use crate::fs::Fs;
use alloc::vec::Vec;
use vexfs_format::dirent::DirEntry;
use vexfs_format::inode::{FileType, Inode, FLAG_HAS_EMBEDDING, FLAG_VECTOR_INDEX};
use vexfs_format::{ROOT_INO, VECTOR_CATALOG_INO};

/// Called with each directory, entry key, child inode number and inode.
pub(crate) type EntryVisitor<'a, D> =
    dyn FnMut(&mut Fs<D>, u64, u64, u64, &Inode) -> Result<()> + 'a;

/// A primary link: directory and entry key.
pub(crate) type Link = (u64, u64);

impl<D: BlockDevice> Fs<D> {
    /// The nearest indexed directory at or above `dir`, if any.
    pub(crate) fn index_root_of_dir(&mut self, mut dir: u64) -> Result<Option<u64>> {
        for _ in 0..=self.sb.inode_count {
            let i = self.read_inode(dir)?;
            if !i.is_dir() {
                return Err(corrupt("primary link names a non-directory"));
            }
            if i.flags & FLAG_VECTOR_INDEX != 0 {
                return Ok(Some(dir));
            }
            if dir == ROOT_INO || dir == VECTOR_CATALOG_INO || i.parent == dir || i.parent == 0 {
                return Ok(None);
            }
            dir = i.parent;
        }
        Err(corrupt("directory parent chain loops"))
    }

    /// The index a file belongs to (through its primary link).
    pub(crate) fn index_root_of_file(&mut self, inode: &Inode) -> Result<Option<u64>> {
        if inode.parent == 0 {
            return Ok(None);
        }
        self.index_root_of_dir(inode.parent)
    }

    /// Whether directory `dir` is `top` or lies below it.
    pub(crate) fn dir_is_under(&mut self, mut dir: u64, top: u64) -> Result<bool> {
        for _ in 0..=self.sb.inode_count {
            if dir == top {
                return Ok(true);
            }
            if dir == ROOT_INO || dir == 0 {
                return Ok(false);
            }
            let p = self.read_inode(dir)?.parent;
            if p == dir {
                return Ok(false);
            }
            dir = p;
        }
        Err(corrupt("directory parent chain loops"))
    }

    /// Run `f` on the name and inode of the entry with key `key` in
    /// directory `dir`, reading the name where it lies (no copy).
    pub(crate) fn with_entry<T>(
        &mut self,
        dir: u64,
        key: u64,
        f: impl FnOnce(&[u8], u64) -> Result<T>,
    ) -> Result<Option<T>> {
        let d = self.read_inode(dir)?;
        if !d.is_dir() {
            return Ok(None);
        }
        self.tree_get_with(dir, &d, key, |v| {
            let e = DirEntry::decode(v)?;
            f(e.name, e.ino)
        })
    }

    /// Append the path of `ino` relative to directory `top`, through
    /// primary links, to `names`, and return where it lies there; `None`
    /// (and `names` as it was) if its primary link chain does not pass
    /// `top`. Built from the leaf up in place: a search resolves one per
    /// result, and all of them share the one buffer.
    pub(crate) fn path_below(
        &mut self,
        ino: u64,
        top: u64,
        names: &mut Vec<u8>,
    ) -> Result<Option<core::ops::Range<usize>>> {
        let start = names.len();
        let r = self.path_below_into(ino, top, names, start);
        if !matches!(r, Ok(true)) {
            names.truncate(start);
        }
        Ok(r?.then_some(start..names.len()))
    }

    fn path_below_into(
        &mut self,
        ino: u64,
        top: u64,
        names: &mut Vec<u8>,
        start: usize,
    ) -> Result<bool> {
        let mut cur = ino;
        for _ in 0..=self.sb.inode_count {
            if cur == top {
                return Ok(true);
            }
            let i = self.read_inode(cur)?;
            if i.parent == 0 || i.parent == cur || cur == ROOT_INO {
                return Ok(false);
            }
            let sep = usize::from(names.len() > start);
            // The component (and a separator after it) goes in front of
            // what is already built: appended, then rotated into place.
            let linked = self.with_entry(i.parent, i.link_key, |name, e| {
                fallible::reserve(names, name.len() + sep)?;
                names.extend_from_slice(name);
                if sep == 1 {
                    names.push(b'/');
                }
                if let Some(built) = names.get_mut(start..) {
                    built.rotate_right(name.len() + sep);
                }
                Ok(e == cur)
            })?;
            if linked != Some(true) {
                return Ok(false);
            }
            cur = i.parent;
        }
        Err(corrupt("directory parent chain loops"))
    }

    /// Change the primary link of `ino` (after the directory entries have
    /// been changed) and move the file, or a directory's subtree, between
    /// indexes when the nearest index root changes.
    pub(crate) fn set_primary(&mut self, ino: u64, link: Option<Link>) -> Result<()> {
        let mut i = self.read_inode(ino)?;
        // A primary link into a directory that is gone (fsck re-linking
        // an orphan) simply had no index.
        let old_root = match self.index_root_of_file(&i) {
            Ok(r) => r,
            Err(FsError::Corrupt(_)) | Err(FsError::NotFound) => None,
            Err(e) => return Err(e),
        };
        let (p, k) = link.unwrap_or((0, 0));
        if i.is_dir() && p == 0 {
            return Err(FsError::Invalid);
        }
        i.parent = p;
        i.link_key = k;
        self.write_inode(ino, &i)?;
        let new_root = match link {
            Some((dir, _)) => self.index_root_of_dir(dir)?,
            None => None,
        };
        if old_root == new_root {
            return Ok(());
        }
        if i.is_dir() {
            if i.flags & FLAG_VECTOR_INDEX != 0 {
                // An index root carries its files with it.
                return Ok(());
            }
            return self.move_subtree(ino, old_root, new_root);
        }
        if i.is_reg() && i.flags & FLAG_HAS_EMBEDDING != 0 {
            let v = self.embedding_of(ino)?;
            self.move_between(ino, old_root, new_root, Some(v))?;
        }
        Ok(())
    }

    /// The directory entry `link` naming `ino` was removed (unlink, or a
    /// rename over it). If it was the primary link the file leaves its
    /// index; an (empty) index root being replaced loses its index.
    pub(crate) fn entry_gone(&mut self, ino: u64, link: Link) -> Result<()> {
        let i = self.read_inode(ino)?;
        if i.is_dir() {
            if i.flags & FLAG_VECTOR_INDEX != 0 {
                self.index_forget_root(ino)?;
            }
            return Ok(());
        }
        if (i.parent, i.link_key) == link {
            self.set_primary(ino, None)?;
        }
        Ok(())
    }

    /// Every embedding under directory `top` (deeper index roots excluded)
    /// leaves index `from` and joins index `to`.
    pub(crate) fn move_subtree(
        &mut self,
        top: u64,
        from: Option<u64>,
        to: Option<u64>,
    ) -> Result<()> {
        let mut moved = Vec::new();
        self.walk_embeddings(top, true, &mut |_fs, f, v| {
            moved.try_reserve(1).map_err(|_| FsError::NoMemory)?;
            moved.push((f, crate::fallible::copy(v)?));
            Ok(())
        })?;
        for (f, v) in moved {
            self.move_between(f, from, to, Some(v))?;
        }
        Ok(())
    }

    /// `ino`'s embedding leaves index `from` and joins index `to`.
    pub(crate) fn move_between(
        &mut self,
        ino: u64,
        from: Option<u64>,
        to: Option<u64>,
        vector: Option<Vec<f32>>,
    ) -> Result<()> {
        if let Some(root) = from {
            self.domain_load(root)?;
            self.domain_touch(root)?;
            self.vectors_defer(Deferred::Remove { root, ino })?;
        }
        if let (Some(root), Some(vector)) = (to, vector) {
            self.domain_load(root)?;
            self.domain_touch(root)?;
            let dim = self.vectors.domains.get(&root).map(|d| d.spec.dim);
            if dim == Some(vector.len()) {
                self.vectors_defer_upsert(root, ino, vector)?;
            } else {
                self.vectors_defer_unindexed(root, ino)?;
            }
        }
        Ok(())
    }

    /// Visit every directory entry under `top` (depth first), not
    /// descending into the subdirectories `prune` picks (by number and
    /// inode). The callback gets the directory, the entry key, the child's
    /// number and inode. Children whose inode is damaged are skipped (fsck's
    /// structural passes report them).
    pub(crate) fn walk_tree(
        &mut self,
        top: u64,
        prune: &dyn Fn(u64, &Inode) -> bool,
        f: &mut EntryVisitor<'_, D>,
    ) -> Result<()> {
        let mut stack = Vec::new();
        crate::fallible::push(&mut stack, top)?;
        let mut steps = 0u64;
        while let Some(dir) = stack.pop() {
            let mut offset = 2;
            loop {
                let batch = self.readdir(dir, offset, 256)?;
                let Some(last) = batch.last() else { break };
                offset = last.offset;
                for e in batch {
                    if e.name == b"." || e.name == b".." {
                        continue;
                    }
                    steps += 1;
                    if steps > self.sb.inode_count.saturating_mul(2) {
                        return Err(corrupt("directory tree has more entries than inodes allow"));
                    }
                    let key = e.offset - 3;
                    let child = match self.read_inode(e.ino) {
                        Ok(c) => c,
                        Err(FsError::Corrupt(_)) | Err(FsError::NotFound) => continue,
                        Err(err) => return Err(err),
                    };
                    if e.file_type == FileType::Directory
                        && child.parent == dir
                        && !prune(e.ino, &child)
                    {
                        crate::fallible::push(&mut stack, e.ino)?;
                    }
                    f(self, dir, key, e.ino, &child)?;
                }
            }
        }
        Ok(())
    }
}
