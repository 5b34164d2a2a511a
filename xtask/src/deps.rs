//! What the VM test needs on the host, installed on demand: Debian's 6.1
//! kernel image and the headers of the same version (resolved at run time
//! from apt, never hard-coded), QEMU, busybox, cpio, binutils, the musl
//! target and rust-src.

use crate::cmd::{log, output, output_any, run};
use crate::Result;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Debian kernel the module is built for and booted with.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// `uname -r` of the guest, e.g. `6.1.0-57-amd64`.
    pub version: String,
    pub vmlinuz: PathBuf,
    /// The Kbuild tree of the headers package.
    pub build_dir: PathBuf,
    /// `/lib/modules/<version>`: the virtio drivers come from here.
    pub modules_dir: PathBuf,
}

const HOST_PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "busybox-static",
    "cpio",
    "binutils",
    "make",
    "gcc",
    "xz-utils",
    "musl-tools",
    // The fs-bench step's ext4 baseline and I/O load in the guest.
    "e2fsprogs",
    "fio",
    // setfacl and getfacl for the acl step.
    "acl",
];

fn installed(pkg: &str) -> bool {
    let mut c = Command::new("dpkg-query");
    c.args(["-W", "-f=${Status}", pkg]);
    matches!(output_any(&mut c), Ok((true, s)) if s.contains("install ok installed"))
}

fn apt_update() -> Result<()> {
    log("apt-get update");
    run(Command::new("apt-get").args(["update", "-qq"]))
}

fn apt_install(pkgs: &[String]) -> Result<()> {
    let missing: Vec<&String> = pkgs.iter().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    log(&format!("apt-get install {}", join(&missing)));
    let mut c = Command::new("apt-get");
    c.env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(missing.iter().map(|s| s.as_str()));
    if run(&mut c).is_err() {
        // Stale lists are the usual cause: refresh once and retry.
        apt_update()?;
        run(&mut c)?;
    }
    Ok(())
}

fn join(v: &[&String]) -> String {
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
}

/// The ABI number N of `linux-<kind>-6.1.0-N-amd64` names in apt's lists.
fn abi_numbers(kind: &str) -> Result<Vec<u32>> {
    let pattern = format!("^linux-{kind}-6\\.1\\.0-[0-9]+-amd64$");
    let out = output(Command::new("apt-cache").args(["search", "--names-only", &pattern]))?;
    let prefix = format!("linux-{kind}-6.1.0-");
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|name| {
            name.strip_prefix(&prefix)?
                .strip_suffix("-amd64")?
                .parse()
                .ok()
        })
        .collect())
}

/// The newest 6.1 ABI for which apt has both an image and headers. The
/// meta package `linux-image-amd64` names the preferred one; it is taken
/// when its headers exist too, else the newest pair.
fn resolve_abi() -> Result<u32> {
    let mut images = abi_numbers("image")?;
    if images.is_empty() {
        apt_update()?;
        images = abi_numbers("image")?;
    }
    let headers = abi_numbers("headers")?;
    let mut both: Vec<u32> = images.into_iter().filter(|n| headers.contains(n)).collect();
    both.sort_unstable();
    let preferred = output(Command::new("apt-cache").args(["depends", "linux-image-amd64"]))
        .ok()
        .and_then(|s| {
            s.lines()
                .filter_map(|l| l.trim().strip_prefix("Depends: linux-image-6.1.0-"))
                .find_map(|rest| rest.strip_suffix("-amd64")?.parse::<u32>().ok())
        });
    match preferred {
        Some(n) if both.contains(&n) => Ok(n),
        _ => both
            .last()
            .copied()
            .ok_or_else(|| "apt has no linux-image-6.1.0-*-amd64 with matching headers".into()),
    }
}

fn rustup(args: &[&str]) -> Result<()> {
    let (ok, text) = output_any(Command::new("rustup").args(args))?;
    if ok {
        Ok(())
    } else {
        Err(format!("rustup {} failed:\n{text}", args.join(" ")))
    }
}

/// Install everything and return the kernel to build for and boot.
pub fn prepare() -> Result<Kernel> {
    let mut pkgs: Vec<String> = HOST_PACKAGES.iter().map(|s| s.to_string()).collect();
    let abi = resolve_abi()?;
    let version = format!("6.1.0-{abi}-amd64");
    pkgs.push(format!("linux-image-{version}"));
    pkgs.push(format!("linux-headers-{version}"));
    apt_install(&pkgs)?;
    rustup(&["component", "add", "rust-src"])?;
    rustup(&["target", "add", crate::tools::MUSL])?;

    let kernel = Kernel {
        vmlinuz: PathBuf::from(format!("/boot/vmlinuz-{version}")),
        build_dir: PathBuf::from(format!("/usr/src/linux-headers-{version}")),
        modules_dir: PathBuf::from(format!("/lib/modules/{version}")),
        version,
    };
    for p in [&kernel.vmlinuz, &kernel.build_dir, &kernel.modules_dir] {
        exists(p)?;
    }
    log(&format!("Debian kernel {}", kernel.version));
    Ok(kernel)
}

fn exists(p: &Path) -> Result<()> {
    if p.exists() {
        Ok(())
    } else {
        Err(format!(
            "{} is missing after installing the kernel packages",
            p.display()
        ))
    }
}
