//! What a `no_std` staticlib needs inside the kernel: a global allocator
//! and a panic handler, both calling helpers in `kernel/helpers.c`, and
//! the switch that hands the float kernels to the SSE2 object
//! (`kernel/fpu.c`, `crates/vexfs-kfpu`).
//! Compiled only for the kernel target (`target_os = "none"`).

use core::alloc::{GlobalAlloc, Layout};
use core::fmt::Write;
use core::panic::PanicInfo;
use vexfs_ann::distance::offload::OffloadCall;

extern "C" {
    /// `kvmalloc(size, GFP_KERNEL | __GFP_NOWARN)`: at least 8-byte
    /// aligned, null on failure.
    fn vexfs_k_alloc(size: usize) -> *mut u8;
    /// `kvfree`.
    fn vexfs_k_free(ptr: *mut u8);
    /// `pr_emerg` the message, then `BUG()`. Does not return.
    fn vexfs_k_panic(msg: *const u8, len: usize);
    /// Run the call in `vexfs_fpu_run` between `kernel_fpu_begin()` and
    /// `kernel_fpu_end()`.
    fn vexfs_k_fpu_call(call: *mut OffloadCall) -> i32;
}

/// From now on, the core's distance kernels run in the SSE2 object, each
/// call in an FPU section. Called once at module load, before any mount.
#[no_mangle]
pub extern "C" fn vexfs_fpu_install() {
    // SAFETY: `vexfs_k_fpu_call` runs each call with `execute` (the SSE2
    // object's `vexfs_fpu_run`) and is part of the module, so it lives as
    // long as this code.
    unsafe { vexfs_ann::distance::offload::install(vexfs_k_fpu_call) };
}

/// What `vexfs_k_alloc` guarantees.
const MIN_ALIGN: usize = 8;

/// Heap allocations of the Rust core, served by kvmalloc.
struct KernelAllocator;

// SAFETY: allocations come from kvmalloc, which hands out distinct live
// blocks until kvfree; alignments above what it guarantees are served by
// over-allocating and keeping the original pointer just below the aligned
// one, which `dealloc` reads back.
unsafe impl GlobalAlloc for KernelAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MIN_ALIGN {
            // SAFETY: a plain C allocation call; any size is acceptable.
            return unsafe { vexfs_k_alloc(layout.size().max(1)) };
        }
        // Room for the alignment slack plus the stored original pointer.
        let Some(total) = layout
            .size()
            .checked_add(layout.align())
            .and_then(|n| n.checked_add(core::mem::size_of::<usize>()))
        else {
            return core::ptr::null_mut();
        };
        // SAFETY: a plain C allocation call.
        let raw = unsafe { vexfs_k_alloc(total) };
        if raw.is_null() {
            return raw;
        }
        let start = raw as usize + core::mem::size_of::<usize>();
        let aligned = (start + layout.align() - 1) & !(layout.align() - 1);
        let p = aligned as *mut u8;
        // SAFETY: `aligned - size_of::<usize>() >= raw` and the slot lies
        // inside the `total` bytes just allocated; `aligned` is a multiple
        // of an alignment > 8, so the slot is usize-aligned.
        unsafe { (p as *mut usize).sub(1).write(raw as usize) };
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.align() <= MIN_ALIGN {
            // SAFETY: `ptr` came from `vexfs_k_alloc` in `alloc` (the
            // `GlobalAlloc` contract passes back the same layout).
            unsafe { vexfs_k_free(ptr) };
            return;
        }
        // SAFETY: `alloc` stored the original pointer in the usize just
        // below every over-aligned block.
        let raw = unsafe { (ptr as *mut usize).sub(1).read() } as *mut u8;
        // SAFETY: `raw` is the pointer `vexfs_k_alloc` returned.
        unsafe { vexfs_k_free(raw) };
    }
}

#[global_allocator]
static ALLOCATOR: KernelAllocator = KernelAllocator;

/// A `fmt::Write` into a fixed stack buffer; the rest is cut off.
struct MsgBuf {
    buf: [u8; 192],
    len: usize,
}

impl Write for MsgBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let mut m = MsgBuf {
        buf: [0; 192],
        len: 0,
    };
    // Cut short on overflow is fine: the location comes first.
    if let Some(loc) = info.location() {
        let _ = write!(m, "{}:{}: ", loc.file(), loc.line());
    }
    let _ = write!(m, "{}", info.message());
    // SAFETY: the pointer and length describe the initialised part of the
    // stack buffer, live for the call.
    unsafe { vexfs_k_panic(m.buf.as_ptr(), m.len) };
    // BUG() does not return; if it ever did, stay here rather than run on
    // with broken state.
    loop {
        core::hint::spin_loop();
    }
}
