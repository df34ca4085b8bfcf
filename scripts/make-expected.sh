#!/usr/bin/env bash
# Writes samples-pcap/expected/ from the sample captures with decoders that share no code with
# PcapDht: tshark (frames, IP reassembly, UDP) + the npm `bencode` package
# (scripts/swarm/decode-krpc.mjs), cross-checked with tshark's own bt-dht dissector. Per capture:
#   expected/NAME.tsv[.gz]    one row per UDP datagram (format: samples-pcap/README.md)
#   expected/NAME.summary.tsv key<TAB>value counts
# NAME.gz / NAME.zst copies are checked to decompress to NAME byte for byte (same expected files).
#   scripts/make-expected.sh [CAPTURE...]   (default: every samples-pcap/dht-*.pcap|pcapng)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh record
out=samples-pcap/expected
mkdir -p "$out"
decoder=scripts/swarm/decode-krpc.mjs

captures=("$@")
if ((${#captures[@]} == 0)); then
  for f in samples-pcap/dht-*.pcap samples-pcap/dht-*.pcapng; do [ -e "$f" ] && captures+=("$f"); done
fi
for f in samples-pcap/dht-*.gz samples-pcap/dht-*.zst; do
  [ -e "$f" ] || continue
  base=${f%.*}
  case "$f" in *.gz) gzip -dc "$f" ;; *.zst) zstd -qdc "$f" ;; esac | cmp -s - "$base" \
    || { echo "make-expected: $f does not decompress to $base" >&2; exit 1; }
done

# IP reassembly is on by default in tshark; said explicitly because the expected rows depend on it.
ts=(-o ip.defragment:TRUE -o ipv6.defragment:TRUE)
nb() { tshark -r "$1" "${ts[@]}" -Y "$2" -T fields -e frame.number 2>/dev/null | wc -l; }

for cap in "${captures[@]}"; do
  name=$(basename "$cap")
  tsv=$out/$name.tsv sum=$out/$name.summary.tsv
  rm -f "$tsv" "$tsv.gz"
  # ICMP errors quote a UDP header: only datagrams that are not inside ICMP are rows.
  tshark -r "$cap" "${ts[@]}" -Y 'udp && !icmp && !icmpv6' -E occurrence=f -T fields \
    -e frame.number -e frame.time_epoch -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst \
    -e udp.srcport -e udp.dstport -e udp.payload 2>/dev/null | node "$decoder" "$tsv" "$sum.decoder"
  {
    printf 'file\t%s\n' "$name"
    printf 'file_type\t%s\n' "$(capinfos -t "$cap" | sed -n 's/^File type: *//p')"
    printf 'encapsulation\t%s\n' "$(capinfos -E "$cap" | sed -n 's/^File encapsulation: *//p')"
    printf 'frames\t%s\n' "$(capinfos -c -M "$cap" | sed -n 's/^Number of packets: *//p')"
    printf 'first_frame_epoch\t%s\n' "$(tshark -r "$cap" -c 1 -T fields -e frame.time_epoch 2>/dev/null)"
    printf 'ipv4_frames\t%s\n' "$(nb "$cap" 'ip && !ipv6')"
    printf 'ipv6_frames\t%s\n' "$(nb "$cap" 'ipv6')"
    printf 'icmp_frames\t%s\n' "$(nb "$cap" 'icmp || icmpv6')"
    printf 'fragment_frames_ipv4\t%s\n' "$(nb "$cap" '!icmp && (ip.flags.mf == 1 || ip.frag_offset > 0)')"
    printf 'fragment_frames_ipv6\t%s\n' "$(nb "$cap" '!icmpv6 && ipv6.fraghdr')"
    printf 'reassembled_datagrams_ipv4\t%s\n' "$(nb "$cap" 'udp && !icmp && ip.fragments')"
    printf 'reassembled_datagrams_ipv6\t%s\n' "$(nb "$cap" 'udp && !icmpv6 && ipv6.fragments')"
    printf 'tshark_bt_dht_datagrams\t%s\n' "$(nb "$cap" 'bt-dht && !icmp && !icmpv6')"
    tshark -r "$cap" "${ts[@]}" -Y 'bt-dht && !icmp && !icmpv6' -T fields -e bt-dht.node -e bt-dht.peer 2>/dev/null |
      awk -F'\t' '{ if ($1 != "") n += split($1, a, ","); if ($2 != "") p += split($2, b, ",") }
                  END { printf "tshark_bt_dht_nodes\t%d\ntshark_bt_dht_peers\t%d\n", n, p }'
    cat "$sum.decoder"
  } >"$sum"
  rm "$sum.decoder"
  if (($(stat -c %s "$tsv") > 1024 * 1024)); then gzip -9 -n "$tsv"; fi
  echo "make-expected: $name: $(grep -c . "$sum") summary lines"
done
