//! Detaching from the terminal, and turning stop signals into an unmount.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Which side of the fork we are on.
pub enum Role {
    /// The caller's process: exit with this code.
    Parent(i32),
    /// The daemon: tell the parent once mounted.
    Child(Notifier),
}

/// The daemon's end of the start-up pipe.
pub struct Notifier {
    pipe: File,
}

fn last_err() -> io::Error {
    io::Error::last_os_error()
}

/// Fork. The parent waits until the child reports a successful mount (exit
/// 0) or exits (its exit code, or 1). Must be called while the process has
/// one thread.
pub fn fork_and_wait() -> io::Result<Role> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two new descriptors into the array, which lives
    // for the call.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(last_err());
    }
    // SAFETY: both descriptors were just created and nothing else owns them.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the process is single-threaded at this point (no thread has
    // been started yet), so the child can safely go on running Rust code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(last_err());
    }
    if pid == 0 {
        drop(r);
        return Ok(Role::Child(Notifier { pipe: File::from(w) }));
    }
    drop(w);
    let mut pipe = File::from(r);
    let mut b = [0u8; 1];
    let got = loop {
        match pipe.read(&mut b) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break 0,
        }
    };
    if got == 1 {
        return Ok(Role::Parent(0));
    }
    // The child failed before mounting; it printed why. Pass on its code.
    let mut status = 0i32;
    loop {
        // SAFETY: waitpid writes the status into a local we own.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if r < 0 && last_err().kind() != io::ErrorKind::Interrupted {
            return Ok(Role::Parent(1));
        }
    }
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 1 };
    Ok(Role::Parent(if code == 0 { 1 } else { code }))
}

impl Notifier {
    /// Detach from the session and terminal, then release the parent.
    pub fn mounted(mut self) {
        // SAFETY: setsid has no memory-safety preconditions; the child of a
        // fork is never a process-group leader, so it succeeds.
        unsafe { libc::setsid() };
        let _ = std::env::set_current_dir("/");
        if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
            use std::os::fd::AsRawFd;
            for fd in 0..3 {
                // SAFETY: dup2 onto the standard descriptors; `null` stays
                // open for the duration of the calls.
                unsafe { libc::dup2(null.as_raw_fd(), fd) };
            }
        }
        crate::logger::set_detached();
        let _ = self.pipe.write_all(&[0]);
    }
}

fn stop_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before use.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t owned by this frame.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGHUP);
    }
    set
}

/// Block SIGINT/SIGTERM/SIGHUP in this thread and every thread it starts,
/// so only the signal thread receives them.
pub fn block_stop_signals() -> io::Result<()> {
    let set = stop_set();
    // SAFETY: `set` is initialised; the old mask is not requested.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(())
}

/// Unmount `mountpoint`; the session loop then ends and `destroy` flushes.
fn unmount(mountpoint: &PathBuf) {
    let Ok(c) = CString::new(mountpoint.as_os_str().as_bytes()) else { return };
    // SAFETY: `c` is a valid NUL-terminated path for the calls.
    if unsafe { libc::umount2(c.as_ptr(), 0) } == 0 {
        return;
    }
    if last_err().raw_os_error() == Some(libc::EBUSY) {
        // Files still open: detach now, the session ends when they close.
        // SAFETY: as above.
        if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 {
            return;
        }
    }
    // Not root: the setuid helper can unmount our own mount.
    let _ = std::process::Command::new("fusermount3").arg("-u").arg("-z").arg(mountpoint).status();
}

/// Start a thread that waits for a stop signal and unmounts.
pub fn spawn_signal_unmounter(mountpoint: PathBuf) -> io::Result<()> {
    std::thread::Builder::new().name("signals".to_string()).spawn(move || {
        let set = stop_set();
        loop {
            let mut sig = 0i32;
            // SAFETY: `set` is initialised and `sig` is a local out-parameter.
            if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
                unmount(&mountpoint);
            }
        }
    })?;
    Ok(())
}

/// Change the flags of the existing mount at `o.mountpoint` (read-only or
/// read-write, nosuid, ...). The daemon serving it is not involved: the VFS
/// refuses writes on a read-only mount before they reach it.
pub fn remount(o: &crate::options::Options) -> io::Result<()> {
    let target = CString::new(o.mountpoint.as_os_str().as_bytes())?;
    let mut flags = libc::MS_REMOUNT;
    if o.read_only {
        flags |= libc::MS_RDONLY;
    }
    for f in &o.kernel_flags {
        flags |= match f.as_str() {
            "nosuid" => libc::MS_NOSUID,
            "nodev" => libc::MS_NODEV,
            "noexec" => libc::MS_NOEXEC,
            "noatime" => libc::MS_NOATIME,
            "sync" => libc::MS_SYNCHRONOUS,
            "dirsync" => libc::MS_DIRSYNC,
            _ => 0,
        };
    }
    // Going read-only fails with EBUSY while the kernel still has files
    // open for writing or unlinked inodes pending; FUSE releases are
    // asynchronous, so a file closed just before may still count. Retry
    // briefly.
    let mut tries = 0;
    loop {
        // SAFETY: `target` is a valid C string; source, type and data may
        // be null for a remount.
        let r = unsafe { libc::mount(std::ptr::null(), target.as_ptr(), std::ptr::null(), flags, std::ptr::null()) };
        if r == 0 {
            return Ok(());
        }
        let e = last_err();
        tries += 1;
        if e.raw_os_error() != Some(libc::EBUSY) || tries >= 40 {
            return Err(e);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
