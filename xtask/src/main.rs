//! `cargo xtask`: the project's automation.
//!
//! - `build-module`: the Rust core as a kernel object, then `vexfs.ko`
//!   against Debian's 6.1 headers (installed on demand).
//! - `vm-test [--profile ci|full] [--cycles N] [--runs N] [--timeout SECS]
//!   [--matrix|--no-matrix|--matrix-only] [--steps a,b,..]`: builds everything, boots
//!   Debian's kernel under QEMU TCG with an initramfs, runs the seed's
//!   sequence in the guest and writes `target/vm/report.md` and
//!   `target/vm/report.json`; with the matrix (the full profile's default)
//!   the configuration-dependent steps again under other memory, vCPU and
//!   block-size settings (`target/vm/matrix.md`). Exits non-zero on any
//!   failure. `--steps` runs only the steps named (their scripts alone:
//!   list `load` and `mount` before a step that needs the kernel mount),
//!   without the matrix unless `--matrix` is given too.
//!
//! The module is only ever loaded inside the QEMU guest, never on the host.

mod bench;
mod cmd;
mod deps;
mod fsbench;
mod initramfs;
mod iworker;
mod matrix;
mod module;
mod report;
mod steps;
mod tools;
mod tree;
mod vm;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Errors are messages for the person at the terminal.
pub type Result<T> = std::result::Result<T, String>;

const USAGE: &str = "usage: cargo xtask build-module
       cargo xtask vm-test [--profile ci|full] [--cycles N] [--runs N] [--timeout SECS] [--matrix|--no-matrix|--matrix-only] [--steps a,b,..]";

/// What a `vm-test` run does; `ci` is the short profile CI runs.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: &'static str,
    pub cycles: u32,
    /// Files in the generated tree copied onto the mount.
    pub tree_files: u32,
    /// fsx operations on the kernel mount.
    pub fsx_ops: u32,
    /// Run pjdfstest on the kernel mount.
    pub pjdfstest: bool,
    /// The ANN benchmark's workload per strategy and mount (rows,
    /// dimension, queries): small, because the module's distance code runs
    /// soft-float under TCG.
    pub vec_rows: u32,
    pub vec_dim: u32,
    pub vec_queries: u32,
    /// Repetitions of the whole ANN workload on each mount; the report
    /// gives medians.
    pub vec_runs: u32,
    /// The index-worker step's bulk load (rows; more than the 8,192
    /// pending vectors at which writers without a worker insert into the
    /// graph) and its alternating runs without and with the worker; 0
    /// runs: the step is left out (the ci profile, for time, unless
    /// `--steps` names it).
    pub iw_rows: u32,
    pub iw_runs: u32,
    /// Size of the test disk /dev/vdb.
    pub disk_mib: u64,
    /// Whole guest run, from QEMU start to the final line.
    pub timeout_s: u64,
    /// Allowed growth across the load/unload cycles. Slab use moves by
    /// about 25 KiB either way between identical runs; a leak of a few
    /// KiB per cycle crosses 128 KiB within the full profile's 100 cycles.
    /// vmalloc moves in pages; the module image alone is over 200 KiB.
    pub slab_tol_kb: u64,
    pub vmalloc_tol_kb: u64,
    /// The guest: memory, vCPUs, and the block size mkfs gives /dev/vdb.
    pub mem_mib: u32,
    pub smp: u32,
    pub block_size: u32,
    /// Steps to run (names as in `steps::STEPS`); `None`: all of them.
    pub only: Option<&'static [&'static str]>,
    /// Also run the configuration matrix (`matrix::CONFIGS`).
    pub matrix: bool,
    /// Only the matrix, not the main run.
    pub matrix_only: bool,
}

impl Profile {
    fn named(name: &str) -> Result<Self> {
        match name {
            "ci" => Ok(Profile {
                name: "ci",
                cycles: 20,
                tree_files: 300,
                fsx_ops: 10_000,
                pjdfstest: true,
                vec_rows: 2000,
                vec_dim: 32,
                vec_queries: 100,
                vec_runs: 1,
                iw_rows: 10_000,
                iw_runs: 0,
                // 16 KiB per inode: the ann-bench step alone makes 20k files.
                disk_mib: 512,
                // About 10 minutes of guest time under TCG on a quiet host;
                // the margin is for a busy one.
                timeout_s: 900,
                slab_tol_kb: 128,
                vmalloc_tol_kb: 64,
                mem_mib: 1024,
                smp: 2,
                block_size: 4096,
                only: None,
                matrix: false,
                matrix_only: false,
            }),
            "full" => Ok(Profile {
                name: "full",
                cycles: 100,
                tree_files: 2000,
                fsx_ops: 100_000,
                pjdfstest: true,
                vec_rows: 5000,
                vec_dim: 32,
                vec_queries: 200,
                vec_runs: 1,
                iw_rows: 10_000,
                iw_runs: 2,
                // 16 KiB per inode: 50k files in the ann-bench step.
                disk_mib: 1024,
                timeout_s: 1800,
                slab_tol_kb: 128,
                vmalloc_tol_kb: 64,
                mem_mib: 1024,
                smp: 2,
                block_size: 4096,
                only: None,
                matrix: true,
                matrix_only: false,
            }),
            other => Err(format!("unknown profile '{other}' (ci or full)")),
        }
    }
}

