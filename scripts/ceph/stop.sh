#!/usr/bin/env bash
# Stops the cluster that scripts/ceph/start.sh started in DIR: only the processes named by its pid
# files (gateway, OSD, monitor, in that order), each waited for. Keeps DIR unless --clean.
set -uo pipefail
clean=false
[ "${1:-}" = --clean ] && { clean=true; shift; }
dir="${1:-${SERVAL_CEPH_DIR:-/tmp/serval-ceph-${USER:-$(id -un)}}}"
[ -d "$dir" ] || { echo "ceph: nothing to stop in $dir" >&2; exit 0; }

stop_pid_file() {
  local file="$dir/$1.pid" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2> /dev/null && kill -KILL "$pid"
  fi
  rm -f "$file"
}
for daemon in rgw osd mon; do stop_pid_file "$daemon"; done
echo "ceph: stopped the cluster in $dir" >&2
if $clean; then rm -rf "$dir"; fi
