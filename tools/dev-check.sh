#!/usr/bin/env bash
# Checks that `npm run dev` comes up: runs it, waits for the printed URL (installs and builds first,
# so allow a first run its time: TIMEOUT seconds, default 2400), fetches the discover page, then
# stops it with Ctrl-C's signal. Exit 0 when the page was served. Used to rehearse a fresh machine:
#   bash ../shared/tools/fresh-rehearsal.sh --command "bash tools/dev-check.sh"
set -uo pipefail
cd "$(dirname "$0")/.."
timeout_s="${TIMEOUT:-2400}"
log=$(mktemp)
t0=$SECONDS
setsid npm run dev > >(tee "$log") 2>&1 &
pid=$!
url=""
while [ $((SECONDS - t0)) -lt "$timeout_s" ]; do
  url=$(grep -o 'dApp ready: http://[^ ]*' "$log" | head -1 | cut -d' ' -f3)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 2
done
rc=1
if [ -n "$url" ]; then
  echo "[dev-check] URL printed after $((SECONDS - t0))s: $url"
  if curl -sf -o /dev/null "$url"; then echo "[dev-check] discover page served"; rc=0; else echo "[dev-check] the URL did not answer" >&2; fi
else
  echo "[dev-check] no URL within ${timeout_s}s (or npm run dev exited)" >&2
fi
kill -INT -- "-$pid" 2>/dev/null
sleep 3
kill -TERM -- "-$pid" 2>/dev/null
rm -f "$log"
exit "$rc"
