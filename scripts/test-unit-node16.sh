#!/usr/bin/env bash
# Runs the unit tier on the official Node 16.20.2 (the release tarball's runtime). Vitest 3
# needs Node 18, so this uses vitest 0.34 with vite 4 (both Node >= 14.18), installed from the
# npm registry
# into .cache/vitest-node16 (not the project's dependencies), with vitest.unit.node16.config.mjs.
# Arguments go to vitest (e.g. one test file).
set -euo pipefail
cd "$(dirname "$0")/.."
node16=$(bash scripts/fetch-node16.sh)/bin/node
runner=.cache/vitest-node16
if [ ! -f "$runner/node_modules/vitest/package.json" ]; then
  mkdir -p "$runner"
  echo '{ "private": true }' > "$runner/package.json"
  npm install --prefix "$runner" --no-audit --no-fund --no-save --silent vitest@0.34.6 vite@4.5.9 >/dev/null
fi
exec "$node16" "$runner/node_modules/vitest/vitest.mjs" run --config vitest.unit.node16.config.mjs "$@"
