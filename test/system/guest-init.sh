#!/bin/bash
# Stage 2 of the system-test guest, PID 1 after the initramfs switched into the overlay of this
# machine's root. Sets up what a Docker host needs (proc, sys, dev, cgroup v1, modules, lo, LVM
# without udev), mounts the per-boot share, runs the scenario and prints the result marker on
# the serial console. It must never exit: PID 1 exiting panics the kernel, so it powers off.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb

# The initramfs moved these over; mount them only if it did not.
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1
echo  # SeaBIOS leaves its last line open

log() { printf 'dmm-guest: %s\n' "$*"; }
power_off() {
  sync
  umount /dmm 2>/dev/null
  busybox poweroff -f 2>/dev/null
  echo o >/proc/sysrq-trigger
  sleep 60
}

kit= scenario=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    dmm.kit=*) kit=${arg#dmm.kit=} ;;
    dmm.scenario=*) scenario=${arg#dmm.scenario=} ;;
  esac
done

mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t tmpfs -o mode=755 run /run
mkdir -p /run/lock
# /tmp stays the overlay's (tmpfs-backed already), so host paths under /tmp stay visible.
ln -sfn /proc/self/fd /dev/fd

# The per-boot share: env.sh from the harness in, logs and results out.
mkdir -p /dmm
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none dmmout /dmm; then
  log "cannot mount the dmmout share"
  power_off
fi
# shellcheck disable=SC1091
. /dmm/env.sh
export DMM_OUT=/dmm
[ -n "$scenario" ] || scenario=${DMM_SCENARIO:-}
nonce=${DMM_NONCE:-none}

# modprobe looks in /lib/modules/<running version>: point it at the unpacked Debian kernel.
kver=$(uname -r)
mkdir -p /lib/modules
ln -sfn "${kit:-$DMM_KIT}/kernel/lib/modules/$kver" "/lib/modules/$kver"
modprobe -a virtio_blk loop dm_mod dm_thin_pool xfs ext4 overlay bridge veth || log "modprobe failed"

# Docker 20.10 wants cgroup v1 hierarchies; nothing (no systemd) mounts them here.
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
for c in $(awk 'NR > 1 && $4 == 1 { print $1 }' /proc/cgroups); do
  mkdir -p "/sys/fs/cgroup/$c"
  mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" || log "cgroup $c not mounted"
done

ip link set lo up
hostname dmm-guest

# No udev in the guest: LVM must create its nodes itself and not wait for udev.
mkdir -p /etc/lvm
cat >/etc/lvm/lvm.conf <<'EOF'
devices {
  obtain_device_list_from_udev = 0
  external_device_info_source = "none"
}
activation {
  udev_sync = 0
  udev_rules = 0
  monitoring = 1
}
EOF

# Disks carry their name as the virtio serial number; export DMM_DISK_<name>=/dev/vdX.
for dev in /sys/block/vd*; do
  [ -e "$dev" ] || continue
  name=$(cat "$dev/serial" 2>/dev/null || true)
  [ -n "$name" ] && export "DMM_DISK_${name}=/dev/${dev##*/}"
done

log "up in $(cut -d' ' -f1 /proc/uptime) s, kernel $kver, scenario $scenario"
rc=99
if [ -z "$scenario" ] || [ ! -f "$scenario" ]; then
  log "scenario '$scenario' not found"
else
  (cd /tmp && exec bash "$scenario")
  rc=$?
fi
log "scenario exited $rc after $(cut -d' ' -f1 /proc/uptime) s"
echo "$rc" >/dmm/exit-code
printf '\n@@DMM-EXIT %s %s@@\n' "$nonce" "$rc"
power_off
