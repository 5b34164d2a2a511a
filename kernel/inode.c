// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * VFS inodes built from the core's attributes (struct vexfs_stat), and
 * the attribute operations: setattr and symlink targets.
 *
 * The core writes every inode change itself, inside its own transactions,
 * so there is no write_inode: the VFS inode is a cache of the core's
 * record, refreshed from the vexfs_stat each mutating call returns.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>

#include <linux/posix_acl.h>

#include "vexfs.h"

static struct timespec64 vexfs_ts(struct vexfs_time t)
{
	return (struct timespec64){ .tv_sec = t.sec, .tv_nsec = t.nsec };
}

static struct vexfs_time vexfs_from_ts(struct timespec64 ts)
{
	return (struct vexfs_time){ .sec = ts.tv_sec, .nsec = ts.tv_nsec };
}

void vexfs_refresh_inode(struct inode *inode, const struct vexfs_stat *st)
{
	inode->i_mode = st->mode;
	i_uid_write(inode, st->uid);
	i_gid_write(inode, st->gid);
	set_nlink(inode, st->nlink);
	/*
	 * With the page cache, i_size leads: a buffered write grows it (in
	 * write_end) before the core hears of it at the end of the write(2),
	 * and only truncate shrinks it (truncate_setsize, before the core).
	 * So a refresh never shrinks a cached regular file's size.
	 */
	if (!vexfs_pagecache(inode) || (inode->i_state & I_NEW) ||
	    st->size > i_size_read(inode))
		i_size_write(inode, st->size);
	inode->i_blocks = st->blocks_512;
	inode->i_atime = vexfs_ts(st->atime);
	inode->i_mtime = vexfs_ts(st->mtime);
	inode->i_ctime = vexfs_ts(st->ctime);
	inode->i_generation = st->generation;
}

static void vexfs_set_ops(struct inode *inode, const struct vexfs_stat *st)
{
	switch (st->mode & S_IFMT) {
	case S_IFREG:
		inode->i_op = &vexfs_file_inode_ops;
		if (VEXFS_SB(inode->i_sb)->pagecache) {
			inode->i_fop = &vexfs_file_pagecache_ops;
			inode->i_mapping->a_ops = &vexfs_aops;
		} else {
			inode->i_fop = &vexfs_file_ops;
		}
		break;
	case S_IFDIR:
		inode->i_op = &vexfs_dir_inode_ops;
		inode->i_fop = &vexfs_dir_ops;
		break;
	case S_IFLNK:
		inode->i_op = &vexfs_symlink_inode_ops;
		break;
	default:
		/* Device numbers are stored as FUSE and stat(2) encode them. */
		inode->i_op = &vexfs_special_inode_ops;
		init_special_inode(inode, st->mode, new_decode_dev(st->rdev));
		break;
	}
}

/*
 * The VFS inode for st->ino, created from *st if it is not cached yet.
 *
 * Every VFS inode holds an open reference in the core from here until
 * vexfs_evict_inode, so the core frees an unlinked inode (and may reuse
 * its number) only once the VFS has let go of it, as ext2 does at evict:
 * a number reused while an old VFS inode still lived would hand out the
 * stale inode from the cache.
 */
struct inode *vexfs_iget(struct super_block *sb, const struct vexfs_stat *st)
{
	struct inode *inode = iget_locked(sb, st->ino);
	int err;

	if (!inode)
		return ERR_PTR(-ENOMEM);
	if (!(inode->i_state & I_NEW))
		return inode;
	err = vexfs_open(vexfs_lock(sb), st->ino);
	vexfs_unlock(sb);
	if (err) {
		iget_failed(inode);
		return ERR_PTR(err);
	}
	vexfs_refresh_inode(inode, st);
	vexfs_set_ops(inode, st);
	unlock_new_inode(inode);
	return inode;
}

/* The last reference is gone: drop the core's, which frees an unlinked inode. */
void vexfs_evict_inode(struct inode *inode)
{
	struct super_block *sb = inode->i_sb;
	int err;

	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	err = vexfs_release(vexfs_lock(sb), inode->i_ino);
	vexfs_unlock(sb);
	if (err)
		pr_warn_ratelimited("vexfs: %pg: freeing inode %lu failed: %d\n",
				    sb->s_bdev, inode->i_ino, err);
}

/*
 * A size change of a file whose data is in the page cache. Shrinking:
 * the edge page is written back, i_size set and the pages past it dropped
 * (truncate_setsize) before the core frees the blocks, so no dirty page
 * can later be written to a block the core has reused. Growing: the old
 * last page is written back first, which zeroes its bytes past the old
 * size (a mapping may have written there), so they read as zeros after.
 */
