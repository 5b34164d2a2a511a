//! Byte callbacks used to save and load indexes.
//!
//! Indexes never touch files: they write to a [`ByteSink`] and read from a
//! [`ByteSource`], so the filesystem can place them in its own blocks, the
//! tools in a file and tests in a `Vec<u8>`.

use crate::error::{AnnError, Result};
use alloc::vec::Vec;

/// Where a serialised index goes.
pub trait ByteSink {
    /// Append all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> Result<()>;
}

/// Where a serialised index comes from.
pub trait ByteSource {
    /// Fill all of `buf`, or fail with [`AnnError::Corrupt`] on a short read.
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()>;
}

impl ByteSink for Vec<u8> {
    fn write_all(&mut self, buf: &[u8]) -> Result<()> {
        self.try_reserve(buf.len())
            .map_err(|_| AnnError::OutOfMemory)?;
        self.extend_from_slice(buf);
        Ok(())
    }
}

/// Reads from a byte slice, advancing through it.
impl ByteSource for &[u8] {
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        if self.len() < buf.len() {
            return Err(AnnError::Corrupt("truncated index data"));
        }
        let (head, tail) = self.split_at(buf.len());
        buf.copy_from_slice(head);
        *self = tail;
        Ok(())
    }
}
