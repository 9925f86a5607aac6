#!/bin/bash
# A stand-in for RHEL 7's docker-storage-setup (container-storage-setup.sh run without a
# subcommand: its "compatibility mode"), which docker.service wants started before dockerd.
# It follows run_docker_compatibility_code / setup_storage_compat of
# projectatomic/container-storage-setup: the same settings, the same decisions, the same
# DOCKER_STORAGE_OPTIONS lines and messages. What differs is the machine under it:
#   - files are read and written under $HOST_ROOT (the test's host root), not /;
#   - LVM is a directory per volume group ($HOST_ROOT/dev/<vg>/) and a file per thin pool
#     ($HOST_ROOT/dev/mapper/<vg>-<pool>, dm names with "-" doubled); a pool is "created" by
#     making that file, which is what finalize's `lvremove` takes away on a real host;
#   - the docker metadata directory is $DOCKER_METADATA_DIR (the rig daemon's data-root),
#     where the real one reads -g/--graph from OPTIONS or takes /var/lib/docker;
#   - growpart, root LV growth, auto-extension, container root LVs are not stood in.
set -u
root=${HOST_ROOT:?HOST_ROOT is the host root the stand-in works under}
_STORAGE_IN_FILE="$root/etc/sysconfig/docker-storage-setup"
_STORAGE_OUT_FILE="$root/etc/sysconfig/docker-storage"
_STORAGE_OPTIONS="DOCKER_STORAGE_OPTIONS"
_STORAGE_DRIVERS="devicemapper overlay overlay2"
_DOCKER_METADATA_DIR=${DOCKER_METADATA_DIR:-$root/var/lib/docker}

Info() { echo "INFO: $*" >&2; }
Error() { echo "ERROR: $*" >&2; }
Fatal() { echo "ERROR: $*" >&2; exit 1; }

# /usr/share/container-storage-setup/container-storage-setup: the defaults, then the operator's file.
STORAGE_DRIVER=devicemapper
EXTRA_STORAGE_OPTIONS=""
DEVS=""
VG=""
CONTAINER_THINPOOL=docker-pool
set +u
# shellcheck disable=SC1090
[ -e "$_STORAGE_IN_FILE" ] && source "$_STORAGE_IN_FILE"
set -u

get_current_storage_options() {
  [ -f "$_STORAGE_OUT_FILE" ] || return 0
  grep -e "^${_STORAGE_OPTIONS}=" "$_STORAGE_OUT_FILE" | sed "s/${_STORAGE_OPTIONS}=//" | sed 's/^ *//' | sed 's/^"//' | sed 's/"$//'
}

get_existing_storage_driver() {
  local options=$_CURRENT_STORAGE_OPTIONS driver
  [ -z "$options" ] && return 0
  driver=$(echo $options | sed -n 's/.*\(--storage-driver [ ]*[a-z0-9]*\).*/\1/p' | sed 's/--storage-driver *//')
  if [ -n "$driver" ] && [ ! "$driver" == "$options" ]; then echo "$driver"; return 0; fi
  driver=$(echo $options | sed -n 's/.*\(-s [ ]*[a-z][0-9]*\).*/\1/p' | sed 's/-s *//')
  if [ -n "$driver" ] && [ ! "$driver" == "$options" ]; then echo "$driver"; return 0; fi
}

is_valid_storage_driver() {
  local d
  [ -z "$1" ] && return 0
  for d in $_STORAGE_DRIVERS; do [ "$1" == "$d" ] && return 0; done
  return 1
}

pool_device_path() { echo "/dev/mapper/${VG//-/--}-${CONTAINER_THINPOOL//-/--}"; }

