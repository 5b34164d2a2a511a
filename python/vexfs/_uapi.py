"""The structs and ioctl numbers of include/uapi/vexfs.h, mirrored one to one
with ctypes (native alignment, as the C compiler lays them out).

tests/test_uapi.py compiles the header and checks every size, offset and
command number against this module.
"""

import ctypes

EMBEDDING_XATTR = "user.vexfs.embedding"

MAX_DIM = 4096
INLINE_DIM = 2048
HITS_MAX = 128
NAMES_MAX = 2048
K_MAX = 4096
GLOB_MAX = 128
XATTR_NAME_MAX = 64
XATTR_VALUE_MAX = 192
PARAMS_MAX = 192
BULK_DATA = 16000
BATCH_MAX = 256
BATCH_DATA = 15360

STRATEGY_DEFAULT = 0
STRATEGY_FLAT = 1
STRATEGY_HNSW = 2
STRATEGY_IVF = 3
STRATEGY_IVFPQ = 4
STRATEGY_LSH = 5

METRIC_DEFAULT = 0
METRIC_L2 = 1
METRIC_IP = 2
METRIC_COSINE = 3

SEARCH_STAGED = 1 << 0
SEARCH_NO_PATHS = 1 << 1
SEARCH_EXACT = 1 << 2
SEARCH_FLAGS_KNOWN = 0x7

OUT_INDEXED = 1 << 0
OUT_EXACT_SCAN = 1 << 1
OUT_MORE = 1 << 2

HIT_NO_PATH = 1 << 0

BULK_CREATE = 1 << 0
BULK_FLAGS_KNOWN = 0x1

INDEX_REPLACE = 1 << 0
INDEX_FLAGS_KNOWN = 0x1

STATE_NONE = 0
STATE_CLEAN = 1
STATE_DIRTY = 2
STATE_STALE = 3

u8, u16, u32, s32, u64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_int32, ctypes.c_uint64
f32, char = ctypes.c_float, ctypes.c_char


class Hit(ctypes.Structure):
    _fields_ = [
        ("ino", u64),
        ("distance", f32),
        ("path_off", u32),
        ("path_len", u16),
        ("flags", u16),
        ("reserved", u32),
    ]


class Search(ctypes.Structure):
    _fields_ = [
        ("size", u32),
        ("flags", u32),
        ("k", u32),
        ("dim", u32),
        ("metric", u32),
        ("ef", u32),
        ("nprobe", u32),
        ("rerank", u32),
        ("subtree_ino", u64),
        ("name_glob", char * GLOB_MAX),
        ("xattr_name", char * XATTR_NAME_MAX),
        ("xattr_value_len", u32),
        ("reserved0", u32),
        ("xattr_value", u8 * XATTR_VALUE_MAX),
        ("count", u32),
        ("total", u32),
        ("out_flags", u32),
        ("names_used", u32),
        ("scanned", u64),
        ("reserved1", u64),
        ("hits", Hit * HITS_MAX),
        ("names", char * NAMES_MAX),
        ("vector", f32 * INLINE_DIM),
    ]


class BatchHit(ctypes.Structure):
    _fields_ = [
        ("ino", u64),
        ("distance", f32),
        ("reserved", u32),
    ]


class SearchBatch(ctypes.Structure):
    _fields_ = [
        ("size", u32),
        ("flags", u32),
        ("k", u32),
        ("dim", u32),
        ("count", u32),
        ("metric", u32),
        ("ef", u32),
        ("nprobe", u32),
        ("rerank", u32),
        ("reserved0", u32),
        ("subtree_ino", u64),
        ("name_glob", char * GLOB_MAX),
        ("xattr_name", char * XATTR_NAME_MAX),
        ("xattr_value_len", u32),
        ("reserved1", u32),
        ("xattr_value", u8 * XATTR_VALUE_MAX),
        ("out_flags", u32),
        ("reserved2", u32),
        ("scanned", u64),
        ("found", u16 * BATCH_MAX),
        ("data", u8 * BATCH_DATA),
    ]


class VectorChunk(ctypes.Structure):
    _fields_ = [
        ("size", u32),
        ("dim", u32),
        ("offset", u32),
        ("count", u32),
        ("data", f32 * INLINE_DIM),
    ]


