#!/bin/bash
# Issue 7, scenarios 1 and 5 in one guest:
#  1. a loop-lvm devicemapper host with a realistic workload (dmm_seed_workload: tags, a network
#     with a subnet and a static IP, a named volume with files, a running and a stopped
#     container, files changed in writable layers) → `run --answers --yes` to overlay2 on the
#     data-root's xfs (ftype=1); verify is clean; the workload runs as before.
#  5. then `rollback`: devicemapper again, the original inventory verified, and volume data
#     written after the cutover kept.
# A failed workload check is recorded (check-failures.txt) and the scenario goes on, so one boot
# tells about both; a stage is written to stage.txt only when everything before it held.
#  Issue 21, rescue, in the same boot: the rolled-back host's engine is then swapped for Engine
#     26.1 (dmm_engine_swap), which refuses to start on devicemapper; `run` with source.dockerd
#     (Debian's 20.10 dockerd, copied aside before the swap hides it) exports through it as a
#     side daemon and ends on Engine 26.1 and overlay2 with every image, container, volume and
#     network (engine-before-rescue/ and engine-rescued/ for the test to compare).
# Outputs: docker-info-{before,after,rolled-back,rescued}.json, run.*, verify.*, rollback.*,
# refused-26.txt, rescue.*, engine-*/, facts-*.txt, run-*/ (the tool's run files), stage.txt,
# check-failures.txt.
set -eu
. "$DMM_LIB"
trap 'dmm_collect_run final' EXIT
stage() { echo "$1" >>"$DMM_OUT/stage.txt"; step "stage: $1"; }
ok=1

dmm_mkfs_xfs "$DMM_DISK_data" 1
dmm_mount_data_root "$DMM_DISK_data"
dmm_daemon_json_loop_lvm
dmm_dockerd_start
dmm_docker_info before
dmm_seed_workload
dmm_edit_writable_layer
dmm_check_workload
dmm_check_writable_layer
dmm_host_facts before
stage seeded

# --- scenario 1: loop-lvm → overlay2, unattended
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

# --- scenario 5: rollback after the successful run
ok=1
step "write to the volume after the cutover"
docker exec web sh -c 'echo "written after the cutover" >/data/after.txt && echo "changed after the cutover" >/data/sub/n.txt'
dmm_tool_saved rollback.txt rollback --yes
dmm_collect_run after-rollback
dmm_docker_info rolled-back
dmm_host_facts rolled-back
dmm_expect_rc rollback 0
dmm_expect_driver devicemapper
check_after_writes() {
  local got
  got=$(docker exec web sh -c 'cat /data/after.txt /data/sub/n.txt' | tr '\n' '|')
  [ "$got" = "written after the cutover|changed after the cutover|" ] || fail "volume data written after the cutover: got '$got'"
  step "volume data written after the cutover is there"
}
dmm_check rolled-back check_after_writes || ok=0
# The rest of the workload as it was (n.txt is the one file that changed on purpose).
docker exec web sh -c 'echo nested >/data/sub/n.txt'
dmm_check rolled-back dmm_check_workload || ok=0
dmm_check rolled-back dmm_check_writable_layer || ok=0
[ "$ok" = 1 ] && stage rolled-back

# --- issue 21, rescue: Engine 26.1 installed before the migration refuses the devicemapper data
ok=1
dmm_engine_state before-rescue
dmm_dockerd_stop
step "keep Debian's 20.10 dockerd aside, before the swap hides it"
mkdir -p /var/tmp/legacy
cp /usr/sbin/dockerd /var/tmp/legacy/dockerd
dmm_engine_swap 26
if dmm_dockerd_start 2>"$DMM_OUT/refused-26.txt"; then
  fail "Engine 26 started on devicemapper"
fi
cat "$DMM_OUT/refused-26.txt"
dmm_answers /tmp/answers-rescue.yaml overlay2 "$DMM_GUEST_SERVICE start" "source:" "  dockerd: /var/tmp/legacy/dockerd"
dmm_tool_saved rescue.txt run --answers /tmp/answers-rescue.yaml --yes
dmm_collect_run after-rescue
dmm_docker_info rescued
dmm_host_facts rescued
dmm_expect_rc rescue 0
dmm_expect_driver overlay2
dmm_engine_state rescued
dmm_check rescued dmm_check_workload || ok=0
dmm_check rescued dmm_check_writable_layer || ok=0
check_side_daemon_gone() {
  if [ -e /run/devmapper-migrate ] && [ -n "$(ls -A /run/devmapper-migrate)" ]; then fail "the side daemon's directory is left: $(ls -AR /run/devmapper-migrate | head -5)"; fi
  if pgrep -f /var/tmp/legacy/dockerd >/dev/null; then fail "the legacy dockerd still runs: $(pgrep -af /var/tmp/legacy/dockerd)"; fi
  if pgrep -f 'containerd-shim.*dmm-' >/dev/null; then fail "a shim of the side daemon's namespace still runs"; fi
  step "nothing of the side daemon is left"
}
dmm_check rescued check_side_daemon_gone || ok=0
[ "$ok" = 1 ] && stage rescued
dmm_checks_passed
