#!/usr/bin/env bash
# Prepares the system-test kit once: Debian's qemu, a Debian kernel with device-mapper, a small
# busybox initramfs that boots into this machine's own root (read-only over 9p, tmpfs overlay),
# a busybox root tarball for offline `docker import`, and Engine 26 (Debian trixie's dockerd, for
# the upgrade after a migration). Idempotent and cached: a second run
# checks a stamp and returns in well under a second.
#
# Usage: bash test/system/prepare-kit.sh [KIT_DIR]   (default: <repo>/.cache/system-kit)
# Needs root and Debian 12's apt (no other network). Prints the kit's kit.env path at the end.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
kit=${1:-${DMM_SYSTEM_KIT:-$repo/.cache/system-kit}}
started=$SECONDS

say() { printf 'prepare-kit: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs Debian packages and makes device nodes)"

# Debian packages the host needs: qemu boots the guest; the rest are the guest's tools too,
# since the guest runs this machine's root file system (ansible-core: the playbooks scenario).
PACKAGES=(qemu-system-x86 lvm2 thin-provisioning-tools xfsprogs busybox-static cpio kmod
  docker.io e2fsprogs iproute2 util-linux gzip ansible-core)

apt_get() {
  # Another process may hold the dpkg lock for a while; wait for it instead of failing.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}

install_missing() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing from Debian: ${missing[*]}"
  if ! apt_get install -y --no-install-recommends "${missing[@]}"; then
    apt_get update
    apt_get install -y --no-install-recommends "${missing[@]}"
  fi
}

# The versioned kernel package that the linux-image-amd64 meta package points at.
kernel_package() {
  local pkg
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  if [ -z "$pkg" ]; then
    apt_get update >&2
    pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  fi
  [ -n "$pkg" ] || die "cannot find the kernel package behind linux-image-amd64"
  printf '%s\n' "$pkg"
}

install_missing
mkdir -p "$kit"
cd "$kit"

# --- Engine 26 (issue 21) -------------------------------------------------------------------
# Debian trixie's docker.io 26.1.5, which the guests use to prove the upgrade after a
# migration: scripts/fetch-engine26.sh fetches it once (pinned by sha256) into the repo's cache,
# which the integration tier uses too; the kit keeps its own copy, replaced when the pin changes.
copy_engine26() {
  local source
  source=$(bash "$repo/scripts/fetch-engine26.sh")
  cmp -s "$source/deb.sha256" engine26/deb.sha256 2>/dev/null && [ -x engine26/dockerd ] \
    && [ -x engine26/docker-proxy ] && return 0
  rm -rf engine26.tmp
  cp -a "$source" engine26.tmp
  rm -rf engine26
  mv engine26.tmp engine26
}

copy_engine26

# The stamp covers this script (it holds the initramfs /init) and the kernel package; when
# both are unchanged and every artefact is there, the kit is ready.
script_sum=$(sha256sum "$here/prepare-kit.sh" | cut -c1-16)
if [ -f kit.env ]; then
  # shellcheck disable=SC1091
  . ./kit.env
  if [ "${KIT_STAMP:-}" = "$script_sum" ] && [ -f "${KIT_VMLINUZ:-/nonexistent}" ] \
    && [ -f "${KIT_INITRD:-/nonexistent}" ] && [ -f "${KIT_BUSYBOX_TAR:-/nonexistent}" ] \
    && [ -d "${KIT_MODULES:-/nonexistent}" ] && [ -x "${KIT_ENGINE26_DOCKERD:-/nonexistent}" ] \
    && command -v qemu-system-x86_64 >/dev/null; then
    say "kit is ready (cached, $((SECONDS - started)) s): $kit"
    printf '%s\n' "$kit/kit.env"
    exit 0
  fi
fi

# --- kernel -------------------------------------------------------------------------------
pkg=$(kernel_package)
kver=${pkg#linux-image-}
if [ ! -f "kernel/boot/vmlinuz-$kver" ] || [ ! -d "kernel/lib/modules/$kver" ]; then
  say "fetching kernel $pkg"
  rm -rf debs kernel.tmp
  mkdir -p debs kernel.tmp
  # -o APT::Sandbox::User=root: the _apt user may not be able to write into the repo's cache.
  (cd debs && apt-get -o APT::Sandbox::User=root download "$pkg")
  dpkg -x debs/"${pkg}"_*.deb kernel.tmp
  rm -rf kernel
  mv kernel.tmp kernel
  rm -rf debs
fi
say "depmod for $kver"
depmod -b "$kit/kernel" "$kver"
modules="$kit/kernel/lib/modules/$kver"

# --- initramfs ----------------------------------------------------------------------------
say "building initramfs"
stage=$(mktemp -d "$kit/initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,lower,rw,newroot,modules}
cp /bin/busybox "$stage/bin/busybox"
mknod -m 600 "$stage/dev/console" c 5 1
mknod -m 666 "$stage/dev/null" c 1 3

# modprobe knows the order (virtio_ring virtio ... virtio_pci 9pnet 9pnet_virtio netfs fscache
# 9p overlay on Debian 12): busybox insmod does not resolve dependencies, so record it.
: >"$stage/modules.order"
for top in virtio_pci 9pnet_virtio 9p overlay; do
  modprobe -d "$kit/kernel" -S "$kver" --show-depends "$top"
done | while read -r kind path _rest; do
    [ "$kind" = insmod ] || continue
    name=$(basename "$path")
    case "$name" in
      *.ko) cp "$path" "$stage/modules/$name" ;;
      *.ko.xz) xz -dc "$path" >"$stage/modules/${name%.xz}"; name=${name%.xz} ;;
      *.ko.zst) zstd -qdc "$path" >"$stage/modules/${name%.zst}"; name=${name%.zst} ;;
      *) die "unexpected module file $path" ;;
    esac
    grep -qx "$name" "$stage/modules.order" || echo "$name" >>"$stage/modules.order"
  done
