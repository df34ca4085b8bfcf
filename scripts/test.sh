#!/usr/bin/env bash
# The test command: installs what the tests need, builds, runs every test, ends with one plain
# "tests: N passed, N failed, N skipped (N: why)" line.
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
# The summary names why tests were skipped (e.g. ../shared/captures absent), not only how many.
summary=$(python3 scripts/test-summary.py artifacts/test/log.txt artifacts/test/results.trx)
echo "$summary"
passed=$(sed -nE 's/^tests: ([0-9]+) passed.*/\1/p' <<<"$summary")
if [ "${passed:-0}" -eq 0 ]; then echo "test.sh: no test ran" >&2; exit 1; fi
exit "$rc"
