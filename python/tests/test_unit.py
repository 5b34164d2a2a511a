"""What needs no mount: input checks, bulk packing, request building and
result paging."""

import ctypes
import struct

import numpy as np
import pytest

from vexfs import _uapi as u
from vexfs import _bulk as bulk
from vexfs import _search as search
from vexfs._common import as_matrix, as_vector


def test_vector_checks():
    assert as_vector([1, 2, 3]).dtype == np.dtype("<f4")
    for bad in ([], [1.0, float("nan")], [float("inf")], [[1, 2]], np.zeros(4097), ["x"], [1e300]):
        with pytest.raises(ValueError):
            as_vector(bad)
    with pytest.raises(ValueError, match="row 1, column 0"):
        as_matrix([[1, 2], [float("nan"), 0]])
    with pytest.raises(ValueError, match="2-D"):
        as_matrix([1, 2])
    assert as_matrix(np.arange(6, dtype=np.float64).reshape(2, 3).T).flags["C_CONTIGUOUS"]


def test_bulk_plan_and_fill():
    names = [b"abcd"] * 400
    chunks = bulk.plan(names, 50)
    assert chunks[0] == (0, 78)
    assert sum(b - a for a, b in chunks) == 400
    assert bulk.plan([b"abc"], 3999) == [(0, 1)]
    assert bulk.plan([b"abcd"], 3999) is None
    rows = np.array([[1, 2], [3, 4]], dtype=np.float32)
    req = bulk.fill([b"ab", b"c"], rows, u.BULK_CREATE)
    assert (req.count, req.dim, req.names_len, req.flags, req.size) == (2, 2, 5, u.BULK_CREATE, ctypes.sizeof(u.Bulk))
    data = bytes(req.data)
    assert data[:8] == b"ab\0c\0\0\0\0"
    assert struct.unpack("<4f", data[8:24]) == (1, 2, 3, 4)


def test_import_refuses_bad_names(tmp_path):
    for bad in (".", "..", "a/b", "", "x" * 256):
        with pytest.raises(ValueError, match="single file name"):
            bulk.import_array(tmp_path, [bad], np.zeros((1, 2)))
    with pytest.raises(ValueError, match="2 names for 1 rows"):
        bulk.import_array(tmp_path, ["a", "b"], np.zeros((1, 2)))


def test_build_checks():
    for k in (0, 4097, -1, 1.5, True):
        with pytest.raises(ValueError, match="k must be"):
            search.build([1.0, 2.0], k)
    with pytest.raises(ValueError, match="unknown metric"):
        search.build([1.0], 1, metric="hamming")
    with pytest.raises(ValueError):
        search.build([1.0], 1, name_glob="x" * 128)
    with pytest.raises(ValueError):
        search.build([1.0], 1, xattr=("user.a", b"x" * 193))
    s, chunks = search.build([0.5, 0.25], 7, ef=64, name_glob="k*", xattr=("user.a", "v"), exact=True)
    assert (s.k, s.dim, s.ef, s.flags) == (7, 2, 64, u.SEARCH_EXACT)
    assert list(s.vector[:3]) == [0.5, 0.25, 0.0]
    assert s.name_glob == b"k*" and s.xattr_name == b"user.a" and s.xattr_value_len == 1
    assert chunks == []
    s, chunks = search.build(np.ones(3000), 1)
    assert s.flags == u.SEARCH_STAGED
    assert [(c.offset, c.count, c.dim) for c in chunks] == [(0, 2048, 3000), (2048, 952, 3000)]


def fake(total, per_page, fit, never=()):
    def fetch(offset):
        return [((f"p{i}".encode() if j < fit and i not in never else None), float(i), i) for j, i in enumerate(range(offset, min(total, offset + per_page)))]

    return fetch


def check(hits, total, never=()):
    assert [h[2] for h in hits] == list(range(total))
    for i, h in enumerate(hits):
        assert h[0] == (None if i in never else f"p{i}".encode()), i


def test_paging():
    f = fake(300, 128, 128)
    calls = []
    hits = search.collect(f(0), 300, lambda o: calls.append(o) or f(o))
    check(hits, 300)
    assert calls == [128, 256]
    f = fake(200, 128, 50)
    calls = []
    check(search.collect(f(0), 200, lambda o: calls.append(o) or f(o)), 200)
    assert calls == [50, 100, 150]
    f = fake(10, 4, 4, never=(1, 4, 5))
    check(search.collect(f(0), 10, f), 10, never=(1, 4, 5))
    assert len(search.collect(f(0), 10, lambda o: [])) == 4


def test_decode_bounds():
    r = u.new_request(u.Results)
    ctypes.memmove(ctypes.addressof(r) + u.Results.names.offset, b"abc\0def", 7)
    r.names_used, r.count = 7, 3
    r.hits[0].path_off, r.hits[0].path_len, r.hits[0].ino = 0, 3, 1
    r.hits[1].path_off, r.hits[1].path_len, r.hits[1].ino = 4, 3, 2
    r.hits[2].path_off, r.hits[2].path_len, r.hits[2].ino = 5, 9, 3
    assert [h[0] for h in search.decode(r)] == [b"abc", b"def", None]
