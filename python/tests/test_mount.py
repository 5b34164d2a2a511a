"""The package against a real VexFS mount (see conftest.py)."""

import errno
import os

import numpy as np
import pytest

import vexfs


def brute_l2(data, q, k):
    d = ((data - q) ** 2).sum(axis=1)
    order = np.argsort(d, kind="stable")[:k]
    return order, d[order]


def test_set_get_remove(fresh_dir):
    f = os.path.join(fresh_dir, "doc")
    open(f, "w").close()
    v = np.array([0.1, -0.2, 0.3], dtype=np.float32)
    vexfs.set_embedding(f, v)
    got = vexfs.get_embedding(f)
    assert got.dtype == np.float32 and np.array_equal(got, v)
    # The raw attribute is little-endian float32, as documented.
    assert os.getxattr(f, vexfs.EMBEDDING_XATTR) == v.astype("<f4").tobytes()
    vexfs.remove_embedding(f)
    with pytest.raises(OSError) as e:
        vexfs.get_embedding(f)
    assert e.value.errno == errno.ENODATA
    with pytest.raises(OSError) as e:
        vexfs.remove_embedding(f)
    assert e.value.errno == errno.ENODATA


def test_bad_vectors_are_value_errors(fresh_dir):
    f = os.path.join(fresh_dir, "doc")
    open(f, "w").close()
    for bad in ([1.0, float("nan")], [float("inf")], [], np.zeros(4097), [[1.0]]):
        with pytest.raises(ValueError):
            vexfs.set_embedding(f, bad)
    with pytest.raises(OSError):
        vexfs.get_embedding(f)


def test_index_dimension_and_stats(fresh_dir):
    vexfs.create_index(fresh_dir, 4, strategy="flat", metric="l2")
    st = vexfs.index_stats(fresh_dir)
    assert st["state"] in ("clean", "dirty")
    assert (st["strategy"], st["metric"], st["dim"], st["vectors"]) == ("flat", "l2", 4, 0)
    assert st["root_ino"] == os.stat(fresh_dir).st_ino
    f = os.path.join(fresh_dir, "a")
    open(f, "w").close()
    with pytest.raises(OSError) as e:
        vexfs.set_embedding(f, [1.0, 2.0, 3.0])
    assert e.value.errno == errno.EINVAL
    vexfs.set_embedding(f, [1.0, 2.0, 3.0, 4.0])
    assert vexfs.index_stats(fresh_dir)["vectors"] == 1
    with pytest.raises(OSError) as e:
        vexfs.create_index(fresh_dir, 4)
    assert e.value.errno == errno.EEXIST
    vexfs.create_index(fresh_dir, 4, strategy="hnsw", params="m=8", replace=True)
    st = vexfs.index_stats(fresh_dir)
    assert (st["strategy"], st["vectors"]) == ("hnsw", 1)
    vexfs.save_index(fresh_dir)
    assert vexfs.index_stats(fresh_dir)["state"] == "clean"
    vexfs.rebuild_index(fresh_dir)
    vexfs.drop_index(fresh_dir)
    assert vexfs.index_stats(fresh_dir)["state"] == "none"
    with pytest.raises(OSError) as e:
        vexfs.drop_index(fresh_dir)
    assert e.value.errno == errno.ENODATA
    with pytest.raises(ValueError):
        vexfs.create_index(fresh_dir, 4, strategy="annoy")
    with pytest.raises(ValueError):
        vexfs.create_index(fresh_dir, 0)


def test_import_and_flat_search_equals_brute_force(fresh_dir):
    rng = np.random.default_rng(7)
    data = rng.standard_normal((300, 16)).astype(np.float32)
    names = [f"row-{i}" for i in range(300)]
    vexfs.create_index(fresh_dir, 16, strategy="flat")
    assert vexfs.import_array(fresh_dir, names, data, create=True) == 300
    assert vexfs.index_stats(fresh_dir)["vectors"] == 300
    assert np.array_equal(vexfs.get_embedding(os.path.join(fresh_dir, "row-17")), data[17])
    for qi in (0, 5, 123):
        q = data[qi] + 0.01
        hits = vexfs.search(fresh_dir, q, 10)
        order, dist = brute_l2(data.astype(np.float64), q.astype(np.float64), 10)
        assert [h[0] for h in hits] == [os.path.join(fresh_dir, names[i]) for i in order]
        assert np.allclose([h[1] for h in hits], dist, rtol=1e-4, atol=1e-4)
        assert all(h[2] == os.stat(h[0]).st_ino for h in hits)


