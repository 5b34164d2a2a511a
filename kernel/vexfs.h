/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * VexFS kernel glue: the one shared header.
 *
 * Two halves meet here. The C files in this folder own every kernel API
 * call (VFS, buffer heads, memory, locks) and decode no VexFS bytes. The
 * Rust core (crates/vexfs-kabi over crates/vexfs-core, linked in as
 * vexfs_rust.o) owns the format. The structs and prototypes in the second
 * half mirror crates/vexfs-kabi/src/abi.rs field for field; super.c checks
 * their sizes at build time.
 *
 * Locking: one mutex per superblock (vexfs_sb_info.lock) is held around
 * every call into the core, because the core is single-threaded
 * (`&mut self`). The VFS's own inode and dentry locks, the mapping's
 * invalidate_lock and folio locks are taken before it (the page cache
 * calls vexfs_get_block with a folio locked); under it nothing waits for
 * a file folio or user memory (kernel/README.md, "Locking model").
 */
#ifndef VEXFS_H
#define VEXFS_H

#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/workqueue.h>
#include <linux/types.h>

#define VEXFS_NAME "vexfs"
#define VEXFS_VERSION "0.1.0"

/* ---- the C <-> Rust edge (mirrors crates/vexfs-kabi/src/abi.rs) ---- */

struct vexfs_fs; /* opaque: a mounted filesystem owned by the Rust core */

struct vexfs_time {
	s64 sec;
	u32 nsec;
	u32 pad;
};

struct vexfs_stat {
	u64 ino;
	u64 size;
	u64 blocks_512;
	struct vexfs_time atime;
	struct vexfs_time mtime;
	struct vexfs_time ctime;
	struct vexfs_time crtime;
	u32 mode; /* S_IFMT type bits and permissions */
	u32 nlink;
	u32 uid;
	u32 gid;
	u32 rdev;
	u32 generation;
	u32 blksize;
	u32 pad;
};

struct vexfs_statfs {
	u32 block_size;
	u32 name_max;
	u64 blocks;
	u64 blocks_free;
	u64 inodes;
	u64 inodes_free;
};

#define VEXFS_SET_MODE (1U << 0)
#define VEXFS_SET_UID (1U << 1)
#define VEXFS_SET_GID (1U << 2)
#define VEXFS_SET_SIZE (1U << 3)
#define VEXFS_SET_ATIME (1U << 4)
#define VEXFS_SET_MTIME (1U << 5)
#define VEXFS_SET_CTIME (1U << 6)

struct vexfs_setattr {
	u32 valid; /* VEXFS_SET_* */
	u32 mode;
	u32 uid;
	u32 gid;
	u64 size;
	struct vexfs_time atime;
	struct vexfs_time mtime;
	struct vexfs_time ctime;
};

/* Block device callbacks: byte offsets, 0 or a negative errno. */
struct vexfs_dev_ops {
	int (*read)(void *ctx, u64 off, u8 *buf, size_t len);
	int (*write)(void *ctx, u64 off, const u8 *buf, size_t len);
	int (*flush)(void *ctx);
};

/* One directory entry; non-zero return stops the walk. */
typedef int (*vexfs_filldir_t)(void *ctx, const u8 *name, size_t len,
			       u64 ino, u32 dtype, u64 pos);

/* vexfs_fallocate modes: the FALLOC_FL_* values the core accepts. */
#define VEXFS_FALLOC_KEEP_SIZE 0x01U
#define VEXFS_FALLOC_PUNCH_HOLE 0x02U
#define VEXFS_FALLOC_ZERO_RANGE 0x10U

#define VEXFS_MOUNT_RDONLY (1U << 0)
#define VEXFS_RENAME_NOREPLACE (1U << 0)
#define VEXFS_RENAME_EXCHANGE (1U << 1)

int vexfs_mount(const struct vexfs_dev_ops *ops, void *ctx, u64 dev_size,
		u32 flags, struct vexfs_time now, struct vexfs_fs **out,
		char *msg, size_t msg_len);
int vexfs_unmount(struct vexfs_fs *fs, struct vexfs_time now);
int vexfs_sync(struct vexfs_fs *fs);
int vexfs_statfs(struct vexfs_fs *fs, struct vexfs_statfs *out);
int vexfs_is_read_only(struct vexfs_fs *fs);
int vexfs_commit_pending(struct vexfs_fs *fs);
u32 vexfs_block_size(struct vexfs_fs *fs);
u64 vexfs_root_ino(struct vexfs_fs *fs);

