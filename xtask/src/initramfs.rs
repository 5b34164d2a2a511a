//! The guest's initramfs: static busybox, the virtio block drivers and
//! fuse of the Debian kernel, the module, the static tools, the step scripts, the test
//! configuration and the tree to copy, packed with `cpio -H newc`.

use crate::cmd::{log, run};
use crate::deps::Kernel;
use crate::tools::Binaries;
use crate::{Profile, Result};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Loaded in this order by /init; /dev/vda.. appear after virtio_blk.
pub const VIRTIO_MODULES: &[&str] = &[
    "virtio_ring",
    "virtio",
    "virtio_pci_modern_dev",
    "virtio_pci_legacy_dev",
    "virtio_pci",
    "virtio_blk",
];

const INIT: &str = include_str!("../guest/init");
const FSX_CONF: &str = include_str!("../guest/fsx.toml");
const PJDFSTEST_CONF: &str = include_str!("../guest/pjdfstest.toml");
/// pjdfstest switches to nobody:nogroup and tests:tests.
const PASSWD: &str = "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\ntests:x:1001:1001:tests:/:/bin/false\n";
const GROUP: &str = "root:x:0:\nnogroup:x:65534:\ntests:x:1001:\n";
const STEPS: &[(&str, &str)] = &[
    ("lib.sh", include_str!("../guest/steps/lib.sh")),
    (
        "10-modinfo.sh",
        include_str!("../guest/steps/10-modinfo.sh"),
    ),
    ("20-load.sh", include_str!("../guest/steps/20-load.sh")),
    ("30-cycles.sh", include_str!("../guest/steps/30-cycles.sh")),
    ("40-mount.sh", include_str!("../guest/steps/40-mount.sh")),
    ("50-tree.sh", include_str!("../guest/steps/50-tree.sh")),
    ("55-fsx.sh", include_str!("../guest/steps/55-fsx.sh")),
    ("56-direct.sh", include_str!("../guest/steps/56-direct.sh")),
    ("56-mmap.sh", include_str!("../guest/steps/56-mmap.sh")),
    (
        "57-pjdfstest.sh",
        include_str!("../guest/steps/57-pjdfstest.sh"),
    ),
    ("58-acl.sh", include_str!("../guest/steps/58-acl.sh")),
    ("60-refuse.sh", include_str!("../guest/steps/60-refuse.sh")),
    (
        "65-crafted.sh",
        include_str!("../guest/steps/65-crafted.sh"),
    ),
    (
        "70-vectors.sh",
        include_str!("../guest/steps/70-vectors.sh"),
    ),
    (
        "72-index-worker.sh",
        include_str!("../guest/steps/72-index-worker.sh"),
    ),
    (
        "75-ann-bench.sh",
        include_str!("../guest/steps/75-ann-bench.sh"),
    ),
    (
        "78-fs-bench.sh",
        include_str!("../guest/steps/78-fs-bench.sh"),
    ),
    (
        "80-unmount.sh",
        include_str!("../guest/steps/80-unmount.sh"),
    ),
    ("90-dmesg.sh", include_str!("../guest/steps/90-dmesg.sh")),
];

fn err(p: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", p.display())
}

fn put(dst: &Path, data: &[u8], mode: u32) -> Result<()> {
    if let Some(parent) = dst.parent() {
        fs::create_dir_all(parent).map_err(|e| err(parent, e))?;
    }
    fs::write(dst, data).map_err(|e| err(dst, e))?;
    fs::set_permissions(dst, fs::Permissions::from_mode(mode)).map_err(|e| err(dst, e))
}

fn copy(src: &Path, dst: &Path, mode: u32) -> Result<()> {
    let data = fs::read(src).map_err(|e| err(src, e))?;
    put(dst, &data, mode)
}

/// A static binary without its symbols and debug info (the musl builds
/// carry line tables: 10+ MiB each, which the guest unpacks for nothing).
fn copy_stripped(src: &Path, dst: &Path) -> Result<()> {
    if let Some(parent) = dst.parent() {
        fs::create_dir_all(parent).map_err(|e| err(parent, e))?;
    }
    run(Command::new("strip").arg("-o").arg(dst).arg(src))?;
    fs::set_permissions(dst, fs::Permissions::from_mode(0o755)).map_err(|e| err(dst, e))
}

