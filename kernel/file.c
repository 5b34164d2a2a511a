// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Regular files, two ways (vexfs_sb_info.pagecache picks one per mount):
 *
 * - through the page cache (vexfs_file_pagecache_ops): the generic read,
 *   write and splice paths over the address space operations of aops.c,
 *   mappings through mmap.c; the core learns the size and mtime a write(2) reached at its
 *   end (vexfs_extend_size, when they changed), and fsync writes the
 *   pages back before it commits the core's journal;
 * - through a kernel bounce buffer (vexfs_file_ops, the first version,
 *   kept for blocks larger than a page and as a fallback): data moves
 *   between user memory and the core one chunk per core call, the user
 *   copy done outside the sb lock; no mmap.
 */
/* linux/falloc.h needs the types linux/fs.h brings in. */
#include <linux/fs.h>
#include <linux/buffer_head.h>
#include <linux/falloc.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
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

/*
 * fallocate. With the page cache, a punch or zero range first writes the
 * edge pages back and drops the cached pages of the range, and the core's
 * in-place zeroing of partial edge blocks is made coherent with it (see
 * vexfs_remap_begin); a plain allocation leaves cached pages valid (holes
 * become unwritten extents, which read as zeros all the same).
 */
static long vexfs_fallocate_op(struct file *file, int mode, loff_t offset, loff_t len)
{
	struct inode *inode = file_inode(file);
	struct address_space *mapping = inode->i_mapping;
	struct super_block *sb = inode->i_sb;
	bool pc = vexfs_pagecache(inode);
	bool remap = pc && (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE));
	struct vexfs_remap r = { 0 };
	loff_t end, zero_end, old;
	struct vexfs_stat st;
	struct vexfs_fs *fs;
	int err, io_err = 0;

	BUILD_BUG_ON(VEXFS_FALLOC_KEEP_SIZE != FALLOC_FL_KEEP_SIZE);
	BUILD_BUG_ON(VEXFS_FALLOC_PUNCH_HOLE != FALLOC_FL_PUNCH_HOLE);
	BUILD_BUG_ON(VEXFS_FALLOC_ZERO_RANGE != FALLOC_FL_ZERO_RANGE);
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if (check_add_overflow(offset, len, &end))
		return -EFBIG;

	inode_lock(inode);
	if (!(mode & FALLOC_FL_KEEP_SIZE)) {
		err = inode_newsize_ok(inode, end);
		if (err)
			goto out;
	}
	err = file_modified(file);
	if (err)
		goto out;
	if (pc)
		filemap_invalidate_lock(mapping);
	old = i_size_read(inode);
	/* Growing: the old last page's bytes past the size become zeros. */
	if (pc && !(mode & FALLOC_FL_KEEP_SIZE) && end > old)
		err = filemap_write_and_wait_range(mapping, old, old);
	if (!err && remap)
		err = vexfs_remap_begin(inode, offset, end);
	if (err)
		goto out_unlock;
	/* A zero range that keeps the size zeroes in place up to it only. */
	zero_end = end;
	if ((mode & FALLOC_FL_ZERO_RANGE) && (mode & FALLOC_FL_KEEP_SIZE))
		zero_end = min(end, old);
	fs = vexfs_lock(sb);
	if (remap && offset < zero_end)
		vexfs_remap_edges(fs, inode, offset, zero_end, &r);
	err = vexfs_fallocate(fs, inode->i_ino, offset, len, mode, vexfs_now(), &st);
	if (!err)
		io_err = vexfs_remap_end(inode, &r);
	vexfs_unlock(sb);
	if (!err) {
		vexfs_refresh_inode(inode, &st);
		err = io_err;
	}
out_unlock:
	if (pc)
		filemap_invalidate_unlock(mapping);
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

/*
 * Blocks for an append, in as few core calls as the allocator allows
 * (each up to a whole run) instead of one per block from write_begin:
 * the whole blocks the write covers at or past the end of the file, so
 * nothing of the file is in them and the write overwrites each entirely
 * (write_begin then finds them mapped and reads nothing). Fresh blocks
 * get what write_begin would have done for them: any buffer the block
 * device still holds for them is dropped (clean_bdev_aliases). On an
 * error the rest is left to write_begin, which reports it.
 */
