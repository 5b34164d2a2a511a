//! Static userspace binaries for the guest: mkfs.vexfs and fsck.vexfs
//! built for musl, so the initramfs needs no shared libraries.

use crate::cmd::{cargo, log, run};
use crate::Result;
use std::path::{Path, PathBuf};

pub const MUSL: &str = "x86_64-unknown-linux-musl";

pub struct Binaries {
    pub mkfs: PathBuf,
    pub fsck: PathBuf,
    /// The Rust fsx (`cargo install fsx`), dynamically linked: the
    /// initramfs carries its libraries.
    pub fsx: PathBuf,
}

/// `fsx` from PATH or cargo's bin folder, installed there if missing.
fn fsx() -> Result<PathBuf> {
    let home_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin"));
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(home_bin.clone());
    let find = |dirs: &[PathBuf]| dirs.iter().map(|d| d.join("fsx")).find(|p| p.is_file());
    if let Some(p) = find(&dirs) {
        return Ok(p);
    }
    log("cargo install fsx");
    run(cargo().args(["install", "--locked", "--quiet", "fsx"]))?;
    find(&dirs).ok_or_else(|| "fsx is not on PATH after cargo install".to_string())
}

pub fn build(root: &Path) -> Result<Binaries> {
    log("static mkfs.vexfs and fsck.vexfs (musl)");
    let mut c = cargo();
    c.current_dir(root)
        .args([
            "build",
            "-q",
            "--release",
            "--target",
            MUSL,
            "-p",
            "vexfs-tools",
        ])
        .args(["--bin", "mkfs-vexfs", "--bin", "fsck-vexfs"]);
    run(&mut c)?;
    let dir = root.join("target").join(MUSL).join("release");
    Ok(Binaries {
        mkfs: dir.join("mkfs-vexfs"),
        fsck: dir.join("fsck-vexfs"),
        fsx: fsx()?,
    })
}
