#!/bin/bash
# Scenario 6 of the system-test issue: the data-root is on xfs formatted with ftype=0 (no
# d_type), which overlay2 refuses. devicemapper runs fine on it; preflight must name the
# blocker, exit 1 and change nothing.
# Outputs: docker-info-before.json, preflight.json/.rc/.stderr, snapshot-before/after.txt.
set -eu
. "$DMM_LIB"

dmm_mkfs_xfs "$DMM_DISK_data" 0
dmm_mount_data_root "$DMM_DISK_data"
dmm_daemon_json_loop_lvm
dmm_dockerd_start
dmm_docker_info before
dmm_seed_images
step "a running and a stopped container"
docker run -d --name web app/web:1.0 >/dev/null
docker run --name job dmm/busybox:1.35 sh -c 'echo done >/out.txt' >/dev/null
dmm_snapshot before

dmm_tool_saved preflight.json preflight --json

dmm_snapshot after
if diff -u "$DMM_OUT/snapshot-before.txt" "$DMM_OUT/snapshot-after.txt"; then
  step "nothing changed"
else
  fail "preflight changed the host"
fi
