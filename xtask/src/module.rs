//! Building `vexfs.ko`: the Rust core as one relocatable object the module
//! loader accepts, then Kbuild over the C glue in `kernel/`.
//!
//! The recipe (see kernel/README.md for why each piece is there), run for
//! two crates: the core (`vexfs-kabi`, soft-float, `vexfs_rust.o`) and its
//! float kernels (`vexfs-kfpu`, SSE2, `vexfs_fpu.o`, called only inside
//! kernel_fpu_begin/end):
//! 1. `cargo rustc -p <crate> --crate-type staticlib` for the crate's
//!    custom target (`x86_64-vexfs-kernel.json`,
//!    `x86_64-vexfs-kernel-fpu.json`) with `-Zbuild-std=core,alloc`
//!    (RUSTC_BOOTSTRAP=1 on stable), fat LTO, no debug info;
//! 2. `ld -r --gc-sections` rooted at the exported `vexfs_*` functions;
//! 3. `objcopy`: only those stay global; `.eh_frame`, `.llvmbc`,
//!    `.llvmcmd` and `.comment` go;
//! 4. a check that only relocation types the module loader knows remain;
//! 5. Kbuild in a copy of `kernel/` under `target/kernel/module`.

use crate::cmd::{cargo, log, output, output_any, run};
use crate::deps::Kernel;
use crate::Result;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One Rust object of the module.
struct RustObject {
    /// The crate built as a staticlib.
    krate: &'static str,
    /// Its custom target (a JSON spec in the crate's folder).
    target: &'static str,
    /// The object Kbuild takes in (`<name>.o_shipped`).
    object: &'static str,
    /// Prefix of the `extern "C"` functions the C glue calls.
    exports: &'static str,
}

const CORE: RustObject = RustObject {
    krate: "vexfs-kabi",
    target: "x86_64-vexfs-kernel",
    object: "vexfs_rust",
    exports: "vexfs_",
};

const FPU: RustObject = RustObject {
    krate: "vexfs-kfpu",
    target: "x86_64-vexfs-kernel-fpu",
    object: "vexfs_fpu",
    exports: "vexfs_fpu_",
};

/// Flags that make rustc's output look like the kernel's own C: no unwind
/// tables, calls through the retpoline thunks, returns through the return
/// thunk (objtool then records both, as for C objects).
const KERNEL_RUSTFLAGS: &str =
    "-Cforce-unwind-tables=no -Zretpoline-external-thunk -Zfunction-return=thunk-extern";

/// Relocation types apply_relocate_add() in arch/x86/kernel/module.c
/// handles; anything else (GOTPCREL, for one) fails at insmod.
const LOADER_RELOCS: &[&str] = &[
    "R_X86_64_NONE",
    "R_X86_64_64",
    "R_X86_64_32",
    "R_X86_64_32S",
    "R_X86_64_PC32",
    "R_X86_64_PLT32",
    "R_X86_64_PC64",
];

fn build_staticlib(root: &Path, o: &RustObject) -> Result<PathBuf> {
    log(&format!("Rust for the kernel ({} staticlib, {})", o.krate, o.target));
    let spec = root.join(format!("crates/{}/{}.json", o.krate, o.target));
    let target_dir = root.join("target/kernel");
    let mut c = cargo();
    c.current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTFLAGS", KERNEL_RUSTFLAGS)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("CARGO_PROFILE_RELEASE_LTO", "fat")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .args([
            "rustc",
            "-q",
            "-p",
            o.krate,
            "--release",
            "--crate-type",
            "staticlib",
        ])
        .arg("--target")
        .arg(&spec)
        .args(["-Zbuild-std=core,alloc", "-Zjson-target-spec"])
        .arg("--target-dir")
        .arg(&target_dir);
    run(&mut c)?;
    let lib = format!("release/lib{}.a", o.krate.replace('-', "_"));
    Ok(target_dir.join(o.target).join(lib))
}

