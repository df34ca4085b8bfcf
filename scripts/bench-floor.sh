#!/usr/bin/env bash
# Storage floor of a full-detail ingest (issue 17): can DuckDB store the rows of the 2M-packet capture within
# 50x / 25x tshark (wall / CPU) at all, even with decoding free? In one run, RUNS rounds of, alternating:
#   tshark         the bt-dht fields of bench-ingest.sh (the baseline; same command line, scripts/bench-common.sh)
#   ingest         pcapdht ingest of bench-data/dht-PACKETS.pcap into a fresh database (published build)
#   ingest-empty   pcapdht ingest of a pcap holding only its global header: the fixed cost of a run (runtime
#                  start-up, open, schema and views of a fresh file, exit)
#   floor-current  store-floor (tests/PcapDht.Benchmarks) with today's storage layout and the ingest's row counts
#   floor-current-source  the same with the ingest's own stored values instead of pseudo-random ones
#   floor-narrow   store-floor with the narrowest plausible full-detail layout (msg: 3 head columns + a STRUCT of
#                  8 UBIGINT; node, node6, peer: 3 head columns + one UINTEGER key into a dimension)
# Prints the medians, every figure as a ratio to tshark of the same run (tshark / figure: 50 means 50x faster),
# two derived rows (ingest minus its fixed cost; fixed cost plus a floor = the least a whole ingest process could
# take with that layout), and what 50x / 25x / 100x of this run's tshark leave in seconds.
#
# What the floor measures: DuckDB's own cost of storing that many rows per table through pcapdht's write path:
# NativeChunks appended with duckdb_append_data_chunk by TableAppender, on the writer connections' settings
# (PcapDhtDatabase.OpenWriterConnection), the ingest's memory limit and write-behind, two lanes on two threads
# (msg + malformed; node + node6 + peer), each one transaction, then a CHECKPOINT. Timed in-process (wall and
# process CPU), from the lanes' start to the end of the CHECKPOINT. What it does not measure: reading and
# decoding the capture, building rows (the chunks are pre-filled before the clock starts, one row group per
# table, reused; only frame_no and ts are rewritten per chunk, a few ms, included), the capture row, the daily
# rollups, the address index, runtime start-up and exit (ingest-empty has those). So it is a lower bound for
# the storage part of a full-detail ingest, not an estimate of one.
#
# usage: [RUNS=3] scripts/bench-floor.sh [PACKETS]     (default 2000000; the capture is generated if missing)
# Other jobs on the machine skew the numbers (the load is printed per round): compare ratios of one run. Each
# store-floor line also gives runq_wait_s, the seconds its threads waited runnable for a CPU (0 on a quiet machine).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh # publish_cli, tshark_args, measure
n=${1:-2000000}
runs=${RUNS:-3}
mkdir -p bench-data
f=bench-data/dht-$n.pcap
if [ ! -f "$f" ]; then
  src=samples-pcap/dht-loopback.pcap
  [ -f "$src" ] || { echo "bench-floor: $src missing (samples-pcap arrives from the samples job)" >&2; exit 1; }
  python3 scripts/gen-bench-capture.py "$src" "$f" "$n" >&2
fi
publish_cli
cli=artifacts/bin/pcapdht.dll
dotnet build tests/PcapDht.Benchmarks -c Release --nologo -v q >/dev/null
bench=tests/PcapDht.Benchmarks/bin/Release/net10.0/PcapDht.Benchmarks.dll

empty=bench-data/empty.pcap # a pcap global header (LE, v2.4, snaplen 65535, Ethernet) and no packet
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' > "$empty"
db=bench-data/floor-ingest.duckdb
edb=bench-data/floor-empty.duckdb
fdb=bench-data/floor-store.duckdb
stdout_file=$(mktemp)
runs_file=$(mktemp)
trap 'rm -f "$stdout_file" "$runs_file" "$empty" "$edb" "$edb.wal" "$fdb" "$fdb.wal"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
record() { local m; m=$(measure "$@") || exit 1; echo "$m $r" >> "$runs_file"; } # label, command...
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(load); $f, $runs rounds" >&2

