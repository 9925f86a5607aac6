#!/bin/bash
# The harness's own check: the guest has what scenarios rely on, results come back through
# $DMM_OUT, and the scenario's exit code (3 here) comes back through the console marker.
set -eu
. "$DMM_LIB"

step "probe the guest"
{
  echo "kernel=$(uname -r)"
  echo "scratch=$( [ -b "$DMM_DISK_scratch" ] && echo "block device $DMM_DISK_scratch" )"
  echo "scratch_size=$(blockdev --getsize64 "$DMM_DISK_scratch")"
  echo "modules=$(awk '{print $1}' /proc/modules | grep -xE 'dm_thin_pool|loop|xfs|overlay|bridge|veth' | sort | tr '\n' ' ')"
  echo "cgroup_memory=$(grep -c ' /sys/fs/cgroup/memory cgroup ' /proc/mounts)"
  echo "lo=$(cat /sys/class/net/lo/operstate)"
  echo "lvm_udev_sync=$(lvmconfig --type current activation/udev_sync)"
  echo "root_readonly_lower=$(touch /usr/.dmm-probe && echo overlay-writable)"
  echo "project=$( [ -f "$DMM_PROJECT/package.json" ] && echo visible )"
  echo "node=$("$DMM_NODE" -e 'process.stdout.write(process.version)')"
  echo "extra=$DMM_PROBE_EXTRA"
} | tee "$DMM_OUT/probe.txt"
mkdir -p "$DMM_OUT/sub"
echo nested >"$DMM_OUT/sub/file.txt"
exit 3
