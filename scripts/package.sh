#!/usr/bin/env bash
# Writes dist/devmapper-migrate-<version>-linux-x64.tar.gz from dist/devmapper-migrate.mjs
# (run `npm run build` first; `npm run package` does both): one folder that an operator
# unpacks anywhere on an air-gapped host and runs as root, nothing else installed.
#   bin/devmapper-migrate   POSIX sh launcher: always the runtime below, whatever PATH holds
#   lib/                    the single-file build and its dependencies' licenses
#   runtime/bin/node        the official Node 16.20.2 (needs only glibc 2.17: RHEL/CentOS 7)
#   runtime/LICENSE         Node's license
#   SHA256SUMS              of every other file (`sha256sum -c SHA256SUMS` in the folder)
# Prints the tarball's path.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').version")
name=devmapper-migrate-$version-linux-x64
bundle=dist/devmapper-migrate.mjs
[ -f "$bundle" ] || { echo "package: $bundle is missing; run npm run build first" >&2; exit 1; }
runtime=$(bash scripts/fetch-node16.sh)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
top=$stage/$name
mkdir -p "$top/bin" "$top/lib" "$top/runtime/bin"
install -m 0755 packaging/launcher.sh "$top/bin/devmapper-migrate"
install -m 0644 "$bundle" "$top/lib/devmapper-migrate.mjs"
[ -f "$bundle.LEGAL.txt" ] && install -m 0644 "$bundle.LEGAL.txt" "$top/lib/devmapper-migrate.mjs.LEGAL.txt"
install -m 0755 "$runtime/bin/node" "$top/runtime/bin/node"
install -m 0644 "$runtime/LICENSE" "$top/runtime/LICENSE"
(cd "$top" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)

out=dist/$name.tar.gz
# Owned by root, fixed order: the same inputs give the same listing on every build machine.
tar -C "$stage" --owner=0 --group=0 --numeric-owner --sort=name -czf "$out.tmp" "$name"
mv "$out.tmp" "$out"
echo "$PWD/$out"
