// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Regular file data through the page cache: address_space_operations
 * over the core's block mapping (vexfs_map_blocks, a get_block call).
 *
 * The page cache owns file data; the core owns the mapping. Reads and
 * writeback move whole blocks with the generic buffer-head and mpage
 * helpers straight to the device. The core is entered only to map (and,
 * for writes, allocate) blocks, so cached reads never take the sb lock.
 *
 * Lock order: page (folio) lock -> sb lock -> the block device's buffer
 * locks. The helpers below call vexfs_get_block with the folio locked;
 * nothing done under the sb lock ever waits for a file folio.
 */
#include <linux/buffer_head.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mpage.h>
#include <linux/pagemap.h>
#include <linux/writeback.h>

#include "vexfs.h"

/*
 * Map bh->b_size bytes of blocks from iblock. Holes and unwritten extents
 * are left unmapped for reads (the helpers zero them). For writes the
 * core allocates or converts within one journaled operation; fresh blocks
 * are flagged new, so the helpers zero what the write does not cover and
 * drop any stale buffer of the block device for them (clean_bdev_aliases:
 * a block freed as metadata may still have a dirty buffer there).
 */
int vexfs_get_block(struct inode *inode, sector_t iblock,
		    struct buffer_head *bh, int create)
{
	struct super_block *sb = inode->i_sb;
	u64 max = max_t(u64, bh->b_size >> inode->i_blkbits, 1);
	struct vexfs_map m;
	int err;

	err = vexfs_map_blocks(vexfs_lock(sb), inode->i_ino, iblock, max,
			       create ? VEXFS_MAP_CREATE : 0, &m);
	vexfs_unlock(sb);
	if (err)
		return err;
	if (!(m.flags & VEXFS_MAP_MAPPED) || (m.flags & VEXFS_MAP_UNWRITTEN))
		return 0;
	map_bh(bh, sb, m.physical);
	bh->b_size = min_t(u64, m.len, max) << inode->i_blkbits;
	if (m.flags & VEXFS_MAP_NEW) {
		set_buffer_new(bh);
		spin_lock(&inode->i_lock);
		inode->i_blocks = m.blocks_512;
		spin_unlock(&inode->i_lock);
	}
	return 0;
}

static int vexfs_read_folio(struct file *file, struct folio *folio)
{
	return mpage_read_folio(folio, vexfs_get_block);
}

static void vexfs_readahead(struct readahead_control *rac)
{
	mpage_readahead(rac, vexfs_get_block);
}

static int vexfs_writepage(struct page *page, struct writeback_control *wbc)
{
	return block_write_full_page(page, vexfs_get_block, wbc);
}

static int vexfs_writepages(struct address_space *mapping,
			    struct writeback_control *wbc)
{
	return mpage_writepages(mapping, wbc, vexfs_get_block);
}

/*
 * A failed or short write may have allocated blocks past i_size that no
 * data reached: drop the pages there. The blocks stay mapped in the core
 * until the next truncate (see kernel/README.md).
 */
static void vexfs_write_failed(struct address_space *mapping, loff_t to)
{
	struct inode *inode = mapping->host;

	if (to > inode->i_size)
		truncate_pagecache(inode, inode->i_size);
}

static int vexfs_write_begin(struct file *file, struct address_space *mapping,
			     loff_t pos, unsigned int len, struct page **pagep,
			     void **fsdata)
{
	int err = block_write_begin(mapping, pos, len, pagep, vexfs_get_block);

	if (err < 0)
		vexfs_write_failed(mapping, pos + len);
	return err;
}

/* i_size grows here (under the folio lock); the core learns it per write(2). */
static int vexfs_write_end(struct file *file, struct address_space *mapping,
			   loff_t pos, unsigned int len, unsigned int copied,
			   struct page *page, void *fsdata)
{
	int n = generic_write_end(file, mapping, pos, len, copied, page, fsdata);

	if (n < len)
		vexfs_write_failed(mapping, pos + len);
	return n;
}

