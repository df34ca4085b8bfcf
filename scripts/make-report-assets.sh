#!/usr/bin/env bash
# Rebuilds what `pcapdht report html` and `report country --chart` embed: the world map geometry
# (src/PcapDht/Charts/Assets/world-110m.json) and the licence texts of the packages it comes from, from the
# npm versions pinned in scripts/report-assets/package-lock.json. The output is deterministic: --check
# rebuilds into a temporary folder and fails if anything differs from the committed files.
#   usage: scripts/make-report-assets.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
src=scripts/report-assets
dst=src/PcapDht/Charts/Assets
check=${1:-}
command -v node >/dev/null || { echo "make-report-assets: node and npm are needed (scripts/install-deps.sh test)" >&2; exit 1; }
(cd "$src" && npm ci --no-audit --no-fund --silent >/dev/null)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/licences"
node "$src/make-world-map.mjs" "$tmp/world-110m.json" >/dev/null
for pkg in world-atlas d3-geo topojson-client i18n-iso-countries; do
  cp "$src/node_modules/$pkg/LICENSE" "$tmp/licences/$pkg.txt"
done

if [ "$check" = --check ]; then
  if diff -r -q "$tmp/world-110m.json" "$dst/world-110m.json" >/dev/null && diff -r -q "$tmp/licences" "$dst/licences" >/dev/null; then
    echo "make-report-assets: the committed assets are what the pinned packages produce"
    exit 0
  fi
  echo "make-report-assets: the committed assets differ from what the pinned packages produce; run scripts/make-report-assets.sh" >&2
  exit 1
fi
mkdir -p "$dst/licences"
cp "$tmp/world-110m.json" "$dst/world-110m.json"
cp "$tmp/licences/"*.txt "$dst/licences/"
echo "make-report-assets: wrote $dst/world-110m.json ($(wc -c <"$dst/world-110m.json") bytes) and $dst/licences/"
