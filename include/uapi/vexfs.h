/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * VexFS userspace API: the ioctls a directory file descriptor answers on a
 * VexFS mount, through the kernel module and through vexfs-fuse alike.
 *
 * Every ioctl carries one fixed-size struct whose size is encoded in the
 * command number and stays below 16 KiB, because FUSE forwards only such
 * "restricted" ioctls. Requests that do not fit one struct (query vectors
 * above VEXFS_INLINE_DIM floats, more than VEXFS_HITS_MAX results) use the
 * per-open-file state described beside VEXFS_IOC_STAGE_VECTOR and
 * VEXFS_IOC_RESULTS. docs/VECTORS.md is the full description.
 *
 * Rules common to every struct:
 *  - `size` must equal sizeof(struct) (lets the layout grow later);
 *  - reserved fields and unknown flag bits must be zero (EINVAL otherwise);
 *  - integers are in the host's byte order (little-endian on every
 *    supported machine), floats are IEEE-754 binary32;
 *  - strings are NUL-terminated inside their arrays.
 *
 * Embeddings themselves are not set through ioctls one at a time: they are
 * the ordinary extended attribute VEXFS_EMBEDDING_XATTR, whose value is the
 * raw little-endian f32 vector (setfattr, os.setxattr, cp -a, tar --xattrs
 * and rsync -aX all carry it).
 *
 * crates/vexfs-uapi mirrors this header; its tests compile this file and
 * check that every size and offset agrees.
 */
#ifndef _UAPI_LINUX_VEXFS_H
#define _UAPI_LINUX_VEXFS_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VEXFS_EMBEDDING_XATTR "user.vexfs.embedding"

/* Largest embedding dimension accepted anywhere. */
#define VEXFS_MAX_DIM 4096
/* Query floats carried inline by struct vexfs_search. */
#define VEXFS_INLINE_DIM 2048
/* Results per struct vexfs_search / vexfs_results. */
#define VEXFS_HITS_MAX 128
/* Bytes for result paths per struct vexfs_search / vexfs_results. */
#define VEXFS_NAMES_MAX 2048
/* Largest k one search may ask for (pages beyond VEXFS_HITS_MAX come
 * from VEXFS_IOC_RESULTS). */
#define VEXFS_K_MAX 4096
#define VEXFS_GLOB_MAX 128
#define VEXFS_XATTR_NAME_MAX 64
#define VEXFS_XATTR_VALUE_MAX 192
#define VEXFS_PARAMS_MAX 192
/* Payload bytes of struct vexfs_bulk (names, then vectors). */
#define VEXFS_BULK_DATA 16000
/* Queries per struct vexfs_search_batch, and its payload bytes (the
 * query vectors in, the hits out). */
#define VEXFS_BATCH_MAX 256
#define VEXFS_BATCH_DATA 15360

/* Strategies (struct vexfs_index_config.strategy). */
#define VEXFS_STRATEGY_DEFAULT 0 /* HNSW */
#define VEXFS_STRATEGY_FLAT 1
#define VEXFS_STRATEGY_HNSW 2
#define VEXFS_STRATEGY_IVF 3
#define VEXFS_STRATEGY_IVFPQ 4
#define VEXFS_STRATEGY_LSH 5

/* Metrics. */
#define VEXFS_METRIC_DEFAULT 0 /* the index's; L2 for exact scans */
#define VEXFS_METRIC_L2 1
#define VEXFS_METRIC_IP 2
#define VEXFS_METRIC_COSINE 3

/* struct vexfs_search.flags */
#define VEXFS_SEARCH_STAGED (1u << 0)   /* use the vector staged on this fd */
#define VEXFS_SEARCH_NO_PATHS (1u << 1) /* skip path resolution */
#define VEXFS_SEARCH_EXACT (1u << 2)    /* exact scan even if indexed */
#define VEXFS_SEARCH_FLAGS_KNOWN 0x7u

/* struct vexfs_search.out_flags */
#define VEXFS_OUT_INDEXED (1u << 0)    /* answered by a persistent index */
#define VEXFS_OUT_EXACT_SCAN (1u << 1) /* (part) answered by exact scan */
#define VEXFS_OUT_MORE (1u << 2)       /* more hits: page with RESULTS */

/* struct vexfs_hit.flags */
#define VEXFS_HIT_NO_PATH (1u << 0) /* path not resolved (see docs) */

