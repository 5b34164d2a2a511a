//! The VexFS userspace API: the ioctl command numbers and structs of
//! `include/uapi/vexfs.h`, one Rust struct per C struct.
//!
//! `#[repr(C)]` and [`bytemuck::Pod`] let userspace (`vexctl`) pass a struct
//! to `ioctl(2)` as bytes, and let the filesystem (the FUSE daemon and the
//! kernel module, through `vexfs-core`) read a request out of the bytes it
//! was handed with [`from_bytes`], which checks the length and copies onto
//! the heap-free caller's value without alignment assumptions. The tests
//! compile the C header and compare every size and offset.
//!
//! `no_std`, no `alloc`: the kernel build links it.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use bytemuck::{Pod, Zeroable};

pub const EMBEDDING_XATTR: &str = "user.vexfs.embedding";
pub const MAX_DIM: usize = 4096;
pub const INLINE_DIM: usize = 2048;
pub const HITS_MAX: usize = 128;
pub const NAMES_MAX: usize = 2048;
pub const K_MAX: usize = 4096;
pub const GLOB_MAX: usize = 128;
pub const XATTR_NAME_MAX: usize = 64;
pub const XATTR_VALUE_MAX: usize = 192;
pub const PARAMS_MAX: usize = 192;
pub const BULK_DATA: usize = 16000;
pub const BATCH_MAX: usize = 256;
pub const BATCH_DATA: usize = 15360;

pub const STRATEGY_DEFAULT: u32 = 0;
pub const STRATEGY_FLAT: u32 = 1;
pub const STRATEGY_HNSW: u32 = 2;
pub const STRATEGY_IVF: u32 = 3;
pub const STRATEGY_IVFPQ: u32 = 4;
pub const STRATEGY_LSH: u32 = 5;

pub const METRIC_DEFAULT: u32 = 0;
pub const METRIC_L2: u32 = 1;
pub const METRIC_IP: u32 = 2;
pub const METRIC_COSINE: u32 = 3;

pub const SEARCH_STAGED: u32 = 1 << 0;
pub const SEARCH_NO_PATHS: u32 = 1 << 1;
pub const SEARCH_EXACT: u32 = 1 << 2;
pub const SEARCH_FLAGS_KNOWN: u32 = 0x7;

pub const OUT_INDEXED: u32 = 1 << 0;
pub const OUT_EXACT_SCAN: u32 = 1 << 1;
pub const OUT_MORE: u32 = 1 << 2;

pub const HIT_NO_PATH: u16 = 1 << 0;

pub const BULK_CREATE: u32 = 1 << 0;
pub const BULK_FLAGS_KNOWN: u32 = 0x1;

pub const INDEX_REPLACE: u32 = 1 << 0;
pub const INDEX_FLAGS_KNOWN: u32 = 0x1;

pub const STATE_NONE: u32 = 0;
pub const STATE_CLEAN: u32 = 1;
pub const STATE_DIRTY: u32 = 2;
pub const STATE_STALE: u32 = 3;

#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct Hit {
    pub ino: u64,
    pub distance: f32,
    pub path_off: u32,
    pub path_len: u16,
    pub flags: u16,
    pub reserved: u32,
}

#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct Search {
    pub size: u32,
    pub flags: u32,
    pub k: u32,
    pub dim: u32,
    pub metric: u32,
    pub ef: u32,
    pub nprobe: u32,
    pub rerank: u32,
    pub subtree_ino: u64,
    pub name_glob: [u8; GLOB_MAX],
    pub xattr_name: [u8; XATTR_NAME_MAX],
    pub xattr_value_len: u32,
    pub reserved0: u32,
    pub xattr_value: [u8; XATTR_VALUE_MAX],
    pub count: u32,
    pub total: u32,
    pub out_flags: u32,
    pub names_used: u32,
    pub scanned: u64,
    pub reserved1: u64,
    pub hits: [Hit; HITS_MAX],
    pub names: [u8; NAMES_MAX],
    pub vector: [f32; INLINE_DIM],
}

#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct VectorChunk {
    pub size: u32,
    pub dim: u32,
    pub offset: u32,
    pub count: u32,
    pub data: [f32; INLINE_DIM],
}

#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct Results {
    pub size: u32,
    pub offset: u32,
    pub count: u32,
    pub total: u32,
    pub names_used: u32,
    pub reserved: u32,
    pub hits: [Hit; HITS_MAX],
    pub names: [u8; NAMES_MAX],
}

#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct Bulk {
    pub size: u32,
    pub flags: u32,
    pub dim: u32,
    pub count: u32,
    pub names_len: u32,
    pub done: u32,
    pub error: i32,
    pub error_index: u32,
    pub data: [u8; BULK_DATA],
}

