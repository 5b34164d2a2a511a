//! Static userspace binaries for the guest: mkfs.vexfs and fsck.vexfs
//! built for musl, so the initramfs needs no shared libraries.

use crate::cmd::{cargo, log, run};
use crate::Result;
use std::path::{Path, PathBuf};

pub const MUSL: &str = "x86_64-unknown-linux-musl";

pub struct Binaries {
    pub mkfs: PathBuf,
    pub fsck: PathBuf,
    /// The Rust fsx and pjdfstest (`cargo install`), dynamically linked:
    /// the initramfs carries their libraries.
    pub fsx: PathBuf,
    /// Only looked for (and installed) when the run includes pjdfstest.
    pub pjdfstest: Option<PathBuf>,
}

/// A `cargo install`ed tool from PATH or cargo's bin folder, installed
/// there if missing.
fn cargo_tool(name: &str) -> Result<PathBuf> {
    let home_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin"));
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(home_bin.clone());
    let find = |dirs: &[PathBuf]| dirs.iter().map(|d| d.join(name)).find(|p| p.is_file());
    if let Some(p) = find(&dirs) {
        return Ok(p);
    }
    log(&format!("cargo install {name}"));
    run(cargo().args(["install", "--locked", "--quiet", name]))?;
    find(&dirs).ok_or_else(|| format!("{name} is not on PATH after cargo install"))
}

pub fn build(root: &Path, want_pjdfstest: bool) -> Result<Binaries> {
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
        fsx: cargo_tool("fsx")?,
        pjdfstest: if want_pjdfstest {
            Some(cargo_tool("pjdfstest")?)
        } else {
            None
        },
    })
}
