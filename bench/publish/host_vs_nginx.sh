#!/usr/bin/env bash
# The built-in host against nginx serving the same published files, in one run, with wrk on
# loopback: a small index.html and a 200 KB asset. Two nginx configurations:
#   default — what we compared with before: one worker, sendfile on;
#   tuned   — one worker per server core (as many as our host's threads), sendfile, tcp_nopush,
#             open_file_cache (nginx's own answer to "do not open the file per request").
# With two or more cores, wrk runs on core 0 and the servers on the others (taskset), so the load
# generator does not steal the servers' core mid-request: on a shared core the p99 measures the
# scheduler, not the server.
# Before any timing every server must answer each URL with 200 and the file's exact bytes; during
# the timing wrk must see no non-2xx answer, no socket error and the full body per request. A
# ratio is printed only when both sides passed. Goal: >= 1.3x nginx on index.html, >= 1.5x on the
# 200 KB file, with a p99 latency no worse.
#   bench/publish/host_vs_nginx.sh [BUILD_DIR] [SECONDS]   (needs nginx, wrk, curl)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=$(realpath "${1:-build}")/server/studyhub-sandbox
SECONDS_PER_RUN=${2:-10}
for tool in nginx wrk curl; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install nginx wrk curl)" >&2; exit 1; }
done
WORK=$(mktemp -d /tmp/studyhub-bench-host.XXXXXX)
export STUDYHUB_SANDBOX_HOME=$WORK/state
NGINX_PIDS=()
cleanup() {
  "$BIN" host --stop >/dev/null 2>&1 || true
  for pidfile in "$WORK"/nginx-*/nginx.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true  # fast shutdown: the master takes its workers down
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/site/assets"
cp examples/hello-static/index.html "$WORK/site/"
head -c 204800 /dev/urandom > "$WORK/site/assets/big.bin"
cores=$(nproc)
server_cpus=0-$((cores - 1))
threads=$cores
wrk_threads=2
if [ "$cores" -ge 2 ]; then
  export WRK_CPUS=0
  server_cpus=1-$((cores - 1))
  threads=$((cores - 1))
  wrk_threads=1  # two wrk threads sharing one core time-slice each other: that shows as p99
fi
# publish starts the background host, which keeps publish's CPU affinity and sizes its threads by it.
url=$(taskset -c "$server_cpus" "$BIN" publish "$WORK/site" 2>/dev/null)
ours_base=${url%/s/*}

free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
# nginx's worker reads the state folder (0700, ours) as the user that runs this script: as root
# it would drop to nobody and answer 403 to everything, so it is told to stay root.
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root root;"
start_nginx() {  # name, workers, extra http directives; prints the base URL
  local dir=$WORK/nginx-$1 port
  port=$(free_port)
  mkdir -p "$dir/logs" "$dir/tmp"
  cat > "$dir/nginx.conf" <<NGINX
$user_line
worker_processes $2;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  $3
  include /etc/nginx/mime.types;
  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  server { listen 127.0.0.1:$port; location /s/ { alias $STUDYHUB_SANDBOX_HOME/sites/; } }
}
NGINX
  taskset -c "$server_cpus" nginx -c "$dir/nginx.conf" -p "$dir"
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  echo "http://127.0.0.1:$port"
}
nginx_default=$(start_nginx default 1 "")
nginx_tuned=$(start_nginx tuned "$threads" "tcp_nopush on; keepalive_requests 100000;
  open_file_cache max=10000 inactive=60s; open_file_cache_valid 60s; open_file_cache_errors on;")

# Every server answers every URL with 200 and the same bytes as the file, or nothing is timed.
check() {  # base, path, file
  local got status
  got=$WORK/check.out
  status=$(curl -s -o "$got" -w '%{http_code}' "$1$2")
  if [ "$status" != 200 ] || ! cmp -s "$got" "$3"; then
    echo "   $1$2 answered $status with $(stat -c %s "$got") bytes, not the file's $(stat -c %s "$3"): no figures" >&2
    return 1
  fi
}
for base in "$ours_base" "$nginx_default" "$nginx_tuned"; do
  check "$base" /s/site/index.html "$WORK/site/index.html"
  check "$base" /s/site/assets/big.bin "$WORK/site/assets/big.bin"
done

echo "   wrk -t$wrk_threads -c50 -d${SECONDS_PER_RUN}s on loopback (cpu ${WRK_CPUS:-any}); servers on cpu $server_cpus;" \
  "ours: $threads threads; nginx default: 1 worker; tuned: $threads workers"
printf "   %-26s %-14s %12s %9s %9s %8s %10s\n" file server "req/s" "p50 ms" "p99 ms" ratio "p99 ratio"
for path in /s/site/index.html /s/site/assets/big.bin; do
  size=$(stat -c %s "$WORK/site${path#/s/site}")
  ours=$(python3 bench/lib/wrk_run.py "$ours_base$path" "$size" "-t$wrk_threads" -c50 "-d${SECONDS_PER_RUN}s")
  for peer in default tuned; do
    base=$nginx_default
    [ $peer = tuned ] && base=$nginx_tuned
    theirs=$(python3 bench/lib/wrk_run.py "$base$path" "$size" "-t$wrk_threads" -c50 "-d${SECONDS_PER_RUN}s")
    python3 - "$path" "$peer" "$ours" "$theirs" <<'PY'
import json, sys
path, peer = sys.argv[1], sys.argv[2]
ours, theirs = json.loads(sys.argv[3]), json.loads(sys.argv[4])
name = path.rsplit('/', 1)[1]
def row(label, r, ratio='', p99_ratio=''):
    if not r['ok']:
        print(f"   {name:<26} {label:<14} FAILED: {r['why']}")
        return
    print(f"   {name:<26} {label:<14} {r['rps']:>12.0f} {r['p50_ms']:>9.3f} {r['p99_ms']:>9.3f} {ratio:>8} {p99_ratio:>10}")
if peer == 'default':
    row('ours', ours)
if ours['ok'] and theirs['ok']:
    row(f'nginx {peer}', theirs, f"{ours['rps'] / theirs['rps']:.2f}", f"{ours['p99_ms'] / theirs['p99_ms']:.2f}")
else:
    row(f'nginx {peer}', theirs)
    print('   no ratio: one side did not answer correctly')
PY
  done
done
echo "   ratio = ours / nginx req/s (higher is better); p99 ratio = ours / nginx p99 (<= 1.0 is no worse)"
