#!/usr/bin/env bash
# The host under wrk (200 connections, 2 threads, DURATION s, default 60) while a loop keeps
# swapping the site between two versions underneath (each swap a publish). Every response must be
# 200 and byte-identical to one version's file: no error responses, no torn files.
#   bench/load/host_swap.sh [BUILD_DIR] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=$(realpath "${1:-build}")
DURATION=${2:-60}
BIN=$BUILD/server/studyhub-sandbox
WORK=$(mktemp -d /tmp/studyhub-bench-swap.XXXXXX)
export STUDYHUB_SANDBOX_HOME=$WORK/state
SWAPPER=
cleanup() {
  [ -n "$SWAPPER" ] && kill "$SWAPPER" 2>/dev/null || true
  wait 2>/dev/null || true
  "$BIN" host --stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Two versions with files of 20 KB and 60 KB, so a torn read would show.
mkdir -p "$WORK/swap"
make_version() {
  python3 - "$WORK" "$1" <<'PY'
import sys, pathlib
work, v = pathlib.Path(sys.argv[1]), sys.argv[2]
(work / f"index-{v}.html").write_text(f"<!doctype html><title>{v}</title><script src=\"./app.js\"></script>" + (v * 20000) + "\n")
(work / f"app-{v}.js").write_text(f"// version {v}\n" + (f"console.log('{v}');\n" * 3000))
PY
}
make_version A
make_version B
use() { cp "$WORK/index-$1.html" "$WORK/swap/index.html"; cp "$WORK/app-$1.js" "$WORK/swap/app.js"; }
use A; "$BIN" publish "$WORK/swap" >/dev/null 2>&1
use B; "$BIN" publish "$WORK/swap" >/dev/null 2>&1
URL=$("$BIN" publish "$WORK/swap" 2>/dev/null)
BASE=${URL%/s/swap/}

(
  n=0
  while true; do
    if [ $((n % 2)) = 0 ]; then use A; else use B; fi
    "$BIN" publish "$WORK/swap" >/dev/null 2>"$WORK/swap.err" || { echo "swap publish failed: $(tail -1 "$WORK/swap.err")" >&2; }
    n=$((n + 1))
    echo "$n" > "$WORK/swaps"
  done
) &
SWAPPER=$!

echo "== host under wrk: 200 connections, ${DURATION} s, site swapped between two versions meanwhile"
wrk -t2 -c200 -d"${DURATION}s" -s bench/load/swap.lua "$BASE" -- \
  "$WORK/index-A.html" "$WORK/index-B.html" "$WORK/app-A.js" "$WORK/app-B.js" | sed 's/^/   /'
kill "$SWAPPER" 2>/dev/null || true
echo "   swaps during the run: $(cat "$WORK/swaps")"
