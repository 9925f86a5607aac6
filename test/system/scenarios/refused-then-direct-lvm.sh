#!/bin/bash
# Issue 7, scenarios 4 and 3 in one guest (a failed attempt, then a successful one):
#  4. a loop-lvm host whose target start is refused: the service's start command starts dockerd
#     with --storage-opt overlay2.size=1G whenever daemon.json names overlay2, which dockerd
#     refuses (a flag duplicating daemon.json's storage-opts, or overlay2.size on xfs without
#     project quota). The run must exit 3, back on devicemapper, old containers running,
#     the host as before (snapshot-before/after-refused and networks-*, asserted by the test).
#  3. then the same host → a fresh direct-lvm pool on the spare disk built by the tool
#     (target: direct-lvm, directLvm.device: the spare disk): devicemapper with the run's own
#     pool (dmmigrate_<run>/thinpool, tagged with the run) and no loop files; the workload as
#     before; verify clean. Before it, Docker's documented pool docker/thinpool is built on a
#     third disk (issue 19, item 1: a new pool of that same name made vgcreate fail and the
#     rollback remove the host's pool): it must come out of the run untouched.
# Outputs: docker-info-{before,after-refused,after}.json, run-refused.*, run-lvm.*, verify.*,
# snapshot-*.txt, networks-*.txt, facts-*.txt, run-*/, stage.txt, check-failures.txt.
# A failed workload check is recorded and the scenario goes on (see loop-lvm-to-overlay2.sh).
set -eu
. "$DMM_LIB"
trap 'dmm_collect_run final' EXIT
stage() { echo "$1" >>"$DMM_OUT/stage.txt"; step "stage: $1"; }
ok=1
# The snapshot lists network ids, and the default bridge network gets a new one at every daemon
# start: the user networks by name, id and IPAM say whether the old ones came back.
user_networks() {
  docker network ls --filter type=custom -q | xargs docker network inspect \
    -f '{{.Name}} {{.Id}} {{.Driver}} {{json .IPAM.Config}} {{json .Labels}}' >"$DMM_OUT/networks-$1.txt"
}

dmm_mkfs_xfs "$DMM_DISK_data" 1
dmm_mount_data_root "$DMM_DISK_data"
dmm_daemon_json_loop_lvm
dmm_dockerd_start
dmm_docker_info before
dmm_seed_workload
dmm_edit_writable_layer
dmm_host_facts before
dmm_snapshot before
user_networks before
stage seeded

# --- scenario 4: the target start is refused
cat >/tmp/start-refusing.sh <<EOS
#!/bin/bash
# The guest's docker service, except that dockerd is given an option it refuses whenever
# daemon.json asks for overlay2.
if grep -q '"overlay2"' /etc/docker/daemon.json; then
  export DMM_DOCKERD_ARGS="--storage-opt overlay2.size=1G"
fi
exec $DMM_GUEST_SERVICE start
EOS
dmm_answers /tmp/answers-refused.yaml overlay2 "bash /tmp/start-refusing.sh"
dmm_tool_saved run-refused.txt run --answers /tmp/answers-refused.yaml --yes
dmm_collect_run after-refused
dmm_docker_info after-refused
dmm_host_facts after-refused
step "dockerd's refusal, from its log"
grep -E 'overlay2|storage-opt|level=fatal|failed to start' "$DMM_OUT/dockerd.log" | tail -n 5 || true
dmm_snapshot after-refused
user_networks after-refused
dmm_expect_rc run-refused 3
dmm_expect_driver devicemapper
dmm_check refused dmm_check_workload || ok=0
dmm_check refused dmm_check_writable_layer || ok=0
[ "$ok" = 1 ] && stage refused-and-rolled-back

# --- scenario 3: the same host → a fresh direct-lvm pool built by the tool
# A pool by Docker's guide (VG docker, LV thinpool) that the run must leave alone.
dmm_direct_lvm_pool "$DMM_DISK_oldpool"
lvs --noheadings -o lv_uuid docker/thinpool >"$DMM_OUT/oldpool-uuid-before.txt"
dmm_answers /tmp/answers-lvm.yaml direct-lvm "" "directLvm:" "  device: $DMM_DISK_spare"
dmm_tool_saved run-lvm.txt run --answers /tmp/answers-lvm.yaml --yes
dmm_collect_run after-lvm
dmm_docker_info after
dmm_host_facts after
lvs --noheadings -o lv_uuid docker/thinpool >"$DMM_OUT/oldpool-uuid-after.txt" 2>&1 || true
dmm_expect_rc run-lvm 0
dmm_expect_driver devicemapper
ok=1
dmm_check direct-lvm dmm_check_workload || ok=0
dmm_check direct-lvm dmm_check_writable_layer || ok=0
dmm_tool_saved verify.txt verify
[ "$(cat "$DMM_OUT/verify.rc")" = 0 ] || ok=0
[ "$ok" = 1 ] && stage migrated-to-direct-lvm
dmm_checks_passed
