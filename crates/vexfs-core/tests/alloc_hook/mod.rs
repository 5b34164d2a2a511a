//! A global allocator that counts the allocations of this thread or fails
//! a chosen one, for the allocation-failure tests.
//!
//! In the kernel module every allocation is a kmalloc that may fail, and
//! an allocation the code does not expect to fail ends in `BUG()`. The
//! tests arm the hook around one operation: counting measures how many
//! allocations it makes, failing the n-th checks that the failure comes
//! back as ENOMEM. A Rust path that does not expect the failure aborts
//! the test binary; with `VEXFS_TRACE_FAILED_ALLOC=1` the failing
//! allocation's backtrace is printed first, which names that path.
//!
//! The state is per thread, so the tests of one binary may run in
//! parallel. Include this module only from binaries that want the hook:
//! it registers the binary's `#[global_allocator]`.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// What the allocator does on this thread.
#[derive(Clone, Copy)]
enum Hook {
    Off,
    /// Count allocations.
    Count(u64),
    /// Count allocations and fail the one numbered `fail_at` (from 1);
    /// `failed` says whether it has come.
    Fail {
        seen: u64,
        fail_at: u64,
        failed: bool,
    },
}

thread_local! {
    static HOOK: Cell<Hook> = const { Cell::new(Hook::Off) };
}

/// Count this thread's allocations from now on.
pub fn count() {
    HOOK.with(|h| h.set(Hook::Count(0)));
}

/// Stop counting; the allocations since [`count`].
pub fn counted() -> u64 {
    match HOOK.with(|h| h.replace(Hook::Off)) {
        Hook::Count(n) => n,
        _ => panic!("the allocation hook was not counting"),
    }
}

/// Fail this thread's `n`-th allocation from now on (from 1).
pub fn fail_at(n: u64) {
    HOOK.with(|h| {
        h.set(Hook::Fail {
            seen: 0,
            fail_at: n,
            failed: false,
        })
    });
}

/// Disarm; whether the chosen allocation came (and failed).
pub fn failed() -> bool {
    match HOOK.with(|h| h.replace(Hook::Off)) {
        Hook::Fail { failed, .. } => failed,
        _ => panic!("the allocation hook was not armed to fail"),
    }
}

/// Run `f` with the hook off (a check between armed calls that must not
/// count or fail), then restore it.
pub fn unhooked<T>(f: impl FnOnce() -> T) -> T {
    let was = HOOK.with(|h| h.replace(Hook::Off));
    let r = f();
    HOOK.with(|h| h.set(was));
    r
}

/// Whether this allocation is to fail (and count it).
fn fail_now(size: usize) -> bool {
    HOOK.with(|h| match h.get() {
        Hook::Off => false,
        Hook::Count(n) => {
            h.set(Hook::Count(n + 1));
            false
        }
        Hook::Fail {
            seen,
            fail_at,
            failed,
        } => {
            let fail = seen + 1 == fail_at;
            // Off while looking at the environment and tracing: both
            // allocate.
            h.set(Hook::Off);
            if fail && std::env::var_os("VEXFS_TRACE_FAILED_ALLOC").is_some() {
                eprintln!(
                    "failing allocation {fail_at} ({size} bytes) at\n{}",
                    std::backtrace::Backtrace::force_capture()
                );
            }
            h.set(Hook::Fail {
                seen: seen + 1,
                fail_at,
                failed: failed || fail,
            });
            fail
        }
    })
}

struct Hooked;

// SAFETY: every call the hook lets through is passed on to the system
// allocator unchanged; a failed one returns null, which `GlobalAlloc`
// allows for any allocation.
unsafe impl GlobalAlloc for Hooked {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if fail_now(l.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if fail_now(n) {
            return std::ptr::null_mut();
        }
        // SAFETY: as above.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Hooked = Hooked;
