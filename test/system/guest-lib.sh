#!/bin/bash
# Shell helpers for system-test scenarios, sourced inside the guest:
#   . "$DMM_LIB"            (set by guest-init.sh from the harness's env.sh)
# The guest is this machine's root under a tmpfs overlay, with a device-mapper kernel and no
# udev. Results go to $DMM_OUT (a share the test reads after the guest powered off).
# Every helper prints a step line and fails loudly; scenarios run with `set -eu`.

DMM_T0=${DMM_T0:-$(cut -d' ' -f1 /proc/uptime)}
# Exported: guest-dockerd.sh, run by the tool as the service's start/stop, prints on the same clock.
export DMM_T0
DMM_DOCKER_PIDFILE=/run/dmm-dockerd.pid
DMM_DOCKER_LOG=${DMM_OUT:-/tmp}/dockerd.log
export DOCKER_BUILDKIT=0
export DOCKER_HOST=unix:///var/run/docker.sock

# Debian's 20.10 client, not the newer one first on PATH (/usr/local/bin/docker).
docker() { /usr/bin/docker "$@"; }

# Prints "==> [  12.3s] text": the console is the test log.
step() {
  local now
  now=$(cut -d' ' -f1 /proc/uptime)
  awk -v a="$now" -v b="$DMM_T0" -v m="$*" 'BEGIN { printf "==> [%6.1fs] %s\n", a - b, m }'
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Node from the host (on the 9p root) running the project's single-file build.
# DMM_TOOL_BUNDLE: another single-file build to run instead (default: the project's dist/).
dmm_tool() { "${DMM_NODE:-node}" "${DMM_TOOL_BUNDLE:-$DMM_PROJECT/dist/devmapper-migrate.mjs}" "$@"; }

# dmm_tool_saved FILE ARG...: runs the tool with ARG..., keeping its stdout in $DMM_OUT/FILE
# (e.g. preflight.json) and its stderr and exit code in <base>.stderr and <base>.rc for the
# test to assert on. It never fails the scenario itself.
dmm_tool_saved() {
  local file=$1 base=${1%.*} rc=0 t0 t1
  shift
  step "devmapper-migrate $*"
  t0=$(cut -d' ' -f1 /proc/uptime)
  dmm_tool "$@" >"$DMM_OUT/$file" 2>"$DMM_OUT/$base.stderr" || rc=$?
  t1=$(cut -d' ' -f1 /proc/uptime)
  echo "$rc" >"$DMM_OUT/$base.rc"
  awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.1f\n", a - b }' >"$DMM_OUT/$base.seconds"
  head -c 4000 "$DMM_OUT/$base.stderr"
  step "devmapper-migrate $1 exited $rc after $(cat "$DMM_OUT/$base.seconds") s"
}

# dmm_mkfs_xfs DEVICE FTYPE: xfs with d_type (ftype=1) or without (ftype=0, needs the v4 format).
dmm_mkfs_xfs() {
  local dev=$1 ftype=$2
  step "mkfs.xfs ftype=$ftype on $dev"
  if [ "$ftype" = 0 ]; then
    mkfs.xfs -q -f -m crc=0 -n ftype=0 "$dev"
  else
    mkfs.xfs -q -f -n ftype=1 "$dev"
  fi
}

# dmm_mount_data_root DEVICE [DIR]: the Docker data-root on its own disk, as on real hosts.
dmm_mount_data_root() {
  local dev=$1 dir=${2:-/var/lib/docker}
  step "mount $dev on $dir"
  mkdir -p "$dir"
  mount "$dev" "$dir"
  xfs_info "$dir" 2>/dev/null | grep -o 'ftype=[01]' || true
}

# dmm_daemon_json_loop_lvm [EXTRA_OPT...]: devicemapper on loop files (Docker's default mode).
# No udev in the guest: devicemapper refuses to start without dm.override_udev_sync_check.
dmm_daemon_json_loop_lvm() {
  local opts='"dm.override_udev_sync_check=true"' o
  for o in "$@"; do opts="$opts, \"$o\""; done
  mkdir -p /etc/docker
  printf '{\n  "storage-driver": "devicemapper",\n  "storage-opts": [%s]\n}\n' "$opts" >/etc/docker/daemon.json
  step "daemon.json (loop-lvm): $(tr -d '\n' </etc/docker/daemon.json)"
}

# dmm_daemon_json_direct_lvm [POOL]: devicemapper on a thin pool LV, per Docker's docs.
dmm_daemon_json_direct_lvm() {
  local pool=${1:-/dev/mapper/docker-thinpool}
  mkdir -p /etc/docker
  cat >/etc/docker/daemon.json <<EOF
{
  "storage-driver": "devicemapper",
  "storage-opts": [
    "dm.thinpooldev=$pool",
    "dm.use_deferred_removal=true",
    "dm.use_deferred_deletion=true",
    "dm.override_udev_sync_check=true"
  ]
}
EOF
  step "daemon.json (direct-lvm): $(tr -d '\n' </etc/docker/daemon.json)"
}

# dmm_direct_lvm_pool DEVICE [VG]: the thin pool from Docker's "configure direct-lvm mode
# manually" instructions (docs.docker.com, devicemapper storage driver).
dmm_direct_lvm_pool() {
  local dev=$1 vg=${2:-docker}
  step "direct-lvm: thin pool $vg/thinpool on $dev"
  pvcreate -q "$dev"
  vgcreate -q "$vg" "$dev"
  lvcreate -q --wipesignatures y -n thinpool "$vg" -l 95%VG
  lvcreate -q --wipesignatures y -n thinpoolmeta "$vg" -l 1%VG
  lvconvert -q -y --zero n -c 512K --thinpool "$vg/thinpool" --poolmetadata "$vg/thinpoolmeta"
  mkdir -p /etc/lvm/profile
  cat >/etc/lvm/profile/docker-thinpool.profile <<'EOF'
activation {
  thin_pool_autoextend_threshold=80
  thin_pool_autoextend_percent=20
}
EOF
  lvchange -q --metadataprofile docker-thinpool "$vg/thinpool"
  lvchange -q --monitor y "$vg/thinpool" || echo "warning: lvchange --monitor failed (dmeventd)"
  lvs -o+seg_monitor "$vg"
}

# dmm_dockerd_start: Debian's dockerd, storage settings from /etc/docker/daemon.json (where the
# tool looks for them); only host-wiring flags on the command line. Waits until it answers.
dmm_dockerd_start() {
  local i from
  step "start dockerd"
  mkdir -p /etc/docker
  from=$(stat -c %s "$DMM_DOCKER_LOG" 2>/dev/null || echo 0)
  # No iptables in this guest; bridges, static IPs and docker-proxy port bindings still work.
  # DMM_DOCKERD_ARGS: extra flags (a scenario that needs dockerd to refuse a configuration).
  # shellcheck disable=SC2086
  setsid /usr/sbin/dockerd -H unix:///var/run/docker.sock --pidfile "$DMM_DOCKER_PIDFILE" \
    --iptables=false --ip-masq=false ${DMM_DOCKERD_ARGS:-} >>"$DMM_DOCKER_LOG" 2>&1 </dev/null &
  for i in $(seq 1 240); do
    if docker version >/dev/null 2>&1; then
      step "dockerd answers ($(docker version --format 'engine {{.Server.Version}}, API {{.Server.APIVersion}}'))"
      return 0
    fi
    if ! kill -0 $! 2>/dev/null; then break; fi
    sleep 0.5
  done
  sleep 1
  # This start's part of the log: dockerd's reason first, then the last lines without
  # containerd's chatter (gRPC, plugin loading), which says nothing about why.
  echo "dockerd did not come up:" >&2
  tail -c +$((from + 1)) "$DMM_DOCKER_LOG" | grep -E 'failed to start daemon|unable to configure|level=(fatal|error)' | tail -n 5 >&2
  echo "its last log lines:" >&2
  tail -c +$((from + 1)) "$DMM_DOCKER_LOG" | grep -v -E 'module=grpc|loading plugin' | tail -n 8 >&2
  return 1
}

# dmm_dockerd_stop: stop the daemon and wait for it (containers stop with it).
dmm_dockerd_stop() {
  local pid i
  [ -f "$DMM_DOCKER_PIDFILE" ] || return 0
  pid=$(cat "$DMM_DOCKER_PIDFILE")
  step "stop dockerd (pid $pid)"
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 1 240); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  fail "dockerd did not stop in 120 s"
}

