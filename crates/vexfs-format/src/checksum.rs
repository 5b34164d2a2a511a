//! CRC-32C (Castagnoli), the checksum of every metadata structure.
//!
//! Every metadata block is checksummed when it is read and when a commit
//! writes it, so this sits on the path of every metadata operation. With
//! the `std` feature the crc32c crate computes it with the CPU's CRC
//! instruction (several GB/s, detected at run time); without it (the kernel
//! module's build) a table-driven slicing-by-8 loop does, free of
//! dependencies and of `unsafe`. Both give the same values (tested).

const POLY: u32 = 0x82F6_3B78;

/// Slicing-by-8 tables: `TABLES[0]` is the classic byte table, `TABLES[k]`
/// advances a byte through `k` further zero bytes. Eight bytes per step
/// keeps checksumming a 4 KiB block cheap on every commit.
const TABLES: [[u32; 256]; 8] = {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut s = 1;
    while s < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            i += 1;
        }
        s += 1;
    }
    t
};

#[inline(always)]
fn tab(k: usize, idx: u32) -> u32 {
    // Both indices are in range by construction (k < 8, idx masked to a byte).
    TABLES.get(k).and_then(|t| t.get((idx & 0xFF) as usize)).copied().unwrap_or(0)
}

/// Continue a CRC-32C over `data` from a previous raw state.
#[inline]
pub fn crc32c_update(crc: u32, data: &[u8]) -> u32 {
    #[cfg(feature = "std")]
    {
        // The crate works on finished values (inverted state).
        !crc32c::crc32c_append(!crc, data)
    }
    #[cfg(not(feature = "std"))]
    {
        crc32c_update_table(crc, data)
    }
}

/// [`crc32c_update`] by table lookups.
#[cfg_attr(feature = "std", allow(dead_code))]
fn crc32c_update_table(mut crc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) ^ crc;
        let hi = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
        crc = tab(7, lo) ^ tab(6, lo >> 8) ^ tab(5, lo >> 16) ^ tab(4, lo >> 24)
            ^ tab(3, hi) ^ tab(2, hi >> 8) ^ tab(1, hi >> 16) ^ tab(0, hi >> 24);
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ tab(0, crc ^ u32::from(b));
    }
    crc
}

/// CRC-32C of `data` (standard init and final xor).
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    !crc32c_update(!0, data)
}

/// CRC-32C of `data` treating the four bytes at `field` as zero, which is how
/// every structure's own checksum field is covered.
pub fn crc32c_skipping(data: &[u8], field: usize) -> u32 {
    let (head, rest) = data.split_at(field.min(data.len()));
    let tail = rest.get(4..).unwrap_or(&[]);
    let zero = [0u8; 4];
    let skipped = rest.len().min(4);
    let mut c = crc32c_update(!0, head);
    c = crc32c_update(c, zero.get(..skipped).unwrap_or(&[]));
    !crc32c_update(c, tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // RFC 3720 test vector: 32 bytes of zeros.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn sliced_matches_bytewise() {
        let data: [u8; 1000] = core::array::from_fn(|i| (i * 37 % 256) as u8);
        for len in [0, 1, 7, 8, 9, 63, 64, 1000] {
            let mut bytewise = !0u32;
            for &b in &data[..len] {
                bytewise = (bytewise >> 8) ^ TABLES[0][((bytewise ^ u32::from(b)) & 0xFF) as usize];
            }
            assert_eq!(crc32c_update_table(!0, &data[..len]), bytewise, "len {len}");
            assert_eq!(crc32c_update(!0, &data[..len]), bytewise, "len {len}");
        }
    }

    #[test]
    fn chained_updates_equal_one_pass() {
        let data: [u8; 4096] = core::array::from_fn(|i| (i * 131 % 251) as u8);
        for cut in [0, 3, 8, 100, 4095, 4096] {
            let (a, b) = data.split_at(cut);
            let c = crc32c_update(crc32c_update(!0, a), b);
            assert_eq!(c, crc32c_update_table(!0, &data), "cut {cut}");
        }
    }

    #[test]
    fn skipping_equals_zeroed_field() {
        let mut d = [7u8; 64];
        d[10..14].copy_from_slice(&[1, 2, 3, 4]);
        let a = crc32c_skipping(&d, 10);
        d[10..14].copy_from_slice(&[0; 4]);
        assert_eq!(a, crc32c(&d));
    }
}
