//! CRC-32C (Castagnoli), the checksum of every metadata structure.
//!
//! A small table-driven implementation keeps this crate free of
//! dependencies; it is not on any data path (file contents are not
//! checksummed), so byte-at-a-time speed is sufficient.

const POLY: u32 = 0x82F6_3B78;

const TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Continue a CRC-32C over `data` from a previous raw state.
#[inline]
pub fn crc32c_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        let idx = ((crc ^ u32::from(b)) & 0xFF) as usize;
        // The index is masked to 0..=255, always inside the 256-entry table.
        crc = (crc >> 8) ^ TABLE.get(idx).copied().unwrap_or(0);
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
    fn skipping_equals_zeroed_field() {
        let mut d = [7u8; 64];
        d[10..14].copy_from_slice(&[1, 2, 3, 4]);
        let a = crc32c_skipping(&d, 10);
        d[10..14].copy_from_slice(&[0; 4]);
        assert_eq!(a, crc32c(&d));
    }
}
