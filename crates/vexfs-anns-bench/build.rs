//! Records the git commit the benchmark binary is built from (and whether
//! tracked files differed from it), so a results file names the code that
//! produced it even when the checkout moves on while a run is going.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_default();
    let dirty = match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(s) if s.is_empty() => "0",
        Some(_) => "1",
        None => "",
    };
    println!("cargo:rustc-env=VEXFS_BUILD_COMMIT={commit}");
    println!("cargo:rustc-env=VEXFS_BUILD_DIRTY={dirty}");
    // Rebuilt when the measured code or the checked-out commit changes.
    for p in ["src", "../vexfs-ann/src", "../vexfs-format/src", "build.rs"] {
        println!("cargo:rerun-if-changed={p}");
    }
    for r in ["HEAD", "index"] {
        if let Some(p) = git(&["rev-parse", "--git-path", r]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(p) = git(&["rev-parse", "--git-path", &head]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
}
