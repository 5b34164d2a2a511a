//! CRC-32C for index headers and payloads: the same checksum (and the same
//! implementation) as every other VexFS on-disk structure.

pub use vexfs_format::checksum::crc32c;

/// Continue a CRC-32C over `data` from a previous final value (0 to start),
/// so a payload can be checksummed piece by piece as it streams out.
pub fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    !vexfs_format::checksum::crc32c_update(!crc, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_equals_whole() {
        let data: alloc::vec::Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let (a, b) = data.split_at(333);
        assert_eq!(crc32c_append(crc32c_append(0, a), b), crc32c(&data));
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }
}
