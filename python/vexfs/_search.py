"""Nearest-neighbour search under a directory (VEXFS_IOC_SEARCH), with
staging for long query vectors and paging for k above 128; many queries
at once with VEXFS_IOC_SEARCH_BATCH."""

import ctypes
import os

import numpy as np

from . import _uapi as u
from ._common import Dir, as_matrix, as_vector, check_count, field_bytes, metric_number


def build(vector, k, ef=None, nprobe=None, rerank=None, subtree_ino=0, name_glob=None, xattr=None, exact=False, metric=None, paths=True):
    """The vexfs_search request and the vexfs_vector_chunk list to stage
    before it (empty unless the vector is longer than 2048 floats)."""
    v = as_vector(vector, "query vector")
    k = check_count("k", k, 1, u.K_MAX)
    s = u.new_request(u.Search)
    s.k, s.dim = k, v.shape[0]
    s.ef = check_count("ef", ef)
    s.nprobe = check_count("nprobe", nprobe)
    s.rerank = check_count("rerank", rerank)
    s.metric = metric_number(metric) if metric is not None else u.METRIC_DEFAULT
    s.flags = (u.SEARCH_EXACT if exact else 0) | (0 if paths else u.SEARCH_NO_PATHS)
    set_filters(s, subtree_ino, name_glob, xattr)
    chunks = []
    if v.shape[0] <= u.INLINE_DIM:
        ctypes.memmove(ctypes.addressof(s) + u.Search.vector.offset, v.tobytes(), v.nbytes)
    else:
        s.flags |= u.SEARCH_STAGED
        for off in range(0, v.shape[0], u.INLINE_DIM):
            part = v[off : off + u.INLINE_DIM]
            c = u.new_request(u.VectorChunk)
            c.dim, c.offset, c.count = v.shape[0], off, part.shape[0]
            ctypes.memmove(ctypes.addressof(c) + u.VectorChunk.data.offset, part.tobytes(), part.nbytes)
            chunks.append(c)
    return s, chunks


def set_filters(s, subtree_ino, name_glob, xattr):
    """The filter fields, common to vexfs_search and vexfs_search_batch."""
    s.subtree_ino = subtree_ino
    if name_glob is not None:
        g = os.fsencode(name_glob)
        if not g or len(g) >= u.GLOB_MAX or b"\0" in g:
            raise ValueError(f"name_glob: 1 to {u.GLOB_MAX - 1} bytes, no NUL")
        s.name_glob = g
    if xattr is not None:
        name, value = xattr
        nb = os.fsencode(name)
        vb = value.encode() if isinstance(value, str) else bytes(value)
        if not nb or len(nb) >= u.XATTR_NAME_MAX or b"\0" in nb:
            raise ValueError(f"xattr name: 1 to {u.XATTR_NAME_MAX - 1} bytes, no NUL")
        if len(vb) > u.XATTR_VALUE_MAX:
            raise ValueError(f"xattr value: at most {u.XATTR_VALUE_MAX} bytes")
        s.xattr_name = nb
        s.xattr_value_len = len(vb)
        ctypes.memmove(ctypes.addressof(s) + type(s).xattr_value.offset, vb, len(vb))


def decode(struct):
    """[(path bytes or None, distance, ino)] of one reply."""
    names = field_bytes(struct, "names", min(struct.names_used, u.NAMES_MAX))
    out = []
    for h in struct.hits[: min(struct.count, u.HITS_MAX)]:
        path = None
        end = h.path_off + h.path_len
        if not h.flags & u.HIT_NO_PATH and end <= len(names):
            path = names[h.path_off : end]
        out.append((path, h.distance, h.ino))
    return out


def collect(first, total, fetch, want_paths=True):
    """All hits: `first` page, then pages from `fetch(offset)` until
    `total` are known. A page whose paths did not all fit is fetched again
    from its first unresolved hit; one unresolved at the start of a page
    keeps only its inode number."""
    hits, base, page = [], 0, first
    while True:
        for i, h in enumerate(page):
            g = base + i
            if g < len(hits):
                if hits[g][0] is None:
                    hits[g] = h
            else:
                hits.append(h)
        nxt = len(hits)
        if want_paths:
            nxt = next((g for g in range(base + 1, len(hits)) if hits[g][0] is None), nxt)
        if nxt >= total:
            break
        page = fetch(nxt)
        if not page:
            break
        base = nxt
    return hits[:total]


