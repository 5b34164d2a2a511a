// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The superblock: mount, unmount, statfs, sync. The image is opened and
 * validated by the Rust core (vexfs_mount); this file only wires it to the
 * VFS and reports in the log why a mount was refused.
 */
#include <linux/blkdev.h>
#include <linux/buffer_head.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/timekeeping.h>
#include <linux/writeback.h>

#include "vexfs.h"

/* statfs(2) f_type; not an on-disk value (the on-disk magic is the core's). */
#define VEXFS_STATFS_MAGIC 0x56455846 /* "VEXF" */

/* The C mirrors of the Rust structs must keep the Rust sizes (abi.rs). */
static inline void vexfs_check_abi(void)
{
	BUILD_BUG_ON(sizeof(struct vexfs_time) != 16);
	BUILD_BUG_ON(sizeof(struct vexfs_stat) != 120);
	BUILD_BUG_ON(sizeof(struct vexfs_statfs) != 40);
	BUILD_BUG_ON(sizeof(struct vexfs_setattr) != 72);
	BUILD_BUG_ON(sizeof(struct vexfs_dev_ops) != 24);
	BUILD_BUG_ON(sizeof(struct vexfs_caller) != 24);
	BUILD_BUG_ON(sizeof(struct vexfs_map) != 32);
	BUILD_BUG_ON(sizeof(struct vexfs_absorbed) != 16);
}

struct vexfs_time vexfs_now(void)
{
	struct timespec64 ts;

	ktime_get_real_ts64(&ts);
	return (struct vexfs_time){ .sec = ts.tv_sec, .nsec = ts.tv_nsec };
}

static int vexfs_statfs_op(struct dentry *dentry, struct kstatfs *buf)
{
	struct super_block *sb = dentry->d_sb;
	struct vexfs_statfs st;
	int err;

	err = vexfs_statfs(vexfs_lock(sb), &st);
	vexfs_unlock(sb);
	if (err)
		return err;
	buf->f_type = VEXFS_STATFS_MAGIC;
	buf->f_bsize = st.block_size;
	buf->f_frsize = st.block_size;
	buf->f_blocks = st.blocks;
	buf->f_bfree = st.blocks_free;
	buf->f_bavail = st.blocks_free;
	buf->f_files = st.inodes;
	buf->f_ffree = st.inodes_free;
	buf->f_namelen = st.name_max;
	buf->f_fsid = u64_to_fsid(huge_encode_dev(sb->s_bdev->bd_dev));
	return 0;
}

static int vexfs_sync_fs(struct super_block *sb, int wait)
{
	int err;

	err = vexfs_sync(vexfs_lock(sb));
	vexfs_unlock(sb);
	return err;
}

/*
 * The journal timer: completed operations live in the core's running
 * transaction until a commit; this bounds what a crash can lose. With the
 * page cache, dirty file data is written back first, so the blocks this
 * commit maps hold their data before the mapping is durable (writeback
 * takes the sb lock for get_block: it must finish before we take it). An
 * unmount in progress holds s_umount and writes everything back itself.
 */
static void vexfs_commit_worker(struct work_struct *work)
{
	struct vexfs_sb_info *sbi =
		container_of(to_delayed_work(work), struct vexfs_sb_info, commit_work);
	struct super_block *sb = sbi->sb;
	int err;

	if (sbi->pagecache && down_read_trylock(&sb->s_umount)) {
		sync_inodes_sb(sb);
		up_read(&sb->s_umount);
	}
	mutex_lock(&sbi->lock);
	err = sbi->fs ? vexfs_commit_pending(sbi->fs) : 0;
	mutex_unlock(&sbi->lock);
	if (err) {
		/* The core is now read-only and records the error on disk. */
		pr_err("vexfs: %pg: journal commit failed (%d); read-only from now on\n",
		       sbi->sb->s_bdev, err);
		return;
	}
	/* A catch-all for index changes no ioctl or xattr call kicked (rename). */
	vexfs_index_kick(sb);
	queue_delayed_work(system_long_wq, &sbi->commit_work, VEXFS_COMMIT_SECS * HZ);
}

/* Called once the VFS has evicted every inode: the core writes out. */
static void vexfs_put_super(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	int err;

	/* The commit timer kicks the index worker: stop it first. */
	cancel_delayed_work_sync(&sbi->commit_work);
	vexfs_index_stop(sbi);
	mutex_lock(&sbi->lock);
	err = vexfs_unmount(sbi->fs, vexfs_now());
	sbi->fs = NULL;
	mutex_unlock(&sbi->lock);
	if (err)
		pr_err("vexfs: %pg: unmount failed to write out: %d\n", sb->s_bdev, err);
	sb->s_fs_info = NULL;
	kfree(sbi);
}

