//! Directories: a B+tree of entries keyed by name hash.

use crate::device::BlockDevice;
use crate::error::{corrupt, corrupt_at, FsError, Location, Result};
use crate::fallible;
use crate::fs::{DirEntryOut, Fs, Stat};
use alloc::vec::Vec;
use vexfs_format::dirent::{key_range, valid_name, DirEntry, MAX_KEY};
use vexfs_format::inode::{FileType, Inode};
use vexfs_format::NAME_MAX;

/// Check a name for storage, mapping to the errno users expect.
pub(crate) fn check_name(name: &[u8]) -> Result<()> {
    if name.len() > NAME_MAX {
        return Err(FsError::NameTooLong);
    }
    if !valid_name(name) {
        return Err(FsError::Invalid);
    }
    Ok(())
}

/// The key to continue a scan from after it asked for keys `>= k` and got
/// `key`. The tree returns keys in order, so a smaller key, or one past the
/// format's range, is corruption: a crafted tree must end a lookup with an
/// error, never make it spin.
fn next_key(dir: u64, k: u64, key: u64) -> Result<u64> {
    if key < k {
        return Err(corrupt_at(
            "directory tree returned keys out of order",
            Location::Inode(dir),
        ));
    }
    if key > MAX_KEY {
        return Err(corrupt_at(
            "directory key out of range",
            Location::Inode(dir),
        ));
    }
    Ok(key + 1)
}

fn decode_entry(dir: u64, v: &[u8]) -> Result<DirEntry<'_>> {
    DirEntry::decode(v).map_err(|e| FsError::from(e).at(Location::Inode(dir)))
}

/// Append an entry to a readdir listing, fallibly (the exact scan of a
/// search walks directories through readdir).
fn push_entry(
    out: &mut Vec<DirEntryOut>,
    ino: u64,
    file_type: FileType,
    name: &[u8],
    offset: u64,
) -> Result<()> {
    let name = fallible::copy(name)?;
    fallible::push(
        out,
        DirEntryOut {
            ino,
            file_type,
            name,
            offset,
        },
    )
}

impl<D: BlockDevice> Fs<D> {
    /// Find `name` in directory `dir`: (key, ino, type).
    pub(crate) fn dir_find(
        &mut self,
        dir: u64,
        dinode: &Inode,
        name: &[u8],
    ) -> Result<Option<(u64, u64, FileType)>> {
        let (lo, hi) = key_range(name);
        let mut k = lo;
        while let Some((key, v)) = self.tree_ceil(dir, dinode, k)? {
            if key > hi {
                break;
            }
            let e = decode_entry(dir, &v)?;
            if e.name == name {
                return Ok(Some((key, e.ino, e.file_type)));
            }
            k = next_key(dir, k, key)?;
        }
        Ok(None)
    }

    /// Add an entry; `Exists` if the name is taken. Returns the entry's key.
    pub(crate) fn dir_add(
        &mut self,
        dir: u64,
        dinode: &mut Inode,
        name: &[u8],
        ino: u64,
        ft: FileType,
    ) -> Result<u64> {
        let key = self.dir_free_key(dir, dinode, name)?;
        self.dir_add_at(dir, dinode, key, name, ino, ft)?;
        Ok(key)
    }

    /// The key a new entry `name` would take (the first free collision
    /// slot of its hash); `Exists` if the name is taken.
    pub(crate) fn dir_free_key(&mut self, dir: u64, dinode: &Inode, name: &[u8]) -> Result<u64> {
        check_name(name)?;
        let (lo, hi) = key_range(name);
        let mut free = lo;
        let mut k = lo;
        while let Some((key, v)) = self.tree_ceil(dir, dinode, k)? {
            if key > hi {
                break;
            }
            if decode_entry(dir, &v)?.name == name {
                return Err(FsError::Exists);
            }
            if key == free {
                free += 1;
            }
            k = next_key(dir, k, key)?;
        }
        if free > hi {
            return Err(FsError::NoSpace);
        }
        Ok(free)
    }