[ -s "$stage/modules.order" ] || die "no modules found for 9p/virtio/overlay in $modules"

cat >"$stage/init" <<'INIT'
#!/bin/busybox sh
# Stage 1: mount this machine's root (9p, read-only) under a tmpfs overlay, switch_root into it
# and run the stage-2 script named by dmm.init= on the kernel command line.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
fail() { echo "dmm-initramfs: $*"; echo o >/proc/sysrq-trigger; sleep 5; poweroff -f; }
for m in $(cat /modules.order); do
  insmod "/modules/$m" || echo "dmm-initramfs: insmod $m failed"
done
init= ; msize=262144
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    dmm.init=*) init=${arg#dmm.init=} ;;
    dmm.msize=*) msize=${arg#dmm.msize=} ;;
  esac
done
[ -n "$init" ] || fail "no dmm.init= on the kernel command line"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=$msize hostroot /lower \
  || fail "cannot mount the host root over 9p"
mount -t tmpfs -o mode=0755 rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot \
  || fail "cannot mount the overlay root"
[ -f "/newroot$init" ] || fail "stage 2 $init not found on the host root"
# Hand the kernel file systems over; stage 2 keeps them (our console is open on /dev).
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
exec switch_root /newroot /bin/bash "$init"
INIT
chmod 755 "$stage/init"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 >initramfs.cpio.gz.tmp
mv initramfs.cpio.gz.tmp initramfs.cpio.gz

# --- busybox root for `docker import` (no registry needed) ----------------------------------
say "building busybox root tarball"
bb=$(mktemp -d "$kit/busybox-root.XXXXXX")
trap 'rm -rf "$stage" "$bb"' EXIT
mkdir -p "$bb"/{bin,etc,tmp,root,var/www}
cp /bin/busybox "$bb/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$bb/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$bb/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$bb/etc/group"
chmod 1777 "$bb/tmp"
tar --numeric-owner --owner=0 --group=0 -C "$bb" -cf busybox-root.tar.tmp .
mv busybox-root.tar.tmp busybox-root.tar

cat >kit.env.tmp <<EOF
# Written by test/system/prepare-kit.sh; read by test/system/vm.ts.
KIT_STAMP=$script_sum
KIT_KERNEL_VERSION=$kver
KIT_VMLINUZ=$kit/kernel/boot/vmlinuz-$kver
KIT_INITRD=$kit/initramfs.cpio.gz
KIT_MODULES=$modules
KIT_BUSYBOX_TAR=$kit/busybox-root.tar
KIT_QEMU=$(command -v qemu-system-x86_64)
KIT_ENGINE26_DOCKERD=$kit/engine26/dockerd
KIT_ENGINE26_PROXY=$kit/engine26/docker-proxy
EOF
mv kit.env.tmp kit.env
say "kit ready in $((SECONDS - started)) s: $kit (kernel $kver)"
printf '%s\n' "$kit/kit.env"
