//! The catalogue of indexes (inode 3): a directory outside the namespace
//! with one entry per index root, named by the root's inode number, that
//! points at the index file (saved index as data, record as the
//! `trusted.vexfs.index` attribute). FORMAT.md has the bytes.

use super::domain::IndexSpec;
use crate::device::BlockDevice;
use crate::error::{corrupt, FsError, Result};
use crate::fs::{Fs, RenameFlags};
use crate::xattr::XattrFlags;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use vexfs_ann::{IndexKind, Metric};
use vexfs_format::features::RO_COMPAT_VECTOR_INDEX;
use vexfs_format::inode::{Inode, Timestamp, S_IFDIR, S_IFREG};
use vexfs_format::vector::{
    IndexRecord, PARAMS_MAX, RECORD_SIZE, RECORD_XATTR, STATE_CLEAN, STATE_DIRTY,
};
use vexfs_format::VECTOR_CATALOG_INO;

const CAT: u64 = VECTOR_CATALOG_INO;

/// The spec a record describes.
pub(crate) fn spec_of(rec: &IndexRecord) -> Result<IndexSpec> {
    Ok(IndexSpec {
        kind: IndexKind::from_u8(rec.strategy).ok_or(corrupt("index record strategy"))?,
        metric: Metric::from_u8(rec.metric).ok_or(corrupt("index record metric"))?,
        dim: rec.dim as usize,
        params: rec.params().to_vec(),
    })
}

/// Decimal name of a catalogue entry, built on the stack (20 digits at
/// most, and a short suffix).
struct EntryName {
    buf: [u8; 32],
    len: usize,
}