struct vexfs_hit {
	__u64 ino;
	float distance;   /* smaller is nearer, for every metric */
	__u32 path_off;   /* into names[] of the same struct */
	__u16 path_len;   /* bytes, no NUL; relative to the searched dir */
	__u16 flags;      /* VEXFS_HIT_* */
	__u32 reserved;
};

struct vexfs_search {
	/* in */
	__u32 size;
	__u32 flags;     /* VEXFS_SEARCH_* */
	__u32 k;         /* 1..VEXFS_K_MAX */
	__u32 dim;       /* floats in vector[] (or staged) */
	__u32 metric;    /* VEXFS_METRIC_*; must match an index's, if given */
	__u32 ef;        /* HNSW candidate list; 0 = the index's default */
	__u32 nprobe;    /* IVF lists / LSH probes; 0 = default */
	__u32 rerank;    /* IVF-PQ / LSH exact re-rank depth; 0 = default */
	__u64 subtree_ino;           /* filter: only files under this dir */
	char name_glob[VEXFS_GLOB_MAX]; /* filter: file name glob (*, ?, [..]) */
	char xattr_name[VEXFS_XATTR_NAME_MAX]; /* filter: xattr equality */
	__u32 xattr_value_len;
	__u32 reserved0;
	__u8 xattr_value[VEXFS_XATTR_VALUE_MAX];
	/* out */
	__u32 count;      /* hits in this struct */
	__u32 total;      /* hits found (<= k); the rest via RESULTS */
	__u32 out_flags;  /* VEXFS_OUT_* */
	__u32 names_used; /* bytes of names[] used */
	__u64 scanned;    /* embeddings compared exactly (exact scans) */
	__u64 reserved1;
	struct vexfs_hit hits[VEXFS_HITS_MAX];
	char names[VEXFS_NAMES_MAX];
	/* in */
	float vector[VEXFS_INLINE_DIM];
};

/* Stage part of a query vector on this open file (for dim above
 * VEXFS_INLINE_DIM); a following search with VEXFS_SEARCH_STAGED uses it.
 * A chunk with offset 0 starts a new vector of `dim` floats. */
struct vexfs_vector_chunk {
	__u32 size;
	__u32 dim;    /* the whole vector's dimension */
	__u32 offset; /* first float of this chunk */
	__u32 count;  /* floats in data[] */
	float data[VEXFS_INLINE_DIM];
};

/* Page through the last search's hits on this open file. */
struct vexfs_results {
	__u32 size;
	__u32 offset;     /* in: first hit wanted */
	__u32 count;      /* out */
	__u32 total;      /* out */
	__u32 names_used; /* out */
	__u32 reserved;
	struct vexfs_hit hits[VEXFS_HITS_MAX];
	char names[VEXFS_NAMES_MAX];
};

/* Several queries in one call, for clients that search many vectors at
 * once: one round trip (one FUSE request) for all of them, where
 * VEXFS_IOC_SEARCH costs one per query. Every query has the same k,
 * parameters and filters. Results carry inode numbers only (no paths:
 * VEXFS_SEARCH_NO_PATHS is implied; a walk of the directory, or one
 * VEXFS_IOC_SEARCH, gives names).
 * In: data[] holds `count` query vectors of `dim` floats, packed.
 * Out: data[] holds count * k struct vexfs_batch_hit, query i's at
 * index i * k, nearest first; found[i] of them are valid (<= k).
 * count * dim * 4 and count * k * 16 must both fit in data[]. */
struct vexfs_batch_hit {
	__u64 ino;
	float distance;
	__u32 reserved;
};

struct vexfs_search_batch {
	/* in */
	__u32 size;
	__u32 flags;     /* VEXFS_SEARCH_EXACT, VEXFS_SEARCH_NO_PATHS */
	__u32 k;         /* per query, 1..VEXFS_K_MAX */
	__u32 dim;       /* floats per query vector */
	__u32 count;     /* queries, 1..VEXFS_BATCH_MAX */
	__u32 metric;    /* as in struct vexfs_search */
	__u32 ef;
	__u32 nprobe;
	__u32 rerank;
	__u32 reserved0;
	__u64 subtree_ino;
	char name_glob[VEXFS_GLOB_MAX];
	char xattr_name[VEXFS_XATTR_NAME_MAX];
	__u32 xattr_value_len;
	__u32 reserved1;
	__u8 xattr_value[VEXFS_XATTR_VALUE_MAX];
	/* out */
	__u32 out_flags; /* VEXFS_OUT_INDEXED / _EXACT_SCAN, any query */
	__u32 reserved2;
	__u64 scanned;   /* embeddings compared exactly, all queries */
	__u16 found[VEXFS_BATCH_MAX];
	/* in: queries; out: hits */
	__u8 data[VEXFS_BATCH_DATA];
};

