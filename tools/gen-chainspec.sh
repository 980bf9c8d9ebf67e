#!/usr/bin/env bash
# Regenerates chain/contracts-parachain.raw.json from crates.io source: builds the runtime Wasm of
# substrate-contracts-node 0.42 (tools/build-runtime.sh), then computes its genesis with the runtime's
# own GenesisBuilder (scripts/chain/gen-chainspec.ts). About 10 min on 2 cores. See docs/decisions.md.
set -euo pipefail
source "$(dirname "$0")/env.sh"
bash "$VILO_ROOT/tools/build-runtime.sh"
cd "$VILO_ROOT"
export PATH="$VILO_ROOT/node_modules/.bin:$PATH"  # Node 22
step "raw chain spec" tsx scripts/chain/gen-chainspec.ts \
  "$VILO_CACHE/runtime/contracts_parachain_runtime.compact.compressed.wasm" chain/contracts-parachain.raw.json