/*
 * O_DIRECT: the generic block-device path over the same mapping, from and
 * to user memory with no page cache copy. Writes into holes inside the
 * file (DIO_SKIP_HOLES) come back short and the generic write path does
 * the rest buffered; blocks past the end are allocated here (flagged new,
 * so a partial block is zeroed around the data). i_size grows in
 * generic_file_direct_write; vexfs_pagecache_write_iter then tells the
 * core, and unmaps blocks a short extending write left past the end.
 * Reads first write back dirty pages of the range (the generic code), so
 * they see what buffered writes left there.
 */
static ssize_t vexfs_direct_IO(struct kiocb *iocb, struct iov_iter *iter)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	loff_t end = iocb->ki_pos + iov_iter_count(iter);
	ssize_t ret = blockdev_direct_IO(iocb, inode, iter, vexfs_get_block);

	if (ret < 0 && iov_iter_rw(iter) == WRITE)
		vexfs_write_failed(inode->i_mapping, end);
	return ret;
}

static sector_t vexfs_bmap(struct address_space *mapping, sector_t block)
{
	return generic_block_bmap(mapping, block, vexfs_get_block);
}

const struct address_space_operations vexfs_aops = {
	.dirty_folio = block_dirty_folio,
	.invalidate_folio = block_invalidate_folio,
	.read_folio = vexfs_read_folio,
	.readahead = vexfs_readahead,
	.writepage = vexfs_writepage,
	.writepages = vexfs_writepages,
	.write_begin = vexfs_write_begin,
	.write_end = vexfs_write_end,
	.bmap = vexfs_bmap,
	.direct_IO = vexfs_direct_IO,
	.migrate_folio = buffer_migrate_folio,
	.is_partially_uptodate = block_is_partially_uptodate,
	.error_remove_page = generic_error_remove_page,
};

/*
 * Truncate, hole punch and zero range change the mapping under the page
 * cache, and the core zeroes a partial block at either edge in place
 * through the block device. vexfs_remap_begin (page cache, no sb lock)
 * writes the edges back and drops the cached pages of [start, end)
 * (a truncate, end == LLONG_MAX, also sets i_size to start);
 * vexfs_remap_edges (under the sb lock, before the core call) marks the
 * block device's copies of the edge blocks stale; vexfs_remap_end (under
 * the sb lock, after it) writes the zeroed edges out. The caller holds
 * i_rwsem and the mapping's invalidate_lock, so no write(2) or page fault
 * brings pages back meanwhile. end is exclusive.
 */
int vexfs_remap_begin(struct inode *inode, loff_t start, loff_t end)
{
	struct address_space *mapping = inode->i_mapping;
	int err;

	/* Only the edge pages need to reach the disk: the rest is dropped. */
	err = filemap_write_and_wait_range(mapping, start, start);
	if (!err && end != LLONG_MAX)
		err = filemap_write_and_wait_range(mapping, end - 1, end - 1);
	if (err)
		return err;
	if (end == LLONG_MAX)
		truncate_setsize(inode, start);
	else
		truncate_pagecache_range(inode, start, end - 1);
	return 0;
}

void vexfs_remap_edges(struct vexfs_fs *fs, struct inode *inode, loff_t start,
		       loff_t end, struct vexfs_remap *r)
{
	loff_t edge[2] = { start, end };
	unsigned int mask = i_blocksize(inode) - 1;
	struct vexfs_map m;
	int i;

	r->n = 0;
	for (i = 0; i < 2; i++) {
		if (edge[i] == LLONG_MAX || !(edge[i] & mask))
			continue;
		if (vexfs_map_blocks(fs, inode->i_ino, edge[i] >> inode->i_blkbits,
				     1, 0, &m))
			continue; /* the core's own call reports the error */
		if (!(m.flags & VEXFS_MAP_MAPPED) || (m.flags & VEXFS_MAP_UNWRITTEN))
			continue;
		vexfs_bdev_forget(inode->i_sb, m.physical);
		r->block[r->n++] = m.physical;
	}
}

int vexfs_remap_end(struct inode *inode, const struct vexfs_remap *r)
{
	int i, err = 0;

	for (i = 0; i < r->n; i++) {
		int e = vexfs_bdev_write_block(inode->i_sb, r->block[i]);

		if (e && !err)
			err = e;
	}
	return err;
}
