#!/usr/bin/env python3
"""A small libtorrent DHT swarm on 127.0.0.1 for the sniff tests (run inside a network namespace).

usage: dht_swarm.py NODES SECONDS [BASE_PORT]
Starts NODES libtorrent sessions that bootstrap off each other and keep doing get_peers/announce
for SECONDS, so the loopback interface carries real KRPC traffic (ping, find_node, get_peers,
announce_peer and their responses)."""
import hashlib
import sys
import time

import libtorrent as lt

nodes = int(sys.argv[1])
seconds = float(sys.argv[2])
base = int(sys.argv[3]) if len(sys.argv) > 3 else 16881

boot = ",".join(f"127.0.0.1:{base + i}" for i in range(min(nodes, 4)))
sessions = []
for i in range(nodes):
    s = lt.session({
        "listen_interfaces": f"127.0.0.1:{base + i}",
        "enable_dht": True, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "dht_restrict_routing_ips": False, "dht_restrict_search_ips": False,
        "dht_ignore_dark_internet": False, "dht_enforce_node_id": False,
        "dht_prefer_verified_node_ids": False,
        "dht_bootstrap_nodes": boot,
        "alert_mask": 0,
    })
    sessions.append(s)
for i, s in enumerate(sessions):
    for j in range(nodes):
        if j != i:
            s.add_dht_node(("127.0.0.1", base + j))

# A few torrents per node make libtorrent itself announce_peer (the binding hides dht_announce's flags type).
for i, s in enumerate(sessions):
    for k in range(2):
        p = lt.parse_magnet_uri("magnet:?xt=urn:btih:" + hashlib.sha1(f"pcapdht-torrent-{k}".encode()).hexdigest())
        p.save_path = "/tmp"
        p.flags |= lt.torrent_flags.upload_mode
        s.async_add_torrent(p)

end = time.time() + seconds
round_ = 0
while time.time() < end:
    for i, s in enumerate(sessions):
        h = lt.sha1_hash(hashlib.sha1(f"pcapdht-sniff-{round_}-{i}".encode()).digest())
        s.dht_get_peers(h)
    round_ += 1
    time.sleep(0.2)
print(f"swarm: {nodes} nodes, {round_} rounds", flush=True)
