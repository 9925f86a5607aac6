#!/bin/bash
# `bash guest-dockerd.sh start|stop|restart`: the guest's docker "service", for scenarios that
# let the tool stop and start the daemon (answers file: service.manager: command, with
# start/stop set to this script). Storage settings come from /etc/docker/daemon.json.
set -eu
. "$(dirname "${BASH_SOURCE[0]}")/guest-lib.sh"
case "${1:-}" in
  start) dmm_dockerd_start ;;
  stop) dmm_dockerd_stop ;;
  restart) dmm_dockerd_stop && dmm_dockerd_start ;;
  *) echo "usage: $0 start|stop|restart" >&2; exit 2 ;;
esac