static void vexfs_alloc_append(struct inode *inode, loff_t pos, size_t count)
{
	struct super_block *sb = inode->i_sb;
	unsigned int bits = inode->i_blkbits;
	loff_t from = max_t(loff_t, pos, round_up(i_size_read(inode), i_blocksize(inode)));
	u64 lblk = (from + i_blocksize(inode) - 1) >> bits;
	u64 end = (u64)(pos + count) >> bits;
	struct vexfs_map m;

	while (lblk < end) {
		int err = vexfs_map_blocks(vexfs_lock(sb), inode->i_ino, lblk, end - lblk,
					   VEXFS_MAP_CREATE, &m);

		vexfs_unlock(sb);
		if (err || !m.len)
			break; /* write_begin allocates the rest, or reports the error */
		if (m.flags & VEXFS_MAP_NEW) {
			clean_bdev_aliases(sb->s_bdev, m.physical, m.len);
			spin_lock(&inode->i_lock);
			inode->i_blocks = m.blocks_512;
			spin_unlock(&inode->i_lock);
		}
		lblk += min_t(u64, m.len, end - lblk);
	}
}

/*
 * A write that extended the file and stopped short may have mapped blocks
 * past the new end (vexfs_alloc_append, write_begin) that no data reached,
 * holding stale contents: unmap them (a punch that keeps the size; both
 * edges are whole blocks, so nothing is zeroed in place).
 */
static void vexfs_write_short(struct inode *inode, loff_t alloc_end)
{
	struct super_block *sb = inode->i_sb;
	loff_t from = round_up(i_size_read(inode), i_blocksize(inode));
	struct vexfs_stat st;
	int err;

	if (alloc_end <= from)
		return;
	truncate_pagecache(inode, i_size_read(inode));
	err = vexfs_fallocate(vexfs_lock(sb), inode->i_ino, from, alloc_end - from,
			      VEXFS_FALLOC_PUNCH_HOLE | VEXFS_FALLOC_KEEP_SIZE, vexfs_now(), &st);
	vexfs_unlock(sb);
	if (!err)
		vexfs_refresh_inode(inode, &st);
}

/*
 * A buffered write: the generic path under i_rwsem (it grows i_size in
 * write_end, block by block, and sets mtime with the coarse clock), then
 * one core call gives the core the new size and that mtime, when either
 * changed: most small overwrites change neither, and take no core call.
 * i_rwsem keeps truncate out in between.
 */
static ssize_t vexfs_pagecache_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	struct super_block *sb = inode->i_sb;
	loff_t size, want;
	struct timespec64 mtime;
	struct vexfs_stat st;
	ssize_t ret;
	int err;

	inode_lock(inode);
	size = i_size_read(inode);
	mtime = inode->i_mtime;
	ret = generic_write_checks(iocb, from);
	if (ret > 0) {
		want = iocb->ki_pos + ret;
		vexfs_alloc_append(inode, iocb->ki_pos, ret);
		ret = __generic_file_write_iter(iocb, from);
		if (want > max(size, i_size_read(inode)))
			vexfs_write_short(inode, round_up(want, i_blocksize(inode)));
	}
	if (ret > 0 && (i_size_read(inode) != size ||
			!timespec64_equal(&inode->i_mtime, &mtime))) {
		struct vexfs_time now = {
			.sec = inode->i_mtime.tv_sec,
			.nsec = inode->i_mtime.tv_nsec,
		};

		err = vexfs_extend_size(vexfs_lock(sb), inode->i_ino, i_size_read(inode),
					now, &st);
		vexfs_unlock(sb);
		if (err)
			ret = err;
		else
			vexfs_refresh_inode(inode, &st);
	}
	inode_unlock(inode);
	if (ret > 0)
		ret = generic_write_sync(iocb, ret);
	return ret;
}

/* The pages first (data before the metadata that maps it), then the core. */
static int vexfs_pagecache_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	int err = file_write_and_wait_range(file, start, end);

	if (err)
		return err;
	return vexfs_fsync(file, start, end, datasync);
}

const struct file_operations vexfs_file_pagecache_ops = {
	.llseek = generic_file_llseek,
	.read_iter = generic_file_read_iter,
	.write_iter = vexfs_pagecache_write_iter,
	.mmap = vexfs_file_mmap,
	.open = generic_file_open,
	.fsync = vexfs_pagecache_fsync,
	.fallocate = vexfs_fallocate_op,
	.splice_read = generic_file_splice_read,
	.splice_write = iter_file_splice_write,
};
