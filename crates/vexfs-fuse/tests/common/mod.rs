//! Shared helpers for the FUSE integration tests: build an image with the
//! core's mkfs, run `vexfs-fuse -f` on a temporary mountpoint, wait for the
//! mount, and always unmount in teardown.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use vexfs_core::mkfs::{format, MkfsOptions};
use vexfs_core::{FileDevice, Timestamp};

pub const BIN: &str = env!("CARGO_BIN_EXE_vexfs-fuse");

/// Whether FUSE mounts can work here; prints why not.
pub fn fuse_available() -> bool {
    if !Path::new("/dev/fuse").exists() {
        eprintln!("SKIP: /dev/fuse is missing; FUSE integration tests not run");
        return false;
    }
    if which("fusermount3").is_none() {
        eprintln!("SKIP: fusermount3 not installed (apt-get install fuse3); FUSE integration tests not run");
        return false;
    }
    true
}

pub fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file())
}

/// Make a fresh filesystem image of `size` bytes.
pub fn make_image(path: &Path, size: u64) {
    make_image_with(path, size, None)
}

/// Make a fresh image with a given inode count (`None`: mkfs's default).
pub fn make_image_with(path: &Path, size: u64, inodes: Option<u64>) {
    let f = std::fs::File::create(path).expect("create image");
    f.set_len(size).expect("size image");
    drop(f);
    let dev = FileDevice::open(path, false).expect("open image");
    let now = Timestamp::new(1_700_000_000, 0);
    let opts = MkfsOptions {
        inode_count: inodes,
        ..MkfsOptions::default()
    };
    format(dev, &opts, now, &mut |_, _| {}).expect("mkfs");
}

/// A scratch directory holding an image and a mountpoint.
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub image: PathBuf,
    pub mnt: PathBuf,
}

impl Scratch {
    pub fn new(size: u64) -> Self {
        Self::with_inodes(size, None)
    }

    pub fn with_inodes(size: u64, inodes: Option<u64>) -> Self {
        let dir = tempfile::Builder::new().prefix("vexfs-fuse-test").tempdir().expect("tempdir");
        let image = dir.path().join("image");
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).expect("mkdir mnt");
        make_image_with(&image, size, inodes);
        Self { dir, image, mnt }
    }

    pub fn mount(&self, opts: &[&str]) -> Mounted {
        Mounted::start(&self.image, &self.mnt, opts).unwrap_or_else(|e| panic!("mount failed: {e}"))
    }
}

pub fn is_mounted(mnt: &Path) -> bool {
    let Ok(canon) = mnt.canonicalize() else { return false };
    let want = canon.to_string_lossy().replace(' ', "\\040");
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|s| {
            s.lines()
                .any(|l| l.split(' ').nth(4) == Some(want.as_str()) && l.contains(" - fuse.vexfs "))
        })
        .unwrap_or(false)
}

/// Check an unmounted image with the core's checker (fsck -n): it must be
/// marked clean and have no problems.
pub fn assert_fsck_clean(image: &Path) {
    use vexfs_core::check::{check, CheckOptions};
    let dev = FileDevice::open(image, true).expect("open image for fsck");
    let opts = CheckOptions {
        force: true,
        ..CheckOptions::default()
    };
    let (report, _) = check(dev, &opts, &mut |_, _, _| true).unwrap_or_else(|e| panic!("fsck could not run: {e}"));
    let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
    assert!(
        problems.is_empty(),
        "fsck found problems in {}:\n{}",
        image.display(),
        problems.join("\n")
    );
    let buf = std::fs::read(image).expect("read image");
    let sb = vexfs_core::format::superblock::Superblock::decode(&buf).expect("superblock");
    assert_eq!(sb.state, vexfs_core::format::superblock::STATE_CLEAN, "not marked clean at unmount");
}

/// A running `vexfs-fuse -f`; unmounted on drop.
pub struct Mounted {
    child: Option<Child>,
    pub mnt: PathBuf,
    image: PathBuf,
}

impl Mounted {
    pub fn start(image: &Path, mnt: &Path, opts: &[&str]) -> Result<Mounted, String> {
        let mut cmd = Command::new(BIN);
        cmd.arg("-f").arg(image).arg(mnt);
        if !opts.is_empty() {
            cmd.arg("-o").arg(opts.join(","));
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn: {e}"))?;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if is_mounted(mnt) {
                return Ok(Mounted {
                    child: Some(child),
                    mnt: mnt.to_path_buf(),
                    image: image.to_path_buf(),
                });
            }
            if let Ok(Some(st)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!("daemon exited with {st}: {err}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err("mount did not appear within 20 s".to_string())
    }

    /// Unmount and wait for the daemon; returns its exit status. The image
    /// must then pass fsck.
    pub fn unmount(mut self) -> ExitStatus {
        let st = self.teardown().expect("daemon exit status");
        if st.success() {
            assert_fsck_clean(&self.image);
        }
        st
    }

    /// Kill the daemon with SIGKILL (no flush, no unmount of the core),
    /// then detach the dead mount.
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new("umount").arg("-l").arg(&self.mnt).status();
    }

    fn teardown(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        // Let the kernel finish with files just closed by the test.
        for i in 0..100 {
            let ok = Command::new("fusermount3")
                .arg("-u")
                .arg(&self.mnt)
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok || !is_mounted(&self.mnt) {
                break;
            }
            if i == 99 {
                let _ = Command::new("umount").arg("-l").arg(&self.mnt).status();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let start = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(st)) => return Some(st),
                Ok(None) if start.elapsed() < Duration::from_secs(60) => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    let _ = Command::new("umount").arg("-l").arg(&self.mnt).status();
                    return child.wait().ok();
                }
            }
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Run a shell command, panicking with its output on failure.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("run sh");
    if !out.status.success() {
        panic!(
            "`{cmd}` failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}
