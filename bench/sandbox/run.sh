#!/usr/bin/env bash
# What the sandbox costs a build: the same payloads through two real runners on loopback, one with
# --isolation none (plain processes, node_modules kept per dependency set), one sandboxed (the
# default: bubblewrap, a fresh tmpfs work folder, cgroup limits, npm install every time).
#   (1) a trivial build (mkdir, tar, base64): the sandbox's start-up per build
#   (2) examples/hello-vite after a one-file edit, through the CLI: a whole publish
#   (3) a trivial build with an install step: what the install step's own network costs
# Every run's answer is checked (HTTP 200, no error, a tar.gz with build/index.html) before hyperfine
# counts it.
#   bench/sandbox/run.sh [BUILD_DIR]      (needs hyperfine, curl, node, npm registry access)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-build}/server/studyhub-sandbox")
WORK=$(mktemp -d /tmp/studyhub-bench-sandbox.XXXXXX)
TOKEN=bench-$$
PIDS=()
cleanup() {
  for state in "$WORK"/cli-*; do [ -d "$state" ] && STUDYHUB_SANDBOX_HOME=$state "$BIN" host --stop >/dev/null 2>&1; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

start_runner() {  # name, flags…
  local name=$1; shift
  STUDYHUB_SANDBOX_HOME="$WORK/$name" STUDYHUB_SANDBOX_TOKEN=$TOKEN "$BIN" runner --port 0 "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q 'listening on' "$WORK/$name.out" 2>/dev/null && break; sleep 0.1; done
  grep -oE 'http://127\.0\.0\.1:[0-9]+' "$WORK/$name.out"
}
PLAIN=$(start_runner plain --isolation none)
BOXED=$(start_runner boxed)
OFFLINE=$(start_runner offline --build-network none)
echo "== runners: plain $PLAIN, sandboxed $BOXED ($(grep -o 'sandboxed: .*' "$WORK/boxed.log" | head -1)), sandboxed without network $OFFLINE"

# (1) A trivial build.
cat > "$WORK/trivial.json" <<'J'
{"image":"x","payload":{"language":"bash","files":[{"name":"a.sh","content":"true"}],
 "command":"mkdir build && echo ok > build/index.html && tar -cz build | base64"}}
J
cat > "$WORK/check.sh" <<J
#!/bin/sh
# POST the payload, fail unless the answer is a site holding build/index.html.
curl -fsS -H "X-Access-Token: $TOKEN" -H 'Content-Type: application/json' --data-binary @$WORK/trivial.json "\$1/run" > $WORK/answer.\$\$ &&
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1])); if (r.error) process.exit(2);
  const t = require("zlib").gunzipSync(Buffer.from(r.stdout, "base64")); if (!t.includes("build/index.html")) process.exit(3)' $WORK/answer.\$\$
s=\$?; rm -f $WORK/answer.\$\$; exit \$s
J
chmod +x "$WORK/check.sh"
echo "== (1) a trivial build, POST /run to answer"
hyperfine -N --warmup 3 --runs 30 --export-json "$WORK/h1.json" \
  --command-name plain "$WORK/check.sh $PLAIN" --command-name sandboxed "$WORK/check.sh $BOXED" >/dev/null
node -e 'const r = require(process.argv[1]).results; const [p, s] = r.map(x => x.mean * 1000);
  console.log(`   plain ${p.toFixed(1)} ms, sandboxed ${s.toFixed(1)} ms: +${(s - p).toFixed(1)} ms a build (ratio ${(s / p).toFixed(2)})`)' "$WORK/h1.json"

# (3) What the install step's own network costs (slirp4netns started, routes closed): a trivial
# build with an install step, on the sandboxed runner and on one whose builds get no network.
sed 's|"command":"mkdir|"command":"true\\n#studyhub:build\\nmkdir|' "$WORK/trivial.json" > "$WORK/install.json"
sed "s|@$WORK/trivial.json|@$WORK/install.json|" "$WORK/check.sh" > "$WORK/check-install.sh"
chmod +x "$WORK/check-install.sh"
echo "== (3) a trivial build with an install step: its own network (slirp4netns) against none"
hyperfine -N --warmup 3 --runs 30 --export-json "$WORK/h3.json" \
  --command-name network "$WORK/check-install.sh $BOXED" --command-name none "$WORK/check-install.sh $OFFLINE" >/dev/null
node -e 'const r = require(process.argv[1]).results; const [n, o] = r.map(x => x.mean * 1000);
  console.log(`   with its own network ${n.toFixed(1)} ms, without ${o.toFixed(1)} ms: +${(n - o).toFixed(1)} ms a build`)' "$WORK/h3.json"

# (2) The Vite app, a one-file edit before each publish, whole CLI publish (snapshot, upload, build, extract).
cp -r examples/hello-vite "$WORK/app"
rm -rf "$WORK/app/node_modules" "$WORK/app/dist"
cat > "$WORK/edit.sh" <<J
#!/bin/sh
echo "// \$(date +%s%N)" >> $WORK/app/src/App.jsx
J
chmod +x "$WORK/edit.sh"
publish() {  # name, runner url: a publish that must succeed
  echo "env STUDYHUB_SANDBOX_HOME=$WORK/cli-$1 STUDYHUB_SANDBOX_TOKEN=$TOKEN $BIN publish --target docker-run --docker-run-url $2 $WORK/app"
}
echo "== (2) examples/hello-vite after a one-file edit, a whole publish through the runner"
hyperfine --warmup 1 --runs 5 --prepare "$WORK/edit.sh" --export-json "$WORK/h2.json" \
  --command-name plain "$(publish plain "$PLAIN")" --command-name sandboxed "$(publish boxed "$BOXED")" >/dev/null
node -e 'const r = require(process.argv[1]).results; const [p, s] = r.map(x => x.mean);
  console.log(`   plain ${p.toFixed(2)} s (node_modules kept), sandboxed ${s.toFixed(2)} s (npm install in every build): ratio ${(s / p).toFixed(2)}`)' "$WORK/h2.json"
grep -c 'POST /run 200' "$WORK/plain.log" "$WORK/boxed.log" | sed 's/^/   answers 200: /'
