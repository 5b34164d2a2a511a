//! What a `no_std` staticlib needs in the kernel. Nothing in this object
//! allocates (the kernels write into the caller's buffers), so its heap
//! refuses every request; a panic goes to the module's panic helper.

use core::alloc::{GlobalAlloc, Layout};
use core::panic::PanicInfo;

extern "C" {
    /// `pr_emerg` the message, then `BUG()` (kernel/helpers.c).
    fn vexfs_k_panic(msg: *const u8, len: usize);
}

struct NoHeap;

// SAFETY: `alloc` never hands out memory, so there is nothing to free.
unsafe impl GlobalAlloc for NoHeap {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static HEAP: NoHeap = NoHeap;

#[panic_handler]
fn panic(_info: &PanicInfo<'_>) -> ! {
    let msg = b"panic in the FPU kernels (vexfs_fpu_run)";
    // SAFETY: the pointer and length describe a static byte string.
    unsafe { vexfs_k_panic(msg.as_ptr(), msg.len()) };
    loop {
        core::hint::spin_loop();
    }
}
