//! Namespace operations: lookup, create, link, unlink, rename, symlinks,
//! attribute changes.
//!
//! Permission checks belong to the front end (the kernel VFS, or FUSE's
//! `default_permissions`); the core keeps link counts, parents and
//! timestamps right.

use crate::device::BlockDevice;
use crate::dir::check_name;
use crate::error::{corrupt, FsError, Result};
use crate::fs::{Fs, RenameFlags, SetAttr, Stat};
use alloc::vec::Vec;
use vexfs_format::inode::{FileType, Inode, Timestamp, DATA_SIZE, FLAG_INLINE_SYMLINK, S_IFMT};
use vexfs_format::{ROOT_INO, SYMLINK_MAX};

/// Hard links per inode, as ext4.
pub const LINK_MAX: u32 = 65000;

impl<D: BlockDevice> Fs<D> {
    fn dir_inode(&mut self, ino: u64) -> Result<Inode> {
        let i = self.read_inode(ino)?;
        if !i.is_dir() {
            return Err(FsError::NotDir);
        }
        Ok(i)
    }

    /// Resolve `name` in directory `parent`.
    pub fn lookup(&mut self, parent: u64, name: &[u8]) -> Result<Stat> {
        self.trim_before_read();
        let d = self.dir_inode(parent)?;
        let ino = match name {
            b"." => parent,
            b".." => {
                if d.parent == 0 {
                    parent
                } else {
                    d.parent
                }
            }
            _ => {
                if name.len() > vexfs_format::NAME_MAX {
                    return Err(FsError::NameTooLong);
                }
                self.dir_find(parent, &d, name)?.ok_or(FsError::NotFound)?.1
            }
        };
        self.getattr(ino)
    }

