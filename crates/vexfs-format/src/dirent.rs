//! Directory entries: values in a directory's tree.
//!
//! Key: `hash54(name) << 8 | seq`, where `seq` (0..=255) tells apart names
//! whose hashes collide. Keys stay below 2^62 so `key + 3` is a valid,
//! stable `readdir` offset (offsets 1 and 2 are "." and "..").
//!
//! | off | size | field     | meaning                           |
//! |-----|------|-----------|-----------------------------------|
//! | 0   | 8    | ino       | target inode                      |
//! | 8   | 1    | file_type | DT_* code of the target           |
//! | 9   | 1    | name_len  | 1..=255                           |
//! | 10  | n    | name      | bytes, no NUL and no '/'          |

use crate::bytes::*;
use crate::error::{bad, FormatError};
use crate::inode::FileType;
use crate::NAME_MAX;

pub const DIRENT_HEADER: usize = 10;
// Keys stay below 2^62 so `key + 3` is a valid signed readdir offset.
const _: () = assert!(HASH_BITS + SEQ_BITS <= 62);
pub const HASH_BITS: u32 = 54;
pub const SEQ_BITS: u32 = 8;
/// The largest key a directory entry can have.
pub const MAX_KEY: u64 = (1 << (HASH_BITS + SEQ_BITS)) - 1;

/// The directory hash: FNV-1a 64 with a final avalanche (murmur3's fmix64),
/// truncated to 54 bits. Part of the format: never change it.
pub fn name_hash(name: &[u8]) -> u64 {
    fnv1a_fmix64(name.iter().copied()) >> (64 - HASH_BITS)
}

/// FNV-1a 64 over `bytes`, then murmur3's fmix64: the 64-bit hash under
/// the directory and attribute-tree keys (each keeps 54 bits of it, its
/// own way; see their callers).
pub(crate) fn fnv1a_fmix64(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// The first and last key a name may be stored under.
pub fn key_range(name: &[u8]) -> (u64, u64) {
    let base = name_hash(name) << SEQ_BITS;
    (base, base | ((1 << SEQ_BITS) - 1))
}

/// A borrowed directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirEntry<'a> {
    pub ino: u64,
    pub file_type: FileType,
    pub name: &'a [u8],
}

/// Check a name is storable: 1..=255 bytes, no '/' or NUL, not "." or "..".
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name != b"."
        && name != b".."
        && !name.iter().any(|&b| b == b'/' || b == 0)
}

impl<'a> DirEntry<'a> {
    pub fn encoded_len(&self) -> usize {
        DIRENT_HEADER + self.name.len()
    }

    pub fn encode(&self, out: &mut [u8]) -> Result<usize, FormatError> {
        let n = self.encoded_len();
        put_u64(out, 0, self.ino)?;
        put_u8(out, 8, self.file_type.dirent_code())?;
        put_u8(out, 9, self.name.len() as u8)?;
        put_bytes(out, DIRENT_HEADER, self.name)?;
        Ok(n)
    }

    pub fn decode(v: &'a [u8]) -> Result<Self, FormatError> {
        let ino = get_u64(v, 0)?;
        let ft = FileType::from_dirent_code(get_u8(v, 8)?).ok_or(bad("directory entry type"))?;
        let len = usize::from(get_u8(v, 9)?);
        if v.len() != DIRENT_HEADER + len {
            return Err(bad("directory entry length"));
        }
        let name = get_bytes(v, DIRENT_HEADER, len)?;
        if ino == 0 || !valid_name(name) {
            return Err(bad("directory entry name"));
        }
        Ok(DirEntry { ino, file_type: ft, name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_bounded() {
        // Pinned values: the hash is part of the on-disk format, so these
        // must never change (computed once from the definition in FORMAT.md:
        // FNV-1a 64, murmur3 fmix64, top 54 bits).
        assert_eq!(name_hash(b""), 0x003b_f407_d82e_a64a);
        assert_eq!(name_hash(b"a"), 0x0020_a8aa_562a_6fb3);
        assert_eq!(name_hash(b"b"), 0x001b_99cc_a21d_92b4);
        assert_eq!(name_hash(b"hello"), 0x003a_7158_b03f_6c8c);
        assert_eq!(name_hash(b"lost+found"), 0x002c_33e8_8e73_58bc);
        assert_eq!(name_hash(&[0xffu8; 255]), 0x0007_23e2_92d9_e02c);
        assert_eq!(key_range(b"a"), (0x20_a8aa_562a_6fb3 << 8, (0x20_a8aa_562a_6fb3 << 8) | 0xff));
        for n in [&b"x"[..], b"hello", &[0xffu8; 255]] {
            let (lo, hi) = key_range(n);
            assert!(hi < 1 << 62 && lo <= hi);
        }
    }

    #[test]
    fn round_trip() {
        let e = DirEntry { ino: 99, file_type: FileType::Regular, name: b"file.txt" };
        let mut buf = [0u8; 300];
        let n = e.encode(&mut buf).unwrap();
        assert_eq!(DirEntry::decode(&buf[..n]).unwrap(), e);
        assert!(DirEntry::decode(&buf[..n - 1]).is_err());
    }
}
