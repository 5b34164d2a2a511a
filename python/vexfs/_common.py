"""Checks and helpers shared by the modules: vectors in, descriptors,
ioctls, errors."""

import ctypes
import errno as _errno
import fcntl
import os

import numpy as np

from . import _uapi as u


def as_vector(vector, what="vector"):
    """A 1-D float32 array of 1..4096 finite values, or ValueError."""
    try:
        v = np.asarray(vector, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what}: not an array of numbers ({e})") from None
    if v.ndim != 1:
        raise ValueError(f"{what}: expected a 1-D vector, got shape {v.shape}")
    check_dim(v.shape[0], what)
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{what}: value {i} is {v[i]} (values must be finite)")
    if np.any(np.abs(v) > np.finfo(np.float32).max):
        raise ValueError(f"{what}: a value is beyond float32's range")
    return v.astype("<f4")


def as_matrix(array, what="array"):
    """A C-ordered (rows, dim) little-endian float32 array, checked."""
    try:
        a = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what}: not an array of numbers ({e})") from None
    if a.ndim != 2:
        raise ValueError(f"{what}: expected a 2-D array (rows, dim), got shape {a.shape}")
    check_dim(a.shape[1], what)
    bad = np.argwhere(~np.isfinite(a))
    if bad.size:
        r, c = (int(x) for x in bad[0])
        raise ValueError(f"{what}: row {r}, column {c} is {a[r, c]} (values must be finite)")
    if np.any(np.abs(a) > np.finfo(np.float32).max):
        raise ValueError(f"{what}: a value is beyond float32's range")
    return np.ascontiguousarray(a, dtype="<f4")


def check_dim(dim, what="vector"):
    if dim < 1 or dim > u.MAX_DIM:
        raise ValueError(f"{what}: {dim} dimensions; VexFS accepts 1 to {u.MAX_DIM}")


def check_count(name, value, lo=0, hi=2**32 - 1):
    if value is None:
        return 0
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer from {lo} to {hi} (got {value!r})")
    return int(value)


class Dir:
    """An open directory descriptor for ioctls (a context manager)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)

    def ioctl(self, cmd, arg=None):
        """ioctl(fd, cmd, &arg); OSError naming the directory on failure."""
        try:
            if arg is None:
                fcntl.ioctl(self.fd, cmd, 0)
            else:
                fcntl.ioctl(self.fd, cmd, arg, True)
        except OSError as e:
            raise os_error(e.errno, self.path) from None


def os_error(errno, path, detail=None):
    """OSError(errno, message, path); the message explains VexFS's errors."""
    msg = detail or os.strerror(errno)
    if detail is None and errno in (_errno.ENOTTY, _errno.EOPNOTSUPP):
        msg = f"{os.strerror(errno)}: not a VexFS directory, or no vector support"
    return OSError(errno, msg, os.fsdecode(path))


def field_bytes(struct, field, length):
    """The first `length` bytes of an array field (ctypes would stop at
    the first NUL)."""
    off = getattr(type(struct), field).offset
    return ctypes.string_at(ctypes.addressof(struct) + off, length)


def c_bytes(struct, field):
    """A NUL-terminated string field's bytes."""
    size = getattr(type(struct), field).size
    raw = field_bytes(struct, field, size)
    return raw.split(b"\0", 1)[0]


STRATEGIES = {"flat": u.STRATEGY_FLAT, "hnsw": u.STRATEGY_HNSW, "ivf": u.STRATEGY_IVF, "ivfpq": u.STRATEGY_IVFPQ, "lsh": u.STRATEGY_LSH}
METRICS = {"l2": u.METRIC_L2, "ip": u.METRIC_IP, "cosine": u.METRIC_COSINE}
STATES = {u.STATE_NONE: "none", u.STATE_CLEAN: "clean", u.STATE_DIRTY: "dirty", u.STATE_STALE: "stale"}


def strategy_number(s):
    n = STRATEGIES.get(str(s).lower())
    if n is None:
        raise ValueError(f"unknown strategy {s!r} (use one of {', '.join(STRATEGIES)})")
    return n


def metric_number(m):
    n = METRICS.get(str(m).lower())
    if n is None:
        raise ValueError(f"unknown metric {m!r} (use one of {', '.join(METRICS)})")
    return n


def strategy_name(n):
    if n == u.STRATEGY_DEFAULT:
        return "hnsw"
    return next((k for k, v in STRATEGIES.items() if v == n), f"unknown({n})")


def metric_name(n):
    if n == u.METRIC_DEFAULT:
        return "l2"
    return next((k for k, v in METRICS.items() if v == n), f"unknown({n})")
