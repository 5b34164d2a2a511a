//! Loading arbitrary bytes as an index must return an error or a usable
//! index, never panic or allocate without bound. The input is tried both
//! as-is and with its checksums repaired, so the structural checks behind
//! the CRCs are exercised too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vexfs_ann::{crc, load, SearchParams};

fn exercise(bytes: &[u8]) {
    if let Ok(idx) = load(&mut &bytes[..]) {
        let q = vec![0.25f32; idx.dim()];
        let _ = idx.search(&q, &SearchParams::k(4), None);
        let _ = idx.stats();
        let mut out = Vec::new();
        let _ = idx.save(&mut out);
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    if data.len() >= 64 {
        let mut b = data.to_vec();
        let plen = (b.len() - 64) as u64;
        b[48..56].copy_from_slice(&plen.to_le_bytes());
        let pc = crc::crc32c(&b[64..]);
        b[56..60].copy_from_slice(&pc.to_le_bytes());
        let hc = crc::crc32c(&b[..60]);
        b[60..64].copy_from_slice(&hc.to_le_bytes());
        exercise(&b);
    }
});