/// One result of a batched search.
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct BatchHit {
    pub ino: u64,
    pub distance: f32,
    pub reserved: u32,
}

/// Several queries in one call (`VEXFS_IOC_SEARCH_BATCH`): query vectors
/// in `data`, then, on return, `count * k` [`BatchHit`]s there (query
/// `i`'s from index `i * k`, `found[i]` of them valid).
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct SearchBatch {
    pub size: u32,
    pub flags: u32,
    pub k: u32,
    pub dim: u32,
    pub count: u32,
    pub metric: u32,
    pub ef: u32,
    pub nprobe: u32,
    pub rerank: u32,
    pub reserved0: u32,
    pub subtree_ino: u64,
    pub name_glob: [u8; GLOB_MAX],
    pub xattr_name: [u8; XATTR_NAME_MAX],
    pub xattr_value_len: u32,
    pub reserved1: u32,
    pub xattr_value: [u8; XATTR_VALUE_MAX],
    pub out_flags: u32,
    pub reserved2: u32,
    pub scanned: u64,
    pub found: [u16; BATCH_MAX],
    pub data: [u8; BATCH_DATA],
}

impl SearchBatch {
    /// Put query `i` (of `dim` floats, `dim` set beforehand) in place;
    /// `false` if it is the wrong length or does not fit.
    pub fn set_query(&mut self, i: usize, v: &[f32]) -> bool {
        let dim = self.dim as usize;
        if v.len() != dim {
            return false;
        }
        let Some(dst) = self.data.get_mut(i * dim * 4..(i + 1) * dim * 4) else {
            return false;
        };
        for (d, x) in dst.chunks_exact_mut(4).zip(v) {
            d.copy_from_slice(&x.to_le_bytes());
        }
        true
    }

    /// Query `i`'s hits in a reply, nearest first.
    pub fn hits(&self, i: usize) -> impl Iterator<Item = BatchHit> + '_ {
        (0..).map_while(move |j| self.hit(i, j))
    }

    /// Hit `j` of query `i` in a reply, or `None` past `found[i]`.
    pub fn hit(&self, i: usize, j: usize) -> Option<BatchHit> {
        let found = usize::from(*self.found.get(i)?);
        if i >= self.count as usize || j >= found.min(self.k as usize) {
            return None;
        }
        let size = core::mem::size_of::<BatchHit>();
        let at = (i * self.k as usize + j) * size;
        Some(bytemuck::pod_read_unaligned(self.data.get(at..at + size)?))
    }
}

/// Queries of `dim` floats one [`SearchBatch`] can carry at `k` hits
/// each: the queries and the hits must both fit in `data` (0: not even
/// one does).
pub const fn batch_rows(dim: usize, k: usize) -> usize {
    let by_queries = BATCH_DATA / if dim == 0 { 1 } else { dim * 4 };
    let hit = core::mem::size_of::<BatchHit>();
    let by_hits = BATCH_DATA / if k == 0 { 1 } else { k * hit };
    let n = if by_queries < by_hits {
        by_queries
    } else {
        by_hits
    };
    if n < BATCH_MAX {
        n
    } else {
        BATCH_MAX
    }
}

/// Flags a batched search accepts (paths are never resolved for it).
pub const BATCH_FLAGS_KNOWN: u32 = SEARCH_NO_PATHS | SEARCH_EXACT;

#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct IndexConfig {
    pub size: u32,
    pub flags: u32,
    pub strategy: u32,
    pub metric: u32,
    pub dim: u32,
    pub reserved: u32,
    pub params: [u8; PARAMS_MAX],
}

#[derive(Debug, Clone, Copy, Pod, Zeroable)]
#[repr(C)]
pub struct IndexStats {
    pub size: u32,
    pub state: u32,
    pub strategy: u32,
    pub metric: u32,
    pub dim: u32,
    pub loaded: u32,
    pub root_ino: u64,
    pub vectors: u64,
    pub unindexed: u64,
    pub deleted: u64,
    pub memory_bytes: u64,
    pub disk_bytes: u64,
    pub generation: u64,
    /// Of `vectors`: stored and searched exactly, not yet in the strategy.
    pub pending: u64,
    pub params: [u8; PARAMS_MAX],
}

/// Sizes must fit the 14-bit size field of an ioctl number (FUSE forwards
/// restricted ioctls only up to that size).
const IOC_SIZE_MAX: usize = (1 << 14) - 1;
const _: () = assert!(core::mem::size_of::<Search>() <= IOC_SIZE_MAX);
const _: () = assert!(core::mem::size_of::<Bulk>() <= IOC_SIZE_MAX);
const _: () = assert!(core::mem::size_of::<VectorChunk>() <= IOC_SIZE_MAX);
const _: () = assert!(core::mem::size_of::<Results>() <= IOC_SIZE_MAX);
const _: () = assert!(core::mem::size_of::<SearchBatch>() <= IOC_SIZE_MAX);
const _: () = assert!(core::mem::size_of::<Hit>() == 24);
const _: () = assert!(core::mem::size_of::<BatchHit>() == 16);

