//! Serialised index format.
//!
//! Every saved index is a 64-byte header followed by a payload. All
//! integers are little-endian.
//!
//! | offset | size | field                                            |
//! |-------:|-----:|--------------------------------------------------|
//! |      0 |    8 | magic `b"VEXFSANN"`                              |
//! |      8 |    4 | format version (currently 5; 1 to 4 are read)   |
//! |     12 |    1 | [`IndexKind`]                                    |
//! |     13 |    1 | [`Metric`]                                       |
//! |     14 |    2 | flags (0; unknown bits are rejected)             |
//! |     16 |    4 | dimension                                        |
//! |     20 |    4 | reserved (0)                                     |
//! |     24 |    8 | live vector count                                |
//! |     32 |   16 | four u32 strategy parameters (informational)     |
//! |     48 |    8 | payload length in bytes                          |
//! |     56 |    4 | CRC-32C of the payload                           |
//! |     60 |    4 | CRC-32C of header bytes 0..60                    |
//!
//! The payload layout belongs to each strategy (see its `write_payload`).
//! Loading checks both checksums before parsing, and the parser bounds
//! every length it reads by the bytes that remain, so damaged input yields
//! [`AnnError::Corrupt`] and never a panic or an absurd allocation.

use crate::crc::{crc32c, crc32c_append};
use crate::error::{AnnError, Result};
use crate::index::{IndexKind, VectorIndex};
use crate::io::{ByteSink, ByteSource};
use crate::metric::Metric;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// Header size in bytes.
pub const HEADER_LEN: usize = 64;
/// Header magic.
pub const MAGIC: [u8; 8] = *b"VEXFSANN";
/// Current format version. Version 2 added the LSH mode word; version 3
/// packs HNSW node records (no padding after the link list; versions 1
/// and 2 records are line-aligned and repacked on load); version 4 adds
/// the vector storage of Flat and HNSW (f32, f16 or SQ8, with the SQ8
/// ranges), stores HNSW records without rounding them to 16 bytes and
/// HNSW labels and deleted flags compactly; version 5 adds the LSH
/// flags word (bits chosen automatically). Everything else reads the
/// same in versions 1 to 5.
pub const FORMAT_VERSION: u32 = 5;
/// Oldest format version still loaded.
pub const OLDEST_VERSION: u32 = 1;

const MAGIC_OFFSET: usize = 0;
const VERSION_OFFSET: usize = 8;
const KIND_OFFSET: usize = 12;
const METRIC_OFFSET: usize = 13;
const FLAGS_OFFSET: usize = 14;
const DIM_OFFSET: usize = 16;
const COUNT_OFFSET: usize = 24;
const PARAMS_OFFSET: usize = 32;
const PAYLOAD_LEN_OFFSET: usize = 48;
const PAYLOAD_CRC_OFFSET: usize = 56;
const HEADER_CRC_OFFSET: usize = 60;
const _: () = assert!(HEADER_CRC_OFFSET + 4 == HEADER_LEN);

/// Largest dimension accepted from disk (bounds per-vector allocations).
pub const MAX_DIM: usize = 1 << 16;

/// Decoded header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Format version the index was written with.
    pub version: u32,
    /// Strategy.
    pub kind: IndexKind,
    /// Metric.
    pub metric: Metric,
    /// Dimension.
    pub dim: usize,
    /// Live vectors.
    pub count: u64,
    /// Strategy parameters (informational).
    pub params: [u32; 4],
    /// Payload bytes following the header.
    pub payload_len: u64,
    /// CRC-32C of the payload.
    pub payload_crc: u32,
}

fn le32(b: &[u8; HEADER_LEN], off: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(x)
}
fn le64(b: &[u8; HEADER_LEN], off: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(x)
}