int vexfs_getattr(struct vexfs_fs *fs, u64 ino, struct vexfs_stat *out);
int vexfs_lookup(struct vexfs_fs *fs, u64 dir, const u8 *name, size_t len,
		 struct vexfs_stat *out);
int vexfs_readdir(struct vexfs_fs *fs, u64 dir, u64 pos, vexfs_filldir_t fill,
		  void *ctx);
int vexfs_create(struct vexfs_fs *fs, u64 dir, const u8 *name, size_t len,
		 u32 mode, u32 rdev, u32 uid, u32 gid, struct vexfs_time now,
		 struct vexfs_stat *out);
int vexfs_mkdir(struct vexfs_fs *fs, u64 dir, const u8 *name, size_t len,
		u32 mode, u32 uid, u32 gid, struct vexfs_time now,
		struct vexfs_stat *out);
int vexfs_symlink(struct vexfs_fs *fs, u64 dir, const u8 *name, size_t len,
		  const u8 *target, size_t target_len, u32 uid, u32 gid,
		  struct vexfs_time now, struct vexfs_stat *out);
s64 vexfs_readlink(struct vexfs_fs *fs, u64 ino, u8 *buf, size_t cap);
int vexfs_link(struct vexfs_fs *fs, u64 ino, u64 dir, const u8 *name,
	       size_t len, struct vexfs_time now, struct vexfs_stat *out);
int vexfs_unlink(struct vexfs_fs *fs, u64 dir, const u8 *name, size_t len,
		 struct vexfs_time now);
int vexfs_rmdir(struct vexfs_fs *fs, u64 dir, const u8 *name, size_t len,
		struct vexfs_time now);
int vexfs_rename(struct vexfs_fs *fs, u64 old_dir, const u8 *old_name,
		 size_t old_len, u64 new_dir, const u8 *new_name,
		 size_t new_len, u32 flags, struct vexfs_time now);
int vexfs_setattr(struct vexfs_fs *fs, u64 ino,
		  const struct vexfs_setattr *attr, struct vexfs_time now,
		  struct vexfs_stat *out);
int vexfs_open(struct vexfs_fs *fs, u64 ino);
int vexfs_release(struct vexfs_fs *fs, u64 ino);
s64 vexfs_read(struct vexfs_fs *fs, u64 ino, u64 off, u8 *buf, size_t len);
s64 vexfs_write(struct vexfs_fs *fs, u64 ino, u64 off, const u8 *buf,
		size_t len, struct vexfs_time now, struct vexfs_stat *out);
int vexfs_fallocate(struct vexfs_fs *fs, u64 ino, u64 off, u64 len, u32 mode,
		    struct vexfs_time now, struct vexfs_stat *out);

/* Block mapping for the page cache (crates/vexfs-kabi/src/block_map.rs). */
#define VEXFS_MAP_CREATE (1U << 0) /* request: allocate / convert for a write */
#define VEXFS_MAP_MAPPED (1U << 0) /* result: the run is at physical.. */
#define VEXFS_MAP_UNWRITTEN (1U << 1) /* allocated, reads as zeros */
#define VEXFS_MAP_NEW (1U << 2) /* allocated or converted now: stale contents */

struct vexfs_map {
	u64 physical;
	u64 len; /* blocks from the asked one */
	u32 flags; /* VEXFS_MAP_* */
	u32 pad;
	u64 blocks_512; /* the file's allocation after the call */
};

int vexfs_map_blocks(struct vexfs_fs *fs, u64 ino, u64 lblk, u64 max,
		     u32 flags, struct vexfs_map *out);
int vexfs_extend_size(struct vexfs_fs *fs, u64 ino, u64 end,
		      struct vexfs_time now, struct vexfs_stat *out);

/* Extended attributes: full names (prefix included), kernel buffers. */
#define VEXFS_XATTR_CREATE 1U /* XATTR_CREATE */
#define VEXFS_XATTR_REPLACE 2U /* XATTR_REPLACE */

s64 vexfs_getxattr(struct vexfs_fs *fs, u64 ino, const u8 *name,
		   size_t name_len, u8 *buf, size_t cap);
