// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * FPU sections for the distance kernels. The core is built soft-float, as
 * code that may run anywhere in the kernel must be; its distance kernel
 * calls (search, index builds, hashing) come here instead, and run in the
 * SSE2 object (vexfs_fpu.o, crates/vexfs-kfpu) between kernel_fpu_begin()
 * and kernel_fpu_end(). The call is a struct the two Rust objects share;
 * this side only brackets it.
 *
 * Callers are the core's search and insertion paths: process context
 * (ioctls, the index worker), never an interrupt. A section keeps
 * preemption off, so the core cuts long scans into pieces of about
 * 256 KiB of rows; nothing inside a section sleeps or allocates.
 */
#include <asm/fpu/api.h>

#include "vexfs.h"

int vexfs_k_fpu_call(void *call)
{
	int rc;

	kernel_fpu_begin();
	rc = vexfs_fpu_run(call);
	kernel_fpu_end();
	return rc;
}