impl Header {
    /// Encode to 64 bytes (checksum included).
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[MAGIC_OFFSET..MAGIC_OFFSET + 8].copy_from_slice(&MAGIC);
        b[VERSION_OFFSET..VERSION_OFFSET + 4].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[KIND_OFFSET] = self.kind as u8;
        b[METRIC_OFFSET] = self.metric as u8;
        b[FLAGS_OFFSET..FLAGS_OFFSET + 2].copy_from_slice(&0u16.to_le_bytes());
        b[DIM_OFFSET..DIM_OFFSET + 4].copy_from_slice(&(self.dim as u32).to_le_bytes());
        b[COUNT_OFFSET..COUNT_OFFSET + 8].copy_from_slice(&self.count.to_le_bytes());
        for (i, p) in self.params.iter().enumerate() {
            let o = PARAMS_OFFSET + 4 * i;
            b[o..o + 4].copy_from_slice(&p.to_le_bytes());
        }
        b[PAYLOAD_LEN_OFFSET..PAYLOAD_LEN_OFFSET + 8]
            .copy_from_slice(&self.payload_len.to_le_bytes());
        b[PAYLOAD_CRC_OFFSET..PAYLOAD_CRC_OFFSET + 4]
            .copy_from_slice(&self.payload_crc.to_le_bytes());
        let c = crc32c(&b[..HEADER_CRC_OFFSET]);
        b[HEADER_CRC_OFFSET..].copy_from_slice(&c.to_le_bytes());
        b
    }

    /// Decode and validate 64 header bytes.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Result<Self> {
        if b[MAGIC_OFFSET..MAGIC_OFFSET + 8] != MAGIC {
            return Err(AnnError::Corrupt("bad magic: not a VexFS ANN index"));
        }
        if crc32c(&b[..HEADER_CRC_OFFSET]) != le32(b, HEADER_CRC_OFFSET) {
            return Err(AnnError::Corrupt("header checksum mismatch"));
        }
        let version = le32(b, VERSION_OFFSET);
        if !(OLDEST_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(AnnError::UnsupportedVersion(version));
        }
        let kind =
            IndexKind::from_u8(b[KIND_OFFSET]).ok_or(AnnError::Corrupt("unknown index kind"))?;
        let metric =
            Metric::from_u8(b[METRIC_OFFSET]).ok_or(AnnError::Corrupt("unknown metric"))?;
        if b[FLAGS_OFFSET] != 0 || b[FLAGS_OFFSET + 1] != 0 {
            return Err(AnnError::Corrupt("unknown header flags"));
        }
        let dim = le32(b, DIM_OFFSET) as usize;
        if dim == 0 || dim > MAX_DIM {
            return Err(AnnError::Corrupt("dimension out of range"));
        }
        let mut params = [0u32; 4];
        for (i, p) in params.iter_mut().enumerate() {
            *p = le32(b, PARAMS_OFFSET + 4 * i);
        }
        Ok(Self {
            version,
            kind,
            metric,
            dim,
            count: le64(b, COUNT_OFFSET),
            params,
            payload_len: le64(b, PAYLOAD_LEN_OFFSET),
            payload_crc: le32(b, PAYLOAD_CRC_OFFSET),
        })
    }
}

