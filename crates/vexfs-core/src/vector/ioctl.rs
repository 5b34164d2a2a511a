//! The ioctls of `include/uapi/vexfs.h`, decoded from and encoded into
//! plain bytes, so the FUSE daemon and the kernel module hand this module
//! exactly what the caller passed and return what it gives back.
//!
//! Requests are read field by field at the offsets of the `vexfs-uapi`
//! structs (never materialised as a 14 KiB value on the stack: the kernel
//! stack is 16 KiB). Anything malformed is `EINVAL`.

use super::{IndexInfo, IndexSpec, QuerySession};
use crate::device::BlockDevice;
use crate::error::{FsError, Result};
use crate::fallible;
use crate::fs::Fs;
use crate::perm::{Caller, MAY_EXEC, MAY_WRITE};
use crate::vector::search::{Filter, Query, SearchOutcome, K_MAX};
use crate::xattr::XattrFlags;
use alloc::vec::Vec;
use core::mem::{offset_of, size_of};
use vexfs_ann::{IndexKind, Metric};
use vexfs_format::inode::{Timestamp, S_IFREG};
use vexfs_format::vector::{embedding_dim, EMBEDDING_XATTR, MAX_DIM};
use vexfs_uapi as u;

fn get_u32(b: &[u8], off: usize) -> Result<u32> {
    let s = b.get(off..off + 4).ok_or(FsError::Invalid)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn get_u64(b: &[u8], off: usize) -> Result<u64> {
    let s = b.get(off..off + 8).ok_or(FsError::Invalid)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

fn put_u32(b: &mut [u8], off: usize, v: u32) -> Result<()> {
    b.get_mut(off..off + 4)
        .ok_or(FsError::Invalid)?
        .copy_from_slice(&v.to_le_bytes());
    Ok(())
}

fn put_u64(b: &mut [u8], off: usize, v: u64) -> Result<()> {
    b.get_mut(off..off + 8)
        .ok_or(FsError::Invalid)?
        .copy_from_slice(&v.to_le_bytes());
    Ok(())
}

/// `count` floats at `off`, all finite.
fn get_floats(b: &[u8], off: usize, count: usize) -> Result<Vec<f32>> {
    let bytes = b.get(off..off + count * 4).ok_or(FsError::Invalid)?;
    embedding_dim(bytes).map_err(|_| FsError::Invalid)?;
    super::embedding::floats(bytes)
}

/// A NUL-terminated string field (the NUL must be inside the field).
fn get_str(b: &[u8], off: usize, len: usize) -> Result<&[u8]> {
    let f = b.get(off..off + len).ok_or(FsError::Invalid)?;
    let end = f.iter().position(|&c| c == 0).ok_or(FsError::Invalid)?;
    f.get(..end).ok_or(FsError::Invalid)
}

/// The whole struct must be there, with its own size in `size`.
fn check_size<T>(input: &[u8]) -> Result<()> {
    if input.len() != size_of::<T>() || get_u32(input, 0)? as usize != size_of::<T>() {
        return Err(FsError::Invalid);
    }
    Ok(())
}

fn metric_from(code: u32) -> Result<Option<Metric>> {
    Ok(match code {
        u::METRIC_DEFAULT => None,
        u::METRIC_L2 => Some(Metric::L2),
        u::METRIC_IP => Some(Metric::InnerProduct),
        u::METRIC_COSINE => Some(Metric::Cosine),
        _ => return Err(FsError::Invalid),
    })
}

fn metric_code(m: Metric) -> u32 {
    match m {
        Metric::L2 => u::METRIC_L2,
        Metric::InnerProduct => u::METRIC_IP,
        Metric::Cosine => u::METRIC_COSINE,
    }
}

fn kind_from(code: u32) -> Result<IndexKind> {
    Ok(match code {
        u::STRATEGY_DEFAULT | u::STRATEGY_HNSW => IndexKind::Hnsw,
        u::STRATEGY_FLAT => IndexKind::Flat,
        u::STRATEGY_IVF => IndexKind::IvfFlat,
        u::STRATEGY_IVFPQ => IndexKind::IvfPq,
        u::STRATEGY_LSH => IndexKind::Lsh,
        _ => return Err(FsError::Invalid),
    })
}

fn kind_code(k: IndexKind) -> u32 {
    match k {
        IndexKind::Flat => u::STRATEGY_FLAT,
        IndexKind::Hnsw => u::STRATEGY_HNSW,
        IndexKind::IvfFlat => u::STRATEGY_IVF,
        IndexKind::IvfPq => u::STRATEGY_IVFPQ,
        IndexKind::Lsh => u::STRATEGY_LSH,
    }
}

fn opt(v: u32) -> Option<usize> {
    (v != 0).then_some(v as usize)
}

/// Fill `hits`/`names` of a reply (at the given offsets) from `hits`,
/// starting at hit `from`; returns (count, names_used).
fn put_hits(
    out: &mut [u8],
    hits_off: usize,
    names_off: usize,
    res: &SearchOutcome,
    from: usize,
) -> Result<(u32, u32)> {
    let mut used = 0usize;
    let mut count = 0u32;
    for (slot, h) in res.hits.iter().skip(from).take(u::HITS_MAX).enumerate() {
        let base = hits_off + slot * size_of::<u::Hit>();
        put_u64(out, base + offset_of!(u::Hit, ino), h.ino)?;
        put_u32(
            out,
            base + offset_of!(u::Hit, distance),
            h.distance.to_bits(),
        )?;
        let mut flags = 0u16;
        let (mut off, mut len) = (0u32, 0u16);
        match res.path(h) {
            Some(p) if used + p.len() <= u::NAMES_MAX && p.len() <= usize::from(u16::MAX) => {
                let dst = out
                    .get_mut(names_off + used..names_off + used + p.len())
                    .ok_or(FsError::Invalid)?;
                dst.copy_from_slice(p);
                off = used as u32;
                len = p.len() as u16;
                used += p.len();
            }
            _ => flags |= u::HIT_NO_PATH,
        }
        put_u32(out, base + offset_of!(u::Hit, path_off), off)?;
        let pl = base + offset_of!(u::Hit, path_len);
        out.get_mut(pl..pl + 2)
            .ok_or(FsError::Invalid)?
            .copy_from_slice(&len.to_le_bytes());
        let fl = base + offset_of!(u::Hit, flags);
        out.get_mut(fl..fl + 2)
            .ok_or(FsError::Invalid)?
            .copy_from_slice(&flags.to_le_bytes());
        put_u32(out, base + offset_of!(u::Hit, reserved), 0)?;
        count += 1;
    }
    Ok((count, used as u32))
}

/// Where a request struct keeps its query parameters and filters
/// (`vexfs_search` and `vexfs_search_batch` carry the same fields at
/// different offsets).
struct QueryFields {
    ef: usize,
    nprobe: usize,
    rerank: usize,
    metric: usize,
    subtree: usize,
    glob: usize,
    xattr_name: usize,
    xattr_len: usize,
    xattr_value: usize,
}

macro_rules! query_fields {
    ($t:ty) => {
        QueryFields {
            ef: offset_of!($t, ef),
            nprobe: offset_of!($t, nprobe),
            rerank: offset_of!($t, rerank),
            metric: offset_of!($t, metric),
            subtree: offset_of!($t, subtree_ino),
            glob: offset_of!($t, name_glob),
            xattr_name: offset_of!($t, xattr_name),
            xattr_len: offset_of!($t, xattr_value_len),
            xattr_value: offset_of!($t, xattr_value),
        }
    };
}

/// The query a request describes, for `vector` (checked by the caller).
fn get_query(
    input: &[u8],
    f: QueryFields,
    vector: Vec<f32>,
    k: usize,
    flags: u32,
) -> Result<Query> {
    let glob = get_str(input, f.glob, u::GLOB_MAX)?;
    let xname = get_str(input, f.xattr_name, u::XATTR_NAME_MAX)?;
    let xlen = get_u32(input, f.xattr_len)? as usize;
    if xlen > u::XATTR_VALUE_MAX || (xname.is_empty() && xlen != 0) {
        return Err(FsError::Invalid);
    }
    let xval = input
        .get(f.xattr_value..f.xattr_value + xlen)
        .ok_or(FsError::Invalid)?;
    let subtree = get_u64(input, f.subtree)?;
    Ok(Query {
        vector,
        k,
        ef: opt(get_u32(input, f.ef)?),
        nprobe: opt(get_u32(input, f.nprobe)?),
        rerank: opt(get_u32(input, f.rerank)?),
        metric: metric_from(get_u32(input, f.metric)?)?,
        exact: flags & u::SEARCH_EXACT != 0,
        paths: flags & u::SEARCH_NO_PATHS == 0,
        filter: Filter {
            subtree: (subtree != 0).then_some(subtree),
            name_glob: match glob {
                [] => None,
                g => Some(fallible::copy(g)?),
            },
            xattr: match xname {
                [] => None,
                n => Some((fallible::copy(n)?, fallible::copy(xval)?)),
            },
        },
    })
}

/// The first `len` bytes of the caller's reply buffer, zeroed.
fn reply_area(out: &mut [u8], len: usize) -> Result<&mut [u8]> {
    let r = out.get_mut(..len).ok_or(FsError::Invalid)?;
    r.fill(0);
    Ok(r)
}

/// The caller's reply buffer, starting as a copy of the request.
fn reply_copy<'a>(out: &'a mut [u8], input: &[u8]) -> Result<&'a mut [u8]> {
    let r = out.get_mut(..input.len()).ok_or(FsError::Invalid)?;
    r.copy_from_slice(input);
    Ok(r)
}

