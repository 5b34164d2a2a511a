// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Module entry points: register the "vexfs" filesystem type. */
#include <linux/module.h>

#include "vexfs.h"

/*
 * Regular file data through the page cache (mmap, readahead, writeback)
 * or, with pagecache=0, through the core with a kernel bounce buffer
 * (the first version's path, kept to compare and to fall back on). Read
 * at each mount; blocks larger than a page always take the bounce path.
 */
bool vexfs_param_pagecache = true;
module_param_named(pagecache, vexfs_param_pagecache, bool, 0644);
MODULE_PARM_DESC(pagecache, "file data through the page cache (default) or a bounce buffer (0)");

/*
 * Index insertions by a background worker (index.c) or, with
 * index_worker=0, by the writers themselves in batches and before each
 * search. Read at each mount.
 */
bool vexfs_param_index_worker = true;
module_param_named(index_worker, vexfs_param_index_worker, bool, 0644);
MODULE_PARM_DESC(index_worker, "insert into vector indexes from a background worker (default) or on the write path (0)");

/*
 * Distances (search, index builds) with SSE2 inside kernel_fpu_begin/end
 * (fpu.c), or, with simd=0, soft-float in the core itself (about nine
 * times slower; the results are the same bits). Read at load.
 */
bool vexfs_param_simd = true;
module_param_named(simd, vexfs_param_simd, bool, 0444);
MODULE_PARM_DESC(simd, "distance kernels with SSE2 in FPU sections (default) or soft-float (0)");

static int __init vexfs_init(void)
{
	int err = vexfs_index_wq_init();

	if (err)
		return err;
	if (vexfs_param_simd)
		vexfs_fpu_install();
	err = register_filesystem(&vexfs_fs_type);
	if (err) {
		pr_err("vexfs: register_filesystem failed: %d\n", err);
		vexfs_index_wq_exit();
		return err;
	}
	pr_info("vexfs: version " VEXFS_VERSION " loaded (distances: %s)\n",
		vexfs_param_simd ? "sse2" : "soft-float");
	return 0;
}

static void __exit vexfs_exit(void)
{
	unregister_filesystem(&vexfs_fs_type);
	vexfs_index_wq_exit();
	pr_info("vexfs: unloaded\n");
}

module_init(vexfs_init);
module_exit(vexfs_exit);

/*
 * GPL-compatible on purpose: the distance kernels run between
 * kernel_fpu_begin and kernel_fpu_end (fpu.c), GPL-only exports.
 */
MODULE_LICENSE("Dual MIT/GPL");
MODULE_AUTHOR("The VexFS developers");
MODULE_DESCRIPTION("VexFS: a filesystem whose files carry vector embeddings");
MODULE_VERSION(VEXFS_VERSION);
MODULE_ALIAS_FS("vexfs");
