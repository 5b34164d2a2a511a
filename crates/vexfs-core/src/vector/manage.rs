//! Index management: create, reconfigure, drop, rebuild, save, stats.

use super::domain::{Domain, IndexSpec};
use super::{Deferred, IndexInfo};
use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::fs::Fs;
use alloc::boxed::Box;
use alloc::vec::Vec;
use vexfs_format::inode::FLAG_VECTOR_INDEX;
use vexfs_format::vector::STATE_CLEAN;
use vexfs_format::ROOT_INO;

impl<D: BlockDevice> Fs<D> {
    fn indexed_dir(&mut self, dir: u64) -> Result<bool> {
        let i = self.read_inode(dir)?;
        if !i.is_dir() {
            return Err(FsError::NotDir);
        }
        if dir == vexfs_format::VECTOR_CATALOG_INO {
            return Err(FsError::Invalid);
        }
        Ok(i.flags & FLAG_VECTOR_INDEX != 0)
    }

    /// The index that a directory's files would belong to without `dir`'s
    /// own index: the nearest indexed strict ancestor.
    fn enclosing_root(&mut self, dir: u64) -> Result<Option<u64>> {
        if dir == ROOT_INO {
            return Ok(None);
        }
        let p = self.read_inode(dir)?.parent;
        if p == 0 || p == dir {
            return Ok(None);
        }
        self.index_root_of_dir(p)
    }

    /// Make `dir` an index root built from the files under it (or, with
    /// `replace`, rebuild an existing one with a new spec). The build and the
    /// first save happen before this returns.
    pub fn index_create(&mut self, dir: u64, spec: IndexSpec, replace: bool) -> Result<IndexInfo> {
        if self.read_only {
            return Err(FsError::ReadOnly);
        }
        let exists = self.indexed_dir(dir)?;
        match (exists, replace) {
            (true, false) => return Err(FsError::Exists),
            (false, true) => return Err(FsError::NoData),
            _ => {}
        }
        spec.empty_index()?;
        let d = self.build_domain(dir, spec)?;
        self.install_domain(dir, d, !exists)
    }

    /// Rebuild `dir`'s index from the files, with its current spec.
    pub fn index_rebuild(&mut self, dir: u64) -> Result<IndexInfo> {
        if !self.indexed_dir(dir)? {
            return Err(FsError::NoData);
        }
        let (rec, _) = self.catalog_record(dir)?.ok_or(crate::error::corrupt(
            "indexed directory without catalogue entry",
        ))?;
        let spec = super::catalog::spec_of(&rec)?;
        let mut d = self.build_domain(dir, spec)?;
        d.train_now()?;
        d.generation = rec.generation;
        self.install_domain(dir, d, false)
    }

    /// Save `d` as the index of `dir` and make it the live one; `new` when
    /// the directory was not indexed before (its files leave the enclosing
    /// index).
    fn install_domain(&mut self, dir: u64, mut d: Domain, new: bool) -> Result<IndexInfo> {
        let bytes = d.serialize()?;
        let generation = d.generation.wrapping_add(1);
        let outer = if new { self.enclosing_root(dir)? } else { None };
        let members: Vec<u64> = if outer.is_some() {
            let mut m = Vec::new();
            self.walk_embeddings(dir, true, &mut |_fs, ino, _v| {
                m.try_reserve(1).map_err(|_| FsError::NoMemory)?;
                m.push(ino);
                Ok(())
            })?;
            m
        } else {
            Vec::new()
        };
        let spec = d.spec.try_clone()?;
        // What can run out of memory after the commit is done before it:
        // the reply, and room for the live copy.
        let mut info = d.info()?;
        crate::nr_map::reserve(&mut self.vectors.domains, 1)?;
        self.transact(|fs| {
            let mut i = fs.read_inode(dir)?;
            i.flags |= FLAG_VECTOR_INDEX;
            fs.write_inode(dir, &i)?;
            fs.catalog_store(dir, &spec, generation, &bytes)?;
            if let Some(o) = outer {
                fs.domain_load(o)?;
                fs.domain_touch(o)?;
                for &ino in &members {
                    fs.vectors_defer(Deferred::Remove { root: o, ino })?;
                }
            }
            Ok(())
        })?;
        d.record_clean = true;
        d.generation = generation;
        d.disk_bytes = bytes.len() as u64;
        (info.clean, info.generation, info.disk_bytes) = (true, generation, d.disk_bytes);
        crate::nr_map::try_insert(&mut self.vectors.domains, dir, d)?;
        // Read again from the catalogue when next needed (growing the
        // cached set could fail here, after the commit).
        self.vectors.roots = None;
        Ok(info)
    }

    /// Remove `dir`'s index; its files join the enclosing index, if any.
    pub fn index_drop(&mut self, dir: u64) -> Result<()> {
        if !self.indexed_dir(dir)? {
            return Err(FsError::NoData);
        }
        let outer = self.enclosing_root(dir)?;
        self.transact(|fs| {
            let mut i = fs.read_inode(dir)?;
            i.flags &= !FLAG_VECTOR_INDEX;
            fs.write_inode(dir, &i)?;
            fs.catalog_remove(dir)?;
            fs.vectors_defer(Deferred::Forget { root: dir })?;
            if outer.is_some() {
                // The dropped index is forgotten as a whole: only the
                // enclosing one gains.
                fs.move_subtree(dir, None, outer)?;
            }
            Ok(())
        })?;
        self.vectors.domains.remove(&dir);
        self.vectors.roots = None;
        Ok(())
    }

    /// Called by rmdir inside its transaction for an (empty) index root.
    pub(crate) fn index_forget_root(&mut self, dir: u64) -> Result<()> {
        self.catalog_remove(dir)?;
        self.vectors_defer(Deferred::Forget { root: dir })?;
        self.vectors.roots = None;
        Ok(())
    }

    /// Persist `dir`'s index now if it changed since the last save.
    pub fn index_save(&mut self, dir: u64) -> Result<()> {
        if !self.indexed_dir(dir)? {
            return Err(FsError::NoData);
        }
        self.domain_load(dir)?;
        if self
            .vectors
            .domains
            .get(&dir)
            .is_some_and(|d| !d.record_clean || d.absorbed_unsaved)
        {
            self.domain_save(dir)?;
        }
        Ok(())
    }

    /// The index covering `dir` (loading it), or `None`.
    pub fn index_info(&mut self, dir: u64) -> Result<Option<IndexInfo>> {
        let i = self.read_inode(dir)?;
        if !i.is_dir() {
            return Err(FsError::NotDir);
        }
        let Some(root) = self.index_root_of_dir(dir)? else {
            return Ok(None);
        };
        // Only a copy not yet in memory can be found unusable here.
        let stale = if self.vectors.domains.contains_key(&root) {
            false
        } else {
            match self.catalog_record(root)? {
                Some((rec, file)) => {
                    rec.state != STATE_CLEAN || self.catalog_read_data(file, &rec).is_err()
                }
                None => true,
            }
        };
        self.domain_load(root)?;
        let mut info = self
            .vectors
            .domains
            .get(&root)
            .map(Domain::info)
            .ok_or(FsError::NotFound)??;
        info.stale = stale && !info.clean;
        Ok(Some(info))
    }

    /// Every index root with its spec (for `vexctl stats` and fsck).
    pub fn index_roots(&mut self) -> Result<Vec<u64>> {
        Ok(self.catalog_roots()?.into_iter().collect())
    }

    /// A boxed empty index for a spec (validates it).
    pub fn index_spec_check(spec: &IndexSpec) -> Result<Box<dyn vexfs_ann::VectorIndex>> {
        spec.empty_index()
    }
}
