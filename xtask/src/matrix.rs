//! Seed step 7: the same module under other VM configurations (memory,
//! vCPUs, block size). Each configuration boots its own guest with the
//! steps that depend on them: load, mount, a tree with checksums across a
//! remount, fsx, shared mappings, embeddings and search, unmount with fsck,
//! and the dmesg scan. Each writes its own report under `target/vm/matrix/<label>/`; the
//! table of all of them goes to `target/vm/matrix.md` and `matrix.json`.

use crate::{Profile, Result};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// (label, memory MiB, vCPUs, block size). The main run is 1024 MiB,
/// 2 vCPUs, 4 KiB blocks.
pub const CONFIGS: &[(&str, u32, u32, u32)] = &[
    ("1cpu-512m-1k", 512, 1, 1024),
    ("4cpu-2048m-2k", 2048, 4, 2048),
];

/// The steps a configuration can change the outcome of.
const STEPS: &[&str] = &[
    "modinfo", "load", "mount", "tree", "fsx", "direct", "mmap", "vectors", "unmount", "dmesg",
];

pub struct Row {
    pub label: &'static str,
    pub mem_mib: u32,
    pub smp: u32,
    pub block_size: u32,
    pub passed: bool,
    pub seconds: f64,
}

/// Run every configuration with `run(profile, out_dir)`; a failing one
/// does not stop the others.
pub fn run_all(
    base: &Profile,
    mut run: impl FnMut(&Profile, &Path) -> Result<bool>,
) -> Result<Vec<Row>> {
    let root = crate::root().join("target/vm/matrix");
    let mut rows = Vec::new();
    for &(label, mem_mib, smp, block_size) in CONFIGS {
        let p = Profile {
            mem_mib,
            smp,
            block_size,
            only: Some(STEPS),
            matrix: false,
            matrix_only: false,
            tree_files: base.tree_files.min(500),
            fsx_ops: base.fsx_ops.min(10_000),
            vec_runs: 1,
            timeout_s: 900,
            ..base.clone()
        };
        println!("matrix: {label} ({mem_mib} MiB, {smp} vCPU, {block_size}-byte blocks)");
        let t = std::time::Instant::now();
        let passed = match run(&p, &root.join(label)) {
            Ok(ok) => ok,
            Err(e) => {
                eprintln!("matrix: {label}: {e}");
                false
            }
        };
        rows.push(Row {
            label,
            mem_mib,
            smp,
            block_size,
            passed,
            seconds: t.elapsed().as_secs_f64(),
        });
    }
    Ok(rows)
}

pub fn write(out: &Path, rows: &[Row]) -> Result<()> {
    let mut md = String::from(
        "# VM configuration matrix\n\nThe steps that depend on the guest's memory, vCPUs and block size \
         (load, mount, tree, fsx, mmap, vectors, unmount with fsck, dmesg), each configuration in its own \
         guest; its report is in `matrix/<label>/report.md`. The main run is 1024 MiB, 2 vCPUs, \
         4096-byte blocks.\n\n| configuration | memory MiB | vCPUs | block size | result | seconds |\n|---|---:|---:|---:|---|---:|\n",
    );
    let mut json = String::from("[\n");
    for (i, r) in rows.iter().enumerate() {
        let status = if r.passed { "pass" } else { "FAIL" };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {:.0} |",
            r.label, r.mem_mib, r.smp, r.block_size, status, r.seconds
        );
        let _ = writeln!(
            json,
            "  {{\"label\": \"{}\", \"mem_mib\": {}, \"vcpus\": {}, \"block_size\": {}, \"passed\": {}, \"seconds\": {:.1}}}{}",
            r.label,
            r.mem_mib,
            r.smp,
            r.block_size,
            r.passed,
            r.seconds,
            if i + 1 < rows.len() { "," } else { "" }
        );
        println!("matrix: {} {status} ({:.0} s)", r.label, r.seconds);
    }
    json.push_str("]\n");
    for (name, text) in [("matrix.md", md), ("matrix.json", json)] {
        let p = out.join(name);
        fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}
