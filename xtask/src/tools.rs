//! Static userspace binaries for the guest: mkfs.vexfs and fsck.vexfs
//! built for musl, so the initramfs needs no shared libraries.

use crate::cmd::{cargo, log, run};
use crate::Result;
use std::path::{Path, PathBuf};

pub const MUSL: &str = "x86_64-unknown-linux-musl";

pub struct Binaries {
    pub mkfs: PathBuf,
    pub fsck: PathBuf,
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
    })
}
