//! Vector indexes on disk: the embedding attribute value and the index
//! record.
//!
//! **Embedding.** A file's embedding is the ordinary extended attribute
//! `user.vexfs.embedding` ([`EMBEDDING_XATTR`]); its value is `dim`
//! little-endian IEEE-754 binary32 floats, nothing else (so `cp -a`, tar and
//! rsync carry it). `1 <= dim <= MAX_DIM`, every value finite.
//!
//! **Catalogue.** Inode [`crate::VECTOR_CATALOG_INO`] is a directory that is
//! not linked into the namespace (its `parent` is itself). Each entry is
//! named by the decimal inode number of an indexed directory (the index
//! *root*) and points at a regular file, the *index file*, whose data is the
//! saved index and whose attribute `trusted.vexfs.index` ([`RECORD_XATTR`])
//! is the 256-byte record below. Saving writes a new index file under the
//! name `<root>.new` and renames it over `<root>` in one transaction.
//!
//! Record:
//!
//! | off | size | field      | meaning                                         |
//! |-----|------|------------|-------------------------------------------------|
//! | 0   | 4    | magic      | `RECORD_MAGIC` ("VXIX")                         |
//! | 4   | 2    | version    | 1                                               |
//! | 6   | 1    | strategy   | 0 flat, 1 HNSW, 2 IVF-Flat, 3 IVF-PQ, 4 LSH     |
//! | 7   | 1    | metric     | 0 L2, 1 inner product, 2 cosine                 |
//! | 8   | 4    | dim        | 1..=MAX_DIM                                     |
//! | 12  | 4    | state      | 1 clean, 2 dirty                                |
//! | 16  | 8    | root       | inode of the indexed directory                  |
//! | 24  | 8    | generation | number of saves                                 |
//! | 32  | 8    | data_len   | bytes of saved index in the index file          |
//! | 40  | 4    | data_crc   | crc32c of those bytes                           |
//! | 44  | 2    | params_len | bytes of `params`                               |
//! | 46  | 2    | reserved   | zero                                            |
//! | 48  | 192  | params     | `key=value,...` text the index was built with   |
//! | 240 | 12   | reserved   | zero                                            |
//! | 252 | 4    | crc32c     | over bytes 0..252                               |
//!
//! *Clean* means the index file holds exactly the embeddings of the files
//! under `root`. The first change after a save sets *dirty* in the same
//! transaction as the change, so after a crash a dirty record (or a data
//! checksum mismatch) says "rebuild from the files", never "trust me".
//!
//! The saved data is the ANN engine's own serialisation (64-byte versioned
//! header with checksums, see `vexfs-ann`'s `persist`), followed by a
//! trailer: `u64` count of files under the root whose embedding is not
//! indexed (wrong dimension), that many `u64` inode numbers, and a `u64`
//! count plus that many (`u64` inode, `dim` floats) rows of embeddings
//! waiting for an untrained index to be trained, and a `u64` count plus
//! that many (`u64` inode, `u64` member hash) pairs: every vector the index
//! holds, with a hash of its inode number and bytes (two crc32c, seeds
//! 0x56434958 and 0x1b873593, high and low word), so fsck can compare the
//! index with the files without trusting the strategy's internals.

use crate::bytes::*;
use crate::checksum::crc32c;
use crate::error::{bad, FormatError};

/// The embedding attribute (full name).
pub const EMBEDDING_XATTR: &[u8] = b"user.vexfs.embedding";
/// The index record attribute on an index file (full name).
pub const RECORD_XATTR: &[u8] = b"trusted.vexfs.index";
/// Largest embedding dimension.
pub const MAX_DIM: usize = 4096;

pub const RECORD_SIZE: usize = 256;
pub const RECORD_MAGIC: u32 = u32::from_le_bytes(*b"VXIX");
pub const RECORD_VERSION: u16 = 1;
pub const PARAMS_MAX: usize = 192;

pub const MAGIC_OFFSET: usize = 0;
pub const VERSION_OFFSET: usize = 4;
pub const STRATEGY_OFFSET: usize = 6;
pub const METRIC_OFFSET: usize = 7;
pub const DIM_OFFSET: usize = 8;
pub const STATE_OFFSET: usize = 12;
pub const ROOT_OFFSET: usize = 16;
pub const GENERATION_OFFSET: usize = 24;
pub const DATA_LEN_OFFSET: usize = 32;
pub const DATA_CRC_OFFSET: usize = 40;
pub const PARAMS_LEN_OFFSET: usize = 44;
pub const PARAMS_OFFSET: usize = 48;
pub const CRC_OFFSET: usize = 252;
const _: () = assert!(PARAMS_OFFSET + PARAMS_MAX + 12 == CRC_OFFSET);
const _: () = assert!(CRC_OFFSET + 4 == RECORD_SIZE);

