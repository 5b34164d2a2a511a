//! The built `mkfs.vexfs` and `fsck.vexfs` binaries, run as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const MKFS: &str = env!("CARGO_BIN_EXE_mkfs-vexfs");
const FSCK: &str = env!("CARGO_BIN_EXE_fsck-vexfs");

fn run(bin: &str, args: &[&str]) -> Output {
    let out = Command::new(bin).args(args).stdin(Stdio::null()).output().expect("spawn");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{bin} {args:?} panicked:\n{stderr}");
    out
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn image(dir: &tempfile::TempDir, name: &str, size: &str) -> PathBuf {
    let img = dir.path().join(name);
    let o = run(MKFS, &["-q", "-L", "tests", p(&img), size]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    img
}

/// Superblock geometry needed to aim damage at metadata.
struct Geo {
    bs: usize,
    bbitmap: usize,
    itable: usize,
}

fn geo(img: &Path) -> Geo {
    let data = std::fs::read(img).unwrap();
    let sb = vexfs_core::format::superblock::Superblock::decode(&data[..512]).unwrap();
    Geo { bs: sb.block_size as usize, bbitmap: sb.block_bitmap_start as usize, itable: sb.inode_table_start as usize }
}

fn patch(img: &Path, off: usize, f: impl FnOnce(&mut u8)) {
    let mut data = std::fs::read(img).unwrap();
    f(&mut data[off]);
    std::fs::write(img, data).unwrap();
}

#[test]
fn mkfs_creates_and_fsck_finds_clean() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("a.img");
    let o = run(MKFS, &["-L", "data", "-U", "01234567-89ab-cdef-0123-456789abcdef", p(&img), "32M"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("Filesystem UUID: 01234567-89ab-cdef-0123-456789abcdef"), "{t}");
    assert!(t.contains("Filesystem label: data"), "{t}");
    assert!(t.contains("8192 4k blocks"), "{t}");
    assert_eq!(std::fs::metadata(&img).unwrap().len(), 32 << 20);
    // Clean and not forced: the short e2fsck-style line.
    let o = run(FSCK, &["-p", p(&img)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("clean,"), "{}", text(&o));
    let o = run(FSCK, &["-f", "-n", p(&img)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("Pass 5"), "{}", text(&o));
}

#[test]
fn mkfs_options() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("b.img");
    let o = run(MKFS, &["-b", "1024", "-N", "500", "-U", "time", p(&img), "4M"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("4096 1k blocks and 500 inodes"), "{}", text(&o));
    // Bare size: blocks of the chosen size, as mke2fs.
    let img2 = dir.path().join("c.img");
    let o = run(MKFS, &["-q", "-b", "2048", "-i", "8k", p(&img2), "1000"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(std::fs::metadata(&img2).unwrap().len(), 2048 * 1000);
    assert!(run(MKFS, &["-q", "-V"]).status.success());
    for bad in [&["-b", "3000", "x.img", "1M"][..], &["-L", &"x".repeat(40), "x.img", "1M"], &["-U", "nope", "x.img", "1M"], &["x.img", "12Q"], &["x.img", "10K"]] {
        let mut args: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
        let last_img = args.iter().position(|a| a == "x.img").unwrap();
        args[last_img] = p(&dir.path().join("x.img")).to_string();
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let o = run(MKFS, &refs);
        assert_eq!(code(&o), 1, "{bad:?}: {}", text(&o));
        assert!(!text(&o).trim().is_empty());
    }
    assert_eq!(code(&run(MKFS, &["--no-such-option"])), 1);
    // A missing image without a size.
    let o = run(MKFS, &[p(&dir.path().join("missing.img"))]);
    assert_eq!(code(&o), 1);
    assert!(text(&o).contains("give a size"), "{}", text(&o));
}

#[test]
fn mkfs_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(&dir, "d.img", "8M");
    let before = std::fs::read(&img).unwrap();
    let o = run(MKFS, &["-q", p(&img)]);
    assert_eq!(code(&o), 1);
    assert!(text(&o).contains("contains a VexFS filesystem"), "{}", text(&o));
    assert!(std::fs::read(&img).unwrap() == before);
    // Other signatures too.
    for (off, magic) in [(1080usize, &[0x53u8, 0xEF][..]), (0, b"XFSB"), (0x10040, b"_BHRfS_M"), (4086, b"SWAPSPACE2"), (510, &[0x55, 0xAA]), (512, b"EFI PART")] {
        let other = dir.path().join("other.img");
        let mut data = vec![0u8; 1 << 20];
        data[off..off + magic.len()].copy_from_slice(magic);
        std::fs::write(&other, &data).unwrap();
        let o = run(MKFS, &["-q", p(&other)]);
        assert_eq!(code(&o), 1, "signature at {off} not detected: {}", text(&o));
        assert!(std::fs::read(&other).unwrap() == data);
        let o = run(MKFS, &["-q", "-F", p(&other)]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let o = run(MKFS, &["-q", "-F", p(&img)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(code(&run(FSCK, &["-fn", p(&img)])), 0);
}

#[test]
fn mkfs_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("e.img");
    let o = run(MKFS, &["-n", p(&img), "16M"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("4096 4k blocks"), "{}", text(&o));
    assert!(!img.exists(), "-n must not create the image");
    std::fs::write(&img, vec![0u8; 1 << 20]).unwrap();
    let o = run(MKFS, &["-n", p(&img)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(std::fs::read(&img).unwrap().iter().all(|&b| b == 0));
}

#[test]
fn fsck_exit_codes_on_damage() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(&dir, "f.img", "8M");
    let g = geo(&img);
    // A flipped bit in a bitmap block: safe to fix.
    patch(&img, g.bbitmap * g.bs + 100, |b| *b ^= 0x08);
    let o = run(FSCK, &["-fn", p(&img)]);
    assert_eq!(code(&o), 4, "{}", text(&o));
    assert!(text(&o).contains("? no"), "{}", text(&o));
    let o = run(FSCK, &["-fp", p(&img)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("FILE SYSTEM WAS MODIFIED"), "{}", text(&o));
    assert_eq!(code(&run(FSCK, &["-fn", p(&img)])), 0);

    // A damaged lost+found inode: preen will not touch it, -y will.
    patch(&img, g.itable * g.bs + 256 + 8, |b| *b ^= 0x01);
    let o = run(FSCK, &["-fp", p(&img)]);
    assert_eq!(code(&o), 4, "{}", text(&o));
    assert!(text(&o).contains("UNEXPECTED INCONSISTENCY"), "{}", text(&o));
    let o = run(FSCK, &["-fy", p(&img)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let o = run(FSCK, &["-fn", p(&img)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // Not forced after the repair left it clean.
    assert!(text(&run(FSCK, &["-n", p(&img)])).contains("clean,"));
}

#[test]
fn fsck_without_terminal_does_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(&dir, "g.img", "8M");
    let g = geo(&img);
    patch(&img, g.bbitmap * g.bs + 100, |b| *b ^= 0x08);
    let before = std::fs::read(&img).unwrap();
    let o = run(FSCK, &["-f", p(&img)]);
    assert_eq!(code(&o), 4, "{}", text(&o));
    assert!(std::fs::read(&img).unwrap() == before);
}

#[test]
fn fsck_operational_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let zeroed = dir.path().join("zero.img");
    std::fs::write(&zeroed, vec![0u8; 4 << 20]).unwrap();
    let random = dir.path().join("random.img");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..(1 << 20))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&random, bytes).unwrap();
    let truncated = image(&dir, "trunc.img", "8M");
    std::fs::OpenOptions::new().write(true).open(&truncated).unwrap().set_len(2 << 20).unwrap();
    let empty = dir.path().join("empty.img");
    std::fs::write(&empty, b"").unwrap();
    for img in [&zeroed, &random, &truncated, &empty] {
        for mode in ["-fn", "-fy", "-p"] {
            let o = run(FSCK, &[mode, p(img)]);
            assert_eq!(code(&o), 8, "{} {mode}: {}", img.display(), text(&o));
            assert!(text(&o).contains("fsck"), "message names the tool: {}", text(&o));
        }
    }
    assert_eq!(code(&run(FSCK, &["-fn", p(&dir.path().join("missing.img"))])), 8);
    assert_eq!(code(&run(FSCK, &[])), 16);
    assert_eq!(code(&run(FSCK, &["-n", "-y", p(&zeroed)])), 16);
    assert_eq!(code(&run(FSCK, &["-p", "-y", p(&zeroed)])), 16);
    assert_eq!(code(&run(FSCK, &["--bogus", p(&zeroed)])), 16);
    assert_eq!(code(&run(FSCK, &["-V"])), 0);
}

#[test]
fn mkfs_over_damaged_or_short_images() {
    let dir = tempfile::tempdir().unwrap();
    // A bit-flipped VexFS superblock is no longer recognised as VexFS by
    // fsck, but mkfs still needs -F only if some signature remains.
    let img = image(&dir, "h.img", "8M");
    patch(&img, 300, |b| *b ^= 0x20);
    let o = run(FSCK, &["-fn", p(&img)]);
    assert_eq!(code(&o), 8, "{}", text(&o));
    assert!(text(&o).contains("checksum"), "{}", text(&o));
    let o = run(MKFS, &["-q", "-F", p(&img)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(code(&run(FSCK, &["-fn", p(&img)])), 0);
    // Too small for any filesystem.
    let tiny = dir.path().join("tiny.img");
    std::fs::write(&tiny, vec![0u8; 8192]).unwrap();
    let o = run(MKFS, &["-q", p(&tiny)]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("too small"), "{}", text(&o));
}

#[test]
fn fsck_repairs_random_inode_table_damage_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(&dir, "r.img", "4M");
    let g = geo(&img);
    let mut x: u64 = 12345;
    for round in 0..20 {
        let mut data = std::fs::read(&img).unwrap();
        for _ in 0..4 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let off = g.bs + (x >> 33) as usize % (g.itable * g.bs + 2 * g.bs);
            data[off] ^= (x >> 8) as u8 | 1;
        }
        std::fs::write(&img, &data).unwrap();
        let o = run(FSCK, &["-fy", p(&img)]);
        assert!([0, 1, 4].contains(&code(&o)), "round {round}: {}", text(&o));
        let o = run(FSCK, &["-fn", p(&img)]);
        assert!([0, 4].contains(&code(&o)), "round {round}: {}", text(&o));
    }
}

/// Undoes a loop attachment and mount, even when the test fails.
struct LoopMount {
    dev: String,
    mnt: Option<PathBuf>,
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        if let Some(m) = &self.mnt {
            let _ = Command::new("umount").arg(m).status();
        }
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
    }
}

fn ok(cmd: &mut Command) -> Option<String> {
    let o = cmd.stderr(Stdio::null()).output().ok()?;
    o.status.success().then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// Mounted devices and images are refused. Needs root, loop devices,
/// mkfs.ext2 and mount; skipped where any is missing.
#[test]
fn mounted_devices_and_their_images_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("loop.img");
    std::fs::write(&img, vec![0u8; 8 << 20]).unwrap();
    if ok(Command::new("mkfs.ext2").args(["-q", "-F", p(&img)])).is_none() {
        eprintln!("skipped: no mkfs.ext2");
        return;
    }
    let Some(dev) = ok(Command::new("losetup").args(["-f", "--show", p(&img)])) else {
        eprintln!("skipped: cannot attach a loop device");
        return;
    };
    let mut guard = LoopMount { dev: dev.clone(), mnt: None };
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    if ok(Command::new("mount").args([dev.as_str(), p(&mnt)])).is_none() {
        eprintln!("skipped: cannot mount");
        return;
    }
    guard.mnt = Some(mnt);
    for target in [dev.as_str(), p(&img)] {
        let o = run(MKFS, &["-q", "-F", target]);
        assert_eq!(code(&o), 1, "{}", text(&o));
        assert!(text(&o).contains("mounted on"), "{}", text(&o));
        let o = run(FSCK, &["-fy", target]);
        assert_eq!(code(&o), 8, "{}", text(&o));
        assert!(text(&o).contains("mounted"), "{}", text(&o));
    }
    drop(guard);
    // Unmounted and detached, the image may be formatted again.
    let o = run(MKFS, &["-q", "-F", p(&img)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

#[test]
fn fsck_machine_progress_lines() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(&dir, "c.img", "8M");
    let o = run(FSCK, &["-fn", "-C", "1", p(&img)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().filter(|l| l.ends_with(p(&img)) && l.split(' ').count() == 4).collect();
    assert!(lines.iter().any(|l| l.starts_with("1 ")), "{out}");
    assert!(lines.iter().any(|l| l.starts_with("5 ")), "{out}");
}

/// A file unlinked while open when the machine stopped is on the orphan
/// list: `-n` says it is left for the mount (exit 0, nothing written),
/// `-p` deletes it as a mount would, and neither calls it an error.
#[test]
fn fsck_treats_orphans_as_recovery_work() {
    use vexfs_core::{FileDevice, Fs, MountOptions, Timestamp};
    let dir = tempfile::tempdir().unwrap();
    let img = image(&dir, "o.img", "16M");
    let t = Timestamp { sec: 1_700_000_000, nsec: 0 };
    let mut fs = Fs::mount(FileDevice::open(&img, false).unwrap(), MountOptions::default(), t).unwrap();
    let ino = fs.create(vexfs_core::format::ROOT_INO, b"held", 0o644, 0, 0, t).unwrap().ino;
    fs.write(ino, 0, &[1u8; 100_000], t).unwrap();
    fs.open(ino).unwrap();
    fs.unlink(vexfs_core::format::ROOT_INO, b"held", t).unwrap();
    fs.sync().unwrap();
    drop(fs); // the machine stops: no release, no unmount

    let before = std::fs::read(&img).unwrap();
    let o = run(FSCK, &["-n", p(&img)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("1 orphan inode (unlinked while open, or being truncated) left for the next mount"), "{}", text(&o));
    assert!(std::fs::read(&img).unwrap() == before, "-n wrote to the image");
    let o = run(FSCK, &["-p", p(&img)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("released 1 orphan inode"), "{}", text(&o));
    let o = run(FSCK, &["-fn", p(&img)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(!text(&o).contains("orphan"), "{}", text(&o));
}