const IOC_NONE: u32 = 0;
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)` as in `asm-generic/ioctl.h`.
pub const fn ioc(dir: u32, ty: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | (ty << 8) | nr
}

pub const IOC_MAGIC: u32 = 0xF5;
pub const IOC_SEARCH: u32 = ioc(
    IOC_READ | IOC_WRITE,
    IOC_MAGIC,
    1,
    core::mem::size_of::<Search>(),
);
pub const IOC_STAGE_VECTOR: u32 = ioc(IOC_WRITE, IOC_MAGIC, 2, core::mem::size_of::<VectorChunk>());
pub const IOC_RESULTS: u32 = ioc(
    IOC_READ | IOC_WRITE,
    IOC_MAGIC,
    3,
    core::mem::size_of::<Results>(),
);
pub const IOC_BULK_SET: u32 = ioc(
    IOC_READ | IOC_WRITE,
    IOC_MAGIC,
    4,
    core::mem::size_of::<Bulk>(),
);
pub const IOC_INDEX_CREATE: u32 = ioc(IOC_WRITE, IOC_MAGIC, 5, core::mem::size_of::<IndexConfig>());
pub const IOC_INDEX_DROP: u32 = ioc(IOC_NONE, IOC_MAGIC, 6, 0);
pub const IOC_INDEX_REBUILD: u32 = ioc(IOC_NONE, IOC_MAGIC, 7, 0);
pub const IOC_INDEX_SAVE: u32 = ioc(IOC_NONE, IOC_MAGIC, 8, 0);
pub const IOC_INDEX_STATS: u32 = ioc(IOC_READ, IOC_MAGIC, 9, core::mem::size_of::<IndexStats>());
pub const IOC_SEARCH_BATCH: u32 = ioc(
    IOC_READ | IOC_WRITE,
    IOC_MAGIC,
    10,
    core::mem::size_of::<SearchBatch>(),
);

/// Bytes the caller passes in for `cmd`, and bytes it expects back.
pub const fn ioc_sizes(cmd: u32) -> (usize, usize) {
    let size = ((cmd >> 16) & 0x3fff) as usize;
    let dir = cmd >> 30;
    let input = if dir & IOC_WRITE != 0 { size } else { 0 };
    let output = if dir & IOC_READ != 0 { size } else { 0 };
    (input, output)
}

/// Every command this API defines.
pub const ALL_COMMANDS: [u32; 10] = [
    IOC_SEARCH,
    IOC_STAGE_VECTOR,
    IOC_RESULTS,
    IOC_BULK_SET,
    IOC_INDEX_CREATE,
    IOC_INDEX_DROP,
    IOC_INDEX_REBUILD,
    IOC_INDEX_SAVE,
    IOC_INDEX_STATS,
    IOC_SEARCH_BATCH,
];

/// A struct decoded from bytes: `None` unless `bytes` is exactly its size.
/// Copies, so the bytes need no particular alignment.
pub fn from_bytes<T: Pod>(bytes: &[u8]) -> Option<T> {
    if bytes.len() != core::mem::size_of::<T>() {
        return None;
    }
    Some(bytemuck::pod_read_unaligned(bytes))
}

/// The bytes of a struct, for passing to `ioctl(2)` or back to the kernel.
pub fn as_bytes<T: Pod>(v: &T) -> &[u8] {
    bytemuck::bytes_of(v)
}

/// The bytes of a NUL-terminated string field, without the NUL (the whole
/// field if it holds none).
pub fn c_str(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    field.get(..end).unwrap_or(field)
}

/// Copy `s` into a string field; `false` if it does not fit with its NUL.
pub fn set_c_str(field: &mut [u8], s: &[u8]) -> bool {
    if s.len() >= field.len() || s.contains(&0) {
        return false;
    }
    field.fill(0);
    if let Some(dst) = field.get_mut(..s.len()) {
        dst.copy_from_slice(s);
    }
    true
}

/// A zeroed value with its `size` field set, ready to fill in.
pub trait Request: Pod {
    fn new_request() -> Self;
}

macro_rules! request {
    ($($t:ty),*) => {$(
        impl Request for $t {
            fn new_request() -> Self {
                let mut v: Self = Zeroable::zeroed();
                v.size = core::mem::size_of::<Self>() as u32;
                v
            }
        }
    )*};
}
request!(
    Search,
    VectorChunk,
    Results,
    Bulk,
    IndexConfig,
    IndexStats,
    SearchBatch
);
