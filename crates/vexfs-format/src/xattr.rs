//! Extended attributes: one blob per inode, in `xattr_blocks` contiguous
//! blocks starting at `xattr_block`.
//!
//! The blob starts with the common 32-byte metadata header (magic
//! `XATTR_MAGIC`, the crc32c covering all `xattr_blocks` blocks, `block_nr`
//! of the first block, owner = inode), then:
//!
//! | off | size | field    | meaning                                  |
//! |-----|------|----------|------------------------------------------|
//! | 32  | 4    | count    | number of entries                        |
//! | 36  | 4    | used     | bytes used from offset 0 (header incl.)  |
//! | 40  | ...  | entries  | packed, sorted by (namespace, name)      |
//!
//! Entry:
//!
//! | off | size | field     | meaning                                      |
//! |-----|------|-----------|----------------------------------------------|
//! | 0   | 1    | namespace | 1 user, 2 trusted, 3 security, 4 system      |
//! | 1   | 1    | name_len  | 1..=255, name without the namespace prefix   |
//! | 2   | 4    | value_len | 0..=MAX_VALUE                                |
//! | 6   | n    | name      |                                              |
//! | 6+n | m    | value     |                                              |

use crate::bytes::*;
use crate::error::{bad, FormatError};

pub const BLOB_HEADER: usize = 40;
const _: () = assert!(crate::header::HEADER_SIZE + 4 + 4 == BLOB_HEADER);
pub const ENTRY_HEADER: usize = 6;
/// Largest value (64 KiB, as Linux's XATTR_SIZE_MAX).
pub const MAX_VALUE: usize = 65536;
/// Largest blob: enough for several maximal values.
pub const MAX_BLOB: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Namespace {
    User = 1,
    Trusted = 2,
    Security = 3,
    System = 4,
}

impl Namespace {
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::User,
            2 => Self::Trusted,
            3 => Self::Security,
            4 => Self::System,
            _ => return None,
        })
    }
    pub fn prefix(self) -> &'static [u8] {
        match self {
            Self::User => b"user.",
            Self::Trusted => b"trusted.",
            Self::Security => b"security.",
            Self::System => b"system.",
        }
    }
    /// Split a full attribute name into namespace and suffix.
    pub fn split(full: &[u8]) -> Option<(Self, &[u8])> {
        for ns in [Self::User, Self::Trusted, Self::Security, Self::System] {
            if let Some(rest) = full.strip_prefix(ns.prefix()) {
                if !rest.is_empty() && rest.len() <= 255 {
                    return Some((ns, rest));
                }
                return None;
            }
        }
        None
    }
}

/// A borrowed attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XattrEntry<'a> {
    pub namespace: Namespace,
    pub name: &'a [u8],
    pub value: &'a [u8],
}

impl XattrEntry<'_> {
    pub fn encoded_len(&self) -> usize {
        ENTRY_HEADER + self.name.len() + self.value.len()
    }
}

/// Validate a blob's body (its header checksum is checked separately with
/// [`crate::header::verify`]) and return (count, used).
pub fn blob_bounds(blob: &[u8]) -> Result<(usize, usize), FormatError> {
    blob_bounds_at(blob, BLOB_HEADER)
}

/// [`blob_bounds`] for a blob whose entries start at `start` (a tree
/// inode's blob has a longer header, see [`crate::xattr_tree`]).
pub fn blob_bounds_at(blob: &[u8], start: usize) -> Result<(usize, usize), FormatError> {
    let count = get_u32(blob, 32)? as usize;
    let used = get_u32(blob, 36)? as usize;
    if used < start || used > blob.len() || used > MAX_BLOB {
        return Err(bad("xattr blob length"));
    }
    Ok((count, used))
}

/// Iterate the entries of a blob. Each step is bounds-checked; a bad entry
/// ends iteration with an error.
pub struct XattrIter<'a> {
    blob: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> XattrIter<'a> {
    pub fn new(blob: &'a [u8]) -> Result<Self, FormatError> {
        Self::new_at(blob, BLOB_HEADER)
    }

    /// Entries starting at `start` (see [`blob_bounds_at`]).
    pub fn new_at(blob: &'a [u8], start: usize) -> Result<Self, FormatError> {
        let (count, used) = blob_bounds_at(blob, start)?;
        let blob = blob.get(..used).ok_or(FormatError::Truncated)?;
        Ok(Self { blob, pos: start, left: count })
    }
}

/// A stored name never holds a NUL byte: names reach the filesystem as C
/// strings, and `listxattr` separates names with NULs, so such a name is
/// damage (one NUL would list two names, neither of which reads back).
pub fn check_name(name: &[u8]) -> Result<(), FormatError> {
    if name.contains(&0) {
        return Err(bad("xattr name holds a NUL byte"));
    }
    Ok(())
}

impl<'a> Iterator for XattrIter<'a> {
    type Item = Result<XattrEntry<'a>, FormatError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return if self.pos == self.blob.len() { None } else { Some(Err(bad("xattr blob trailing bytes"))) };
        }
        self.left -= 1;
        let r = (|| {
            let ns = Namespace::from_u8(get_u8(self.blob, self.pos)?).ok_or(bad("xattr namespace"))?;
            let nlen = usize::from(get_u8(self.blob, self.pos + 1)?);
            let vlen = get_u32(self.blob, self.pos + 2)? as usize;
            if nlen == 0 || vlen > MAX_VALUE {
                return Err(bad("xattr entry size"));
            }
            let name = get_bytes(self.blob, self.pos + ENTRY_HEADER, nlen)?;
            check_name(name)?;
            let value = get_bytes(self.blob, self.pos + ENTRY_HEADER + nlen, vlen)?;
            self.pos += ENTRY_HEADER + nlen + vlen;
            Ok(XattrEntry { namespace: ns, name, value })
        })();
        if r.is_err() {
            self.left = 0;
            self.pos = self.blob.len();
        }
        Some(r)
    }
}

/// Append one entry at `pos`, returning the new position.
pub fn put_entry(blob: &mut [u8], pos: usize, e: &XattrEntry<'_>) -> Result<usize, FormatError> {
    put_u8(blob, pos, e.namespace as u8)?;
    put_u8(blob, pos + 1, e.name.len() as u8)?;
    put_u32(blob, pos + 2, e.value.len() as u32)?;
    put_bytes(blob, pos + ENTRY_HEADER, e.name)?;
    put_bytes(blob, pos + ENTRY_HEADER + e.name.len(), e.value)?;
    Ok(pos + e.encoded_len())
}

/// Write the blob's count and used fields.
pub fn put_bounds(blob: &mut [u8], count: usize, used: usize) -> Result<(), FormatError> {
    put_u32(blob, 32, count as u32)?;
    put_u32(blob, 36, used as u32)
}
