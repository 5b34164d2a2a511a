//! Everyday POSIX use through a real FUSE mount, checked again after a
//! remount.

mod common;
use common::*;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// A real tree to copy: the workspace's sources (no build output).
fn source_tree() -> std::path::PathBuf {
    Path::new(REPO).join("crates").canonicalize().expect("crates dir")
}

/// Real trees to copy: the workspace's sources, and the system's
/// documentation (thousands of files, symlinks, odd names) where present.
fn trees() -> Vec<std::path::PathBuf> {
    let mut v = vec![source_tree()];
    let doc = Path::new("/usr/share/doc");
    if doc.is_dir() {
        v.push(doc.to_path_buf());
    }
    v
}

#[test]
fn copy_tree_diff_tar_and_remount() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(1 << 30);
    let m = s.mount(&[]);
    let mnt = s.mnt.display().to_string();
    let tmp = s.dir.path().display().to_string();
    // Snapshots on the host filesystem are the reference: the originals
    // may change while the test runs.
    let refs: Vec<_> = trees()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let r = s.dir.path().join(format!("ref{i}"));
            sh(&format!("cp -a {} {}", t.display(), r.display()));
            r
        })
        .collect();
    for (i, src) in refs.iter().enumerate() {
        let src = src.display();
        sh(&format!("mkdir {mnt}/t{i} && cp -a {src}/. {mnt}/t{i}/ && diff -r --no-dereference {src} {mnt}/t{i}"));
        // tar out of the mount and back in, with owners and modes.
        sh(&format!("tar -C {mnt}/t{i} -cf {tmp}/t.tar . && mkdir {mnt}/u{i} && tar -C {mnt}/u{i} -xpf {tmp}/t.tar && rm {tmp}/t.tar"));
        sh(&format!("diff -r --no-dereference {src} {mnt}/u{i}"));
    }
    assert!(m.unmount().success());

    let m = s.mount(&[]);
    for (i, src) in refs.iter().enumerate() {
        sh(&format!("diff -r --no-dereference {} {mnt}/t{i}", src.display()));
        sh(&format!("diff -r --no-dereference {mnt}/t{i} {mnt}/u{i}"));
        sh(&format!("rm -rf {mnt}/t{i} {mnt}/u{i}"));
    }
    let left: Vec<_> = fs::read_dir(&s.mnt).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["lost+found"]);
    assert!(m.unmount().success());
}

#[test]
fn git_clone_onto_mount() {
    if !fuse_available() {
        return;
    }
    if which("git").is_none() || !Path::new(REPO).join(".git").exists() {
        eprintln!("SKIP: git or the repository's .git is not available");
        return;
    }
    let s = Scratch::new(512 << 20);
    let m = s.mount(&[]);
    let mnt = s.mnt.display().to_string();
    sh(&format!("git clone -q --no-hardlinks {REPO} {mnt}/clone"));
    sh(&format!("cd {mnt}/clone && git fsck --no-progress && git status --porcelain | wc -l"));
    assert!(m.unmount().success());
    let m = s.mount(&[]);
    sh(&format!("cd {mnt}/clone && git fsck --no-progress && test -z \"$(git status --porcelain)\""));
    assert!(m.unmount().success());
}

