#!/bin/bash
# Issue 8 on a real devicemapper host: the fleet playbooks run by Debian's ansible-playbook
# inside the guest, against the guest itself (ansible_connection: local), so the controller
# and the host are one machine, as with `-c local` on a fleet's first host.
#  1. preflight.yml: the fleet summary names the host ready (devicemapper -> overlay2).
#  2. migrate.yml: installs the tool, templates the answers file, runs the migration, verifies
#     it and fetches report.json; the workload runs as before on overlay2.
#  3. migrate.yml again: the host is already migrated, nothing reports changed.
# Outputs: pb-{preflight,migrate,migrate-again}.{txt,rc}, pb-reports/ (the controller's reports),
# docker-info-{before,after}.json, run-*/, stage.txt, check-failures.txt.
set -eu
. "$DMM_LIB"
trap 'dmm_collect_run final' EXIT
stage() { echo "$1" >>"$DMM_OUT/stage.txt"; step "stage: $1"; }

PB_WORK=/tmp/pb
PB_INVENTORY=$PB_WORK/inventory.yml
mkdir -p "$PB_WORK"

# pb_write_inventory: one host, the guest, with the command service manager (no systemd here).
pb_write_inventory() {
  cat >"$PB_INVENTORY" <<EOF
docker_hosts:
  hosts:
    dm-host:
      ansible_connection: local
      ansible_python_interpreter: /usr/bin/python3
      devmapper_migrate_node: "$DMM_NODE"
      devmapper_migrate_report_dir: "$DMM_OUT/pb-reports"
      devmapper_migrate_poll_interval: 3
      devmapper_migrate_answers:
        service:
          manager: command
          stop: "$DMM_GUEST_SERVICE stop"
          start: "$DMM_GUEST_SERVICE start"
          timeoutSeconds: 300
EOF
  step "inventory: $(tr '\n' ' ' <"$PB_INVENTORY" | tr -s ' ')"
}

# pb_run NAME PLAYBOOK [ARG...]: ansible-playbook with its output in $DMM_OUT/pb-NAME.txt and its
# exit code in pb-NAME.rc. Never fails the scenario: the test judges the recap.
pb_run() {
  local name=$1 playbook=$2 rc=0
  shift 2
  step "ansible-playbook $playbook $*"
  (
    cd "$DMM_PROJECT/playbooks"
    # Ansible refuses to start without a UTF-8 locale; PID 1's environment has none.
    env LANG=C.UTF-8 LC_ALL=C.UTF-8 HOME=/root \
      ANSIBLE_CONFIG="$DMM_PROJECT/playbooks/ansible.cfg" ANSIBLE_HOME=$PB_WORK/home \
      ANSIBLE_LOCAL_TEMP=$PB_WORK/tmp ANSIBLE_REMOTE_TEMP=$PB_WORK/tmp ANSIBLE_ASYNC_DIR=$PB_WORK/async \
      ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
      ansible-playbook -i "$PB_INVENTORY" "$playbook" "$@"
  ) >"$DMM_OUT/pb-$name.txt" 2>&1 || rc=$?
  echo "$rc" >"$DMM_OUT/pb-$name.rc"
  sed -n '/^PLAY RECAP/,$p' "$DMM_OUT/pb-$name.txt"
  step "ansible-playbook $playbook exited $rc"
}

command -v ansible-playbook >/dev/null || fail "ansible-playbook is not installed on the host (Debian's ansible-core)"
dmm_mkfs_xfs "$DMM_DISK_data" 1
dmm_mount_data_root "$DMM_DISK_data"
dmm_daemon_json_loop_lvm
dmm_dockerd_start
dmm_docker_info before
dmm_seed_workload
dmm_edit_writable_layer
dmm_check_workload
dmm_check_writable_layer
pb_write_inventory
stage seeded

pb_run preflight preflight.yml
dmm_expect_driver devicemapper
stage preflight

pb_run migrate migrate.yml
dmm_collect_run after-migrate
dmm_docker_info after
ok=1
dmm_check migrated dmm_check_workload || ok=0
dmm_check migrated dmm_check_writable_layer || ok=0
[ "$ok" = 1 ] && stage migrated

pb_run migrate-again migrate.yml
dmm_checks_passed
