// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The block device as the Rust core sees it: byte-addressed reads, writes
 * and a flush, carried out with buffer heads on the superblock's device.
 * The core only asks for whole filesystem blocks; these helpers accept any
 * range anyway (partial buffers are read first), so the buffer size can
 * be chosen for speed alone.
 */
#include <linux/blkdev.h>
#include <linux/buffer_head.h>

#include "vexfs.h"

static int vexfs_bdev_read(void *ctx, u64 off, u8 *buf, size_t len)
{
	struct super_block *sb = ctx;
	unsigned int bsize = sb->s_blocksize;

	while (len) {
		sector_t blk = off >> sb->s_blocksize_bits;
		unsigned int in = off & (bsize - 1);
		size_t n = min_t(size_t, len, bsize - in);
		struct buffer_head *bh = sb_bread(sb, blk);

		if (!bh)
			return -EIO;
		memcpy(buf, bh->b_data + in, n);
		brelse(bh);
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int vexfs_bdev_write(void *ctx, u64 off, const u8 *buf, size_t len)
{
	struct super_block *sb = ctx;
	unsigned int bsize = sb->s_blocksize;

	while (len) {
		sector_t blk = off >> sb->s_blocksize_bits;
		unsigned int in = off & (bsize - 1);
		size_t n = min_t(size_t, len, bsize - in);
		struct buffer_head *bh;

		/* A whole buffer needs no read; a partial one does. */
		bh = (in == 0 && n == bsize) ? sb_getblk(sb, blk) : sb_bread(sb, blk);
		if (!bh)
			return -EIO;
		lock_buffer(bh);
		memcpy(bh->b_data + in, buf, n);
		set_buffer_uptodate(bh);
		unlock_buffer(bh);
		mark_buffer_dirty(bh);
		brelse(bh);
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * The core calls flush after each commit that must be durable: write
 * back every dirty buffer of the device, wait, then flush the disk cache.
 */
static int vexfs_bdev_flush(void *ctx)
{
	struct super_block *sb = ctx;
	int err = sync_blockdev(sb->s_bdev);

	if (err)
		return err;
	return blkdev_issue_flush(sb->s_bdev);
}

/*
 * File data and the block device's cache. File data moves between the
 * file's page cache and the disk with bios of its own, so a buffer of the
 * block device may hold an old copy of a data block. The core reads data
 * blocks through this file only to zero part of one in place (truncate,
 * hole punch): before that the block's cached copy is marked stale, so
 * the read comes from the disk, where the page cache has just written
 * it; after that the zeroed copy is written and waited for, so the file's
 * page cache, which reads the disk, sees it. A dirty copy is left alone:
 * it is newer than the disk.
 */
void vexfs_bdev_forget(struct super_block *sb, u64 block)
{
	struct buffer_head *bh = sb_find_get_block(sb, block);

	if (!bh)
		return;
	lock_buffer(bh);
	if (!buffer_dirty(bh))
		clear_buffer_uptodate(bh);
	unlock_buffer(bh);
	brelse(bh);
}

int vexfs_bdev_write_block(struct super_block *sb, u64 block)
{
	struct buffer_head *bh = sb_find_get_block(sb, block);
	int err = 0;

	if (!bh)
		return 0;
	if (buffer_dirty(bh)) {
		write_dirty_buffer(bh, REQ_SYNC);
		wait_on_buffer(bh);
		if (!buffer_uptodate(bh))
			err = -EIO;
	}
	brelse(bh);
	return err;
}

const struct vexfs_dev_ops vexfs_bdev_ops = {
	.read = vexfs_bdev_read,
	.write = vexfs_bdev_write,
	.flush = vexfs_bdev_flush,
};
