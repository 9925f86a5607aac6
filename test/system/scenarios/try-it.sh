#!/bin/bash
# `npm run try`: a throwaway devicemapper host to try the tool on, by hand. A loop-lvm
# devicemapper dockerd with the realistic workload of the system tests, then a shell on the
# guest's console, where `devmapper-migrate` (the wizard with `run`) can do anything it likes:
# the guest's disks are temporary files and its root a tmpfs over this machine's, read-only.
# Leaving the shell (exit, or Ctrl-D) powers the guest off; Ctrl-A X quits qemu at once.
set -eu
. "$DMM_LIB"

dmm_mkfs_xfs "$DMM_DISK_data" 1
dmm_mount_data_root "$DMM_DISK_data"
dmm_daemon_json_loop_lvm
dmm_dockerd_start
dmm_seed_workload
dmm_edit_writable_layer
dmm_answers /root/answers.yaml overlay2

cat >/root/.bashrc <<RC
PS1='dmm-guest:\w# '
devmapper-migrate() { "$DMM_NODE" "$DMM_PROJECT/dist/devmapper-migrate.mjs" "\$@"; }
export -f devmapper-migrate
RC
cat >/etc/motd <<MOTD

  A throwaway Docker host on devicemapper (loop-lvm), with images, a network, a volume
  and containers. Nothing here can touch the machine it runs on. Try:

    devmapper-migrate preflight
    devmapper-migrate inventory
    devmapper-migrate run --dry-run --answers /root/answers.yaml
    devmapper-migrate run                   # the wizard; for "How is Docker stopped and
                                            # started" pick command and give:
                                            #   stop:  $DMM_GUEST_SERVICE stop
                                            #   start: $DMM_GUEST_SERVICE start
    devmapper-migrate status; devmapper-migrate verify; devmapper-migrate rollback
    docker ps -a; docker info | grep -i 'storage driver'

  /root/answers.yaml migrates unattended (run --answers /root/answers.yaml --yes).
  exit (or Ctrl-D) powers the guest off; Ctrl-A X quits qemu at once.

MOTD

if [ -n "${DMM_TRY_COMMANDS:-}" ]; then
  # Not a person at the console (the system test of this path): run the given commands instead.
  step "try-it: running DMM_TRY_COMMANDS"
  HOME=/root bash --rcfile /root/.bashrc -ic "$DMM_TRY_COMMANDS" >"$DMM_OUT/try.txt" 2>&1 || { echo $? >"$DMM_OUT/try.rc"; exit 0; }
  echo 0 >"$DMM_OUT/try.rc"
  exit 0
fi
cat /etc/motd
# A session of its own with the serial console as its controlling terminal: job control and
# Ctrl+C work, and the wizard sees a terminal on both ends.
HOME=/root TERM=${TERM:-vt100} setsid --ctty --wait bash --rcfile /root/.bashrc -i </dev/ttyS0 >/dev/ttyS0 2>&1 || true