pub const STATE_CLEAN: u32 = 1;
pub const STATE_DIRTY: u32 = 2;

/// Largest strategy and metric codes (see the table).
pub const STRATEGY_MAX: u8 = 4;
pub const METRIC_MAX: u8 = 2;

/// A decoded index record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRecord {
    pub strategy: u8,
    pub metric: u8,
    pub dim: u32,
    pub state: u32,
    pub root: u64,
    pub generation: u64,
    pub data_len: u64,
    pub data_crc: u32,
    pub params: [u8; PARAMS_MAX],
    pub params_len: u16,
}

impl IndexRecord {
    /// The parameter text.
    pub fn params(&self) -> &[u8] {
        self.params
            .get(..usize::from(self.params_len))
            .unwrap_or(&[])
    }

    /// Set the parameter text; `Err` if longer than [`PARAMS_MAX`].
    pub fn set_params(&mut self, p: &[u8]) -> Result<(), FormatError> {
        if p.len() > PARAMS_MAX {
            return Err(bad("index parameters too long"));
        }
        self.params = [0; PARAMS_MAX];
        put_bytes(&mut self.params, 0, p)?;
        self.params_len = p.len() as u16;
        Ok(())
    }

    pub fn decode(raw: &[u8]) -> Result<Self, FormatError> {
        if raw.len() != RECORD_SIZE {
            return Err(bad("index record size"));
        }
        if get_u32(raw, MAGIC_OFFSET)? != RECORD_MAGIC {
            return Err(bad("index record magic"));
        }
        let body = get_bytes(raw, 0, CRC_OFFSET)?;
        if get_u32(raw, CRC_OFFSET)? != crc32c(body) {
            return Err(FormatError::Corrupt(crate::Corruption::BadChecksum(
                "index record",
            )));
        }
        if get_u16(raw, VERSION_OFFSET)? != RECORD_VERSION {
            return Err(FormatError::Incompatible("unknown index record version"));
        }
        let strategy = get_u8(raw, STRATEGY_OFFSET)?;
        let metric = get_u8(raw, METRIC_OFFSET)?;
        let dim = get_u32(raw, DIM_OFFSET)?;
        let state = get_u32(raw, STATE_OFFSET)?;
        let params_len = get_u16(raw, PARAMS_LEN_OFFSET)?;
        if strategy > STRATEGY_MAX || metric > METRIC_MAX {
            return Err(bad("index record strategy or metric"));
        }
        if dim == 0 || dim as usize > MAX_DIM {
            return Err(bad("index record dimension"));
        }
        if state != STATE_CLEAN && state != STATE_DIRTY {
            return Err(bad("index record state"));
        }
        if usize::from(params_len) > PARAMS_MAX {
            return Err(bad("index record parameters length"));
        }
        let mut params = [0u8; PARAMS_MAX];
        params.copy_from_slice(get_bytes(raw, PARAMS_OFFSET, PARAMS_MAX)?);
        Ok(Self {
            strategy,
            metric,
            dim,
            state,
            root: get_u64(raw, ROOT_OFFSET)?,
            generation: get_u64(raw, GENERATION_OFFSET)?,
            data_len: get_u64(raw, DATA_LEN_OFFSET)?,
            data_crc: get_u32(raw, DATA_CRC_OFFSET)?,
            params,
            params_len,
        })
    }