    /// Add an entry under `key`, which [`Fs::dir_free_key`] returned for
    /// this name with the directory unchanged since.
    pub(crate) fn dir_add_at(
        &mut self,
        dir: u64,
        dinode: &mut Inode,
        key: u64,
        name: &[u8],
        ino: u64,
        ft: FileType,
    ) -> Result<()> {
        let e = DirEntry {
            ino,
            file_type: ft,
            name,
        };
        let mut buf = crate::fallible::zeroed(e.encoded_len())?;
        e.encode(&mut buf)?;
        let size = dinode
            .size
            .checked_add(1)
            .ok_or(corrupt_at("directory size overflows", Location::Inode(dir)))?;
        self.tree_insert(dir, dinode, key, &buf)?;
        dinode.size = size;
        Ok(())
    }

    /// Remove the entry `name`; returns the inode it named.
    pub(crate) fn dir_remove(
        &mut self,
        dir: u64,
        dinode: &mut Inode,
        name: &[u8],
    ) -> Result<(u64, FileType)> {
        let (key, ino, ft) = self.dir_find(dir, dinode, name)?.ok_or(FsError::NotFound)?;
        if !self.tree_remove(dir, dinode, key)? {
            return Err(corrupt("directory entry vanished during removal"));
        }
        dinode.size = dinode.size.saturating_sub(1);
        Ok((ino, ft))
    }

    /// Point an existing entry at another inode (rename over a target).
    /// Returns the entry's key.
    pub(crate) fn dir_retarget(
        &mut self,
        dir: u64,
        dinode: &mut Inode,
        name: &[u8],
        ino: u64,
        ft: FileType,
    ) -> Result<u64> {
        let (key, _, _) = self.dir_find(dir, dinode, name)?.ok_or(FsError::NotFound)?;
        let e = DirEntry {
            ino,
            file_type: ft,
            name,
        };
        let mut buf = crate::fallible::zeroed(e.encoded_len())?;
        e.encode(&mut buf)?;
        self.tree_update(dir, dinode, key, &buf)?;
        Ok(key)
    }

    /// Entries after readdir offset `offset` (0 = start; 1 and 2 are "."
    /// and ".."; entry offsets are `key + 3`), at most `max`.
    pub fn readdir(&mut self, dir: u64, offset: u64, max: usize) -> Result<Vec<DirEntryOut>> {
        self.trim_before_read();
        let dinode = self.read_inode(dir)?;
        if !dinode.is_dir() {
            return Err(FsError::NotDir);
        }
        let mut out = Vec::new();
        if offset < 1 && out.len() < max {
            push_entry(&mut out, dir, FileType::Directory, b".", 1)?;
        }
        if offset < 2 && out.len() < max {
            let parent = if dinode.parent == 0 {
                dir
            } else {
                dinode.parent
            };
            push_entry(&mut out, parent, FileType::Directory, b"..", 2)?;
        }
        let mut k = offset.saturating_sub(2);
        while out.len() < max {
            let batch = self.tree_range(dir, &dinode, k, max - out.len())?;
            if batch.is_empty() {
                break;
            }
            for (key, v) in batch {
                // Offsets strictly increase, or a crafted tree could list
                // the same names forever.
                let next = next_key(dir, k, key)?;
                let e = decode_entry(dir, &v)?;
                push_entry(&mut out, e.ino, e.file_type, e.name, key + 3)?;
                k = next;
            }
        }
        Ok(out)
    }

    /// [`Fs::readdir`] with each entry's attributes (readdirplus). A damaged
    /// child inode does not fail the listing: that entry's attributes are
    /// the error (EUCLEAN naming the inode) and the others are listed as
    /// usual, so one bad inode cannot make a whole directory unreadable.
    pub fn readdir_plus(
        &mut self,
        dir: u64,
        offset: u64,
        max: usize,
    ) -> Result<Vec<(DirEntryOut, Result<Stat>)>> {
        let entries = self.readdir(dir, offset, max)?;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let st = self.getattr(e.ino);
            out.push((e, st));
        }
        Ok(out)
    }
}