impl core::ops::Deref for EntryName {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

fn entry_name(root: u64, suffix: &[u8]) -> EntryName {
    let mut e = EntryName {
        buf: [0; 32],
        len: 0,
    };
    let mut n = root;
    loop {
        e.buf[e.len] = b'0' + (n % 10) as u8;
        e.len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    e.buf[..e.len].reverse();
    let s = suffix.len().min(e.buf.len() - e.len);
    e.buf[e.len..e.len + s].copy_from_slice(&suffix[..s]);
    e.len += s;
    e
}

fn parse_entry(name: &[u8]) -> Option<u64> {
    if name.is_empty() || name.len() > 20 || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    name.iter().try_fold(0u64, |acc, &c| {
        acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

impl<D: BlockDevice> Fs<D> {
    /// Whether the catalogue directory exists.
    fn catalog_exists(&mut self) -> Result<bool> {
        match self.read_inode(CAT) {
            Ok(i) if i.is_dir() => Ok(true),
            Ok(_) => Err(corrupt("vector catalogue inode is not a directory")),
            Err(FsError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Create the catalogue (first index on this filesystem) and set the
    /// VECTOR_INDEX feature.
    fn catalog_ensure(&mut self, now: Timestamp) -> Result<()> {
        if !self.catalog_exists()? {
            let mut c = Inode::new(S_IFDIR | 0o700, 0, 0, now);
            c.nlink = 2;
            c.parent = CAT;
            crate::btree::init_root(&mut c.data)?;
            self.write_inode(CAT, &c)?;
        }
        self.sb.feature_ro_compat |= RO_COMPAT_VECTOR_INDEX;
        Ok(())
    }

    /// Every index root named in the catalogue (cached).
    pub(crate) fn catalog_roots(&mut self) -> Result<BTreeSet<u64>> {
        Ok(self.catalog_roots_cached()?.clone())
    }

    /// The first catalogued index root after `after` (from the first if
    /// `None`), in inode order: a walk over the roots that copies nothing.
    pub(crate) fn catalog_root_after(&mut self, after: Option<u64>) -> Result<Option<u64>> {
        use core::ops::Bound::{Excluded, Unbounded};
        let lower = after.map_or(Unbounded, Excluded);
        Ok(self.catalog_roots_cached()?.range((lower, Unbounded)).next().copied())
    }

    /// The catalogued roots, read from the catalogue on first use.
    fn catalog_roots_cached(&mut self) -> Result<&BTreeSet<u64>> {
        if self.vectors.roots.is_none() {
            let mut roots = BTreeSet::new();
            if self.catalog_exists()? {
                let mut offset = 2;
                loop {
                    let batch = self.readdir(CAT, offset, 256)?;
                    let Some(last) = batch.last() else { break };
                    offset = last.offset;
                    for e in batch {
                        if let Some(r) = parse_entry(&e.name) {
                            roots.insert(r);
                        }
                    }
                }
            }
            self.vectors.roots = Some(roots);
        }
        self.vectors.roots.as_ref().ok_or(FsError::Invalid)
    }

    /// The record and index file of `root`, if the catalogue has one.
    pub(crate) fn catalog_record(&mut self, root: u64) -> Result<Option<(IndexRecord, u64)>> {
        if !self.catalog_exists()? {
            return Ok(None);
        }
        let name = entry_name(root, b"");
        let file = match self.lookup(CAT, &name) {
            Ok(s) => s.ino,
            Err(FsError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let raw = match self.getxattr(file, RECORD_XATTR) {
            Ok(v) => v,
            Err(FsError::NoData) => return Err(corrupt("index file without a record")),
            Err(e) => return Err(e),
        };
        let rec = IndexRecord::decode(&raw)?;
        if rec.root != root {
            return Err(corrupt("index record names another directory"));
        }
        Ok(Some((rec, file)))
    }

    /// The saved index bytes of a record, checked against its length and
    /// checksum.
    pub(crate) fn catalog_read_data(&mut self, file: u64, rec: &IndexRecord) -> Result<Vec<u8>> {
        let len = usize::try_from(rec.data_len).map_err(|_| corrupt("index data length"))?;
        let st = self.getattr(file)?;
        if st.size != rec.data_len {
            return Err(corrupt("index file size does not match its record"));
        }
        let data = self.read(file, 0, len)?;
        if data.len() != len || vexfs_format::checksum::crc32c(&data) != rec.data_crc {
            return Err(corrupt("index data checksum"));
        }
        Ok(data)
    }

    fn catalog_put_record(&mut self, file: u64, rec: &IndexRecord, now: Timestamp) -> Result<()> {
        let raw: [u8; RECORD_SIZE] = rec.encode()?;
        self.setxattr(file, RECORD_XATTR, &raw, XattrFlags::default(), now)
    }

    /// Rewrite the record of `root` as dirty.
    pub(crate) fn catalog_mark_dirty(&mut self, root: u64) -> Result<()> {
        let (mut rec, file) = self
            .catalog_record(root)?
            .ok_or(corrupt("index without catalogue entry"))?;
        if rec.state == STATE_DIRTY {
            return Ok(());
        }
        rec.state = STATE_DIRTY;
        let now = self.vectors_now();
        self.catalog_put_record(file, &rec, now)
    }

    /// Write `bytes` as the saved index of `root` (a new index file renamed
    /// over the old one, record clean), inside the caller's transaction.
    pub(crate) fn catalog_store(
        &mut self,
        root: u64,
        spec: &IndexSpec,
        generation: u64,
        bytes: &[u8],
    ) -> Result<()> {
        let now = self.vectors_now();
        self.catalog_ensure(now)?;
        let tmp = entry_name(root, b".new");
        match self.unlink(CAT, &tmp, now) {
            Ok(()) | Err(FsError::NotFound) => {}
            Err(e) => return Err(e),
        }
        let file = self.create(CAT, &tmp, S_IFREG | 0o600, 0, 0, now)?.ino;
        let mut off = 0usize;
        while off < bytes.len() {
            let end = bytes.len().min(off + (1 << 22));
            let chunk = bytes.get(off..end).ok_or(FsError::Invalid)?;
            self.write(file, off as u64, chunk, now)?;
            off = end;
        }
        let mut rec = IndexRecord {
            strategy: spec.kind as u8,
            metric: spec.metric as u8,
            dim: u32::try_from(spec.dim).map_err(|_| FsError::Invalid)?,
            state: STATE_CLEAN,
            root,
            generation,
            data_len: bytes.len() as u64,
            data_crc: vexfs_format::checksum::crc32c(bytes),
            params: [0; PARAMS_MAX],
            params_len: 0,
        };
        rec.set_params(&spec.params).map_err(|_| FsError::Invalid)?;
        self.catalog_put_record(file, &rec, now)?;
        let name = entry_name(root, b"");
        self.rename(CAT, &tmp, CAT, &name, RenameFlags::default(), now)?;
        Ok(())
    }

    /// Remove the catalogue entry of `root` (and a leftover `.new`).
    pub(crate) fn catalog_remove(&mut self, root: u64) -> Result<()> {
        let now = self.vectors_now();
        for suffix in [&b""[..], b".new"] {
            match self.unlink(CAT, &entry_name(root, suffix), now) {
                Ok(()) | Err(FsError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Timestamps for catalogue changes: the superblock's last write time
    /// (the core has no clock; these inodes are never shown to users).
    pub(crate) fn vectors_now(&self) -> Timestamp {
        Timestamp::new(self.sb.write_time.max(self.sb.mount_time), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_round_trip() {
        assert_eq!(&*entry_name(0, b""), b"0");
        assert_eq!(&*entry_name(1234, b".new"), b"1234.new");
        assert_eq!(parse_entry(b"1234"), Some(1234));
        assert_eq!(parse_entry(b"1234.new"), None);
        assert_eq!(parse_entry(b""), None);
        assert_eq!(parse_entry(b"99999999999999999999"), None);
        assert_eq!(parse_entry(&entry_name(u64::MAX, b"")), Some(u64::MAX));
    }
}
