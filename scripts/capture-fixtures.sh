#!/usr/bin/env bash
# Records a small real capture on loopback inside a private network namespace and writes it in every
# container flavour the reader supports: pcap (µs), nanosecond pcap, pcapng, and gzip/zstd of each,
# plus an SLL2 capture ("any" interface). UDP datagrams of DHT-like sizes, some larger than the 1500-byte
# MTU set on lo so IPv4 and IPv6 fragment. Usage: scripts/capture-fixtures.sh OUTDIR  (needs root).
set -euo pipefail
out=${1:?usage: capture-fixtures.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
ns=capture-fx-$$
cleanup() { ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo mtu 1500
ip -n "$ns" link set lo up
sleep 0.3

sender=$(mktemp)
cat > "$sender" <<'PY'
import socket, time
def send(family, host, sizes):
    r = socket.socket(family, socket.SOCK_DGRAM); r.bind((host, 6881))
    s = socket.socket(family, socket.SOCK_DGRAM); s.bind((host, 51413))
    for i, n in enumerate(sizes):
        body = b"d1:ad2:id20:" + bytes([65 + i % 26]) * 20 + b"e1:q4:ping1:t2:" + i.to_bytes(2, "big") + b"1:y1:qe"
        payload = body + b"x" * max(0, n - len(body))
        s.sendto(payload, (host, 6881))
        r.recvfrom(65535)
        time.sleep(0.002)
send(socket.AF_INET, "127.0.0.1", [60, 300, 1000, 1472, 1473, 3000, 9000])
send(socket.AF_INET6, "::1", [60, 300, 1452, 1453, 3000, 9000])
PY

for kind in lo any; do
  f="$out/fx-$kind.pcap"
  ip netns exec "$ns" tcpdump -U -i "$kind" -w "$f" >/dev/null 2>"$out/tcpdump.log" &
  tp=$!
  for _ in $(seq 100); do grep -q listening "$out/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
  ip netns exec "$ns" python3 "$sender"
  sleep 0.5
  kill "$tp"; wait "$tp" 2>/dev/null || true
done
rm -f "$out/tcpdump.log"
rm -f "$sender"

# tcpdump on "any" writes LINKTYPE_LINUX_SLL2 (276) in libpcap >= 1.10; keep it as its own flavour.
mv "$out/fx-any.pcap" "$out/fx-sll2.pcap"
base="$out/fx-lo"
editcap -F nsecpcap "$base.pcap" "$base.nsec.pcap"
editcap -F pcapng "$base.pcap" "$base.pcapng"
for f in "$base.pcap" "$base.nsec.pcap" "$base.pcapng" "$out/fx-sll2.pcap"; do
  gzip -9 -k -f "$f"
  zstd -q -f "$f" -o "$f.zst"
done
ls -l "$out"
