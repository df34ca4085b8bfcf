#!/usr/bin/env bash
# Fuzzes PcapDht's parsers with AFL++ through SharpFuzz, SECONDS seconds per target.
# Usage: scripts/fuzz.sh SECONDS [TARGET...]      targets: krpc capture net ranges anonymize (default: all, one after another)
#        FUZZ_EXECS=20000000 scripts/fuzz.sh SECONDS [TARGET...]   also ends a target once its executions, summed over
#        every run (AFL_AUTORESUME continues execs_done), reach FUZZ_EXECS (afl-fuzz -E; approximate, a little over)
#        scripts/fuzz.sh --throughput SECONDS [TARGET...]
#   krpc     bencode reader and KRPC decoder, every SIMD variant against scalar
#   capture  pcap/pcapng readers behind raw, gzip, multi-member gzip and zstd framing and short reads, then the decoders
#   net      link-layer and IP decoders and the fragment reassembler over frame sequences
#   ranges   the ASN/country range-file importers (TSV, CSV, MMDB, gzip)
#   anonymize  the anonymizer's packet rewriter over a capture framed as for `capture`; the output must read back whole
# Each target keeps its corpus and findings in artifacts/fuzz/TARGET/ (gitignored); a second run resumes them,
# so runs add up. Earlier crashes are replayed first. A crash or hang worth keeping goes to
# tests/PcapDht.Tests/Fuzz/Findings/TARGET/ (the test suite replays that folder).
# The harness runs in AFL's process loop (SharpFuzz Fuzzer.Run): a hang or a stack overflow kills it and ends
# afl-fuzz ("Unable to communicate with fork server"); the script then keeps the input that was running in
# artifacts/fuzz/TARGET/died/, counts it as a finding and resumes the target for the rest of its SECONDS.
# --throughput compares executions per second of that loop against SharpFuzz's out-of-process loop: from the
# target's seeds, in fresh output directories, SECONDS per run in the order out, in, in, out (drift cancels).
# The machine is shared: the build runs like any build, the fuzzing at idle priority in its own session (with
# autogroup scheduling nice alone does not yield to other sessions), so `scripts/fuzz.sh 3600 capture &` takes only
# what is idle. --throughput runs at the caller's priority (a measurement needs the CPU it measures). Two targets can
# run at once from two invocations.
set -euo pipefail
throughput=0
if [ "${1:-}" = --throughput ]; then throughput=1; shift; fi
secs=${1:?usage: scripts/fuzz.sh [--throughput] SECONDS [krpc|capture|net|ranges|anonymize]...}
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

export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_NO_AFFINITY=1

# idle COMMAND...: runs it at idle priority in a session (and autogroup) of its own, and waits for it.
idle() { setsid -w bash -c 'echo 19 >/proc/self/autogroup 2>/dev/null || true; exec chrt -i 0 nice -n 19 "$@"' idle "$@"; }

# afl_stat FILE KEY: one value of an AFL++ fuzzer_stats file.
afl_stat() { sed -nE "s/^$2 *: *([0-9.]+).*/\1/p" "$1"; }

