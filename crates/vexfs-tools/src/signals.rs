//! Ctrl-C as a request to stop cleanly (fsck exits 32, "cancelled").

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Route SIGINT and SIGTERM to a flag instead of killing the process, so
/// a long check can stop between transactions and leave the image
/// consistent.
pub fn catch_interrupts() {
    let handler: extern "C" fn(libc::c_int) = on_interrupt;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `handler` is a valid `extern "C" fn(c_int)`, the type
        // signal(2) expects, and it only stores to an atomic, which is
        // async-signal-safe. No other code in the process installs
        // handlers for these signals.
        unsafe {
            libc::signal(sig, handler as libc::sighandler_t);
        }
    }
}

/// Whether an interrupt arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