s64 vexfs_listxattr(struct vexfs_fs *fs, u64 ino, u8 *buf, size_t cap);
int vexfs_setxattr(struct vexfs_fs *fs, u64 ino, const u8 *name,
		   size_t name_len, const u8 *value, size_t value_len,
		   u32 flags, struct vexfs_time now, struct vexfs_stat *out);
int vexfs_removexattr(struct vexfs_fs *fs, u64 ino, const u8 *name,
		      size_t name_len, struct vexfs_time now,
		      struct vexfs_stat *out);

/* The vector ioctls (include/uapi/vexfs.h), answered by the core. */
struct vexfs_session; /* opaque: query state of one open directory */

#define VEXFS_CALLER_PRIVILEGED (1U << 0) /* CAP_DAC_OVERRIDE or CAP_FOWNER */

struct vexfs_caller {
	u32 uid;
	u32 gid;
	u32 flags; /* VEXFS_CALLER_* */
	u32 ngroups;
	const u32 *groups; /* supplementary groups */
};

struct vexfs_session *vexfs_session_new(void);
void vexfs_session_free(struct vexfs_session *s);
s64 vexfs_vector_ioctl(struct vexfs_fs *fs, u64 dir, u32 cmd, const u8 *in,
		       size_t in_len, u8 *out, size_t out_cap,
		       struct vexfs_session *session,
		       const struct vexfs_caller *caller, struct vexfs_time now);

/*
 * The index insertion worker's calls (crates/vexfs-kabi/src/absorb.rs):
 * background inserts on (1) or off (0) at mount, then the change counter,
 * the backlog and one bounded insertion step.
 */
struct vexfs_absorbed {
	u64 rows; /* vectors the strategy took in */
	u64 left; /* vectors still waiting that a strategy could take in */
};

int vexfs_background_inserts(struct vexfs_fs *fs, u32 on);
int vexfs_vectors_changes(struct vexfs_fs *fs, u64 *out);
int vexfs_vectors_backlog(struct vexfs_fs *fs, u64 *out);
int vexfs_vectors_absorb(struct vexfs_fs *fs, u64 max_rows,
			 struct vexfs_absorbed *out);

/* Called by the Rust side (helpers.c). */
void *vexfs_k_alloc(size_t size);
void vexfs_k_free(void *ptr);
void vexfs_k_panic(const u8 *msg, size_t len);

/*
 * The float kernels (fpu.c): the soft-float core hands each distance
 * kernel call (a struct vexfs_ann::distance::offload::OffloadCall, opaque
 * here) to the SSE2 object (crates/vexfs-kfpu) inside an FPU section.
 * vexfs_fpu_install() (crates/vexfs-kabi) makes the core do so from then
 * on; vexfs_fpu_run() is the SSE2 object's one entry point.
 */
int vexfs_k_fpu_call(void *call);
void vexfs_fpu_install(void);
int vexfs_fpu_run(void *call);

/* ---- the C side ---- */

/* Seconds between journal commits of completed operations (as ext4). */
#define VEXFS_COMMIT_SECS 5

struct vexfs_sb_info {
	struct mutex lock; /* held around every call into the core */
	unsigned int nofs; /* memalloc_nofs_save() of the lock holder */
	struct vexfs_fs *fs;
	struct super_block *sb;
	/* Regular file data through the page cache (else a bounce buffer). */
	bool pagecache;
	/* Commits the core's running transaction every VEXFS_COMMIT_SECS. */
	struct delayed_work commit_work;
	/*
	 * The index insertion worker (index.c): on at mount when the
	 * index_worker parameter says so; the rest is the worker's own
	 * state (the change counter it last saw, its step size in rows,
	 * whether its last step could take nothing in).
	 */
	bool index_worker;
	struct delayed_work index_work;
	u64 index_seen;
	u64 index_rows;
	bool index_stuck;
};

static inline struct vexfs_sb_info *VEXFS_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

/*
 * Lock the core for one call; always paired with vexfs_unlock. The core
 * allocates under the lock: reclaim must not re-enter this filesystem
 * then (evicting one of its inodes takes the lock again), so the holder
 * allocates as GFP_NOFS.
 */
static inline struct vexfs_fs *vexfs_lock(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	unsigned int nofs = memalloc_nofs_save();

	mutex_lock(&sbi->lock);
	sbi->nofs = nofs;
	return sbi->fs;
}