class Results(ctypes.Structure):
    _fields_ = [
        ("size", u32),
        ("offset", u32),
        ("count", u32),
        ("total", u32),
        ("names_used", u32),
        ("reserved", u32),
        ("hits", Hit * HITS_MAX),
        ("names", char * NAMES_MAX),
    ]


class Bulk(ctypes.Structure):
    _fields_ = [
        ("size", u32),
        ("flags", u32),
        ("dim", u32),
        ("count", u32),
        ("names_len", u32),
        ("done", u32),
        ("error", s32),
        ("error_index", u32),
        ("data", u8 * BULK_DATA),
    ]


class IndexConfig(ctypes.Structure):
    _fields_ = [
        ("size", u32),
        ("flags", u32),
        ("strategy", u32),
        ("metric", u32),
        ("dim", u32),
        ("reserved", u32),
        ("params", char * PARAMS_MAX),
    ]


class IndexStats(ctypes.Structure):
    _fields_ = [
        ("size", u32),
        ("state", u32),
        ("strategy", u32),
        ("metric", u32),
        ("dim", u32),
        ("loaded", u32),
        ("root_ino", u64),
        ("vectors", u64),
        ("unindexed", u64),
        ("deleted", u64),
        ("memory_bytes", u64),
        ("disk_bytes", u64),
        ("generation", u64),
        ("pending", u64),
        ("params", char * PARAMS_MAX),
    ]


def new_request(cls):
    """A zeroed struct with its `size` field set, ready to fill in."""
    v = cls()
    v.size = ctypes.sizeof(cls)
    return v


# asm-generic/ioctl.h
_IOC_NONE, _IOC_WRITE, _IOC_READ = 0, 1, 2


def _ioc(direction, nr, size):
    return (direction << 30) | (size << 16) | (IOC_MAGIC << 8) | nr


IOC_MAGIC = 0xF5
IOC_SEARCH = _ioc(_IOC_READ | _IOC_WRITE, 1, ctypes.sizeof(Search))
IOC_STAGE_VECTOR = _ioc(_IOC_WRITE, 2, ctypes.sizeof(VectorChunk))
IOC_RESULTS = _ioc(_IOC_READ | _IOC_WRITE, 3, ctypes.sizeof(Results))
IOC_BULK_SET = _ioc(_IOC_READ | _IOC_WRITE, 4, ctypes.sizeof(Bulk))
IOC_INDEX_CREATE = _ioc(_IOC_WRITE, 5, ctypes.sizeof(IndexConfig))
IOC_INDEX_DROP = _ioc(_IOC_NONE, 6, 0)
IOC_INDEX_REBUILD = _ioc(_IOC_NONE, 7, 0)
IOC_INDEX_SAVE = _ioc(_IOC_NONE, 8, 0)
IOC_INDEX_STATS = _ioc(_IOC_READ, 9, ctypes.sizeof(IndexStats))
IOC_SEARCH_BATCH = _ioc(_IOC_READ | _IOC_WRITE, 10, ctypes.sizeof(SearchBatch))

STRUCTS = {
    "vexfs_hit": Hit,
    "vexfs_search": Search,
    "vexfs_vector_chunk": VectorChunk,
    "vexfs_results": Results,
    "vexfs_bulk": Bulk,
    "vexfs_index_config": IndexConfig,
    "vexfs_index_stats": IndexStats,
    "vexfs_batch_hit": BatchHit,
    "vexfs_search_batch": SearchBatch,
}

COMMANDS = {
    "VEXFS_IOC_SEARCH": IOC_SEARCH,
    "VEXFS_IOC_STAGE_VECTOR": IOC_STAGE_VECTOR,
    "VEXFS_IOC_RESULTS": IOC_RESULTS,
    "VEXFS_IOC_BULK_SET": IOC_BULK_SET,
    "VEXFS_IOC_INDEX_CREATE": IOC_INDEX_CREATE,
    "VEXFS_IOC_INDEX_DROP": IOC_INDEX_DROP,
    "VEXFS_IOC_INDEX_REBUILD": IOC_INDEX_REBUILD,
    "VEXFS_IOC_INDEX_SAVE": IOC_INDEX_SAVE,
    "VEXFS_IOC_INDEX_STATS": IOC_INDEX_STATS,
    "VEXFS_IOC_SEARCH_BATCH": IOC_SEARCH_BATCH,
}
