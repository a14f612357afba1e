# shellcheck shell=bash disable=SC2034
# common.sh - settings and helpers shared by start.sh and stop.sh (sourced, not run).

OBS_HOME="${OBS_HOME:-${TMPDIR:-/tmp}/pkgsync-obs-backend}"
OBS_SRC_PORT="${OBS_SRC_PORT:-15352}"
OBS_REP_PORT="${OBS_REP_PORT:-15252}"
PIDS="$OBS_HOME/pids"
LOGS="$OBS_HOME/log"
# only a directory holding this file is ours to wipe
MARKER="$OBS_HOME/.pkgsync-obs-backend"
# beside OBS_HOME, not in it, so that it survives a wipe
LOCK="$OBS_HOME.lock"

ME="$(basename "$0")"
T0="${EPOCHREALTIME/./}"
log() {
  local us=$(( ${EPOCHREALTIME/./} - T0 ))
  printf '[%s %3d.%ds] %s\n' "$ME" $((us / 1000000)) $((us / 100000 % 10)) "$*" >&2
}
die() { echo "$ME: ERROR: $*" >&2; exit 1; }

# Serialise start.sh and stop.sh: tests may call start.sh from several
# processes at once; the later ones wait and then find the backend running.
take_lock() {
  exec 9>"$LOCK" || die "cannot create lock file $LOCK"
  flock -w "${1:-900}" 9 || die "timed out waiting for $LOCK (another start.sh or stop.sh)"
}

# proc_stat PID: STAT = the fields of /proc/PID/stat after "pid (comm)":
# STAT[0] = state, STAT[2] = process group, STAT[19] = start time
proc_stat() {
  local s
  { read -r s < "/proc/$1/stat"; } 2> /dev/null || return 1
  read -ra STAT <<< "${s##*) }"
}

# A pid file holds "PID STARTTIME"; the start time guards against a reused pid.
# Prints the pid when that process is still there (a zombie counts as gone).
daemon_pid() {
  local f="$PIDS/$1.pid" pid start
  [ -r "$f" ] || return 1
  read -r pid start < "$f" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && proc_stat "$pid" || return 1
  [ "${STAT[19]}" = "$start" ] && [ "${STAT[0]}" != Z ] || return 1
  echo "$pid"
}

# groups_alive PGID... : is any process left in one of these process groups?
# (zombies count only with ZOMBIES=1: they are gone once init has reaped them)
groups_alive() {
  local f g
  for f in /proc/[0-9]*/stat; do
    f=${f#/proc/}
    proc_stat "${f%/stat}" || continue
    [ "${STAT[0]}" = Z ] && [ "${ZOMBIES:-0}" != 1 ] && continue
    for g in "$@"; do [ "${STAT[2]}" = "$g" ] && return 0; done
  done
  return 1
}

# Every daemon is started as the leader of its own session and process group
# (setsid), so signalling the group also reaches the children the servers fork
# (request handlers, the AJAX helper, rpmbuild). All groups are stopped together.
stop_all() {
  local f name pid sig groups=() names=()
  for f in "$PIDS"/*.pid; do
    [ -e "$f" ] || continue
    name="$(basename "$f" .pid)"
    if pid=$(daemon_pid "$name"); then
      groups+=("$pid")
      names+=("$name")
    fi
  done
  if [ ${#groups[@]} -gt 0 ]; then
    for sig in TERM KILL; do
      for pid in "${groups[@]}"; do kill -"$sig" -- "-$pid" 2> /dev/null || true; done
      for _ in $(seq 50); do groups_alive "${groups[@]}" || break; sleep 0.1; done
      groups_alive "${groups[@]}" || break
    done
    groups_alive "${groups[@]}" && die "could not stop process groups ${groups[*]} (${names[*]})"
    # give init a moment to reap them, so that ps right after stop.sh shows nothing
    for _ in $(seq 30); do ZOMBIES=1 groups_alive "${groups[@]}" || break; sleep 0.1; done
    log "stopped ${names[*]}"
  fi
  rm -f "$PIDS"/*.pid
}

wipe_home() {
  [ -e "$OBS_HOME" ] || return 0
  if [ -e "$MARKER" ] || [ -z "$(ls -A "$OBS_HOME")" ]; then
    rm -rf "$OBS_HOME"
  else
    die "$OBS_HOME exists and was not created by start.sh; refusing to delete it (set OBS_HOME)"
  fi
}
