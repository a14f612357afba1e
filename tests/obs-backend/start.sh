#!/bin/bash
#
# start.sh - run the real OBS backend (Debian bookworm's obs-server 2.9.4) on
# 127.0.0.1, seeded with the project home:pkgsync:test, for integration tests.
# See README.md beside this file for the scenario.
#
#   start.sh                 install what is missing, start, seed, wait until settled
#   start.sh --install-only  only the apt-get part (e.g. a separate CI step)
#
# Environment: OBS_HOME (state; default ${TMPDIR:-/tmp}/pkgsync-obs-backend),
# OBS_SRC_PORT (15352), OBS_REP_PORT (15252), OBS_SETTLE_TIMEOUT (seconds, 120),
# OBS_PUBLISH=0 (skip bs_publish: pkgsync reads the build area, but publishing
# costs well under a second and gives the real "published" repository state).
#
# Progress goes to stderr; stdout gets exactly one line, the last one:
#   OBS_BACKEND_URL=http://127.0.0.1:<OBS_SRC_PORT>
# which is also written to $OBS_HOME/url. Any failure exits non-zero.
# Already running, healthy and seeded with the current scenario: prints the URL at once.
#
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/common.sh"

SETTLE_TIMEOUT="${OBS_SETTLE_TIMEOUT:-120}"
OBS_PUBLISH="${OBS_PUBLISH:-1}"
PROJECT=home:pkgsync:test
ARCHS=(x86_64 aarch64)
PACKAGES=(hello world multi hello-link broken)
APT_PACKAGES=(obs-server rpm createrepo-c dpkg-dev curl)
OBS_CODE=/usr/lib/obs/server
SRC="http://127.0.0.1:$OBS_SRC_PORT"
REP="http://127.0.0.1:$OBS_REP_PORT"
CODE="$OBS_HOME/code"   # overlay of $OBS_CODE with our own BSConfig.pm
DATA="$OBS_HOME/srv"    # what /srv/obs is on a real OBS

DAEMONS=(srcserver repserver)
for a in "${ARCHS[@]}"; do DAEMONS+=("scheduler_$a" "fakeworker_$a"); done
[ "$OBS_PUBLISH" = 1 ] && DAEMONS+=(publisher)

install_only=0
case "${1:-}" in
  '') ;;
  --install-only) install_only=1 ;;
  *) die "usage: $0 [--install-only]" ;;
esac