    pub fn encode(&self) -> Result<[u8; RECORD_SIZE], FormatError> {
        let mut raw = [0u8; RECORD_SIZE];
        put_u32(&mut raw, MAGIC_OFFSET, RECORD_MAGIC)?;
        put_u16(&mut raw, VERSION_OFFSET, RECORD_VERSION)?;
        put_u8(&mut raw, STRATEGY_OFFSET, self.strategy)?;
        put_u8(&mut raw, METRIC_OFFSET, self.metric)?;
        put_u32(&mut raw, DIM_OFFSET, self.dim)?;
        put_u32(&mut raw, STATE_OFFSET, self.state)?;
        put_u64(&mut raw, ROOT_OFFSET, self.root)?;
        put_u64(&mut raw, GENERATION_OFFSET, self.generation)?;
        put_u64(&mut raw, DATA_LEN_OFFSET, self.data_len)?;
        put_u32(&mut raw, DATA_CRC_OFFSET, self.data_crc)?;
        put_u16(&mut raw, PARAMS_LEN_OFFSET, self.params_len)?;
        put_bytes(&mut raw, PARAMS_OFFSET, &self.params)?;
        let crc = crc32c(get_bytes(&raw, 0, CRC_OFFSET)?);
        put_u32(&mut raw, CRC_OFFSET, crc)?;
        Ok(raw)
    }
}

/// Check an embedding attribute value: whole floats, `1..=MAX_DIM` of them,
/// all finite. Returns the dimension.
pub fn embedding_dim(value: &[u8]) -> Result<usize, EmbeddingError> {
    if value.is_empty() || !value.len().is_multiple_of(4) {
        return Err(EmbeddingError::Length);
    }
    let dim = value.len() / 4;
    if dim > MAX_DIM {
        return Err(EmbeddingError::TooLarge);
    }
    for c in value.chunks_exact(4) {
        let bits = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        // Exponent all ones: infinity or NaN.
        if bits & 0x7f80_0000 == 0x7f80_0000 {
            return Err(EmbeddingError::NotFinite);
        }
    }
    Ok(dim)
}

/// Why an embedding value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddingError {
    /// Empty, or not a whole number of 4-byte floats.
    Length,
    /// More than [`MAX_DIM`] floats.
    TooLarge,
    /// A NaN or an infinity.
    NotFinite,
}

impl core::fmt::Display for EmbeddingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Length => "embedding is not a whole number of little-endian f32 values",
            Self::TooLarge => "embedding has more than 4096 dimensions",
            Self::NotFinite => "embedding contains NaN or infinity",
        })
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn sample() -> IndexRecord {
        let mut r = IndexRecord {
            strategy: 1,
            metric: 2,
            dim: 50,
            state: STATE_CLEAN,
            root: 17,
            generation: 3,
            data_len: 4096,
            data_crc: 0xdead_beef,
            params: [0; PARAMS_MAX],
            params_len: 0,
        };
        r.set_params(b"m=16,ef_construction=200").unwrap();
        r
    }

    #[test]
    fn record_round_trip_and_checksum() {
        let r = sample();
        let mut raw = r.encode().unwrap();
        assert_eq!(IndexRecord::decode(&raw).unwrap(), r);
        assert_eq!(r.params(), b"m=16,ef_construction=200");
        raw[DIM_OFFSET] ^= 1;
        assert!(IndexRecord::decode(&raw).is_err());
    }

    #[test]
    fn record_pinned_bytes() {
        let raw = sample().encode().unwrap();
        assert_eq!(&raw[0..4], b"VXIX");
        assert_eq!(raw[STRATEGY_OFFSET], 1);
        assert_eq!(get_u32(&raw, DIM_OFFSET).unwrap(), 50);
        assert_eq!(get_u64(&raw, ROOT_OFFSET).unwrap(), 17);
        assert_eq!(&raw[PARAMS_OFFSET..PARAMS_OFFSET + 4], b"m=16");
    }

    #[test]
    fn embedding_checks() {
        let v: Vec<u8> = [1.0f32, -2.5, 0.0]
            .iter()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        assert_eq!(embedding_dim(&v), Ok(3));
        assert_eq!(embedding_dim(&[]), Err(EmbeddingError::Length));
        assert_eq!(embedding_dim(&v[..5]), Err(EmbeddingError::Length));
        let nan: Vec<u8> = f32::NAN.to_le_bytes().to_vec();
        assert_eq!(embedding_dim(&nan), Err(EmbeddingError::NotFinite));
        let inf: Vec<u8> = f32::NEG_INFINITY.to_le_bytes().to_vec();
        assert_eq!(embedding_dim(&inf), Err(EmbeddingError::NotFinite));
        assert_eq!(
            embedding_dim(&vec![0u8; 4 * 4097]),
            Err(EmbeddingError::TooLarge)
        );
    }

    proptest::proptest! {
        #[test]
        fn record_decode_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = IndexRecord::decode(&data);
        }
    }
}
