#!/usr/bin/env bash
# Builds the Wasm runtime of substrate-contracts-node 0.42 (crate contracts-parachain-runtime 0.42.0
# from crates.io) the way substrate-wasm-builder 24 does, then compacts and compresses it.
# Output: $VILO_CACHE/runtime/contracts_parachain_runtime.compact.compressed.wasm
# Used only to regenerate chain/contracts-parachain.raw.json (tools/gen-chainspec.sh); CI does not run it.
set -euo pipefail
source "$(dirname "$0")/env.sh"

out="$VILO_CACHE/runtime"
target="$VILO_CACHE/runtime-target"
mkdir -p "$out"

# The exact flags substrate-wasm-builder 24 passes (wasm_project.rs), plus --allow-undefined:
# Rust >= 1.96 no longer passes it to wasm-ld and host functions are undefined imports.
flags="-C target-cpu=mvp -C target-feature=-sign-ext -C link-arg=--export-table"
flags+=" -Clink-arg=--export=__heap_base -C link-arg=--import-memory --cfg substrate_runtime"
flags+=" -C link-arg=--allow-undefined"

build() {
  ( cd "$VILO_ROOT/chain/runtime-wasm" &&
    RUSTFLAGS="$flags" RUSTC_BOOTSTRAP=1 RUSTC="$VILO_WASM_RUSTC" CARGO_TARGET_DIR="$target" \
      "$VILO_WASM_CARGO" build --release --locked --target wasm32-unknown-unknown \
      -Zbuild-std=core,alloc )
}

compact() {
  # wasm-builder: wasm_opt level 0, MVP features only, strip DWARF, lower sign-ext. Debian's
  # binaryen 108 has no sign-ext lowering pass; none is needed: everything, core included, was
  # built with -sign-ext, and --mvp-features makes wasm-opt reject the module if any slipped in.
  wasm-opt -O0 --mvp-features --strip-dwarf \
    "$target/wasm32-unknown-unknown/release/contracts_parachain_runtime_wasm.wasm" \
    -o "$out/contracts_parachain_runtime.compact.wasm"
}

compress() {
  # sp-maybe-compressed-blob: 8-byte magic prefix followed by a zstd frame.
  local f="$out/contracts_parachain_runtime.compact.compressed.wasm"
  printf '\x52\xbc\x53\x76\x46\xdb\x8e\x05' > "$f"
  zstd -q -3 -c "$out/contracts_parachain_runtime.compact.wasm" >> "$f"
  ls -l "$out"/*.wasm
}

step "runtime wasm build (contracts-parachain-runtime 0.42.0, ~600 crates)" build
step "runtime wasm compact" compact
step "runtime wasm compress" compress
