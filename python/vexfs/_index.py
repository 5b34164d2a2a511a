"""Per-directory indexes: create, reconfigure, drop, rebuild, save, stats."""

from . import _uapi as u
from ._common import STATES, Dir, c_bytes, check_dim, metric_name, metric_number, strategy_name, strategy_number


def create_index(dir, dim, strategy="hnsw", metric="l2", params="", replace=False):
    """Make `dir` an index root for `dim`-dimensional embeddings (or, with
    `replace`, reconfigure its index). `params` is "key=value,..."
    (docs/VECTORS.md). OSError EEXIST if it already has an index."""
    cfg = u.new_request(u.IndexConfig)
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise ValueError(f"dim must be an integer (got {dim!r})")
    check_dim(dim, "dim")
    cfg.dim = dim
    cfg.strategy = strategy_number(strategy)
    cfg.metric = metric_number(metric)
    cfg.flags = u.INDEX_REPLACE if replace else 0
    p = params.encode() if isinstance(params, str) else bytes(params)
    if len(p) >= u.PARAMS_MAX or b"\0" in p:
        raise ValueError(f"params: at most {u.PARAMS_MAX - 1} bytes, no NUL")
    cfg.params = p
    with Dir(dir) as d:
        d.ioctl(u.IOC_INDEX_CREATE, cfg)


def drop_index(dir):
    """Remove `dir`'s index (the embeddings stay). OSError ENODATA if none."""
    with Dir(dir) as d:
        d.ioctl(u.IOC_INDEX_DROP)


def rebuild_index(dir):
    """Rebuild `dir`'s index from the files' embeddings."""
    with Dir(dir) as d:
        d.ioctl(u.IOC_INDEX_REBUILD)


def save_index(dir):
    """Persist `dir`'s index now."""
    with Dir(dir) as d:
        d.ioctl(u.IOC_INDEX_SAVE)


def index_stats(dir):
    """The index covering `dir`, as a dict: state ('none', 'clean',
    'dirty', 'stale'), root_ino, strategy, metric, dim, loaded, vectors,
    unindexed, deleted, memory_bytes, disk_bytes, generation, pending
    (of `vectors`: searched exactly, not yet in the strategy), params."""
    st = u.new_request(u.IndexStats)
    with Dir(dir) as d:
        d.ioctl(u.IOC_INDEX_STATS, st)
    some = st.state != u.STATE_NONE
    return {
        "state": STATES.get(st.state, f"unknown({st.state})"),
        "root_ino": st.root_ino,
        "strategy": strategy_name(st.strategy) if some else None,
        "metric": metric_name(st.metric) if some else None,
        "dim": st.dim if some else None,
        "loaded": bool(st.loaded),
        "vectors": st.vectors,
        "unindexed": st.unindexed,
        "deleted": st.deleted,
        "memory_bytes": st.memory_bytes,
        "disk_bytes": st.disk_bytes,
        "generation": st.generation,
        "pending": st.pending,
        "params": c_bytes(st, "params").decode(errors="replace"),
    }
