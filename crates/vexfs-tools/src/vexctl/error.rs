//! Errors and exit codes of `vexctl`.
//!
//! Every failure is a [`CtlError`]: a message that names the file and, for
//! system calls, the errno's meaning and symbol, plus the exit class that
//! scripts can test (crates/vexfs-tools/README.md documents the codes).

use std::fmt;
use std::io;

/// Exit status classes, as documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success.
    Ok = 0,
    /// 1: usage error or bad input (arguments, input files, a request the
    /// filesystem rejected as invalid: EINVAL, ENOTDIR, ENAMETOOLONG...).
    Usage = 1,
    /// 2: not found (no such file, no embedding, no index).
    NotFound = 2,
    /// 3: permission denied (EACCES, EPERM).
    Permission = 3,
    /// 4: filesystem or ioctl error (not a VexFS mount, EIO, EUCLEAN,
    /// ENOSPC, ENOMEM, EEXIST...).
    Failure = 4,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The class of an errno.
    pub fn of_errno(errno: i32) -> Exit {
        match errno {
            libc::EINVAL
            | libc::ENOTDIR
            | libc::EISDIR
            | libc::ENAMETOOLONG
            | libc::E2BIG
            | libc::ERANGE
            | libc::ELOOP => Exit::Usage,
            libc::ENOENT | libc::ENODATA => Exit::NotFound,
            libc::EACCES | libc::EPERM => Exit::Permission,
            _ => Exit::Failure,
        }
    }
}

/// A failure with its message (without the program name) and exit class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtlError {
    pub exit: Exit,
    pub msg: String,
}

impl fmt::Display for CtlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for CtlError {}

pub type Result<T> = std::result::Result<T, CtlError>;

impl CtlError {
    pub fn new(exit: Exit, msg: impl Into<String>) -> Self {
        Self {
            exit,
            msg: msg.into(),
        }
    }

    /// Bad arguments or input (exit 1).
    pub fn usage(msg: impl Into<String>) -> Self {
        Self::new(Exit::Usage, msg)
    }

    /// Something asked for is missing (exit 2).
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(Exit::NotFound, msg)
    }

    /// Any other failure (exit 4).
    pub fn failure(msg: impl Into<String>) -> Self {
        Self::new(Exit::Failure, msg)
    }

    /// `what: <errno meaning> (ENAME)`, classed by the errno.
    pub fn os(what: impl fmt::Display, err: &io::Error) -> Self {
        match err.raw_os_error() {
            Some(e) => Self::new(Exit::of_errno(e), format!("{what}: {}", describe_errno(e))),
            None => Self::failure(format!("{what}: {}", describe_io(err))),
        }
    }

    /// `what: detail (ENAME)`, classed by the errno: for errors whose
    /// meaning `vexctl` can state better than strerror.
    pub fn errno(what: impl fmt::Display, errno: i32, detail: &str) -> Self {
        Self::new(
            Exit::of_errno(errno),
            format!("{what}: {detail} ({})", errno_name(errno)),
        )
    }
}

/// The errno of an I/O error (0 if it carries none).
pub fn errno_of(err: &io::Error) -> i32 {
    err.raw_os_error().unwrap_or(0)
}

/// An I/O error as `vexctl` prints it: "Permission denied (EACCES)".
pub fn describe_io(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(e) => describe_errno(e),
        None => err.to_string(),
    }
}

/// "No such file or directory (ENOENT)".
pub fn describe_errno(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    // std formats "<strerror> (os error N)"; keep the strerror part.
    let meaning = match text.rfind(" (os error") {
        Some(i) => text.get(..i).unwrap_or(&text).to_string(),
        None => text,
    };
    format!("{meaning} ({})", errno_name(errno))
}

/// The symbolic name of the errnos the VexFS interface returns, and of
/// the usual file errors; `errno N` for others.
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOTTY => "ENOTTY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::ERANGE => "ERANGE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ELOOP => "ELOOP",
        libc::ENODATA => "ENODATA",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EUCLEAN => "EUCLEAN",
        libc::EDQUOT => "EDQUOT",
        libc::ENOTCONN => "ENOTCONN",
        _ => return format!("errno {errno}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_classes() {
        assert_eq!(Exit::of_errno(libc::EINVAL), Exit::Usage);
        assert_eq!(Exit::of_errno(libc::ENOENT), Exit::NotFound);
        assert_eq!(Exit::of_errno(libc::ENODATA), Exit::NotFound);
        assert_eq!(Exit::of_errno(libc::EACCES), Exit::Permission);
        assert_eq!(Exit::of_errno(libc::EPERM), Exit::Permission);
        assert_eq!(Exit::of_errno(libc::EIO), Exit::Failure);
        assert_eq!(Exit::of_errno(libc::ENOTTY), Exit::Failure);
    }

    #[test]
    fn messages_name_the_errno() {
        let e = CtlError::os("words/king", &io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(e.msg, "words/king: No such file or directory (ENOENT)");
        assert_eq!(e.exit, Exit::NotFound);
        assert_eq!(
            describe_errno(libc::EUCLEAN),
            "Structure needs cleaning (EUCLEAN)"
        );
        let e = CtlError::errno("d", libc::EINVAL, "bad thing");
        assert_eq!(e.msg, "d: bad thing (EINVAL)");
        assert_eq!(errno_name(9999), "errno 9999");
    }
}
