#!/usr/bin/env bash
# The main job on an embedded default: builds devmapper-migrate, starts a private Docker
# daemon (storage driver vfs, standing in for devicemapper) with a small sample workload,
# runs `inventory` and `preflight` against it, migrates it to overlay2 (`run --answers --yes`),
# shows `status` and `verify`, rolls it back, and tears everything down.
# Needs root (it runs dockerd); installs Debian's docker.io, docker-registry, busybox-static
# and apache2-utils if they are missing. Nothing is pulled from the internet.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: run as root (it starts a private dockerd)" >&2
  exit 1
fi

[ -d node_modules ] || npm install --no-audit --no-fund
npm run build

mkdir -p .cache
node_modules/.bin/esbuild test/rig/rig-cli.ts --bundle --platform=node --format=esm \
  --target=node18.19 --outfile=.cache/rig-cli.mjs --log-level=warning
rig() { node .cache/rig-cli.mjs "$@"; }

rig packages
state=$(mktemp /tmp/dmm-demo-state.XXXXXX)
state_dir=$(mktemp -d /tmp/dmm-demo-statedir.XXXXXX)
cleanup() {
  status=$?
  trap - EXIT INT TERM
  echo
  echo "== tearing down"
  rig down --state "$state" --owner-pid $$ || true
  rm -rf "$state" "$state_dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== starting a private dockerd with a sample workload"
# The daemon is tied to this script: if it is killed, the next rig sweep cleans up after it.
rig up --state "$state" --sample --name demo --owner-pid $$
field() { node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(s.daemon[process.argv[2]])' "$state" "$1"; }
docker_host=$(field dockerHost)
daemon_config=$(field configFile)

tool=(node dist/devmapper-migrate.mjs --docker-host "$docker_host" --daemon-config "$daemon_config" --state-dir "$state_dir")

echo
echo "== devmapper-migrate --docker-host $docker_host inventory"
"${tool[@]}" inventory

echo
echo "== devmapper-migrate --docker-host $docker_host preflight"
set +e
"${tool[@]}" preflight
code=$?
set -e
case $code in
  0) echo "(preflight: no blockers, exit 0)" ;;
  1) echo "(preflight: blockers found, exit 1; expected on a demo host)" ;;
  *) echo "demo: preflight failed with exit $code" >&2; exit "$code" ;;
esac

# The migration itself, unattended: vfs (standing in for devicemapper) → overlay2, Docker
# stopped and started through the rig's own scripts (service.manager: command).
answers="$state_dir/answers.yaml"
cat >"$answers" <<YAML
target: overlay2
volumes:
  archive: true
service:
  manager: command
  stop: bash $(field stopScript)
  start: bash $(field startScript)
YAML
echo
echo "== devmapper-migrate run --answers $answers --yes"
"${tool[@]}" run --answers "$answers" --yes
echo
echo "== devmapper-migrate status"
"${tool[@]}" status
echo
echo "== devmapper-migrate verify"
"${tool[@]}" verify
echo
echo "== devmapper-migrate rollback --yes (back to vfs, the original inventory verified)"
"${tool[@]}" rollback --yes