/// `<name>.ko` (or `.ko.xz`, decompressed) somewhere under `dir`.
fn find_module(dir: &Path, name: &str) -> Option<PathBuf> {
    let entries = fs::read_dir(dir).ok()?;
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(found) = find_module(&p, name) {
                return Some(found);
            }
        } else if let Some(f) = p.file_name().and_then(|f| f.to_str()) {
            if f == format!("{name}.ko") || f == format!("{name}.ko.xz") {
                return Some(p);
            }
        }
    }
    None
}

/// Loaded by the vector steps, to run vexfs-fuse beside the module.
pub const FUSE_MODULE: &str = "fuse";
/// ext4 and what it needs, for the fs-bench step's baseline.
const EXT4_MODULES: &[&str] = &["crc16", "mbcache", "jbd2", "crc32c_generic", "ext4"];

fn add_modules(kernel: &Kernel, root: &Path) -> Result<()> {
    let kdir = kernel.modules_dir.join("kernel");
    for m in VIRTIO_MODULES
        .iter()
        .chain([&FUSE_MODULE])
        .chain(EXT4_MODULES)
    {
        let src = find_module(&kdir, m)
            .ok_or_else(|| format!("{m}.ko not found under {}", kdir.display()))?;
        let dst = root.join(format!("lib/modules/{m}.ko"));
        if src.extension().is_some_and(|e| e == "xz") {
            // busybox insmod wants the plain object.
            let out = Command::new("xz")
                .arg("-dc")
                .arg(&src)
                .output()
                .map_err(|e| format!("xz: {e}"))?;
            put(&dst, &out.stdout, 0o644)?;
        } else {
            copy(&src, &dst, 0o644)?;
        }
    }
    Ok(())
}

/// Copy a dynamically linked program and the shared libraries `ldd`
/// names, at their host paths, so it runs in the guest unchanged.
fn add_dynamic(bin: &Path, dst: &Path, root: &Path) -> Result<()> {
    copy(bin, dst, 0o755)?;
    let out = crate::cmd::output(Command::new("ldd").arg(bin))?;
    for lib in out.lines().filter_map(|l| {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
        // "/lib64/ld-linux-x86-64.so.2 (0x...)"
        let path = l.split("=>").last()?.split_whitespace().next()?;
        path.starts_with('/').then(|| PathBuf::from(path))
    }) {
        let rel = lib
            .strip_prefix("/")
            .map_err(|e| format!("{}: {e}", lib.display()))?;
        copy(&lib, &root.join(rel), 0o755)?;
    }
    Ok(())
}

fn config(kernel: &Kernel, p: &Profile) -> String {
    format!(
        "# Written by xtask vm-test.\nPROFILE={}\nKVER={}\nCYCLES={}\nSLAB_TOL_KB={}\nVMALLOC_TOL_KB={}\nFSX_OPS={}\nPJDFSTEST={}\nVEC_ROWS={}\nVEC_DIM={}\nVEC_QUERIES={}\nVEC_RUNS={}\nIW_ROWS={}\nIW_RUNS={}\nBLOCK_SIZE={}\n",
        p.name, kernel.version, p.cycles, p.slab_tol_kb, p.vmalloc_tol_kb, p.fsx_ops, u8::from(p.pjdfstest),
        p.vec_rows, p.vec_dim, p.vec_queries, p.vec_runs, p.iw_rows, p.iw_runs, p.block_size
    )
}

/// `40-mount.sh` -> `mount`.
fn step_name(file: &str) -> &str {
    let base = file.strip_suffix(".sh").unwrap_or(file);
    base.split_once('-').map_or(base, |(_, n)| n)
}