/// A single path component for bulk names.
fn valid_component(n: &[u8]) -> bool {
    !n.is_empty()
        && n != b"."
        && n != b".."
        && !n.contains(&b'/')
        && n.len() <= vexfs_format::NAME_MAX
}

impl<D: BlockDevice> Fs<D> {
    /// Answer one VexFS ioctl on directory `dir`. `input` is what the
    /// caller passed (the size encoded in `cmd`); the reply is written to
    /// the front of `out` (the size encoded in `cmd`, or none) and its
    /// length returned. A reply that does not fit `out` is `EINVAL`.
    /// The reply needs no allocation of its own: the kernel module and
    /// the daemon hand in the buffer they copy out from.
    #[allow(clippy::too_many_arguments)]
    pub fn vector_ioctl(
        &mut self,
        dir: u64,
        cmd: u32,
        input: &[u8],
        out: &mut [u8],
        session: &mut QuerySession,
        caller: &Caller,
        now: Timestamp,
    ) -> Result<usize> {
        let d = self.read_inode(dir)?;
        if !d.is_dir() {
            return Err(FsError::NotDir);
        }
        match cmd {
            u::IOC_SEARCH => self.ioc_search(dir, input, out, session, caller),
            u::IOC_SEARCH_BATCH => self.ioc_search_batch(dir, input, out, caller),
            u::IOC_STAGE_VECTOR => Self::ioc_stage(input, session).map(|()| 0),
            u::IOC_RESULTS => Self::ioc_results(input, out, session),
            u::IOC_BULK_SET => self.ioc_bulk(dir, input, out, caller, now),
            u::IOC_INDEX_CREATE => {
                self.check_owner(dir, caller)?;
                self.ioc_index_create(dir, input).map(|()| 0)
            }
            u::IOC_INDEX_DROP => {
                self.check_owner(dir, caller)?;
                self.index_drop(dir).map(|()| 0)
            }
            u::IOC_INDEX_REBUILD => {
                self.check_owner(dir, caller)?;
                self.index_rebuild(dir).map(|_| 0)
            }
            u::IOC_INDEX_SAVE => {
                self.check_owner(dir, caller)?;
                self.index_save(dir).map(|()| 0)
            }
            u::IOC_INDEX_STATS => self.ioc_stats(dir, out),
            _ => Err(FsError::NotTty),
        }
    }

