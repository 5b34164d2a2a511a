//! The kernel module's float kernels.
//!
//! The module's Rust core (`vexfs-kabi`) is built soft-float, as code that
//! runs anywhere in the kernel must be. Its distance kernels are handed to
//! this crate instead (`vexfs_ann::distance::offload`): the same ANN crate,
//! built a second time for a hard-float target with SSE2, linked into the
//! module as its own object (`vexfs_fpu.o`) whose one global symbol is
//! [`vexfs_fpu_run`]. The C glue calls it only between
//! `kernel_fpu_begin()` and `kernel_fpu_end()` (`kernel/fpu.c`).
//!
//! Built for the host it is an ordinary library, so the tests call the
//! same entry point.
#![cfg_attr(target_os = "none", no_std)]

use vexfs_ann::distance::offload::{execute, OffloadCall};

#[cfg(target_os = "none")]
mod kernel;

/// Run one offloaded kernel call; 0, or -EINVAL for a null or malformed
/// call (nothing written then).
///
/// # Safety
/// `call` is null or points to an [`OffloadCall`] built from live slices
/// (see `execute`), and SSE registers are usable: in the kernel, the
/// caller is between `kernel_fpu_begin()` and `kernel_fpu_end()`.
unsafe extern "C" fn run_aligned(call: *mut OffloadCall) -> i32 {
    // SAFETY: the caller's contract; `as_mut` rejects null.
    match unsafe { call.as_mut() } {
        // SAFETY: the caller's contract.
        Some(c) => unsafe { execute(c) },
        None => -22,
    }
}

/// The entry point the C glue calls (see [`run_aligned`] for the
/// contract).
///
/// The kernel's C is compiled for 8-byte stack alignment, while this
/// object's SSE code assumes the ABI's 16 bytes (a spill of a vector
/// register may use an aligned move). So the entry point sets up a frame,
/// aligns the stack down to 16 and calls in; one argument, in a register,
/// needs no copying. The kernel build returns through the return thunk
/// like the rest of the module (objtool checks it).
///
/// # Safety
/// As [`run_aligned`].
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn vexfs_fpu_run(call: *mut OffloadCall) -> i32 {
    #[cfg(target_os = "none")]
    core::arch::naked_asm!(
        "push rbp",
        "mov rbp, rsp",
        "and rsp, -16",
        "call {run}",
        "leave",
        "jmp __x86_return_thunk",
        "int3",
        run = sym run_aligned,
    );
    #[cfg(not(target_os = "none"))]
    core::arch::naked_asm!(
        "push rbp",
        "mov rbp, rsp",
        "and rsp, -16",
        "call {run}",
        "leave",
        "ret",
        run = sym run_aligned,
    );
}
