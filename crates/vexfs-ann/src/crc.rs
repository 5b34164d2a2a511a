//! Table-driven CRC-32C (Castagnoli), usable in `no_std` and the kernel.
//!
//! The `crc32c` crate pulls in a build script and std-only detection, so
//! the few hundred bytes of table live here instead. Throughput is not
//! critical: checksums run once per save/load.

const POLY: u32 = 0x82F6_3B78;

const fn make_table() -> [[u32; 256]; 4] {
    let mut t = [[0u32; 256]; 4];
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
    let mut i = 0;
    while i < 256 {
        let mut s = 1;
        while s < 4 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            s += 1;
        }
        i += 1;
    }
    t
}

static TABLE: [[u32; 256]; 4] = make_table();

/// Continue a CRC-32C over `data` from a previous value (0 to start).
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    let mut chunks = data.chunks_exact(4);
    for ch in &mut chunks {
        c ^= u32::from_le_bytes([ch[0], ch[1], ch[2], ch[3]]);
        c = TABLE[3][(c & 0xFF) as usize]
            ^ TABLE[2][((c >> 8) & 0xFF) as usize]
            ^ TABLE[1][((c >> 16) & 0xFF) as usize]
            ^ TABLE[0][(c >> 24) as usize];
    }
    for &b in chunks.remainder() {
        c = (c >> 8) ^ TABLE[0][((c ^ b as u32) & 0xFF) as usize];
    }
    !c
}

/// CRC-32C of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c_append(0, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // RFC 3720 test vectors.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
        let data: alloc::vec::Vec<u8> = (0..200u8).collect();
        assert_eq!(
            crc32c_append(crc32c(&data[..77]), &data[77..]),
            crc32c(&data)
        );
    }
}
