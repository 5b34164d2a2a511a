// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * POSIX ACLs: system.posix_acl_access and system.posix_acl_default.
 *
 * The core stores them as extended attributes in the VFS's xattr form
 * (crates/vexfs-core/src/acl.rs): it validates them, sets the mode's
 * permission bits from an access ACL (and keeps none a mode can say),
 * refuses a default ACL on a non-directory, and brings the access ACL in
 * step on chmod. The VFS does the rest: its handlers
 * (posix_acl_*_xattr_handler, in sb->s_xattr) convert between user
 * memory and struct posix_acl and check the caller may change them; it
 * caches each inode's ACLs and evaluates them in generic_permission.
 *
 * With SB_POSIXACL the VFS leaves the umask to the filesystem: a new node
 * gets its mode and ACLs from posix_acl_create (the parent's default ACL,
 * or the umask when it has none) before the core call, and the ACLs are
 * stored on it in the same locked section as its creation.
 *
 * Ids in the stored form are those of the initial user namespace, as the
 * core keeps uid and gid.
 */
#include <linux/fs.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/xattr.h>

#include "vexfs.h"

static const char *vexfs_acl_name(int type)
{
	switch (type) {
	case ACL_TYPE_ACCESS:
		return XATTR_NAME_POSIX_ACL_ACCESS;
	case ACL_TYPE_DEFAULT:
		return XATTR_NAME_POSIX_ACL_DEFAULT;
	}
	return NULL;
}

/* inode_operations.get_acl: read from the core (the VFS caches it). */
struct posix_acl *vexfs_get_acl(struct inode *inode, int type, bool rcu)
{
	const char *name = vexfs_acl_name(type);
	struct super_block *sb = inode->i_sb;
	struct posix_acl *acl;
	struct vexfs_fs *fs;
	void *buf = NULL;
	s64 n;

	if (rcu)
		return ERR_PTR(-ECHILD); /* the sb lock sleeps */
	if (!name)
		return ERR_PTR(-EINVAL);
	fs = vexfs_lock(sb);
	n = vexfs_getxattr(fs, inode->i_ino, name, strlen(name), NULL, 0);
	if (n > 0) {
		/* Under the lock, so the size cannot change in between. */
		buf = kmalloc(n, GFP_KERNEL);
		n = buf ? vexfs_getxattr(fs, inode->i_ino, name, strlen(name), buf, n)
			: -ENOMEM;
	}
	vexfs_unlock(sb);
	if (n == -ENODATA || n == 0)
		acl = NULL;
	else if (n < 0)
		acl = ERR_PTR(n);
	else
		acl = posix_acl_from_xattr(&init_user_ns, buf, n);
	kfree(buf);
	return acl;
}

/* `acl` in the stored form, in a fresh buffer (*out, *len). */
static int vexfs_acl_encode(const struct posix_acl *acl, void **out, size_t *len)
{
	size_t size = posix_acl_xattr_size(acl->a_count);
	void *buf = kmalloc(size, GFP_KERNEL);
	int n;

	if (!buf)
		return -ENOMEM;
	n = posix_acl_to_xattr(&init_user_ns, acl, buf, size);
	if (n < 0) {
		kfree(buf);
		return n;
	}
	*out = buf;
	*len = n;
	return 0;
}

/*
 * What the VFS caches after a set: an access ACL the mode says in full
 * is not stored by the core, so none is cached either.
 */
static struct posix_acl *vexfs_acl_cached(struct posix_acl *acl, int type)
{
	if (acl && type == ACL_TYPE_ACCESS && posix_acl_equiv_mode(acl, NULL) == 0)
		return NULL;
	return acl;
}

/* inode_operations.set_acl: store (or, for NULL, remove) in the core. */
int vexfs_set_acl(struct user_namespace *mnt_userns, struct inode *inode,
		  struct posix_acl *acl, int type)
{
	const char *name = vexfs_acl_name(type);
	struct super_block *sb = inode->i_sb;
	struct vexfs_stat st;
	struct vexfs_fs *fs;
	void *buf = NULL;
	size_t len = 0;
	int err;

	if (!name)
		return -EINVAL;
	if (acl) {
		err = vexfs_acl_encode(acl, &buf, &len);
		if (err)
			return err;
	}
	fs = vexfs_lock(sb);
	if (acl)
		err = vexfs_setxattr(fs, inode->i_ino, name, strlen(name), buf, len,
				     0, vexfs_now(), &st);
	else
		err = vexfs_removexattr(fs, inode->i_ino, name, strlen(name),
					vexfs_now(), &st);
	if (!err)
		vexfs_refresh_inode(inode, &st); /* mode and ctime moved */
	vexfs_unlock(sb);
	kfree(buf);
	if (err == -ENODATA && !acl)
		err = 0; /* nothing to remove */
	if (!err)
		set_cached_acl(inode, type, vexfs_acl_cached(acl, type));
	return err;
}

/*
 * Before creating a node in `dir` (no sb lock held: this reads the
 * parent's default ACL): its final mode, and the ACLs it inherits in
 * stored form.
 */
int vexfs_acl_prepare(struct inode *dir, umode_t *mode, struct vexfs_new_acls *a)
{
	int err;

	memset(a, 0, sizeof(*a));
	err = posix_acl_create(dir, mode, &a->dflt, &a->access);
	if (err)
		return err;
	if (a->access)
		err = vexfs_acl_encode(a->access, &a->access_x, &a->access_len);
	if (!err && a->dflt)
		err = vexfs_acl_encode(a->dflt, &a->dflt_x, &a->dflt_len);
	if (err)
		vexfs_acl_finish(NULL, a);
	return err;
}

/*
 * Under the sb lock, right after the core created node st->ino: store
 * its inherited ACLs; *st follows. On failure the caller removes the node.
 */
int vexfs_acl_store(struct vexfs_fs *fs, const struct vexfs_new_acls *a,
		    struct vexfs_stat *st)
{
	u64 ino = st->ino;
	int err = 0;

	if (a->access_x)
		err = vexfs_setxattr(fs, ino, XATTR_NAME_POSIX_ACL_ACCESS,
				     strlen(XATTR_NAME_POSIX_ACL_ACCESS), a->access_x,
				     a->access_len, 0, vexfs_now(), st);
	if (!err && a->dflt_x)
		err = vexfs_setxattr(fs, ino, XATTR_NAME_POSIX_ACL_DEFAULT,
				     strlen(XATTR_NAME_POSIX_ACL_DEFAULT), a->dflt_x,
				     a->dflt_len, 0, vexfs_now(), st);
	return err;
}

/* Cache the ACLs on the new inode (when there is one) and free them. */
void vexfs_acl_finish(struct inode *inode, struct vexfs_new_acls *a)
{
	if (inode) {
		set_cached_acl(inode, ACL_TYPE_ACCESS, a->access);
		set_cached_acl(inode, ACL_TYPE_DEFAULT, a->dflt);
	}
	posix_acl_release(a->access);
	posix_acl_release(a->dflt);
	kfree(a->access_x);
	kfree(a->dflt_x);
	memset(a, 0, sizeof(*a));
}
