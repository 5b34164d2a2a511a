//! `fsck.vexfs`: check and repair a VexFS filesystem, with fsck(8)'s
//! options and exit codes.

use clap::{ArgAction, Parser};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vexfs_core::check::{check, CheckOptions, CheckReport, Pass, RepairMode, Severity};
use vexfs_core::FsError;
use vexfs_tools::device::Device;
use vexfs_tools::{mounts, progress, signals};

// fsck(8) exit codes; they combine by OR.
const EXIT_OK: u8 = 0;
const EXIT_CORRECTED: u8 = 1;
const EXIT_UNCORRECTED: u8 = 4;
const EXIT_OPERATIONAL: u8 = 8;
const EXIT_USAGE: u8 = 16;
const EXIT_CANCELLED: u8 = 32;

/// Check a VexFS filesystem and optionally repair it.
#[derive(Parser, Debug)]
#[command(name = "fsck.vexfs", version, disable_version_flag = true)]
struct Args {
    /// Open read-only and answer "no" to every question.
    #[arg(short = 'n', group = "mode")]
    no: bool,
    /// Preen: fix what is safe without asking; stop on anything else.
    #[arg(short = 'p', short_alias = 'a', group = "mode")]
    preen: bool,
    /// Answer "yes" to every question: fix everything fixable.
    #[arg(short = 'y', group = "mode")]
    yes: bool,
    /// Check even if the filesystem seems clean.
    #[arg(short = 'f')]
    force: bool,
    /// Verbose: list every repair made.
    #[arg(short = 'v')]
    verbose: bool,
    /// Progress: 0 draws bars on the terminal; a positive descriptor gets
    /// e2fsck's machine-readable lines ("pass done total device"), as
    /// systemd-fsck and fsck(8) expect.
    #[arg(short = 'C', value_name = "FD")]
    progress_fd: Option<i32>,
    /// Print the version and exit.
    #[arg(short = 'V', action = ArgAction::Version)]
    version: Option<bool>,
    /// Image file or block device.
    device: PathBuf,
}

fn main() -> ExitCode {
    let prog = vexfs_tools::program_name("fsck.vexfs");
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    ExitCode::from(run(&prog, &args))
}

/// What the user asked for, before a terminal is consulted.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ask {
    Mode(RepairMode),
    Interactive,
}

fn run(prog: &str, a: &Args) -> u8 {
    let dev_name = a.device.display().to_string();
    let ask = if a.no {
        Ask::Mode(RepairMode::No)
    } else if a.preen {
        Ask::Mode(RepairMode::Preen)
    } else if a.yes {
        Ask::Mode(RepairMode::Yes)
    } else if std::io::stdin().is_terminal() {
        Ask::Interactive
    } else {
        eprintln!("{prog}: no terminal to ask questions on; checking read-only (as -n)");
        Ask::Mode(RepairMode::No)
    };
    let writes = ask != Ask::Mode(RepairMode::No);
    let uses = mounts::mounted_uses(&a.device);
    if !uses.is_empty() {
        if writes {
            eprintln!("{prog}: {}; cannot check a mounted filesystem (use -n for a read-only look)", uses.join("; "));
            return EXIT_OPERATIONAL;
        }
        eprintln!("{prog}: warning: {}; results may be inconsistent", uses.join("; "));
    }
    signals::catch_interrupts();
    let preen = ask == Ask::Mode(RepairMode::Preen);
    let quiet_passes = preen;

    let first_mode = match ask {
        Ask::Mode(m) => m,
        Ask::Interactive => RepairMode::No,
    };
    // An unmounted image may still be held by its daemon finishing its
    // writes; a mounted one is looked at as it is (read-only).
    let wait = uses.is_empty();
    let report = match run_check(prog, a, first_mode, quiet_passes, wait) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if ask == Ask::Interactive && report.uncorrected() > 0 && !report.cancelled && !report.skipped_clean {
        print_problems(&dev_name, &report, false);
        if confirm(&format!("{} problem(s) found. Fix them?", report.uncorrected())) {
            return match run_check(prog, a, RepairMode::Yes, true, wait) {
                Ok(r) => finish(&dev_name, &r, a.verbose, false, true),
                Err(code) => code,
            };
        }
        return finish(&dev_name, &report, a.verbose, false, false);
    }
    finish(&dev_name, &report, a.verbose, preen, true)
}

fn confirm(question: &str) -> bool {
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim(), "y" | "Y" | "yes" | "YES")
}

