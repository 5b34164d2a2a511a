"""One file's embedding: the user.vexfs.embedding extended attribute,
raw little-endian float32."""

import os

import numpy as np

from . import _uapi as u
from ._common import as_vector


def set_embedding(path, vector):
    """Set `path`'s embedding. ValueError for a bad vector; OSError (with
    errno, e.g. EINVAL for a dimension the directory's index does not
    take) when the filesystem refuses."""
    v = as_vector(vector)
    os.setxattr(path, u.EMBEDDING_XATTR, v.tobytes())


def get_embedding(path):
    """`path`'s embedding as a float32 array; OSError ENODATA if none."""
    raw = os.getxattr(path, u.EMBEDDING_XATTR)
    if len(raw) % 4:
        raise ValueError(f"{os.fsdecode(path)}: embedding attribute has {len(raw)} bytes, not whole float32s")
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def remove_embedding(path):
    """Remove `path`'s embedding; OSError ENODATA if it has none."""
    os.removexattr(path, u.EMBEDDING_XATTR)