impl Profile {
    /// Whether the guest runs step `name`.
    pub fn runs_step(&self, name: &str) -> bool {
        self.only.is_none_or(|o| o.contains(&name)) && (name != "index-worker" || self.iw_runs > 0)
    }

    /// MiB of test disk the ANN workload needs: mkfs gives one inode per
    /// 16 KiB, and each run makes ten directories (five strategies, two
    /// mounts) of `vec_rows` files; a quarter more and 128 MiB for the
    /// other steps.
    fn bench_disk_mib(&self) -> u64 {
        let files = u64::from(self.vec_runs) * 10 * u64::from(self.vec_rows);
        128 + files * 16 / 1024 * 5 / 4
    }
}

/// The repository root (the parent of this crate).
fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

fn parse_vm_args(args: &[String]) -> Result<Profile> {
    let mut profile = Profile::named("full")?;
    let mut cycles = None;
    let mut timeout = None;
    let mut runs = None;
    let mut matrix = None;
    let mut matrix_only = false;
    let mut only = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--profile" => profile = Profile::named(&value()?)?,
            "--cycles" => cycles = Some(value()?.parse().map_err(|e| format!("--cycles: {e}"))?),
            "--runs" => runs = Some(value()?.parse().map_err(|e| format!("--runs: {e}"))?),
            "--timeout" => timeout = Some(value()?.parse().map_err(|e| format!("--timeout: {e}"))?),
            "--steps" => only = Some(parse_steps(&value()?)?),
            "--matrix" => matrix = Some(true),
            "--no-matrix" => matrix = Some(false),
            "--matrix-only" => {
                matrix = Some(true);
                matrix_only = true;
            }
            other => return Err(format!("unknown argument '{other}'\n{USAGE}")),
        }
    }
    if let Some(c) = cycles {
        profile.cycles = c;
    }
    if let Some(r) = runs {
        if r == 0 {
            return Err("--runs must be at least 1".into());
        }
        profile.vec_runs = r;
        // Every run adds its own files (10 directories of vec_rows).
        profile.timeout_s += u64::from(r - 1) * profile.timeout_s / 3;
    }
    if let Some(t) = timeout {
        profile.timeout_s = t;
    }
    if let Some(m) = matrix {
        profile.matrix = m;
    } else if only.is_some() {
        // A run of chosen steps is a quick look: no matrix unless asked.
        profile.matrix = false;
    }
    profile.matrix_only = matrix_only;
    if let Some(o) = only {
        profile.only = Some(o);
        if o.contains(&"index-worker") {
            profile.iw_runs = profile.iw_runs.max(1);
        }
    }
    profile.disk_mib = profile.disk_mib.max(profile.bench_disk_mib());
    Ok(profile)
}

/// `--steps a,b,..`: step names from `steps::STEPS`, kept for the whole run.
fn parse_steps(list: &str) -> Result<&'static [&'static str]> {
    let mut names = Vec::new();
    for name in list.split(',').filter(|n| !n.is_empty()) {
        let spec = steps::STEPS
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| format!("--steps: no step '{name}'"))?;
        names.push(spec.name);
    }
    if names.is_empty() {
        return Err("--steps needs at least one step name".into());
    }
    Ok(Vec::leak(names))
}

fn build_module_cmd() -> Result<()> {
    let root = root();
    let kernel = deps::prepare()?;
    let ko = module::build(&root, &kernel)?;
    println!("{}", ko.display());
    Ok(())
}

fn vm_test(profile: &Profile) -> Result<bool> {
    let root = root();
    let passed = profile.matrix_only || vm_run(&root, profile, &root.join("target/vm"))?;
    if !profile.matrix {
        return Ok(passed);
    }
    let rows = matrix::run_all(profile, |p, out| vm_run(&root, p, out))?;
    matrix::write(&root.join("target/vm"), &rows)?;
    Ok(passed && rows.iter().all(|r| r.passed))
}

/// One guest boot: build what it needs under `out`, boot, report there.
fn vm_run(root: &std::path::Path, profile: &Profile, out: &std::path::Path) -> Result<bool> {
    let started = Instant::now();
    let mut timings = report::Timings::default();

    let t = Instant::now();
    let kernel = deps::prepare()?;
    timings.deps_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let ko = module::build(root, &kernel)?;
    timings.build_module_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let bins = tools::build(root, profile.pjdfstest)?;
    timings.build_tools_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let initrd = initramfs::build(out, &kernel, &ko, &bins, profile)?;
    let disks = vm::make_disks(out, profile)?;
    timings.initramfs_s = t.elapsed().as_secs_f64();

    let run = vm::boot(out, &kernel, &initrd, &disks, profile)?;
    timings.boot_s = run.boot_s;
    timings.guest_s = run.guest_s;
    timings.total_s = started.elapsed().as_secs_f64();

    let rep = report::Report::from_run(profile, &kernel.version, &run, timings);
    rep.write(out)?;
    rep.print();
    Ok(rep.passed())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build-module") if args.len() == 1 => build_module_cmd().map(|()| true),
        Some("vm-test") => parse_vm_args(&args[1..]).and_then(|p| vm_test(&p)),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::from(2)
        }
    }
}
