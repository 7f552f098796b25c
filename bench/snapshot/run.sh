#!/usr/bin/env bash
# Snapshot speed against git doing the same job (GIT_INDEX_FILE=<temp> git add -A && git write-tree
# in a repository whose worktree is the folder), in one run: cold, warm with nothing changed,
# warm with one file changed; and process start-up (`--version` against `git --version`). Whole-
# process wall time, median of hyperfine runs. After each case both must name the same tree (our
# snapshot id is git's tree id), or no ratio is printed.
#   bench/snapshot/run.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-build}/server/studyhub-sandbox")
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/studyhub-bench-snapshot.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FOLDER=$WORK/folder
python3 bench/snapshot/make_folder.py "$FOLDER"
echo "folder: $(find "$FOLDER/src" -type f | wc -l) files, $(du -sm "$FOLDER/src" | cut -f1) MB, plus $(find "$FOLDER/node_modules" -type f | wc -l) ignored in node_modules/"

export STUDYHUB_SANDBOX_HOME=$WORK/state GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
GITDIR=$WORK/ref.git
OURS="$BIN snapshot $FOLDER"
THEIRS="git --git-dir=$GITDIR --work-tree=$FOLDER add -A && git --git-dir=$GITDIR --work-tree=$FOLDER write-tree"
export GIT_INDEX_FILE=$WORK/git-index
reset_git="rm -rf $GITDIR $GIT_INDEX_FILE && git init -q --bare $GITDIR"
touch_one="echo \$RANDOM\$RANDOM >> $FOLDER/src/module100/file25.js"

median() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['median'])" "$1"; }
measure() {  # name, prepare, command, runs
  hyperfine --style none --runs "$4" --prepare "$2" --export-json "$WORK/$1.json" "$3" >/dev/null 2>&1
  median "$WORK/$1.json"
}

ours_id() { "$BIN" snapshot "$FOLDER" | awk '/^snapshot/ {print $2}'; }
git_id() { eval "$THEIRS"; }
same_tree() {  # case name: both sides name the same tree for the folder as it is now
  local a b
  a=$(ours_id) b=$(git_id)
  if [ "$a" != "$b" ]; then
    echo "$1: ours named $a, git $b: no ratio" >&2
    return 1
  fi
}

eval "$reset_git"
ours_cold=$(measure ours-cold "rm -rf $STUDYHUB_SANDBOX_HOME" "$OURS" 3)
git_cold=$(measure git-cold "$reset_git" "$THEIRS" 3)
same_tree cold
ours_warm=$(measure ours-warm "true" "$OURS" 20)
git_warm=$(measure git-warm "true" "$THEIRS" 20)
same_tree "warm, nothing changed"
ours_one=$(measure ours-one "$touch_one" "$OURS" 20)
git_one=$(measure git-one "$touch_one" "$THEIRS" 20)
same_tree "warm, one file changed"
[ "$("$BIN" --version)" != "" ] && git --version >/dev/null
# /bin/true in the same run: what starting any process costs on this machine (the floor under
# the 2 ms goal).
hyperfine -N --style none --warmup 20 --runs 300 --export-json "$WORK/start.json" "$BIN --version" "git --version" \
  /bin/true >/dev/null 2>&1
ours_start=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['median'])" "$WORK/start.json")
git_start=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][1]['median'])" "$WORK/start.json")
floor_start=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][2]['median'])" "$WORK/start.json")

printf "%-34s %12s %12s %8s\n" "case (median wall time)" "ours (s)" "git (s)" "ratio"
row() { printf "%-34s %12.4f %12.4f %8.2f\n" "$1" "$2" "$3" "$(python3 -c "print($2/$3)")"; }
row "cold (empty state / empty index)" "$ours_cold" "$git_cold"
row "warm, nothing changed" "$ours_warm" "$git_warm"
row "warm, one file changed" "$ours_one" "$git_one"
row "start-up (--version)" "$ours_start" "$git_start"
printf "%-34s %12.4f   (any process on this machine: /bin/true, same run)\n" "start-up floor" "$floor_start"
echo "ratio = ours / git; <= 1.0 means not slower than git (goal: warm <= 1.0, --version <= 2 ms)"
