//! sync, syncfs, fsync and close while files are created, written and
//! removed around them: none may fail with an errno POSIX does not give
//! them (a file removed by one process must not make another's syncfs
//! report ENOENT).

mod common;
use common::*;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

#[test]
fn sync_and_syncfs_beside_creates_and_unlinks() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(256 << 20);
    let m = s.mount(&[]);
    let root = m.mnt.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut threads = Vec::new();
    // Writers: create, write (left in the writeback cache), sometimes
    // fsync, close, unlink; some unlink while still open.
    for w in 0..3 {
        let (root, stop, errors) = (root.clone(), stop.clone(), errors.clone());
        threads.push(std::thread::spawn(move || {
            let mut i = 0u64;
            let buf = vec![w as u8; 20_000];
            while !stop.load(Ordering::Relaxed) {
                let p = root.join(format!("w{w}-{i}"));
                let mut f = match OpenOptions::new().write(true).create_new(true).open(&p) {
                    Ok(f) => f,
                    Err(e) => {
                        errors.lock().unwrap().push(format!("create {}: {e}", p.display()));
                        break;
                    }
                };
                if let Err(e) = f.write_all(&buf) {
                    errors.lock().unwrap().push(format!("write: {e}"));
                }
                if i.is_multiple_of(3) {
                    if let Err(e) = f.sync_all() {
                        errors.lock().unwrap().push(format!("fsync: {e}"));
                    }
                }
                if i.is_multiple_of(2) {
                    // Removed while open (and dirty): its pages are
                    // written back after the name is gone.
                    let _ = fs::remove_file(&p);
                    drop(f);
                } else {
                    drop(f);
                    let _ = fs::remove_file(&p);
                }
                i += 1;
            }
        }));
    }
    // syncfs on a descriptor of the mount, in a loop.
    for k in 0..2 {
        let (root, stop, errors) = (root.clone(), stop.clone(), errors.clone());
        threads.push(std::thread::spawn(move || {
            let d = File::open(&root).unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: syncfs on a descriptor `d` keeps open.
                if unsafe { libc::syncfs(d.as_raw_fd()) } != 0 {
                    errors.lock().unwrap().push(format!("syncfs #{k}.{n}: errno {}", errno()));
                }
                n += 1;
            }
        }));
    }
    // sync(2) from another process, and fsync of a long-lived file.
    let mut syncer = std::process::Command::new("sh")
        .arg("-c")
        .arg("while :; do sync; done")
        .spawn()
        .unwrap();
    let start = Instant::now();
    let keep = root.join("kept");
    let mut f = File::create(&keep).unwrap();
    while start.elapsed() < Duration::from_secs(6) {
        f.write_all(b"more").unwrap();
        if let Err(e) = f.sync_data() {
            errors.lock().unwrap().push(format!("fdatasync: {e}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let _ = syncer.kill();
    let _ = syncer.wait();
    drop(f);
    let errors = errors.lock().unwrap().clone();
    assert!(
        errors.is_empty(),
        "{} failures, first: {:?}",
        errors.len(),
        &errors[..errors.len().min(10)]
    );
    assert!(m.unmount().success());
}