def subtree_ino(dir, subtree):
    """The inode number of `subtree` (relative to `dir` or absolute), 0 for None."""
    if subtree is None:
        return 0
    p = os.path.join(os.fsdecode(dir), os.fsdecode(subtree))
    st = os.stat(p)
    if not os.path.isdir(p):
        raise NotADirectoryError(20, "subtree is not a directory", p)
    return st.st_ino


def search(dir, vector, k, ef=None, nprobe=None, rerank=None, subtree=None, name_glob=None, exact=False, metric=None, xattr=None):
    """The `k` files under `dir` nearest to `vector`, nearest first, as
    [(path, distance, ino)]. `path` is joined to `dir` (None if the
    filesystem could not give one). `subtree` (a directory, relative to
    `dir` or absolute), `name_glob` and `xattr=(name, value)` filter inside
    the index walk. ValueError for bad arguments, OSError from the
    filesystem (EINVAL for a dimension or metric the index does not take)."""
    s, chunks = build(vector, k, ef, nprobe, rerank, subtree_ino(dir, subtree), name_glob, xattr, exact, metric)
    with Dir(dir) as d:
        for c in chunks:
            d.ioctl(u.IOC_STAGE_VECTOR, c)
        d.ioctl(u.IOC_SEARCH, s)

        def fetch(offset):
            r = u.new_request(u.Results)
            r.offset = offset
            d.ioctl(u.IOC_RESULTS, r)
            return decode(r)

        hits = collect(decode(s), s.total, fetch)
    base = os.fsdecode(dir)
    return [(os.path.join(base, os.fsdecode(p)) if p is not None else None, float(dist), ino) for p, dist, ino in hits]


def batch_rows(dim, k):
    """Queries one VEXFS_IOC_SEARCH_BATCH request can carry."""
    return min(u.BATCH_MAX, u.BATCH_DATA // (dim * 4), u.BATCH_DATA // (k * ctypes.sizeof(u.BatchHit)))


def search_batch(dir, vectors, k, ef=None, nprobe=None, rerank=None, subtree=None, name_glob=None, exact=False, metric=None, xattr=None):
    """The `k` nearest files under `dir` to each row of `vectors` (rows,
    dim), as two (rows, k) arrays: inode numbers (uint64, 0 where fewer
    than k files qualify) and distances (float32, inf there). Rows go in
    VEXFS_IOC_SEARCH_BATCH requests of as many queries as fit (one round
    trip each); every row is answered as `search` would, without paths.
    ValueError for bad arguments (k above what one request holds: use
    `search`), OSError from the filesystem."""
    q = as_matrix(vectors, "query vectors")
    k = check_count("k", k, 1, u.K_MAX)
    rows, dim = q.shape
    per = batch_rows(dim, k)
    if per < 1:
        raise ValueError(f"k={k} with {dim} dimensions does not fit one batch request: use search()")
    ino = subtree_ino(dir, subtree)
    inos = np.zeros((rows, k), dtype=np.uint64)
    dists = np.full((rows, k), np.inf, dtype=np.float32)
    hit_dtype = np.dtype([("ino", "<u8"), ("distance", "<f4"), ("reserved", "<u4")])
    with Dir(dir) as d:
        for start in range(0, rows, per):
            part = q[start : start + per]
            s = u.new_request(u.SearchBatch)
            s.k, s.dim, s.count = k, dim, part.shape[0]
            s.ef = check_count("ef", ef)
            s.nprobe = check_count("nprobe", nprobe)
            s.rerank = check_count("rerank", rerank)
            s.metric = metric_number(metric) if metric is not None else u.METRIC_DEFAULT
            s.flags = u.SEARCH_EXACT if exact else 0
            set_filters(s, ino, name_glob, xattr)
            ctypes.memmove(ctypes.addressof(s) + u.SearchBatch.data.offset, part.tobytes(), part.nbytes)
            d.ioctl(u.IOC_SEARCH_BATCH, s)
            n = part.shape[0]
            hits = np.frombuffer(field_bytes(s, "data", n * k * hit_dtype.itemsize), dtype=hit_dtype).reshape(n, k)
            found = np.array(s.found[:n], dtype=np.int64)
            valid = np.arange(k)[None, :] < found[:, None]
            inos[start : start + n] = np.where(valid, hits["ino"], 0)
            dists[start : start + n] = np.where(valid, hits["distance"], np.inf)
    return inos, dists