    fn check_owner(&mut self, dir: u64, caller: &Caller) -> Result<()> {
        let d = self.read_inode(dir)?;
        if caller.owns(&d) {
            Ok(())
        } else {
            Err(FsError::NotPermitted)
        }
    }

    fn ioc_search(
        &mut self,
        dir: u64,
        input: &[u8],
        out: &mut [u8],
        session: &mut QuerySession,
        caller: &Caller,
    ) -> Result<usize> {
        type S = u::Search;
        check_size::<S>(input)?;
        let flags = get_u32(input, offset_of!(S, flags))?;
        if flags & !u::SEARCH_FLAGS_KNOWN != 0 || get_u32(input, offset_of!(S, reserved0))? != 0 {
            return Err(FsError::Invalid);
        }
        let k = get_u32(input, offset_of!(S, k))? as usize;
        let dim = get_u32(input, offset_of!(S, dim))? as usize;
        if k == 0 || k > K_MAX || dim == 0 || dim > MAX_DIM {
            return Err(FsError::Invalid);
        }
        let vector = if flags & u::SEARCH_STAGED != 0 {
            if session.staged_dim != dim || session.staged.len() != dim {
                return Err(FsError::Invalid);
            }
            fallible::copy(&session.staged)?
        } else {
            if dim > u::INLINE_DIM {
                return Err(FsError::Invalid);
            }
            get_floats(input, offset_of!(S, vector), dim)?
        };
        let q = get_query(input, query_fields!(S), vector, k, flags)?;
        // The session's outcome is reused: its buffers outlive the search.
        let res = &mut session.last;
        self.vector_search_into(dir, &q, caller, res)?;
        let out = reply_copy(out, input)?;
        let (count, used) = put_hits(out, offset_of!(S, hits), offset_of!(S, names), res, 0)?;
        let total = res.hits.len() as u32;
        let mut of = 0;
        if res.indexed {
            of |= u::OUT_INDEXED;
        }
        if res.exact_scan {
            of |= u::OUT_EXACT_SCAN;
        }
        if total > count {
            of |= u::OUT_MORE;
        }
        put_u32(out, offset_of!(S, count), count)?;
        put_u32(out, offset_of!(S, total), total)?;
        put_u32(out, offset_of!(S, out_flags), of)?;
        put_u32(out, offset_of!(S, names_used), used)?;
        put_u64(out, offset_of!(S, scanned), res.scanned)?;
        put_u64(out, offset_of!(S, reserved1), 0)?;
        Ok(input.len())
    }

