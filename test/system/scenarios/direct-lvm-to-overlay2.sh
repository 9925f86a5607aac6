#!/bin/bash
# Issue 7, scenario 2: a direct-lvm devicemapper host, its thin pool built on the spare disk by
# the commands of Docker's documentation (dmm_direct_lvm_pool), with the realistic workload →
# `run --answers --yes` to overlay2 on the data-root's xfs (ftype=1); verify is clean.
# The old pool is kept (nothing is deleted before finalize).
# Issue 21, in the same boot (no second seed): the installed engine is then replaced by Engine
# 26.1 (dmm_engine_swap) and started on the migrated host: every image, container, volume and
# network is there (engine-migrated/ and engine-upgraded/ for the test to compare). `rollback`
# then refuses, naming the old engine first, and leaves Engine 26 running on overlay2; once
# Debian's 20.10 is back, as the refusal says, `rollback` puts the host back on its pool.
# Outputs: docker-info-{before,after,upgraded,refused,rolled-back}.json, run.*, verify.*,
# rollback-refused.*, rollback.*, engine-*/, facts-*.txt, run-*/, stage.txt, check-failures.txt.
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

# --- issue 21: the upgrade to Engine 26 on the migrated host
ok=1
dmm_engine_state migrated
dmm_dockerd_stop
dmm_engine_swap 26
dmm_dockerd_start
dmm_docker_info upgraded
dmm_engine_state upgraded
dmm_check upgraded dmm_check_workload || ok=0
dmm_check upgraded dmm_check_writable_layer || ok=0
[ "$ok" = 1 ] && stage upgraded

# --- rollback now would put devicemapper back under Engine 26: refused, nothing touched
ok=1
dmm_tool_saved rollback-refused.txt rollback --yes
dmm_docker_info refused
dmm_check refused dmm_check_workload || ok=0
[ "$ok" = 1 ] && stage refused

# --- the refusal's steps: the old engine first, then rollback
ok=1
dmm_dockerd_stop
dmm_engine_swap 20.10
dmm_dockerd_start
dmm_tool_saved rollback.txt rollback --yes
dmm_collect_run after-rollback
dmm_docker_info rolled-back
dmm_check rolled-back dmm_check_workload || ok=0
dmm_check rolled-back dmm_check_writable_layer || ok=0
[ "$ok" = 1 ] && stage rolled-back
dmm_checks_passed
