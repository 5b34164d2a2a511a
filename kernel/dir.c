// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Directories: lookup, the namespace operations and readdir. Each one is
 * one call into the core under the superblock lock, followed by a refresh
 * of the VFS inodes the call changed, read back inside the same locked
 * section so no other caller's change can slip in between. A new file or
 * directory also gets the ACLs it inherits (acl.c) in that section.
 */
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "vexfs.h"

/* Refresh a cached inode from the core; the caller holds the sb lock. */
static int vexfs_reload(struct vexfs_fs *fs, struct inode *inode)
{
	struct vexfs_stat st;
	int err = vexfs_getattr(fs, inode->i_ino, &st);

	if (!err)
		vexfs_refresh_inode(inode, &st);
	return err;
}

/* After an unlink or a replacing rename: the inode may be gone. */
static void vexfs_reload_or_clear(struct vexfs_fs *fs, struct inode *inode)
{
	if (vexfs_reload(fs, inode))
		clear_nlink(inode);
}

static struct dentry *vexfs_lookup_op(struct inode *dir, struct dentry *dentry,
				      unsigned int flags)
{
	struct super_block *sb = dir->i_sb;
	struct inode *inode = NULL;
	struct vexfs_stat st;
	int err;

	if (dentry->d_name.len > NAME_MAX)
		return ERR_PTR(-ENAMETOOLONG);
	err = vexfs_lookup(vexfs_lock(sb), dir->i_ino, dentry->d_name.name,
			   dentry->d_name.len, &st);
	vexfs_unlock(sb);
	if (err && err != -ENOENT)
		return ERR_PTR(err);
	if (!err) {
		inode = vexfs_iget(sb, &st);
		if (IS_ERR(inode))
			return ERR_CAST(inode);
	}
	return d_splice_alias(inode, dentry);
}

/* Owner of a new node: the caller, with BSD group semantics under setgid. */
static void vexfs_new_owner(struct inode *dir, umode_t *mode, u32 *uid, u32 *gid)
{
	*uid = from_kuid(&init_user_ns, current_fsuid());
	if (dir->i_mode & S_ISGID) {
		*gid = i_gid_read(dir);
		if (S_ISDIR(*mode))
			*mode |= S_ISGID;
	} else {
		*gid = from_kgid(&init_user_ns, current_fsgid());
	}
}

/*
 * Attach the new node the core reported in *st to dentry; its inherited
 * ACLs (acls, or NULL) are cached on the inode and freed either way.
 */
static int vexfs_instantiate(struct inode *dir, struct dentry *dentry,
			     const struct vexfs_stat *st, struct vexfs_new_acls *acls)
{
	struct inode *inode = vexfs_iget(dir->i_sb, st);

	if (acls)
		vexfs_acl_finish(IS_ERR(inode) ? NULL : inode, acls);
	if (IS_ERR(inode))
		return PTR_ERR(inode);
	d_instantiate(dentry, inode);
	return 0;
}

static int vexfs_mknod_op(struct user_namespace *mnt_userns, struct inode *dir,
			  struct dentry *dentry, umode_t mode, dev_t rdev)
{
	struct super_block *sb = dir->i_sb;
	const struct qstr *q = &dentry->d_name;
	struct vexfs_new_acls acls;
	struct vexfs_stat st;
	struct vexfs_fs *fs;
	u32 uid, gid;
	int err;

	vexfs_new_owner(dir, &mode, &uid, &gid);
	err = vexfs_acl_prepare(dir, &mode, &acls);
	if (err)
		return err;
	fs = vexfs_lock(sb);
	err = vexfs_create(fs, dir->i_ino, q->name, q->len, mode,
			   new_encode_dev(rdev), uid, gid, vexfs_now(), &st);
	if (!err) {
		err = vexfs_acl_store(fs, &acls, &st);
		if (err) /* no node without the ACLs it inherits */
			vexfs_unlink(fs, dir->i_ino, q->name, q->len, vexfs_now());
		vexfs_reload(fs, dir);
	}
	vexfs_unlock(sb);
	if (err) {
		vexfs_acl_finish(NULL, &acls);
		return err;
	}
	return vexfs_instantiate(dir, dentry, &st, &acls);
}

static int vexfs_create_op(struct user_namespace *mnt_userns, struct inode *dir,
			   struct dentry *dentry, umode_t mode, bool excl)
{
	return vexfs_mknod_op(mnt_userns, dir, dentry, mode | S_IFREG, 0);
}