tshark_args "$f"
for ((r = 0; r < runs; r++)); do
  record tshark "${tshark_cmd[@]}"
  rm -f "$db" "$db.wal"
  record ingest dotnet "$cli" ingest "$f" --db "$db" --format json
  [ "$r" -gt 0 ] || echo "ingest: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["krpc_messages"], "KRPC messages,", d["node_sightings"], "node and", d["peer_sightings"], "peer sightings")' "$stdout_file")" >&2
  rm -f "$edb" "$edb.wal"
  record ingest-empty dotnet "$cli" ingest "$empty" --db "$edb" --format json
  for variant in current:random current:source narrow:random; do
    layout=${variant%%:*}; values=${variant##*:}
    label=floor-$layout; [ "$values" = random ] || label=$label-$values
    rm -f "$fdb" "$fdb.wal"
    line=$(dotnet "$bench" store-floor --rows-from "$db" --layout "$layout" --values "$values" --out "$fdb")
    [ "$r" -gt 0 ] || [ "$variant" != current:random ] || echo "rows: $(echo "$line" | grep -o 'msg=.* malformed=[0-9]*')" >&2
    # Timed in-process: wall and CPU of the storing alone; no RSS (the process also holds the pre-filled chunks).
    wall=$(echo "$line" | grep -o 'wall_s=[0-9.]*' | cut -d= -f2)
    cpu=$(echo "$line" | grep -o 'cpu_s=[0-9.]*' | cut -d= -f2)
    echo "$label $wall $cpu - $r" >> "$runs_file"
    echo "  $line" >&2
  done
  echo "round $r: $(grep " $r\$" "$runs_file" | awk '{printf "%s %s/%s  ", $1, $2, $3}')(wall/cpu s), load $(load)" >&2
done

python3 - "$runs_file" "$runs" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
runs = int(sys.argv[2])
by = {}  # label -> round -> (wall, cpu)
for label, wall, cpu, _rss, r in rows:
    by.setdefault(label, {})[int(r)] = (float(wall), float(cpu))
def derived(name, a, b, sign):
    by[name] = {r: (by[a][r][0] + sign * by[b][r][0], by[a][r][1] + sign * by[b][r][1]) for r in by[a] if r in by[b]}
derived("ingest - ingest-empty", "ingest", "ingest-empty", -1)
derived("ingest-empty + floor-current", "ingest-empty", "floor-current", 1)
derived("ingest-empty + floor-narrow", "ingest-empty", "floor-narrow", 1)
med = {k: (statistics.median(w for w, _ in v.values()), statistics.median(c for _, c in v.values())) for k, v in by.items()}
tw, tc = med["tshark"]
print(f"median of {runs} rounds; x = tshark / figure (this run's tshark: {tw:.2f} s wall, {tc:.2f} CPU-s)")
print(f"{'':32} {'wall_s':>8} {'cpu_s':>8} {'wall_x':>8} {'cpu_x':>8}")
for k in ["tshark", "ingest", "ingest-empty", "floor-current", "floor-current-source", "floor-narrow",
          "ingest - ingest-empty", "ingest-empty + floor-current", "ingest-empty + floor-narrow"]:
    w, c = med[k]
    print(f"{k:32} {w:8.3f} {c:8.3f} {tw / w:8.1f} {tc / c:8.1f}")
print("what the targets leave (whole ingest process, full detail: 50x wall and 25x CPU; rollups only: 100x):")
print(f"  50x wall: {tw / 50:.3f} s   25x CPU: {tc / 25:.3f} CPU-s   100x wall: {tw / 100:.3f} s   100x CPU: {tc / 100:.3f} CPU-s")
EOF
echo "load average: $(load)  cores: $(nproc)"
