// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The index insertion worker: the kernel's twin of the FUSE daemon's
 * vexfs-index thread (crates/vexfs-fuse/src/absorber.rs).
 *
 * With it, the core keeps a stored embedding in its index's pending rows
 * (searched exactly, so the file is found at once) and the setxattr or
 * bulk ioctl returns; this delayed work item moves pending rows into the
 * strategy (the HNSW graph, say) once writes to the indexes have paused
 * for one poll interval, one bounded step per run under the sb lock, so
 * other callers get the lock between steps. Without it (index_worker=0)
 * writers insert in batches of 8,192 and before each search.
 *
 * Each run is one step: take the lock, see whether an index changed since
 * the last look (vexfs_vectors_changes) or nothing waits
 * (vexfs_vectors_backlog), else insert up to sbi->index_rows vectors
 * (vexfs_vectors_absorb), drop the lock and queue itself again at once
 * while vectors wait (mod_delayed_work: a kick's pending poll delay is
 * cut to zero), or after a poll interval while writes go on. The
 * step size follows the measured time per row so a step holds the lock
 * for about VEXFS_INDEX_STEP_NS. The vector ioctls and xattr changes kick
 * it when vectors wait, the commit timer every time (for index changes
 * that came another way); unmount cancels it before the core saves the
 * indexes.
 *
 * Floating point: the core runs soft-float in the module (kernel/README.md,
 * "Floating point in the module") except its distance kernels, each call
 * of which is one FPU section (fpu.c); so this work runs in process
 * context on an unbound workqueue and may sleep anywhere in a step
 * (allocation, the mutex), never inside a section.
 */
#include <linux/math64.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "vexfs.h"

/* How long index writes must pause before a step, as in the daemon. */
#define VEXFS_INDEX_POLL_MS 20
/* Target time under the sb lock per step. */
#define VEXFS_INDEX_STEP_NS (20 * NSEC_PER_MSEC)
/*
 * Step bounds in rows. The module inserts on one CPU, so unlike the
 * daemon (whose HNSW waves of 256 rows spread over threads) one row is a
 * fine step; under TCG one HNSW row can take over 10 ms.
 */
#define VEXFS_INDEX_MIN_ROWS 1
#define VEXFS_INDEX_MAX_ROWS 65536
#define VEXFS_INDEX_FIRST_ROWS 16

/* Unbound: a step is CPU work that should not pin the CPU that queued it. */
static struct workqueue_struct *vexfs_index_wq;

/* The next step size: the rows that took `took_ns` scaled to the target. */
static u64 vexfs_index_next_rows(u64 asked, u64 done, u64 took_ns)
{
	u64 rows;

	/* A short step (the backlog ran out) says nothing about the rate. */
	if (!done || done < asked)
		return asked;
	if (!took_ns)
		return VEXFS_INDEX_MAX_ROWS;
	rows = div64_u64(VEXFS_INDEX_STEP_NS * done, took_ns);
	return clamp_t(u64, rows, VEXFS_INDEX_MIN_ROWS, VEXFS_INDEX_MAX_ROWS);
}

static void vexfs_index_worker(struct work_struct *work)
{
	struct vexfs_sb_info *sbi =
		container_of(to_delayed_work(work), struct vexfs_sb_info, index_work);
	struct super_block *sb = sbi->sb;
	struct vexfs_absorbed a = { 0 };
	u64 changes = 0, backlog = 0, t, asked = sbi->index_rows;
	struct vexfs_fs *fs;
	int err;

	fs = vexfs_lock(sb);
	err = vexfs_vectors_changes(fs, &changes);
	if (!err)
		err = vexfs_vectors_backlog(fs, &backlog);
	if (err || !backlog) {
		sbi->index_seen = changes;
		vexfs_unlock(sb);
		return;
	}
	if (changes != sbi->index_seen) {
		/* Writes go on: let them keep the lock and batches form. */
		sbi->index_seen = changes;
		sbi->index_stuck = false;
		vexfs_unlock(sb);
		queue_delayed_work(vexfs_index_wq, &sbi->index_work,
				   msecs_to_jiffies(VEXFS_INDEX_POLL_MS));
		return;
	}
	if (sbi->index_stuck) {
		/* The last step took nothing in, and nothing changed since. */
		vexfs_unlock(sb);
		return;
	}
	t = ktime_get_ns();
	err = vexfs_vectors_absorb(fs, asked, &a);
	t = ktime_get_ns() - t;
	vexfs_unlock(sb);
	if (err) {
		/* The core dropped that index; its next use rebuilds it. */
		pr_warn_ratelimited("vexfs: %pg: index insertion failed (%d); the index is rebuilt from the files on next use\n",
				    sb->s_bdev, err);
		return;
	}
	sbi->index_rows = vexfs_index_next_rows(asked, a.rows, t);
	/*
	 * Nothing taken in: the strategy could not train on what waits (too
	 * few vectors for its lists). Trying again before more arrive would
	 * repeat the same training under the lock at every kick.
	 */
	if (!a.rows)
		sbi->index_stuck = true;
	if (!a.rows || !a.left)
		return;
	cond_resched();
	/*
	 * At once, also when a kick queued this work meanwhile with its poll
	 * delay (an INDEX_STATS or search ioctl while the step ran): that
	 * delay would otherwise idle the worker after every step.
	 */
	mod_delayed_work(vexfs_index_wq, &sbi->index_work, 0);
}

/* Off until the mount has switched the core to background inserts. */
void vexfs_index_init_sb(struct vexfs_sb_info *sbi)
{
	INIT_DELAYED_WORK(&sbi->index_work, vexfs_index_worker);
	sbi->index_worker = false;
	sbi->index_rows = VEXFS_INDEX_FIRST_ROWS;
}

/* Look after a poll interval; nothing when already queued. */
void vexfs_index_kick(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);

	if (sbi->index_worker)
		queue_delayed_work(vexfs_index_wq, &sbi->index_work,
				   msecs_to_jiffies(VEXFS_INDEX_POLL_MS));
}

/*
 * Under the sb lock, after a call that may have stored embeddings or
 * loaded an index with pending rows: kick only when rows wait, so a run of
 * searches on an index with nothing pending wakes no worker.
 */
void vexfs_index_kick_locked(struct super_block *sb, struct vexfs_fs *fs)
{
	u64 backlog = 0;

	if (VEXFS_SB(sb)->index_worker && !vexfs_vectors_backlog(fs, &backlog) &&
	    backlog)
		vexfs_index_kick(sb);
}

/*
 * At unmount, with no caller left but the commit timer (cancelled
 * first): wait for a running step and keep the work from queueing itself
 * again. Pending rows stay pending: the unmount's save writes them in the
 * index file's trailer.
 */
void vexfs_index_stop(struct vexfs_sb_info *sbi)
{
	if (sbi->index_worker)
		cancel_delayed_work_sync(&sbi->index_work);
}

int vexfs_index_wq_init(void)
{
	vexfs_index_wq = alloc_workqueue("vexfs-index", WQ_UNBOUND, 0);
	return vexfs_index_wq ? 0 : -ENOMEM;
}

void vexfs_index_wq_exit(void)
{
	destroy_workqueue(vexfs_index_wq);
}
