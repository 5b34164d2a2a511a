//! `fs_metabench`: how fast a mounted filesystem creates, stats and removes
//! small files. Runs the same workload on any directory so VexFS and ext4
//! are compared in one invocation of `scripts/bench-fs.sh`.

use clap::Parser;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Create/stat/unlink rates on a directory")]
struct Args {
    /// Directory to work in (a fresh subdirectory is created inside).
    dir: PathBuf,
    /// Files to create.
    #[arg(long, default_value_t = 20000)]
    files: usize,
    /// Files per subdirectory.
    #[arg(long, default_value_t = 1000)]
    per_dir: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn rate(n: usize, t: Instant) -> f64 {
    n as f64 / t.elapsed().as_secs_f64()
}

fn run(a: &Args) -> std::io::Result<(f64, f64, f64)> {
    let base = a.dir.join(format!("metabench-{}", std::process::id()));
    fs::create_dir(&base)?;
    let dirs = a.files.div_ceil(a.per_dir.max(1));
    for d in 0..dirs {
        fs::create_dir(base.join(format!("d{d}")))?;
    }
    let path = |i: usize| -> PathBuf { base.join(format!("d{}", i / a.per_dir.max(1))).join(format!("f{i:08}")) };
    let t = Instant::now();
    for i in 0..a.files {
        File::create(path(i))?;
    }
    let creates = rate(a.files, t);
    let t = Instant::now();
    for i in 0..a.files {
        fs::symlink_metadata(path(i))?;
    }
    let stats = rate(a.files, t);
    let t = Instant::now();
    for i in 0..a.files {
        fs::remove_file(path(i))?;
    }
    let unlinks = rate(a.files, t);
    for d in 0..dirs {
        fs::remove_dir(base.join(format!("d{d}")))?;
    }
    fs::remove_dir(&base)?;
    Ok((creates, stats, unlinks))
}

fn main() -> ExitCode {
    let a = Args::parse();
    if !Path::new(&a.dir).is_dir() {
        eprintln!("fs_metabench: {} is not a directory", a.dir.display());
        return ExitCode::from(2);
    }
    match run(&a) {
        Ok((c, s, u)) => {
            if a.json {
                println!("{{\"files\":{},\"creates_per_s\":{c:.0},\"stats_per_s\":{s:.0},\"unlinks_per_s\":{u:.0}}}", a.files);
            } else {
                println!("files {}  creates/s {c:.0}  stats/s {s:.0}  unlinks/s {u:.0}", a.files);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fs_metabench: {e}");
            ExitCode::FAILURE
        }
    }
}
