#!/bin/bash
#
# stop.sh - stop everything start.sh started (each daemon's whole process group).
#   stop.sh           stop; the state in $OBS_HOME stays (logs, built binaries)
#   stop.sh --wipe    stop and delete $OBS_HOME
# Uses the same OBS_HOME as start.sh (default ${TMPDIR:-/tmp}/pkgsync-obs-backend).
#
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/common.sh"

wipe=0
case "${1:-}" in
  '') ;;
  --wipe) wipe=1 ;;
  *) die "usage: $0 [--wipe]" ;;
esac

take_lock 300
stop_all
# a stopped backend is not "seeded" any more: the next start.sh starts afresh
rm -f "$OBS_HOME/seeded" "$OBS_HOME/url"
if [ $wipe = 1 ]; then
  wipe_home
  log "removed $OBS_HOME"
fi
log "stopped"
