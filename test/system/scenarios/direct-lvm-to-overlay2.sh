#!/bin/bash
# Issue 7, scenario 2: a direct-lvm devicemapper host, its thin pool built on the spare disk by
# the commands of Docker's documentation (dmm_direct_lvm_pool), with the realistic workload →
# `run --answers --yes` to overlay2 on the data-root's xfs (ftype=1); verify is clean.
# The old pool is kept (nothing is deleted before finalize).
# Outputs: docker-info-{before,after}.json, run.*, verify.*, facts-*.txt, run-*/, stage.txt,
# check-failures.txt.
set -eu
. "$DMM_LIB"
trap 'dmm_collect_run final' EXIT
stage() { echo "$1" >>"$DMM_OUT/stage.txt"; step "stage: $1"; }
ok=1

dmm_mkfs_xfs "$DMM_DISK_data" 1
dmm_mount_data_root "$DMM_DISK_data"
dmm_direct_lvm_pool "$DMM_DISK_spare"
dmm_daemon_json_direct_lvm /dev/mapper/docker-thinpool
dmm_dockerd_start
dmm_docker_info before
dmm_seed_workload
dmm_edit_writable_layer
dmm_host_facts before
stage seeded

dmm_answers /tmp/answers.yaml overlay2
dmm_tool_saved run.txt run --answers /tmp/answers.yaml --yes
dmm_collect_run after-run
dmm_docker_info after
dmm_host_facts after
dmm_expect_rc run 0
dmm_expect_driver overlay2
dmm_check migrated dmm_check_workload || ok=0
dmm_check migrated dmm_check_writable_layer || ok=0
dmm_tool_saved verify.txt verify
[ "$(cat "$DMM_OUT/verify.rc")" = 0 ] || ok=0
[ "$ok" = 1 ] && stage migrated
dmm_checks_passed
