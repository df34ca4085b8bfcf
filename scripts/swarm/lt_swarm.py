#!/usr/bin/python3
"""libtorrent 2.0 half of the PcapDht sample swarm (run with Debian's /usr/bin/python3 and
python3-libtorrent, inside the network namespace prepared by run-swarm.sh).

Starts N libtorrent sessions in one process, each bound to its own loopback /24 (127.0.I.1) and
ULA /64 (fd00:0:0:I::1) on port 6881, so libtorrent's per-subnet routing-table limits do not
collapse them. The last R sessions are BEP 43 read-only nodes. Every session bootstraps from a
few other sessions, then drives the DHT with the operations the captures must contain:
get_peers, BEP 44 immutable/mutable get+put (ed25519 keys derived from fixed
seeds), BEP 51 sample_infohashes over IPv4 and IPv6. ping and find_node come from bootstrap and
routing-table refresh. announce_peer comes from the webtorrent half (wt_swarm.mjs): the Python
binding of libtorrent 2.0.8 does not export the flags type of session.dht_announce, and
announcing through info-hash-only torrents made libtorrent query the announced peer endpoints
as DHT nodes (a get_peers storm of ~300k datagrams a minute on loopback), so it is not used.
Exits by itself after --seconds.
"""
import argparse
import hashlib
import random
import socket
import sys
import time

import libtorrent as lt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# Shared with wt_swarm.mjs: the info-hash every node announces, so that get_peers answers
# carry many values (large enough to be IP-fragmented at MTU 1280).
POPULAR = hashlib.sha1(b"pcapdht popular").digest()


def addr4(i):
    return f"127.0.{i}.1"


def addr6(i):
    return f"fd00:0:0:{i:x}::1"


def ed25519_keys(seed_text):
    """libtorrent wants the 64-byte expanded secret (orlp/ed25519 layout: clamped SHA-512 of
    the seed) and the 32-byte public key; python's cryptography gives the public key."""
    seed = hashlib.sha256(seed_text.encode()).digest()
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    expanded = bytearray(hashlib.sha512(seed).digest())
    expanded[0] &= 248
    expanded[31] &= 63
    expanded[31] |= 64
    return bytes(expanded), public


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def bep42_id(ip4, seed):
    """A node id that is BEP 42-valid for ip4, the rest fixed by seed. libtorrent replaces an id
    that does not match the external IP it learns from "ip" votes, and the stale ids left in the
    other nodes' tables made its traversals query the same endpoint hundreds of times."""
    rnd = hashlib.sha1(seed.encode()).digest()
    r = rnd[19] & 7
    ip = bytes(int(x) for x in ip4.split("."))
    masked = bytes(a & m for a, m in zip(ip, (0x03, 0x0F, 0x3F, 0xFF)))
    masked = bytes([masked[0] | (r << 5)]) + masked[1:]
    crc = crc32c(masked)
    return bytes([(crc >> 24) & 0xFF, (crc >> 16) & 0xFF, ((crc >> 8) & 0xF8) | (rnd[2] & 7)]) + rnd[3:19] + bytes([rnd[19]])


def session_params(i, sp):
    v4 = bep42_id(addr4(i), f"pcapdht lt id v4 {i}") + socket.inet_aton(addr4(i))
    v6 = hashlib.sha1(f"pcapdht lt id v6 {i}".encode()).digest() + socket.inet_pton(socket.AF_INET6, addr6(i))
    params = lt.read_session_params(lt.bencode({"dht state": {"node-id": [v4, v6]}}))
    params.settings = sp
    return params


