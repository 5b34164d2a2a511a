"""The ctypes mirror against the C header: compile a program that prints
every struct's size and every field's offset and size, and every command
number, and compare."""

import ctypes
import os
import shutil
import subprocess

import pytest

from vexfs import _uapi as u

HEADER = os.path.join(os.path.dirname(__file__), "..", "..", "include", "uapi", "vexfs.h")


def c_program():
    lines = ["#include <stdio.h>", "#include <stddef.h>", f'#include "{os.path.abspath(HEADER)}"', "int main(void) {"]
    for cname, cls in u.STRUCTS.items():
        lines.append(f'printf("{cname} %zu\\n", sizeof(struct {cname}));')
        for fname, _ in cls._fields_:
            lines.append(f'printf("{cname}.{fname} %zu %zu\\n", offsetof(struct {cname}, {fname}), sizeof(((struct {cname} *)0)->{fname}));')
    for name in u.COMMANDS:
        lines.append(f'printf("{name} %lu\\n", (unsigned long){name});')
    for name in ["VEXFS_MAX_DIM", "VEXFS_INLINE_DIM", "VEXFS_HITS_MAX", "VEXFS_NAMES_MAX", "VEXFS_K_MAX", "VEXFS_BULK_DATA", "VEXFS_BATCH_MAX", "VEXFS_BATCH_DATA", "VEXFS_PARAMS_MAX", "VEXFS_SEARCH_FLAGS_KNOWN", "VEXFS_HIT_NO_PATH", "VEXFS_BULK_CREATE", "VEXFS_INDEX_REPLACE", "VEXFS_STATE_STALE", "VEXFS_METRIC_COSINE", "VEXFS_STRATEGY_LSH"]:
        lines.append(f'printf("{name} %lu\\n", (unsigned long)({name}));')
    lines.append('printf("VEXFS_EMBEDDING_XATTR %s\\n", VEXFS_EMBEDDING_XATTR);')
    lines.append("return 0; }")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def header_values(tmp_path_factory):
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        pytest.skip("no C compiler to build the header check")
    d = tmp_path_factory.mktemp("uapi")
    src, exe = d / "check.c", d / "check"
    src.write_text(c_program())
    subprocess.run([cc, "-Wall", "-Werror", "-o", str(exe), str(src)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_struct_sizes_and_offsets(header_values):
    for cname, cls in u.STRUCTS.items():
        assert ctypes.sizeof(cls) == int(header_values[cname]), cname
        for fname, _ in cls._fields_:
            off, size = (int(x) for x in header_values[f"{cname}.{fname}"].split())
            field = getattr(cls, fname)
            assert (field.offset, field.size) == (off, size), f"{cname}.{fname}"


def test_command_numbers(header_values):
    for name, value in u.COMMANDS.items():
        assert value == int(header_values[name]), name


def test_constants(header_values):
    mine = {
        "VEXFS_MAX_DIM": u.MAX_DIM,
        "VEXFS_INLINE_DIM": u.INLINE_DIM,
        "VEXFS_HITS_MAX": u.HITS_MAX,
        "VEXFS_NAMES_MAX": u.NAMES_MAX,
        "VEXFS_K_MAX": u.K_MAX,
        "VEXFS_BULK_DATA": u.BULK_DATA,
        "VEXFS_BATCH_MAX": u.BATCH_MAX,
        "VEXFS_BATCH_DATA": u.BATCH_DATA,
        "VEXFS_PARAMS_MAX": u.PARAMS_MAX,
        "VEXFS_SEARCH_FLAGS_KNOWN": u.SEARCH_FLAGS_KNOWN,
        "VEXFS_HIT_NO_PATH": u.HIT_NO_PATH,
        "VEXFS_BULK_CREATE": u.BULK_CREATE,
        "VEXFS_INDEX_REPLACE": u.INDEX_REPLACE,
        "VEXFS_STATE_STALE": u.STATE_STALE,
        "VEXFS_METRIC_COSINE": u.METRIC_COSINE,
        "VEXFS_STRATEGY_LSH": u.STRATEGY_LSH,
    }
    for name, value in mine.items():
        assert value == int(header_values[name]), name
    assert header_values["VEXFS_EMBEDDING_XATTR"] == u.EMBEDDING_XATTR


def test_sizes_fit_restricted_ioctls():
    for cls in u.STRUCTS.values():
        assert ctypes.sizeof(cls) < 1 << 14