# dmm_docker_info LABEL: print the storage part of `docker info` on the console and save the
# whole of it as JSON in $DMM_OUT/docker-info-LABEL.json for the test to assert on.
dmm_docker_info() {
  local label=$1
  step "docker info ($label)"
  docker info --format '{{json .}}' >"$DMM_OUT/docker-info-$label.json"
  docker info 2>/dev/null | awk -v l="$label" '
    /^ Storage Driver:/ { on = 1 }
    /^ Logging Driver:/ { on = 0 }
    on { print "docker-info[" l "]:" $0 }'
}

# dmm_seed_images: images made offline (no registry): a busybox root imported, then built on.
dmm_seed_images() {
  local ctx
  step "seed images: docker import of the busybox root"
  docker import -c 'CMD ["/bin/sh"]' "$DMM_KIT/busybox-root.tar" dmm/busybox:1.35 >/dev/null
  docker tag dmm/busybox:1.35 dmm/busybox:latest
  ctx=$(mktemp -d)
  mkdir -p "$ctx/www"
  echo '<h1>dmm web</h1>' >"$ctx/www/index.html"
  cat >"$ctx/Dockerfile" <<'EOF'
FROM dmm/busybox:1.35
COPY www /var/www
ENV GREETING=hello
LABEL org.example.app=web
CMD ["httpd", "-f", "-p", "80", "-h", "/var/www"]
EOF
  step "seed images: build app/web:1.0"
  docker build -q -t app/web:1.0 "$ctx" >/dev/null
  docker tag app/web:1.0 app/web:latest
  docker tag app/web:1.0 registry.example.com:5000/team/web:1.0
  rm -rf "$ctx"
}

