//! The VexFS FUSE daemon: mounts an image file or block device through the
//! shared `vexfs-core` filesystem code.
//!
//! `cli_main` is the whole program; the `vexfs-fuse` and `vexfs` binaries
//! (the latter is the name `mount.fuse3` runs for `-t fuse.vexfs`) call it.

mod absorber;
mod committer;
mod daemon;
mod logger;
mod lookups;
pub mod ops;
pub mod options;
mod seek;
mod shared;
pub mod vectors;

use options::{Command, Options};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use vexfs_core::{FileDevice, Fs, MountOptions};

/// Run the command line in `std::env::args`; returns the exit code.
pub fn cli_main() -> i32 {
    let mut args = Vec::new();
    for a in std::env::args_os().skip(1) {
        match a.into_string() {
            Ok(s) => args.push(s),
            Err(a) => {
                eprintln!("vexfs-fuse: argument is not valid UTF-8: {a:?}");
                return 1;
            }
        }
    }
    match options::parse(args) {
        Ok(Command::Help) => {
            print!("{}", options::USAGE);
            0
        }
        Ok(Command::Version) => {
            println!("vexfs-fuse {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Ok(Command::Mount(o)) => run(&o),
        Err(e) => {
            eprintln!("vexfs-fuse: {e}\n\n{}", options::USAGE);
            1
        }
    }
}

fn run(o: &Options) -> i32 {
    logger::init(o.debug);
    if o.remount {
        return match daemon::remount(o) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("vexfs-fuse: remount {}: {e}", o.mountpoint.display());
                1
            }
        };
    }
    // Detach first (while single-threaded) but report back: the parent
    // waits until the child has mounted or failed, so `mount` and scripts
    // see errors as a non-zero exit.
    let notify = if o.foreground {
        None
    } else {
        match daemon::fork_and_wait() {
            Ok(daemon::Role::Parent(code)) => return code,
            Ok(daemon::Role::Child(n)) => Some(n),
            Err(e) => {
                eprintln!("vexfs-fuse: cannot start the daemon: {e}");
                return 1;
            }
        }
    };
    match mount_and_serve(o, notify) {
        Ok(()) => 0,
        Err(msg) => {
            logger::report(&msg);
            1
        }
    }
}

/// Open and check the image, mount it, then serve requests until unmounted.
fn mount_and_serve(o: &Options, notify: Option<daemon::Notifier>) -> Result<(), String> {
    let src = &o.source;
    let mountpoint = o.mountpoint.canonicalize().map_err(|e| format!("mountpoint {}: {e}", o.mountpoint.display()))?;
    if !mountpoint.is_dir() {
        return Err(format!("mountpoint {}: not a directory", mountpoint.display()));
    }
    let dev = FileDevice::open(src, o.read_only).map_err(|e| format!("{}: cannot open: {e}", src.display()))?;
    lock_exclusive(&dev, src)?;
    let defaults = MountOptions::default();
    let mopts = MountOptions {
        read_only: o.read_only,
        cache_blocks: o.cache_blocks.unwrap_or(defaults.cache_blocks),
        errors: o.errors,
        ..defaults
    };
    let fs = Fs::mount(dev, mopts, ops::now()).map_err(|e| format!("{}: cannot mount: {e}", src.display()))?;
    let read_only = fs.is_read_only();
    if read_only && !o.read_only {
        let why = if fs.superblock().state & vexfs_core::format::superblock::STATE_ERRORS != 0 {
            "the filesystem has errors recorded (run fsck.vexfs; errors=continue mounts it read-write)"
        } else {
            "image has features this version cannot write"
        };
        eprintln!("vexfs-fuse: {}: {why}; mounting read-only", src.display());
    }
    if let Some((seq, blocks)) = fs.journal_stats().replayed {
        eprintln!("vexfs-fuse: {}: replayed journal transaction {seq} ({blocks} blocks)", src.display());
    }

    let unmount_error = Arc::new(Mutex::new(None));
    let cache = ops::CacheMode {
        timeouts: ops::Timeouts { attr: o.attr_timeout, entry: o.entry_timeout },
        writeback: o.writeback_cache && !read_only,
        commit_interval: o.commit_interval,
    };
    // Stop signals are taken by one thread only: block them before any
    // other thread (the commit timer) starts, since threads inherit it.
    daemon::block_stop_signals().map_err(|e| format!("cannot set up signal handling: {e}"))?;
    let vfs = ops::VexFuse::new(fs, cache, unmount_error.clone());
    let notifier_slot = vfs.notifier_slot();
    let config = session_config(o, src, read_only)?;
    let session = fuser::Session::new(vfs, &mountpoint, &config).map_err(|e| format!("cannot mount on {}: {e}", mountpoint.display()))?;
    // Set once, here: the slot is new and nothing else fills it.
    let _ = notifier_slot.set(session.notifier());

    // Signals end the session by unmounting, so `destroy` flushes the core.
    daemon::spawn_signal_unmounter(mountpoint.clone()).map_err(|e| format!("cannot start the signal thread: {e}"))?;
    if let Some(n) = notify {
        n.mounted();
    }
    session.run().map_err(|e| format!("session ended with an error: {e}"))?;
    let failed = match unmount_error.lock() {
        Ok(slot) => slot.clone(),
        Err(_) => Some("internal error while unmounting".to_string()),
    };
    match failed {
        Some(msg) => Err(msg),
        None => Ok(()),
    }
}

/// Refuse to serve an image another daemon already has open. A daemon that
/// was just unmounted may still be flushing, so wait a little for it.
fn lock_exclusive(dev: &FileDevice, src: &Path) -> Result<(), String> {
    for _ in 0..60 {
        // SAFETY: flock only reads the descriptor number, which `dev` keeps
        // open for the duration of the call.
        let r = unsafe { libc::flock(dev.file().as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(format!("{}: cannot lock: {e}", src.display()));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Err(format!("{}: already in use by another VexFS daemon", src.display()))
}

fn session_config(o: &Options, src: &Path, read_only: bool) -> Result<fuser::Config, String> {
    use fuser::MountOption as M;
    let fsname = match &o.fsname {
        Some(n) => n.clone(),
        None => src.canonicalize().unwrap_or_else(|_| PathBuf::from(src)).display().to_string(),
    };
    let mut mo = vec![M::FSName(fsname), M::CUSTOM("subtype=vexfs".to_string()), M::DefaultPermissions];
    mo.push(if read_only { M::RO } else { M::RW });
    for f in &o.kernel_flags {
        mo.push(match f.as_str() {
            "dev" => M::Dev,
            "nodev" => M::NoDev,
            "suid" => M::Suid,
            "nosuid" => M::NoSuid,
            "exec" => M::Exec,
            "noexec" => M::NoExec,
            "atime" => M::Atime,
            "noatime" => M::NoAtime,
            "sync" => M::Sync,
            "async" => M::Async,
            "dirsync" => M::DirSync,
            other => return Err(format!("unsupported kernel flag {other:?}")),
        });
    }
    let mut config = fuser::Config::default();
    config.acl = if o.allow_other {
        fuser::SessionACL::All
    } else if o.allow_root {
        fuser::SessionACL::RootAndOwner
    } else {
        fuser::SessionACL::Owner
    };
    if o.auto_unmount {
        if config.acl == fuser::SessionACL::Owner {
            return Err("auto_unmount needs allow_other or allow_root".to_string());
        }
        mo.push(M::AutoUnmount);
    }
    config.mount_options = mo;
    config.n_threads = Some(o.threads);
    config.clone_fd = o.threads > 1;
    Ok(config)
}
