#!/usr/bin/env bash
# The main job on the shipped samples: install what is missing, build, ingest samples-pcap/ into a
# fresh DuckDB file, import the shipped ASN excerpt, print the reports over the public data's last 30 days,
# and write the same reports as one HTML page with charts and a world map (artifacts/demo/report.html).
#   usage: scripts/demo.sh [DB]      (default: artifacts/demo/pcapdht.duckdb, recreated each run)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh runtime
# Published (ReadyToRun, for this machine's runtime identifier): starts faster than a plain build.
dotnet publish src/PcapDht.Cli/PcapDht.Cli.csproj -c Release --use-current-runtime --self-contained false --nologo -v q -o artifacts/bin >/dev/null
pcapdht() { dotnet artifacts/bin/pcapdht.dll "$@"; }

db=${1:-artifacts/demo/pcapdht.duckdb}
mkdir -p "$(dirname "$db")"
rm -f "$db" "$db.wal"

# One recording of the real loopback swarm (the other files in samples-pcap/ are the same traffic in
# other containers and compressions) and the synthetic internet-like capture with public addresses.
echo "== pcapdht ingest samples-pcap/dht-loopback.pcapng.zst samples-pcap/synthetic-dht.pcap"
pcapdht ingest samples-pcap/dht-loopback.pcapng.zst samples-pcap/synthetic-dht.pcap --db "$db"
echo
echo "== pcapdht asn import samples-pcap/asn/*.csv"
pcapdht asn import samples-pcap/asn/*.csv --db "$db"
echo
echo "== pcapdht report overview"
pcapdht report overview --db "$db"
echo
# The loopback recording is the newest data and carries only 127.x/fd00:: addresses (no ASN); the public
# addresses are in the synthetic capture, whose traffic ends two months earlier. A report's default window
# (the 30 days up to the newest sighting) would hold only the loopback nodes -- `report asn` then says so,
# names the synthetic capture and suggests this --until. Every report below ends its window there.
until=$(pcapdht query "SELECT strftime(max(last_ts), '%Y-%m-%dT%H:%M:%SZ') FROM captures WHERE source LIKE '%synthetic-dht.pcap'" \
  --db "$db" --format csv | tail -1)
# Each report exits non-zero (7) when it has no answer, which stops this script (set -e).
echo "== pcapdht report asn --days 30 --until $until --top 15"
pcapdht report asn --days 30 --until "$until" --top 15 --db "$db"
echo
echo "== pcapdht report country --days 30 --until $until --top 10"
pcapdht report country --days 30 --until "$until" --top 10 --db "$db"
echo
echo "== pcapdht report clients --until $until"
pcapdht report clients --until "$until" --db "$db"
echo
page=artifacts/demo/report.html
echo "== pcapdht report html --days 30 --until $until --top 15 --out $page"
pcapdht report html --days 30 --until "$until" --top 15 --db "$db" --out "$page"
echo
echo "Database: $db   (try: dotnet artifacts/bin/pcapdht.dll query \"SELECT * FROM messages LIMIT 5\" --db $db)"
echo "Report page: $page   (one self-contained file: open file://$(pwd)/$page in any browser, offline too)"
