#!/usr/bin/env python3
"""Generate a large DHT capture for benchmarks by replicating the UDP payloads of a real capture.

usage: gen-bench-capture.py SOURCE.pcap OUT.pcap PACKETS

Every whole (unfragmented) UDP datagram of SOURCE (classic pcap, Ethernet / raw / SLL2) is written
again and again as LINKTYPE_RAW IPv4/IPv6 packets. Replica k maps each address to another one in a
way that is the same for both directions (so queries and their responses still pair up), and time
moves on by 5 us per packet. The output is never committed (bench-data/ is gitignored).
"""
import struct
import sys


def read_datagrams(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        sys.exit(f"{path}: not a classic pcap file")
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    out = []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:
            if len(pkt) < 14:
                continue
            ethertype = struct.unpack(">H", pkt[12:14])[0]
            ip = pkt[14:]
        elif linktype == 101:
            ip = pkt
            ethertype = 0x0800 if ip and ip[0] >> 4 == 4 else 0x86DD
        elif linktype == 276:
            ethertype = struct.unpack(">H", pkt[0:2])[0]
            ip = pkt[20:]
        else:
            sys.exit(f"{path}: link type {linktype} not supported by this generator")
        if ethertype == 0x0800 and len(ip) >= 20 and ip[9] == 17:
            ihl = (ip[0] & 15) * 4
            if struct.unpack(">H", ip[6:8])[0] & 0x3FFF:  # fragment
                continue
            src, dst = ip[12:16], ip[16:20]
            sport, dport = struct.unpack(">HH", ip[ihl:ihl + 4])
            out.append((4, src, dst, sport, dport, ip[ihl + 8:]))
        elif ethertype == 0x86DD and len(ip) >= 48 and ip[6] == 17:
            src, dst = ip[8:24], ip[24:40]
            sport, dport = struct.unpack(">HH", ip[40:44])
            out.append((6, src, dst, sport, dport, ip[48:]))
    return out


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f">{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    src, dst, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    grams = read_datagrams(src)
    if not grams:
        sys.exit(f"{src}: no UDP datagrams")
    ts_us = 1_700_000_000 * 1_000_000
    with open(dst, "wb", buffering=1 << 22) as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        written = 0
        k = 0
        while written < count:
            # replica k: IPv4 a.b.c.d -> (10 + k // 65536).(k // 256 % 256).(k % 256).(c ^ d); IPv6 gets k in bytes 4..7
            v4 = bytes([10 + (k >> 16) % 200, (k >> 8) & 255, k & 255])
            v6 = struct.pack(">I", k)
            for fam, s, d, sp, dp, payload in grams:
                if written >= count:
                    break
                if fam == 4:
                    s2 = v4 + bytes([s[2] ^ s[3]])
                    d2 = v4 + bytes([d[2] ^ d[3]])
                    udp = struct.pack(">HHHH", sp, dp, 8 + len(payload), 0) + payload
                    hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), written & 0xFFFF, 0, 64, 17, 0, s2, d2)
                    hdr = hdr[:10] + struct.pack(">H", checksum(hdr)) + hdr[12:]
                    pkt = hdr + udp
                else:
                    s2 = s[:4] + v6 + s[8:]
                    d2 = d[:4] + v6 + d[8:]
                    udp = struct.pack(">HHHH", sp, dp, 8 + len(payload), 0) + payload
                    pkt = struct.pack(">IHBB16s16s", 0x60000000, len(udp), 17, 64, s2, d2) + udp
                ts_us += 5
                f.write(struct.pack("<IIII", ts_us // 1_000_000, ts_us % 1_000_000, len(pkt), len(pkt)))
                f.write(pkt)
                written += 1
            k += 1
    print(f"{dst}: {written} packets from {len(grams)} datagrams of {src} x {k} replicas")


if __name__ == "__main__":
    main()
