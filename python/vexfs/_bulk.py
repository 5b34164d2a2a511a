"""Many embeddings in one directory through VEXFS_IOC_BULK_SET, in
requests that fill the 16000-byte data area (names, padding, floats)."""

import ctypes
import os

from . import _uapi as u
from ._common import Dir, as_matrix, os_error


def _name_bytes(n, i):
    b = os.fsencode(n)
    if not b or b in (b".", b"..") or b"/" in b or b"\0" in b or len(b) > 255:
        raise ValueError(f"names[{i}] = {n!r}: not a single file name component")
    return b


def data_bytes(names_len, count, dim):
    """Bytes of the data area used by names totalling `names_len` bytes
    (NULs included) and `count` vectors of `dim` floats."""
    return (names_len + 3) // 4 * 4 + count * dim * 4


def plan(names, dim):
    """Consecutive (start, stop) ranges that each fit one request; None if
    some item does not fit even alone (vectors of about 4000 floats)."""
    out, start, names_len = [], 0, 0
    for i, n in enumerate(names):
        ln = len(n) + 1
        if data_bytes(names_len + ln, i + 1 - start, dim) <= u.BULK_DATA:
            names_len += ln
            continue
        if i == start or data_bytes(ln, 1, dim) > u.BULK_DATA:
            return None
        out.append((start, i))
        start, names_len = i, ln
    if start < len(names):
        out.append((start, len(names)))
    return out


def fill(names, rows, flags=0):
    """A vexfs_bulk request for `names` and the float32 rows `rows`."""
    req = u.new_request(u.Bulk)
    count, dim = rows.shape
    req.flags, req.dim, req.count = flags, dim, count
    blob = b"".join(n + b"\0" for n in names)
    req.names_len = len(blob)
    blob += b"\0" * (-len(blob) % 4) + rows.astype("<f4", copy=False).tobytes()
    if len(blob) > u.BULK_DATA:
        raise ValueError("items do not fit one bulk request")
    ctypes.memmove(ctypes.addressof(req) + u.Bulk.data.offset, blob, len(blob))
    return req


def import_array(dir, names, array, create=False):
    """Set the embedding of file `names[i]` (a name in `dir`) to `array[i]`
    for every row; with `create`, missing files are created (mode 0644).
    Each request is one transaction; on a failing item an OSError names
    that file, and the rows of earlier requests stay stored. Returns the
    number of rows stored."""
    a = as_matrix(array)
    names = list(names)
    if len(names) != a.shape[0]:
        raise ValueError(f"{len(names)} names for {a.shape[0]} rows")
    nb = [_name_bytes(n, i) for i, n in enumerate(names)]
    chunks = plan(nb, a.shape[1])
    if chunks is None:
        return _one_by_one(dir, nb, a, create)
    flags = u.BULK_CREATE if create else 0
    with Dir(dir) as d:
        for start, stop in chunks:
            req = fill(nb[start:stop], a[start:stop], flags)
            d.ioctl(u.IOC_BULK_SET, req)
            if req.error != 0:
                i = start + req.error_index if 0 <= req.error_index < stop - start else None
                path = os.path.join(os.fsencode(dir), nb[i]) if i is not None else os.fsencode(dir)
                detail = f"{os.strerror(-req.error)} (row {i}; {start} rows before it stored)"
                raise os_error(-req.error, path, detail)
    return len(nb)


def _one_by_one(dir, names, a, create):
    from ._embedding import set_embedding

    base = os.fsencode(dir)
    for i, n in enumerate(names):
        p = os.path.join(base, n)
        if create and not os.path.exists(p):
            os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o644))
        set_embedding(p, a[i])
    return len(names)
