"""Nearest-neighbour search under a directory (VEXFS_IOC_SEARCH), with
staging for long query vectors and paging for k above 128."""

import ctypes
import os

from . import _uapi as u
from ._common import Dir, as_vector, check_count, field_bytes, metric_number


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
    s.subtree_ino = subtree_ino
    s.flags = (u.SEARCH_EXACT if exact else 0) | (0 if paths else u.SEARCH_NO_PATHS)
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
        ctypes.memmove(ctypes.addressof(s) + u.Search.xattr_value.offset, vb, len(vb))
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


def search(dir, vector, k, ef=None, nprobe=None, rerank=None, subtree=None, name_glob=None, exact=False, metric=None, xattr=None):
    """The `k` files under `dir` nearest to `vector`, nearest first, as
    [(path, distance, ino)]. `path` is joined to `dir` (None if the
    filesystem could not give one). `subtree` (a directory, relative to
    `dir` or absolute), `name_glob` and `xattr=(name, value)` filter inside
    the index walk. ValueError for bad arguments, OSError from the
    filesystem (EINVAL for a dimension or metric the index does not take)."""
    ino = 0
    if subtree is not None:
        p = os.path.join(os.fsdecode(dir), os.fsdecode(subtree))
        st = os.stat(p)
        if not os.path.isdir(p):
            raise NotADirectoryError(20, "subtree is not a directory", p)
        ino = st.st_ino
    s, chunks = build(vector, k, ef, nprobe, rerank, ino, name_glob, xattr, exact, metric)
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
