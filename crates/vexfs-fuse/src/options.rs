//! Command line and `-o` option parsing.
//!
//! The command line follows the FUSE helper convention so that
//! `mount.fuse3` (and so `mount -t fuse.vexfs` and `/etc/fstab`) can run the
//! daemon as `vexfs SOURCE MOUNTPOINT -o OPTIONS`.

use std::path::PathBuf;
use std::time::Duration;

/// Everything the daemon was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub source: PathBuf,
    pub mountpoint: PathBuf,
    pub foreground: bool,
    pub debug: bool,
    pub read_only: bool,
    pub allow_other: bool,
    pub allow_root: bool,
    pub auto_unmount: bool,
    /// Kernel mount flags passed through (nodev, nosuid, noexec, ...).
    pub kernel_flags: Vec<String>,
    pub fsname: Option<String>,
    pub threads: usize,
    pub attr_timeout: Duration,
    pub entry_timeout: Duration,
    pub cache_blocks: Option<usize>,
    /// `mount -o remount,...` through mount.fuse3: change the flags of an
    /// existing mount instead of starting a daemon.
    pub remount: bool,
    /// Let the kernel cache writes (FUSE writeback cache).
    pub writeback_cache: bool,
    /// How often the journal commits on its own.
    pub commit_interval: Duration,
    /// What to do with an image whose superblock records errors.
    pub errors: vexfs_core::ErrorPolicy,
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Mount(Box<Options>),
    Help,
    Version,
}

pub const USAGE: &str = "\
usage: vexfs-fuse <image-or-device> <mountpoint> [-f] [-d] [-o opt[,opt...]]

Mounts a VexFS image or block device with FUSE.

  -f            stay in the foreground (default: detach once mounted)
  -d            debug: foreground, log every request to stderr
  -s            single-threaded (accepted for compatibility)
  -o OPTS       comma-separated mount options:
       ro / rw                 read-only or read-write mount
       allow_other             let other users access the mount
       allow_root              let root access the mount
       default_permissions     kernel permission checks (always on)
       auto_unmount            unmount when the daemon dies
       fsname=NAME             source name shown in /proc/mounts
       nodev,nosuid,noexec,noatime,sync,dirsync,...   kernel flags
       threads=N               request loop threads (default 2)
       attr_timeout=SECS       kernel attribute cache time (default 86400)
       entry_timeout=SECS      kernel name cache time (default 86400)
       cache_blocks=N          metadata blocks cached in memory
       commit=SECS             journal commit interval (default 5): at most
                               this much completed work is lost on a crash;
                               fsync/syncfs commit at once
       errors=remount-ro|continue|refuse
                               an image with errors recorded mounts read-only
                               (default), read-write, or not at all
       no_writeback_cache      write through to the daemon on every write
                               (default: the kernel caches writes and
                               flushes them at close, fsync and unmount)
  -h, --help    this text
  -V, --version version
";

fn parse_secs(v: &str, what: &str) -> Result<Duration, String> {
    let s: f64 = v.parse().map_err(|_| format!("{what}: not a number: {v:?}"))?;
    if !s.is_finite() || !(0.0..=1.0e6).contains(&s) {
        return Err(format!("{what}: out of range: {v:?}"));
    }
    Ok(Duration::from_secs_f64(s))
}

fn apply_opt(o: &mut Options, opt: &str) -> Result<(), String> {
    let (key, val) = match opt.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (opt, None),
    };
    match (key, val) {
        ("", None) => {}
        ("ro", None) => o.read_only = true,
        ("rw", None) => o.read_only = false,
        ("allow_other", None) => o.allow_other = true,
        ("allow_root", None) => o.allow_root = true,
        ("default_permissions", None) => {}
        ("remount", None) => o.remount = true,
        ("writeback_cache", None) => o.writeback_cache = true,
        ("no_writeback_cache", None) => o.writeback_cache = false,
        ("auto_unmount", None) => o.auto_unmount = true,
        ("fsname", Some(v)) => o.fsname = Some(v.to_string()),
        // We always set our own subtype.
        ("subtype", Some(_)) => {}
        ("dev" | "nodev" | "suid" | "nosuid" | "exec" | "noexec" | "atime" | "noatime" | "sync" | "async" | "dirsync", None) => {
            o.kernel_flags.push(key.to_string())
        }
        // Handled by mount(8) / mount.fuse3 or meaningless here.
        ("defaults" | "auto" | "noauto" | "user" | "users" | "nouser" | "owner" | "nofail" | "_netdev" | "relatime" | "norelatime"
        | "strictatime" | "lazytime" | "nolazytime" | "diratime" | "nodiratime" | "silent" | "loud" | "big_writes"
        | "large_read", None) => {}
        ("threads", Some(v)) => {
            let n: usize = v.parse().map_err(|_| format!("threads: not a number: {v:?}"))?;
            if !(1..=64).contains(&n) {
                return Err(format!("threads: must be 1..64, got {n}"));
            }
            o.threads = n;
        }
        ("attr_timeout", Some(v)) => o.attr_timeout = parse_secs(v, "attr_timeout")?,
        ("entry_timeout", Some(v)) => o.entry_timeout = parse_secs(v, "entry_timeout")?,
        ("commit", Some(v)) => {
            let d = parse_secs(v, "commit")?;
            if d.is_zero() {
                return Err("commit: must be more than 0 seconds".to_string());
            }
            o.commit_interval = d;
        }
        ("errors", Some(v)) => {
            o.errors = match v {
                "remount-ro" | "ro" => vexfs_core::ErrorPolicy::ReadOnly,
                "continue" => vexfs_core::ErrorPolicy::Continue,
                "refuse" | "panic" => vexfs_core::ErrorPolicy::Refuse,
                _ => {
                    return Err(format!(
                        "errors: expected remount-ro, continue or refuse, got {v:?}"
                    ))
                }
            }
        }
        ("cache_blocks", Some(v)) => {
            o.cache_blocks = Some(v.parse().map_err(|_| format!("cache_blocks: not a number: {v:?}"))?);
        }
        // Kernel options the helper repeats on remount; we set our own.
        ("user_id" | "group_id" | "rootmode" | "fd" | "blksize" | "max_read", Some(_)) => {}
        (k, _) if k.starts_with("x-") || k == "comment" || k == "context" => {}
        _ => return Err(format!("unknown mount option: {opt:?}")),
    }
    Ok(())
}

