// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The vector ioctls of include/uapi/vexfs.h on directories. Each command
 * carries one fixed-size struct whose size the command number encodes:
 * it is copied into a kernel buffer before the sb lock is taken, the core
 * (Fs::vector_ioctl, the same code vexfs-fuse calls) decodes and answers
 * it under the lock, and the reply is copied back after the lock is
 * dropped. The C side decodes nothing but the command number and, after a
 * bulk set, the names it touched (to keep the dcache in step).
 *
 * Every open directory gets its query state (a staged long vector, the
 * last results for paging) on its first ioctl, in file->private_data,
 * freed at release: the FUSE daemon keeps the same per open handle. The
 * same handle keeps the buffers a command is copied into and answered in,
 * so a search allocates nothing here after the first: ioctls on one open
 * file take its mutex, one at a time (they would queue on the sb lock
 * anyway).
 *
 * Floats: the core is built soft-float (kernel/README.md) and may sleep
 * anywhere under the lock; only its distance kernels run with SSE2, each
 * call in its own FPU section (fpu.c), so no section spans this code.
 */
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vexfs.h"
#include "vexfs_uapi.h"

/* Whether cmd is one the uapi header defines (anything else: -ENOTTY). */
static bool vexfs_known_cmd(unsigned int cmd)
{
	switch (cmd) {
	case VEXFS_IOC_SEARCH:
	case VEXFS_IOC_STAGE_VECTOR:
	case VEXFS_IOC_RESULTS:
	case VEXFS_IOC_BULK_SET:
	case VEXFS_IOC_INDEX_CREATE:
	case VEXFS_IOC_INDEX_DROP:
	case VEXFS_IOC_INDEX_REBUILD:
	case VEXFS_IOC_INDEX_SAVE:
	case VEXFS_IOC_INDEX_STATS:
	case VEXFS_IOC_SEARCH_BATCH:
		return true;
	}
	return false;
}

/* Commands that change the filesystem: they need write access to the mount. */
static bool vexfs_cmd_writes(unsigned int cmd)
{
	switch (cmd) {
	case VEXFS_IOC_BULK_SET:
	case VEXFS_IOC_INDEX_CREATE:
	case VEXFS_IOC_INDEX_DROP:
	case VEXFS_IOC_INDEX_REBUILD:
	case VEXFS_IOC_INDEX_SAVE:
		return true;
	}
	return false;
}

/* Every struct a command carries: the union is as large as the largest. */
union vexfs_ioc_arg {
	struct vexfs_search search;
	struct vexfs_results results;
	struct vexfs_bulk bulk;
	struct vexfs_vector_chunk chunk;
	struct vexfs_index_config config;
	struct vexfs_index_stats stats;
	struct vexfs_search_batch batch;
};

/* _IOC_SIZE of a known command never exceeds this. */
#define VEXFS_IOC_ARG_MAX sizeof(union vexfs_ioc_arg)

/* What an open directory keeps for its ioctls (file->private_data). */
struct vexfs_dir_handle {
	struct vexfs_session *session;
	struct mutex lock; /* held across one ioctl: it owns the buffers */
	u8 in[VEXFS_IOC_ARG_MAX];
	u8 out[VEXFS_IOC_ARG_MAX];
};

static void vexfs_dir_handle_free(struct vexfs_dir_handle *h)
{
	if (!h)
		return;
	vexfs_session_free(h->session);
	mutex_destroy(&h->lock);
	kvfree(h);
}

/* The directory file's ioctl state, made on first use. */
static struct vexfs_dir_handle *vexfs_file_handle(struct file *file)
{
	struct vexfs_dir_handle *h = READ_ONCE(file->private_data);
	struct vexfs_dir_handle *old;

	if (h)
		return h;
	h = kvmalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return NULL;
	h->session = vexfs_session_new();
	if (!h->session) {
		kvfree(h);
		return NULL;
	}
	mutex_init(&h->lock);
	/* Two first ioctls racing on one file: keep one handle. */
	old = cmpxchg(&file->private_data, NULL, h);
	if (old) {
		vexfs_dir_handle_free(h);
		return old;
	}
	return h;
}

int vexfs_dir_release(struct inode *inode, struct file *file)
{
	vexfs_dir_handle_free(file->private_data);
	file->private_data = NULL;
	return 0;
}

/*
 * The caller as the core sees it. The core has one privilege, "passes
 * every check"; CAP_DAC_OVERRIDE (read and search anything) or CAP_FOWNER
 * (act as any file's owner) grant it, as they would on the VFS paths.
 * Supplementary groups are copied out only for unprivileged callers.
 */
