//! Extended attributes through the mount: the attr tools, embedding-sized
//! values, and the size-probe/ERANGE protocol of the raw syscalls.

mod common;
use common::*;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

fn getxattr(p: &Path, name: &str, buf: &mut [u8]) -> Result<usize, i32> {
    let (p, n) = (cpath(p), CString::new(name).unwrap());
    // SAFETY: valid C strings and a buffer of the given length (or null, 0).
    let r = unsafe {
        libc::getxattr(p.as_ptr(), n.as_ptr(), if buf.is_empty() { std::ptr::null_mut() } else { buf.as_mut_ptr().cast() }, buf.len())
    };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r as usize)
    }
}

fn setxattr(p: &Path, name: &str, v: &[u8], flags: i32) -> Result<(), i32> {
    let (p, n) = (cpath(p), CString::new(name).unwrap());
    // SAFETY: valid C strings and value buffer.
    let r = unsafe { libc::setxattr(p.as_ptr(), n.as_ptr(), v.as_ptr().cast(), v.len(), flags) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(())
    }
}

fn listxattr(p: &Path, buf: &mut [u8]) -> Result<usize, i32> {
    let p = cpath(p);
    // SAFETY: valid C string and a buffer of the given length (or null, 0).
    let r = unsafe { libc::listxattr(p.as_ptr(), if buf.is_empty() { std::ptr::null_mut() } else { buf.as_mut_ptr().cast() }, buf.len()) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r as usize)
    }
}

/// A deterministic byte pattern (a stand-in for an f32 embedding).
fn pattern(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn attr_tools_round_trip() {
    if !fuse_available() {
        return;
    }
    if which("setfattr").is_none() || which("getfattr").is_none() {
        eprintln!("SKIP: setfattr/getfattr not installed (apt-get install attr)");
        return;
    }
    let s = Scratch::new(64 << 20);
    let m = s.mount(&[]);
    let f = s.mnt.join("doc.txt");
    std::fs::write(&f, b"text").unwrap();
    let fp = f.display();
    sh(&format!("setfattr -n user.lang -v en {fp}"));
    sh(&format!("setfattr -n user.note -v 'hello world' {fp}"));
    sh(&format!("setfattr -n trusted.t -v 1 {fp}"));
    let dump = sh(&format!("getfattr -d -m - {fp}"));
    assert!(dump.contains("user.lang=\"en\""), "{dump}");
    assert!(dump.contains("user.note=\"hello world\""), "{dump}");
    assert!(dump.contains("trusted.t=\"1\""), "{dump}");
    sh(&format!("setfattr -x user.note {fp}"));
    let dump = sh(&format!("getfattr -d {fp}"));
    assert!(!dump.contains("user.note"), "{dump}");

    // 16 KiB (a 4096-d f32 embedding) and 64 KiB values, given base64.
    let tmp = s.dir.path();
    for (name, n) in [("user.embedding", 16 << 10), ("user.big", 64 << 10)] {
        let v = pattern(n, n as u32);
        let dumpfile = tmp.join("dump");
        std::fs::write(&dumpfile, format!("# file: {fp}\n{name}=0s{}\n", base64(&v))).unwrap();
        sh(&format!("setfattr --restore={}", dumpfile.display()));
        let out = tmp.join("out");
        sh(&format!("getfattr --only-values -n {name} {fp} > {}", out.display()));
        assert_eq!(std::fs::read(&out).unwrap(), v, "{name}");
    }
    assert!(m.unmount().success());

    let m = s.mount(&[]);
    let mut buf = vec![0u8; 64 << 10];
    assert_eq!(getxattr(&f, "user.embedding", &mut buf), Ok(16 << 10));
    assert_eq!(&buf[..16 << 10], pattern(16 << 10, 16 << 10));
    assert_eq!(getxattr(&f, "user.big", &mut buf), Ok(64 << 10));
    assert_eq!(buf, pattern(64 << 10, 64 << 10));
    assert_eq!(std::fs::read(&f).unwrap(), b"text");
    assert!(m.unmount().success());
}

#[test]
fn syscall_semantics() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(64 << 20);
    let m = s.mount(&[]);
    let f = s.mnt.join("f");
    std::fs::write(&f, b"").unwrap();
    let v = pattern(1000, 7);
    setxattr(&f, "user.v", &v, 0).unwrap();
    // Size probe, then too small, then exact.
    assert_eq!(getxattr(&f, "user.v", &mut []), Ok(1000));
    assert_eq!(getxattr(&f, "user.v", &mut [0u8; 10]), Err(libc::ERANGE));
    let mut buf = vec![0u8; 1000];
    assert_eq!(getxattr(&f, "user.v", &mut buf), Ok(1000));
    assert_eq!(buf, v);
    assert_eq!(getxattr(&f, "user.none", &mut buf), Err(libc::ENODATA));
    // XATTR_CREATE / XATTR_REPLACE.
    assert_eq!(setxattr(&f, "user.v", b"x", libc::XATTR_CREATE), Err(libc::EEXIST));
    assert_eq!(setxattr(&f, "user.w", b"x", libc::XATTR_REPLACE), Err(libc::ENODATA));
    setxattr(&f, "user.v", b"short", libc::XATTR_REPLACE).unwrap();
    setxattr(&f, "user.w", b"", libc::XATTR_CREATE).unwrap();
    assert_eq!(getxattr(&f, "user.w", &mut buf), Ok(0));
    // List: probe, ERANGE, contents.
    let want = b"user.v\0user.w\0";
    assert_eq!(listxattr(&f, &mut []), Ok(want.len()));
    assert_eq!(listxattr(&f, &mut [0u8; 3]), Err(libc::ERANGE));
    let mut lb = vec![0u8; 100];
    let n = listxattr(&f, &mut lb).unwrap();
    assert_eq!(&lb[..n], want);
    // Over the per-value limit.
    assert_eq!(setxattr(&f, "user.huge", &vec![1u8; (64 << 10) + 1], 0), Err(libc::E2BIG));
    // Directories carry attributes too.
    setxattr(&s.mnt, "user.dir", b"d", 0).unwrap();
    assert_eq!(getxattr(&s.mnt, "user.dir", &mut buf), Ok(1));
    assert!(m.unmount().success());
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The trusted.* namespace belongs to root: another user can neither set,
/// read nor list it (the kernel checks the first two, the daemon filters
/// the list), while user.* stays open to the file's permissions.
#[test]
fn trusted_names_are_root_only() {
    if !fuse_available() {
        return;
    }
    if which("setfattr").is_none() || which("setpriv").is_none() || sh("id -u").trim() != "0" {
        eprintln!("SKIP: needs root, setfattr and setpriv");
        return;
    }
    let s = Scratch::new(64 << 20);
    let m = s.mount(&["allow_other"]);
    let f = s.mnt.join("shared");
    std::fs::write(&f, b"x").unwrap();
    sh(&format!("chmod 666 {0} && setfattr -n trusted.secret -v 1 {0} && setfattr -n user.open -v 2 {0}", f.display()));
    let as_nobody = |cmd: &str| {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", cmd])
            .output()
            .unwrap()
    };
    let fp = f.display();
    assert!(!as_nobody(&format!("setfattr -n trusted.x -v 1 {fp}")).status.success(), "nobody set a trusted name");
    assert!(!as_nobody(&format!("getfattr -n trusted.secret {fp}")).status.success(), "nobody read a trusted name");
    let listed = as_nobody(&format!("getfattr -d -m - {fp}"));
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("user.open"), "{listed}");
    assert!(!listed.contains("trusted."), "trusted names listed to nobody: {listed}");
    assert!(as_nobody(&format!("setfattr -n user.mine -v 3 {fp}")).status.success());
    assert!(sh(&format!("getfattr -d -m - {fp}")).contains("trusted.secret"), "root still sees it");
    assert!(m.unmount().success());
}

