//! Recognising filesystems and partition tables already on a device, so
//! mkfs does not destroy one by accident.

/// Bytes to read from the start of a device to see every signature below.
pub const PROBE_LEN: usize = 0x10048 + 8;

struct Sig {
    name: &'static str,
    offset: usize,
    magic: &'static [u8],
}

const SIGS: &[Sig] = &[
    Sig { name: "VexFS filesystem", offset: 0, magic: &vexfs_core::format::superblock::MAGIC },
    Sig { name: "ext2/ext3/ext4 filesystem", offset: 1080, magic: &[0x53, 0xEF] },
    Sig { name: "XFS filesystem", offset: 0, magic: b"XFSB" },
    Sig { name: "btrfs filesystem", offset: 0x10040, magic: b"_BHRfS_M" },
    Sig { name: "swap space", offset: 4086, magic: b"SWAPSPACE2" },
    Sig { name: "swap space", offset: 4086, magic: b"SWAP-SPACE" },
    Sig { name: "LUKS encrypted volume", offset: 0, magic: b"LUKS\xba\xbe" },
    Sig { name: "squashfs filesystem", offset: 0, magic: b"hsqs" },
    Sig { name: "ISO 9660 filesystem", offset: 0x8001, magic: b"CD001" },
    Sig { name: "GPT partition table", offset: 512, magic: b"EFI PART" },
    Sig { name: "DOS/MBR boot sector or partition table", offset: 510, magic: &[0x55, 0xAA] },
];

/// Names of the signatures found in `head` (the device's first bytes).
pub fn detect(head: &[u8]) -> Vec<&'static str> {
    let mut found: Vec<&'static str> = Vec::new();
    for s in SIGS {
        let hit = head.get(s.offset..s.offset + s.magic.len()).is_some_and(|b| b == s.magic);
        if hit && !found.contains(&s.name) {
            found.push(s.name);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each() {
        assert!(detect(&[0u8; PROBE_LEN]).is_empty());
        assert!(detect(&[]).is_empty());
        let mut b = vec![0u8; PROBE_LEN];
        b[1080] = 0x53;
        b[1081] = 0xEF;
        assert_eq!(detect(&b), vec!["ext2/ext3/ext4 filesystem"]);
        let mut b = vec![0u8; PROBE_LEN];
        b[0x10040..0x10048].copy_from_slice(b"_BHRfS_M");
        b[510] = 0x55;
        b[511] = 0xAA;
        assert_eq!(detect(&b).len(), 2);
    }
}