#[test]
fn links_renames_modes_truncate() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(64 << 20);
    let m = s.mount(&[]);
    let p = |n: &str| s.mnt.join(n);

    fs::write(p("a"), b"hello world").unwrap();
    fs::hard_link(p("a"), p("b")).unwrap();
    assert_eq!(fs::metadata(p("a")).unwrap().nlink(), 2);
    std::os::unix::fs::symlink("a", p("s")).unwrap();
    assert_eq!(fs::read_link(p("s")).unwrap(), Path::new("a"));
    assert_eq!(fs::read(p("s")).unwrap(), b"hello world");
    let long_target = "x/".repeat(1000);
    std::os::unix::fs::symlink(&long_target, p("long")).unwrap();
    assert_eq!(fs::read_link(p("long")).unwrap(), Path::new(&long_target));

    fs::create_dir_all(p("d1/d2")).unwrap();
    fs::rename(p("b"), p("d1/d2/b2")).unwrap();
    fs::rename(p("d1/d2"), p("d3")).unwrap();
    assert_eq!(fs::read(p("d3/b2")).unwrap(), b"hello world");
    assert_eq!(fs::metadata(p("d1")).unwrap().nlink(), 2);
    fs::write(p("c"), b"other").unwrap();
    fs::rename(p("c"), p("a")).unwrap(); // replace
    assert_eq!(fs::read(p("a")).unwrap(), b"other");
    assert_eq!(fs::metadata(p("d3/b2")).unwrap().nlink(), 1);

    fs::set_permissions(p("a"), fs::Permissions::from_mode(0o4751)).unwrap();
    assert_eq!(fs::metadata(p("a")).unwrap().mode() & 0o7777, 0o4751);
    std::os::unix::fs::chown(p("a"), Some(1234), Some(5678)).unwrap();
    let md = fs::metadata(p("a")).unwrap();
    assert_eq!((md.uid(), md.gid()), (1234, 5678));
    assert_eq!(md.mode() & 0o4000, 0, "chown clears setuid");

    // Truncate down and up; the tail must read as zeros.
    let mut f = fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(p("t")).unwrap();
    f.write_all(&vec![0xabu8; 100_000]).unwrap();
    f.set_len(5000).unwrap();
    f.set_len(20_000).unwrap();
    let mut buf = Vec::new();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.read_to_end(&mut buf).unwrap();
    assert_eq!(buf.len(), 20_000);
    assert!(buf[..5000].iter().all(|&b| b == 0xab));
    assert!(buf[5000..].iter().all(|&b| b == 0));
    drop(f);

    // An unlinked file stays readable while open.
    let mut f = fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(p("ghost")).unwrap();
    f.write_all(b"still here").unwrap();
    fs::remove_file(p("ghost")).unwrap();
    let mut got = String::new();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.read_to_string(&mut got).unwrap();
    assert_eq!(got, "still here");
    let free_with_ghost = statvfs_free(&s.mnt);
    drop(f);

    // setgid directories pass on their group, and to subdirectories the bit.
    fs::create_dir(p("sg")).unwrap();
    std::os::unix::fs::chown(p("sg"), None, Some(4242)).unwrap();
    fs::set_permissions(p("sg"), fs::Permissions::from_mode(0o2775)).unwrap();
    fs::write(p("sg/f"), b"").unwrap();
    fs::create_dir(p("sg/sub")).unwrap();
    assert_eq!(fs::metadata(p("sg/f")).unwrap().gid(), 4242);
    let sub = fs::metadata(p("sg/sub")).unwrap();
    assert_eq!(sub.gid(), 4242);
    assert_ne!(sub.mode() & 0o2000, 0);

    assert!(m.unmount().success());
    let m = s.mount(&[]);
    assert!(statvfs_free(&s.mnt) > free_with_ghost, "the unlinked file's blocks were freed");
    assert_eq!(fs::read(p("a")).unwrap(), b"other");
    assert_eq!(fs::read(p("d3/b2")).unwrap(), b"hello world");
    assert_eq!(fs::read_link(p("long")).unwrap(), Path::new(&long_target));
    assert_eq!(fs::metadata(p("t")).unwrap().len(), 20_000);
    assert!(!p("ghost").exists());
    assert!(m.unmount().success());
}

fn statvfs_free(p: &Path) -> u64 {
    let out = sh(&format!("stat -f -c %f {}", p.display()));
    out.trim().parse().unwrap()
}

#[test]
fn read_only_mount_refuses_writes() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(32 << 20);
    let m = s.mount(&[]);
    fs::write(s.mnt.join("keep"), b"x").unwrap();
    assert!(m.unmount().success());
    let m = s.mount(&["ro"]);
    assert_eq!(fs::read(s.mnt.join("keep")).unwrap(), b"x");
    let e = fs::write(s.mnt.join("new"), b"y").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EROFS));
    assert!(m.unmount().success());
}

#[test]
fn daemon_mode_detaches_after_mounting() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(32 << 20);
    let st = std::process::Command::new(BIN).arg(&s.image).arg(&s.mnt).status().unwrap();
    assert!(st.success());
    // The parent returns only once the mount is live.
    assert!(is_mounted(&s.mnt));
    fs::write(s.mnt.join("f"), b"daemon").unwrap();
    sh(&format!("fusermount3 -u {}", s.mnt.display()));
    // The daemon may still be flushing: a new mount waits for its lock.
    let m = s.mount(&[]);
    assert_eq!(fs::read(s.mnt.join("f")).unwrap(), b"daemon");
    assert!(m.unmount().success());
}

#[test]
fn sigterm_unmounts_and_flushes() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(32 << 20);
    let mut child = std::process::Command::new(BIN).arg("-f").arg(&s.image).arg(&s.mnt).spawn().unwrap();
    let t = std::time::Instant::now();
    while !is_mounted(&s.mnt) && t.elapsed().as_secs() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    fs::write(s.mnt.join("f"), b"signal").unwrap();
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = child.wait().unwrap();
    assert!(st.success(), "{st}");
    assert!(!is_mounted(&s.mnt));
    let m = s.mount(&[]);
    assert_eq!(fs::read(s.mnt.join("f")).unwrap(), b"signal");
    assert!(m.unmount().success());
}

#[test]
fn setid_bits_cleared_on_write_by_another_user() {
    if !fuse_available() {
        return;
    }
    if which("su").is_none() || sh("id -u").trim() != "0" || !sh("getent passwd nobody || true").contains("nobody") {
        eprintln!("SKIP: needs root, su and the user nobody");
        return;
    }
    for opts in [&["allow_other"][..], &["allow_other", "no_writeback_cache"][..]] {
        let s = Scratch::new(32 << 20);
        let m = s.mount(opts);
        fs::set_permissions(&s.mnt, fs::Permissions::from_mode(0o755)).unwrap();
        let f = s.mnt.join("prog");
        fs::write(&f, b"#!/bin/sh\n").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o6777)).unwrap();
        sh(&format!("su -s /bin/sh nobody -c 'echo x >> {}'", f.display()));
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o7777, 0o777, "{opts:?}");
        assert!(m.unmount().success());
    }
}

