#!/usr/bin/env bash
# Puts Engine 26 (Debian trixie's docker.io 26.1.5: dockerd and docker-proxy) in
# .cache/engine26/ and prints that directory. The system kit copies it into its guests' kit and
# the integration tier starts rig daemons from it, so CI downloads it once. Its dockerd runs on
# Debian 12 (glibc 2.36) with Debian 12's containerd 1.6 and runc 1.1.
#
# It is fetched with a private apt source list and state (the host's apt is untouched), checked
# against the pinned hash, unpacked with dpkg -x (never installed), and kept: a second call
# checks the recorded hash and returns; only a changed pin fetches it again.
# Needs root and Debian 12's apt.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=$PWD/.cache/engine26

ENGINE26_SUITE=trixie
ENGINE26_VERSION=26.1.5+dfsg1-9+deb13u1+b1
ENGINE26_SHA256=53ae1a99f15113f0a0d2226808ec0d24ee31b3b87b87ab8ec35be09a1a2ee13b

say() { printf 'fetch-engine26: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

ready() {
  [ "$(cat "$dest/deb.sha256" 2>/dev/null)" = "$ENGINE26_SHA256" ] \
    && [ -x "$dest/dockerd" ] && [ -x "$dest/docker-proxy" ]
}

apt_get() {
  # Another process may hold the dpkg lock for a while; wait for it instead of failing.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}

if ! ready; then
  [ "$(id -u)" = 0 ] || die "must run as root (apt-get with a private state directory)"
  # Two callers at once (the system kit and an integration test) must not both write $dest.
  mkdir -p "$(dirname "$dest")"
  exec 9>"$dest.lock"
  flock 9
fi
if ! ready; then
  apt_dir=$dest.apt
  say "fetching Engine 26 (docker.io $ENGINE26_VERSION from Debian $ENGINE26_SUITE)"
  rm -rf "$apt_dir" "$dest.tmp"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$dest.tmp"
  # The mirror this machine's own Debian sources use (deb822 or one-line format).
  mirror=$(grep -hoE 'https?://[^ ]*/debian/?( |$)' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n 1 | tr -d ' ' || true)
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror:-http://deb.debian.org/debian} $ENGINE26_SUITE main" >"$apt_dir/sources.list"
  opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root)
  apt_get "${opts[@]}" update >&2
  (cd "$apt_dir/debs" && apt_get "${opts[@]}" download "docker.io=$ENGINE26_VERSION" >&2)
  deb=$(ls "$apt_dir"/debs/docker.io_*.deb)
  sum=$(sha256sum "$deb" | cut -d' ' -f1)
  [ "$sum" = "$ENGINE26_SHA256" ] || die "$deb has sha256 $sum, want $ENGINE26_SHA256 (pinned in scripts/fetch-engine26.sh)"
  dpkg -x "$deb" "$apt_dir/x"
  cp "$apt_dir/x/usr/sbin/dockerd" "$apt_dir/x/usr/sbin/docker-proxy" "$dest.tmp/"
  echo "$sum" >"$dest.tmp/deb.sha256"
  echo "$ENGINE26_VERSION" >"$dest.tmp/version"
  rm -rf "$dest" "$apt_dir"
  mv "$dest.tmp" "$dest"
  say "Engine 26: $("$dest/dockerd" --version)"
fi
printf '%s\n' "$dest"
