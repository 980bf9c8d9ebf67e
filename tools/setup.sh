#!/usr/bin/env bash
# Installs what the project needs and is missing; idempotent and cached. One line per step with its
# duration. Run by `npm run dev` and `npm test` (through tools/test.sh / tools/start.sh); safe to rerun.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VILO_ROOT"

# chromium: the browser tests (playwright-core drives Debian's build; no browser download here).
# ffmpeg: the OBS-like publisher in the media tests and benchmarks (H.264 test pattern over RTP).
# postgresql: the history's tests run its indexer on a real PostgreSQL server too (tests/postgres.ts).
# redis-server: several LiveKit nodes coordinate through Redis (the two-node test starts its own).
APT_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-clippy lld-22 g++ pkg-config chromium ffmpeg nginx-light libnginx-mod-rtmp postgresql redis-server)
# The contract builder (tools/contract-build: cargo-contract 5.0.3's build command alone), cached under
# a hash of its sources so that a change to them builds it anew.
BUILDER_SRC=tools/contract-build
BUILDER_ROOT="$VILO_CACHE/contract-build"          # bin/vilo-contract-build (scripts/lib/toolchain.ts)
contract_builder_bin() { echo "$BUILDER_ROOT/bin/vilo-contract-build"; }
builder_source_hash() { cat "$BUILDER_SRC"/Cargo.toml "$BUILDER_SRC"/Cargo.lock "$BUILDER_SRC"/src/*.rs | sha256sum | cut -c1-16; }

# A first build writes about 5 GB: the contract builder's build (~1 GB, temporary), the crates.io cache,
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
  # `npm ci` installs exactly package-lock.json and never rewrites it: a fresh clone stays clean.
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.package-lock.json
  echo "[setup]   node $(node_modules/.bin/node --version) (from the npm package \"node\")"
}

contract_builder() {
  local bin hash
  bin=$(contract_builder_bin); hash=$(builder_source_hash)
  if [ -x "$bin" ] && [ "$(cat "$BUILDER_ROOT/source-hash" 2>/dev/null)" = "$hash" ]; then
    echo "[setup]   $("$bin" --version) present"; return
  fi
  require "$(command -v g++ || echo /usr/bin/g++)" "the 'system packages' step installs g++ (binaryen, inside wasm-opt, is C++)"
  echo "[setup]   building the contract builder (contract-build 5.0.3 from crates.io, about 8 min on 2 cores)"
  local target="$VILO_CACHE/contract-build-target"
  cargo install --path "$BUILDER_SRC" --locked --quiet --force --root "$BUILDER_ROOT" --target-dir "$target"
  rm -rf "$target"   # ~1 GB of intermediate files; the binary is what is kept
  echo "$hash" > "$BUILDER_ROOT/source-hash"
}

contracts() {
  require /usr/bin/cargo "the 'system packages' step installs Debian's cargo-web"
  require /usr/bin/rustc "the 'system packages' step installs Debian's rustc-web"
  require /usr/lib/rustlib/src/rust/library/Cargo.lock "the 'system packages' step installs rust-web-src (std's sources for -Zbuild-std)"
  require "${VILO_LLD:-/usr/bin/lld-22}" "the 'system packages' step installs lld-22 (the Wasm linker)"
  require "$(contract_builder_bin)" "the 'contract builder' step builds it"
  PATH="$VILO_ROOT/node_modules/.bin:$PATH" tsx scripts/build-contracts.ts
}
# The media plane (docs/media.md): LiveKit's server, built from the Go module proxy at a pinned version
# (no release binaries can be downloaded here). The binary is kept under the version's name, so a new
# pin builds anew and an old one is never reused; Go's module cache keeps a rebuild to the compile.
LIVEKIT_VERSION=v1.13.5
LIVEKIT_ROOT="$VILO_CACHE/livekit-$LIVEKIT_VERSION"   # bin/livekit-server (scripts/media/livekit.ts)
livekit_server() {
  local bin="$LIVEKIT_ROOT/bin/livekit-server"
  if [ -x "$bin" ]; then echo "[setup]   livekit-server $("$bin" --version 2>/dev/null | awk '{print $NF}') present"; return; fi
  local go; go=$(command -v go || echo /usr/local/go/bin/go)
  require "$go" "Go 1.26 comes with the machine image (LiveKit's server is built from the Go module proxy)"
  echo "[setup]   building livekit-server $LIVEKIT_VERSION from the Go module proxy (about 4 min on 2 cores)"
  mkdir -p "$LIVEKIT_ROOT/bin.tmp"
  GOBIN="$LIVEKIT_ROOT/bin.tmp" GOFLAGS=-buildvcs=false "$go" install "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION"
  mv "$LIVEKIT_ROOT/bin.tmp/server" "$LIVEKIT_ROOT/bin.tmp/livekit-server"
  rm -rf "$LIVEKIT_ROOT/bin"; mv "$LIVEKIT_ROOT/bin.tmp" "$LIVEKIT_ROOT/bin"
}

# SvelteKit's generated types (.svelte-kit/), which tsconfig.json extends.
kit_sync() { PATH="$VILO_ROOT/node_modules/.bin:$PATH" svelte-kit sync; }

step "disk space" disk_space
step "system packages" system_packages
step "node packages (npm ci)" node_packages
step "contract builder (cargo-contract 5.0.3's build)" contract_builder
step "contracts (release build when sources changed)" contracts
step "LiveKit server (the media plane)" livekit_server
step "svelte-kit sync" kit_sync