static int vexfs_mkdir_op(struct user_namespace *mnt_userns, struct inode *dir,
			  struct dentry *dentry, umode_t mode)
{
	struct super_block *sb = dir->i_sb;
	const struct qstr *q = &dentry->d_name;
	struct vexfs_new_acls acls;
	struct vexfs_stat st;
	struct vexfs_fs *fs;
	u32 uid, gid;
	int err;

	mode |= S_IFDIR;
	vexfs_new_owner(dir, &mode, &uid, &gid);
	err = vexfs_acl_prepare(dir, &mode, &acls);
	if (err)
		return err;
	fs = vexfs_lock(sb);
	err = vexfs_mkdir(fs, dir->i_ino, q->name, q->len, mode, uid, gid,
			  vexfs_now(), &st);
	if (!err) {
		err = vexfs_acl_store(fs, &acls, &st);
		if (err)
			vexfs_rmdir(fs, dir->i_ino, q->name, q->len, vexfs_now());
		vexfs_reload(fs, dir);
	}
	vexfs_unlock(sb);
	if (err) {
		vexfs_acl_finish(NULL, &acls);
		return err;
	}
	return vexfs_instantiate(dir, dentry, &st, &acls);
}

static int vexfs_symlink_op(struct user_namespace *mnt_userns, struct inode *dir,
			    struct dentry *dentry, const char *target)
{
	struct super_block *sb = dir->i_sb;
	umode_t mode = S_IFLNK | 0777;
	struct vexfs_stat st;
	struct vexfs_fs *fs;
	u32 uid, gid;
	int err;

	vexfs_new_owner(dir, &mode, &uid, &gid);
	fs = vexfs_lock(sb);
	err = vexfs_symlink(fs, dir->i_ino, dentry->d_name.name, dentry->d_name.len,
			    target, strlen(target), uid, gid, vexfs_now(), &st);
	if (!err)
		vexfs_reload(fs, dir);
	vexfs_unlock(sb);
	if (err)
		return err;
	return vexfs_instantiate(dir, dentry, &st, NULL);
}

static int vexfs_link_op(struct dentry *old_dentry, struct inode *dir,
			 struct dentry *dentry)
{
	struct inode *inode = d_inode(old_dentry);
	struct super_block *sb = dir->i_sb;
	struct vexfs_stat st;
	struct vexfs_fs *fs;
	int err;

	fs = vexfs_lock(sb);
	err = vexfs_link(fs, inode->i_ino, dir->i_ino, dentry->d_name.name,
			 dentry->d_name.len, vexfs_now(), &st);
	if (!err) {
		vexfs_refresh_inode(inode, &st);
		vexfs_reload(fs, dir);
	}
	vexfs_unlock(sb);
	if (err)
		return err;
	ihold(inode);
	d_instantiate(dentry, inode);
	return 0;
}

static int vexfs_unlink_op(struct inode *dir, struct dentry *dentry)
{
	struct super_block *sb = dir->i_sb;
	struct vexfs_fs *fs;
	int err;

	fs = vexfs_lock(sb);
	err = vexfs_unlink(fs, dir->i_ino, dentry->d_name.name, dentry->d_name.len,
			   vexfs_now());
	if (!err) {
		vexfs_reload(fs, dir);
		vexfs_reload_or_clear(fs, d_inode(dentry));
	}
	vexfs_unlock(sb);
	return err;
}

static int vexfs_rmdir_op(struct inode *dir, struct dentry *dentry)
{
	struct super_block *sb = dir->i_sb;
	struct vexfs_fs *fs;
	int err;

	fs = vexfs_lock(sb);
	err = vexfs_rmdir(fs, dir->i_ino, dentry->d_name.name, dentry->d_name.len,
			  vexfs_now());
	if (!err)
		vexfs_reload(fs, dir);
	vexfs_unlock(sb);
	if (!err)
		clear_nlink(d_inode(dentry));
	return err;
}

static int vexfs_rename_op(struct user_namespace *mnt_userns, struct inode *old_dir,
			   struct dentry *old_dentry, struct inode *new_dir,
			   struct dentry *new_dentry, unsigned int flags)
{
	struct inode *target = d_inode(new_dentry);
	struct super_block *sb = old_dir->i_sb;
	struct vexfs_fs *fs;
	u32 vflags = 0;
	int err;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if (flags & RENAME_NOREPLACE)
		vflags |= VEXFS_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		vflags |= VEXFS_RENAME_EXCHANGE;

