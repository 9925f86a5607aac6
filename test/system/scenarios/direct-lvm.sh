#!/bin/bash
# Scenario: a direct-lvm devicemapper host. The thin pool is built on the spare disk with the
# commands from Docker's documentation; dockerd uses it through dm.thinpooldev and a container
# runs on it; preflight reads it. Outputs: docker-info-before.json, lvs.txt, preflight.*.
set -eu
. "$DMM_LIB"

dmm_mkfs_xfs "$DMM_DISK_data" 1
dmm_mount_data_root "$DMM_DISK_data"
dmm_direct_lvm_pool "$DMM_DISK_spare"
dmm_daemon_json_direct_lvm /dev/mapper/docker-thinpool
dmm_dockerd_start
dmm_docker_info before
dmm_seed_images
step "a container on the pool"
docker run -d --name web app/web:1.0 >/dev/null
docker exec web sh -c 'echo "on the thin pool" >/var/www/pool.txt && cat /var/www/pool.txt'
[ "$(docker inspect -f '{{.State.Running}}' web)" = true ] || fail "web is not running"
step "lvs"
lvs --noheadings -o vg_name,lv_name,lv_attr,data_percent,seg_monitor | tee "$DMM_OUT/lvs.txt"

dmm_tool_saved preflight.json preflight --json
