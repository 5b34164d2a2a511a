#!/usr/bin/env python3
"""Peer side of anns_benchmark: FAISS, hnswlib and usearch on the same data.

The Rust binary writes base/train/query vectors and the ground truth as .npy
files plus a JSON config with the parameter sweeps, runs this script, and
reads back one JSON document with a curve per (library, strategy).

Timing follows the Rust side:
  * qps_1t / p50 / p99: one query per call, one thread, the first
    `single_queries` queries; each call is timed on its own.
  * qps_1t_batch: all queries in one call with one thread, which removes
    the Python per-call overhead (the fair single-thread figure for a
    library driven from Python).
  * qps_batch: all queries in one call with all threads.
  * recall@k: from the batched all-thread results over all queries.
Cosine data arrive normalised, so "ip" is used for cosine everywhere.
"""

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def recall_at_k(found, gt, k):
    found = np.asarray(found)[:, :k]
    gt = gt[:, :k]
    hits = 0
    for f, t in zip(found, gt):
        hits += len(np.intersect1d(f[f >= 0], t, assume_unique=False))
    return hits / (gt.shape[0] * k)


def percentile_us(lat_ns, p):
    return float(np.percentile(np.asarray(lat_ns, dtype=np.float64), p) / 1e3)


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *a):
        self.s = time.perf_counter() - self.t0


ROUNDS = 3


def measure(one, batch, set_threads, queries, gt, k, threads, single_queries):
    """Time a configured index at one parameter point.

    one(q) searches a single query (1-d array); batch(Q) a matrix and returns
    an (nq, k) id array; set_threads(t) switches the library thread count.
    """
    n1 = min(single_queries, queries.shape[0])
    set_threads(1)
    for i in range(min(20, n1)):  # warm caches and lazy initialisation
        one(queries[i])
    # Best of ROUNDS passes, as on the Rust side: a pass that lost the CPU
    # to another process would otherwise dominate the mean.
    lat = None
    for _ in range(ROUNDS):
        cur = []
        for i in range(n1):
            t0 = time.perf_counter_ns()
            one(queries[i])
            cur.append(time.perf_counter_ns() - t0)
        if lat is None or sum(cur) < sum(lat):
            lat = cur
    total = sum(lat) / 1e9
    best_1b = None
    for _ in range(ROUNDS):
        with Timer() as t1b:
            batch(queries[:n1])
        best_1b = t1b.s if best_1b is None else min(best_1b, t1b.s)
    set_threads(threads)
    batch(queries[: min(100, queries.shape[0])])
    with Timer() as tb:
        ids = batch(queries)
    return {
        "recall": recall_at_k(ids, gt, k),
        "qps_1t": n1 / total,
        "qps_1t_batch": n1 / best_1b,
        "qps_batch": queries.shape[0] / tb.s,
        "p50_us": percentile_us(lat, 50),
        "p99_us": percentile_us(lat, 99),
    }


def serialized_size(save):
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "index.bin")
        save(p)
        return os.path.getsize(p)


