#!/usr/bin/env bash
# Report benchmark: `report asn` from the address index and from the daily rollups, and `report overview` from the
# rollups, against the same reports from the detail rows (--source detail, the pre-rollup SQL), alternating in one
# run on one store.
# usage: [RUNS=5] [DB=FILE] scripts/bench-report-rollups.sh [PACKETS]   (default 2000000)
#   Without DB: `pcapdht synth --packets PACKETS --seed 11` (42 days, the sample ASN ranges) ingested, with the sample
#   ASN and country data imported, into bench-data/rollups-PACKETS.duckdb (gitignored), built once.
#   A store written before the rollup writer gets its rollups from RollupSchema's SQL (`query --write`).
# Prints each run's wall time (the whole process, as a user waits for it) and the medians and ratios detail : rollups.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000000}
runs=${RUNS:-5}
dotnet publish src/PcapDht.Cli/PcapDht.Cli.csproj -c Release --use-current-runtime --self-contained false --nologo -v q -o artifacts/bin >/dev/null
cli=(dotnet artifacts/bin/pcapdht.dll)
mkdir -p bench-data
db=${DB:-bench-data/rollups-$n.duckdb}
if [ ! -f "$db" ]; then
  capture=bench-data/rollups-$n.pcap
  "${cli[@]}" synth --out "$capture" --packets "$n" --seed 11 --asn-ranges samples-pcap/asn/asn-ipv4.csv --asn-ranges samples-pcap/asn/asn-ipv6.csv >/dev/null
  "${cli[@]}" ingest "$capture" --db "$db" >/dev/null
  "${cli[@]}" asn import samples-pcap/asn/*.csv --db "$db" >/dev/null
  rm -f "$capture"
fi
has=$("${cli[@]}" query "SELECT count(*) FROM information_schema.tables WHERE table_name = 'address_days'" --db "$db" --format csv | tail -n 1)
if [ "$has" = 0 ]; then
  sql=$(python3 - <<'EOF'
import re
s = open('src/PcapDht/Store/RollupSchema.cs').read()
raw = lambda name: re.search(name + r' = """\n(.*?)\n\s*""";', s, re.S).group(1)
inserts = [p.replace('{where}', 'true') for p in re.findall(r'sb\.Append\(\$"""\n(.*?)\n\s*"""\);', s, re.S)]
print(raw('CreateTables') + '\n' + raw('Views') + '\n' + '\n'.join(inserts))
EOF
)
  "${cli[@]}" query --write "$sql" --db "$db" >/dev/null
fi
echo "store: $db ($(du -h "$db" | cut -f1)); $("${cli[@]}" query "SELECT count(*) || ' messages, ' || (SELECT count(*) FROM address_days) || ' address_days rows over ' || (SELECT count(DISTINCT day) FROM address_days) || ' days' FROM messages" --db "$db" --format csv | tail -n 1)"
echo "load before: $(uptime | sed 's/.*load average: //')"
declare -A times
wall() { local t0 t1; t0=$(date +%s%N); "${cli[@]}" "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
for i in $(seq "$runs"); do
  for report in asn overview; do
    sources=(detail rollups); [ "$report" = asn ] && sources+=(index)
    for source in "${sources[@]}"; do
      args=(report "$report" --db "$db" --source "$source" --format csv)
      [ "$report" = asn ] && args+=(--days 30 --top 0)
      ms=$(wall "${args[@]}")
      times[$report-$source]+="$ms "
      echo "run $i: report $report --source $source: $ms ms"
    done
  done
done
echo "load after: $(uptime | sed 's/.*load average: //')"
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for report in asn overview; do
  d=$(echo "${times[$report-detail]}" | median); r=$(echo "${times[$report-rollups]}" | median)
  echo "report $report: detail ${d} ms, rollups ${r} ms (medians of $runs), detail : rollups = $(echo "scale=2; $d / $r" | bc)x"
  if [ -n "${times[$report-index]:-}" ]; then
    i=$(echo "${times[$report-index]}" | median)
    echo "report $report: index ${i} ms (median of $runs; min $(echo "${times[$report-index]}" | tr ' ' '\n' | grep . | sort -n | head -1), max $(echo "${times[$report-index]}" | tr ' ' '\n' | grep . | sort -n | tail -1)), detail : index = $(echo "scale=1; $d / $i" | bc)x, rollups : index = $(echo "scale=1; $r / $i" | bc)x"
  fi
done