def test_paging_beyond_128(fresh_dir):
    rng = np.random.default_rng(8)
    data = rng.standard_normal((300, 8)).astype(np.float32)
    vexfs.import_array(fresh_dir, [f"f{i}" for i in range(300)], data, create=True)
    hits = vexfs.search(fresh_dir, data[0], 250, exact=True)
    assert len(hits) == 250
    order, _ = brute_l2(data.astype(np.float64), data[0].astype(np.float64), 250)
    assert [h[0] for h in hits] == [os.path.join(fresh_dir, f"f{i}") for i in order]
    assert len({h[2] for h in hits}) == 250


def test_filters(fresh_dir):
    sub = os.path.join(fresh_dir, "sub")
    os.mkdir(sub)
    rng = np.random.default_rng(9)
    data = rng.standard_normal((40, 4)).astype(np.float32)
    vexfs.import_array(fresh_dir, [f"top{i}" for i in range(20)], data[:20], create=True)
    vexfs.import_array(sub, [f"low{i}" for i in range(20)], data[20:], create=True)
    hits = vexfs.search(fresh_dir, data[0], 5, subtree="sub")
    assert len(hits) == 5 and all(h[0].startswith(sub + "/") for h in hits)
    hits = vexfs.search(fresh_dir, data[0], 40, name_glob="top1*")
    assert sorted(os.path.basename(h[0]) for h in hits) == sorted(["top1"] + [f"top1{i}" for i in range(10)])
    os.setxattr(os.path.join(sub, "low3"), "user.tag", b"x")
    hits = vexfs.search(fresh_dir, data[0], 5, xattr=("user.tag", b"x"))
    assert [os.path.basename(h[0]) for h in hits] == ["low3"]


def test_long_query_is_staged(fresh_dir):
    rng = np.random.default_rng(10)
    data = rng.standard_normal((5, 2100)).astype(np.float32)
    vexfs.import_array(fresh_dir, [f"v{i}" for i in range(5)], data, create=True)
    hits = vexfs.search(fresh_dir, data[3], 2)
    assert hits[0][0] == os.path.join(fresh_dir, "v3")
    assert hits[0][1] == pytest.approx(0.0, abs=1e-3)


def test_import_errors(fresh_dir):
    with pytest.raises(OSError) as e:
        vexfs.import_array(fresh_dir, ["missing"], np.zeros((1, 3)))
    assert e.value.errno == errno.ENOENT
    assert "missing" in str(e.value)
    with pytest.raises(ValueError):
        vexfs.import_array(fresh_dir, ["a"], [[float("nan"), 1.0]])
    with pytest.raises(OSError) as e:
        vexfs.search(os.path.join(fresh_dir, "nope"), [1.0], 1)
    assert e.value.errno == errno.ENOENT


def test_path_types(fresh_dir):
    import pathlib

    vexfs.import_array(pathlib.Path(fresh_dir), ["a", "b"], np.eye(2), create=True)
    for d in (fresh_dir, pathlib.Path(fresh_dir), os.fsencode(fresh_dir)):
        hits = vexfs.search(d, [1.0, 0.0], 1)
        assert hits[0][0] == os.path.join(fresh_dir, "a") and hits[0][1] == 0.0
    assert vexfs.index_stats(pathlib.Path(fresh_dir))["state"] == "none"


def test_search_batch_equals_one_search_per_query(fresh_dir):
    rng = np.random.default_rng(12)
    data = rng.standard_normal((400, 16)).astype(np.float32)
    names = [f"b{i}" for i in range(400)]
    vexfs.create_index(fresh_dir, 16, strategy="flat")
    vexfs.import_array(fresh_dir, names, data, create=True)
    by_ino = {os.stat(os.path.join(fresh_dir, n)).st_ino: os.path.join(fresh_dir, n) for n in names}
    queries = rng.standard_normal((70, 16)).astype(np.float32)  # more than one request holds
    inos, dists = vexfs.search_batch(fresh_dir, queries, 10, ef=64)
    assert inos.shape == (70, 10) and dists.dtype == np.float32
    for i, q in enumerate(queries):
        single = vexfs.search(fresh_dir, q, 10, ef=64)
        assert [by_ino[int(x)] for x in inos[i]] == [h[0] for h in single]
        assert np.allclose(dists[i], [h[1] for h in single])
    # Fewer files than k under a filter: padded with 0 / inf.
    inos, dists = vexfs.search_batch(fresh_dir, queries[:3], 20, name_glob="b1?")
    assert (inos[:, 10:] == 0).all() and np.isinf(dists[:, 10:]).all()
    assert all(by_ino[int(x)].rsplit("/", 1)[1].startswith("b1") for x in inos[:, :10].ravel())
    with pytest.raises(ValueError):
        vexfs.search_batch(fresh_dir, queries[0], 10)  # 1-D: use search()
    with pytest.raises(ValueError):
        vexfs.search_batch(fresh_dir, queries, 4000)  # k too large for one request
    with pytest.raises(OSError) as e:
        vexfs.search_batch(fresh_dir, queries[:, :8], 10)  # wrong dimension
    assert e.value.errno == errno.EINVAL
