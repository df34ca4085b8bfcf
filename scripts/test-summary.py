#!/usr/bin/env python3
"""Prints test.sh's last line: "tests: N passed, N failed, N skipped", and why tests were skipped.

usage: test-summary.py LOG TRX
  LOG  the console output of `dotnet test` (its "Passed!/Failed!" line has the counts; used without a TRX)
  TRX  the trx results file: the counts, and each skipped test's reason (e.g. ../shared/captures absent)

A skipped test is easy to miss in a green run, so every reason is named with its count:
  tests: 600 passed, 0 failed, 9 skipped (9: third-party captures not found: expected ../shared/captures ...)
"""
import collections, re, sys
import xml.etree.ElementTree as ET

log, trx = sys.argv[1], sys.argv[2]
counts = {"Passed": 0, "Failed": 0, "Skipped": 0}
try:
    lines = [l for l in open(log, encoding="utf-8", errors="replace") if re.match(r"^(Passed|Failed)!", l)]
    for line in lines[-1:]:
        for k in counts:
            m = re.search(k + r":\s*(\d+)", line)
            if m:
                counts[k] = int(m.group(1))
except OSError:
    pass

reasons = collections.Counter()
try:
    ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
    results = list(ET.parse(trx).getroot().iterfind(".//t:UnitTestResult", ns))
    if results:  # one result per test case of every assembly; the log line has only the last assembly's
        outcomes = collections.Counter(r.get("outcome") for r in results)
        counts = {"Passed": outcomes["Passed"], "Skipped": outcomes["NotExecuted"],
                  "Failed": sum(n for o, n in outcomes.items() if o not in ("Passed", "NotExecuted"))}
    for r in results:
        if r.get("outcome") != "NotExecuted":
            continue
        msg = r.find("t:Output/t:ErrorInfo/t:Message", ns)
        reasons[(msg.text or "").strip() if msg is not None else "no reason given"] += 1
except (OSError, ET.ParseError):
    pass

line = f"tests: {counts['Passed']} passed, {counts['Failed']} failed, {counts['Skipped']} skipped"
if reasons:
    line += " (" + "; ".join(f"{n}: {why}" for why, n in reasons.most_common()) + ")"
print(line)