/// Thousands of names on one file (an attribute tree past the first
/// block), values from empty to 64 KiB, replaced and removed through the
/// mount; everything reads back after a remount and fsck is clean.
#[test]
fn thousands_of_names_on_one_file() {
    if !fuse_available() {
        return;
    }
    let s = Scratch::new(128 << 20);
    let m = s.mount(&[]);
    let f = s.mnt.join("many");
    std::fs::write(&f, b"").unwrap();
    let names = 3000u32;
    let len = |i: u32| match i % 100 {
        0 => 64 << 10,
        1..=4 => 5000,
        _ => (i % 48) as usize,
    };
    for i in 0..names {
        setxattr(&f, &format!("user.n{i:05}"), &pattern(len(i), i), 0).unwrap();
    }
    // Replace every 3rd with a new size, remove every 7th.
    for i in (0..names).step_by(3) {
        setxattr(&f, &format!("user.n{i:05}"), &pattern(len(i + 1), i + 7), libc::XATTR_REPLACE).unwrap();
    }
    for i in (0..names).step_by(7) {
        let n = CString::new(format!("user.n{i:05}")).unwrap();
        // SAFETY: valid C strings.
        assert_eq!(unsafe { libc::removexattr(cpath(&f).as_ptr(), n.as_ptr()) }, 0);
    }
    assert!(m.unmount().success());
    let m = s.mount(&[]);
    let mut buf = vec![0u8; 64 << 10];
    let mut want_list = Vec::new();
    for i in 0..names {
        let name = format!("user.n{i:05}");
        let got = getxattr(&f, &name, &mut buf);
        if i % 7 == 0 {
            assert_eq!(got, Err(libc::ENODATA), "{name}");
            continue;
        }
        let v = if i % 3 == 0 { pattern(len(i + 1), i + 7) } else { pattern(len(i), i) };
        assert_eq!(got, Ok(v.len()), "{name}");
        assert_eq!(&buf[..v.len()], &v[..], "{name}");
        want_list.extend_from_slice(name.as_bytes());
        want_list.push(0);
    }
    let mut lb = vec![0u8; want_list.len() + 100];
    let n = listxattr(&f, &mut lb).unwrap();
    assert_eq!(&lb[..n], &want_list[..]);
    assert!(m.unmount().success());
    assert_fsck_clean(&s.image);
}
