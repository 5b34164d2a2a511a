//! `fs_metabench`: how fast a mounted filesystem creates, stats, fails to
//! find, lists and removes small files. Runs the same workload on any directory so VexFS and ext4
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

/// Rates of one run, per second.
struct Rates {
    creates: f64,
    stats: f64,
    /// lstat of names that do not exist, each asked twice (as a shell's
    /// PATH search or a build's include search repeats them).
    misses: f64,
    /// Directory listings (every directory, five times).
    listings: f64,
    unlinks: f64,
}

fn run(a: &Args) -> std::io::Result<Rates> {
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
    let missing = |i: usize| -> PathBuf { base.join(format!("d{}", i / a.per_dir.max(1))).join(format!("m{i:08}")) };
    let t = Instant::now();
    for _ in 0..2 {
        for i in 0..a.files {
            if fs::symlink_metadata(missing(i)).is_ok() {
                return Err(std::io::Error::other("a name that was never created exists"));
            }
        }
    }
    let misses = rate(2 * a.files, t);
    let t = Instant::now();
    for _ in 0..5 {
        for d in 0..dirs {
            fs::read_dir(base.join(format!("d{d}")))?.try_for_each(|e| e.map(drop))?;
        }
    }
    let listings = rate(5 * dirs, t);
    let t = Instant::now();
    for i in 0..a.files {
        fs::remove_file(path(i))?;
    }
    let unlinks = rate(a.files, t);
    for d in 0..dirs {
        fs::remove_dir(base.join(format!("d{d}")))?;
    }
    fs::remove_dir(&base)?;
    Ok(Rates { creates, stats, misses, listings, unlinks })
}

fn main() -> ExitCode {
    let a = Args::parse();
    if !Path::new(&a.dir).is_dir() {
        eprintln!("fs_metabench: {} is not a directory", a.dir.display());
        return ExitCode::from(2);
    }
    match run(&a) {
        Ok(r) => {
            let Rates { creates: c, stats: s, misses: m, listings: l, unlinks: u } = r;
            if a.json {
                println!(
                    "{{\"files\":{},\"creates_per_s\":{c:.0},\"stats_per_s\":{s:.0},\"misses_per_s\":{m:.0},\"listings_per_s\":{l:.1},\"unlinks_per_s\":{u:.0}}}",
                    a.files
                );
            } else {
                println!("files {}  creates/s {c:.0}  stats/s {s:.0}  misses/s {m:.0}  listings/s {l:.1}  unlinks/s {u:.0}", a.files);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fs_metabench: {e}");
            ExitCode::FAILURE
        }
    }
}