	fs = vexfs_lock(sb);
	err = vexfs_rename(fs, old_dir->i_ino, old_dentry->d_name.name,
			   old_dentry->d_name.len, new_dir->i_ino,
			   new_dentry->d_name.name, new_dentry->d_name.len, vflags,
			   vexfs_now());
	if (!err) {
		vexfs_reload(fs, old_dir);
		if (new_dir != old_dir)
			vexfs_reload(fs, new_dir);
		vexfs_reload(fs, d_inode(old_dentry));
		if (target)
			vexfs_reload_or_clear(fs, target);
	}
	vexfs_unlock(sb);
	return err;
}

/*
 * readdir collects a batch of entries under the sb lock, then hands them
 * to dir_emit (which copies to user memory) with the lock dropped.
 */
/*
 * As many as vexfs_readdir() fetches from the core per call (READDIR_BATCH
 * in crates/vexfs-kabi/src/node.rs): a smaller buffer would make the core
 * decode entries only to have them dropped and fetched again.
 */
#define VEXFS_DIR_BATCH 64

struct vexfs_dent {
	u64 ino;
	u64 pos;
	u32 dtype;
	u32 len;
	char name[NAME_MAX + 1];
};

struct vexfs_dirbuf {
	unsigned int n;
	struct vexfs_dent e[VEXFS_DIR_BATCH];
};

static int vexfs_collect(void *ctx, const u8 *name, size_t len, u64 ino,
			 u32 dtype, u64 pos)
{
	struct vexfs_dirbuf *b = ctx;
	struct vexfs_dent *d;

	if (b->n >= VEXFS_DIR_BATCH)
		return 1;
	if (len > NAME_MAX)
		return 1; /* the core never returns one; stop rather than cut it */
	d = &b->e[b->n++];
	d->ino = ino;
	d->pos = pos;
	d->dtype = dtype;
	d->len = len;
	memcpy(d->name, name, len);
	return b->n >= VEXFS_DIR_BATCH;
}

static int vexfs_iterate(struct file *file, struct dir_context *ctx)
{
	struct inode *dir = file_inode(file);
	struct super_block *sb = dir->i_sb;
	struct vexfs_dirbuf *b;
	unsigned int i;
	int err = 0;

	b = kvmalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	for (;;) {
		b->n = 0;
		err = vexfs_readdir(vexfs_lock(sb), dir->i_ino, ctx->pos,
				    vexfs_collect, b);
		vexfs_unlock(sb);
		if (err || !b->n)
			break;
		for (i = 0; i < b->n; i++) {
			if (!dir_emit(ctx, b->e[i].name, b->e[i].len, b->e[i].ino,
				      b->e[i].dtype))
				goto out;
			ctx->pos = b->e[i].pos;
		}
		if (b->n < VEXFS_DIR_BATCH)
			break; /* the core reached the end */
	}
out:
	kvfree(b);
	return err;
}

static int vexfs_dir_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct super_block *sb = file_inode(file)->i_sb;
	int err = vexfs_sync(vexfs_lock(sb));

	vexfs_unlock(sb);
	return err;
}

const struct inode_operations vexfs_dir_inode_ops = {
	.lookup = vexfs_lookup_op,
	.create = vexfs_create_op,
	.mknod = vexfs_mknod_op,
	.mkdir = vexfs_mkdir_op,
	.symlink = vexfs_symlink_op,
	.link = vexfs_link_op,
	.unlink = vexfs_unlink_op,
	.rmdir = vexfs_rmdir_op,
	.rename = vexfs_rename_op,
	.setattr = vexfs_setattr_op,
	.listxattr = vexfs_listxattr_op,
	.get_acl = vexfs_get_acl,
	.set_acl = vexfs_set_acl,
};

const struct file_operations vexfs_dir_ops = {
	.llseek = generic_file_llseek,
	.read = generic_read_dir,
	.iterate_shared = vexfs_iterate,
	.fsync = vexfs_dir_fsync,
	.unlocked_ioctl = vexfs_ioctl,
	/* Every uapi struct has one layout for 32- and 64-bit callers. */
	.compat_ioctl = compat_ptr_ioctl,
	.release = vexfs_dir_release,
};
