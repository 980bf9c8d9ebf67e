#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts the local chain, deploys, serves the dApp and
# prints its URL. Ctrl-C stops everything.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$VILO_ROOT"
bash tools/setup.sh
export PATH="$VILO_ROOT/node_modules/.bin:$PATH"
exec tsx scripts/dev.ts "$@"
