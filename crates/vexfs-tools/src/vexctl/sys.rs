//! The system calls `vexctl` makes on the mount: `ioctl(2)` with the uapi
//! structs on a directory descriptor, and the `*xattr(2)` calls for the
//! embedding attribute. The only `unsafe` code of the client lives here.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use vexfs_uapi::Request;

/// Open a directory for ioctls (read-only, `O_DIRECTORY`).
pub fn open_dir(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
}

/// `ioctl(fd, cmd, &mut v)` for a command that carries struct `T`.
///
/// The command's encoded size must be `size_of::<T>()`; `T` is one of the
/// uapi request structs, which are plain data (`Pod`), so any bytes the
/// kernel writes back are a valid `T`.
pub fn ioctl_struct<T: Request>(dir: &File, cmd: u32, v: &mut T) -> io::Result<()> {
    let (input, output) = vexfs_uapi::ioc_sizes(cmd);
    let size = input.max(output);
    if size != std::mem::size_of::<T>() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let ptr: *mut T = v;
    // SAFETY: `ptr` points to a live, exclusively borrowed `T` of exactly
    // the size encoded in `cmd`, so the kernel reads and writes only inside
    // it; `T: Pod` makes every byte pattern it may write back valid; the
    // descriptor is open for the duration of the call.
    let rc = unsafe { libc::ioctl(dir.as_raw_fd(), cmd as _, ptr.cast::<libc::c_void>()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `ioctl(fd, cmd)` for a command without an argument (`_IO`).
pub fn ioctl_none(dir: &File, cmd: u32) -> io::Result<()> {
    if vexfs_uapi::ioc_sizes(cmd) != (0, 0) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: the command carries no argument (checked above), so the
    // kernel touches no user memory; the descriptor is open.
    let rc = unsafe { libc::ioctl(dir.as_raw_fd(), cmd as _, 0usize) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn c_name(name: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// `setxattr(path, name, value, len, 0)` (follows symlinks, as setfattr).
pub fn set_xattr(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    let (p, n) = (c_path(path)?, c_name(name)?);
    // SAFETY: both strings are NUL-terminated and live across the call;
    // `value` is a valid slice of `value.len()` bytes that the kernel only
    // reads.
    let rc = unsafe {
        libc::setxattr(
            p.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `getxattr(path, name)`: the whole value, however long.
pub fn get_xattr(path: &Path, name: &str) -> io::Result<Vec<u8>> {
    let (p, n) = (c_path(path)?, c_name(name)?);
    // The value may change between asking its size and reading it: retry
    // on ERANGE a few times with the new size.
    for _ in 0..8 {
        // SAFETY: a NULL buffer of size 0 asks for the value's size only;
        // the strings are NUL-terminated and live.
        let len = unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), std::ptr::null_mut(), 0) };
        if len < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; len.unsigned_abs()];
        // SAFETY: `buf` is a writable buffer of `buf.len()` bytes; the
        // kernel writes at most that many.
        let got =
            unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if got >= 0 {
            buf.truncate(got.unsigned_abs());
            return Ok(buf);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ERANGE) {
            return Err(err);
        }
    }
    Err(io::Error::from_raw_os_error(libc::ERANGE))
}

/// `removexattr(path, name)`.
pub fn remove_xattr(path: &Path, name: &str) -> io::Result<()> {
    let (p, n) = (c_path(path)?, c_name(name)?);
    // SAFETY: both strings are NUL-terminated and live across the call.
    let rc = unsafe { libc::removexattr(p.as_ptr(), n.as_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Space and inode counts of a filesystem (`statvfs(3)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    pub block_size: u64,
    pub blocks: u64,
    pub blocks_free: u64,
    pub inodes: u64,
    pub inodes_free: u64,
}

pub fn statvfs(path: &Path) -> io::Result<Space> {
    let p = c_path(path)?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `p` is NUL-terminated and live; `st` is writable memory of
    // the struct's size, which statvfs fills on success.
    let rc = unsafe { libc::statvfs(p.as_ptr(), st.as_mut_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it initialised the struct (and it
    // was zeroed before: plain integers, valid either way).
    let st = unsafe { st.assume_init() };
    Ok(Space {
        block_size: st.f_frsize,
        blocks: st.f_blocks,
        blocks_free: st.f_bavail,
        inodes: st.f_files,
        inodes_free: st.f_ffree,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statvfs_of_root() {
        let s = statvfs(Path::new("/")).unwrap();
        assert!(s.block_size > 0 && s.blocks > 0);
    }

    #[test]
    fn ioctl_size_mismatch_is_refused_before_the_call() {
        let dir = open_dir(Path::new("/")).unwrap();
        let mut stats = vexfs_uapi::IndexStats::new_request();
        // IOC_SEARCH encodes sizeof(Search), not sizeof(IndexStats).
        let err = ioctl_struct(&dir, vexfs_uapi::IOC_SEARCH, &mut stats).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        let err = ioctl_none(&dir, vexfs_uapi::IOC_INDEX_STATS).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    }

    #[test]
    fn ioctls_off_vexfs_fail_cleanly() {
        // Not a VexFS directory: the kernel answers ENOTTY (or similar),
        // never success.
        let dir = open_dir(Path::new("/")).unwrap();
        let mut stats = vexfs_uapi::IndexStats::new_request();
        assert!(ioctl_struct(&dir, vexfs_uapi::IOC_INDEX_STATS, &mut stats).is_err());
    }

    #[test]
    fn xattr_round_trip_on_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        match set_xattr(&f, "user.vexctl.test", b"abc") {
            Ok(()) => {
                assert_eq!(get_xattr(&f, "user.vexctl.test").unwrap(), b"abc");
                remove_xattr(&f, "user.vexctl.test").unwrap();
                let e = get_xattr(&f, "user.vexctl.test").unwrap_err();
                assert_eq!(e.raw_os_error(), Some(libc::ENODATA));
            }
            // tmpfs without user xattrs, or an overlay that refuses them.
            Err(e) => eprintln!("SKIP: user xattrs unsupported here: {e}"),
        }
    }
}
