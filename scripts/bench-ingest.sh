#!/usr/bin/env bash
# End-to-end ingest benchmark: pcapdht ingest of a large generated capture into a fresh DuckDB file,
# with tshark extracting the same fields (bt-dht heuristic on) from the same file as the baseline.
# usage: [RUNS=3] scripts/bench-ingest.sh [PACKETS ...]     (default: 2000000 4000000; pcapdht runs RUNS times, median reported)
#        With OLD=path/to/old/pcapdht.dll: the old build runs too, alternating with this one run by run, and the
#        median of each and new : old are printed (TSHARK=0 skips the tshark baseline, e.g. for an A/B alone).
#        [RUNS=5] [SPLIT=100] OLD=path/to/old/pcapdht.dll scripts/bench-ingest.sh --files [PACKETS]   (default 2000000)
#   --files: the capture as one file and as SPLIT files (editcap -c), with this build and the OLD build,
#   the four runs alternating RUNS times in one run; prints medians and the ratios one file : many files
#   and new : old (issue 13's "Done when": many files within 1.15x of one; one file no slower than before).
# Captures are generated into bench-data/ (gitignored) from samples-pcap/dht-loopback.pcap.
# Other jobs on the machine skew the numbers: the CPU-seconds columns are less noisy than wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(2000000 4000000)
mkdir -p bench-data
src=samples-pcap/dht-loopback.pcap
[ -f "$src" ] || { echo "bench-ingest: $src missing (samples-pcap arrives from the samples job)" >&2; exit 1; }

. scripts/bench-common.sh # publish_cli, tshark_args, measure
publish_cli
cli=artifacts/bin/pcapdht.dll
runs=${RUNS:-3} # pcapdht runs per size; the median by wall time is reported (this VM varies by ~10 %)
stdout_file=$(mktemp)
trap 'rm -f "$stdout_file" "$stdout_file.m" "$stdout_file.runs"' EXIT

if [ "${1:-}" = --files ]; then
  n=${2:-2000000}; split=${SPLIT:-100}; runs=${RUNS:-5}
  old=${OLD:?"--files needs OLD=path/to/the/old/pcapdht.dll (the build to compare with)"}
  f=bench-data/dht-$n.pcap
  [ -f "$f" ] || python3 scripts/gen-bench-capture.py "$src" "$f" "$n" >&2
  dir=bench-data/dht-$n-split$split
  if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    editcap -F pcap -c $(( (n + split - 1) / split )) "$f" "$dir/part.pcap" >&2 # same format as the one file
    touch "$dir/.done"
  fi
  echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $n packets as 1 file and as $(ls "$dir" | grep -c pcap) files; $runs rounds" >&2
  : > "$stdout_file.runs"
  for ((r = 0; r < runs; r++)); do
    for variant in new:1 new:$split old:1 old:$split; do
      build=${variant%%:*}; files=${variant##*:}
      bin=$cli; [ "$build" = old ] && bin=$old
      input=$f; [ "$files" = 1 ] || input=$dir
      db=bench-data/bench-files.duckdb; rm -f "$db" "$db.wal"
      measure "$build-$files" dotnet "$bin" ingest "$input" --db "$db" --format json >> "$stdout_file.runs"
      msgs=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["krpc_messages"], d["files_ingested"])' "$stdout_file")
      echo "round $r $build $files files: $(tail -1 "$stdout_file.runs" | cut -d' ' -f2-) (wall cpu rss), messages files: $msgs" >&2
    done
  done
  printf '%-12s %8s %8s %8s
' variant wall_s cpu_s rss_MB
  declare -A w c
  for v in new-1 new-$split old-1 old-$split; do
    read -r _ w[$v] c[$v] rss < <(grep "^$v " "$stdout_file.runs" | sort -k2 -n | sed -n "$(( (runs + 1) / 2 ))p")
    printf '%-12s %8s %8s %8s
' "$v" "${w[$v]}" "${c[$v]}" "$rss"
  done
  ratio() { echo "scale=3; $1 / $2" | bc; }
  echo "ratios (wall; cpu), median of $runs:"
  echo "  new: $split files / 1 file  = $(ratio "${w[new-$split]}" "${w[new-1]}"); $(ratio "${c[new-$split]}" "${c[new-1]}")   (target <= 1.15)"
  echo "  old: $split files / 1 file  = $(ratio "${w[old-$split]}" "${w[old-1]}"); $(ratio "${c[old-$split]}" "${c[old-1]}")"
  echo "  1 file:  new / old        = $(ratio "${w[new-1]}" "${w[old-1]}"); $(ratio "${c[new-1]}" "${c[old-1]}")   (target <= 1.0)"
  echo "  $split files: new / old     = $(ratio "${w[new-$split]}" "${w[old-$split]}"); $(ratio "${c[new-$split]}" "${c[old-$split]}")"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)  cores: $(nproc)"
  exit 0
fi

printf '%-10s %-8s %10s %9s %9s %12s %12s %8s\n' packets tool wall_s cpu_s rss_MB msg_per_s msg_per_cpu_s ratio
old=${OLD:-}
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for n in "${sizes[@]}"; do
  f=bench-data/dht-$n.pcap
  [ -f "$f" ] || python3 scripts/gen-bench-capture.py "$src" "$f" "$n" >&2
  db=bench-data/bench-$n.duckdb
  : > "$stdout_file.runs"
  for ((r = 0; r < runs; r++)); do
    for build in pcapdht ${old:+old}; do # alternating, so a change in the machine's load hits both builds alike
      bin=$cli; [ "$build" = old ] && bin=$old
      rm -f "$db" "$db.wal"
      measure "$build" dotnet "$bin" ingest "$f" --db "$db" --format json >> "$stdout_file.runs"
      echo "run $r $build (wall cpu rss): $(tail -1 "$stdout_file.runs" | cut -d' ' -f2-), load $(cut -d' ' -f1 /proc/loadavg)" >&2
    done
  done
  median() { grep "^$1 " "$stdout_file.runs" | sort -k2 -n | sed -n "$(( (runs + 1) / 2 ))p"; }
  read -r _ pw pc prss < <(median pcapdht)
  msgs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["krpc_messages"])' "$stdout_file")
  row() { printf '%-10s %-8s %10s %9s %9s %12.0f %12.0f %8s\n' "$n" "$1" "$2" "$3" "$4" "$(echo "$msgs / $2" | bc -l)" "$(echo "$msgs / $3" | bc -l)" "$5"; }
  if [ "${TSHARK:-1}" != 0 ]; then
    tshark_args "$f"
    measure tshark "${tshark_cmd[@]}" > "$stdout_file.m"
    read -r _ tw tc trss < "$stdout_file.m"
    row pcapdht "$pw" "$pc" "$prss" "$(echo "scale=1; $tw / $pw" | bc)x"
    row tshark "$tw" "$tc" "$trss" "1x"
  else
    row pcapdht "$pw" "$pc" "$prss" "-"
  fi
  if [ -n "$old" ]; then
    read -r _ ow oc orss < <(median old)
    row old "$ow" "$oc" "$orss" "-"
    echo "new / old, median of $runs alternating runs: wall $(echo "scale=3; $pw / $ow" | bc), cpu $(echo "scale=3; $pc / $oc" | bc)"
  fi
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)  cores: $(nproc)"
