//! Kernel caching the daemon asks for, seen from its request log (`-d`):
//! failed lookups are cached as negative entries, directory listings stay
//! in the page cache across opens, and both are dropped when the namespace
//! changes, through the mount or through a bulk embedding update that
//! creates files.

mod common;
use common::*;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vexfs_uapi as u;
use vexfs_uapi::Request as _;

/// `vexfs-fuse -d` with its request log in a file.
struct Logged {
    child: Child,
    log: std::path::PathBuf,
}

impl Logged {
    fn start(s: &Scratch) -> Logged {
        let log = s.dir.path().join("requests.log");
        let err = File::create(&log).unwrap();
        let child = Command::new(BIN)
            .arg("-d")
            .arg(&s.image)
            .arg(&s.mnt)
            .stdin(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !is_mounted(&s.mnt) {
            assert!(start.elapsed() < Duration::from_secs(20), "mount did not appear");
            std::thread::sleep(Duration::from_millis(20));
        }
        Logged { child, log }
    }

    /// Requests logged so far whose line contains `what`.
    fn count(&self, what: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .filter(|l| l.contains(what))
            .count()
    }

    fn unmount(mut self, s: &Scratch) {
        sh(&format!("fusermount3 -u {}", s.mnt.display()));
        assert!(self.child.wait().unwrap().success());
        assert_fsck_clean(&s.image);
    }
}

fn stat_fails(p: &Path) -> bool {
    std::fs::metadata(p).is_err()
}

/// Bulk-set one embedding on `name` in `dir`, creating the file.
fn bulk_create(dir: &Path, name: &str) {
    let mut b = Box::new(u::Bulk::new_request());
    b.flags = u::BULK_CREATE;
    b.dim = 4;
    b.count = 1;
    let mut names = name.as_bytes().to_vec();
    names.push(0);
    b.names_len = names.len() as u32;
    b.data[..names.len()].copy_from_slice(&names);
    let off = names.len().next_multiple_of(4);
    for (i, x) in [1.0f32, 2.0, 3.0, 4.0].iter().enumerate() {
        b.data[off + 4 * i..off + 4 * i + 4].copy_from_slice(&x.to_le_bytes());
    }
    let f = File::open(dir).unwrap();
    // SAFETY: the command's size is that of `Bulk`, which `b` points to.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), u::IOC_BULK_SET as _, &mut *b as *mut u::Bulk) };
    assert_eq!(r, 0, "bulk set: {}", std::io::Error::last_os_error());
    assert_eq!((b.error, b.done), (0, 1));
}

#[test]
fn negative_entries_and_cached_listings() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(64 << 20);
    let m = Logged::start(&s);
    let d = s.mnt.join("dir");
    std::fs::create_dir(&d).unwrap();
    for i in 0..20 {
        std::fs::write(d.join(format!("f{i}")), b"x").unwrap();
    }
    // A name that does not exist is asked for once, then cached.
    let missing = d.join("missing");
    for _ in 0..50 {
        assert!(stat_fails(&missing));
    }
    assert_eq!(m.count("LOOKUP name \"missing\""), 1, "the negative entry was not cached");
    // Creating it through the mount replaces the negative entry.
    std::fs::write(&missing, b"now").unwrap();
    assert_eq!(std::fs::read(&missing).unwrap(), b"now");
    std::fs::remove_file(&missing).unwrap();
    assert!(stat_fails(&missing));

    // A listing is read from the daemon once, then from the page cache.
    let list = |p: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    let first = list(&d);
    let reads = m.count("READDIR");
    assert!(reads > 0);
    assert_eq!(list(&d), first);
    assert_eq!(m.count("READDIR"), reads, "the second listing went to the daemon");
    // Changes through the mount show in the next listing.
    std::fs::write(d.join("added"), b"a").unwrap();
    std::fs::remove_file(d.join("f0")).unwrap();
    let after = list(&d);
    assert!(
        after.contains(&"added".to_string()) && !after.contains(&"f0".to_string()),
        "{after:?}"
    );

    // Files created by a bulk embedding update are seen at once, although
    // the kernel cached both a negative entry and the listing.
    let late = d.join("late");
    assert!(stat_fails(&late));
    let _ = list(&d);
    bulk_create(&d, "late");
    assert!(
        std::fs::metadata(&late).unwrap().is_file(),
        "stale negative entry after a bulk create"
    );
    assert!(list(&d).contains(&"late".to_string()), "stale listing after a bulk create");

    // In a directory that never had a failed lookup no per-name notice is
    // sent; the cached listing is still dropped and the names resolve.
    let e = s.mnt.join("fresh");
    std::fs::create_dir(&e).unwrap();
    assert!(list(&e).is_empty());
    bulk_create(&e, "made");
    assert!(list(&e).contains(&"made".to_string()), "stale listing after a bulk create");
    assert!(std::fs::metadata(e.join("made")).unwrap().is_file());
    m.unmount(&s);
}