# dmm_seed_workload: a small but realistic host: several tags, a network with a subnet, a
# container with a static IP, a named volume with files, a running and a stopped container.
dmm_seed_workload() {
  dmm_seed_images
  step "seed workload: network, volume, containers"
  docker network create --driver bridge --subnet 172.28.5.0/24 --gateway 172.28.5.1 \
    --label org.example.tier=front appnet >/dev/null
  docker volume create --label org.example.keep=yes appdata >/dev/null
  docker run --rm -v appdata:/data dmm/busybox:1.35 sh -c '
    echo "volume payload" >/data/payload.txt && mkdir -p /data/sub && echo nested >/data/sub/n.txt &&
    chmod 0640 /data/payload.txt && chown 1234:5678 /data/sub/n.txt &&
    ln -s payload.txt /data/link && touch -d "2021-03-04 05:06:07" /data/payload.txt'
  docker run -d --name web --network appnet --ip 172.28.5.10 --network-alias www \
    -v appdata:/data -e MODE=prod --label org.example.role=frontend \
    --restart unless-stopped -p 127.0.0.1:8080:80 app/web:1.0 >/dev/null
  docker run --name job --label org.example.role=batch dmm/busybox:1.35 \
    sh -c 'echo "written in the writable layer" >/job-output.txt' >/dev/null
  docker ps -a --format 'container {{.Names}}: {{.Image}} {{.Status}}'
  docker images --format 'image {{.Repository}}:{{.Tag}} {{.ID}}'
}

