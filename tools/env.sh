# shellcheck shell=bash
# Shared environment for the project's shell tools. Source it; it sets nothing global beyond PATH
# additions and a few VILO_* variables.
#
# Why a separate Rust: rustup here cannot add the wasm32 target or rust-src, so Wasm builds use
# Debian's rustc-web/cargo-web 1.96 (in /usr/bin) with rust-web-src for -Zbuild-std. rustup's
# stable stays first on PATH for host builds (cargo-contract itself, #[ink::test] unit tests).

VILO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VILO_CACHE="${VILO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vilokanam}"
VILO_BIN="$VILO_CACHE/bin"
export VILO_ROOT VILO_CACHE VILO_BIN
mkdir -p "$VILO_BIN"

# Debian's Rust for wasm32 (see docs/toolchain.md).
export VILO_WASM_CARGO=/usr/bin/cargo
export VILO_WASM_RUSTC=/usr/bin/rustc

# rustc's wasm32 target links with `rust-lld -flavor wasm`: tools/linker/rust-lld runs Debian's lld-22,
# looked up when a build links (not here: setup installs lld-22 after this file is sourced).
case ":$PATH:" in *":$VILO_ROOT/tools/linker:"*) ;; *) export PATH="$PATH:$VILO_ROOT/tools/linker:$VILO_BIN" ;; esac

# require PATH "what provides it" — a step's check for a file or tool it needs, run when the step runs.
require() {
  if [ ! -e "$1" ]; then
    echo "[setup]   missing $1: $2" >&2
    return 1
  fi
}

# step "label" cmd...  — runs a step and prints one line with its duration.
# The step runs in a subshell with `set -e` of its own: inside `if` or `||`, bash would ignore it.
step() {
  local label="$1"; shift
  local t0=$SECONDS rc=0
  printf '[setup] %s ...\n' "$label"
  set +e
  ( set -e; "$@" )
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    printf '[setup] %s done in %ss\n' "$label" "$((SECONDS - t0))"
  else
    printf '[setup] %s FAILED after %ss (exit %s)\n' "$label" "$((SECONDS - t0))" "$rc" >&2
    return "$rc"
  fi
}
