//! Diagnostics: a minimal stderr logger for fuser's messages (`-d` shows
//! every request), and error reports that also reach syslog once the
//! daemon has detached (its stderr is then /dev/null).

use std::sync::atomic::{AtomicBool, Ordering};

struct Stderr;

static LOGGER: Stderr = Stderr;
static DETACHED: AtomicBool = AtomicBool::new(false);

impl log::Log for Stderr {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            let msg = format!("{}", r.args());
            let level = match r.level() {
                log::Level::Error if is_reply_to_gone_request(&msg) => log::Level::Debug,
                l => l,
            };
            if level == log::Level::Error {
                report(&msg);
            } else if level <= log::max_level() {
                eprintln!("vexfs-fuse [{level}] {msg}");
            }
        }
    }
    fn flush(&self) {}
}

/// fuser's report that the kernel refused a reply with ENOENT. The kernel
/// answers so when no request with the reply's id waits any more: the
/// caller was interrupted, or the connection was aborted at unmount while
/// requests were in flight. Nobody is left to get the answer, nothing is
/// lost, so this is a debug line (`-d`), not an error.
fn is_reply_to_gone_request(msg: &str) -> bool {
    msg.starts_with("Failed to send FUSE reply:") && msg.ends_with("(os error 2)")
}

pub fn init(debug: bool) {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(if debug { log::LevelFilter::Debug } else { log::LevelFilter::Error });
    }
}

/// From now on, errors also go to syslog.
pub fn set_detached() {
    DETACHED.store(true, Ordering::Relaxed);
}

/// Report an error to stderr, and to syslog when detached.
pub fn report(msg: &str) {
    eprintln!("vexfs-fuse: {msg}");
    if DETACHED.load(Ordering::Relaxed) {
        if let Ok(c) = std::ffi::CString::new(format!("vexfs-fuse: {msg}")) {
            // SAFETY: a constant "%s" format with one valid C string argument.
            unsafe { libc::syslog(libc::LOG_ERR | libc::LOG_DAEMON, c"%s".as_ptr(), c.as_ptr()) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_reply_to_gone_request;

    #[test]
    fn only_enoent_replies_are_quiet() {
        let enoent = std::io::Error::from_raw_os_error(libc::ENOENT);
        let eio = std::io::Error::from_raw_os_error(libc::EIO);
        assert!(is_reply_to_gone_request(&format!("Failed to send FUSE reply: {enoent}")));
        assert!(!is_reply_to_gone_request(&format!("Failed to send FUSE reply: {eio}")));
        assert!(!is_reply_to_gone_request(&format!("something else: {enoent}")));
    }
}