def settings(i, nodes, read_only, bootstrap):
    return {
        "listen_interfaces": f"{addr4(i)}:6881,[{addr6(i)}]:6881",
        "enable_dht": True,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        # Loopback addresses: libtorrent would otherwise treat them as one subnet / dark space.
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_ignore_dark_internet": False,
        "dht_enforce_node_id": False,
        "dht_prefer_verified_node_ids": False,
        "dht_read_only": read_only,
        "dht_bootstrap_nodes": bootstrap,
        # Big replies on purpose: fragmented datagrams in the samples.
        "dht_max_peers_reply": 250,
        "dht_max_infohashes_sample_count": 120,
        # All queries come from a handful of loopback hosts: do not block them.
        "dht_block_ratelimit": 10000,
        "dht_upload_rate_limit": 40000,
        "alert_mask": lt.alert.category_t.dht_notification | lt.alert.category_t.error_notification,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--read-only", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    n = args.nodes
    ids = list(range(1, n + 1))

    sessions = []
    for i in ids:
        peers = rnd.sample([j for j in ids if j != i], 3)
        boot = ",".join([f"{addr4(j)}:6881" for j in peers[:2]] + [f"[{addr6(peers[2])}]:6881"])
        ro = i > n - args.read_only
        sessions.append(lt.session(session_params(i, settings(i, n, ro, boot))))
        time.sleep(0.05)
    writers = [s for k, s in enumerate(sessions) if ids[k] <= n - args.read_only]

    own = [hashlib.sha1(f"pcapdht lt {i}".encode()).digest() for i in ids]
    immutable = [f"pcapdht immutable item {k}" for k in range(3)]
    keys = [ed25519_keys(f"pcapdht lt mutable {k}") for k in range(2)]

    def bencode_str(s):
        return f"{len(s)}:{s}".encode()

    # Timeline, in seconds from start; each step runs once when its time has come.
    start = time.monotonic()
    steps = []

    def at(t, fn):
        steps.append((t, fn))

    for k in range(0, n, 2):
        at(14 + k * 0.3, lambda k=k: sessions[k].dht_get_peers(lt.sha1_hash(POPULAR)))
    for k in range(1, n, 3):
        at(18 + k * 0.3, lambda k=k: sessions[k].dht_get_peers(lt.sha1_hash(own[(k + 5) % n])))
    for k, text in enumerate(immutable):
        at(12 + k, lambda k=k, text=text: writers[k].dht_put_immutable_item(text))
    for k, (sk, pk) in enumerate(keys):
        at(13 + k, lambda sk=sk, pk=pk: writers[3].dht_put_mutable_item(sk, pk, "pcapdht mutable v1", ""))
        at(14 + k, lambda sk=sk, pk=pk, k=k: writers[4].dht_put_mutable_item(sk, pk, f"salted {k}", f"salt{k}"))
    for k in range(6):
        target = hashlib.sha1(bencode_str(immutable[k % 3])).digest()
        at(22 + k, lambda k=k, target=target: sessions[(k * 3 + 1) % n].dht_get_immutable_item(lt.sha1_hash(target)))
        sk, pk = keys[k % 2]
        at(23 + k, lambda k=k, pk=pk: sessions[(k * 5 + 2) % n].dht_get_mutable_item(pk, b""))
    # BEP 51: every session samples a few others, over IPv4 and over IPv6.
    for k in range(n):
        for m in range(2):
            j = ids[(k + 1 + m * 7) % n]
            ep = (addr4(j), 6881) if m == 0 else (addr6(j), 6881)
            at(30 + k * 0.5 + m * 8, lambda k=k, ep=ep: sessions[k].dht_sample_infohashes(ep, lt.sha1_hash(rnd.randbytes(20))))
    # Second round of lookups once the webtorrent announcers have filled the peer lists.
    for k in range(1, n, 2):
        at(42 + k * 0.4, lambda k=k: sessions[k].dht_get_peers(lt.sha1_hash(POPULAR)))
    steps.sort(key=lambda s: s[0])

    counts = {}
    nxt = 0
    while True:
        now = time.monotonic() - start
        if now >= args.seconds:
            break
        while nxt < len(steps) and steps[nxt][0] <= now:
            try:
                steps[nxt][1]()
            except Exception as e:  # one failed step must not stop the swarm
                print(f"lt_swarm: step at {steps[nxt][0]}s failed: {e}", file=sys.stderr)
            nxt += 1
        for s in sessions:
            for a in s.pop_alerts():
                counts[type(a).__name__] = counts.get(type(a).__name__, 0) + 1
        time.sleep(0.1)

    print("lt_swarm alerts: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())), file=sys.stderr)
    for s in sessions:
        s.pause()
    del sessions


if __name__ == "__main__":
    main()