    /// `count` queries with one set of parameters and filters; each is
    /// answered exactly as `VEXFS_IOC_SEARCH` would (without paths).
    fn ioc_search_batch(
        &mut self,
        dir: u64,
        input: &[u8],
        out: &mut [u8],
        caller: &Caller,
    ) -> Result<usize> {
        type B = u::SearchBatch;
        check_size::<B>(input)?;
        let flags = get_u32(input, offset_of!(B, flags))?;
        for r in [offset_of!(B, reserved0), offset_of!(B, reserved1)] {
            if get_u32(input, r)? != 0 {
                return Err(FsError::Invalid);
            }
        }
        let k = get_u32(input, offset_of!(B, k))? as usize;
        let dim = get_u32(input, offset_of!(B, dim))? as usize;
        let count = get_u32(input, offset_of!(B, count))? as usize;
        let hit_size = size_of::<u::BatchHit>();
        if flags & !u::BATCH_FLAGS_KNOWN != 0
            || k == 0
            || k > K_MAX
            || dim == 0
            || dim > MAX_DIM
            || count == 0
            || count > u::batch_rows(dim, k)
        {
            return Err(FsError::Invalid);
        }
        let data = offset_of!(B, data);
        // Every vector is checked before any query runs.
        let vectors = get_floats(input, data, count * dim)?;
        // Paths are never resolved for a batch (they would not fit).
        let mut q = get_query(
            input,
            query_fields!(B),
            Vec::new(),
            k,
            flags | u::SEARCH_NO_PATHS,
        )?;
        let out = reply_copy(out, input)?;
        // The query vectors are in the way of the hits: clear the area,
        // and the counts of queries beyond `count`.
        out.get_mut(offset_of!(B, found)..)
            .ok_or(FsError::Invalid)?
            .fill(0);
        let (mut of, mut scanned) = (0u32, 0u64);
        let mut res = SearchOutcome::default();
        for (i, v) in vectors.chunks_exact(dim).enumerate() {
            q.vector.clear();
            fallible::extend(&mut q.vector, v)?;
            self.vector_search_into(dir, &q, caller, &mut res)?;
            if res.indexed {
                of |= u::OUT_INDEXED;
            }
            if res.exact_scan {
                of |= u::OUT_EXACT_SCAN;
            }
            scanned = scanned.saturating_add(res.scanned);
            let found = res.hits.len().min(k);
            for (j, h) in res.hits.iter().take(found).enumerate() {
                let base = data + (i * k + j) * hit_size;
                put_u64(out, base + offset_of!(u::BatchHit, ino), h.ino)?;
                put_u32(
                    out,
                    base + offset_of!(u::BatchHit, distance),
                    h.distance.to_bits(),
                )?;
            }
            let f = offset_of!(B, found) + i * 2;
            out.get_mut(f..f + 2)
                .ok_or(FsError::Invalid)?
                .copy_from_slice(&(found as u16).to_le_bytes());
        }
        put_u32(out, offset_of!(B, out_flags), of)?;
        put_u32(out, offset_of!(B, reserved2), 0)?;
        put_u64(out, offset_of!(B, scanned), scanned)?;
        Ok(input.len())
    }

