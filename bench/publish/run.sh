#!/usr/bin/env bash
# Publishing benchmarks, each against a named peer in the same run:
#  1. publish of an unchanged, already published 10,000-file folder (whole process; goal < 100 ms)
#  2. decode + extract of a ~20 MB base64 tar.gz vs `base64 -d | tar -xz`            (goal ratio <= 1.0)
#  3. the host vs nginx (one worker) with wrk: index.html and a 200 KB asset         (goal >= 0.8 of nginx)
#  4. second publish of a Vite React app after editing one file vs a bare `npm run build` in a warm
#     checkout of the same app                                                        (goal ratio <= 1.3)
# Needs hyperfine, nginx and wrk (apt-get install hyperfine nginx wrk) and Node/npm for 4.
#   bench/publish/run.sh [BUILD_DIR] [--skip-vite]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=$(realpath "${1:-build}")
BIN=$BUILD/server/studyhub-sandbox
WORK=$(mktemp -d /tmp/studyhub-bench-publish.XXXXXX)
export STUDYHUB_SANDBOX_HOME=$WORK/state
cleanup() {
  "$BIN" host --stop >/dev/null 2>&1 || true
  if [ -f "$WORK/nginx/nginx.pid" ]; then
    pid=$(cat "$WORK/nginx/nginx.pid")
    kill -TERM "$pid" 2>/dev/null || true  # fast shutdown: the master takes its workers down
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
median() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['median'])" "$1"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

echo "== 1. publish of an unchanged, already published 10,000-file folder"
python3 bench/snapshot/make_folder.py "$WORK/big" >/dev/null
"$BIN" publish "$WORK/big" >/dev/null 2>&1
sleep 3  # past the racy window of the fast path
hyperfine -N --style none --warmup 3 --runs 30 --export-json "$WORK/p1.json" "$BIN publish $WORK/big" >/dev/null 2>&1
printf "   whole process, median: %.1f ms (goal < 100 ms)\n" "$(python3 -c "print($(median "$WORK/p1.json")*1000)")"

echo "== 2. decode + extract vs base64 -d | tar -xz"
mkdir -p "$WORK/site/build"
cp -r "$WORK/big/src" "$WORK/site/build/"
tar -cz -C "$WORK/site" build | base64 -w0 > "$WORK/site.b64"
echo "   input: $(du -m "$WORK/site.b64" | cut -f1) MB of base64, $(find "$WORK/site/build" -type f | wc -l) files"
hyperfine --style none --warmup 1 --runs 10 --prepare "rm -rf $WORK/x1 $WORK/x2; mkdir -p $WORK/x2" \
  --export-json "$WORK/p2.json" "$BUILD/bench/extract_bench $WORK/site.b64 $WORK/x1" \
  "sh -c 'base64 -d $WORK/site.b64 | tar -xz -C $WORK/x2'" >/dev/null 2>&1
python3 - "$WORK/p2.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))['results']
ours, peer = r[0]['median'], r[1]['median']
print(f"   ours {ours*1000:.0f} ms, base64 -d | tar -xz {peer*1000:.0f} ms, ratio {ours/peer:.2f} (goal <= 1.0)")
PY

echo "== 3. the host vs nginx (1 worker), wrk -t2 -c50 -d10s on loopback"
mkdir -p "$WORK/hostsite/assets"
cp examples/hello-static/index.html "$WORK/hostsite/"
head -c 204800 /dev/urandom > "$WORK/hostsite/assets/big.bin"
url=$("$BIN" publish "$WORK/hostsite" 2>/dev/null)
mkdir -p "$WORK/nginx/logs"
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
cat > "$WORK/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  include /etc/nginx/mime.types;
  client_body_temp_path $WORK/nginx/tmp; proxy_temp_path $WORK/nginx/tmp; fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp; scgi_temp_path $WORK/nginx/tmp;
  server { listen 127.0.0.1:$port; location /s/ { alias $STUDYHUB_SANDBOX_HOME/sites/; } }
}
NGINX
mkdir -p "$WORK/nginx/tmp"
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
sleep 0.5
ours_base=${url%/s/*}
rps() { wrk -t2 -c50 -d10s "$1" | awk '/Requests\/sec/ {print $2}'; }
for path in "/s/hostsite/index.html" "/s/hostsite/assets/big.bin"; do
  a=$(rps "$ours_base$path"); b=$(rps "http://127.0.0.1:$port$path")
  echo "   $path: ours $a req/s, nginx $b req/s, ratio $(ratio "$a" "$b") (goal >= 0.8)"
done

if [ "${2:-}" != --skip-vite ]; then
  echo "== 4. second publish of a Vite app after a one-file edit vs a bare npm run build"
  cp -r examples/hello-vite "$WORK/vite-ours"
  cp -r examples/hello-vite "$WORK/vite-peer"
  (cd "$WORK/vite-peer" && npm install --no-audit --no-fund >/dev/null 2>&1 && npm run build -- --base=./ >/dev/null 2>&1)
  "$BIN" publish "$WORK/vite-ours" >/dev/null 2>&1
  edit_ours="echo '// edit '\$RANDOM >> $WORK/vite-ours/src/App.jsx"
  edit_peer="echo '// edit '\$RANDOM >> $WORK/vite-peer/src/App.jsx"
  hyperfine --style none --runs 8 --prepare "$edit_ours" --export-json "$WORK/p4a.json" "$BIN publish $WORK/vite-ours" >/dev/null 2>&1
  hyperfine --style none --runs 8 --prepare "$edit_peer" --export-json "$WORK/p4b.json" \
    "sh -c 'cd $WORK/vite-peer && npm run build -- --base=./'" >/dev/null 2>&1
  a=$(median "$WORK/p4a.json"); b=$(median "$WORK/p4b.json")
  echo "   ours $(python3 -c "print(f'{$a:.2f}')") s, npm run build $(python3 -c "print(f'{$b:.2f}')") s, ratio $(ratio "$a" "$b") (goal <= 1.3)"
fi