def log(msg):
    print(f"[peers] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ faiss

def faiss_info():
    import faiss

    level = None
    try:
        level = faiss.SIMDConfig.get_level_name()
    except Exception:  # older releases pick a module per SIMD level instead
        pass
    opts = faiss.get_compile_options().strip()
    return {"version": faiss.__version__, "simd": level or opts, "compile_options": opts}


def run_faiss(cfg, data, out):
    import faiss

    base, train, queries, gt = data
    d = base.shape[1]
    k = cfg["k"]
    T = cfg["threads"]
    metric = faiss.METRIC_INNER_PRODUCT if cfg["metric"] == "ip" else faiss.METRIC_L2

    keep_alive = []

    def set_threads(t):
        faiss.omp_set_num_threads(t)

    def make_search(index):
        def one(q):
            return index.search(q.reshape(1, -1), k)[1]

        def batch(Q):
            return index.search(Q, k)[1]

        return one, batch

    def build(name, strategy, make, train_needed, params_list, apply, extra=None):
        gc.collect()
        set_threads(T)
        rss0 = rss_bytes()
        index = make()
        t_train = 0.0
        if train_needed:
            with Timer() as tt:
                index.train(train)
            t_train = tt.s
        with Timer() as tb:
            index.add(base)
        size = len(faiss.serialize_index(index))
        curve = {
            "algo": name,
            "library": "faiss",
            "strategy": strategy,
            "train_s": t_train,
            "build_s": t_train + tb.s,
            "inserts_per_s": base.shape[0] / tb.s,
            "memory_bytes": max(0, rss_bytes() - rss0),
            "index_bytes": size,
            "build_params": extra or {},
            "points": [],
        }
        one, batch = make_search(index)
        for p in params_list:
            label = apply(index, p)
            m = measure(one, batch, set_threads, queries, gt, k, T, cfg["single_queries"])
            m["params"] = label
            curve["points"].append(m)
            log(f"{name} {label}: recall={m['recall']:.4f} qps_1t={m['qps_1t']:.0f}")
        out.append(curve)
        del index
        gc.collect()

    strategies = cfg["strategies"]
    if "flat" in strategies:
        build("faiss-flat", "flat", lambda: faiss.IndexFlat(d, metric), False, [None], lambda i, p: "exact")
    if "hnsw" in strategies:
        h = cfg["hnsw"]
        for M in h["M"]:
            def make(M=M):
                ix = faiss.IndexHNSWFlat(d, M, metric)
                ix.hnsw.efConstruction = h["ef_construction"]
                return ix

            def apply(ix, ef):
                ix.hnsw.efSearch = ef
                return f"M={M},ef={ef}"

            name = "faiss-hnsw" if M == h["M"][0] else f"faiss-hnsw-M{M}"
            build(name, "hnsw", make, False, h["ef"], apply, {"M": M, "ef_construction": h["ef_construction"]})
    # Scalar-quantised storage, the twins of VexFS's storage=f16|sq8:
    # per-dimension ranges trained on the training sample (QT_8bit), or
    # half floats (QT_fp16, training is a no-op).
    sq_types = {"sq8": faiss.ScalarQuantizer.QT_8bit, "f16": faiss.ScalarQuantizer.QT_fp16}
    for st, qt in sq_types.items():
        if f"flat-{st}" in strategies:
            build(f"faiss-flat-{st}", f"flat-{st}",
                  lambda qt=qt: faiss.IndexScalarQuantizer(d, qt, metric), True, [None],
                  lambda i, p: "exact", {"storage": st})
        if f"hnsw-{st}" in strategies:
            h = cfg["hnsw"]
            for M in h["M"]:
                def make(M=M, qt=qt):
                    ix = faiss.IndexHNSWSQ(d, qt, M, metric)
                    ix.hnsw.efConstruction = h["ef_construction"]
                    return ix

                def apply(ix, ef, M=M):
                    ix.hnsw.efSearch = ef
                    return f"M={M},ef={ef}"

                name = f"faiss-hnsw-{st}" if M == h["M"][0] else f"faiss-hnsw-{st}-M{M}"
                build(name, f"hnsw-{st}", make, True, h["ef"], apply,
                      {"M": M, "ef_construction": h["ef_construction"], "storage": st})
    if "ivf" in strategies:
        c = cfg["ivf"]

        def make():
            quantizer = faiss.IndexFlat(d, metric)
            keep_alive.append(quantizer)
            ix = faiss.IndexIVFFlat(quantizer, d, c["nlist"], metric)
            # The same k-means iteration count as VexFS (FAISS defaults to 10).
            ix.cp.niter = c["train_iters"]
            return ix

        def apply(ix, nprobe):
            ix.nprobe = nprobe
            return f"nprobe={nprobe}"

        build("faiss-ivf", "ivf", make, True, c["nprobe"], apply,
              {"nlist": c["nlist"], "train_iters": c["train_iters"]})
    if "ivfpq" in strategies:
        c = cfg["ivfpq"]

        def make():
            quantizer = faiss.IndexFlat(d, metric)
            ivf = faiss.IndexIVFPQ(quantizer, d, c["nlist"], c["m"], c["nbits"], metric)
            # Coarse and codebook k-means with VexFS's iteration count
            # (FAISS defaults to 10 and 25).
            ivf.cp.niter = c["train_iters"]
            ivf.pq.cp.niter = c["train_iters"]
            # The refine wrapper does not own its base index: keep the
            # Python objects alive for as long as the index is used.
            keep_alive.extend([quantizer, ivf])
            return faiss.IndexRefineFlat(ivf)

        def apply(ix, p):
            nprobe, rerank = p
            faiss.extract_index_ivf(ix).nprobe = nprobe
            ix.k_factor = max(1.0, rerank / k)
            return f"nprobe={nprobe},rerank={rerank}"

        points = [(a, b) for a in c["nprobe"] for b in c["rerank"]]
        build("faiss-ivfpq", "ivfpq", make, True, points, apply, {"nlist": c["nlist"], "m": c["m"], "nbits": c["nbits"],
                                                   "train_iters": c["train_iters"]})
    if "lsh" in strategies:
        c = cfg["lsh"]
        for nbits in c["faiss_nbits"]:
            def make(nbits=nbits):
                lsh = faiss.IndexLSH(d, nbits, True, False)
                keep_alive.append(lsh)
                return faiss.IndexRefineFlat(lsh)

            def apply(ix, rerank, nbits=nbits):
                ix.k_factor = max(1.0, rerank / k)
                return f"nbits={nbits},rerank={rerank}"

            name = "faiss-lsh" if nbits == c["faiss_nbits"][0] else f"faiss-lsh-{nbits}"
            build(name, "lsh", make, True, c["rerank"], apply, {"nbits": nbits})


# ---------------------------------------------------------------- hnswlib

def so_simd_level(module):
    """Widest vector registers used by a compiled extension (objdump)."""
    try:
        dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", module.__file__],
                             capture_output=True, text=True, timeout=120).stdout
    except Exception:
        return "unknown"
    if "%zmm" in dis:
        return "AVX512 (zmm registers in the build)"
    if "%ymm" in dis:
        return "AVX/AVX2 (ymm registers in the build)"
    return "SSE"


