#!/usr/bin/env bash
# Capture reading benchmark: frames/s and MB/s of the managed reader (+ PacketDecoder to UDP payloads,
# no KRPC decoding) against `cat FILE > /dev/null` and SharpPcap's libpcap offline reader, on generated
# captures in bench-data/ (gitignored), page cache warm. Peak RSS for two file sizes shows memory does
# not grow with the file. Usage: scripts/bench-capture.sh [SIZE_MB ...]   (default: 256 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@"); ((${#sizes[@]})) || sizes=(256 1024)
mkdir -p bench-data
dotnet build tests/PcapDht.Benchmarks -c Release --nologo -v q >/dev/null
bench=(dotnet tests/PcapDht.Benchmarks/bin/Release/net10.0/PcapDht.Benchmarks.dll)
# time -f: wall seconds, user+sys CPU seconds, peak RSS KiB. The .NET readers run twice in one process and
# report the second run's own wall and CPU time: runtime start-up and JIT are not reading speed.
export PCAPDHT_BENCH_REPEAT=${PCAPDHT_BENCH_REPEAT:-2}
tfmt='%e\t%U\t%S\t%M'

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# dotnet $(dotnet --version), libpcap $(dpkg-query -W -f='${Version}' libpcap0.8 2>/dev/null || echo '?')"
printf 'file\treader\tframes\tudp\tMB\twall_s\tcpu_s\tMB/s\tframes/s\tpeak_rss_MiB\n'

row() { # name reader command...
  local name=$1 what=$2; shift 2
  local out t
  out=$( { /usr/bin/time -f "$tfmt" -o bench-data/.time "$@"; } 2>/dev/null | tail -1 || true )
  t=$(cat bench-data/.time | tail -1)
  awk -v n="$name" -v w="$what" -v o="$out" -v t="$t" -v size="$(stat -c %s "$file")" 'BEGIN {
    split(o, a, "\t"); split(t, b, "\t");
    wall = (a[5] != "" ? a[5] : b[1]); cpu = (a[9] != "" ? a[9] : b[2] + b[3]);
    printf "%s\t%s\t%s\t%s\t%.0f\t%.3f\t%.2f\t%.0f\t%s\t%.0f\n", n, w, (a[2] == "" ? "-" : a[2]), (a[3] == "" ? "-" : a[3]),
      size / 1e6, wall, cpu, size / 1e6 / wall, (a[2] == "" ? "-" : sprintf("%.0f", a[2] / wall)), b[4] / 1024 }'
}

for mb in "${sizes[@]}"; do
  for kind in small mixed; do
    file=bench-data/$kind-$mb.pcap
    [ -f "$file" ] || "${bench[@]}" gen-capture "$file" "$mb" "$kind" >/dev/null
    cat "$file" > /dev/null # warm the page cache
    for rep in 1 2 3; do
      row "$(basename "$file")" cat sh -c 'cat "$1" > /dev/null' _ "$file"
      row "$(basename "$file")" managed "${bench[@]}" read "$file"
      row "$(basename "$file")" sharppcap "${bench[@]}" sharppcap "$file"
    done
  done
done

# Compressed inputs (the reader decompresses in-process; SharpPcap cannot read these).
file=bench-data/small-${sizes[0]}.pcap
[ -f "$file.gz" ] || pigz -k -f "$file"
[ -f "$file.zst" ] || zstd -q -f "$file" -o "$file.zst"
for f in "$file.gz" "$file.zst"; do
  cat "$f" > /dev/null
  file=$f row "$(basename "$f")" cat sh -c 'cat "$1" > /dev/null' _ "$f"
  file=$f row "$(basename "$f")" managed "${bench[@]}" read "$f"
done
rm -f bench-data/.time
