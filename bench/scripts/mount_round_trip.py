#!/usr/bin/env python3
"""Round-trip costs of a VexFS mount, from Python: setxattr of an embedding
one by one, a request that does no work (VEXFS_IOC_INDEX_STATS on a
directory without an index, which fails), and an exact search of an
unindexed directory.

    python3 bench/scripts/mount_round_trip.py MOUNTPOINT [FILES]

Needs numpy and the repository's python/ package (found next to this file).
Creates MOUNTPOINT/rt with FILES empty files (default 5000). Prints three
passes of each figure, so run-to-run noise shows.
"""
import fcntl
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import numpy as np  # noqa: E402
import vexfs  # noqa: E402
from vexfs import _uapi as u  # noqa: E402


def main():
    mnt = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    d = os.path.join(mnt, "rt")
    os.makedirs(d, exist_ok=True)
    paths = [os.path.join(d, f"f{i}") for i in range(n)]
    for p in paths:
        open(p, "w").close()
    vec = np.random.default_rng(1).random(128, dtype=np.float32).tobytes()

    def setxattr_rate():
        t = time.perf_counter()
        for p in paths:
            os.setxattr(p, vexfs.EMBEDDING_XATTR, vec)
        return n / (time.perf_counter() - t)

    def null_request_us(m=20000):
        fd = os.open(d, os.O_RDONLY)
        st = u.IndexStats()
        t = time.perf_counter()
        for _ in range(m):
            try:
                fcntl.ioctl(fd, u.IOC_INDEX_STATS, st)
            except OSError:
                pass
        dt = time.perf_counter() - t
        os.close(fd)
        return dt / m * 1e6

    def exact_search_us(m=300):
        q = np.random.default_rng(2).random(128, dtype=np.float32)
        t = time.perf_counter()
        for _ in range(m):
            vexfs.search(d, q, 10)
        return (time.perf_counter() - t) / m * 1e6

    print("setxattr one by one, /s:", [round(setxattr_rate()) for _ in range(3)])
    print("request doing no work, us:", [round(null_request_us(), 1) for _ in range(3)])
    print(f"exact search of {n} unindexed files, us:", [round(exact_search_us()) for _ in range(3)])


if __name__ == "__main__":
    main()