def hnswlib_info():
    import hnswlib
    from importlib.metadata import version

    return {"version": version("hnswlib"), "simd": so_simd_level(hnswlib),
            "build": "pip --no-binary hnswlib (compiled on this machine, -march=native)"}


def run_hnswlib(cfg, data, out):
    import hnswlib

    base, _, queries, gt = data
    k, T = cfg["k"], cfg["threads"]
    h = cfg["hnsw"]
    space = "ip" if cfg["metric"] == "ip" else "l2"
    for M in h["M"]:
        gc.collect()
        rss0 = rss_bytes()
        ix = hnswlib.Index(space=space, dim=base.shape[1])
        ix.init_index(max_elements=base.shape[0], M=M, ef_construction=h["ef_construction"], random_seed=100)
        with Timer() as tb:
            ix.add_items(base, np.arange(base.shape[0]), num_threads=T)
        curve = {
            "algo": "hnswlib" if M == h["M"][0] else f"hnswlib-M{M}",
            "library": "hnswlib",
            "strategy": "hnsw",
            "train_s": 0.0,
            "build_s": tb.s,
            "inserts_per_s": base.shape[0] / tb.s,
            "memory_bytes": max(0, rss_bytes() - rss0),
            "index_bytes": serialized_size(ix.save_index),
            "build_params": {"M": M, "ef_construction": h["ef_construction"]},
            "points": [],
        }
        state = {"t": T}

        def set_threads(t):
            state["t"] = t
            ix.set_num_threads(t)

        def one(q):
            return ix.knn_query(q, k=k, num_threads=1)[0]

        def batch(Q):
            return ix.knn_query(Q, k=k, num_threads=state["t"])[0]

        for ef in h["ef"]:
            ix.set_ef(max(ef, k))
            m = measure(one, batch, set_threads, queries, gt, k, T, cfg["single_queries"])
            m["params"] = f"M={M},ef={ef}"
            curve["points"].append(m)
            log(f"{curve['algo']} ef={ef}: recall={m['recall']:.4f} qps_1t={m['qps_1t']:.0f}")
        out.append(curve)
        del ix


