//! POSIX ACLs through the mount: setfacl/getfacl round trips, chmod and
//! the mask, inheritance of default ACLs, copies with cp -a, and the
//! kernel enforcing them for a user who is not root.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

fn have_tools() -> bool {
    if !fuse_available() {
        return false;
    }
    for t in ["setfacl", "getfacl", "setpriv"] {
        if which(t).is_none() {
            eprintln!("SKIP: {t} not installed (apt-get install acl util-linux)");
            return false;
        }
    }
    true
}

/// `getfacl` without comments or effective-rights annotations.
fn acl_of(p: &Path) -> String {
    sh(&format!("getfacl -cnE {}", p.display()))
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().mode() & 0o7777
}

/// Whether uid/gid 65534 (nobody) can run `cmd` (a shell command).
fn as_nobody(cmd: &str) -> bool {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", cmd])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn acls_round_trip_follow_chmod_and_survive_a_remount() {
    if !have_tools() {
        return;
    }
    let s = Scratch::new(32 << 20);
    let m = s.mount(&[]);
    let f = m.mnt.join("f");
    fs::write(&f, b"x").unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
    sh(&format!("setfacl -m u:1000:rw,g:2000:r {}", f.display()));
    let a = acl_of(&f);
    for want in [
        "user::rw-",
        "user:1000:rw-",
        "group::r--",
        "group:2000:r--",
        "mask::rw-",
        "other::---",
    ] {
        assert!(a.lines().any(|l| l == want), "{want} missing from\n{a}");
    }
    // The mode's group bits show the mask.
    assert_eq!(mode(&f), 0o660);
    // chmod moves the mask, keeps the named entries.
    fs::set_permissions(&f, fs::Permissions::from_mode(0o604)).unwrap();
    let a = acl_of(&f);
    assert!(
        a.lines().any(|l| l == "mask::---") && a.lines().any(|l| l == "user:1000:rw-"),
        "{a}"
    );
    assert!(a.lines().any(|l| l == "other::r--"), "{a}");
    // A minimal ACL is just the mode: nothing extra stored.
    let g = m.mnt.join("g");
    fs::write(&g, b"y").unwrap();
    sh(&format!("setfacl -m u::rwx,g::r-x,o::r {}", g.display()));
    assert_eq!(mode(&g), 0o754);
    assert!(!sh(&format!("getfattr -d -m - {}", g.display())).contains("posix_acl_access"));
    // Removing every extended entry drops the attribute.
    let h = m.mnt.join("h");
    fs::write(&h, b"z").unwrap();
    sh(&format!("setfacl -m u:7:r {} && setfacl -b {}", h.display(), h.display()));
    assert!(!sh(&format!("getfattr -d -m - {}", h.display())).contains("posix_acl_access"));
    // Default ACLs only on directories.
    assert!(
        Command::new("setfacl")
            .args(["-d", "-m", "u:1:r"])
            .arg(&f)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
            .code()
            != Some(0)
    );
    assert!(m.unmount().success());
    let m = s.mount(&[]);
    let a = acl_of(&m.mnt.join("f"));
    assert!(
        a.lines().any(|l| l == "user:1000:rw-") && a.lines().any(|l| l == "mask::---"),
        "after remount:\n{a}"
    );
    assert!(m.unmount().success());
}

#[test]
fn default_acls_are_inherited_and_replace_the_umask() {
    if !have_tools() {
        return;
    }
    let s = Scratch::new(32 << 20);
    let m = s.mount(&[]);
    let d = m.mnt.join("shared");
    fs::create_dir(&d).unwrap();
    sh(&format!("setfacl -d -m u::rwx,g::rwx,o::-,u:1000:rwx {}", d.display()));
    // umask 077 would give 0600; the default ACL wins (the mask comes from
    // the requested 0666).
    sh(&format!("umask 077; touch {}/file; mkdir {}/sub", d.display(), d.display()));
    let file = d.join("file");
    let a = acl_of(&file);
    assert!(
        a.lines().any(|l| l == "user:1000:rwx"),
        "named entries are inherited unmasked:\n{a}"
    );
    assert!(a.lines().any(|l| l == "mask::rw-"), "{a}");
    assert_eq!(mode(&file), 0o660);
    let sub = d.join("sub");
    assert_eq!(mode(&sub), 0o770);
    let a = sh(&format!("getfacl -cnE {}", sub.display()));
    assert!(
        a.lines().any(|l| l == "default:user:1000:rwx"),
        "a new directory inherits the default ACL:\n{a}"
    );
    assert!(a.lines().any(|l| l == "user:1000:rwx"), "{a}");
    // Without a default ACL the umask applies as usual.
    sh(&format!(
        "umask 027; touch {}/plain; mkdir {}/plaindir",
        m.mnt.display(),
        m.mnt.display()
    ));
    assert_eq!(mode(&m.mnt.join("plain")), 0o640);
    assert_eq!(mode(&m.mnt.join("plaindir")), 0o750);
    // cp -a keeps ACLs, in both directions (the scratch dir is not the
    // mount; tmpfs and ext4 both keep ACLs).
    let out = s.dir.path().join("copy");
    sh(&format!("cp -a {} {}", d.display(), out.display()));
    let back = m.mnt.join("back");
    sh(&format!("cp -a {} {}", out.display(), back.display()));
    assert_eq!(acl_of(&back.join("file")), acl_of(&file));
    assert_eq!(acl_of(&back.join("sub")), acl_of(&sub));
    assert_eq!(acl_of(&back), acl_of(&d));
    assert!(m.unmount().success());
}

#[test]
fn the_kernel_enforces_acls_for_other_users() {
    if !have_tools() {
        return;
    }
    let s = Scratch::new(32 << 20);
    fs::set_permissions(s.dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let m = s.mount(&["allow_other"]);
    fs::set_permissions(&m.mnt, fs::Permissions::from_mode(0o755)).unwrap();
    let f = m.mnt.join("secret");
    fs::write(&f, b"s3cret").unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
    let read = format!("cat {} > /dev/null", f.display());
    assert!(!as_nobody(&read), "mode 0600 keeps nobody out");
    sh(&format!("setfacl -m u:65534:r {}", f.display()));
    assert!(as_nobody(&read), "a named-user entry lets nobody read");
    assert!(!as_nobody(&format!("echo x >> {}", f.display())), "but not write");
    sh(&format!("setfacl -m m::- {}", f.display()));
    assert!(!as_nobody(&read), "the mask limits named entries");
    sh(&format!("chmod 640 {}", f.display()));
    assert!(as_nobody(&read), "chmod's group bits set the mask");
    // A directory's ACL governs creating in it.
    let d = m.mnt.join("drop");
    fs::create_dir(&d).unwrap();
    fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
    let mk = format!("touch {}/mine", d.display());
    assert!(!as_nobody(&mk));
    sh(&format!("setfacl -m u:65534:rwx {}", d.display()));
    assert!(as_nobody(&mk));
    assert_eq!(fs::metadata(d.join("mine")).unwrap().uid(), 65534);
    drop(m);
}