/// Payload builder (little-endian).
#[derive(Default)]
pub(crate) struct Writer {
    pub buf: Vec<u8>,
    err: bool,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }
    fn put(&mut self, b: &[u8]) {
        if self.buf.try_reserve(b.len()).is_err() {
            self.err = true;
            return;
        }
        self.buf.extend_from_slice(b);
    }
    pub fn u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.put(&v.to_le_bytes());
    }
    pub fn usize(&mut self, v: usize) {
        self.u64(v as u64);
    }
    /// Length-prefixed f32 slice.
    pub fn f32s(&mut self, v: &[f32]) {
        self.usize(v.len());
        if self.buf.try_reserve(v.len() * 4).is_err() {
            self.err = true;
            return;
        }
        for x in v {
            self.buf.extend_from_slice(&x.to_bits().to_le_bytes());
        }
    }
    /// Length-prefixed u32 slice.
    pub fn u32s(&mut self, v: &[u32]) {
        self.usize(v.len());
        if self.buf.try_reserve(v.len() * 4).is_err() {
            self.err = true;
            return;
        }
        for x in v {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }
    }
    /// Length-prefixed u64 slice.
    pub fn u64s(&mut self, v: &[u64]) {
        self.usize(v.len());
        if self.buf.try_reserve(v.len() * 8).is_err() {
            self.err = true;
            return;
        }
        for x in v {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }
    }
    /// Length-prefixed bytes of a part built apart (ran out of memory:
    /// the write fails at [`Writer::finish`]).
    pub(crate) fn built(&mut self, v: Result<Vec<u8>>) {
        match v {
            Ok(b) => self.bytes(&b),
            Err(_) => self.err = true,
        }
    }
    /// A length-prefixed u32 sequence of `n` values from `it`.
    pub(crate) fn u32s_from(&mut self, n: usize, it: impl Iterator<Item = u32>) {
        self.usize(n);
        if self.buf.try_reserve(n * 4).is_err() {
            self.err = true;
            return;
        }
        for x in it.take(n) {
            self.buf.extend_from_slice(&x.to_le_bytes());
        }
    }
    /// Length-prefixed bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.usize(v.len());
        self.put(v);
    }

    /// Write header + payload to `sink`.
    pub fn finish(
        self,
        sink: &mut dyn ByteSink,
        kind: IndexKind,
        metric: Metric,
        dim: usize,
        count: usize,
        params: [u32; 4],
    ) -> Result<()> {
        if self.err {
            return Err(AnnError::OutOfMemory);
        }
        let h = Header {
            version: FORMAT_VERSION,
            kind,
            metric,
            dim,
            count: count as u64,
            params,
            payload_len: self.buf.len() as u64,
            payload_crc: crc32c(&self.buf),
        };
        sink.write_all(&h.encode())?;
        sink.write_all(&self.buf)
    }
}

/// Bounds-checked payload parser.
pub(crate) struct Reader<'a> {
    b: &'a [u8],
}