# dmm_check_workload: the workload is there and intact (after seeding, or after a migration).
# Few docker invocations: each client start costs about a second under TCG.
dmm_check_workload() {
  local got want
  step "check workload"
  got=$(docker inspect -f '{{.Name}} {{.State.Running}} {{(index .NetworkSettings.Networks "appnet").IPAddress}} {{.HostConfig.RestartPolicy.Name}}' web)
  want="/web true 172.28.5.10 unless-stopped"
  [ "$got" = "$want" ] || fail "web: got '$got', want '$want'"
  got=$(docker inspect -f '{{.Name}} {{.State.Running}} {{.State.ExitCode}}' job)
  [ "$got" = "/job false 0" ] || fail "job: got '$got', want '/job false 0'"
  got=$(docker exec web sh -c 'cat /data/payload.txt; readlink /data/link; stat -c "%a %Y" /data/payload.txt;
    stat -c "%u:%g" /data/sub/n.txt; cat /data/sub/n.txt; wget -q -O - http://127.0.0.1/' | tr '\n' '|')
  want='volume payload|payload.txt|640 1614834367|1234:5678|nested|<h1>dmm web</h1>|'
  [ "$got" = "$want" ] || fail "web's volume or service differs: got '$got', want '$want'"
  busybox wget -q -O - http://127.0.0.1:8080/ | grep -q 'dmm web' || { dmm_net_facts; fail "web's port binding 127.0.0.1:8080 does not answer"; }
  docker cp job:/job-output.txt - | tar -xO | grep -q 'writable layer' || fail "job's writable layer lost"
  docker image inspect -f '{{.Id}}' dmm/busybox:1.35 dmm/busybox:latest app/web:1.0 app/web:latest \
    registry.example.com:5000/team/web:1.0 >/dev/null || fail "an image or tag is missing"
  step "workload intact"
}

# dmm_snapshot LABEL: what "nothing changed" is checked against (ids, states, config, mounts).
dmm_snapshot() {
  local label=$1 f=$DMM_OUT/snapshot-$1.txt
  step "snapshot ($label)"
  {
    echo "# driver"; docker info --format '{{.Driver}}'
    echo "# images"; docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' | sort
    echo "# containers"; docker ps -a --no-trunc --format '{{.Names}} {{.ID}} {{.Image}} {{.State}}' | sort
    echo "# volumes"; docker volume ls -q | sort
    echo "# networks"; docker network ls -q --no-trunc | sort
    echo "# daemon.json"; cat /etc/docker/daemon.json
    echo "# data-root"; (cd /var/lib/docker && ls -A)
    echo "# mounts"; awk '$2 ~ /^\/var\/lib\/docker/ { print $1, $2, $3 }' /proc/mounts | sort
    echo "# lvs"; lvs --noheadings -o vg_name,lv_name,lv_attr 2>/dev/null | sort
  } >"$f"
}

# ---- Runs of the tool (issue 7, scenarios 1-5) ----

DMM_STATE_DIR=/var/lib/devmapper-migrate
DMM_GUEST_SERVICE="bash $DMM_PROJECT/test/system/guest-dockerd.sh"

# dmm_answers FILE TARGET [START_COMMAND [YAML_LINE...]]: an answers file for an unattended run
# with the `command` service manager (guest-dockerd.sh stop/start; no systemd in the guest).
dmm_answers() {
  local file=$1 target=$2 start=${3:-"$DMM_GUEST_SERVICE start"} line
  shift 2
  if [ $# -gt 0 ]; then shift; fi
  {
    echo "target: $target"
    echo "service:"
    echo "  manager: command"
    echo "  stop: \"$DMM_GUEST_SERVICE stop\""
    echo "  start: \"$start\""
    echo "  timeoutSeconds: 300"
    for line in "$@"; do echo "$line"; done
  } >"$file"
  step "answers $file: $(tr '\n' ' ' <"$file")"
}

# dmm_expect_driver DRIVER: the daemon runs on DRIVER (fails the scenario otherwise).
dmm_expect_driver() {
  local got
  got=$(docker info --format '{{.Driver}}')
  [ "$got" = "$1" ] || fail "docker info: storage driver $got, want $1"
  step "storage driver is $1"
}

# dmm_expect_rc NAME WANT: the exit code dmm_tool_saved kept for NAME is WANT.
dmm_expect_rc() {
  local got
  got=$(cat "$DMM_OUT/$1.rc")
  [ "$got" = "$2" ] || fail "devmapper-migrate ($1) exited $got, want $2 (see $1.stderr)"
}

# dmm_edit_writable_layer: web changes a file of its image (copy-up) and adds one, in its
# writable layer, on top of job's file (dmm_seed_workload).
dmm_edit_writable_layer() {
  step "edit web's writable layer"
  docker exec web sh -c 'echo "dmm:x:1000:1000::/tmp:/bin/sh" >>/etc/passwd && mkdir -p /srv/state && echo kept >/srv/state/added.txt'
}

# dmm_check_writable_layer: what dmm_edit_writable_layer wrote is there.
dmm_check_writable_layer() {
  local got
  got=$(docker exec web sh -c 'grep -c "^dmm:x:1000" /etc/passwd; cat /srv/state/added.txt' | tr '\n' '|')
  [ "$got" = "1|kept|" ] || fail "web's writable layer differs: got '$got', want '1|kept|'"
  step "web's writable layer intact"
}

# dmm_collect_run LABEL: the current run's files (log, report, state) into $DMM_OUT/run-LABEL/,
# for the test log when something went wrong. Never fails.
dmm_collect_run() {
  local label=$1 id dir
  id=$(cat "$DMM_STATE_DIR/current" 2>/dev/null) || return 0
  dir=$DMM_STATE_DIR/runs/$id
  mkdir -p "$DMM_OUT/run-$label"
  for f in run.log report.txt report.json state.json; do
    [ -f "$dir/$f" ] && cp "$dir/$f" "$DMM_OUT/run-$label/" 2>/dev/null
  done
  return 0
}

# dmm_host_facts LABEL: what the data-root, LVM and loop devices look like, into $DMM_OUT/facts-LABEL.txt.
dmm_host_facts() {
  local f=$DMM_OUT/facts-$1.txt
  {
    echo "# daemon.json"; cat /etc/docker/daemon.json 2>/dev/null
    echo "# data-root"; ls -A /var/lib/docker
    echo "# lvs"; lvs --noheadings -o vg_name,lv_name,lv_attr,devices,lv_tags 2>/dev/null
    echo "# vgs"; vgs --noheadings -o vg_name,vg_tags 2>/dev/null
    echo "# pvs"; pvs --noheadings -o pv_name,vg_name 2>/dev/null
    echo "# loop devices"; losetup -a 2>/dev/null
    echo "# dmsetup"; dmsetup ls 2>/dev/null
    echo "# bridges"; ip -br addr show type bridge 2>/dev/null
  } >"$f" 2>&1
  sed "s/^/facts[$1]: /" "$f"
}

# dmm_net_facts: why the host cannot reach a container (bridges, routes, the published port).
dmm_net_facts() {
  step "network facts"
  ip -br addr show type bridge 2>&1 | sed 's/^/net: /'
  ip route 2>&1 | sed 's/^/net: route /'
  docker network ls --no-trunc --format 'net: network {{.Name}} {{.ID}}' 2>&1
  docker port web 2>&1 | sed 's/^/net: web port /'
  docker inspect -f 'net: web ip {{(index .NetworkSettings.Networks "appnet").IPAddress}} state {{.State.Status}}' web 2>&1
  return 0
}

# dmm_check LABEL COMMAND...: runs a check (e.g. dmm_check_workload) in a subshell with `set -e`;
# a failure is written to $DMM_OUT/check-failures.txt ("LABEL: FAIL message") and returns 1
# without ending the scenario, so that the later parts of a scenario still run and report.
# Scenarios end with dmm_checks_passed.
dmm_check() {
  local label=$1 rc msg err=/tmp/dmm-check.err
  shift
  set +e
  (set -e; "$@") 2>"$err"
  rc=$?
  set -e
  cat "$err" >&2
  [ "$rc" = 0 ] && return 0
  msg=$(grep 'FAIL: ' "$err" | tail -n 1)
  echo "$label: ${msg:-exit $rc}" >>"$DMM_OUT/check-failures.txt"
  step "check failed ($label)"
  return 1
}

# dmm_checks_passed: fails the scenario when a dmm_check failed on the way.
dmm_checks_passed() {
  if [ -s "$DMM_OUT/check-failures.txt" ]; then
    fail "checks failed: $(tr '\n' ';' <"$DMM_OUT/check-failures.txt")"
  fi
  step "every check passed"
}

# ---- Engine 26 after a migration (issue 21) ----

# dmm_engine_swap 26|20.10: the guest's installed engine becomes the kit's Engine 26 (Debian
# trixie's dockerd and docker-proxy, bind-mounted over /usr/sbin's), or Debian's 20.10 again,
# as a package upgrade or downgrade would leave it: `dockerd` on PATH, guest-dockerd.sh and the
# tool all see the swapped binary. The machine's own files are untouched (the guest's root is
# an overlay). Run it with the daemon stopped.
dmm_engine_swap() {
  local bin
  for bin in dockerd docker-proxy; do
    while mountpoint -q "/usr/sbin/$bin"; do umount "/usr/sbin/$bin"; done
    if [ "$1" = 26 ]; then mount --bind "$DMM_KIT/engine26/$bin" "/usr/sbin/$bin"; fi
  done
  step "installed engine: $(/usr/sbin/dockerd --version)"
}

# dmm_engine_state LABEL: what the upgrade must keep, as the daemon reports it, into
# $DMM_OUT/engine-LABEL/: server version, `docker inspect` of every container, network, volume
# and image, and every file under the volumes' _data (type, mode, owner, mtime, size, link
# target, md5). The test compares two of them.
dmm_engine_state() {
  local d=$DMM_OUT/engine-$1
  step "engine state ($1)"
  mkdir -p "$d"
  docker version --format '{{.Server.Version}}' >"$d/version.txt"
  # shellcheck disable=SC2046
  {
    docker container inspect $(docker ps -aq) >"$d/containers.json"
    docker network inspect $(docker network ls -q) >"$d/networks.json"
    docker volume inspect $(docker volume ls -q) >"$d/volumes.json"
    docker image inspect $(docker images -q | sort -u) >"$d/images.json"
  }
  (
    cd /var/lib/docker/volumes
    find . -path './*/_data*' -printf '%p %y %m %U:%G %T@ %s %l\n' | LC_ALL=C sort
    find . -path './*/_data/*' -type f -exec md5sum {} + | LC_ALL=C sort -k2
  ) >"$d/volume-files.txt"
}
