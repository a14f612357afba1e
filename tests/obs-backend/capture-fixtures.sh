#!/bin/bash
#
# capture-fixtures.sh - save real responses of the running backend (start.sh)
# as parser fixtures in tests/fixtures/obs-real/ (or DIR).
#
#   capture-fixtures.sh [DIR]
#
# Bodies are stored verbatim; responses.tsv records the request, HTTP status and
# Content-Type of each. All files come from one run, so the md5s and sizes in the
# XML files agree with expected-binaries.tsv. Re-capturing changes mtimes and the
# md5s of files that embed build times (rpms, .changes): commit them together.
#
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OBS_HOME="${OBS_HOME:-${TMPDIR:-/tmp}/pkgsync-obs-backend}"
out="${1:-$HERE/../fixtures/obs-real}"
url="$(cat "$OBS_HOME/url" 2> /dev/null)" || { echo "capture-fixtures.sh: no $OBS_HOME/url; run start.sh first" >&2; exit 1; }
P=home:pkgsync:test
mkdir -p "$out"

index="$out/responses.tsv"
printf 'file\tstatus\tcontent_type\trequest\n' > "$index"
# capture FILE EXPECTED-STATUS PATH
capture() {
  local file=$1 want=$2 path=$3 got
  got=$(curl -sS --max-time 30 -o "$out/$file" -w '%{http_code}\t%{content_type}' "$url$path")
  [ "${got%%$'\t'*}" = "$want" ] || { echo "capture-fixtures.sh: GET $path: got ${got%%$'\t'*}, expected $want" >&2; exit 1; }
  printf '%s\t%s\tGET %s\n' "$file" "$got" "$path" >> "$index"
}

capture source-meta.xml                     200 "/source/$P/_meta"
capture result-binarylist.xml               200 "/build/$P/_result?view=binarylist"
capture result-binarylist-status.xml        200 "/build/$P/_result?view=binarylist&view=status"
capture binarylist-rpm-withmd5.xml          200 "/build/$P/Fedora_39/x86_64/hello?withmd5=1"
capture binarylist-deb-withmd5.xml          200 "/build/$P/xUbuntu_22.04/x86_64/world?withmd5=1"
capture binarylist-flavor-withmd5.xml       200 "/build/$P/Fedora_39/x86_64/multi:nox?withmd5=1"
# the same kind of list, path written with %3A and without md5
capture binarylist-deb-flavor.xml           200 "/build/$P/xUbuntu_22.04/aarch64/multi%3Anox"
capture binarylist-failed.xml               200 "/build/$P/Fedora_39/x86_64/broken?withmd5=1"
capture error-404-unknown-project.xml       404 "/build/nosuch/_result"
capture error-404-unknown-repository.xml    404 "/build/$P/_result?repository=nosuch"
capture error-400-withmd5-true.xml          400 "/build/$P/Fedora_39/x86_64/hello?withmd5=true"

"$HERE/list-binaries.sh" "$url" "$P" > "$out/expected-binaries.tsv"
echo "captured $(($(wc -l < "$index") - 1)) responses and $(($(wc -l < "$out/expected-binaries.tsv") - 1)) binaries into $out" >&2