const CORRUPT_SHORT: AnnError = AnnError::Corrupt("payload shorter than its fields");

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Self { b }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.b.len() < n {
            return Err(CORRUPT_SHORT);
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    pub fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    pub fn u64(&mut self) -> Result<u64> {
        let s = self.take(8)?;
        let mut x = [0u8; 8];
        x.copy_from_slice(s);
        Ok(u64::from_le_bytes(x))
    }
    /// A usize that must not exceed `max`.
    pub fn usize_max(&mut self, max: usize) -> Result<usize> {
        let v = self.u64()?;
        if v > max as u64 {
            return Err(AnnError::Corrupt("field out of range"));
        }
        Ok(v as usize)
    }
    /// Length prefix of elements of `width` bytes, checked against what is
    /// left (so a corrupt length cannot trigger a huge allocation).
    fn len_of(&mut self, width: usize) -> Result<usize> {
        let n = self.u64()?;
        let bytes = n.checked_mul(width as u64).ok_or(CORRUPT_SHORT)?;
        if bytes > self.b.len() as u64 {
            return Err(CORRUPT_SHORT);
        }
        Ok(n as usize)
    }
    pub fn f32s(&mut self) -> Result<Vec<f32>> {
        let n = self.len_of(4)?;
        let s = self.take(n * 4)?;
        let mut v = Vec::new();
        crate::common::reserve(&mut v, n)?;
        v.extend(
            s.chunks_exact(4)
                .map(|c| f32::from_bits(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        );
        Ok(v)
    }
    pub fn u32s(&mut self) -> Result<Vec<u32>> {
        let n = self.len_of(4)?;
        let s = self.take(n * 4)?;
        let mut v = Vec::new();
        crate::common::reserve(&mut v, n)?;
        v.extend(
            s.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        Ok(v)
    }
    pub fn u64s(&mut self) -> Result<Vec<u64>> {
        let n = self.len_of(8)?;
        let s = self.take(n * 8)?;
        let mut v = Vec::new();
        crate::common::reserve(&mut v, n)?;
        v.extend(s.chunks_exact(8).map(|c| {
            let mut x = [0u8; 8];
            x.copy_from_slice(c);
            u64::from_le_bytes(x)
        }));
        Ok(v)
    }
    pub fn bytes(&mut self) -> Result<Vec<u8>> {
        let n = self.len_of(1)?;
        let s = self.take(n)?;
        let mut v = Vec::new();
        crate::common::reserve(&mut v, n)?;
        v.extend_from_slice(s);
        Ok(v)
    }
    /// The payload must be consumed exactly.
    pub fn end(&self) -> Result<()> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(AnnError::Corrupt("trailing bytes after payload"))
        }
    }
}

/// Read and verify the header and the payload.
pub fn read_header_and_payload(src: &mut dyn ByteSource) -> Result<(Header, Vec<u8>)> {
    let mut hb = [0u8; HEADER_LEN];
    src.read_exact(&mut hb)?;
    let h = Header::decode(&hb)?;
    // Read in bounded chunks so a forged huge length fails on the short
    // read long before the allocation grows absurd.
    const CHUNK: usize = 1 << 20;
    let total = usize::try_from(h.payload_len).map_err(|_| AnnError::Corrupt("payload length"))?;
    let mut payload: Vec<u8> = Vec::new();
    let mut crc = 0u32;
    while payload.len() < total {
        let n = (total - payload.len()).min(CHUNK);
        let start = payload.len();
        payload.try_reserve(n).map_err(|_| AnnError::OutOfMemory)?;
        payload.resize(start + n, 0);
        src.read_exact(&mut payload[start..])?;
        crc = crc32c_append(crc, &payload[start..]);
    }
    if crc != h.payload_crc {
        return Err(AnnError::Corrupt("payload checksum mismatch"));
    }
    Ok((h, payload))
}

/// Load any saved index, whatever its strategy.
pub fn load(src: &mut dyn ByteSource) -> Result<Box<dyn VectorIndex>> {
    let (h, payload) = read_header_and_payload(src)?;
    let mut r = Reader::new(&payload);
    let idx: Box<dyn VectorIndex> = match h.kind {
        IndexKind::Flat => crate::mem::try_box(crate::flat::FlatIndex::read_payload(&h, &mut r)?)?,
        IndexKind::Hnsw => crate::mem::try_box(crate::hnsw::HnswIndex::read_payload(&h, &mut r)?)?,
        IndexKind::IvfFlat => {
            crate::mem::try_box(crate::ivf::IvfFlatIndex::read_payload(&h, &mut r)?)?
        }
        IndexKind::IvfPq => {
            crate::mem::try_box(crate::ivfpq::IvfPqIndex::read_payload(&h, &mut r)?)?
        }
        IndexKind::Lsh => crate::mem::try_box(crate::lsh::LshIndex::read_payload(&h, &mut r)?)?,
    };
    r.end()?;
    if idx.len() as u64 != h.count {
        return Err(AnnError::Corrupt("vector count does not match header"));
    }
    Ok(idx)
}

/// Load, requiring a given strategy (typed loaders use this).
pub(crate) fn load_kind(src: &mut dyn ByteSource, kind: IndexKind) -> Result<(Header, Vec<u8>)> {
    let (h, p) = read_header_and_payload(src)?;
    if h.kind != kind {
        return Err(AnnError::Corrupt(
            "index kind differs from the one requested",
        ));
    }
    Ok((h, p))
}

/// Shared loader body for typed `load` functions.
macro_rules! typed_load {
    ($ty:ty, $kind:expr) => {
        /// Load an index of this strategy saved with `save`.
        pub fn load(src: &mut dyn $crate::io::ByteSource) -> $crate::error::Result<Self> {
            let (h, p) = $crate::persist::load_kind(src, $kind)?;
            let mut r = $crate::persist::Reader::new(&p);
            let me = <$ty>::read_payload(&h, &mut r)?;
            r.end()?;
            if $crate::index::VectorIndex::len(&me) as u64 != h.count {
                return Err($crate::error::AnnError::Corrupt(
                    "vector count does not match header",
                ));
            }
            Ok(me)
        }
    };
}
pub(crate) use typed_load;
