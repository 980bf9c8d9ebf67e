#!/usr/bin/env bash
# Builds substrate-contracts-node 0.42.0 (crate `contracts-node`) from crates.io into the cache, so the
# chain launcher uses the real node instead of chopsticks (scripts/chain/launch.ts looks in
# $VILO_CACHE/bin). Takes hours on 2 cores and 20-30 GB of disk; CI does not run it (docs/decisions.md).
#
# Three workarounds, each for a break between this 2024 release and Rust 1.96 (docs/toolchain.md):
#  1. sp-io 38.0.0 (pinned by the node's lockfile) puts #[no_mangle] on its panic handler, an error
#     since Rust 1.9x; 38.0.2 is the same code without it: the lockfile is updated to it, nothing else.
#  2. substrate-wasm-builder 24 first compiles a dummy std crate for wasm32 without build-std, which
#     needs a prebuilt wasm32 std: we build one with -Zbuild-std and place it in Debian's sysroot.
#  3. Rust 1.96's wasm linker no longer allows undefined host functions by default:
#     WASM_BUILD_RUSTFLAGS="-C link-arg=--allow-undefined".
# And one of environment: substrate-wasm-builder drops RUSTC and runs plain `rustc` for the runtimes'
# Wasm, which on PATH is rustup's stable without a wasm32 target; /usr/bin goes first for this build.
# And: for runtimes that come from crates.io (rococo, westend), wasm-builder cannot find the node's
# Cargo.lock and resolves the newest semver-compatible crates, which do not compile together
# (xcm-runtime-apis 0.4.3 vs rococo-runtime 18); WASM_BUILD_WORKSPACE_HINT points it at the lockfile.
set -euo pipefail
source "$(dirname "$0")/env.sh"

VERSION=0.42.0
SRC="$VILO_CACHE/contracts-node-src"
TARGET="$VILO_CACHE/contracts-node-target"
SYSROOT_LIB="$("$VILO_WASM_RUSTC" --print sysroot)/lib/rustlib/wasm32-unknown-unknown/lib"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

packages() {
  local missing=()
  for p in clang libclang-dev protobuf-compiler libssl-dev pkg-config; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] || { as_root apt-get update -qq; as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
}

source_tree() {
  if [ ! -f "$SRC/Cargo.toml" ]; then
    mkdir -p "$SRC"
    curl -sSfL "https://static.crates.io/crates/contracts-node/contracts-node-$VERSION.crate" | tar xz -C "$SRC" --strip-components=1
  fi
  ( cd "$SRC" && "$VILO_WASM_CARGO" update -p sp-io@38.0.0 --precise 38.0.2 2>/dev/null || true )
}

wasm32_std() {
  if ls "$SYSROOT_LIB"/libstd-*.rlib >/dev/null 2>&1; then echo "[setup]   wasm32 std present in $SYSROOT_LIB"; return; fi
  local d; d="$(mktemp -d)"
  mkdir -p "$d/src" && printf '[package]\nname="stdbuild"\nversion="0.0.0"\nedition="2021"\n[workspace]\n' > "$d/Cargo.toml"
  echo 'pub fn f() {}' > "$d/src/lib.rs"
  ( cd "$d" && RUSTC_BOOTSTRAP=1 RUSTC="$VILO_WASM_RUSTC" "$VILO_WASM_CARGO" build --release -q \
      --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort )
  as_root mkdir -p "$SYSROOT_LIB"
  as_root cp "$d"/target/wasm32-unknown-unknown/release/deps/*.rlib "$SYSROOT_LIB/"
  rm -rf "$d"
}

build() {
  ( cd "$SRC" && PATH="/usr/bin:$PATH" RUSTC="$VILO_WASM_RUSTC" CARGO_TARGET_DIR="$TARGET" \
      WASM_BUILD_RUSTFLAGS="-C link-arg=--allow-undefined" WASM_BUILD_WORKSPACE_HINT="$SRC" \
      "$VILO_WASM_CARGO" build --release --locked -p contracts-node )
  ln -sf "$TARGET/release/substrate-contracts-node" "$VILO_BIN/substrate-contracts-node"
  "$VILO_BIN/substrate-contracts-node" --version
}

step "system packages for the node (clang, protobuf)" packages
step "contracts-node $VERSION source (crates.io)" source_tree
step "wasm32 std for substrate-wasm-builder's check" wasm32_std
step "substrate-contracts-node $VERSION release build" build
