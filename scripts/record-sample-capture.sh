#!/usr/bin/env bash
# Re-records samples-pcap/ from scratch: real DHT traffic between libtorrent 2.0 and webtorrent
# bittorrent-dht nodes (scripts/swarm/run-swarm.sh) inside a network namespace of its own, on
# that namespace's loopback only, captured twice at once:
#   - tcpdump -i lo, nanosecond pcap  -> dht-loopback-ns.pcap, and by editcap dht-loopback.pcap
#     (microsecond pcap) and dht-loopback.pcapng: the same frames and UDP payloads in all three;
#   - tcpdump -i any (Linux cooked v2, LINKTYPE_LINUX_SLL2) -> dht-any-sll2.pcap.
# Then gzip/zstd copies, samples-pcap/RECORDING.txt (versions, date, command), and the
# independent expected files (scripts/make-expected.sh).
#
#   scripts/record-sample-capture.sh [SECONDS]     (default 60; needs root for ip netns)
#
# Idempotent: a leftover namespace of an earlier run is removed first, and the namespace and
# every process started here are removed on exit, failure included.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
ns=pcapdht-rec
out=samples-pcap
work=artifacts/record
max_file=$((5 * 1024 * 1024)) max_total=$((25 * 1024 * 1024))

scripts/install-deps.sh record

# Children run in the background and are waited for with `wait`, which a signal interrupts: the
# traps then stop them at once. TERM, not INT: background jobs of a script ignore SIGINT.
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns del "$ns" 2>/dev/null || true
rm -rf "$work" && mkdir -p "$work" "$out"
ip netns add "$ns"
ip netns exec "$ns" ip link set lo mtu 1280 up

# -Z root: write the files as root (tcpdump would switch to its own user before opening them).
ip netns exec "$ns" tcpdump -i lo -Z root -U -n --time-stamp-precision nano -w "$work/lo.pcap" 2>"$work/tcpdump-lo.log" &
pids+=($!)
ip netns exec "$ns" tcpdump -i any -Z root -U -n -w "$work/any.pcap" 2>"$work/tcpdump-any.log" &
pids+=($!)
for _ in $(seq 50); do
  grep -q "listening on" "$work/tcpdump-lo.log" && grep -q "listening on" "$work/tcpdump-any.log" && break
  sleep 0.1
done
grep -q "listening on" "$work/tcpdump-any.log" || { echo "record: tcpdump did not start" >&2; cat "$work"/tcpdump-*.log >&2; exit 1; }

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
scripts/swarm/run-swarm.sh "$ns" "$seconds" 2> >(tee "$work/swarm.log" >&2) &
swarm=$!
pids+=("$swarm")
wait "$swarm"
sleep 1
cleanup
pids=()

rm -f "$out"/dht-*
cp "$work/lo.pcap" "$out/dht-loopback-ns.pcap"
editcap -F pcap "$work/lo.pcap" "$out/dht-loopback.pcap"
editcap -F pcapng "$work/lo.pcap" "$out/dht-loopback.pcapng"
cp "$work/any.pcap" "$out/dht-any-sll2.pcap"
for f in dht-loopback.pcap dht-loopback.pcapng; do
  gzip -9 -n -c "$out/$f" >"$out/$f.gz"
  zstd -q -19 -f "$out/$f" -o "$out/$f.zst"
done

# The formats the tests rely on, checked rather than assumed.
check() { capinfos -t -E "$1" | grep -q "$2" || { echo "record: $1 is not '$2'" >&2; capinfos -t -E "$1" >&2; exit 1; }; }
check "$out/dht-loopback-ns.pcap" "nanosecond pcap"
check "$out/dht-loopback.pcap" "Wireshark/tcpdump/... - pcap"
check "$out/dht-loopback.pcapng" "pcapng"
check "$out/dht-any-sll2.pcap" "Linux cooked-mode capture v2"

total=0
for f in "$out"/dht-*; do
  size=$(stat -c %s "$f"); total=$((total + size))
  if ((size > max_file)); then echo "record: $f is $size bytes (> 5 MB): shorten the run" >&2; exit 1; fi
done
if ((total > max_total)); then echo "record: samples total $total bytes (> 25 MB)" >&2; exit 1; fi

lock=scripts/swarm/package-lock.json
dht_version=$(node -e "console.log(require('./$lock').packages['node_modules/bittorrent-dht'].version)")
bencode_version=$(node -e "console.log(require('./$lock').packages['node_modules/bencode'].version)")
{
  echo "recorded: $started (UTC), ${seconds}s"
  echo "command: scripts/record-sample-capture.sh $seconds"
  echo "namespace: $ns (loopback only, MTU 1280)"
  echo "libtorrent: $(/usr/bin/python3 -c 'import libtorrent as lt; print(lt.__version__)') (Debian python3-libtorrent $(dpkg-query -W -f='${Version}' python3-libtorrent))"
  echo "bittorrent-dht: $dht_version (npm), bencode (decoder): $bencode_version (npm), node: $(node --version)"
  echo "tcpdump: $(tcpdump --version 2>&1 | head -1 | awk '{print $3}'), libpcap: $(tcpdump --version 2>&1 | sed -n 's/^libpcap version \([^ ]*\).*/\1/p'), tshark/editcap: $(tshark --version 2>/dev/null | head -1 | awk '{print $3}')"
  echo "nodes: libtorrent ${LT_NODES:-20} (read-only ${LT_READ_ONLY:-3}), bittorrent-dht IPv4 ${WT_V4:-8} + IPv6 ${WT_V6:-4}"
  echo "swarm: $(grep -h '^wt_swarm:\|^lt_swarm alerts:' "$work/swarm.log" | tr '\n' ' ')"
} >"$out/RECORDING.txt"

scripts/make-expected.sh
ls -l "$out" | sed 1d
echo "record: total $total bytes of captures"
