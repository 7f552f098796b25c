#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3, the newest 4.x that runs on Node 20) into
# extension/.e2e/code-server, working around what the npm package needs at install time on a
# machine without GitHub access (see ../shared/reference/vscode-e2e.md):
#  - its install script refuses root unless --unsafe-perm;
#  - @vscode/ripgrep downloads rg from GitHub unless its cache under $TMPDIR holds the tarball:
#    we pack Debian's rg there;
#  - node-pty's build runs `npx node-gyp`, which needs npm_config_yes=true.
# Needs: ripgrep libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config build-essential python3.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=${1:-$HERE/../../.e2e/code-server}
VERSION=4.100.3
if [ -x "$DEST/node_modules/.bin/code-server" ] && [ -f "$DEST/.installed-$VERSION" ]; then
  echo "code-server $VERSION already installed in $DEST"
  exit 0
fi
command -v rg >/dev/null || { echo "install ripgrep first (apt-get install ripgrep)" >&2; exit 1; }
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
export TMPDIR=$SCRATCH
mkdir -p "$SCRATCH/vscode-ripgrep-cache-1.15.11" "$SCRATCH/rg"
cp "$(command -v rg)" "$SCRATCH/rg/rg"
tar -czf "$SCRATCH/vscode-ripgrep-cache-1.15.11/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$SCRATCH/rg" rg
# Native modules build against the running node's own headers (node-gyp cannot download them here):
# /usr/include/node for Debian's or NodeSource's node, include/node inside scripts/node20's.
NODE_PREFIX=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [ -f "$NODE_PREFIX/include/node/node.h" ]; then export npm_config_nodedir=$NODE_PREFIX; fi
cd "$DEST"
[ -f package.json ] || echo '{"name":"e2e-code-server","private":true}' > package.json
echo "installing code-server $VERSION into $DEST (a few minutes the first time)"
npm_config_yes=true npm install --no-audit --no-fund --unsafe-perm --foreground-scripts=false "code-server@$VERSION" >"$SCRATCH/npm.log" 2>&1 || {
  tail -40 "$SCRATCH/npm.log" >&2
  exit 1
}
touch "$DEST/.installed-$VERSION"
echo "code-server $VERSION installed"
