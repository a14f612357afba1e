#!/usr/bin/env bash
# Installs the Debian packages given (the real tools some tests run: createrepo-c,
# zstd, apt-utils, dpkg-dev, gnupg) when they are missing. Tests call it, so a
# fresh machine needs nothing beforehand; concurrent callers take turns (flock),
# and apt is retried once to ride out a mirror hiccup.
#
# usage: install-debian-packages.sh PACKAGE...
set -euo pipefail

missing() {
  local p need=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'ok installed' || need+=("$p")
  done
  echo "${need[@]:-}"
}

need=$(missing "$@")
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-debian-packages: missing ($need) and not root: apt-get install $need" >&2
  exit 1
fi

exec 9> "${TMPDIR:-/tmp}/pkgsync-apt.lock"
flock 9
need=$(missing "$@")
[ -z "$need" ] && exit 0
log="${TMPDIR:-/tmp}/pkgsync-apt.log"
for try in 1 2; do
  # shellcheck disable=SC2086 # one word per package
  if { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need; } >> "$log" 2>&1; then
    exit 0
  fi
  [ $try = 1 ] && sleep 5
done
tail -n 20 "$log" >&2
echo "install-debian-packages: apt-get install $need failed (log: $log)" >&2
exit 1