static int vexfs_setattr_pagecache(struct inode *inode, const struct vexfs_setattr *sa)
{
	struct address_space *mapping = inode->i_mapping;
	struct super_block *sb = inode->i_sb;
	loff_t old = i_size_read(inode), size = sa->size;
	struct vexfs_remap r = { 0 };
	struct vexfs_stat st;
	struct vexfs_fs *fs;
	int err, io_err = 0;

	filemap_invalidate_lock(mapping);
	if (size < old)
		err = vexfs_remap_begin(inode, size, LLONG_MAX);
	else
		err = filemap_write_and_wait_range(mapping, old, old);
	if (err)
		goto out;
	fs = vexfs_lock(sb);
	if (size < old)
		vexfs_remap_edges(fs, inode, size, LLONG_MAX, &r);
	err = vexfs_setattr(fs, inode->i_ino, sa, vexfs_now(), &st);
	if (!err)
		io_err = vexfs_remap_end(inode, &r);
	vexfs_unlock(sb);
	if (err) {
		/* The core kept its size; so does the VFS (the pages are gone). */
		i_size_write(inode, old);
		goto out;
	}
	if (size > old)
		truncate_setsize(inode, size);
	vexfs_refresh_inode(inode, &st);
	err = io_err;
out:
	filemap_invalidate_unlock(mapping);
	return err;
}

int vexfs_setattr_op(struct user_namespace *mnt_userns, struct dentry *dentry,
		     struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	struct super_block *sb = inode->i_sb;
	struct vexfs_setattr sa = { 0 };
	struct vexfs_stat st;
	int err;

	err = setattr_prepare(mnt_userns, dentry, attr);
	if (err)
		return err;
	if (attr->ia_valid & ATTR_MODE) {
		sa.valid |= VEXFS_SET_MODE;
		sa.mode = attr->ia_mode;
	}
	if (attr->ia_valid & ATTR_UID) {
		sa.valid |= VEXFS_SET_UID;
		sa.uid = from_kuid(&init_user_ns, attr->ia_uid);
	}
	if (attr->ia_valid & ATTR_GID) {
		sa.valid |= VEXFS_SET_GID;
		sa.gid = from_kgid(&init_user_ns, attr->ia_gid);
	}
	if (attr->ia_valid & ATTR_SIZE) {
		sa.valid |= VEXFS_SET_SIZE;
		sa.size = attr->ia_size;
	}
	if (attr->ia_valid & ATTR_ATIME) {
		sa.valid |= VEXFS_SET_ATIME;
		sa.atime = vexfs_from_ts(attr->ia_atime);
	}
	if (attr->ia_valid & ATTR_MTIME) {
		sa.valid |= VEXFS_SET_MTIME;
		sa.mtime = vexfs_from_ts(attr->ia_mtime);
	}
	if (attr->ia_valid & ATTR_CTIME) {
		sa.valid |= VEXFS_SET_CTIME;
		sa.ctime = vexfs_from_ts(attr->ia_ctime);
	}
	if (!sa.valid)
		return 0;

	if ((sa.valid & VEXFS_SET_SIZE) && vexfs_pagecache(inode)) {
		err = vexfs_setattr_pagecache(inode, &sa);
	} else {
		err = vexfs_setattr(vexfs_lock(sb), inode->i_ino, &sa, vexfs_now(), &st);
		if (!err)
			vexfs_refresh_inode(inode, &st);
		vexfs_unlock(sb);
	}
	/* The core brought the stored access ACL in step with the new mode. */
	if (!err && (sa.valid & VEXFS_SET_MODE))
		forget_cached_acl(inode, ACL_TYPE_ACCESS);
	return err;
}

static void vexfs_free_link(void *p)
{
	kfree(p);
}

/* Read the target from the core each time; not in RCU walk (it sleeps). */
static const char *vexfs_get_link(struct dentry *dentry, struct inode *inode,
				  struct delayed_call *done)
{
	struct super_block *sb;
	char *buf;
	s64 n;

	if (!dentry)
		return ERR_PTR(-ECHILD);
	sb = inode->i_sb;
	buf = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	n = vexfs_readlink(vexfs_lock(sb), inode->i_ino, buf, PATH_MAX - 1);
	vexfs_unlock(sb);
	if (n < 0) {
		kfree(buf);
		return ERR_PTR(n);
	}
	buf[n] = '\0';
	set_delayed_call(done, vexfs_free_link, buf);
	return buf;
}

const struct inode_operations vexfs_file_inode_ops = {
	.setattr = vexfs_setattr_op,
	.listxattr = vexfs_listxattr_op,
	.get_acl = vexfs_get_acl,
	.set_acl = vexfs_set_acl,
};

const struct inode_operations vexfs_symlink_inode_ops = {
	.get_link = vexfs_get_link,
	.setattr = vexfs_setattr_op,
	.listxattr = vexfs_listxattr_op,
};

const struct inode_operations vexfs_special_inode_ops = {
	.setattr = vexfs_setattr_op,
	.listxattr = vexfs_listxattr_op,
	.get_acl = vexfs_get_acl,
	.set_acl = vexfs_set_acl,
};