# ------------------------------------------------------------------ install
install_packages() {
  local need=() p rc=0
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
  done
  [ ${#need[@]} = 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "packages missing (${need[*]}) and not root, so cannot apt-get install them"
  log "installing ${need[*]} (apt-get)"
  # obs-server's postinst would start the system-wide OBS daemons (0.0.0.0:5352,
  # 5252, ...); a policy-rc.d that says "no" keeps every service down.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary, from pkgsync tests/obs-backend/start.sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT   # also when interrupted
  fi
  local apt_log="${TMPDIR:-/tmp}/pkgsync-obs-backend-apt.log" try
  : > "$apt_log"
  # a second try rides out a mirror hiccup
  for try in 1 2; do
    rc=0
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"; } \
      >> "$apt_log" 2>&1 || rc=$?
    if [ $rc = 0 ] || [ $try = 2 ]; then break; fi
    log "apt-get failed (exit $rc), trying once more"
    sleep 5
  done
  if [ -n "$(trap -p EXIT)" ]; then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
  if [ $rc != 0 ]; then
    tail -n 25 "$apt_log" >&2
    die "apt-get install ${need[*]} failed (exit $rc; full log: $apt_log)"
  fi
  log "installed ${need[*]}"
}

take_lock
install_packages
[ $install_only = 1 ] && { log "packages installed"; exit 0; }
for tool in "$OBS_CODE/bs_srcserver" /usr/bin/rpmbuild /usr/bin/dpkg-deb; do
  [ -x "$tool" ] || die "$tool is missing although its package is installed"
done
for tool in curl python3 perl setsid flock; do
  command -v "$tool" > /dev/null || die "$tool not found"
done

# ------------------------------------------------------------------ already running?
# The fingerprint covers everything that defines the scenario, so a backend that
# was seeded by an older version of these files is restarted, not reused.
fingerprint="$(cd "$HERE" && find seed start.sh common.sh fake-worker.pl bind-loopback.pl -type f -print0 \
  | sort -z | xargs -0 md5sum | md5sum | cut -d' ' -f1) $SRC publish=$OBS_PUBLISH"
healthy() {
  local d
  [ "$(cat "$OBS_HOME/seeded" 2>/dev/null)" = "$fingerprint" ] || return 1
  for d in "${DAEMONS[@]}"; do daemon_pid "$d" > /dev/null || return 1; done
  curl -sf -o /dev/null --max-time 5 "$SRC/source/$PROJECT/_meta" || return 1
  curl -sf -o /dev/null --max-time 5 "$REP/" || return 1
}
if healthy; then
  log "already running and seeded ($OBS_HOME)"
  echo "OBS_BACKEND_URL=$SRC"
  exit 0
fi

# ------------------------------------------------------------------ fresh state
stop_all   # what is left of an earlier start, if anything
for port in "$OBS_SRC_PORT" "$OBS_REP_PORT"; do
  if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
    die "port $port on 127.0.0.1 is taken by another program; set OBS_SRC_PORT / OBS_REP_PORT"
  fi
done
wipe_home
mkdir -p "$OBS_HOME" "$CODE" "$LOGS" "$PIDS"
touch "$MARKER"
chmod 755 "$OBS_HOME"
# As root (CI) the servers drop privileges to obsrun, which then must reach $DATA;
# otherwise they simply run as the caller.
if [ "$(id -u)" = 0 ]; then
  runuser -u obsrun -- test -x "$OBS_HOME" \
    || die "user obsrun cannot enter $OBS_HOME (a parent directory lacks o+x); set OBS_HOME or TMPDIR"
  run_as="our \$bsuser = 'obsrun';
our \$bsgroup = 'obsrun';"
else
  run_as="# not started as root: the daemons run as $(id -un)"
fi

# The bs_* programs put their own directory first in @INC, so a directory of
# symlinks to $OBS_CODE plus our own BSConfig.pm gives a private configuration
# without touching /etc/obs.
for f in "$OBS_CODE"/*; do
  [ "${f##*/}" = BSConfig.pm ] || ln -s "$f" "$CODE/"
done
cat > "$CODE/BSConfig.pm" <<EOF
# generated by pkgsync tests/obs-backend/start.sh
package BSConfig;
our \$bsdir = '$DATA';
our \$srcserver = '$SRC';
our \$reposerver = '$REP';
$run_as
# the worker API (/putjob, ...) needs the 'worker' right; only loopback talks to us
our \$ipaccess = { '127\\.0\\.0\\.1' => 'rw,worker' };
our \$obsname = 'pkgsync-test';
# sources are stored once, no shared trees between projects
our \$nosharedtrees = 2;
# for bs_publish: Debian ships createrepo_c, not createrepo
our \$createrepo = 'createrepo_c';
our \$modifyrepo = 'modifyrepo_c';
1;
EOF

# From here on, a failure stops whatever was started and shows the logs.
ok=0
on_exit() {
  [ $ok = 1 ] && return
  local f
  for f in "$LOGS"/*.log; do
    [ -s "$f" ] || continue
    echo "----- last lines of $f" >&2
    tail -n 15 "$f" >&2
  done
  stop_all
  echo "$ME: FAILED; the state is kept in $OBS_HOME" >&2
}
trap on_exit EXIT

# ------------------------------------------------------------------ daemons
# start_daemon NAME COMMAND...: its own session (pid = process group, see stop_daemon),
# output to $LOGS/NAME.log, and neither our stdout (a test's pipe) nor the lock fd.
start_daemon() {
  local name=$1 pid
  shift
  setsid "$@" < /dev/null > "$LOGS/$name.log" 2>&1 9>&- &
  pid=$!
  # setsid execs in place (we are not a group leader), so pid = process group once it ran;
  # the start time makes the pid file unambiguous
  for _ in $(seq 20); do
    proc_stat "$pid" && [ "${STAT[2]}" = "$pid" ] && break
    sleep 0.05
  done
  [ "${STAT[2]:-}" = "$pid" ] || die "could not start $name"
  echo "$pid ${STAT[19]}" > "$PIDS/$name.pid"
}
wait_http() {
  for _ in $(seq 100); do
    curl -sf -o /dev/null --max-time 2 "$1/" && return 0
    sleep 0.1
  done
  die "$1 did not answer within 10s (see $LOGS)"
}

start_daemon srcserver perl "$HERE/bind-loopback.pl" 127.0.0.1 "$OBS_SRC_PORT" "$CODE/bs_srcserver"
start_daemon repserver perl "$HERE/bind-loopback.pl" 127.0.0.1 "$OBS_REP_PORT" "$CODE/bs_repserver"
wait_http "$SRC"
wait_http "$REP"
for a in "${ARCHS[@]}"; do
  start_daemon "scheduler_$a" "$CODE/bs_sched" "$a"
  start_daemon "fakeworker_$a" perl -I"$CODE" -I"$CODE/build" "$HERE/fake-worker.pl" "$OBS_HOME/work" "$a"
done
[ "$OBS_PUBLISH" = 1 ] && start_daemon publisher "$CODE/bs_publish"
log "started ${DAEMONS[*]} (source server $SRC, repository server $REP)"

# ------------------------------------------------------------------ seed
api() {  # api METHOD PATH CURL-ARGS...: anything but HTTP 200 is fatal
  local method=$1 path=$2 code
  shift 2
  code=$(curl -sS -o "$OBS_HOME/api.out" -w '%{http_code}' -X "$method" "$@" "$SRC$path") \
    || die "$method $path: curl failed"
  [ "$code" = 200 ] || die "$method $path: HTTP $code: $(cat "$OBS_HOME/api.out")"
}
q="user=pkgsync-tests&comment=seeded+by+start.sh"
# The project first without repositories, so that nothing is scheduled while the
# sources trickle in; the full _meta at the end starts one round that builds all.
sed '/<repository /,/<\/repository>/d' "$HERE/seed/_meta" > "$OBS_HOME/meta-norepos.xml"
api PUT "/source/$PROJECT/_meta?$q" --data-binary "@$OBS_HOME/meta-norepos.xml"
api PUT "/source/$PROJECT/_config?$q" --data-binary "@$HERE/seed/_config"
for pkg in "${PACKAGES[@]}"; do
  api PUT "/source/$PROJECT/$pkg/_meta?$q" --data-binary \
    "<package name=\"$pkg\" project=\"$PROJECT\"><title>$pkg</title><description>pkgsync test package $pkg</description></package>"
  # like osc commit: upload every file, then make them one revision
  for f in "$HERE/seed/$pkg"/*; do
    api PUT "/source/$PROJECT/$pkg/${f##*/}?rev=upload" --data-binary "@$f"
  done
  api POST "/source/$PROJECT/$pkg?cmd=commit&$q"
done
api PUT "/source/$PROJECT/_meta?$q" --data-binary "@$HERE/seed/_meta"
log "seeded $PROJECT (${PACKAGES[*]})"

# ------------------------------------------------------------------ settle
# check_result FILE: 0 = settled as the scenario says, 1 = not yet, 2 = settled wrong
check_result() {
  python3 - "$1" "$OBS_PUBLISH" <<'PY'
import sys
import xml.etree.ElementTree as ET

FINAL = {"succeeded", "failed", "unresolvable", "broken", "disabled", "excluded", "locked"}
root = ET.parse(sys.argv[1]).getroot()
repo_states = {"published"} if sys.argv[2] == "1" else {"finished", "published"}
expected = {}
for repo in ("Fedora_39", "xUbuntu_22.04"):
    for arch in ("x86_64", "aarch64"):
        for pkg in ("hello", "hello-link", "world", "multi", "multi:nox"):
            expected[(repo, arch, pkg)] = "succeeded"
        expected[(repo, arch, "broken")] = "failed" if arch == "x86_64" else "excluded"
seen, settled = {}, True
for res in root.findall("result"):
    if res.get("state") not in repo_states or res.get("dirty") == "true":
        settled = False
    for st in res.findall("status"):
        seen[(res.get("repository"), res.get("arch"), st.get("package"))] = st.get("code")
if not settled or set(seen) != set(expected) or not set(seen.values()) <= FINAL:
    sys.exit(1)
wrong = [f"{'/'.join(k)}: {seen[k]}, expected {v}" for k, v in sorted(expected.items()) if seen[k] != v]
for w in wrong:
    print(w, file=sys.stderr)
sys.exit(2 if wrong else 0)
PY
}
deadline=$((SECONDS + SETTLE_TIMEOUT))
result="$OBS_HOME/result.xml"
while :; do
  rc=0
  if curl -sf --max-time 10 -o "$result" "$SRC/build/$PROJECT/_result"; then
    check_result "$result" || rc=$?
  else
    rc=1
  fi
  [ $rc = 0 ] && break
  if [ $rc = 2 ] || [ $SECONDS -ge $deadline ]; then
    echo "----- last $SRC/build/$PROJECT/_result" >&2
    cat "$result" >&2 || true
    [ $rc = 2 ] && die "the builds settled, but not as the scenario expects (see above)"
    die "the builds did not settle within ${SETTLE_TIMEOUT}s (OBS_SETTLE_TIMEOUT)"
  fi
  sleep 1
done
log "all builds settled"

echo "$SRC" > "$OBS_HOME/url"
echo "$fingerprint" > "$OBS_HOME/seeded"
ok=1
echo "OBS_BACKEND_URL=$SRC"
