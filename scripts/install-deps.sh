#!/usr/bin/env bash
# Installs what PcapDht needs on a Debian machine. Usage: scripts/install-deps.sh [runtime|test|record|fuzz]
#   runtime: libpcap (live capture), fontconfig and a font (PNG charts)
#   test:    + tshark, tcpdump, zstd, python3-libtorrent, chromium (the report page's browser test), node deps
#   record:  everything needed to re-record the sample captures
#   fuzz:    afl++ for scripts/fuzz.sh (the SharpFuzz instrumenter is a dotnet tool the script installs)
set -euo pipefail
what=${1:-runtime}
here=$(cd "$(dirname "$0")" && pwd)

pkgs=(libpcap0.8 libfontconfig1 fonts-dejavu-core)
case "$what" in
  runtime) ;;
  test|record) pkgs+=(tshark tcpdump zstd iproute2 python3-libtorrent python3-cryptography tcpreplay gzip chromium)
    # scripts/swarm (webtorrent nodes, expected-file decoder) needs node >= 18 and npm; the
    # machine image ships nodejs with npm, Debian's own nodejs needs the separate npm package.
    command -v node >/dev/null || pkgs+=(nodejs npm) ;;
  fuzz) pkgs+=(afl++) ;;
  *) echo "install-deps.sh: unknown set '$what' (runtime|test|record|fuzz)" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ]; then
    echo "install-deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "install-deps: missing Debian packages: ${missing[*]}" >&2
    echo "install-deps: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [ "$what" != runtime ] && [ "$what" != fuzz ]; then
  # scripts/swarm: the webtorrent swarm; scripts/report-assets: the map builder whose output a test compares.
  for dir in "$here/swarm" "$here/report-assets"; do
    [ -f "$dir/package.json" ] || continue
    (cd "$dir" && { [ -d node_modules ] || npm install --no-audit --no-fund --silent >/dev/null; })
  done
fi