/* struct vexfs_bulk.flags */
#define VEXFS_BULK_CREATE (1u << 0) /* create missing files (mode 0644) */
#define VEXFS_BULK_FLAGS_KNOWN 0x1u

/* Set many embeddings in one call, as one transaction: either every item
 * is stored and indexed or none is (error_index names the failing item).
 * The ioctl returns 0 in both cases (FUSE drops a reply's data on error):
 * check `error`. A malformed struct is -EINVAL.
 * data[] holds `count` file names (single components, relative to the
 * directory, each NUL-terminated: names_len bytes in all), zero padding to
 * a multiple of 4, then count * dim floats. */
struct vexfs_bulk {
	__u32 size;
	__u32 flags;       /* VEXFS_BULK_* */
	__u32 dim;
	__u32 count;
	__u32 names_len;
	__u32 done;        /* out: items stored */
	__s32 error;       /* out: negative errno of the failing item */
	__u32 error_index; /* out */
	__u8 data[VEXFS_BULK_DATA];
};

/* struct vexfs_index_config.flags */
#define VEXFS_INDEX_REPLACE (1u << 0) /* reconfigure an existing index */
#define VEXFS_INDEX_FLAGS_KNOWN 0x1u

struct vexfs_index_config {
	__u32 size;
	__u32 flags;    /* VEXFS_INDEX_* */
	__u32 strategy; /* VEXFS_STRATEGY_* */
	__u32 metric;   /* VEXFS_METRIC_* (DEFAULT means L2) */
	__u32 dim;      /* 1..VEXFS_MAX_DIM */
	__u32 reserved;
	char params[VEXFS_PARAMS_MAX]; /* "key=value,..." (docs/VECTORS.md) */
};

/* struct vexfs_index_stats.state */
#define VEXFS_STATE_NONE 0   /* no index covers this directory */
#define VEXFS_STATE_CLEAN 1  /* persisted copy matches the files */
#define VEXFS_STATE_DIRTY 2  /* changed since the last save */
#define VEXFS_STATE_STALE 3  /* persisted copy unusable: rebuilt on use */

struct vexfs_index_stats {
	__u32 size;
	__u32 state;      /* VEXFS_STATE_* */
	__u32 strategy;
	__u32 metric;
	__u32 dim;
	__u32 loaded;     /* 1 if the index is in memory */
	__u64 root_ino;   /* directory that owns the index (0: none) */
	__u64 vectors;    /* embeddings in the index */
	__u64 unindexed;  /* embeddings under the root that are not (wrong dim) */
	__u64 deleted;    /* removed entries not yet reclaimed */
	__u64 memory_bytes;
	__u64 disk_bytes; /* persisted copy */
	__u64 generation; /* bumped by every save */
	__u64 pending;    /* of vectors: stored, searched exactly, not yet in
	                   * the strategy (training, or background insertion) */
	char params[VEXFS_PARAMS_MAX];
};

#define VEXFS_IOC_MAGIC 0xF5

#define VEXFS_IOC_SEARCH _IOWR(VEXFS_IOC_MAGIC, 1, struct vexfs_search)
#define VEXFS_IOC_STAGE_VECTOR _IOW(VEXFS_IOC_MAGIC, 2, struct vexfs_vector_chunk)
#define VEXFS_IOC_RESULTS _IOWR(VEXFS_IOC_MAGIC, 3, struct vexfs_results)
#define VEXFS_IOC_BULK_SET _IOWR(VEXFS_IOC_MAGIC, 4, struct vexfs_bulk)
#define VEXFS_IOC_INDEX_CREATE _IOW(VEXFS_IOC_MAGIC, 5, struct vexfs_index_config)
#define VEXFS_IOC_INDEX_DROP _IO(VEXFS_IOC_MAGIC, 6)
#define VEXFS_IOC_INDEX_REBUILD _IO(VEXFS_IOC_MAGIC, 7)
#define VEXFS_IOC_INDEX_SAVE _IO(VEXFS_IOC_MAGIC, 8)
#define VEXFS_IOC_INDEX_STATS _IOR(VEXFS_IOC_MAGIC, 9, struct vexfs_index_stats)
#define VEXFS_IOC_SEARCH_BATCH _IOWR(VEXFS_IOC_MAGIC, 10, struct vexfs_search_batch)

#endif /* _UAPI_LINUX_VEXFS_H */
