#!/usr/bin/env bash
# The hub's figures (bench/hub/hub_bench.py): unchanged re-publish of 10,000 files vs rsync, bytes of
# a one-file change vs rsync, enqueue-to-start and event latency, claims per second with 4 workers.
#   bench/hub/run.sh [BUILD_DIR]     (needs PostgreSQL's server, psql, hyperfine, rsync)
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in hyperfine rsync psql; do
  command -v "$tool" >/dev/null || { echo "bench/hub: $tool is needed (apt-get install $tool)" >&2; exit 1; }
done
exec python3 bench/hub/hub_bench.py "${1:-build}"
