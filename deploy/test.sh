#!/usr/bin/env bash
# The deploy recipe, tested on a real Docker engine: builds the images of deploy/compose.yml, brings
# the stack up (PostgreSQL, the hub, two sandboxed runners, nginx), adds a user, publishes a sandbox
# through nginx from the CLI, checks its URL and that a runner built it in its sandbox, then tears
# everything down.
#   deploy/test.sh          (as root; uses the running Docker engine, else starts a private one)
# Environment: BUILD_DIR (the CLI to publish with, default build), STUDYHUB_DEPLOY_BINARY=context to
# put build/server/studyhub-sandbox in the images instead of compiling it in them (faster; same
# Debian 12 libraries).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$(realpath "${BUILD_DIR:-build}/server/studyhub-sandbox")
WORK=$(mktemp -d /tmp/studyhub-deploy-XXXXXX)
PROJECT=studyhub-deploy-test-$$
say() { echo "deploy: $*" >&2; }

# docker.io's own CLI: it builds with BuildKit without the buildx plugin.
mkdir -p "$WORK/bin"
ln -s "$(command -v /usr/bin/docker || command -v docker)" "$WORK/bin/docker"
export PATH="$WORK/bin:$PATH" DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1
DOCKERD_PID=
compose() { docker-compose -p "$PROJECT" -f deploy/compose.yml --env-file "$WORK/env" "$@"; }
cleanup() {
  set +e
  if [ -f "$WORK/env" ]; then
    compose logs --no-color > "$WORK/compose.log" 2>&1
    [ "${KEEP:-0}" = 1 ] || compose down -v --rmi local >/dev/null 2>&1
  fi
  if [ -n "$DOCKERD_PID" ]; then kill "$DOCKERD_PID"; wait "$DOCKERD_PID" 2>/dev/null; fi
  if [ "${FAILED:-1}" = 1 ] && [ -f "$WORK/compose.log" ]; then say "the stack's logs:"; tail -60 "$WORK/compose.log" >&2; fi
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

# An engine: the running one, else a private one (no bridge NAT needed: the stack talks inside its
# own network, and the test reaches nginx through a published port).
if ! docker info >/dev/null 2>&1; then
  say "starting a Docker engine in $WORK"
  dockerd --storage-driver vfs --iptables=false --ip6tables=false --bridge=none --data-root "$WORK/docker" \
    --exec-root "$WORK/exec" --host "unix://$WORK/docker.sock" --pidfile "$WORK/docker.pid" >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  export DOCKER_HOST="unix://$WORK/docker.sock"
  for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null || { tail -20 "$WORK/dockerd.log" >&2; exit 1; }
fi

# No registry is reachable: Debian 12 made here (mmdebstrap) is the base of every image.
if ! docker image inspect debian:bookworm >/dev/null 2>&1; then
  say "making the debian:bookworm base image with mmdebstrap"
  # This machine's Debian mirror, as its apt is configured (never a host named here).
  MIRROR=$(grep -m1 -hoE '^URIs: *[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | head -1)
  [ -n "$MIRROR" ] || MIRROR=$(grep -m1 -hoE '^deb +(\[[^]]*\] +)?[^ ]+' /etc/apt/sources.list 2>/dev/null | awk '{print $NF}')
  [ -n "$MIRROR" ] || { say "no Debian mirror in this machine's apt sources"; exit 1; }
  mmdebstrap --variant=minbase --include=ca-certificates bookworm "$WORK/base.tar" "$MIRROR" >"$WORK/mmdebstrap.log" 2>&1
  docker import "$WORK/base.tar" debian:bookworm >/dev/null
  rm -f "$WORK/base.tar"
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$WORK/env" <<EOF
STUDYHUB_DB_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
STUDYHUB_RUNNER_TOKEN=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
STUDYHUB_PUBLIC_URL=http://127.0.0.1:$PORT
STUDYHUB_HTTP_BIND=127.0.0.1
STUDYHUB_HTTP_PORT=$PORT
STUDYHUB_TAG=deploy-test-$$
STUDYHUB_BINARY=${STUDYHUB_DEPLOY_BINARY:-compiled}
STUDYHUB_RUNNER_MEMORY=2g
DOCKER_CONTAINER_MEMORY=1g
EOF

start=$(date +%s)
say "building the images (${STUDYHUB_DEPLOY_BINARY:-compiled} server)"
compose build >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log" >&2; exit 1; }
say "images built in $(( $(date +%s) - start )) s"
compose up -d >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; exit 1; }
for _ in $(seq 240); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")" = 200 ] && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/" | grep -q '"studyhub-hub"' || { say "the hub does not answer through nginx"; exit 1; }
say "the stack is up behind nginx at http://127.0.0.1:$PORT"

TOKEN=$(compose exec -T hub studyhub-sandbox hub user add ada)
[ -n "$TOKEN" ] || { say "no token"; exit 1; }
cp -r examples/hello-static "$WORK/site"
URL=$(STUDYHUB_SANDBOX_HOME="$WORK/cli-state" STUDYHUB_SANDBOX_HUB_TOKEN="$TOKEN" "$BIN" publish "$WORK/site" \
        --target hub --hub-url "http://127.0.0.1:$PORT")
say "published: $URL"
case "$URL" in "http://127.0.0.1:$PORT/s/ada/site/") ;; *) say "unexpected URL $URL"; exit 1 ;; esac
# The page and every asset it references load from that URL (nginx proxies to the hub's host).
curl -fsS "$URL" > "$WORK/page.html"
cmp -s "$WORK/page.html" examples/hello-static/index.html || { say "the page is not the sandbox's index.html"; exit 1; }
for ref in $(grep -oE '(src|href)="[^"]+"' "$WORK/page.html" | sed -E 's/^(src|href)="(\.\/)?//; s/"$//' | grep -v '^http'); do
  cmp -s <(curl -fsS "$URL$ref") "examples/hello-static/$ref" || { say "$ref does not load from $URL"; exit 1; }
done
say "the page and its assets load"
# A runner built it, in its sandbox.
compose logs --no-color runner1 runner2 > "$WORK/runners.log" 2>&1
grep -q "POST /run 200" "$WORK/runners.log" || { say "no runner built it"; exit 1; }
grep -q "builds are sandboxed" "$WORK/runners.log" || { say "the runners do not sandbox their builds"; exit 1; }
# nginx reads no data folder (docs/security.md, "Tenants"): the site comes back with the hub.
compose restart hub >/dev/null 2>&1
for _ in $(seq 120); do curl -fsS "$URL" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS "$URL" >/dev/null || { say "the site did not come back after the hub restarted"; exit 1; }
# Takedown through nginx is immediate: the site and its immutable version answer 404 at once.
IMMUTABLE=$(curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/sites/site" | grep -oE '"immutableUrl":"[^"]+"' | head -1 | cut -d'"' -f4)
[ -n "$IMMUTABLE" ] && curl -fsS "$IMMUTABLE" >/dev/null || { say "no immutable URL for the site"; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/sites/site")" = 204 ] ||
  { say "the site could not be deleted"; exit 1; }
for u in "$URL" "$IMMUTABLE"; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$u")" = 404 ] || { say "$u still answers after the site was deleted"; exit 1; }
done
say "a deleted site answers 404 through nginx at once"
FAILED=0
say "passed in $(( $(date +%s) - start )) s"