if ((throughput)); then
  for target in "${targets[@]}"; do
    tmp="$out/throughput.$target.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    cp -r "$build" "$tmp/bin"
    dotnet "$tmp/bin/PcapDht.Fuzz.dll" --write-seeds "$target" "$tmp/seeds"
    declare -A execs=() runtime=() stability=()
    for run in out-1 in-1 in-2 out-2; do
      mode=(); [ "${run%-*}" = out ] && mode=(--out-of-process)
      afl-fuzz -V "$secs" -i "$tmp/seeds" -o "$tmp/$run" -t 10000 -m none -- \
        dotnet "$tmp/bin/PcapDht.Fuzz.dll" "${mode[@]}" "$target" >"$tmp/$run.log" 2>&1 || {
        echo "fuzz $target: afl-fuzz failed ($run), see $tmp/$run.log" >&2; tail -5 "$tmp/$run.log" >&2; exit 1; }
      f="$tmp/$run/default/fuzzer_stats"
      execs[$run]=$(afl_stat "$f" execs_done); runtime[$run]=$(afl_stat "$f" run_time); stability[$run]=$(afl_stat "$f" stability)
    done
    line=$(awk -v t="$target" -v eo="$((execs[out-1] + execs[out-2]))" -v ro="$((runtime[out-1] + runtime[out-2]))" \
      -v ei="$((execs[in-1] + execs[in-2]))" -v ri="$((runtime[in-1] + runtime[in-2]))" \
      -v so="${stability[out-1]}/${stability[out-2]}" -v si="${stability[in-1]}/${stability[in-2]}" \
      'BEGIN { o = eo / ro; i = ei / ri; printf "throughput %s: out-of-process %.0f exec/s (%d in %d s, stability %s%%), in-process %.0f exec/s (%d in %d s, stability %s%%), ratio %.2f\n", t, o, eo, ro, so, i, ei, ri, si, i / o }')
    echo "$line"
    echo "$(date -u +%FT%TZ) $line (load: $(cut -d' ' -f1-3 /proc/loadavg))" >>"$out/throughput.log"
    rm -rf "$tmp"
  done
  exit 0
fi

export AFL_AUTORESUME=1
until_execs=()
[ -n "${FUZZ_EXECS:-}" ] && until_execs=(-E "$FUZZ_EXECS")
status=0
for target in "${targets[@]}"; do
  dir="$out/$target"
  mkdir -p "$dir"
  # The running harness keeps its own copy, so a later build does not change a fuzzer under way.
  rm -rf "$dir/bin" && cp -r "$build" "$dir/bin"
  rm -rf "$dir/seeds"
  dotnet "$dir/bin/PcapDht.Fuzz.dll" --write-seeds "$target" "$dir/seeds"
  if ls "$dir/findings/default"/crashes*/id:* "$dir/died"/* >/dev/null 2>&1; then
    echo "fuzz $target: replaying earlier crashes"
    idle dotnet "$build.plain/PcapDht.Fuzz.dll" --replay "$target" "$dir/findings/default"/crashes* $(ls -d "$dir/died" 2>/dev/null) || true
  fi
  deadline=$((SECONDS + secs))
  died=0
  while ((SECONDS < deadline - 5)); do
    if idle afl-fuzz -V "$((deadline - SECONDS))" "${until_execs[@]}" -i "$dir/seeds" -o "$dir/findings" -t 10000 -m none -- \
      dotnet "$dir/bin/PcapDht.Fuzz.dll" "$target" >"$dir/afl.log" 2>&1; then
      break
    fi
    if grep -q "Unable to communicate with fork server" "$dir/afl.log" && [ -f "$dir/findings/default/.cur_input" ]; then
      # The harness process died on one input (a hang past -t, a stack overflow): keep it, resume the rest.
      mkdir -p "$dir/died"
      cp "$dir/findings/default/.cur_input" "$dir/died/$(date -u +%Y%m%dT%H%M%SZ)-execs-$(afl_stat "$dir/findings/default/fuzzer_stats" execs_done)"
      died=$((died + 1))
      echo "fuzz $target: the harness died on an input (kept in $dir/died/), resuming"
      continue
    fi
    echo "fuzz $target: afl-fuzz failed, see $dir/afl.log" >&2; tail -20 "$dir/afl.log" >&2; status=1; break
  done
  stats="$dir/findings/default/fuzzer_stats"
  execs=$(afl_stat "$stats" execs_done)
  crashes=$(afl_stat "$stats" saved_crashes)
  hangs=$(afl_stat "$stats" saved_hangs)
  paths=$(afl_stat "$stats" corpus_count)
  line="fuzz $target: ${execs:-0} executions, ${paths:-0} corpus entries, ${crashes:-0} crashes, ${hangs:-0} hangs, $died died (details: $dir/findings/default)"
  echo "$line"
  echo "$(date -u +%FT%TZ) $line" >>"$out/runs.log"
  [ "${crashes:-0}" -eq 0 ] && [ "$died" -eq 0 ] || status=1
done
exit $status