fn c(p: &Path) -> std::ffi::CString {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap()
}

fn renameat2(a: &Path, b: &Path, flags: u32) -> Result<(), i32> {
    let (a, b) = (c(a), c(b));
    // SAFETY: valid C strings; AT_FDCWD with absolute paths.
    let r = unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), flags) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

fn fallocate(f: &fs::File, mode: i32, off: i64, len: i64) -> Result<(), i32> {
    use std::os::fd::AsRawFd;
    // SAFETY: plain syscall on an open descriptor.
    let r = unsafe { libc::fallocate(f.as_raw_fd(), mode, off, len) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

#[test]
fn renameat2_flags_and_fallocate_modes() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(64 << 20);
    let m = s.mount(&[]);
    let p = |n: &str| s.mnt.join(n);
    fs::create_dir_all(p("a/sub")).unwrap();
    fs::create_dir(p("b")).unwrap();
    fs::write(p("b/file"), b"f").unwrap();
    fs::write(p("x"), b"x").unwrap();

    assert_eq!(renameat2(&p("x"), &p("b/file"), libc::RENAME_NOREPLACE), Err(libc::EEXIST));
    assert_eq!(renameat2(&p("x"), &p("y"), libc::RENAME_WHITEOUT), Err(libc::EINVAL));
    assert_eq!(renameat2(&p("x"), &p("nope"), libc::RENAME_EXCHANGE), Err(libc::ENOENT));
    renameat2(&p("x"), &p("y"), libc::RENAME_NOREPLACE).unwrap();
    // Exchange a directory and a file across parents: link counts follow.
    renameat2(&p("a/sub"), &p("b/file"), libc::RENAME_EXCHANGE).unwrap();
    assert!(p("a/sub").is_file() && p("b/file").is_dir());
    assert_eq!(fs::metadata(p("a")).unwrap().nlink(), 2);
    assert_eq!(fs::metadata(p("b")).unwrap().nlink(), 3);
    assert_eq!(fs::metadata(p("b/file/..")).unwrap().ino(), fs::metadata(p("b")).unwrap().ino());

    let mut f = fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(p("fa")).unwrap();
    f.write_all(&vec![7u8; 5 * 4096]).unwrap();
    // Punch needs KEEP_SIZE; then the range reads as zeros.
    assert_eq!(fallocate(&f, libc::FALLOC_FL_PUNCH_HOLE, 0, 4096), Err(libc::EOPNOTSUPP));
    fallocate(&f, libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE, 1000, 6000).unwrap();
    fallocate(&f, libc::FALLOC_FL_ZERO_RANGE, 16000, 100).unwrap();
    fallocate(&f, libc::FALLOC_FL_KEEP_SIZE, 0, 1 << 20).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 5 * 4096);
    fallocate(&f, 0, 0, 30_000).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 30_000);
    fallocate(&f, libc::FALLOC_FL_ZERO_RANGE | libc::FALLOC_FL_KEEP_SIZE, 29_000, 10_000).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 30_000);
    assert_eq!(fallocate(&f, libc::FALLOC_FL_COLLAPSE_RANGE, 0, 4096), Err(libc::EOPNOTSUPP));
    let mut want = vec![7u8; 5 * 4096];
    want[1000..7000].fill(0);
    want[16000..16100].fill(0);
    want.resize(30_000, 0);
    let mut got = Vec::new();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.read_to_end(&mut got).unwrap();
    assert!(got == want, "contents after fallocate");
    drop(f);
    assert!(m.unmount().success());
    let m = s.mount(&[]);
    assert!(fs::read(p("fa")).unwrap() == want, "contents after remount");
    assert!(m.unmount().success());
}

#[test]
fn block_device_source() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(64 << 20);
    let Ok(out) = std::process::Command::new("losetup").args(["-f", "--show"]).arg(&s.image).output() else {
        eprintln!("SKIP: losetup not available");
        return;
    };
    let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || dev.is_empty() {
        eprintln!("SKIP: no loop device: {}", String::from_utf8_lossy(&out.stderr));
        return;
    }
    struct Detach(String);
    impl Drop for Detach {
        fn drop(&mut self) {
            let _ = std::process::Command::new("losetup").arg("-d").arg(&self.0).status();
        }
    }
    let _loop = Detach(dev.clone());
    let m = Mounted::start(Path::new(&dev), &s.mnt, &[]).unwrap();
    fs::write(s.mnt.join("on-blockdev"), b"block").unwrap();
    let total = sh(&format!("stat -f -c %b {}", s.mnt.display()));
    assert!(total.trim().parse::<u64>().unwrap() > 0);
    assert!(m.unmount().success());
    let m = Mounted::start(Path::new(&dev), &s.mnt, &["ro"]).unwrap();
    assert_eq!(fs::read(s.mnt.join("on-blockdev")).unwrap(), b"block");
    assert!(m.unmount().success());
}
