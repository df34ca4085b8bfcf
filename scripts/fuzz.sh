#!/usr/bin/env bash
# Fuzzes the bencode reader and KRPC decoder with AFL++ through SharpFuzz for SECONDS seconds.
# Usage: scripts/fuzz.sh SECONDS      (findings and the built harness go to artifacts/fuzz/, gitignored)
# Replays earlier findings first so a fixed crash stays fixed. Run it niced: other work shares the cores.
set -euo pipefail
secs=${1:?usage: scripts/fuzz.sh SECONDS}
cd "$(dirname "$0")/.."
scripts/install-deps.sh fuzz
export PATH="$PATH:$HOME/.dotnet/tools"
if ! command -v sharpfuzz >/dev/null; then
  dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0 >/dev/null
fi
out=artifacts/fuzz
mkdir -p "$out"
dotnet build tests/PcapDht.Fuzz/PcapDht.Fuzz.csproj -c Release --nologo -v q -o "$out/bin" >/dev/null
# SharpFuzz rewrites the library in place with AFL coverage probes.
sharpfuzz "$out/bin/PcapDht.Core.dll" >/dev/null
dotnet "$out/bin/PcapDht.Fuzz.dll" --write-seeds "$out/seeds"
if [ -d "$out/findings/default/crashes" ] && ls "$out/findings/default/crashes"/id:* >/dev/null 2>&1; then
  echo "fuzz: replaying earlier crashes"
  dotnet "$out/bin/PcapDht.Fuzz.dll" --replay "$out/findings/default/crashes" || true
fi
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_NO_AFFINITY=1 AFL_AUTORESUME=1
afl-fuzz -V "$secs" -i "$out/seeds" -o "$out/findings" -t 10000 -m none -- dotnet "$out/bin/PcapDht.Fuzz.dll" >"$out/afl.log" 2>&1 || {
  echo "fuzz: afl-fuzz failed, see $out/afl.log" >&2; tail -20 "$out/afl.log" >&2; exit 1; }
stats="$out/findings/default/fuzzer_stats"
execs=$(sed -nE 's/^execs_done *: *([0-9]+).*/\1/p' "$stats")
crashes=$(sed -nE 's/^saved_crashes *: *([0-9]+).*/\1/p' "$stats")
hangs=$(sed -nE 's/^saved_hangs *: *([0-9]+).*/\1/p' "$stats")
paths=$(sed -nE 's/^corpus_count *: *([0-9]+).*/\1/p' "$stats")
echo "fuzz: ${execs:-0} executions, ${paths:-0} corpus entries, ${crashes:-0} crashes, ${hangs:-0} hangs (details: $out/findings/default)"
[ "${crashes:-0}" -eq 0 ]
