#!/usr/bin/env bash
# Runs a real Mainline DHT swarm for SECONDS inside an EXISTING network namespace NETNS, on that
# namespace's loopback only, then stops it. Usage:
#
#   scripts/swarm/run-swarm.sh NETNS SECONDS
#
# It brings lo up with MTU 1280 (so large KRPC replies are IP-fragmented) and adds one
# 127.0.X.1/24 and one fd00:0:0:X::1/64 address per node (already-present addresses are kept),
# then starts, in NETNS:
#   - LT_NODES (default 20) libtorrent 2.0 sessions (Debian python3-libtorrent, /usr/bin/python3),
#     X = 1..LT_NODES, port 6881 on both families; the last LT_READ_ONLY (default 3) are BEP 43
#     read-only nodes;
#   - WT_V4 (default 8) IPv4 and WT_V6 (default 4) IPv6 webtorrent bittorrent-dht nodes,
#     X = 101.., port 20000+J.
# Traffic: bootstrap/find_node, ping, get_peers, announce_peer, BEP 44 get/put (immutable and
# mutable, ed25519), BEP 51 sample_infohashes, error replies. Needs scripts/install-deps.sh
# record (npm packages in scripts/swarm/node_modules). Used by scripts/record-sample-capture.sh
# and by the live-capture tests: `ip netns add NS; ip netns exec NS ip link set lo up`, start the
# capture on NS's lo, then run this (it ends by itself, about SECONDS + 8 s later).
# Exit status: 0 when both halves ran to the end; their summaries go to stderr.
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: run-swarm.sh NETNS SECONDS" >&2; exit 2; fi
ns=$1 seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
lt_nodes=${LT_NODES:-20} lt_ro=${LT_READ_ONLY:-3} wt_v4=${WT_V4:-8} wt_v6=${WT_V6:-4}

if ! ip netns list | grep -qw -- "$ns"; then echo "run-swarm.sh: no network namespace '$ns'" >&2; exit 2; fi
if [ ! -d "$here/node_modules/bittorrent-dht" ]; then
  echo "run-swarm.sh: npm packages missing; run scripts/install-deps.sh record" >&2; exit 2
fi
nsx() { ip netns exec "$ns" "$@"; }

nsx ip link set lo mtu 1280 up
add_addr() { # idempotent: an address that is already there is fine
  local out
  if ! out=$(nsx ip addr add "$@" dev lo 2>&1); then
    grep -Eq "File exists|already assigned" <<<"$out" || { echo "run-swarm.sh: ip addr add $*: $out" >&2; exit 1; }
  fi
}
for ((i = 1; i <= lt_nodes; i++)); do
  add_addr "127.0.$i.1/24"
  add_addr "fd00:0:0:$(printf %x "$i")::1/64" nodad
done
for ((j = 1; j <= wt_v4 + wt_v6; j++)); do
  if ((j <= wt_v4)); then add_addr "127.0.$((100 + j)).1/24"
  else add_addr "fd00:0:0:$(printf %x $((100 + j)))::1/64" nodad; fi
done

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns exec "$ns" /usr/bin/python3 "$here/lt_swarm.py" --nodes "$lt_nodes" --read-only "$lt_ro" --seconds "$seconds" &
pids+=($!)
sleep 3 # libtorrent listens first: the webtorrent nodes bootstrap from it
(cd "$here" && exec ip netns exec "$ns" node wt_swarm.mjs --lt-nodes "$lt_nodes" --v4 "$wt_v4" --v6 "$wt_v6" --seconds "$((seconds - 3))") &
pids+=($!)

rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
pids=()
exit "$rc"