    /// Create a non-directory node (regular, device, fifo, socket).
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors mknod(2) plus the caller identity and time the core takes as arguments"
    )]
    pub fn mknod(
        &mut self,
        parent: u64,
        name: &[u8],
        mode: u16,
        rdev: u32,
        uid: u32,
        gid: u32,
        now: Timestamp,
    ) -> Result<Stat> {
        let ft = FileType::from_mode(mode).ok_or(FsError::Invalid)?;
        if matches!(ft, FileType::Directory | FileType::Symlink) {
            return Err(FsError::Invalid);
        }
        self.create_node(parent, name, mode, uid, gid, now, |_, i| {
            i.rdev = if matches!(ft, FileType::CharDevice | FileType::BlockDevice) {
                rdev
            } else {
                0
            };
            Ok(())
        })
    }

    /// Create a regular file.
    pub fn create(
        &mut self,
        parent: u64,
        name: &[u8],
        perm: u16,
        uid: u32,
        gid: u32,
        now: Timestamp,
    ) -> Result<Stat> {
        self.mknod(
            parent,
            name,
            vexfs_format::inode::S_IFREG | (perm & !S_IFMT),
            0,
            uid,
            gid,
            now,
        )
    }

    /// Create a directory.
    pub fn mkdir(
        &mut self,
        parent: u64,
        name: &[u8],
        perm: u16,
        uid: u32,
        gid: u32,
        now: Timestamp,
    ) -> Result<Stat> {
        let mode = vexfs_format::inode::S_IFDIR | (perm & !S_IFMT);
        self.create_node(parent, name, mode, uid, gid, now, |_, i| {
            i.nlink = 2;
            i.parent = parent;
            Ok(())
        })
    }

    /// Create a symbolic link.
    pub fn symlink(
        &mut self,
        parent: u64,
        name: &[u8],
        target: &[u8],
        uid: u32,
        gid: u32,
        now: Timestamp,
    ) -> Result<Stat> {
        if target.is_empty() {
            return Err(FsError::NotFound);
        }
        if target.len() > SYMLINK_MAX {
            return Err(FsError::NameTooLong);
        }
        let mode = vexfs_format::inode::S_IFLNK | 0o777;
        self.create_node(parent, name, mode, uid, gid, now, |fs_ino, i| {
            let (fs, ino) = fs_ino;
            if target.len() <= DATA_SIZE {
                i.data.fill(0);
                i.data
                    .get_mut(..target.len())
                    .ok_or(FsError::Invalid)?
                    .copy_from_slice(target);
                i.flags |= FLAG_INLINE_SYMLINK;
            } else {
                fs.write_range(ino, i, 0, target)?;
            }
            i.size = target.len() as u64;
            Ok(())
        })
    }

    /// The target of a symbolic link.
    pub fn readlink(&mut self, ino: u64) -> Result<Vec<u8>> {
        self.trim_before_read();
        let i = self.read_inode(ino)?;
        if !i.is_symlink() {
            return Err(FsError::Invalid);
        }
        if i.flags & FLAG_INLINE_SYMLINK != 0 {
            return Ok(i
                .data
                .get(..i.size as usize)
                .ok_or(corrupt("inline symlink length"))?
                .to_vec());
        }
        if i.size > SYMLINK_MAX as u64 {
            return Err(corrupt("symlink length"));
        }
        self.read_inode_data(ino, &i, 0, i.size as usize)
    }

    #[allow(clippy::too_many_arguments)]
    fn create_node(
        &mut self,
        parent: u64,
        name: &[u8],
        mode: u16,
        uid: u32,
        gid: u32,
        now: Timestamp,
        mut init: impl FnMut((&mut Self, u64), &mut Inode) -> Result<()>,
    ) -> Result<Stat> {
        check_name(name)?;
        self.transact(|fs| {
            let mut d = fs.dir_inode(parent)?;
            if d.nlink == 0 {
                return Err(FsError::NotFound);
            }
            // One descent both refuses a taken name and finds the new
            // entry's key (nothing below changes the directory's tree).
            let key = fs.dir_free_key(parent, &d, name)?;
            let is_dir = mode & S_IFMT == vexfs_format::inode::S_IFDIR;
            if is_dir && d.nlink >= LINK_MAX {
                return Err(FsError::TooManyLinks);
            }
            let (ino, mut inode) = fs.create_inode(mode, uid, gid, now)?;
            init((fs, ino), &mut inode)?;
            let ft = inode.file_type().ok_or(FsError::Invalid)?;
            fs.dir_add_at(parent, &mut d, key, name, ino, ft)?;
            // A new inode has no embedding yet: its primary link is set
            // directly, with no index to update.
            inode.parent = parent;
            inode.link_key = key;
            fs.write_inode(ino, &inode)?;
            if is_dir {
                d.nlink += 1;
            }
            d.mtime = now;
            d.ctime = now;
            fs.write_inode(parent, &d)?;
            fs.stat_of(ino, &inode)
        })
    }

    /// Add a hard link `newparent/newname` to `ino`.
    pub fn link(
        &mut self,
        ino: u64,
        newparent: u64,
        newname: &[u8],
        now: Timestamp,
    ) -> Result<Stat> {
        check_name(newname)?;
        self.transact(|fs| {
            let mut i = fs.read_inode(ino)?;
            if i.is_dir() {
                return Err(FsError::NotPermitted);
            }
            if i.nlink >= LINK_MAX {
                return Err(FsError::TooManyLinks);
            }
            if i.nlink == 0 {
                return Err(FsError::NotFound);
            }
            let mut d = fs.dir_inode(newparent)?;
            let ft = i.file_type().ok_or(FsError::Invalid)?;
            let key = fs.dir_add(newparent, &mut d, newname, ino, ft)?;
            d.mtime = now;
            d.ctime = now;
            fs.write_inode(newparent, &d)?;
            i.nlink += 1;
            i.ctime = now;
            fs.write_inode(ino, &i)?;
            if i.parent == 0 {
                // The file had lost its primary link: this one takes over.
                fs.set_primary(ino, Some((newparent, key)))?;
                i = fs.read_inode(ino)?;
            }
            fs.stat_of(ino, &i)
        })
    }

    /// Drop one link from `ino`, deleting it when unreferenced.
    fn drop_link(&mut self, ino: u64, now: Timestamp) -> Result<()> {
        let mut i = self.read_inode(ino)?;
        if i.is_dir() {
            i.nlink = 0;
        } else {
            i.nlink = i.nlink.saturating_sub(1);
        }
        i.ctime = now;
        self.write_inode(ino, &i)?;
        if i.nlink == 0 {
            self.maybe_free_unlinked(ino)?;
        }
        Ok(())
    }

    /// Remove a non-directory entry.
    pub fn unlink(&mut self, parent: u64, name: &[u8], now: Timestamp) -> Result<()> {
        self.transact(|fs| {
            let mut d = fs.dir_inode(parent)?;
            let (key, ino, ft) = fs.dir_find(parent, &d, name)?.ok_or(FsError::NotFound)?;
            if ft == FileType::Directory {
                return Err(FsError::IsDir);
            }
            fs.dir_remove(parent, &mut d, name)?;
            d.mtime = now;
            d.ctime = now;
            fs.write_inode(parent, &d)?;
            fs.entry_gone(ino, (parent, key))?;
            fs.drop_link(ino, now)
        })
    }

    /// Remove an empty directory.
    pub fn rmdir(&mut self, parent: u64, name: &[u8], now: Timestamp) -> Result<()> {
        if name == b"." {
            return Err(FsError::Invalid);
        }
        if name == b".." {
            return Err(FsError::NotEmpty);
        }
        self.transact(|fs| {
            let mut d = fs.dir_inode(parent)?;
            let (_, ino, _) = fs.dir_find(parent, &d, name)?.ok_or(FsError::NotFound)?;
            let child = fs.read_inode(ino)?;
            if !child.is_dir() {
                return Err(FsError::NotDir);
            }
            if !fs.tree_is_empty(ino, &child)? {
                return Err(FsError::NotEmpty);
            }
            if child.flags & vexfs_format::inode::FLAG_VECTOR_INDEX != 0 {
                fs.index_forget_root(ino)?;
            }
            fs.dir_remove(parent, &mut d, name)?;
            d.nlink = d.nlink.saturating_sub(1);
            d.mtime = now;
            d.ctime = now;
            fs.write_inode(parent, &d)?;
            fs.drop_link(ino, now)
        })
    }

    /// Whether `ancestor` is `dir` or one of its ancestors.
    fn is_ancestor(&mut self, ancestor: u64, mut dir: u64) -> Result<bool> {
        for _ in 0..=self.sb.inode_count {
            if dir == ancestor {
                return Ok(true);
            }
            if dir == ROOT_INO {
                return Ok(false);
            }
            let p = self.read_inode(dir)?.parent;
            if p == 0 {
                return Err(corrupt("directory without parent"));
            }
            dir = p;
        }
        Err(corrupt("directory parent chain loops"))
    }

    /// `renameat2(2)`.
    pub fn rename(
        &mut self,
        oldparent: u64,
        oldname: &[u8],
        newparent: u64,
        newname: &[u8],
        flags: RenameFlags,
        now: Timestamp,
    ) -> Result<()> {
        if flags.noreplace && flags.exchange {
            return Err(FsError::Invalid);
        }
        check_name(newname)?;
        self.transact(|fs| {
            let mut od = fs.dir_inode(oldparent)?;
            let (_, src, sft) = fs
                .dir_find(oldparent, &od, oldname)?
                .ok_or(FsError::NotFound)?;
            let nd0 = fs.dir_inode(newparent)?;
            let dst = fs.dir_find(newparent, &nd0, newname)?;
            let src_is_dir = sft == FileType::Directory;
            if src_is_dir && oldparent != newparent && fs.is_ancestor(src, newparent)? {
                return Err(FsError::Invalid);
            }
            if flags.exchange {
                let (_, dino, dft) = dst.ok_or(FsError::NotFound)?;
                let dst_is_dir = dft == FileType::Directory;
                if dst_is_dir && oldparent != newparent && fs.is_ancestor(dino, oldparent)? {
                    return Err(FsError::Invalid);
                }
                return fs.exchange(
                    oldparent, oldname, src, sft, newparent, newname, dino, dft, now,
                );
            }
            let new_key = if let Some((_, dino, dft)) = dst {
                if flags.noreplace {
                    return Err(FsError::Exists);
                }
                if dino == src {
                    return Ok(()); // Two links to one inode: nothing to do.
                }
                let dst_is_dir = dft == FileType::Directory;
                if src_is_dir && !dst_is_dir {
                    return Err(FsError::NotDir);
                }
                if !src_is_dir && dst_is_dir {
                    return Err(FsError::IsDir);
                }
                if dst_is_dir {
                    let di = fs.read_inode(dino)?;
                    if !fs.tree_is_empty(dino, &di)? {
                        return Err(FsError::NotEmpty);
                    }
                }
                // Point the existing entry at the source, then drop the old target.
                let mut nd = fs.dir_inode(newparent)?;
                let key = fs.dir_retarget(newparent, &mut nd, newname, src, sft)?;
                if dst_is_dir {
                    nd.nlink = nd.nlink.saturating_sub(1);
                }
                nd.mtime = now;
                nd.ctime = now;
                fs.write_inode(newparent, &nd)?;
                fs.entry_gone(dino, (newparent, key))?;
                fs.drop_link(dino, now)?;
                key
            } else {
                let mut nd = fs.dir_inode(newparent)?;
                let key = fs.dir_add(newparent, &mut nd, newname, src, sft)?;
                nd.mtime = now;
                nd.ctime = now;
                fs.write_inode(newparent, &nd)?;
                key
            };
            // Remove the old name (re-read: the same directory may have changed).
            od = fs.dir_inode(oldparent)?;
            fs.dir_remove(oldparent, &mut od, oldname)?;
            od.mtime = now;
            od.ctime = now;
            fs.write_inode(oldparent, &od)?;
            // The moved entry becomes the primary link (before ".." of a
            // moved directory changes below, so the old index is known).
            fs.set_primary(src, Some((newparent, new_key)))?;
            let mut si = fs.read_inode(src)?;
            si.ctime = now;
            if src_is_dir && oldparent != newparent {
                si.parent = newparent;
                let mut o = fs.read_inode(oldparent)?;
                o.nlink = o.nlink.saturating_sub(1);
                fs.write_inode(oldparent, &o)?;
                let mut n = fs.read_inode(newparent)?;
                if n.nlink >= LINK_MAX {
                    return Err(FsError::TooManyLinks);
                }
                n.nlink += 1;
                fs.write_inode(newparent, &n)?;
            }
            fs.write_inode(src, &si)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn exchange(
        &mut self,
        op: u64,
        oname: &[u8],
        src: u64,
        sft: FileType,
        np: u64,
        nname: &[u8],
        dst: u64,
        dft: FileType,
        now: Timestamp,
    ) -> Result<()> {
        let mut od = self.dir_inode(op)?;
        let okey = self.dir_retarget(op, &mut od, oname, dst, dft)?;
        od.mtime = now;
        od.ctime = now;
        self.write_inode(op, &od)?;
        let mut nd = self.dir_inode(np)?;
        let nkey = self.dir_retarget(np, &mut nd, nname, src, sft)?;
        nd.mtime = now;
        nd.ctime = now;
        self.write_inode(np, &nd)?;
        self.set_primary(src, Some((np, nkey)))?;
        self.set_primary(dst, Some((op, okey)))?;
        for (ino, parent) in [(src, np), (dst, op)] {
            let mut i = self.read_inode(ino)?;
            i.ctime = now;
            if i.is_dir() {
                i.parent = parent;
            }
            self.write_inode(ino, &i)?;
        }
        if op != np && (sft == FileType::Directory) != (dft == FileType::Directory) {
            // A directory moved one way and a non-directory the other.
            let (gain, lose) = if sft == FileType::Directory {
                (np, op)
            } else {
                (op, np)
            };
            let mut g = self.read_inode(gain)?;
            g.nlink = g.nlink.checked_add(1).ok_or(FsError::TooManyLinks)?;
            self.write_inode(gain, &g)?;
            let mut l = self.read_inode(lose)?;
            l.nlink = l.nlink.saturating_sub(1);
            self.write_inode(lose, &l)?;
        }
        Ok(())
    }

    /// Change attributes (chmod, chown, truncate, utimes).
    pub fn setattr(&mut self, ino: u64, a: &SetAttr, now: Timestamp) -> Result<Stat> {
        let st = self.transact(|fs| {
            let mut i = fs.read_inode(ino)?;
            if let Some(size) = a.size {
                if i.is_dir() {
                    return Err(FsError::IsDir);
                }
                if !i.is_reg() {
                    return Err(FsError::Invalid);
                }
                if size != i.size {
                    fs.set_size(ino, &mut i, size)?;
                    i.mtime = now;
                }
            }
            if let Some(m) = a.mode {
                i.mode = (i.mode & S_IFMT) | (m & !S_IFMT);
                fs.acl_chmod(ino, &mut i)?;
            }
            if let Some(u) = a.uid {
                i.uid = u;
            }
            if let Some(g) = a.gid {
                i.gid = g;
            }
            if let Some(t) = a.atime {
                i.atime = t;
            }
            if let Some(t) = a.mtime {
                i.mtime = t;
            }
            i.ctime = a.ctime.unwrap_or(now);
            fs.write_inode(ino, &i)?;
            fs.stat_of(ino, &i)
        })?;
        if a.size.is_some() {
            // A large truncation finished in steps after the transaction:
            // report the block count it ended with.
            return self.getattr(ino);
        }
        Ok(st)
    }
}
