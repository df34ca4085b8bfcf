#!/usr/bin/env python3
"""Prints test.sh's last line: "tests: N passed, N failed, N skipped", and why tests were skipped.

usage: test-summary.py LOG TRX [LOG TRX]...
  one pair per `dotnet test` run (test.sh runs the suite, then the decoder classes per SIMD variant):
  LOG  its console output (the "Passed!/Failed!" lines count the tests when its TRX is missing)
  TRX  its trx results file: the counts, and each skipped test's reason (e.g. ../shared/captures absent)

A skipped test is easy to miss in a green run, so every reason is named with its count:
  tests: 600 passed, 0 failed, 9 skipped (9: third-party captures not found: expected ../shared/captures ...)
"""
import collections, re, sys
import xml.etree.ElementTree as ET

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
totals = collections.Counter()
reasons = collections.Counter()


def from_log(log):
    counts = collections.Counter()
    try:
        for line in open(log, encoding="utf-8", errors="replace"):
            if re.match(r"^(Passed|Failed)!", line):  # one line per test assembly
                for k in ("Passed", "Failed", "Skipped"):
                    m = re.search(k + r":\s*(\d+)", line)
                    if m:
                        counts[k] += int(m.group(1))
    except OSError:
        pass
    return counts


def from_trx(trx):
    """Counts from the trx's results (None when it has none), and the skip reasons into `reasons`."""
    try:
        results = list(ET.parse(trx).getroot().iterfind(".//t:UnitTestResult", NS))
    except (OSError, ET.ParseError):
        return None
    if not results:
        return None
    outcomes = collections.Counter(r.get("outcome") for r in results)
    for r in results:
        if r.get("outcome") == "NotExecuted":
            msg = r.find("t:Output/t:ErrorInfo/t:Message", NS)
            reasons[(msg.text or "").strip() if msg is not None else "no reason given"] += 1
    return collections.Counter({"Passed": outcomes["Passed"], "Skipped": outcomes["NotExecuted"],
                                "Failed": sum(n for o, n in outcomes.items() if o not in ("Passed", "NotExecuted"))})


args = sys.argv[1:]
for log, trx in zip(args[0::2], args[1::2]):
    totals.update(from_trx(trx) or from_log(log))

line = f"tests: {totals['Passed']} passed, {totals['Failed']} failed, {totals['Skipped']} skipped"
if reasons:
    line += " (" + "; ".join(f"{n}: {why}" for why, n in reasons.most_common()) + ")"
print(line)
