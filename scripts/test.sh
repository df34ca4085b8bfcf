#!/usr/bin/env bash
# The test command: installs what the tests need, builds, runs every test, then runs the decoder's test
# classes again under each forced SIMD variant (PCAPDHT_SIMD; the whole suite runs with the default),
# and ends with one plain "tests: N passed, N failed, N skipped (N: why)" line over all runs, naming why
# tests were skipped (e.g. ../shared/captures absent).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
dotnet build PcapDht.sln -c Release --nologo -v q
mkdir -p artifacts/test
rm -f artifacts/test/*.trx artifacts/test/log*.txt  # a run that dies before writing its results must not count old ones
# The classes whose code paths differ per variant: the bencode reader, the KRPC decoder, and the pipeline over real captures.
simd_filter='FullyQualifiedName~PcapDht.Tests.Bencode|FullyQualifiedName~PcapDht.Tests.Krpc|FullyQualifiedName~PcapDht.Tests.Pipeline'
set +e
dotnet test PcapDht.sln -c Release --no-build --nologo \
  --logger "trx;LogFileName=results.trx" --results-directory artifacts/test "$@" 2>&1 | tee artifacts/test/log.txt
rc=${PIPESTATUS[0]}
for v in v128 v256 scalar; do
  # The default already is scalar for the bencode reader and KRPC decoder, but not for the node-list transpose
  # (Pipeline/NodeColumns.cs): under scalar only the pipeline classes run again, the reference end to end.
  filter=$simd_filter; [ "$v" = scalar ] && filter='FullyQualifiedName~PcapDht.Tests.Pipeline'
  echo "== decoder test classes with PCAPDHT_SIMD=$v"
  PCAPDHT_SIMD=$v dotnet test tests/PcapDht.Tests/PcapDht.Tests.csproj -c Release --no-build --nologo \
    --filter "$filter" --logger "trx;LogFileName=results-$v.trx" --results-directory artifacts/test 2>&1 | tee "artifacts/test/log-$v.txt"
  r=${PIPESTATUS[0]}; [ "$r" -ne 0 ] && rc=$r
done
set -e
summary=$(python3 scripts/test-summary.py artifacts/test/log.txt artifacts/test/results.trx \
  artifacts/test/log-v128.txt artifacts/test/results-v128.trx artifacts/test/log-v256.txt artifacts/test/results-v256.trx \
  artifacts/test/log-scalar.txt artifacts/test/results-scalar.trx)
echo "$summary"
passed=$(sed -nE 's/^tests: ([0-9]+) passed.*/\1/p' <<<"$summary")
if [ "${passed:-0}" -eq 0 ]; then echo "test.sh: no test ran" >&2; exit 1; fi
exit "$rc"
