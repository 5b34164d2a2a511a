//! Several processes' worth of namespace and data churn at once on one
//! mount (the daemon's request threads share the core behind a mutex),
//! then a forced fsck of the image.

mod common;
use common::*;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::Path;

/// Set once a test has killed the daemon: every error after is expected.
static DAEMON_GONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn tolerate(r: std::io::Result<()>) {
    // Threads race on shared names: losing a race is fine, nothing else is.
    if let Err(e) = r {
        if DAEMON_GONE.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        assert!(
            matches!(e.kind(), ErrorKind::NotFound | ErrorKind::AlreadyExists | ErrorKind::DirectoryNotEmpty)
                || e.raw_os_error() == Some(libc::ENOTEMPTY),
            "{e}"
        );
    }
}

fn worker(root: &Path, id: u64, rounds: u64) {
    let mut x = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    for _ in 0..rounds {
        let a = root.join(format!("f{}", rnd(64)));
        let b = root.join(format!("f{}", rnd(64)));
        let d = root.join(format!("d{}", rnd(8)));
        match rnd(9) {
            0 | 1 => tolerate((|| {
                let mut f = fs::OpenOptions::new().create(true).append(true).open(&a)?;
                f.write_all(&vec![id as u8; rnd(20_000) as usize])
            })()),
            2 => tolerate(fs::rename(&a, &b)),
            3 => tolerate(fs::hard_link(&a, &b)),
            4 => tolerate(fs::remove_file(&a)),
            5 => tolerate(fs::create_dir(&d)),
            6 => tolerate(fs::remove_dir(&d)),
            7 => tolerate(fs::rename(&a, d.join("moved"))),
            _ => tolerate(fs::File::options().write(true).open(&a).and_then(|f| f.set_len(rnd(50_000)))),
        }
    }
}

#[test]
fn concurrent_churn_leaves_a_clean_image() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(256 << 20);
    for opts in [&[][..], &["no_writeback_cache", "threads=4"][..]] {
        let m = s.mount(opts);
        let root = s.mnt.join(format!("churn{}", opts.len()));
        fs::create_dir(&root).unwrap();
        std::thread::scope(|sc| {
            for id in 0..4 {
                let root = &root;
                sc.spawn(move || worker(root, id + 1, 10_000));
            }
        });
        // unmount() runs fsck on the image.
        assert!(m.unmount().success());
    }
}

/// `kill -9` of the daemon at a random moment under load from several
/// threads: the image must check clean (journal replayed in memory), mount
/// (replaying it for real), and unmount clean, every round.
#[test]
fn kill_9_under_load_leaves_a_consistent_image() {
    use std::sync::atomic::Ordering;
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(256 << 20);
    let rounds = 6;
    let mut replayed = 0;
    let mut orphans = 0;
    for round in 0..rounds {
        let m = s.mount(&["commit=1"]);
        let root = s.mnt.join(format!("round{round}"));
        fs::create_dir(&root).unwrap();
        DAEMON_GONE.store(false, Ordering::Relaxed);
        std::thread::scope(|sc| {
            for id in 0..3 {
                let root = &root;
                sc.spawn(move || {
                    let mut i = 0;
                    while !DAEMON_GONE.load(Ordering::Relaxed) {
                        worker(root, id + 1 + i * 7, 50);
                        i += 1;
                    }
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(300 + 250 * round));
            DAEMON_GONE.store(true, Ordering::Relaxed);
            m.kill();
        });
        let dev = vexfs_core::FileDevice::open(&s.image, true).unwrap();
        let opts = vexfs_core::check::CheckOptions { force: true, ..Default::default() };
        let (r, _) = vexfs_core::check::check(dev, &opts, &mut |_, _, _| true).unwrap();
        assert!(r.problems.is_empty(), "round {round}: {:#?}", r.problems);
        replayed += usize::from(r.replayed.is_some());
        orphans += r.orphans_pending;
        // Mounting replays for real; the unmount then checks clean.
        assert!(s.mount(&[]).unmount().success());
    }
    println!(
        "kill -9 under load: {rounds} rounds, {replayed} needed a journal replay, \
         {orphans} orphans left to the mount, 0 failures"
    );
}
