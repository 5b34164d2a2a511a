"""VexFS from Python: embeddings on files, per-directory indexes and
nearest-neighbour search through a mounted VexFS (kernel module or FUSE).

Pure Python over os.setxattr/os.getxattr and fcntl.ioctl with the structs
of include/uapi/vexfs.h; numpy arrays in and out. Errors: ValueError for
bad input (checked before anything is sent), OSError with the errno for
what the filesystem refuses (docs/VECTORS.md lists them).
"""

from ._uapi import EMBEDDING_XATTR, K_MAX, MAX_DIM
from ._bulk import import_array
from ._embedding import get_embedding, remove_embedding, set_embedding
from ._index import create_index, drop_index, index_stats, rebuild_index, save_index
from ._search import search, search_batch

__all__ = [
    "EMBEDDING_XATTR",
    "K_MAX",
    "MAX_DIM",
    "create_index",
    "drop_index",
    "get_embedding",
    "import_array",
    "index_stats",
    "rebuild_index",
    "remove_embedding",
    "save_index",
    "search",
    "search_batch",
    "set_embedding",
]

__version__ = "0.1.0"
