#!/usr/bin/env bash
# Runs every test: setup (installs what is missing), the contracts' #[ink::test] unit tests, then
# vitest (unit tests and e2e tests against a real local contracts chain that it starts and stops).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VILO_ROOT"
bash tools/setup.sh
export PATH="$VILO_ROOT/node_modules/.bin:$PATH"   # Node 22 from the npm package "node"

# Same compiler as the Wasm build (Debian rustc 1.96), so both share contracts/target.
ink_unit_tests() { RUSTC="$VILO_WASM_RUSTC" tools/cargo-wasm test --quiet --manifest-path contracts/Cargo.toml; }
step "ink! unit tests (cargo test)" ink_unit_tests
step "bindings are current (typechain/ matches the metadata)" tsx scripts/typechain.ts --check
step "contract code hashes are the recorded ones (reproducible Wasm)" tsx scripts/code-hashes.ts --check
step "type-check (svelte-check: TypeScript and Svelte files)" svelte-check --tsconfig ./tsconfig.json --threshold error --output human
step "vitest (unit + e2e on the local chain)" vitest run "$@"
