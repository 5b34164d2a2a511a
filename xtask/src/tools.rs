//! Static userspace binaries for the guest: mkfs.vexfs, fsck.vexfs,
//! vexctl, vexfs-fuse and the vector workload (vexfs-vecbench) built for
//! musl, so the initramfs needs no shared libraries for them.

use crate::cmd::{cargo, log, run};
use crate::Result;
use std::path::{Path, PathBuf};

pub const MUSL: &str = "x86_64-unknown-linux-musl";

pub struct Binaries {
    pub mkfs: PathBuf,
    pub fsck: PathBuf,
    pub vexctl: PathBuf,
    /// The FUSE daemon: the vector steps compare the kernel module with it
    /// on the same image, in the same guest.
    pub fuse: PathBuf,
    pub vecbench: PathBuf,
    /// fs_metabench, for the fs-bench step.
    pub metabench: PathBuf,
    /// The Rust fsx and pjdfstest (`cargo install`), dynamically linked:
    /// the initramfs carries their libraries.
    pub fsx: PathBuf,
    /// Only looked for (and installed) when the run includes pjdfstest.
    pub pjdfstest: Option<PathBuf>,
    /// mmap_check (xtask/guest/mmap_check.c), for the mmap step.
    pub mmap_check: PathBuf,
}

/// The mmap step's checker: one C file, static with musl-gcc (the guest
/// has no libc).
fn build_mmap_check(root: &Path) -> Result<PathBuf> {
    let out = root.join("target/vm/mmap_check");
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let src = root.join("xtask/guest/mmap_check.c");
    run(std::process::Command::new("musl-gcc")
        .args(["-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&out)
        .arg(&src))?;
    Ok(out)
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
    log("static mkfs.vexfs, fsck.vexfs, vexctl, vexfs-fuse, vexfs-vecbench, fs_metabench, mmap_check (musl)");
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
        .args([
            "--bin",
            "mkfs-vexfs",
            "--bin",
            "fsck-vexfs",
            "--bin",
            "vexctl",
        ])
        .args(["-p", "vexfs-fuse", "--bin", "vexfs-fuse"])
        .args(["-p", "vexfs-vm-vecbench", "--bin", "vexfs-vecbench"])
        .args(["-p", "vexfs-fsbench", "--bin", "fs_metabench"]);
    run(&mut c)?;
    let dir = root.join("target").join(MUSL).join("release");
    Ok(Binaries {
        mkfs: dir.join("mkfs-vexfs"),
        fsck: dir.join("fsck-vexfs"),
        vexctl: dir.join("vexctl"),
        fuse: dir.join("vexfs-fuse"),
        vecbench: dir.join("vexfs-vecbench"),
        metabench: dir.join("fs_metabench"),
        mmap_check: build_mmap_check(root)?,
        fsx: cargo_tool("fsx")?,
        pjdfstest: if want_pjdfstest {
            Some(cargo_tool("pjdfstest")?)
        } else {
            None
        },
    })
}
