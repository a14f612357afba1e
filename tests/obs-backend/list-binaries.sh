#!/bin/bash
#
# list-binaries.sh - the build area of an OBS project as the backend itself lists
# it, one TSV line per file:  repository arch package filename size md5
#
#   list-binaries.sh [URL [PROJECT]]
#     URL      default: the one start.sh wrote to $OBS_HOME/url
#     PROJECT  default: home:pkgsync:test
#
# It walks /build/<p> -> repositories -> arches -> packages (flavours included)
# and reads each /build/<p>/<r>/<a>/<pkg>?withmd5=1, so a test can compare
# pkgsync's inventory with the backend's own listing. Every file is listed, also
# _buildenv, logs and sources: filtering is pkgsync's job. Sorted, with a header.
#
set -euo pipefail
OBS_HOME="${OBS_HOME:-${TMPDIR:-/tmp}/pkgsync-obs-backend}"
url="${1:-$(cat "$OBS_HOME/url" 2> /dev/null || true)}"
project="${2:-home:pkgsync:test}"
[ -n "$url" ] || { echo "list-binaries.sh: no URL given and no $OBS_HOME/url (is start.sh running?)" >&2; exit 1; }

get() {  # get PATH: the body, or exit with the error the server gave
  local out
  out=$(curl -sS --fail-with-body --max-time 30 "$url$1") || { echo "list-binaries.sh: GET $1 failed: $out" >&2; exit 1; }
  printf '%s\n' "$out"
}

# attrs TAG ATTR...: one tab-separated line per element TAG of the XML on stdin
attrs() {
  python3 -c '
import sys, xml.etree.ElementTree as ET
tag, names = sys.argv[1], sys.argv[2:]
data = sys.stdin.read()
if not data.strip():
    sys.exit(1)  # the request failed; get has said why
for el in ET.fromstring(data).iter(tag):
    print("\t".join(el.get(n, "") for n in names))
' "$@"
}

# plain assignments, not loops over $(...), so that set -e sees every failed request
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
repos=$(get "/build/$project" | attrs entry name)
for repo in $repos; do
  arches=$(get "/build/$project/$repo" | attrs entry name)
  for arch in $arches; do
    packages=$(get "/build/$project/$repo/$arch" | attrs entry name)
    for pkg in $packages; do
      files=$(get "/build/$project/$repo/$arch/$pkg?withmd5=1" | attrs binary filename size md5)
      [ -z "$files" ] || while IFS= read -r line; do
        printf '%s\t%s\t%s\t%s\n' "$repo" "$arch" "$pkg" "$line"
      done <<< "$files" >> "$rows"
    done
  done
done
printf 'repository\tarch\tpackage\tfilename\tsize\tmd5\n'
LC_ALL=C sort "$rows"
