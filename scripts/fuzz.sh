#!/usr/bin/env bash
# Fuzzes PcapDht's parsers with AFL++ through SharpFuzz, SECONDS seconds per target.
# Usage: scripts/fuzz.sh SECONDS [TARGET...]      targets: krpc capture net ranges anonymize (default: all, one after another)
#   krpc     bencode reader and KRPC decoder, every SIMD variant against scalar
#   capture  pcap/pcapng readers behind raw, gzip, multi-member gzip and zstd framing and short reads, then the decoders
#   net      link-layer and IP decoders and the fragment reassembler over frame sequences
#   ranges   the ASN/country range-file importers (TSV, CSV, MMDB, gzip)
#   anonymize  the anonymizer's packet rewriter over a capture framed as for `capture`; the output must read back whole
# Each target keeps its corpus and findings in artifacts/fuzz/TARGET/ (gitignored); a second run resumes them,
# so runs add up. Earlier crashes are replayed first. A crash or hang worth keeping goes to
# tests/PcapDht.Tests/Fuzz/Findings/TARGET/ (the test suite replays that folder). Run it niced: other work shares
# the cores (`nice -n 19 scripts/fuzz.sh 3600 capture &`); two targets can run at once from two invocations.
set -euo pipefail
secs=${1:?usage: scripts/fuzz.sh SECONDS [krpc|capture|net|ranges|anonymize]...}
shift
targets=("$@")
((${#targets[@]})) || targets=(krpc capture net ranges anonymize)
cd "$(dirname "$0")/.."
scripts/install-deps.sh fuzz
export PATH="$PATH:$HOME/.dotnet/tools"
if ! command -v sharpfuzz >/dev/null; then
  dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0 >/dev/null
fi
out=artifacts/fuzz
mkdir -p "$out"
build="$out/build.$$"
(
  # One build at a time: two invocations share obj/.
  flock 9
  dotnet build tests/PcapDht.Fuzz/PcapDht.Fuzz.csproj -c Release --nologo -v q -o "$build" >/dev/null
  # Replays run outside AFL, on a copy without the probes (instrumented code needs AFL's shared memory).
  cp -r "$build" "$build.plain"
  # SharpFuzz rewrites the library in place with AFL coverage probes.
  sharpfuzz "$build/PcapDht.Core.dll" >/dev/null
) 9>"$out/build.lock"
trap 'rm -rf "$build" "$build.plain"' EXIT

status=0
for target in "${targets[@]}"; do
  dir="$out/$target"
  mkdir -p "$dir"
  # The running harness keeps its own copy, so a later build does not change a fuzzer under way.
  rm -rf "$dir/bin" && cp -r "$build" "$dir/bin"
  rm -rf "$dir/seeds"
  dotnet "$dir/bin/PcapDht.Fuzz.dll" --write-seeds "$target" "$dir/seeds"
  if ls "$dir/findings/default/crashes"/id:* >/dev/null 2>&1; then
    echo "fuzz $target: replaying earlier crashes"
    dotnet "$build.plain/PcapDht.Fuzz.dll" --replay "$target" "$dir/findings/default/crashes" || true
  fi
  export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
  export AFL_NO_AFFINITY=1 AFL_AUTORESUME=1
  afl-fuzz -V "$secs" -i "$dir/seeds" -o "$dir/findings" -t 10000 -m none -- dotnet "$dir/bin/PcapDht.Fuzz.dll" "$target" >"$dir/afl.log" 2>&1 || {
    echo "fuzz $target: afl-fuzz failed, see $dir/afl.log" >&2; tail -20 "$dir/afl.log" >&2; status=1; continue; }
  stats="$dir/findings/default/fuzzer_stats"
  execs=$(sed -nE 's/^execs_done *: *([0-9]+).*/\1/p' "$stats")
  crashes=$(sed -nE 's/^saved_crashes *: *([0-9]+).*/\1/p' "$stats")
  hangs=$(sed -nE 's/^saved_hangs *: *([0-9]+).*/\1/p' "$stats")
  paths=$(sed -nE 's/^corpus_count *: *([0-9]+).*/\1/p' "$stats")
  line="fuzz $target: ${execs:-0} executions, ${paths:-0} corpus entries, ${crashes:-0} crashes, ${hangs:-0} hangs (details: $dir/findings/default)"
  echo "$line"
  echo "$(date -u +%FT%TZ) $line" >>"$out/runs.log"
  [ "${crashes:-0}" -eq 0 ] || status=1
done
exit $status
