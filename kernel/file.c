// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Regular files. In this first version data moves between user memory and
 * the core through a kernel bounce buffer, one chunk per core call, with
 * the user copy done outside the sb lock. The page cache path
 * (address_space_operations over the core's block mapping) replaces it
 * once the core exports its mapping call; mmap is not offered until then.
 */
/* linux/falloc.h needs the types linux/fs.h brings in. */
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/mm.h>
#include <linux/uio.h>

#include "vexfs.h"

#define VEXFS_IO_CHUNK (64 * 1024)

static ssize_t vexfs_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	struct super_block *sb = inode->i_sb;
	size_t chunk = min_t(size_t, iov_iter_count(to), VEXFS_IO_CHUNK);
	ssize_t total = 0;
	int err = 0;
	u8 *buf;

	if (!chunk)
		return 0;
	buf = kvmalloc(chunk, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	while (iov_iter_count(to)) {
		size_t want = min_t(size_t, iov_iter_count(to), chunk);
		size_t copied;
		s64 n;

		n = vexfs_read(vexfs_lock(sb), inode->i_ino, iocb->ki_pos, buf, want);
		vexfs_unlock(sb);
		if (n < 0) {
			err = n;
			break;
		}
		if (n == 0)
			break;
		copied = copy_to_iter(buf, n, to);
		iocb->ki_pos += copied;
		total += copied;
		if (copied < n) {
			err = -EFAULT;
			break;
		}
		if (n < want)
			break; /* end of file */
	}
	kvfree(buf);
	return total ? total : err;
}

static ssize_t vexfs_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	struct super_block *sb = inode->i_sb;
	struct vexfs_stat st;
	ssize_t total = 0, ret;
	size_t chunk;
	int err = 0;
	u8 *buf;

	inode_lock(inode);
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto unlock;
	ret = file_remove_privs(file);
	if (ret)
		goto unlock;
	chunk = min_t(size_t, iov_iter_count(from), VEXFS_IO_CHUNK);
	buf = kvmalloc(chunk, GFP_KERNEL);
	if (!buf) {
		ret = -ENOMEM;
		goto unlock;
	}
	while (iov_iter_count(from)) {
		size_t want = min_t(size_t, iov_iter_count(from), chunk);
		size_t got = copy_from_iter(buf, want, from);
		s64 n;

		if (!got) {
			err = -EFAULT;
			break;
		}
		n = vexfs_write(vexfs_lock(sb), inode->i_ino, iocb->ki_pos, buf, got,
				vexfs_now(), &st);
		vexfs_unlock(sb);
		if (n < 0) {
			iov_iter_revert(from, got);
			err = n;
			break;
		}
		vexfs_refresh_inode(inode, &st);
		iocb->ki_pos += n;
		total += n;
		if (n < got) {
			iov_iter_revert(from, got - n);
			break;
		}
	}
	kvfree(buf);
	ret = total ? total : err;
unlock:
	inode_unlock(inode);
	if (ret > 0)
		ret = generic_write_sync(iocb, ret);
	return ret;
}

static long vexfs_fallocate_op(struct file *file, int mode, loff_t offset, loff_t len)
{
	struct inode *inode = file_inode(file);
	struct super_block *sb = inode->i_sb;
	struct vexfs_stat st;
	int err;

	BUILD_BUG_ON(VEXFS_FALLOC_KEEP_SIZE != FALLOC_FL_KEEP_SIZE);
	BUILD_BUG_ON(VEXFS_FALLOC_PUNCH_HOLE != FALLOC_FL_PUNCH_HOLE);
	BUILD_BUG_ON(VEXFS_FALLOC_ZERO_RANGE != FALLOC_FL_ZERO_RANGE);
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;

	inode_lock(inode);
	if (!(mode & FALLOC_FL_KEEP_SIZE)) {
		err = inode_newsize_ok(inode, offset + len);
		if (err)
			goto out;
	}
	err = file_modified(file);
	if (err)
		goto out;
	err = vexfs_fallocate(vexfs_lock(sb), inode->i_ino, offset, len, mode,
			      vexfs_now(), &st);
	vexfs_unlock(sb);
	if (!err)
		vexfs_refresh_inode(inode, &st);
out:
	inode_unlock(inode);
	return err;
}

static int vexfs_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	struct super_block *sb = file_inode(file)->i_sb;
	int err = vexfs_sync(vexfs_lock(sb));

	vexfs_unlock(sb);
	return err;
}

const struct file_operations vexfs_file_ops = {
	.llseek = generic_file_llseek,
	.read_iter = vexfs_read_iter,
	.write_iter = vexfs_write_iter,
	/* The core's open count follows the VFS inode (vexfs_iget/evict). */
	.open = generic_file_open,
	.fsync = vexfs_fsync,
	.fallocate = vexfs_fallocate_op,
	.splice_read = generic_file_splice_read,
	.splice_write = iter_file_splice_write,
};