    fn ioc_stage(input: &[u8], session: &mut QuerySession) -> Result<()> {
        type C = u::VectorChunk;
        check_size::<C>(input)?;
        let dim = get_u32(input, offset_of!(C, dim))? as usize;
        let offset = get_u32(input, offset_of!(C, offset))? as usize;
        let count = get_u32(input, offset_of!(C, count))? as usize;
        if dim == 0 || dim > MAX_DIM || count == 0 || count > u::INLINE_DIM {
            return Err(FsError::Invalid);
        }
        if offset == 0 {
            session.staged.clear();
            session.staged_dim = dim;
        }
        // Chunks arrive in order; anything else starts over.
        if session.staged_dim != dim || offset != session.staged.len() || offset + count > dim {
            session.staged.clear();
            session.staged_dim = 0;
            return Err(FsError::Invalid);
        }
        let v = get_floats(input, offset_of!(C, data), count)?;
        fallible::extend(&mut session.staged, &v)
    }

    fn ioc_results(input: &[u8], out: &mut [u8], session: &mut QuerySession) -> Result<usize> {
        type R = u::Results;
        check_size::<R>(input)?;
        if get_u32(input, offset_of!(R, reserved))? != 0 {
            return Err(FsError::Invalid);
        }
        let from = get_u32(input, offset_of!(R, offset))? as usize;
        let out = reply_area(out, input.len())?;
        put_u32(out, 0, size_of::<R>() as u32)?;
        put_u32(out, offset_of!(R, offset), from as u32)?;
        let (count, used) = put_hits(
            out,
            offset_of!(R, hits),
            offset_of!(R, names),
            &session.last,
            from,
        )?;
        put_u32(out, offset_of!(R, count), count)?;
        put_u32(out, offset_of!(R, total), session.last.hits.len() as u32)?;
        put_u32(out, offset_of!(R, names_used), used)?;
        Ok(input.len())
    }

