//! Virtual disks and the QEMU run: Debian's kernel under TCG (never KVM),
//! no network, no display, the serial console on our standard output.
//! Only lines starting with `@@VEXFS` matter; the whole console goes to
//! `target/vm/console.log`.

use crate::cmd::log;
use crate::deps::Kernel;
use crate::{Profile, Result};
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const MARK: &str = "@@VEXFS ";

/// The guest's disks in order: vda (zeros: the foreign image), vdb (the
/// test filesystem, as in the seed), vdc (made VexFS, then damaged), vdd
/// (fresh VexFS for each run of the index-worker step).
pub struct Disks {
    pub paths: Vec<PathBuf>,
}

fn sparse_file(path: &Path, mib: u64) -> Result<()> {
    let _ = fs::remove_file(path);
    let f = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.set_len(mib << 20)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// /dev/vdd: one inode per 16 KiB and room for the index-worker step's
/// files (`Profile::iw_rows`, 10,000 by default) and their index.
const IW_DISK_MIB: u64 = 384;

pub fn make_disks(out: &Path, p: &Profile) -> Result<Disks> {
    let dir = out.join("disks");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for (name, mib) in [
        ("vda", 16),
        ("vdb", p.disk_mib),
        ("vdc", 16),
        ("vdd", IW_DISK_MIB),
    ] {
        let path = dir.join(format!("{name}.img"));
        sparse_file(&path, mib)?;
        paths.push(path);
    }
    Ok(Disks { paths })
}

/// What came back from the guest.
pub struct Run {
    /// The `@@VEXFS` lines, marker removed, in order.
    pub lines: Vec<String>,
    pub finished: bool,
    pub timed_out: bool,
    /// Seconds from QEMU start to the guest's first line.
    pub boot_s: f64,
    /// Seconds from QEMU start to the final line (or the timeout).
    pub guest_s: f64,
    pub console: PathBuf,
}

const CMDLINE: &str = "console=ttyS0 panic=-1 slub_debug=FZPU quiet loglevel=4 rdinit=/init";

pub fn boot(out: &Path, kernel: &Kernel, initrd: &Path, disks: &Disks, p: &Profile) -> Result<Run> {
    log(&format!(
        "booting {} under qemu-system-x86_64 -accel tcg, {} MiB, {} vCPU (timeout {} s)",
        kernel.version, p.mem_mib, p.smp, p.timeout_s
    ));
    let mut c = Command::new("qemu-system-x86_64");
    let (mem, smp) = (p.mem_mib.to_string(), p.smp.to_string());
    c.args(["-accel", "tcg", "-m", &mem, "-smp", &smp])
        .args(["-display", "none", "-monitor", "none", "-serial", "stdio"])
        .args(["-nic", "none", "-no-reboot"])
        .arg("-kernel")
        .arg(&kernel.vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", CMDLINE]);
    for d in &disks.paths {
        c.arg("-drive")
            .arg(format!("file={},if=virtio,format=raw", d.display()));
    }
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let start = Instant::now();
    let mut child = c.spawn().map_err(|e| format!("cannot start qemu: {e}"))?;
    let stdout = child.stdout.take().ok_or("qemu has no stdout")?;

    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let console = out.join("console.log");
    let mut log_file = File::create(&console).map_err(|e| format!("{}: {e}", console.display()))?;
    let deadline = start + Duration::from_secs(p.timeout_s);
    let mut run = Run {
        lines: Vec::new(),
        finished: false,
        timed_out: false,
        boot_s: 0.0,
        guest_s: 0.0,
        console: console.clone(),
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            run.timed_out = true;
            break;
        }
        match rx.recv_timeout(left) {
            Ok(raw) => {
                let line = raw.trim_end_matches('\r');
                let _ = writeln!(log_file, "{line}");
                let Some(pos) = line.find(MARK) else { continue };
                let msg = &line[pos + MARK.len()..];
                if run.lines.is_empty() {
                    run.boot_s = start.elapsed().as_secs_f64();
                }
                if msg.starts_with("step=") || msg.starts_with("boot") {
                    eprintln!("    guest: {msg}");
                }
                run.lines.push(msg.to_string());
                if msg.starts_with("done") {
                    run.finished = true;
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                run.timed_out = true;
                break;
            }
            // QEMU exited (the guest powered off or died) before the end.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    run.guest_s = start.elapsed().as_secs_f64();

    // After "done" the guest powers off by itself; give it a moment.
    let grace = Instant::now() + Duration::from_secs(if run.finished { 30 } else { 0 });
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < grace => std::thread::sleep(Duration::from_millis(200)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
        }
    }
    // Keep the rest of the console for the log.
    for line in rx.try_iter() {
        let _ = writeln!(log_file, "{}", line.trim_end_matches('\r'));
    }
    let _ = reader.join();
    Ok(run)
}
