#!/usr/bin/env bash
# Installs the Debian packages the tests need, when missing (idempotent; root, Debian 12):
# Docker 20.10 and a registry for the integration rig, busybox for offline images, htpasswd
# for registry auth, getfattr/setfattr for the archive tests' extended attributes.
# ansible-core and ansible-lint for the fleet playbooks (test/integration/playbooks.test.ts);
# tmux for the tests that drive the wizard by keystrokes (test/tty/tmux-terminal.ts); binutils
# (objdump) for the release tarball's glibc symbol check (test/integration/packaged.test.ts).
# Then the Node 16.20.2 runtime that the tarball carries and the unit tier also runs on.
set -euo pipefail
packages=(docker.io docker-registry busybox-static apache2-utils attr iproute2 tar ansible-core ansible-lint tmux binutils)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-machine: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi
bash "$(dirname "$0")/fetch-node16.sh" >/dev/null
