#!/usr/bin/env bash
# The docker-run path against the local one, each against a named peer in the same run:
#  1. publish of the sample React app (examples/hello-vite) after editing one file, through
#     `studyhub-sandbox runner` on loopback vs the embedded local runner   (overhead of the HTTP path)
#  2. a 1.5 MB payload: upload time and rate seen by the client, and the round trip vs curl
#     sending the same bytes to the same runner                             (ratio, goal <= 1.1)
# Needs hyperfine, curl, Node/npm (the first run installs the app's dependencies twice).
#   bench/docker_run/run.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=$(realpath "${1:-build}")
BIN=$BUILD/server/studyhub-sandbox
WORK=$(mktemp -d /tmp/studyhub-bench-docker-run.XXXXXX)
export STUDYHUB_SANDBOX_HOME=$WORK/state
export STUDYHUB_SANDBOX_TOKEN=bench-token-$RANDOM$RANDOM
RUNNER_PID=
cleanup() {
  "$BIN" host --stop >/dev/null 2>&1 || true
  if [ -n "$RUNNER_PID" ]; then kill "$RUNNER_PID" 2>/dev/null || true; wait "$RUNNER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
median() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['median'])" "$1"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

STUDYHUB_SANDBOX_HOME=$WORK/runner-state "$BIN" runner --port 0 >"$WORK/runner.out" 2>"$WORK/runner.log" &
RUNNER_PID=$!
for _ in $(seq 50); do grep -q listening "$WORK/runner.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/runner.out")

echo "== 1. publish of examples/hello-vite after a one-file edit: runner over HTTP vs local"
cp -r examples/hello-vite "$WORK/app"
rm -rf "$WORK/app/node_modules" "$WORK/app/dist"
"$BIN" publish "$WORK/app" >/dev/null 2>&1                                   # warm node_modules (local)
echo "// warm" >> "$WORK/app/src/App.jsx"
"$BIN" publish --target docker-run --docker-run-url "$URL" "$WORK/app" >/dev/null 2>&1  # warm (runner)
EDIT="echo \"// \$(date +%s%N)\" >> $WORK/app/src/App.jsx"
hyperfine -N --style none --runs 5 --prepare "sh -c '$EDIT'" --export-json "$WORK/local.json" \
  "$BIN publish $WORK/app" >/dev/null 2>&1
hyperfine -N --style none --runs 5 --prepare "sh -c '$EDIT'" --export-json "$WORK/remote.json" \
  "$BIN publish --target docker-run --docker-run-url $URL $WORK/app" >/dev/null 2>&1
L=$(median "$WORK/local.json"); R=$(median "$WORK/remote.json")
printf "   local %.2f s, through the runner %.2f s: ratio %s (1.00 = no overhead)\n" "$L" "$R" "$(ratio "$R" "$L")"

echo "== 2. a 1.5 MB payload to the runner: our client vs curl, same bytes, same server"
OUT=$("$BUILD/bench/upload_bench" "$URL" "$WORK/body.json" 20)
echo "   $(echo "$OUT" | head -1)"
OURS=$(echo "$OUT" | sed -n 's/ROUNDTRIP_MS=//p')
hyperfine -N --style none --warmup 2 --runs 20 --export-json "$WORK/curl.json" \
  "curl -s -o /dev/null -H 'Content-Type: application/json' -H 'Expect:' -H 'X-Access-Token: $STUDYHUB_SANDBOX_TOKEN' --data-binary @$WORK/body.json $URL/run" >/dev/null 2>&1
C=$(python3 -c "print($(median "$WORK/curl.json")*1000)")
printf "   round trip: ours %.2f ms, curl %.2f ms: ratio %s (curl includes its process start)\n" "$OURS" "$C" "$(ratio "$OURS" "$C")"
