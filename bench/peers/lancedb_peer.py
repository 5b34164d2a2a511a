#!/usr/bin/env python3
"""LanceDB (embedded) beside vexfs_mount_bench: the same import and the
same k-NN queries on the same vectors, in a data directory on the same
disk.

  lancedb_peer.py --dir D --out OUT.json --metric l2|cosine --k 10
                  [--indexes ivf_hnsw_flat,ivf_pq] [--reps 3] [--clients 1,2]

D holds base.npy (float32 rows), queries.npy and gt.npy (int32 row ids of
the exact k nearest); the database is created fresh in D/lancedb. Prints
progress to stderr and writes one JSON document to OUT.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import threading
import time

import numpy as np
import pyarrow as pa
import lancedb


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def table_of(base, start, end):
    dim = base.shape[1]
    flat = pa.array(np.ascontiguousarray(base[start:end]).reshape(-1), type=pa.float32())
    vec = pa.FixedSizeListArray.from_arrays(flat, dim)
    ids = pa.array(np.arange(start, end, dtype=np.int64))
    return pa.table({"id": ids, "vector": vec})


def measure(tbl, queries, gt, k, metric, point, clients, reps):
    """Median-of-reps QPS of per-query searches by `clients` threads (each
    runs every query, starting at a different offset), recall@k and
    latency percentiles from the median repetition."""
    nq = len(queries)

    def query(i):
        q = tbl.search(queries[i]).distance_type(metric).limit(k).select(["id"])
        if "nprobes" in point:
            q = q.nprobes(point["nprobes"])
        if "ef" in point:
            q = q.ef(point["ef"])
        if point.get("refine"):
            q = q.refine_factor(point["refine"])
        return q.to_arrow()["id"].to_numpy()

    for i in range(min(20, nq)):
        query(i)
    runs = []
    for _ in range(reps):
        lat = [[] for _ in range(clients)]
        found = [None] * nq
        barrier = threading.Barrier(clients + 1)

        def worker(t):
            barrier.wait()
            for j in range(nq):
                i = (j + t * nq // clients) % nq
                t0 = time.perf_counter()
                ids = query(i)
                lat[t].append(time.perf_counter() - t0)
                if t == 0:
                    found[i] = ids
            barrier.wait()

        ths = [threading.Thread(target=worker, args=(t,)) for t in range(clients)]
        for th in ths:
            th.start()
        barrier.wait()
        t0 = time.perf_counter()
        barrier.wait()
        wall = time.perf_counter() - t0
        for th in ths:
            th.join()
        hits = sum(len(set(found[i][:k].tolist()) & set(gt[i][:k].tolist())) for i in range(nq))
        all_lat = sorted(x for l in lat for x in l)
        runs.append(
            {
                "qps": clients * nq / wall,
                "recall": hits / (nq * k),
                "p50_us": float(np.percentile(all_lat, 50) * 1e6),
                "p99_us": float(np.percentile(all_lat, 99) * 1e6),
            }
        )
    runs.sort(key=lambda r: r["qps"])
    med = runs[len(runs) // 2]
    med["qps_runs"] = [r["qps"] for r in runs]
    return med


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--metric", default="l2")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--indexes", default="ivf_hnsw_flat,ivf_pq")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--clients", default="1,2")
    ap.add_argument("--ef", default="16,32,64,128,256,512")
    a = ap.parse_args()
    base = np.load(os.path.join(a.dir, "base.npy")).astype(np.float32)
    queries = np.load(os.path.join(a.dir, "queries.npy")).astype(np.float32)
    gt = np.load(os.path.join(a.dir, "gt.npy"))
    n, dim = base.shape
    metric = "cosine" if a.metric == "cosine" else "l2"
    clients = [int(c) for c in a.clients.split(",") if c]
    efs = [int(e) for e in a.ef.split(",") if e]
    out = {"version": lancedb.__version__, "rows": n, "dim": dim, "metric": metric, "indexes": []}
    for kind in [s for s in a.indexes.split(",") if s]:
        db_dir = os.path.join(a.dir, "lancedb")
        shutil.rmtree(db_dir, ignore_errors=True)
        db = lancedb.connect(db_dir)
        # Import: the rows appended in batches of 10k, as a loader would.
        t0 = time.perf_counter()
        tbl = db.create_table("v", data=table_of(base, 0, min(n, 10000)))
        for s in range(10000, n, 10000):
            tbl.add(table_of(base, s, min(n, s + 10000)))
        import_s = time.perf_counter() - t0
        log(f"lancedb {kind}: imported {n} rows in {import_s:.2f}s ({n / import_s:.0f}/s)")
        t0 = time.perf_counter()
        if kind == "ivf_hnsw_flat":
            parts = max(1, round(n / 100_000))
            params = {"index_type": "IVF_HNSW_FLAT", "num_partitions": parts, "m": 16, "ef_construction": 200}
            points = [{"nprobes": p, "ef": max(e, a.k)} for p in sorted({1, parts}) for e in efs]
        elif kind == "ivf_pq":
            parts = max(1, int(np.sqrt(n)))
            sub = dim // 4 if dim % 4 == 0 else dim // 2
            params = {"index_type": "IVF_PQ", "num_partitions": parts, "num_sub_vectors": sub, "num_bits": 8}
            points = [
                {"nprobes": p, "refine": r} for p in (8, 16, 32, 64, 128) for r in (5, 10, 20)
            ]
        else:
            raise SystemExit(f"unknown index {kind}")
        tbl.create_index(metric=metric, vector_column_name="vector", replace=True, **params)
        index_s = time.perf_counter() - t0
        log(f"lancedb {kind}: index {params} in {index_s:.1f}s")
        du = sum(
            os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(db_dir) for f in fs
        )
        res = {
            "index": kind,
            "params": params,
            "import_s": import_s,
            "index_s": index_s,
            "inserts_per_s": n / import_s,
            "searchable_per_s": n / (import_s + index_s),
            "disk_bytes": du,
            "points": [],
        }
        for pt in points:
            row = {"point": pt}
            for c in clients:
                m = measure(tbl, queries, gt, a.k, metric, pt, c, a.reps)
                row[f"c{c}"] = m
            log(
                f"  lancedb {kind} {pt}: recall={row['c1']['recall']:.4f} "
                + " ".join(f"qps_c{c}={row[f'c{c}']['qps']:.0f}" for c in clients)
                + f" p50={row['c1']['p50_us']:.0f}us"
            )
            res["points"].append(row)
            if row["c1"]["recall"] > 0.995:
                break
        out["indexes"].append(res)
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)
        del tbl, db
        shutil.rmtree(db_dir, ignore_errors=True)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
