#!/usr/bin/env bash
# Installs what the project needs and is missing; idempotent and cached. One line per step with its
# duration. Run by `npm run dev` and `npm test` (through tools/test.sh / tools/start.sh); safe to rerun.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VILO_ROOT"

# chromium: the browser tests (playwright-core drives Debian's build; no browser download here).
# ffmpeg: the OBS-like publisher in the media tests and benchmarks (H.264 test pattern over RTP).
APT_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-clippy lld-22 g++ pkg-config chromium ffmpeg nginx-light libnginx-mod-rtmp)
CARGO_CONTRACT_VERSION=5.0.3
CARGO_CONTRACT_ROOT="$VILO_CACHE/cargo-contract-$CARGO_CONTRACT_VERSION"

# A first build writes about 5 GB: cargo-contract's build (~1.5 GB, temporary), the crates.io cache,
# contracts/target (Wasm + metadata builds in one shared dir, and the unit tests' debug build) and
# node_modules. Running out mid-build gives a bare "No space left on device" from rustc.
DISK_NEEDED_GB=6

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

disk_space() {
  local free_gb
  free_gb=$(df -Pk "$VILO_ROOT" | awk 'NR == 2 { printf "%d", $4 / 1048576 }')
  echo "[setup]   ${free_gb} GB free on the disk of $VILO_ROOT"
  if [ "$free_gb" -lt "$DISK_NEEDED_GB" ]; then
    echo "[setup]   WARNING: a first build needs about $DISK_NEEDED_GB GB; it may stop with 'No space left on device'." >&2
    echo "[setup]   (A cached build needs far less; this is only a warning.)" >&2
  fi
}

system_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then echo "[setup]   all present: ${APT_PACKAGES[*]}"; return; fi
  echo "[setup]   installing: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

node_packages() {
  # node_modules/.package-lock.json is npm's own record of the last install.
  if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] &&
     [ -x node_modules/.bin/node ]; then
    echo "[setup]   node_modules up to date"; return
  fi
  # `npm install`, not `npm ci`: npm 11 leaves rollup's optional platform packages out of the lockfile
  # and then refuses `npm ci` ("Missing: @rollup/rollup-android-arm-eabi"); `npm install` follows the
  # lockfile for everything it lists.
  npm install --no-audit --no-fund --loglevel=error
  touch node_modules/.package-lock.json
  echo "[setup]   node $(node_modules/.bin/node --version) (from the npm package \"node\")"
}

cargo_contract() {
  if [ -x "$CARGO_CONTRACT_ROOT/bin/cargo-contract" ]; then
    echo "[setup]   $("$CARGO_CONTRACT_ROOT/bin/cargo-contract" contract --version) present"; return
  fi
  echo "[setup]   building cargo-contract $CARGO_CONTRACT_VERSION from crates.io (about 25 min on 2 cores)"
  cargo install cargo-contract --version "$CARGO_CONTRACT_VERSION" --locked --quiet --root "$CARGO_CONTRACT_ROOT"
}

contracts() { PATH="$VILO_ROOT/node_modules/.bin:$PATH" tsx scripts/build-contracts.ts; }
# SvelteKit's generated types (.svelte-kit/), which tsconfig.json extends.
kit_sync() { PATH="$VILO_ROOT/node_modules/.bin:$PATH" svelte-kit sync; }

step "disk space" disk_space
step "system packages" system_packages
step "node packages (npm install)" node_packages
step "cargo-contract $CARGO_CONTRACT_VERSION" cargo_contract
step "contracts (release build when sources changed)" contracts
step "svelte-kit sync" kit_sync