/// The functions named `prefix*` the archive defines: the C-visible
/// surface.
fn exported_symbols(archive: &Path, prefix: &str) -> Result<Vec<String>> {
    let out = output(
        Command::new("nm")
            .args(["-g", "--defined-only"])
            .arg(archive),
    )?;
    let mut syms: Vec<String> = out
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_addr, kind, name) = (f.next()?, f.next()?, f.next()?);
            (kind == "T" && name.starts_with(prefix)).then(|| name.to_string())
        })
        .collect();
    syms.sort();
    syms.dedup();
    if syms.is_empty() {
        return Err(format!("{} exports no {prefix}* function", archive.display()));
    }
    Ok(syms)
}

fn check_relocations(obj: &Path) -> Result<()> {
    let out = output(Command::new("readelf").arg("-rW").arg(obj))?;
    let mut bad: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|t| t.starts_with("R_X86_64_") && !LOADER_RELOCS.contains(t))
        .collect();
    bad.sort_unstable();
    bad.dedup();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} has relocations the module loader rejects: {}",
            obj.display(),
            bad.join(", ")
        ))
    }
}

/// Steps 2-4: one relocatable object with only the entry points global.
fn link_object(archive: &Path, work: &Path, o: &RustObject) -> Result<()> {
    let syms = exported_symbols(archive, o.exports)?;
    let keep = work.join(format!("{}.syms", o.object));
    fs::write(&keep, syms.join("\n") + "\n").map_err(|e| format!("{}: {e}", keep.display()))?;
    let linked = work.join(format!("{}.ld.o", o.object));
    let shipped = &work.join(format!("{}.o_shipped", o.object));
    let mut ld = Command::new("ld");
    ld.args(["-r", "--gc-sections"]);
    for s in &syms {
        ld.arg("-u").arg(s);
    }
    run(ld.arg("-o").arg(&linked).arg(archive))?;
    let mut oc = Command::new("objcopy");
    oc.arg(format!("--keep-global-symbols={}", keep.display()));
    for s in [".eh_frame", ".llvmbc", ".llvmcmd", ".comment"] {
        oc.arg(format!("--remove-section={s}"));
    }
    run(oc.arg("--strip-debug").arg(&linked).arg(shipped))?;
    check_relocations(shipped)
}

fn copy_glue(src: &Path, dst: &Path) -> Result<()> {
    let entries = fs::read_dir(src).map_err(|e| format!("{}: {e}", src.display()))?;
    for e in entries.flatten() {
        let name = e.file_name();
        let n = name.to_string_lossy();
        if n.ends_with(".c") || n.ends_with(".h") || n == "Kbuild" || n == "Makefile" {
            fs::copy(e.path(), dst.join(&name)).map_err(|e| format!("copy {n}: {e}"))?;
        }
    }
    Ok(())
}

/// Build `vexfs.ko` for `kernel`; returns its path.
pub fn build(root: &Path, kernel: &Kernel) -> Result<PathBuf> {
    let archives = [
        (build_staticlib(root, &CORE)?, &CORE),
        (build_staticlib(root, &FPU)?, &FPU),
    ];
    let work = root.join("target/kernel/module");
    // A fresh copy each time: Kbuild's own dependency tracking then only
    // sees this build's sources.
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    copy_glue(&root.join("kernel"), &work)?;
    // The ioctl glue includes the uapi header (shared with userspace).
    let uapi = root.join("include/uapi/vexfs.h");
    fs::copy(&uapi, work.join("vexfs_uapi.h")).map_err(|e| format!("{}: {e}", uapi.display()))?;
    for (archive, o) in &archives {
        link_object(archive, &work, o)?;
    }

    log(&format!("Kbuild vexfs.ko against {}", kernel.version));
    let mut make = Command::new("make");
    make.arg("-C")
        .arg(&kernel.build_dir)
        .arg(format!("M={}", work.display()))
        .arg("modules");
    let (ok, text) = output_any(&mut make)?;
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains("warning:")).collect();
    if !ok {
        return Err(format!("module build failed:\n{text}"));
    }
    if !warnings.is_empty() {
        // objtool or compiler warnings mean the object is not as the
        // kernel expects (unwind data, thunks): treat them as errors.
        return Err(format!("module build warned:\n{}", warnings.join("\n")));
    }
    Ok(work.join("vexfs.ko"))
}
