#!/usr/bin/env bash
# usage: run-sql.sh NAME DB: NAME.span.sql (the newest sighting), then NAME.sql + asn-report.sql with it as {until_us}; CSV on stdout.
# Two pcapdht processes, timed together by scripts/bench-rollups.sh.
set -euo pipefail
here=$(dirname "$0")
cli=(dotnet "$here/../../artifacts/bin/pcapdht.dll")
until_us=$("${cli[@]}" query -f "$here/$1.span.sql" --db "$2" --format csv | tail -1)
[[ $until_us =~ ^[0-9]+$ ]] || { echo "run-sql: no sightings in $2" >&2; exit 1; }
sql=$(mktemp)
trap 'rm -f "$sql"' EXIT
cat "$here/$1.sql" "$here/asn-report.sql" | sed "s/{until_us}/$until_us/g" > "$sql"
"${cli[@]}" query -f "$sql" --db "$2" --format csv
