#!/usr/bin/env bash
# Downloads full IP-to-ASN / IP-to-country tables into asn-data/ (git-ignored; never commit them).
# Usage: scripts/fetch-asn-data.sh [ip-location-db|iptoasn|all]   (default: ip-location-db)
#   ip-location-db: @ip-location-db/asn and asn-country CSVs via `npm pack` (CC BY 4.0, attribution
#                   to RouteViews, NRO and DB-IP: see samples-pcap/asn/README.md)
#   iptoasn:        ip2asn-combined.tsv.gz from iptoasn.com (PDDL)
# IPinfo Lite and MaxMind GeoLite2 need an account token: download them yourself and run
# `pcapdht asn import FILE`.
# Then: pcapdht asn import asn-data/ip-location-db/*/*-ipv4.csv asn-data/ip-location-db/*/*-ipv6.csv --db dht.duckdb
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-ip-location-db}
out=asn-data
mkdir -p "$out"

fetch_ip_location_db() {
  command -v npm >/dev/null || { echo "fetch-asn-data: npm is needed for ip-location-db (apt-get install npm)" >&2; exit 1; }
  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  (cd "$tmp" && npm pack --silent @ip-location-db/asn @ip-location-db/asn-country >/dev/null)
  # One folder per package, with its package.json: its version (2.3.YYYYMMDDHH) is the date `asn import` records.
  for t in "$tmp"/*.tgz; do
    tar xzf "$t" -C "$tmp"
    local name; name=$(sed -nE 's/.*"name": *"@ip-location-db\/([^"]+)".*/\1/p' "$tmp/package/package.json" | head -1)
    mkdir -p "$out/ip-location-db/$name"
    cp "$tmp"/package/package.json "$tmp"/package/*.csv "$out/ip-location-db/$name/"
    cp "$tmp"/package/*LICENSE* "$tmp"/package/MODIFICATIONS "$out/ip-location-db/$name/" 2>/dev/null || true
    rm -rf "$tmp/package"
  done
  echo "fetch-asn-data: ip-location-db tables in $out/ip-location-db/" >&2
  ls -lR "$out/ip-location-db" >&2
}

fetch_iptoasn() {
  curl -fsSL --retry 3 -o "$out/ip2asn-combined.tsv.gz" https://iptoasn.com/data/ip2asn-combined.tsv.gz
  echo "fetch-asn-data: $out/ip2asn-combined.tsv.gz" >&2
}

case "$what" in
  ip-location-db) fetch_ip_location_db ;;
  iptoasn) fetch_iptoasn ;;
  all) fetch_ip_location_db; fetch_iptoasn ;;
  *) echo "fetch-asn-data: unknown source '$what' (ip-location-db|iptoasn|all)" >&2; exit 2 ;;
esac
