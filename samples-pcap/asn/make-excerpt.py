#!/usr/bin/env python3
"""Cuts the committed excerpt out of the full @ip-location-db tables.

Usage: make-excerpt.py ASN_PACKAGE_DIR ASN_COUNTRY_PACKAGE_DIR
(the unpacked `package/` folders of `npm pack @ip-location-db/asn @ip-location-db/asn-country`).
Keeps every range of a few large access ISPs (v4 and v6) and the country ranges overlapping them,
so the excerpt stays small (< 2 MB) but has a realistic ISP mix. Rows are copied unchanged.
Writes package.json with the packages' version: `pcapdht asn import` dates the data by it.
"""
import csv, ipaddress, json, sys

ASNS = {12389, 4766, 4134, 7922, 3320, 4837, 9318, 8402, 3215, 7018, 13335, 2856}
asn_dir, cc_dir = sys.argv[1], sys.argv[2]

for fam in ("ipv4", "ipv6"):
    kept = []
    with open(f"{asn_dir}/asn-{fam}.csv", newline="") as f, open(f"asn-{fam}.csv", "w", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        for row in csv.reader(f):
            if int(row[2]) in ASNS:
                w.writerow(row)
                kept.append((int(ipaddress.ip_address(row[0])), int(ipaddress.ip_address(row[1]))))
    kept.sort()
    starts = [k[0] for k in kept]
    import bisect
    with open(f"{cc_dir}/asn-country-{fam}.csv", newline="") as f, open(f"asn-country-{fam}.csv", "w", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        for row in csv.reader(f):
            s, e = int(ipaddress.ip_address(row[0])), int(ipaddress.ip_address(row[1]))
            i = bisect.bisect_right(starts, e) - 1
            if i >= 0 and kept[i][1] >= s:
                w.writerow(row)

with open(f"{asn_dir}/package.json") as f:
    version = json.load(f)["version"]
with open("package.json", "w") as out:
    json.dump({
        "name": "@ip-location-db/asn",
        "version": version,
        "private": True,
        "description": f"Excerpt of @ip-location-db/asn and @ip-location-db/asn-country {version} (rows selected by "
                       "make-excerpt.py, unchanged). pcapdht asn import reads the version for the data's date. See README.md.",
        "license": "CC-BY-4.0",
    }, out, indent=2)
    out.write("\n")
