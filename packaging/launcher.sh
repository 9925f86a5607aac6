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
exec "$top/runtime/bin/node" "$top/lib/devmapper-migrate.mjs" "$@"
