// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Shared mappings of regular files (page-cache mounts): the generic fault
 * and fault-around paths read through aops.c; the first write to a clean
 * page comes here (page_mkwrite), which
 *
 * - moves mtime and ctime, as write(2) does, and tells the core at once
 *   (the core has no write_inode: a time left only in the VFS inode would
 *   be lost at eviction or unmount);
 * - maps the page's blocks for writing over vexfs_get_block
 *   (block_page_mkwrite): a hole is allocated now, so a full filesystem
 *   is a SIGBUS at the store rather than an error at writeback.
 *
 * Lock order, as everywhere: mmap_lock (held by the fault) -> the
 * mapping's invalidate_lock (shared: keeps truncate and punch out while
 * blocks are mapped) -> folio lock -> sb lock. The sb lock is taken here
 * before the folio lock, with no folio held.
 */
#include <linux/buffer_head.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>

#include "vexfs.h"

/* The times file_update_time set in the VFS inode, given to the core. */
static int vexfs_mkwrite_times(struct inode *inode)
{
	struct super_block *sb = inode->i_sb;
	struct vexfs_setattr sa = {
		.valid = VEXFS_SET_MTIME | VEXFS_SET_CTIME,
		.mtime = { .sec = inode->i_mtime.tv_sec, .nsec = inode->i_mtime.tv_nsec },
		.ctime = { .sec = inode->i_ctime.tv_sec, .nsec = inode->i_ctime.tv_nsec },
	};
	struct vexfs_stat st;
	int err;

	err = vexfs_setattr(vexfs_lock(sb), inode->i_ino, &sa, vexfs_now(), &st);
	if (!err)
		vexfs_refresh_inode(inode, &st);
	vexfs_unlock(sb);
	return err;
}

static vm_fault_t vexfs_page_mkwrite(struct vm_fault *vmf)
{
	struct file *file = vmf->vma->vm_file;
	struct inode *inode = file_inode(file);
	struct timespec64 mtime, ctime;
	int err;

	sb_start_pagefault(inode->i_sb);
	/*
	 * Only a time that moved costs a core call: within one tick of the
	 * coarse clock the later faults of a burst find nothing to do.
	 */
	mtime = inode->i_mtime;
	ctime = inode->i_ctime;
	err = file_update_time(file);
	if (!err && (!timespec64_equal(&inode->i_mtime, &mtime) ||
		     !timespec64_equal(&inode->i_ctime, &ctime)))
		err = vexfs_mkwrite_times(inode);
	if (!err) {
		filemap_invalidate_lock_shared(inode->i_mapping);
		err = block_page_mkwrite(vmf->vma, vmf, vexfs_get_block);
		filemap_invalidate_unlock_shared(inode->i_mapping);
	}
	sb_end_pagefault(inode->i_sb);
	/* On success the page is returned locked and dirty. */
	return block_page_mkwrite_return(err);
}

static const struct vm_operations_struct vexfs_file_vm_ops = {
	.fault = filemap_fault,
	.map_pages = filemap_map_pages,
	.page_mkwrite = vexfs_page_mkwrite,
};

int vexfs_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	file_accessed(file);
	vma->vm_ops = &vexfs_file_vm_ops;
	return 0;
}
