#!/bin/sh
# devmapper-migrate: starts the tool with the Node runtime shipped in this folder, never a
# node from PATH (a RHEL 7 host has none, or one too old or too new for the bundle). Works
# from any directory and through symlinks (e.g. /usr/local/bin/devmapper-migrate -> here).
set -e
self=$0
while [ -h "$self" ]; do
  target=$(readlink "$self")
  case $target in
    /*) self=$target ;;
    *) self=$(dirname "$self")/$target ;;
  esac
done
top=$(cd "$(dirname "$self")/.." && pwd -P)
# A young generation of 2 MB semi-spaces instead of V8's 16 MB: the streams' short-lived objects
# grew it to its maximum, a third of the run's peak memory (`npm run bench` measured 136 MB
# with the default and 109 MB with this, at no cost in speed). The bench reads the flags here.
exec "$top/runtime/bin/node" --max-semi-space-size=2 "$top/lib/devmapper-migrate.mjs" "$@"
