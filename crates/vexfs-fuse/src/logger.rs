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
            if r.level() == log::Level::Error {
                report(&format!("{}", r.args()));
            } else {
                eprintln!("vexfs-fuse [{}] {}", r.level(), r.args());
            }
        }
    }
    fn flush(&self) {}
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