static inline void vexfs_unlock(struct super_block *sb)
{
	struct vexfs_sb_info *sbi = VEXFS_SB(sb);
	unsigned int nofs = sbi->nofs;

	mutex_unlock(&sbi->lock);
	memalloc_nofs_restore(nofs);
}

/* Whether this inode's data goes through the page cache (aops.c). */
static inline bool vexfs_pagecache(const struct inode *inode)
{
	return S_ISREG(inode->i_mode) && VEXFS_SB(inode->i_sb)->pagecache;
}

/* bdev.c */
extern const struct vexfs_dev_ops vexfs_bdev_ops;
void vexfs_bdev_forget(struct super_block *sb, u64 block);
int vexfs_bdev_write_block(struct super_block *sb, u64 block);

/* aops.c */
extern const struct address_space_operations vexfs_aops;
int vexfs_get_block(struct inode *inode, sector_t iblock,
		    struct buffer_head *bh, int create);
/* The edge blocks a truncate or punch may zero in place (aops.c). */
struct vexfs_remap {
	int n;
	u64 block[2];
};
int vexfs_remap_begin(struct inode *inode, loff_t start, loff_t end);
void vexfs_remap_edges(struct vexfs_fs *fs, struct inode *inode, loff_t start,
		       loff_t end, struct vexfs_remap *r);
int vexfs_remap_end(struct inode *inode, const struct vexfs_remap *r);

/* super.c */
extern struct file_system_type vexfs_fs_type;
struct vexfs_time vexfs_now(void);

/* inode.c */
struct inode *vexfs_iget(struct super_block *sb, const struct vexfs_stat *st);
void vexfs_evict_inode(struct inode *inode);
void vexfs_refresh_inode(struct inode *inode, const struct vexfs_stat *st);
int vexfs_setattr_op(struct user_namespace *mnt_userns, struct dentry *dentry,
		     struct iattr *attr);
extern const struct inode_operations vexfs_file_inode_ops;
extern const struct inode_operations vexfs_symlink_inode_ops;
extern const struct inode_operations vexfs_special_inode_ops;

/* dir.c */
extern const struct inode_operations vexfs_dir_inode_ops;
extern const struct file_operations vexfs_dir_ops;

/* xattr.c */
extern const struct xattr_handler *vexfs_xattr_handlers[];
ssize_t vexfs_listxattr_op(struct dentry *dentry, char *buf, size_t size);

/* index.c */
int vexfs_index_wq_init(void);
void vexfs_index_wq_exit(void);
void vexfs_index_init_sb(struct vexfs_sb_info *sbi);
void vexfs_index_kick(struct super_block *sb);
void vexfs_index_kick_locked(struct super_block *sb, struct vexfs_fs *fs);
void vexfs_index_stop(struct vexfs_sb_info *sbi);

/* acl.c: POSIX ACLs over the core's system.posix_acl_* attributes. */
struct posix_acl;
struct vexfs_new_acls {
	struct posix_acl *access, *dflt; /* inherited by a new node, or NULL */
	void *access_x, *dflt_x; /* the same in stored (xattr) form */
	size_t access_len, dflt_len;
};
struct posix_acl *vexfs_get_acl(struct inode *inode, int type, bool rcu);
int vexfs_set_acl(struct user_namespace *mnt_userns, struct inode *inode,
		  struct posix_acl *acl, int type);
int vexfs_acl_prepare(struct inode *dir, umode_t *mode, struct vexfs_new_acls *a);
int vexfs_acl_store(struct vexfs_fs *fs, const struct vexfs_new_acls *a,
		    struct vexfs_stat *st);
void vexfs_acl_finish(struct inode *inode, struct vexfs_new_acls *a);

/* ioctl.c */
long vexfs_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
int vexfs_dir_release(struct inode *inode, struct file *file);

/* mmap.c: shared mappings whose writes move mtime (page_mkwrite). */
int vexfs_file_mmap(struct file *file, struct vm_area_struct *vma);

/* file.c */
extern const struct file_operations vexfs_file_ops;
extern const struct file_operations vexfs_file_pagecache_ops;

/* module.c: the defaults of sbi->pagecache and sbi->index_worker for new mounts. */
extern bool vexfs_param_pagecache;
extern bool vexfs_param_index_worker;
extern bool vexfs_param_simd;

#endif /* VEXFS_H */