fn run_check(prog: &str, a: &Args, mode: RepairMode, quiet_passes: bool, wait: bool) -> Result<CheckReport, u8> {
    let path: &Path = &a.device;
    let dev = match Device::open(path, mode == RepairMode::No) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{prog}: cannot open {}: {e}", path.display());
            return Err(EXIT_OPERATIONAL);
        }
    };
    if wait {
        let tell = || eprintln!("{prog}: {}: waiting for the VexFS daemon that still has it open to finish", path.display());
        if let Err(e) = vexfs_tools::device::wait_unused(dev.file(), mode != RepairMode::No, 600, tell) {
            eprintln!("{prog}: {}: {e}", path.display());
            return Err(EXIT_OPERATIONAL);
        }
    }
    let opts = CheckOptions { mode, force: a.force, now: vexfs_tools::now() };
    let show = progress::wanted(false);
    let mut machine = a.progress_fd.filter(|&fd| fd > 0).and_then(|fd| progress::MachineProgress::open(fd, &a.device.display().to_string()));
    let mut last_pass: Option<Pass> = None;
    let mut announced: Option<Pass> = None;
    let mut bar = progress::bar(false, "", 1);
    let mut cb = |pass: Pass, done: u64, total: u64| -> bool {
        if last_pass != Some(pass) {
            bar.finish_and_clear();
            // Later rounds (after repairs) re-run the passes: announce
            // each pass once.
            if !quiet_passes && announced.is_none_or(|l| pass > l) {
                println!("Pass {}: {}", pass.number(), pass.description());
                announced = Some(pass);
            }
            last_pass = Some(pass);
            bar = progress::bar(show, pass.description(), total.max(1));
        }
        bar.set_length(total.max(1));
        bar.set_position(done);
        if let Some(m) = machine.as_mut() {
            m.update(pass.number(), done, total);
        }
        !signals::interrupted()
    };
    let r = check(dev, &opts, &mut cb);
    bar.finish_and_clear();
    match r {
        Ok((report, _dev)) => Ok(report),
        Err(e) => {
            let why = match e {
                FsError::Corrupt(_) | FsError::Incompatible(_) => format!("{}: not a usable VexFS filesystem: {e}", path.display()),
                _ => format!("{}: {e}", path.display()),
            };
            eprintln!("{prog}: {why}");
            Err(EXIT_OPERATIONAL)
        }
    }
}

fn print_problems(dev: &str, r: &CheckReport, preen: bool) {
    for p in &r.problems {
        if preen {
            println!("{dev}: {}{}", p.text, if p.fixed { " (fixed)" } else { "" });
        } else {
            println!("{}? {}", p.text, if p.fixed { "yes" } else { "no" });
        }
    }
}

/// Print the outcome (the problems too unless already shown) and return
/// the exit code.
fn finish(dev: &str, r: &CheckReport, verbose: bool, preen: bool, show_problems: bool) -> u8 {
    if let Some((seq, blocks)) = r.replayed {
        println!("{dev}: recovering journal: transaction {seq} ({blocks} blocks)");
    }
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    if r.orphans_released > 0 {
        println!("{dev}: released {} orphan inode{} (unlinked while open)", r.orphans_released, plural(r.orphans_released));
    }
    if r.orphans_pending > 0 {
        println!("{dev}: {} orphan inode{} (unlinked while open, or being truncated) left for the next mount", r.orphans_pending, plural(r.orphans_pending));
    }
    if r.skipped_clean {
        println!("{dev}: clean, {}/{} files, {}/{} blocks", r.inodes_used, r.inode_count, r.blocks_used, r.block_count);
        return EXIT_OK;
    }
    if show_problems {
        print_problems(dev, r, preen);
    }
    if verbose {
        for l in &r.repairs {
            println!("{dev}: {l}");
        }
    }
    let mut code = EXIT_OK;
    if r.corrected() {
        code |= EXIT_CORRECTED;
    }
    if r.uncorrected() > 0 {
        code |= EXIT_UNCORRECTED;
    }
    if r.cancelled {
        println!("{dev}: check cancelled");
        return code | EXIT_CANCELLED;
    }
    if preen && r.problems.iter().any(|p| !p.fixed && p.severity != Severity::Safe) {
        println!("\n{dev}: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.\n\t(i.e., without -a or -p options)");
    }
    if r.corrected() {
        println!("\n{dev}: ***** FILE SYSTEM WAS MODIFIED *****");
    }
    if r.uncorrected() > 0 {
        println!("\n{dev}: ********** WARNING: Filesystem still has errors **********");
    }
    println!("{dev}: {}/{} files ({} directories), {}/{} blocks", r.inodes_used, r.inode_count, r.directories, r.blocks_used, r.block_count);
    code
}