/*
 * The core decides read-only or read-write once, at mount (it also falls
 * back to read-only for unknown ro_compat features), so a remount may
 * change options but not that.
 */
static int vexfs_remount(struct super_block *sb, int *flags, char *data)
{
	sync_filesystem(sb);
	if ((*flags & SB_RDONLY) != (sb->s_flags & SB_RDONLY)) {
		pr_warn("vexfs: %pg: switching between ro and rw needs a fresh mount\n",
			sb->s_bdev);
		return -EINVAL;
	}
	return 0;
}

static const struct super_operations vexfs_super_ops = {
	.statfs = vexfs_statfs_op,
	.sync_fs = vexfs_sync_fs,
	.remount_fs = vexfs_remount,
	.evict_inode = vexfs_evict_inode,
	.put_super = vexfs_put_super,
};

static int vexfs_fill_super(struct super_block *sb, void *data, int silent)
{
	struct vexfs_sb_info *sbi;
	struct vexfs_stat root_st;
	struct inode *root;
	char msg[160] = "";
	u32 flags = 0, bs = 0;
	int err;

	vexfs_check_abi();
	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	mutex_init(&sbi->lock);
	INIT_DELAYED_WORK(&sbi->commit_work, vexfs_commit_worker);
	vexfs_index_init_sb(sbi);
	sbi->sb = sb;
	sb->s_fs_info = sbi;

	/* Start with the smallest buffers; the core reads its own layout. */
	if (!sb_min_blocksize(sb, 512)) {
		err = -EINVAL;
		goto fail;
	}
	sb->s_op = &vexfs_super_ops;
	sb->s_xattr = vexfs_xattr_handlers;
	sb->s_magic = VEXFS_STATFS_MAGIC;
	sb->s_time_gran = 1;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	/* atime would only change in memory: the core has no write_inode. */
	sb->s_flags |= SB_NOATIME;
	/* ACLs checked by the VFS, stored by the core (acl.c); umask is ours. */
	sb->s_flags |= SB_POSIXACL;
	if (sb_rdonly(sb))
		flags |= VEXFS_MOUNT_RDONLY;

	mutex_lock(&sbi->lock);
	err = vexfs_mount(&vexfs_bdev_ops, sb, bdev_nr_bytes(sb->s_bdev), flags,
			  vexfs_now(), &sbi->fs, msg, sizeof(msg));
	if (!err) {
		if (vexfs_is_read_only(sbi->fs) > 0)
			sb->s_flags |= SB_RDONLY;
		bs = vexfs_block_size(sbi->fs);
		/*
		 * Index inserts from the worker, if wanted; a refusal only
		 * leaves them on the write path.
		 */
		if (vexfs_param_index_worker &&
		    !vexfs_background_inserts(sbi->fs, 1))
			sbi->index_worker = true;
		err = vexfs_getattr(sbi->fs, vexfs_root_ino(sbi->fs), &root_st);
		if (err)
			strscpy(msg, "cannot read the root directory", sizeof(msg));
	}
	mutex_unlock(&sbi->lock);
	if (err) {
		/* Always say why, whatever "silent" asks: refusals must be visible. */
		pr_err("vexfs: %pg: cannot mount: %s (error %d)\n", sb->s_bdev, msg, err);
		goto fail_mounted;
	}

	/* Buffers of one filesystem block from now on, when the page allows. */
	if (bs <= PAGE_SIZE && !sb_set_blocksize(sb, bs))
		pr_warn("vexfs: %pg: keeping %lu-byte buffers\n", sb->s_bdev, sb->s_blocksize);
	/* The page cache maps in filesystem blocks: they must be the buffers. */
	sbi->pagecache = vexfs_param_pagecache && sb->s_blocksize == bs;

	root = vexfs_iget(sb, &root_st);
	if (IS_ERR(root)) {
		err = PTR_ERR(root);
		goto fail_mounted;
	}
	sb->s_root = d_make_root(root);
	if (!sb->s_root) {
		err = -ENOMEM;
		goto fail_mounted;
	}
	if (!sb_rdonly(sb))
		queue_delayed_work(system_long_wq, &sbi->commit_work, VEXFS_COMMIT_SECS * HZ);
	return 0;

fail_mounted:
	if (sbi->fs)
		vexfs_unmount(sbi->fs, vexfs_now());
fail:
	sb->s_fs_info = NULL;
	kfree(sbi);
	return err;
}

static struct dentry *vexfs_mount_op(struct file_system_type *type, int flags,
				     const char *dev_name, void *data)
{
	return mount_bdev(type, flags, dev_name, data, vexfs_fill_super);
}

struct file_system_type vexfs_fs_type = {
	.owner = THIS_MODULE,
	.name = VEXFS_NAME,
	.mount = vexfs_mount_op,
	.kill_sb = kill_block_super,
	.fs_flags = FS_REQUIRES_DEV,
};