# ---------------------------------------------------------------- usearch

def usearch_info():
    import usearch
    from usearch.index import Index

    return {"version": usearch.__version__,
            "simd": str(Index(ndim=8, metric="ip", dtype="f32").hardware_acceleration)}


def run_usearch(cfg, data, out):
    from usearch.index import Index

    base, _, queries, gt = data
    k, T = cfg["k"], cfg["threads"]
    h = cfg["hnsw"]
    metric = "ip" if cfg["metric"] == "ip" else "l2sq"
    for M in h["M"]:
        gc.collect()
        rss0 = rss_bytes()
        ix = Index(ndim=base.shape[1], metric=metric, dtype="f32", connectivity=M,
                   expansion_add=h["ef_construction"], expansion_search=64)
        with Timer() as tb:
            ix.add(np.arange(base.shape[0], dtype=np.uint64), base, threads=T)
        curve = {
            "algo": "usearch" if M == h["M"][0] else f"usearch-M{M}",
            "library": "usearch",
            "strategy": "hnsw",
            "train_s": 0.0,
            "build_s": tb.s,
            "inserts_per_s": base.shape[0] / tb.s,
            "memory_bytes": max(0, rss_bytes() - rss0),
            "index_bytes": serialized_size(ix.save),
            "build_params": {"M": M, "ef_construction": h["ef_construction"]},
            "points": [],
        }
        state = {"t": T}

        def set_threads(t):
            state["t"] = t

        def one(q):
            return ix.search(q, k, threads=1).keys

        def batch(Q):
            r = ix.search(Q, k, threads=state["t"])
            return np.asarray(r.keys, dtype=np.int64)

        for ef in h["ef"]:
            ix.expansion_search = max(ef, k)
            m = measure(one, batch, set_threads, queries, gt, k, T, cfg["single_queries"])
            m["params"] = f"M={M},ef={ef}"
            curve["points"].append(m)
            log(f"{curve['algo']} ef={ef}: recall={m['recall']:.4f} qps_1t={m['qps_1t']:.0f}")
        out.append(curve)
        del ix


RUNNERS = {
    "faiss": (faiss_info, run_faiss),
    "hnswlib": (hnswlib_info, run_hnswlib),
    "usearch": (usearch_info, run_usearch),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="directory with base.npy, train.npy, queries.npy, gt.npy, config.json")
    ap.add_argument("--out", required=True, help="result JSON path")
    ap.add_argument("--probe", action="store_true", help="only report which peers import, with versions")
    args = ap.parse_args()

    if args.probe:
        info = {}
        for name, (get_info, _) in RUNNERS.items():
            try:
                info[name] = get_info()
            except Exception as e:  # not installed or broken: reported, not fatal
                info[name] = {"error": f"{type(e).__name__}: {e}"}
        with open(args.out, "w") as f:
            json.dump(info, f, indent=1)
        return

    with open(os.path.join(args.dir, "config.json")) as f:
        cfg = json.load(f)
    base = np.ascontiguousarray(np.load(os.path.join(args.dir, "base.npy")), dtype=np.float32)
    train = np.ascontiguousarray(np.load(os.path.join(args.dir, "train.npy")), dtype=np.float32)
    queries = np.ascontiguousarray(np.load(os.path.join(args.dir, "queries.npy")), dtype=np.float32)
    gt = np.load(os.path.join(args.dir, "gt.npy"))
    data = (base, train, queries, gt)

    result = {"python": platform.python_version(), "peers": {}, "curves": [], "errors": {}}
    for name in cfg["peers"]:
        get_info, run = RUNNERS[name]
        try:
            result["peers"][name] = get_info()
            log(f"{name} {result['peers'][name]}")
            run(cfg, data, result["curves"])
        except Exception as e:
            # One broken peer must not lose the others' results.
            import traceback

            traceback.print_exc()
            result["errors"][name] = f"{type(e).__name__}: {e}"
        # Write after each peer so a later crash keeps earlier curves.
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