/// Parse `args` (without the program name).
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut o = Options {
        source: PathBuf::new(),
        mountpoint: PathBuf::new(),
        foreground: false,
        debug: false,
        read_only: false,
        allow_other: false,
        allow_root: false,
        auto_unmount: false,
        kernel_flags: Vec::new(),
        fsname: None,
        threads: 2,
        attr_timeout: Duration::from_secs(86400),
        entry_timeout: Duration::from_secs(86400),
        cache_blocks: None,
        remount: false,
        writeback_cache: true,
        commit_interval: Duration::from_secs(5),
        errors: vexfs_core::ErrorPolicy::ReadOnly,
    };
    let mut positional = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "-f" => o.foreground = true,
            "-d" | "--debug" => {
                o.debug = true;
                o.foreground = true;
            }
            "-s" => o.threads = 1,
            // mount(8) passes these to helpers; they mean nothing to us.
            "-n" | "-v" | "--" => {}
            "-o" => {
                let v = it.next().ok_or("-o needs an argument")?;
                for opt in v.split(',') {
                    apply_opt(&mut o, opt)?;
                }
            }
            s if s.starts_with("-o") => {
                for opt in s.get(2..).unwrap_or("").split(',') {
                    apply_opt(&mut o, opt)?;
                }
            }
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown flag: {s}")),
            _ => positional.push(a),
        }
    }
    let mut pos = positional.into_iter();
    match (pos.next(), pos.next(), pos.next()) {
        (Some(src), Some(mnt), None) => {
            o.source = PathBuf::from(src);
            o.mountpoint = PathBuf::from(mnt);
        }
        (_, _, Some(extra)) => return Err(format!("unexpected argument: {extra:?}")),
        _ => return Err("need <image-or-device> and <mountpoint>".to_string()),
    }
    if o.allow_other && o.allow_root {
        return Err("allow_other and allow_root are mutually exclusive".to_string());
    }
    Ok(Command::Mount(Box::new(o)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Command, String> {
        parse(s.split_whitespace().map(String::from))
    }

    fn opts(s: &str) -> Options {
        match p(s) {
            Ok(Command::Mount(o)) => *o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn helper_style_invocation() {
        // What mount.fuse3 runs for an fstab line.
        let o = opts("/dev/sdb /mnt/v -o rw,nosuid,nodev,noatime,allow_other,default_permissions,x-systemd.automount,_netdev");
        assert_eq!(o.source, PathBuf::from("/dev/sdb"));
        assert_eq!(o.mountpoint, PathBuf::from("/mnt/v"));
        assert!(o.allow_other && !o.read_only && !o.foreground && !o.remount && o.writeback_cache);
        assert_eq!(o.kernel_flags, ["nosuid", "nodev", "noatime"]);
    }

    #[test]
    fn remount_as_mount_fuse3_sends_it() {
        let o = opts("/img /mnt -o ro,relatime,remount,user_id=0,group_id=0,default_permissions,allow_other,dev,suid");
        assert!(o.remount && o.read_only);
    }

    #[test]
    fn flags_and_joined_o() {
        let o = opts("-f img mnt -oro,threads=1,attr_timeout=0.5,no_writeback_cache");
        assert!(!o.writeback_cache);
        assert!(o.foreground && o.read_only);
        assert_eq!(o.threads, 1);
        assert_eq!(o.attr_timeout, Duration::from_millis(500));
        assert!(opts("-d img mnt").foreground);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(p("img").is_err());
        assert!(p("a b c").is_err());
        assert!(p("a b -o bogus").is_err());
        assert!(p("a b -o threads=0").is_err());
        assert!(p("a b -o allow_other,allow_root").is_err());
        assert!(p("a b -x").is_err());
        assert_eq!(p("--help"), Ok(Command::Help));
    }
}