    fn ioc_bulk(
        &mut self,
        dir: u64,
        input: &[u8],
        out: &mut [u8],
        caller: &Caller,
        now: Timestamp,
    ) -> Result<usize> {
        type B = u::Bulk;
        check_size::<B>(input)?;
        let flags = get_u32(input, offset_of!(B, flags))?;
        let dim = get_u32(input, offset_of!(B, dim))? as usize;
        let count = get_u32(input, offset_of!(B, count))? as usize;
        let names_len = get_u32(input, offset_of!(B, names_len))? as usize;
        if flags & !u::BULK_FLAGS_KNOWN != 0 || dim == 0 || dim > MAX_DIM || count == 0 {
            return Err(FsError::Invalid);
        }
        let data_off = offset_of!(B, data);
        let vec_off = names_len
            .checked_next_multiple_of(4)
            .ok_or(FsError::Invalid)?;
        let vec_end = count
            .checked_mul(dim * 4)
            .and_then(|n| n.checked_add(vec_off))
            .ok_or(FsError::Invalid)?;
        if vec_end > u::BULK_DATA {
            return Err(FsError::Invalid);
        }
        let names = input
            .get(data_off..data_off + names_len)
            .ok_or(FsError::Invalid)?;
        if names.last() != Some(&0) {
            return Err(FsError::Invalid);
        }
        let list = names[..names.len() - 1].split(|&c| c == 0);
        if list.clone().count() != count {
            return Err(FsError::Invalid);
        }
        let rows = input
            .get(data_off + vec_off..data_off + vec_end)
            .ok_or(FsError::Invalid)?;
        let create = flags & u::BULK_CREATE != 0;
        let d = self.read_inode(dir)?;
        if !caller.may(&d, MAY_EXEC) {
            return Err(FsError::AccessDenied);
        }
        let may_create = caller.may(&d, MAY_WRITE | MAY_EXEC);
        let mut failed: Option<(usize, FsError)> = None;
        let r = self.transact(|fs| {
            for (i, name) in list.clone().enumerate() {
                let value = rows
                    .get(i * dim * 4..(i + 1) * dim * 4)
                    .ok_or(FsError::Invalid)?;
                let item = (|| -> Result<()> {
                    if !valid_component(name) {
                        return Err(FsError::Invalid);
                    }
                    embedding_dim(value).map_err(|_| FsError::Invalid)?;
                    // Creating first spares a new name's extra directory
                    // lookup (a bulk load mostly creates).
                    if create && may_create {
                        match fs.create(dir, name, S_IFREG | 0o644, caller.uid, caller.gid, now) {
                            Ok(st) => {
                                return fs.setxattr(
                                    st.ino,
                                    EMBEDDING_XATTR,
                                    value,
                                    XattrFlags::default(),
                                    now,
                                )
                            }
                            Err(FsError::Exists) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    let ino = match fs.lookup(dir, name) {
                        Ok(st) => {
                            let inode = fs.read_inode(st.ino)?;
                            if !caller.may(&inode, MAY_WRITE) {
                                return Err(FsError::AccessDenied);
                            }
                            st.ino
                        }
                        Err(FsError::NotFound) if create => return Err(FsError::AccessDenied),
                        Err(e) => return Err(e),
                    };
                    fs.setxattr(ino, EMBEDDING_XATTR, value, XattrFlags::default(), now)
                })();
                if let Err(e) = item {
                    failed = Some((i, e));
                    return Err(e);
                }
            }
            Ok(())
        });
        let out = reply_copy(out, input)?;
        match (r, failed) {
            (Ok(()), _) => {
                put_u32(out, offset_of!(B, done), count as u32)?;
                put_u32(out, offset_of!(B, error), 0)?;
                put_u32(out, offset_of!(B, error_index), 0)?;
            }
            (Err(_), Some((i, e))) => {
                put_u32(out, offset_of!(B, done), 0)?;
                put_u32(out, offset_of!(B, error), (-e.errno()) as u32)?;
                put_u32(out, offset_of!(B, error_index), i as u32)?;
            }
            // The commit itself failed: nothing to blame on one item.
            (Err(e), None) => return Err(e),
        }
        Ok(input.len())
    }

    fn ioc_index_create(&mut self, dir: u64, input: &[u8]) -> Result<()> {
        type C = u::IndexConfig;
        check_size::<C>(input)?;
        let flags = get_u32(input, offset_of!(C, flags))?;
        if flags & !u::INDEX_FLAGS_KNOWN != 0 || get_u32(input, offset_of!(C, reserved))? != 0 {
            return Err(FsError::Invalid);
        }
        let dim = get_u32(input, offset_of!(C, dim))? as usize;
        let spec = IndexSpec {
            kind: kind_from(get_u32(input, offset_of!(C, strategy))?)?,
            metric: metric_from(get_u32(input, offset_of!(C, metric))?)?.unwrap_or(Metric::L2),
            dim,
            params: get_str(input, offset_of!(C, params), u::PARAMS_MAX)?.to_vec(),
        };
        self.index_create(dir, spec, flags & u::INDEX_REPLACE != 0)
            .map(|_| ())
    }

    fn ioc_stats(&mut self, dir: u64, out: &mut [u8]) -> Result<usize> {
        type T = u::IndexStats;
        let info = self.index_info(dir)?;
        let out = reply_area(out, size_of::<T>())?;
        put_u32(out, 0, size_of::<T>() as u32)?;
        if let Some(info) = info {
            put_stats(out, &info)?;
        }
        Ok(size_of::<T>())
    }
}

fn put_stats(out: &mut [u8], i: &IndexInfo) -> Result<()> {
    type T = u::IndexStats;
    let state = if i.clean {
        u::STATE_CLEAN
    } else if i.stale {
        u::STATE_STALE
    } else {
        u::STATE_DIRTY
    };
    put_u32(out, offset_of!(T, state), state)?;
    put_u32(out, offset_of!(T, strategy), kind_code(i.spec.kind))?;
    put_u32(out, offset_of!(T, metric), metric_code(i.spec.metric))?;
    put_u32(out, offset_of!(T, dim), i.spec.dim as u32)?;
    put_u32(out, offset_of!(T, loaded), u32::from(i.loaded))?;
    put_u64(out, offset_of!(T, root_ino), i.root)?;
    put_u64(out, offset_of!(T, vectors), i.vectors)?;
    put_u64(out, offset_of!(T, unindexed), i.unindexed)?;
    put_u64(out, offset_of!(T, deleted), i.deleted)?;
    put_u64(out, offset_of!(T, memory_bytes), i.memory_bytes)?;
    put_u64(out, offset_of!(T, disk_bytes), i.disk_bytes)?;
    put_u64(out, offset_of!(T, generation), i.generation)?;
    put_u64(out, offset_of!(T, pending), i.pending)?;
    let p = offset_of!(T, params);
    let n = i.spec.params.len().min(u::PARAMS_MAX - 1);
    out.get_mut(p..p + n)
        .ok_or(FsError::Invalid)?
        .copy_from_slice(i.spec.params.get(..n).ok_or(FsError::Invalid)?);
    Ok(())
}
