//! Little-endian field access with bounds checks.
//!
//! Every read of an on-disk field goes through these helpers, so an offset
//! computed from disk data can never index out of bounds: it yields
//! [`FormatError::Truncated`] instead.

use crate::error::FormatError;

#[inline]
fn field<const N: usize>(buf: &[u8], off: usize) -> Result<[u8; N], FormatError> {
    let end = off.checked_add(N).ok_or(FormatError::Truncated)?;
    let s = buf.get(off..end).ok_or(FormatError::Truncated)?;
    let mut a = [0u8; N];
    a.copy_from_slice(s);
    Ok(a)
}

#[inline]
pub fn get_u8(buf: &[u8], off: usize) -> Result<u8, FormatError> {
    buf.get(off).copied().ok_or(FormatError::Truncated)
}
#[inline]
pub fn get_u16(buf: &[u8], off: usize) -> Result<u16, FormatError> {
    field::<2>(buf, off).map(u16::from_le_bytes)
}
#[inline]
pub fn get_u32(buf: &[u8], off: usize) -> Result<u32, FormatError> {
    field::<4>(buf, off).map(u32::from_le_bytes)
}
#[inline]
pub fn get_u64(buf: &[u8], off: usize) -> Result<u64, FormatError> {
    field::<8>(buf, off).map(u64::from_le_bytes)
}
#[inline]
pub fn get_i64(buf: &[u8], off: usize) -> Result<i64, FormatError> {
    field::<8>(buf, off).map(i64::from_le_bytes)
}
#[inline]
pub fn get_bytes(buf: &[u8], off: usize, len: usize) -> Result<&[u8], FormatError> {
    let end = off.checked_add(len).ok_or(FormatError::Truncated)?;
    buf.get(off..end).ok_or(FormatError::Truncated)
}

#[inline]
fn put<const N: usize>(buf: &mut [u8], off: usize, v: [u8; N]) -> Result<(), FormatError> {
    let end = off.checked_add(N).ok_or(FormatError::Truncated)?;
    buf.get_mut(off..end).ok_or(FormatError::Truncated)?.copy_from_slice(&v);
    Ok(())
}
#[inline]
pub fn put_u8(buf: &mut [u8], off: usize, v: u8) -> Result<(), FormatError> {
    put(buf, off, [v])
}
#[inline]
pub fn put_u16(buf: &mut [u8], off: usize, v: u16) -> Result<(), FormatError> {
    put(buf, off, v.to_le_bytes())
}
#[inline]
pub fn put_u32(buf: &mut [u8], off: usize, v: u32) -> Result<(), FormatError> {
    put(buf, off, v.to_le_bytes())
}
#[inline]
pub fn put_u64(buf: &mut [u8], off: usize, v: u64) -> Result<(), FormatError> {
    put(buf, off, v.to_le_bytes())
}
#[inline]
pub fn put_i64(buf: &mut [u8], off: usize, v: i64) -> Result<(), FormatError> {
    put(buf, off, v.to_le_bytes())
}
#[inline]
pub fn put_bytes(buf: &mut [u8], off: usize, v: &[u8]) -> Result<(), FormatError> {
    let end = off.checked_add(v.len()).ok_or(FormatError::Truncated)?;
    buf.get_mut(off..end).ok_or(FormatError::Truncated)?.copy_from_slice(v);
    Ok(())
}
