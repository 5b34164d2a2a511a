# Shared helpers for the scripts in this folder. Source, don't run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"

# Each step is stamped with the seconds since the outermost script started
# (exported, so nested scripts share the clock), so a CI log shows where
# the time goes.
export VEXFS_T0="${VEXFS_T0:-$(date +%s)}"
log() { printf '\n==> [%5ss] %s\n' "$(($(date +%s) - VEXFS_T0))" "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Install Debian packages that are missing (quietly, once).
ensure_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing packages: ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

ensure_rust() {
    if ! command -v cargo >/dev/null; then
        echo "cargo not found: install Rust with rustup first (https://rustup.rs)" >&2
        exit 1
    fi
}

# cargo install a tool if its binary is missing.
ensure_cargo_tool() {
    local bin="$1" crate="$2"
    if ! command -v "$bin" >/dev/null; then
        log "cargo install $crate"
        cargo install --locked --quiet "$crate"
    fi
}