get_config_options() {
  if [ "$1" == "devicemapper" ]; then
    local dm_fs="--storage-opt dm.fs=xfs" storage_options
    [[ "$EXTRA_STORAGE_OPTIONS" == *dm.fs=* ]] && dm_fs=""
    # RHEL 7's kernel and docker support both (get_deferred_removal_string / _deletion_string).
    storage_options="${_STORAGE_OPTIONS}=\"--storage-driver devicemapper ${dm_fs} --storage-opt dm.thinpooldev=$(pool_device_path) --storage-opt dm.use_deferred_removal=true --storage-opt dm.use_deferred_deletion=true ${EXTRA_STORAGE_OPTIONS}\""
    echo $storage_options
    return 0
  fi
  echo "${_STORAGE_OPTIONS}=\"--storage-driver $1 ${EXTRA_STORAGE_OPTIONS}\""
}

write_storage_config_file() {
  local storage_options
  if [ -z "$1" ]; then touch "$2"; return 0; fi
  storage_options=$(get_config_options "$1") || return 1
  printf '%s\n' "$storage_options" > "$2.tmp"
  mv "$2.tmp" "$2"
}

get_configured_thin_pool() {
  local opt
  for opt in $_CURRENT_STORAGE_OPTIONS; do
    if [[ $opt =~ dm.thinpooldev* ]]; then echo "${opt#*=}"; return 0; fi
  done
}

check_existing_thinpool_compat() {
  local tpool
  tpool=$(get_configured_thin_pool)
  [ -z "$tpool" ] && return 1
  Info "Found an already configured thin pool $tpool in /etc/sysconfig/docker-storage"
  [ -e "$root$tpool" ] || Fatal "Already configured thin pool $tpool is not available. If thin pool exists and is taking longer to activate, set DEVICE_WAIT_TIMEOUT to a higher value and retry. If thin pool does not exist any more, remove /etc/sysconfig/docker-storage and retry"
  return 0
}

check_docker_storage_metadata() {
  [ ! -d "$_DOCKER_METADATA_DIR/devicemapper/metadata/" ] && return 0
  Error "Docker has been previously configured for use with devicemapper graph driver. Not creating a new thin pool as existing docker metadata will fail to work with it. Manual cleanup is required before this will succeed."
  exit 1
}

setup_lvm_thin_pool_compat() {
  check_existing_thinpool_compat && return 0
  # partition_disks_create_vg: DEVS make the volume group when it does not exist.
  if [ -n "$VG" ] && [ ! -d "$root/dev/$VG" ] && [ -n "$DEVS" ]; then mkdir -p "$root/dev/$VG"; fi
  [ -n "$VG" ] && [ -d "$root/dev/$VG" ] || Fatal "No valid volume group found. Exiting."
  if [ ! -e "$root$(pool_device_path)" ]; then
    check_docker_storage_metadata
    mkdir -p "$root/dev/mapper" && touch "$root$(pool_device_path)"
    Info "Created thin pool $VG/$CONTAINER_THINPOOL (stand-in)"
    write_storage_config_file "$STORAGE_DRIVER" "$_STORAGE_OUT_FILE"
  elif [ ! -f "$_STORAGE_OUT_FILE" ]; then
    Info "/etc/sysconfig/docker-storage file is missing. Recreating it."
    write_storage_config_file "$STORAGE_DRIVER" "$_STORAGE_OUT_FILE"
  fi
}

# setup_storage_compat
if [ "$STORAGE_DRIVER" == "" ]; then
  Info "STORAGE_DRIVER not set, no storage will be configured. You must specify STORAGE_DRIVER if you want to configure storage."
  exit 0
fi
is_valid_storage_driver "$STORAGE_DRIVER" || Fatal "Invalid storage driver: ${STORAGE_DRIVER}."
_CURRENT_STORAGE_OPTIONS=$(get_current_storage_options)
current_driver=$(get_existing_storage_driver)
if [ -n "$current_driver" ] && [ "$current_driver" != "$STORAGE_DRIVER" ]; then
  Info "Storage is already configured with ${current_driver} driver. Can't configure it with ${STORAGE_DRIVER} driver. To override, remove /etc/sysconfig/docker-storage and retry."
  check_existing_thinpool_compat || true
  exit 0
fi
if [ "$STORAGE_DRIVER" == "devicemapper" ]; then
  setup_lvm_thin_pool_compat
else
  write_storage_config_file "$STORAGE_DRIVER" "$_STORAGE_OUT_FILE"
fi
