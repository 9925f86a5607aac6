#!/bin/bash
# Scenario: a loop-lvm devicemapper host (Docker's default devicemapper mode) with a realistic
# workload; the tool's preflight and inventory read it and change nothing.
# Outputs: docker-info-before.json, preflight.json/.rc/.stderr, inventory.json/.rc/.stderr.
set -eu
. "$DMM_LIB"

dmm_mkfs_xfs "$DMM_DISK_data" 1
dmm_mount_data_root "$DMM_DISK_data"
dmm_daemon_json_loop_lvm
dmm_dockerd_start
dmm_docker_info before
dmm_seed_workload
dmm_check_workload

dmm_tool_saved preflight.json preflight --json
dmm_tool_saved inventory.json inventory --json
# Reading the host changes nothing on it.
dmm_check_workload
