//! Compact encodings for saved per-node arrays: ids as zig-zag LEB128
//! deltas (ids inserted in order, as inode numbers mostly are, take one
//! byte instead of eight) and flags as a bitmap.

use crate::error::Result;
use alloc::vec::Vec;

/// The zig-zag form of each difference between consecutive values (the
/// first from 0).
fn zigzags(v: &[u64]) -> impl Iterator<Item = u64> + '_ {
    let mut prev = 0u64;
    v.iter().map(move |&x| {
        let d = x.wrapping_sub(prev) as i64;
        prev = x;
        ((d << 1) ^ (d >> 63)) as u64
    })
}

/// Zig-zag LEB128 of the differences between consecutive values (the
/// first from 0). Any u64 sequence round-trips. The output is sized
/// exactly first, so running out of memory is an error.
pub(crate) fn encode_deltas(v: &[u64]) -> Result<Vec<u8>> {
    let len: usize = zigzags(v)
        .map(|z| (64 - z.leading_zeros() as usize).div_ceil(7).max(1))
        .sum();
    let mut out = Vec::new();
    crate::mem::reserve(&mut out, len)?;
    for mut z in zigzags(v) {
        loop {
            let b = (z & 0x7f) as u8;
            z >>= 7;
            if z == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
    }
    Ok(out)
}

/// Inverse of [`encode_deltas`]; `None` on a truncated or over-long
/// varint (more than 10 bytes, or bits beyond 64).
pub(crate) fn decode_deltas(b: &[u8]) -> Option<Vec<u64>> {
    let mut out = Vec::new();
    out.try_reserve(b.len()).ok()?;
    let (mut prev, mut z, mut shift) = (0u64, 0u64, 0u32);
    for &byte in b {
        if shift > 63 || (shift == 63 && byte & 0x7e != 0) {
            return None;
        }
        z |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 != 0 {
            shift += 7;
            continue;
        }
        let d = ((z >> 1) as i64) ^ -((z & 1) as i64);
        prev = prev.wrapping_add(d as u64);
        out.push(prev);
        (z, shift) = (0, 0);
    }
    (shift == 0).then_some(out)
}

/// Flags packed eight to a byte, least significant bit first.
pub(crate) fn pack_bits(v: &[bool]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    crate::mem::resize(&mut out, v.len().div_ceil(8), 0u8)?;
    for (i, _) in v.iter().enumerate().filter(|(_, &f)| f) {
        out[i / 8] |= 1 << (i % 8);
    }
    Ok(out)
}

/// Inverse of [`pack_bits`] for `n` flags; `None` if the length is wrong
/// or a padding bit is set.
pub(crate) fn unpack_bits(b: &[u8], n: usize) -> Option<Vec<bool>> {
    if b.len() != n.div_ceil(8) {
        return None;
    }
    if !n.is_multiple_of(8) && b.last().is_some_and(|&l| l >> (n % 8) != 0) {
        return None;
    }
    Some((0..n).map(|i| b[i / 8] >> (i % 8) & 1 == 1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_round_trip_and_reject_damage() {
        let v = [0u64, 1, 2, 3, 1000, 7, u64::MAX, 0, 1 << 63, 5];
        let e = encode_deltas(&v).unwrap();
        assert_eq!(decode_deltas(&e).unwrap(), v);
        // Ids in order take a byte each.
        let seq: Vec<u64> = (0..1000).collect();
        assert_eq!(encode_deltas(&seq).unwrap().len(), 1000);
        assert_eq!(decode_deltas(&[0x80]), None);
        assert_eq!(decode_deltas(&[0xff; 11]), None);
        assert_eq!(decode_deltas(&[]).unwrap(), Vec::<u64>::new());
    }

    #[test]
    fn bits_round_trip_and_reject_padding() {
        let v: Vec<bool> = (0..13).map(|i| i % 3 == 0).collect();
        let p = pack_bits(&v).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(unpack_bits(&p, 13).unwrap(), v);
        assert_eq!(unpack_bits(&[0x00, 0x80], 13), None);
        assert_eq!(unpack_bits(&p, 20), None);
    }
}
