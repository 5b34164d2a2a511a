// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Extended attributes: the user., trusted. and security. namespaces, each
 * stored by the core in the inode's attribute blob, and the VFS's own
 * handlers for system.posix_acl_access and _default, which reach the core
 * through the ACL inode operations (acl.c). The
 * embedding of a file is the attribute user.vexfs.embedding; setting it
 * updates the vector index covering the file inside the same core call.
 *
 * Permission checks are the VFS's (xattr_permission: trusted. needs
 * CAP_SYS_ADMIN, user. only on regular files and directories, inode
 * permission for the rest). The VFS also moves values between user memory
 * and the kernel buffers these handlers see, so the sb lock is never held
 * over user memory here.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/posix_acl_xattr.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/xattr.h>

#include "vexfs.h"

static int vexfs_xattr_get(const struct xattr_handler *handler,
			   struct dentry *dentry, struct inode *inode,
			   const char *name, void *buffer, size_t size)
{
	const char *full = xattr_full_name(handler, name);
	struct super_block *sb = inode->i_sb;
	s64 n;

	n = vexfs_getxattr(vexfs_lock(sb), inode->i_ino, full, strlen(full),
			   buffer, buffer ? size : 0);
	vexfs_unlock(sb);
	return n;
}

static int vexfs_xattr_set(const struct xattr_handler *handler,
			   struct user_namespace *mnt_userns,
			   struct dentry *dentry, struct inode *inode,
			   const char *name, const void *value, size_t size,
			   int flags)
{
	const char *full = xattr_full_name(handler, name);
	struct super_block *sb = inode->i_sb;
	struct vexfs_stat st;
	struct vexfs_fs *fs;
	u32 vflags = 0;
	int err;

	if (flags & XATTR_CREATE)
		vflags |= VEXFS_XATTR_CREATE;
	if (flags & XATTR_REPLACE)
		vflags |= VEXFS_XATTR_REPLACE;
	fs = vexfs_lock(sb);
	if (value)
		err = vexfs_setxattr(fs, inode->i_ino, full, strlen(full), value,
				     size, vflags, vexfs_now(), &st);
	else /* removexattr(2) arrives as a set without a value */
		err = vexfs_removexattr(fs, inode->i_ino, full, strlen(full),
					vexfs_now(), &st);
	if (!err) {
		vexfs_refresh_inode(inode, &st); /* ctime moved */
		vexfs_index_kick_locked(sb, fs); /* an embedding may have changed */
	}
	vexfs_unlock(sb);
	return err;
}

static bool vexfs_trusted_list(struct dentry *dentry)
{
	return capable(CAP_SYS_ADMIN);
}

static const struct xattr_handler vexfs_user_handler = {
	.prefix = XATTR_USER_PREFIX,
	.get = vexfs_xattr_get,
	.set = vexfs_xattr_set,
};

static const struct xattr_handler vexfs_trusted_handler = {
	.prefix = XATTR_TRUSTED_PREFIX,
	.list = vexfs_trusted_list,
	.get = vexfs_xattr_get,
	.set = vexfs_xattr_set,
};

static const struct xattr_handler vexfs_security_handler = {
	.prefix = XATTR_SECURITY_PREFIX,
	.get = vexfs_xattr_get,
	.set = vexfs_xattr_set,
};

const struct xattr_handler *vexfs_xattr_handlers[] = {
	&vexfs_user_handler,
	&vexfs_trusted_handler,
	&vexfs_security_handler,
	&posix_acl_access_xattr_handler,
	&posix_acl_default_xattr_handler,
	NULL,
};

/* Whether the caller may see attribute `name` in a listing. */
static bool vexfs_xattr_visible(const char *name, bool admin)
{
	return admin || strncmp(name, XATTR_TRUSTED_PREFIX,
				XATTR_TRUSTED_PREFIX_LEN) != 0;
}

/*
 * listxattr(2): the core's whole list, minus trusted. names for callers
 * without CAP_SYS_ADMIN (as generic_listxattr does through ->list). The
 * list is read into a private buffer under the lock and filtered after.
 */
ssize_t vexfs_listxattr_op(struct dentry *dentry, char *buf, size_t size)
{
	struct inode *inode = d_inode(dentry);
	struct super_block *sb = inode->i_sb;
	bool admin = capable(CAP_SYS_ADMIN);
	struct vexfs_fs *fs;
	size_t used = 0, pos = 0;
	char *all = NULL;
	s64 len;

	fs = vexfs_lock(sb);
	len = vexfs_listxattr(fs, inode->i_ino, NULL, 0);
	if (len > 0) {
		all = kvmalloc(len, GFP_KERNEL);
		if (!all)
			len = -ENOMEM;
		else
			len = vexfs_listxattr(fs, inode->i_ino, all, len);
	}
	vexfs_unlock(sb);
	if (len <= 0)
		goto out;

	while (pos < len) {
		size_t n = strnlen(all + pos, len - pos);

		if (pos + n >= len) /* the core NUL-terminates every name */
			break;
		if (vexfs_xattr_visible(all + pos, admin)) {
			if (buf) {
				if (used + n + 1 > size) {
					len = -ERANGE;
					goto out;
				}
				memcpy(buf + used, all + pos, n + 1);
			}
			used += n + 1;
		}
		pos += n + 1;
	}
	len = used;
out:
	kvfree(all);
	return len;
}
