#!/usr/bin/env bash
# Regenerates the committed synthetic sample capture and its ground truth (see docs/synth.md).
# Usage: scripts/make-synthetic-sample.sh [ASN_RANGE_FILE...]
# Without arguments it uses the ASN excerpt samples-pcap/asn/asn-ipv4.csv + asn-ipv6.csv
# (ip-location-db asn CSV layout) when present, else the tests' fictional range file. The output is deterministic: rerunning with
# the same inputs gives the same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."

seed=20260930
packets=16000   # keeps the committed capture below 5 MB

ranges=("$@")
if ((${#ranges[@]} == 0)); then
  if [ -f samples-pcap/asn/asn-ipv4.csv ] && [ -f samples-pcap/asn/asn-ipv6.csv ]; then
    ranges=(samples-pcap/asn/asn-ipv4.csv samples-pcap/asn/asn-ipv6.csv)
  else
    ranges=(tests/PcapDht.Tests/Synth/synth-test-asn.csv)
  fi
fi
args=()
for f in "${ranges[@]}"; do args+=(--asn-ranges "$f"); done

dotnet build src/PcapDht.Cli -c Release --nologo -v q >/dev/null
dotnet src/PcapDht.Cli/bin/Release/net10.0/pcapdht.dll synth \
  --out samples-pcap/synthetic-dht.pcap --truth samples-pcap/synthetic-dht.truth.json \
  --seed "$seed" --packets "$packets" --days 42 --end 2026-09-30T12:00:00Z "${args[@]}"

size=$(stat -c %s samples-pcap/synthetic-dht.pcap)
if ((size > 5 * 1024 * 1024)); then
  echo "make-synthetic-sample.sh: capture is $size bytes, over the 5 MB limit for committed files" >&2
  exit 1
fi
sha256sum samples-pcap/synthetic-dht.pcap
