#!/usr/bin/env bash
# The test command: installs what the tests need, builds, runs every test, ends with one plain
# "tests: N passed, N failed, N skipped" line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
dotnet build PcapDht.sln -c Release --nologo -v q
mkdir -p artifacts/test
set +e
dotnet test PcapDht.sln -c Release --no-build --nologo \
  --logger "trx;LogFileName=results.trx" --results-directory artifacts/test "$@" 2>&1 | tee artifacts/test/log.txt
rc=${PIPESTATUS[0]}
set -e
line=$(grep -E '^(Passed|Failed)!' artifacts/test/log.txt | tail -1 || true)
passed=$(sed -nE 's/.*Passed: *([0-9]+).*/\1/p' <<<"$line"); failed=$(sed -nE 's/.*Failed: *([0-9]+),.*/\1/p' <<<"$line")
skipped=$(sed -nE 's/.*Skipped: *([0-9]+).*/\1/p' <<<"$line")
echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
if [ "${passed:-0}" -eq 0 ]; then echo "test.sh: no test ran" >&2; exit 1; fi
exit "$rc"
