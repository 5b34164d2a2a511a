//! Damaged images are refused with a clear message and a non-zero exit,
//! never a panic or a hang.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Run the daemon (foreground or not) with a deadline; returns (code, stderr).
fn try_mount(image: &std::path::Path, mnt: &std::path::Path, foreground: bool) -> (i32, String) {
    let mut cmd = Command::new(BIN);
    if foreground {
        cmd.arg("-f");
    }
    let mut child = cmd.arg(image).arg(mnt).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            if is_mounted(mnt) {
                let _ = Command::new("fusermount3").arg("-u").arg(mnt).status();
            }
            return (st.code().unwrap_or(-1), err);
        }
        if t.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = Command::new("fusermount3").arg("-u").arg(mnt).status();
            panic!("daemon hung on a bad image");
        }
        if foreground && is_mounted(mnt) {
            let _ = Command::new("fusermount3").arg("-u").arg(mnt).status();
            let _ = child.wait();
            panic!("a bad image was mounted");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_refused(s: &Scratch, what: &str, expect: &[&str]) {
    for fg in [true, false] {
        let (code, err) = try_mount(&s.image, &s.mnt, fg);
        assert_ne!(code, 0, "{what}: mounted (foreground={fg})");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert!(err.starts_with("vexfs-fuse: "), "{what}: {err}");
        assert!(expect.iter().any(|e| err.contains(e)), "{what}: message {err:?} names none of {expect:?}");
        assert!(!is_mounted(&s.mnt));
    }
}

#[test]
fn truncated_zeroed_and_flipped_images_are_refused() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(32 << 20);
    let good = std::fs::read(&s.image).unwrap();

    std::fs::write(&s.image, &good[..good.len() / 2]).unwrap();
    assert_refused(&s, "truncated", &["truncated", "smaller"]);

    std::fs::write(&s.image, vec![0u8; good.len()]).unwrap();
    assert_refused(&s, "zeroed", &["magic", "incompatible", "corrupt"]);

    std::fs::write(&s.image, &good[..100]).unwrap();
    assert_refused(&s, "tiny", &["smaller", "superblock", "truncated"]);

    // Flip a bit in the superblock, then in the root inode's block.
    let mut bad = good.clone();
    bad[70] ^= 0x10;
    std::fs::write(&s.image, &bad).unwrap();
    assert_refused(&s, "superblock bit flip", &["corrupt", "checksum", "incompatible"]);

    let sb = vexfs_core::format::superblock::Superblock::decode(&good[..4096]).unwrap();
    let (blk, off) = sb.inode_location(vexfs_core::format::ROOT_INO).unwrap();
    let mut bad = good.clone();
    bad[(blk * u64::from(sb.block_size)) as usize + off + 9] ^= 0x01;
    std::fs::write(&s.image, &bad).unwrap();
    assert_refused(&s, "root inode bit flip", &["corrupt", "checksum"]);

    // Missing files and mountpoints are reported too.
    let (code, err) = try_mount(&s.dir.path().join("nope"), &s.mnt, true);
    assert_ne!(code, 0);
    assert!(err.contains("cannot open"), "{err}");
    std::fs::write(&s.image, &good).unwrap();
    let (code, err) = try_mount(&s.image, &s.dir.path().join("nomnt"), true);
    assert_ne!(code, 0);
    assert!(err.contains("mountpoint"), "{err}");
}