/// Build `out/initramfs.cpio`; returns its path.
pub fn build(
    out: &Path,
    kernel: &Kernel,
    ko: &Path,
    bins: &Binaries,
    p: &Profile,
) -> Result<PathBuf> {
    log("initramfs");
    let root = out.join("initramfs");
    let _ = fs::remove_dir_all(&root);
    for d in ["proc", "sys", "dev", "tmp", "mnt", "bin"] {
        fs::create_dir_all(root.join(d)).map_err(|e| err(&root, e))?;
    }
    copy(Path::new("/bin/busybox"), &root.join("bin/busybox"), 0o755)?;
    put(&root.join("init"), INIT.as_bytes(), 0o755)?;
    for (name, text) in STEPS {
        if *name != "lib.sh" && !p.runs_step(step_name(name)) {
            continue;
        }
        put(&root.join("steps").join(name), text.as_bytes(), 0o644)?;
    }
    put(
        &root.join("etc/vexfs-test.conf"),
        config(kernel, p).as_bytes(),
        0o644,
    )?;
    add_modules(kernel, &root)?;
    copy(ko, &root.join("vexfs/vexfs.ko"), 0o644)?;
    copy(&bins.mkfs, &root.join("vexfs/mkfs.vexfs"), 0o755)?;
    copy(&bins.fsck, &root.join("vexfs/fsck.vexfs"), 0o755)?;
    copy_stripped(&bins.vexctl, &root.join("vexfs/vexctl"))?;
    copy_stripped(&bins.fuse, &root.join("vexfs/vexfs-fuse"))?;
    copy_stripped(&bins.vecbench, &root.join("vexfs/vexfs-vecbench"))?;
    add_dynamic(&bins.fsx, &root.join("vexfs/fsx"), &root)?;
    copy_stripped(&bins.metabench, &root.join("vexfs/fs_metabench"))?;
    copy_stripped(&bins.mmap_check, &root.join("vexfs/mmap_check"))?;
    // The fs-bench step's ext4 baseline and fio, from the host. Only when
    // that step runs: fio's libraries are about 80 MiB, which a 512 MiB
    // guest cannot unpack beside the rest of the initramfs.
    if p.runs_step("fs-bench") {
        add_dynamic(Path::new("/sbin/mke2fs"), &root.join("vexfs/mke2fs"), &root)?;
        add_dynamic(Path::new("/usr/bin/fio"), &root.join("vexfs/fio"), &root)?;
        if Path::new("/etc/mke2fs.conf").is_file() {
            copy(
                Path::new("/etc/mke2fs.conf"),
                &root.join("etc/mke2fs.conf"),
                0o644,
            )?;
        }
    }
    if p.runs_step("acl") {
        add_dynamic(
            Path::new("/usr/bin/setfacl"),
            &root.join("vexfs/setfacl"),
            &root,
        )?;
        add_dynamic(
            Path::new("/usr/bin/getfacl"),
            &root.join("vexfs/getfacl"),
            &root,
        )?;
    }
    put(&root.join("etc/fsx.toml"), FSX_CONF.as_bytes(), 0o644)?;
    if let Some(pjd) = &bins.pjdfstest {
        add_dynamic(pjd, &root.join("vexfs/pjdfstest"), &root)?;
    }
    put(
        &root.join("etc/pjdfstest.toml"),
        PJDFSTEST_CONF.as_bytes(),
        0o644,
    )?;
    put(&root.join("etc/passwd"), PASSWD.as_bytes(), 0o644)?;
    put(&root.join("etc/group"), GROUP.as_bytes(), 0o644)?;
    crate::tree::generate(&root.join("payload/tree"), p.tree_files)?;
    // Real binaries in the tree too, beside the generated files.
    copy(ko, &root.join("payload/tree/real/vexfs.ko"), 0o644)?;
    copy(
        &bins.fsck,
        &root.join("payload/tree/real/fsck.vexfs"),
        0o755,
    )?;

    let cpio = out.join("initramfs.cpio");
    let script = format!(
        "cd '{}' && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 > '{}'",
        root.display(),
        cpio.display()
    );
    run(Command::new("sh").arg("-c").arg(script))?;
    Ok(cpio)
}
