#!/usr/bin/env bash
# Live capture benchmark: the highest replay rate `pcapdht sniff` keeps up with, with zero drops.
# A synthetic mixed DHT capture (pcapdht synth) is replayed with tcpreplay into one end of a veth pair
# inside a private network namespace; `pcapdht sniff` captures the other end and writes DuckDB as in
# production (default filter, --flush-interval 5s). For each --pps step: packets sent (tcpreplay),
# captured, libpcap kernel drops (ps_drop), interface drops, and KRPC messages committed.
# Needs root, tcpreplay, iproute2. Generated files live in bench-data/sniff/ (gitignored).
# Usage: sudo scripts/bench-sniff.sh [PPS|max ...]   (default: 50000 100000 150000 200000 250000 300000 max)
#   "max" replays with --topspeed (as fast as tcpreplay can on this machine).
#   SECONDS_PER_STEP=10  PACKETS=2000000 (frames in the generated capture)
#   SENDER=replay (default: the benchmark project's sendmmsg sender, ~3x cheaper per packet than
#   tcpreplay, which needed a whole core at 200 000 packets/s on the 2 cores it shares with sniff) or tcpreplay
#   OLD=path/to/old/pcapdht.dll: every step also runs the old build, right after this one, and the table
#   gets the sniffer's CPU time per captured packet (utime+stime of the process from the moment its capture
#   row says running to its exit, so the final flush is included) and the ratio new : old.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "bench-sniff.sh: needs root (network namespace, capture)" >&2; exit 1; fi
steps=("$@"); ((${#steps[@]})) || steps=(50000 100000 150000 200000 250000 300000 max)
per_step=${SECONDS_PER_STEP:-10}
packets=${PACKETS:-2000000}
out=bench-data/sniff
mkdir -p "$out"

sender=${SENDER:-replay}
[ -n "${NO_BUILD:-}" ] || dotnet build src/PcapDht.Cli -c Release --nologo -v q >/dev/null
[ -n "${NO_BUILD:-}" ] || [ "$sender" != replay ] || dotnet build tests/PcapDht.Benchmarks -c Release --nologo -v q >/dev/null
pcapdht=(dotnet src/PcapDht.Cli/bin/Release/net10.0/pcapdht.dll)
capture=$out/synth-$packets.pcap
[ -f "$capture" ] || "${pcapdht[@]}" synth --out "$capture" --packets "$packets" --seed 11 >/dev/null

ns=sniff-bench-$$
cleanup() {
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
nsx ip link add vb0 type veth peer name vb1
nsx ip link set vb0 up
nsx ip link set vb1 up
# Nothing answers: no addresses on the veth, so the replayed packets end at the sniffer's socket.

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# dotnet $(dotnet --version), libpcap $(dpkg-query -W -f='${Version}' libpcap0.8 2>/dev/null || echo '?'), tcpreplay $(tcpreplay --version 2>&1 | head -1 | awk '{print $3}')"
echo "# capture $capture: $(stat -c %s "$capture") bytes, $packets frames; ${per_step}s per step; sender $sender; sniff and the sender share the cores"
printf 'build\tpps_target\tpps_sent\tsent\tcaptured\tkernel_drops\tif_drops\tkrpc_messages\tzero_drop\tcpu_us_per_packet\tcpu_new_old\n'
best=0
ticks=$(getconf CLK_TCK)
cpu_of() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; } # utime + stime, clock ticks, all threads
builds=(new); [ -n "${OLD:-}" ] && builds+=(old)
for pps in "${steps[@]}"; do
  new_cpu=""
  for build in "${builds[@]}"; do
  bin=("${pcapdht[@]}"); [ "$build" = old ] && bin=(dotnet "$OLD")
  db=$out/step-$pps-$build.duckdb
  rm -f "$db" "$db.wal"
  if [ "$pps" = max ]; then limit=$packets; speed=(--topspeed); else limit=$((pps * per_step)); speed=(--pps="$pps"); fi
  ip netns exec "$ns" "${bin[@]}" sniff -i vb1 --db "$db" --buffer-size 256M > "$out/sniff-$pps-$build.out" 2> "$out/sniff-$pps-$build.err" &
  spid=$!
  # Capturing once its session row says running (the first open creates the schema, seconds on a new file).
  for _ in $(seq 1 300); do
    st=$("${pcapdht[@]}" query "SELECT count(*) FROM captures WHERE status = 'running'" --db "$db" --format csv 2>/dev/null | tail -1 || true)
    [ "$st" = 1 ] && break
    kill -0 "$spid" 2>/dev/null || { echo "# sniff failed: $(tail -3 "$out/sniff-$pps-$build.err")" >&2; exit 1; }
    sleep 0.2
  done
  cpu0=$(cpu_of "$spid")
  if [ "$sender" = replay ]; then
    rate_arg=$pps; [ "$pps" = max ] && rate_arg=max
    rep=$(nsx dotnet tests/PcapDht.Benchmarks/bin/Release/net10.0/PcapDht.Benchmarks.dll replay vb0 "$capture" "$rate_arg" "$limit" 2>&1 || true)
  else
    rep=$(nsx tcpreplay -i vb0 "${speed[@]}" --preload-pcap --limit="$limit" --loop=0 "$capture" 2>&1 || true)
  fi
  sent=$(sed -nE 's/.*Successful packets: *([0-9]+).*/\1/p' <<<"$rep" | head -1)
  rate=$(sed -nE 's/.*Rated: .*, ([0-9.]+) pps.*/\1/p' <<<"$rep" | head -1)
  sleep 1
  kill -TERM "$spid"
  # Its CPU time at exit: a zombie keeps its counters until it is waited for.
  cpu1=$cpu0
  for _ in $(seq 1 1200); do
    state=$(awk '{ print $3 }' "/proc/$spid/stat" 2>/dev/null || echo gone)
    [ "$state" = gone ] && break
    cpu1=$(cpu_of "$spid")
    [ "$state" = Z ] && break
    sleep 0.1
  done
  wait "$spid" || true
  line=$(grep -E "^sniff " "$out/sniff-$pps-$build.err" | tail -1 || true)
  captured=$(sed -nE 's/.*: ([0-9,]+) packets,.*/\1/p' <<<"$line" | tr -d ,)
  krpc=$(sed -nE 's/.* ([0-9,]+) KRPC messages.*/\1/p' <<<"$line" | tr -d ,)
  kdrop=$(sed -nE 's/.*dropped ([0-9,]+) \(kernel\).*/\1/p' <<<"$line" | tr -d ,)
  idrop=$(sed -nE 's/.*\(kernel\) ([0-9,]+) \(interface\).*/\1/p' <<<"$line" | tr -d ,)
  cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$ticks" -v n="${captured:-0}" 'BEGIN { if (n > 0) printf "%.2f", (b - a) / t * 1e6 / n; else print "?" }')
  cmp="-"
  if [ "$build" = new ]; then new_cpu=$cpu; elif [ -n "$new_cpu" ] && [ "$cpu" != "?" ] && [ "$new_cpu" != "?" ]; then
    cmp=$(awk -v a="$new_cpu" -v b="$cpu" 'BEGIN { printf "%.3f", a / b }'); fi
  ok=no
  if [ -n "$captured" ] && [ "${kdrop:-1}" = 0 ] && [ "${idrop:-1}" = 0 ] && [ "$captured" = "${sent:-x}" ]; then
    ok=yes
    [ "$build" = new ] && best=$(awk -v a="$best" -v b="${rate:-0}" 'BEGIN { print (b > a ? int(b) : a) }')
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$build" "$pps" "${rate:-?}" "${sent:-?}" "${captured:-?}" "${kdrop:-?}" "${idrop:-?}" "${krpc:-?}" "$ok" "$cpu" "$cmp"
  [ -n "$line" ] || { echo "# sniff said: $(tail -3 "$out/sniff-$pps-$build.err")"; }
  done
done
echo "# highest zero-drop rate actually sent (this build): $best packets/s; load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
