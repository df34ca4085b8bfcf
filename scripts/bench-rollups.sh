#!/usr/bin/env bash
# Issue 15's benchmarks: `report asn --days 30` over daily rollups against the detail rows, and the bytes on disk
# of full detail and of rollups only (docs/benchmarks.md, "Rollups and storage (issue 15)").
#
# usage: [RUNS=5] scripts/bench-rollups.sh [report] [storage] [storage-big]     (default: all three)
#   report       builds (or reuses) the big store: `pcapdht synth --out - ... | pcapdht ingest -`, MESSAGES KRPC
#                messages (default 25 000 000: ~100 M node sightings) from a pool of NODES nodes (11 000 000: ~10.6 M
#                distinct addresses) over DAYS days (35), seed SEED (15), the committed ASN excerpt imported; then
#                times, alternating RUNS times in one run: the report reading rollups, the report on the detail rows,
#                and the two as SQL (scripts/bench-rollups/asn-*.sql: the window's end, then one statement). Wall, CPU (user+sys),
#                peak RSS: min / median / max; checks that every variant prints the same (asn, ips, direct_ips).
#   storage      bytes per KRPC message and per pcap byte, full detail and rollups only, on the 2M-packet capture
#                of scripts/bench-ingest.sh (its generator invocation), with the table-by-table breakdown.
#   storage-big  the same on the big store (the pcap bytes: the synth stream counted, never written).
# What is measured adapts to what has landed on this checkout:
#   - ingest maintains rollups (pcapdht_store.addr_day filled by ingest): the store itself holds them. Otherwise the
#     rollups go into a separate rollups-only store made by `PcapDht.Benchmarks rollup-store` (RollupSchema.InsertFromStore
#     over all detail rows) — labelled "rollups filled after ingest".
#   - `report` reads rollups and has a flag forcing the detail rows (DETAIL_FLAG, default `--source detail`, hidden
#     from --help, detected by asking the parser): the two report variants use it. Otherwise the report runs on the detail rows and the rollup
#     side is the SQL equivalent — labelled "SQL equivalent".
#   - `pcapdht prune` exists: rollups only = a copy of the store after `prune --keep-detail 0`. Otherwise the
#     rollups-only store above (its file holds the capture rows and the rollups, nothing else).
# ROLLUP_TABLES=addr_day fills only what `report asn` reads (the other rollup tables take as long again).
# Disk: the big store is ~7.3 GB, its rollups-only store several GB more on this data; check `df -h` first.
# Big files go to bench-data/ (gitignored); KEEP=0 deletes the stores at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
messages=${MESSAGES:-25000000}; nodes=${NODES:-11000000}; days=${DAYS:-35}; seed=${SEED:-15}
detail_flag=${DETAIL_FLAG:---source detail}
rollup_flag=${ROLLUP_FLAG:---source rollups}
steps=("$@"); [ ${#steps[@]} -eq 0 ] && steps=(report storage storage-big)
mkdir -p bench-data
asn=samples-pcap/asn
ranges=(--asn-ranges "$asn/asn-ipv4.csv" --asn-ranges "$asn/asn-ipv6.csv")
imports=("$asn/asn-ipv4.csv" "$asn/asn-ipv6.csv" "$asn/asn-country-ipv4.csv" "$asn/asn-country-ipv6.csv")

if [ "${SKIP_BUILD:-0}" != 1 ]; then # SKIP_BUILD=1: the binaries are current (e.g. a second step running in parallel)
  dotnet publish src/PcapDht.Cli/PcapDht.Cli.csproj -c Release --use-current-runtime --self-contained false --nologo -v q -o artifacts/bin >/dev/null
  dotnet build tests/PcapDht.Benchmarks -c Release --nologo -v q >/dev/null
fi
cli=(dotnet artifacts/bin/pcapdht.dll)
bench=(dotnet tests/PcapDht.Benchmarks/bin/Release/net10.0/PcapDht.Benchmarks.dll)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log() { echo "# $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
log "$(date -u +%FT%TZ) commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' (modified)'), $(nproc) cores, load $(load)"

has_rows() { # db table: does pcapdht_store.TABLE exist with rows?
  "${cli[@]}" query "SELECT count(*) FROM (SELECT 1 FROM duckdb_tables() WHERE schema_name = 'pcapdht_store' AND table_name = '$2' AND estimated_size > 0)" \
    --db "$1" --format csv 2>/dev/null | tail -1 | grep -qx 1
}
scalar() { "${cli[@]}" query "$2" --db "$1" --format csv | tail -1 | tr -d '"'; }
# The flag is hidden from --help: ask the parser (an unknown option is refused before the database is opened).
report_has_detail_flag() {
  local out; out=$("${cli[@]}" report asn $detail_flag --db "$tmp/none.duckdb" 2>&1 || true)
  [[ $out != *"unknown option"* ]]
}
have_prune() { local out; out=$("${cli[@]}" prune --help 2>&1 || true); [[ $out == *--keep-detail* ]]; }

# A rollups-only store next to DB (unless ingest filled the rollups in DB itself); prints its path.
rollups_of() {
  local db=$1 out=${1%.duckdb}.rollups.duckdb
  if has_rows "$db" addr_day; then echo "$db"; return; fi
  if [ ! -f "$out" ]; then
    log "filling rollups of $db into $out (RollupSchema.InsertFromStore over every detail row)"
    # A day at a time; only addr_day (what `report asn` reads) with ROLLUP_TABLES=addr_day.
    nice -n 5 "${bench[@]}" rollup-store --from "$db" --to "$out" ${ROLLUP_TABLES:+--tables "$ROLLUP_TABLES"} >&2 \
      && nice -n 5 "${cli[@]}" asn import "${imports[@]}" --db "$out" >/dev/null \
      || { rm -f "$out" "$out.wal"; log "filling the rollups failed"; return 1; }
  fi
  echo "$out"
}

big_store() {
  local db=bench-data/rollups-$messages-$nodes-$days-$seed.duckdb
  if [ ! -f "$db" ]; then
    log "building $db: synth --messages $messages --nodes $nodes --days $days --seed $seed | ingest -"
    set -o pipefail
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/synth.time" nice -n 5 "${cli[@]}" synth --out - --messages "$messages" --nodes "$nodes" \
        --days "$days" --seed "$seed" "${ranges[@]}" 2>"$tmp/synth.err" \
      | tee >(wc -c > "$db.pcap-bytes") \
      | /usr/bin/time -f '%e %U %S %M' -o "$tmp/ingest.time" nice -n 5 "${cli[@]}" ingest - --db "$db" --format json >"$tmp/ingest.json" 2>"$tmp/ingest.err" \
      || { cat "$tmp/synth.err" "$tmp/ingest.err" >&2; rm -f "$db" "$db.wal"; return 1; }
    grep -v '^ingest:' "$tmp/synth.err" >&2 || true
    read -r w u s m < <(tail -1 "$tmp/synth.time"); log "synth: $w s wall, $(echo "$u + $s" | bc) s CPU, $((m / 1024)) MB RSS"
    read -r w u s m < <(tail -1 "$tmp/ingest.time"); log "ingest: $w s wall, $(echo "$u + $s" | bc) s CPU, $((m / 1024)) MB RSS; load $(load)"
    nice -n 5 "${cli[@]}" asn import "${imports[@]}" --db "$db" >/dev/null
  fi
  echo "$db"
}

measure() { # label, command...: appends "label wall cpu rss_MB" to $tmp/runs; stdout to $tmp/out.label
  local label=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" >"$tmp/out.$label" 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
  read -r wall user sys rss < <(tail -1 "$tmp/time")
  echo "$label $wall $(echo "$user + $sys" | bc) $((rss / 1024))" >> "$tmp/runs"
}

# (asn, ips, direct_ips) of a report's JSON or a query's CSV, sorted, for the equality check.
rows_of() {
  python3 - "$1" <<'EOF'
import csv, json, sys
text = open(sys.argv[1]).read()
if text.lstrip().startswith('{'):
    rows = [(r['asn'], r['ips'], r['direct_ips']) for r in json.loads(text)['rows']]
else:
    rows = [(int(r['asn']), int(r['ips']), int(r['direct_ips'])) for r in csv.DictReader(text.splitlines())]
print('\n'.join(f'{a} {i} {d}' for a, i, d in sorted(rows)))
EOF
}

report() {
  local db roll
  db=$(big_store) || exit 1
  roll=$(rollups_of "$db") || exit 1
  log "store $db: $(scalar "$db" "SELECT format('{} KRPC messages, {} node sightings, {} peer sightings', sum(krpc_messages), sum(node_sightings), sum(peer_sightings)) FROM captures")"
  log "  $(scalar "$db" "SELECT format('{} distinct addresses in node_sightings, {} .. {}', count(DISTINCT ip_num), min(ts), max(ts)) FROM pcapdht_store.node_ips")"
  log "  $(du -b "$db" | cut -f1) bytes; rollups: $roll ($(du -b "$roll" | cut -f1) bytes)"
  local -a variants
  if report_has_detail_flag; then
    # Both sides are the report itself: rollups (from the store with rollups) and the forced detail path.
    variants=("report-rollups|${cli[*]} report asn --days 30 --top 1000 --format json $rollup_flag --db $roll"
              "report-detail|${cli[*]} report asn --days 30 --top 1000 --format json $detail_flag --db $db")
    log "report reads rollups ($detail_flag forces the detail rows)"
  else
    variants=("report-detail|${cli[*]} report asn --days 30 --top 1000 --format json --db $db")
    log "report reads the detail rows only (rollread not landed): the rollup side is the SQL equivalent"
  fi
  # The SQL equivalents: two processes each (the window's end, then the report's query with it as constants).
  variants+=("sql-rollups|scripts/bench-rollups/run-sql.sh asn-rollups $roll"
             "sql-detail|scripts/bench-rollups/run-sql.sh asn-detail $db")
  : > "$tmp/runs"
  for ((r = 0; r < runs; r++)); do
    for v in "${variants[@]}"; do
      # shellcheck disable=SC2086 # the command is a plain word list
      measure "${v%%|*}" ${v#*|}
      log "round $r ${v%%|*}: $(tail -1 "$tmp/runs" | cut -d' ' -f2-) (wall s, CPU s, RSS MB); load $(load)"
    done
  done
  rows_of "$tmp/out.sql-detail" > "$tmp/expected"
  for v in "${variants[@]}"; do
    label=${v%%|*}
    if rows_of "$tmp/out.$label" | cmp -s - "$tmp/expected"; then same=same; else same=DIFFERENT; fi
    log "$label: (asn, ips, direct_ips) $same as sql-detail ($(wc -l < "$tmp/expected") ASNs)"
  done
  echo "| variant | wall s min / median / max | CPU s min / median / max | peak RSS MB (median) |"
  echo "|---|---:|---:|---:|"
  for v in "${variants[@]}"; do
    label=${v%%|*}
    python3 - "$label" "$tmp/runs" <<'EOF'
import statistics, sys
label = sys.argv[1]
rows = [l.split() for l in open(sys.argv[2]) if l.split()[0] == label]
w = sorted(float(r[1]) for r in rows); c = sorted(float(r[2]) for r in rows); m = statistics.median(int(r[3]) for r in rows)
print(f"| {label} | {w[0]:.2f} / {statistics.median(w):.2f} / {w[-1]:.2f} | {c[0]:.2f} / {statistics.median(c):.2f} / {c[-1]:.2f} | {m:.0f} |")
EOF
  done
  log "$(date -u +%FT%TZ) load $(load); $runs rounds"
}

# Bytes per message and per pcap byte of DB (detail) and of its rollups only; PCAP_BYTES given.
storage_of() {
  local db=$1 pcap_bytes=$2 name=$3 roll msgs detail rollup
  msgs=$(scalar "$db" "SELECT sum(krpc_messages) FROM captures")
  if have_prune; then
    roll=${db%.duckdb}.pruned.duckdb
    rm -f "$roll" "$roll.wal"; cp "$db" "$roll"
    nice -n 5 "${cli[@]}" prune --keep-detail 0 --db "$roll" >&2
    nice -n 5 "${cli[@]}" query --write "CHECKPOINT" --db "$roll" >/dev/null
    log "$name rollups only: a copy after \`prune --keep-detail 0\` and CHECKPOINT"
  else
    roll=$(rollups_of "$db") || exit 1
    [ "$roll" = "$db" ] && { log "$name: ingest wrote rollups but there is no prune: rollups only not measurable"; roll=""; }
    [ -n "$roll" ] && log "$name rollups only: a store holding the captures and the rollups filled by RollupSchema.InsertFromStore (no prune yet)"
  fi
  # The ASN/country ranges are not part of what a capture costs: both stores hold the same import; subtract it.
  local ranges_bytes
  ranges_bytes=$("${bench[@]}" store-bytes --db "$db" --no-dimension | awk -F'|' '/\| main\.(asn_ranges|country_ranges|datasets) /{s+=$4} END{printf "%d", s*1048576}')
  detail=$(( $(du -b "$db" | cut -f1) - ranges_bytes ))
  echo "| $name | full detail | $detail | $(echo "scale=1; $detail / $msgs" | bc) | $(echo "scale=4; 100 * $detail / $pcap_bytes" | bc) % |"
  if [ -n "$roll" ]; then
    rollup=$(( $(du -b "$roll" | cut -f1) - ranges_bytes ))
    echo "| $name | rollups only | $rollup | $(echo "scale=1; $rollup / $msgs" | bc) | $(echo "scale=4; 100 * $rollup / $pcap_bytes" | bc) % |"
  fi
  log "$name: $msgs KRPC messages, pcap $pcap_bytes bytes; ASN/country ranges ($ranges_bytes bytes) left out of both"
  "${bench[@]}" store-bytes --db "$db" --name "$name, full detail" > "$tmp/bytes.detail"
  [ -n "$roll" ] && "${bench[@]}" store-bytes --db "$roll" --name "$name, rollups only" > "$tmp/bytes.rollup"
  cat "$tmp/bytes.detail" ${roll:+"$tmp/bytes.rollup"} >&2
}

storage_header() {
  echo "| capture | store | bytes on disk | bytes per KRPC message | share of pcap bytes |"
  echo "|---|---|---:|---:|---:|"
}

storage() {
  local n=2000000 f db
  f=bench-data/dht-$n.pcap
  [ -f "$f" ] || python3 scripts/gen-bench-capture.py samples-pcap/dht-loopback.pcap "$f" "$n" >&2 # as scripts/bench-ingest.sh
  db=bench-data/storage-$n.duckdb
  if [ ! -f "$db" ]; then
    rm -f "${db%.duckdb}".*.duckdb
    nice -n 5 "${cli[@]}" ingest "$f" --db "$db" >/dev/null
    nice -n 5 "${cli[@]}" asn import "${imports[@]}" --db "$db" >/dev/null
  fi
  storage_header
  storage_of "$db" "$(stat -L -c %s "$f")" "bench-ingest $n packets"
}

storage_big() {
  local db bytes
  db=$(big_store) || exit 1
  if [ ! -s "$db.pcap-bytes" ]; then # a store built before the stream was counted: count it again
    log "counting the pcap bytes of the synth stream"
    nice -n 5 "${cli[@]}" synth --out - --messages "$messages" --nodes "$nodes" --days "$days" --seed "$seed" "${ranges[@]}" 2>/dev/null | wc -c > "$db.pcap-bytes"
  fi
  bytes=$(cat "$db.pcap-bytes")
  storage_header
  storage_of "$db" "$bytes" "synth $messages messages, $nodes nodes, $days days"
}

for step in "${steps[@]}"; do
  case $step in
    report) report ;;
    storage) storage ;;
    storage-big) storage_big ;;
    *) echo "bench-rollups: unknown step '$step' (report, storage, storage-big)" >&2; exit 2 ;;
  esac
done
log "load $(load) at the end; other engineers' builds and tests share these $(nproc) cores"
if [ "${KEEP:-1}" = 0 ]; then rm -f bench-data/rollups-*.duckdb* bench-data/storage-*.duckdb*; fi
