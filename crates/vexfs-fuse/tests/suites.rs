//! External suites on a real mount: pjdfstest (POSIX semantics, run in
//! full with the reasoned exclusions in `pjdfstest.toml`) and fsx (random
//! I/O with data verification). Heavy and dependent on installed tools, so
//! `#[ignore]`d: `tests/fuse/run-suites.sh` installs the tools and runs them.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const CONF_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");

fn tool(name: &str) -> PathBuf {
    if let Some(p) = which(name) {
        return p;
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    let p = home.join(".cargo/bin").join(name);
    assert!(p.is_file(), "{name} is not installed: run tests/fuse/run-suites.sh (cargo install {name} --locked)");
    p
}

fn run_logged(cmd: &mut Command, log: &Path) -> bool {
    let t = Instant::now();
    let out = cmd.output().expect("run suite");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    std::fs::write(log, &text).expect("write log");
    // The summary and any failures, not the full per-test listing.
    for line in text.lines() {
        if line.contains("FAILED") || line.contains("Summary") || line.contains("A-OK") || line.contains("MISCOMPARE") || line.contains("rror") {
            println!("{line}");
        }
    }
    println!("({:?}; full log: {})", t.elapsed(), log.display());
    out.status.success()
}

#[test]
#[ignore = "needs pjdfstest; run by tests/fuse/run-suites.sh"]
fn pjdfstest_full() {
    if !fuse_available() {
        return;
    }
    let pjd = tool("pjdfstest");
    let users = Command::new("getent").args(["passwd", "tests"]).output().map(|o| o.status.success()).unwrap_or(false);
    assert!(users, "pjdfstest needs the user and group `tests` (run-suites.sh creates them)");
    // Files of more than 2 GiB are sparse, so a small image is enough.
    let s = Scratch::new(1 << 30);
    // Other users must reach the mount: pjdfstest switches uid/gid.
    let m = s.mount(&["allow_other"]);
    let log = std::env::temp_dir().join("vexfs-pjdfstest.log");
    let conf = std::fs::read_to_string(Path::new(CONF_DIR).join("pjdfstest.toml")).unwrap();
    let conf_path = s.dir.path().join("pjdfstest.toml");
    // EXDEV tests need a second filesystem: the scratch dir's host one.
    let other = s.dir.path().join("secondary");
    std::fs::create_dir(&other).unwrap();
    let run = |conf: &str, filter: Option<&str>, log: &Path| {
        std::fs::write(&conf_path, conf).unwrap();
        let mut cmd = Command::new(&pjd);
        cmd.arg("-c").arg(&conf_path).arg("-p").arg(&s.mnt).arg("-s").arg(&other).current_dir(&s.mnt);
        if let Some(f) = filter {
            cmd.arg(f);
        }
        run_logged(&mut cmd, log)
    };
    // Pass 1: everything (the EROFS tests skip themselves).
    let ok = run(&conf, None, &log);
    // Pass 2: the EROFS tests, which remount read-only through mount(8),
    // mount.fuse3 and the `vexfs` helper on the system PATH (run-suites.sh
    // installs it); see pjdfstest.toml for why they run on their own.
    let std_path = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
    let ok_erofs = if std_path.iter().any(|d| Path::new(d).join("vexfs").is_file()) {
        let erofs_log = std::env::temp_dir().join("vexfs-pjdfstest-erofs.log");
        run(&conf.replace("allow_remount = false", "allow_remount = true"), Some("erofs"), &erofs_log)
    } else {
        println!("NOTE: the `vexfs` mount helper is not installed; EROFS (remount) tests not run");
        true
    };
    assert!(m.unmount().success(), "daemon failed at unmount");
    assert!(ok && ok_erofs, "pjdfstest failed; see the logs above");
}

/// fsx on a fresh mount with `opts`; returns after checking the result
/// survives a remount.
fn run_fsx(opts: &[&str], ops: u64, seed: u64, label: &str) {
    let fsx = tool("fsx");
    let s = Scratch::new(256 << 20);
    let m = s.mount(opts);
    let art = s.dir.path().join("fsx-artifacts");
    std::fs::create_dir(&art).unwrap();
    let log = std::env::temp_dir().join(format!("vexfs-fsx-{label}.log"));
    let ok = run_logged(
        Command::new(fsx)
            .arg("-N")
            .arg(ops.to_string())
            .arg("-S")
            .arg(seed.to_string())
            .arg("-f")
            .arg(Path::new(CONF_DIR).join("fsx.toml"))
            .arg("-P")
            .arg(&art)
            .arg(s.mnt.join("fsx.bin")),
        &log,
    );
    if !ok {
        // Keep fsx's good/bad copies for the report before the tempdir goes.
        let keep = std::env::temp_dir().join(format!("vexfs-fsx-{label}-artifacts"));
        let _ = std::fs::remove_dir_all(&keep);
        let _ = Command::new("cp").arg("-a").arg(&art).arg(&keep).status();
    }
    let data = std::fs::read(s.mnt.join("fsx.bin")).ok();
    assert!(m.unmount().success(), "daemon failed at unmount");
    assert!(ok, "fsx ({label}) failed within {ops} operations (seed {seed}); see {}", log.display());
    // What fsx left behind survives a remount, byte for byte.
    let m = s.mount(&[]);
    assert!(std::fs::read(s.mnt.join("fsx.bin")).ok() == data, "fsx file changed across remount");
    assert!(m.unmount().success());
    println!("fsx ({label}): {ops} operations, seed {seed}, no miscompare");
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
#[ignore = "needs fsx; run by tests/fuse/run-suites.sh"]
fn fsx_random_io() {
    if !fuse_available() {
        return;
    }
    let ops = env_u64("FSX_OPS", 100_000);
    let seed = env_u64("FSX_SEED", 20_260_101);
    // The default mount (kernel writeback cache) gets the full run; the
    // write-through mode a shorter one with another seed.
    run_fsx(&[], ops, seed, "writeback");
    run_fsx(&["no_writeback_cache"], ops.div_ceil(4), seed + 1, "write-through");
}
