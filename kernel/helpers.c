// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Services the Rust core needs from the kernel: its heap and its panic
 * path. Declared in vexfs.h, called from crates/vexfs-kabi/src/kernel.rs.
 */
#include <linux/bug.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "vexfs.h"

/*
 * kvmalloc: small blocks from the slab, large ones (B+tree node buffers,
 * bitmap blocks, file data chunks) from vmalloc. __GFP_NOWARN because a
 * failed allocation is reported as ENOMEM (or, for the paths of the core
 * that are still infallible, as a panic with its own message), and a
 * size derived from a damaged image must not splat a warning.
 */
void *vexfs_k_alloc(size_t size)
{
	/*
	 * Every call into the core runs in process context under a mutex, and
	 * index builds and searches run long with no I/O (seconds under
	 * emulation): the allocator is the one place they pass often, so it
	 * is where they let others run (no soft-lockup reports).
	 */
	cond_resched();
	return kvmalloc(size, GFP_KERNEL | __GFP_NOWARN);
}

void vexfs_k_free(void *ptr)
{
	kvfree(ptr);
}

/* A Rust panic is a bug in the core: say where, then stop like BUG_ON. */
void vexfs_k_panic(const u8 *msg, size_t len)
{
	pr_emerg("vexfs: panic in the Rust core: %.*s\n", (int)min_t(size_t, len, 512),
		 (const char *)msg);
	BUG();
}
