# Shared by the ingest benchmarks (scripts/bench-ingest.sh, scripts/bench-floor.sh); source it from the repo root.

# The same binary as scripts/demo.sh: published ReadyToRun, at artifacts/bin/pcapdht.dll.
publish_cli() {
  dotnet publish src/PcapDht.Cli/PcapDht.Cli.csproj -c Release --use-current-runtime --self-contained false --nologo -v q -o artifacts/bin >/dev/null
}

# The tshark baseline: the bt-dht fields a KRPC store needs (endpoints, ids, nodes, peers), one line per message.
# Sets the array tshark_cmd (/usr/bin/time runs programs, not shell functions): measure tshark "${tshark_cmd[@]}".
tshark_args() { # capture file
  tshark_cmd=(tshark -r "$1" -n -Y bt-dht -T fields
    -e frame.number -e frame.time_epoch -e ip.src -e ipv6.src -e udp.srcport -e ip.dst -e ipv6.dst -e udp.dstport
    -e bt-dht.id -e bt-dht.node -e bt-dht.peer -e bt-dht.ip -e bt-dht.port)
}

measure() { # label, command...: prints "label wall_s cpu_s peak_rss_MB" (the command's stdout goes to $stdout_file)
  local out; out=$(mktemp)
  /usr/bin/time -f '%e %U %S %M' -o "$out" "${@:2}" >"$stdout_file" 2>"$out.err" || { cat "$out.err" >&2; rm -f "$out" "$out.err"; return 1; }
  tail -n 1 "$out" > "$out.last" && mv "$out.last" "$out"
  read -r wall user sys rss < "$out"
  echo "$1 $wall $(echo "$user + $sys" | bc) $((rss / 1024))"
  rm -f "$out" "$out.err"
}