static int vexfs_make_caller(struct inode *dir, struct vexfs_caller *c,
			     u32 **groups)
{
	struct group_info *gi;
	int i;

	memset(c, 0, sizeof(*c));
	*groups = NULL;
	c->uid = from_kuid(&init_user_ns, current_fsuid());
	c->gid = from_kgid(&init_user_ns, current_fsgid());
	if (capable_wrt_inode_uidgid(&init_user_ns, dir, CAP_DAC_OVERRIDE) ||
	    capable_wrt_inode_uidgid(&init_user_ns, dir, CAP_FOWNER)) {
		c->flags = VEXFS_CALLER_PRIVILEGED;
		return 0;
	}
	gi = get_current_groups();
	if (gi->ngroups > 0) {
		*groups = kvmalloc_array(gi->ngroups, sizeof(u32), GFP_KERNEL);
		if (!*groups) {
			put_group_info(gi);
			return -ENOMEM;
		}
		for (i = 0; i < gi->ngroups; i++)
			(*groups)[i] = from_kgid(&init_user_ns, gi->gid[i]);
		c->ngroups = gi->ngroups;
		c->groups = *groups;
	}
	put_group_info(gi);
	return 0;
}

/* Refresh a cached inode from the core; the caller holds the sb lock. */
static void vexfs_ioctl_reload(struct vexfs_fs *fs, struct inode *inode)
{
	struct vexfs_stat st;

	if (!vexfs_getattr(fs, inode->i_ino, &st))
		vexfs_refresh_inode(inode, &st);
}

/*
 * After a bulk set (run under the directory's i_rwsem, like create): each
 * named file may have been created (a cached negative dentry must go) or
 * had its embedding and ctime changed (a cached inode is refreshed).
 */
static void vexfs_bulk_sync_dcache(struct dentry *parent,
				   const struct vexfs_bulk *b)
{
	struct super_block *sb = parent->d_sb;
	u32 len = min_t(u32, b->names_len, VEXFS_BULK_DATA);
	u32 pos = 0;

	while (pos < len) {
		const char *name = (const char *)b->data + pos;
		size_t n = strnlen(name, len - pos);
		struct qstr q = QSTR_INIT(name, n);
		struct dentry *d;

		pos += n + 1;
		if (!n || n > NAME_MAX)
			continue;
		d = d_hash_and_lookup(parent, &q);
		if (IS_ERR_OR_NULL(d))
			continue;
		if (d_really_is_negative(d)) {
			d_drop(d);
		} else {
			vexfs_ioctl_reload(vexfs_lock(sb), d_inode(d));
			vexfs_unlock(sb);
		}
		dput(d);
	}
}

long vexfs_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct inode *inode = file_inode(file);
	struct super_block *sb = inode->i_sb;
	void __user *uarg = (void __user *)arg;
	size_t size = _IOC_SIZE(cmd), in_len, out_len;
	bool writes = vexfs_cmd_writes(cmd);
	struct vexfs_dir_handle *h;
	struct vexfs_caller caller;
	u8 *in = NULL, *out = NULL;
	u32 *groups = NULL;
	struct vexfs_fs *fs;
	long ret;

	if (!vexfs_known_cmd(cmd))
		return -ENOTTY;
	if (size > VEXFS_IOC_ARG_MAX)
		return -EINVAL;
	in_len = (_IOC_DIR(cmd) & _IOC_WRITE) ? size : 0;
	out_len = (_IOC_DIR(cmd) & _IOC_READ) ? size : 0;

	h = vexfs_file_handle(file);
	if (!h)
		return -ENOMEM;
	ret = vexfs_make_caller(inode, &caller, &groups);
	if (ret)
		return ret;
	if (mutex_lock_interruptible(&h->lock)) {
		kvfree(groups);
		return -EINTR;
	}
	if (in_len) {
		in = h->in;
		ret = -EFAULT;
		if (copy_from_user(in, uarg, in_len))
			goto out_free;
	}
	if (out_len)
		out = h->out;
	if (writes) {
		ret = mnt_want_write_file(file);
		if (ret)
			goto out_free;
	}
	if (cmd == VEXFS_IOC_BULK_SET)
		inode_lock(inode);

	fs = vexfs_lock(sb);
	ret = vexfs_vector_ioctl(fs, inode->i_ino, cmd, in, in_len, out, out_len,
				 h->session, &caller, vexfs_now());
	if (ret >= 0 && writes)
		vexfs_ioctl_reload(fs, inode);
	/* Any of them may have changed or loaded an index with pending rows. */
	vexfs_index_kick_locked(sb, fs);
	vexfs_unlock(sb);

	if (cmd == VEXFS_IOC_BULK_SET) {
		if (ret >= 0)
			vexfs_bulk_sync_dcache(file->f_path.dentry,
					       (const struct vexfs_bulk *)in);
		inode_unlock(inode);
	}
	if (writes)
		mnt_drop_write_file(file);
	if (ret < 0)
		goto out_free;
	/* The core answers with the whole struct, or nothing. */
	if (ret && ret != out_len) {
		ret = -EINVAL;
		goto out_free;
	}
	/* No answer: the caller reads zeros, not an earlier command's reply. */
	if (!ret && out_len)
		memset(out, 0, out_len);
	ret = 0;
	if (out_len && copy_to_user(uarg, out, out_len))
		ret = -EFAULT;
out_free:
	mutex_unlock(&h->lock);
	kvfree(groups);
	return ret;
}
