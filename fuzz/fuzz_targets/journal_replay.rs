//! Journal replay on fuzzer-built logs: the input becomes a transaction
//! (descriptor targets, image bytes, commit fields) written into the log
//! of a small journaled image, sealed so it passes the CRC checks unless
//! the input asks otherwise. Mount (which replays), walk, unmount and fsck:
//! errors are fine, panics and hangs are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vexfs_core::check::{check, CheckOptions};
use vexfs_core::format::checksum::crc32c_update;
use vexfs_core::format::journal::{encode_commit, encode_descriptor, tags_per_descriptor};
use vexfs_core::format::superblock::{Superblock, SUPERBLOCK_SIZE};
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{Fs, MemDevice, MountOptions, Timestamp};

const T: Timestamp = Timestamp::new(1_700_000_000, 0);
const BS: usize = 1024;

fn base() -> &'static (Vec<u8>, Superblock) {
    static IMG: OnceLock<(Vec<u8>, Superblock)> = OnceLock::new();
    IMG.get_or_init(|| {
        let opts = MkfsOptions { block_size: BS as u32, inode_count: Some(256), ..Default::default() };
        let dev = format(MemDevice::new(1 << 20), &opts, T, &mut |_, _| {}).unwrap();
        let mut fs = Fs::mount(dev, MountOptions::default(), T).unwrap();
        let d = fs.mkdir(1, b"d", 0o755, 0, 0, T).unwrap().ino;
        for i in 0..40 {
            let f = fs.create(d, format!("f{i}").as_bytes(), 0o644, 0, 0, T).unwrap().ino;
            fs.write(f, 0, &[i as u8; 700], T).unwrap();
        }
        let data = fs.unmount(T).unwrap().data;
        let sb = Superblock::decode(&data[..SUPERBLOCK_SIZE]).unwrap();
        (data, sb)
    })
}

fuzz_target!(|data: &[u8]| {
    let (img, sb) = base();
    let mut img = img.clone();
    if data.len() < 4 {
        return;
    }
    let log_start = (sb.journal_start as usize + 1) * BS;
    let log_blocks = sb.journal_blocks as usize - 1;
    // Input: [n targets][flags][targets as u16 ...][image bytes ...]
    let n = 1 + data[0] as usize % tags_per_descriptor(BS).min(log_blocks - 2);
    let flags = data[1];
    let mut rest = &data[2..];
    let mut targets = Vec::with_capacity(n);
    for _ in 0..n {
        let t = match rest {
            [a, b, tail @ ..] => {
                rest = tail;
                u64::from(u16::from_le_bytes([*a, *b]))
            }
            _ => 0,
        };
        targets.push(t % (sb.block_count + 4));
    }
    let seq = 1 + u64::from(flags >> 4);
    let mut log = vec![0u8; (n + 2) * BS];
    if encode_descriptor(&mut log[..BS], seq, &targets).is_err() {
        return;
    }
    let mut body = crc32c_update(0xFFFF_FFFF, &log[..BS]);
    for i in 0..n {
        let blk = &mut log[(i + 1) * BS..(i + 2) * BS];
        // Images: mostly the home block's own bytes with the input laid on
        // top, so replays produce near-valid metadata.
        let home = targets[i] as usize * BS;
        if home + BS <= img.len() {
            blk.copy_from_slice(&img[home..home + BS]);
        }
        for (j, b) in rest.iter().skip(i * 64).take(64).enumerate() {
            blk[(j * 16 + i) % BS] ^= b;
        }
        body = crc32c_update(body, blk);
    }
    let images = if flags & 1 != 0 { n as u64 + 1 } else { n as u64 };
    let crc = if flags & 2 != 0 { body } else { !body };
    if encode_commit(&mut log[(n + 1) * BS..], seq, images, crc).is_err() {
        return;
    }
    img[log_start..log_start + log.len()].copy_from_slice(&log);

    let dev = MemDevice { data: img };
    if let Ok(mut fs) = Fs::mount(dev, MountOptions::default(), T) {
        if let Ok(list) = fs.readdir(1, 0, 1000) {
            for e in list {
                let _ = fs.lookup(1, &e.name);
            }
        }
        let _ = fs.create(1, b"new", 0o644, 0, 0, T);
        if let Ok(dev) = fs.unmount(T) {
            let _ = check(dev, &CheckOptions::default(), &mut |_, _, _| true);
        }
    }
});
