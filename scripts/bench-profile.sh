#!/usr/bin/env bash
# Profiles one criterion case of benches/throughput.rs and prints where the time goes.
#   scripts/bench-profile.sh 'receive/wsmachine/binary-64KiB' [seconds]
#   PROFILER=callgrind scripts/bench-profile.sh 'receive/wsmachine/text-utf8-64KiB'
# With perf (the default where it works; hardware counters are not needed: it samples the
# cpu-clock) it prints the flat profile and the callers of memmove (which copies are
# made where); with callgrind, instruction counts per function (deterministic, ~50x
# slower; the case's setup in benches/throughput.rs is counted too).
# The bench is built with line tables (CARGO_PROFILE_BENCH_DEBUG), so symbols resolve.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
case=${1:?usage: scripts/bench-profile.sh GROUP/LIB/CASE [seconds]}
seconds=${2:-3}
out=${BENCH_OUT:-${CARGO_TARGET_DIR:-$root/target}/bench}/profile
mkdir -p "$out"
bin=$(CARGO_PROFILE_BENCH_DEBUG=line-tables-only cargo bench --bench throughput --no-run \
  --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "throughput" and m.get("executable"):
        print(m["executable"])')
name=$(echo "$case" | tr '/' '_')
profiler=${PROFILER:-perf}
if [ "$profiler" = perf ] && ! perf record -q -e cpu-clock -o /dev/null true >/dev/null 2>&1; then
  echo "perf cannot sample here; using callgrind" >&2
  profiler=callgrind
fi
if [ "$profiler" = perf ]; then
  perf record -q -e cpu-clock -F 1000 --call-graph dwarf,16384 -o "$out/$name.perf" \
    "$bin" --bench --profile-time "$seconds" "$case\$" >/dev/null 2>&1
  echo "== $case: flat profile"
  perf report -i "$out/$name.perf" --no-children --stdio -g none --percent-limit 1 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | head -25
  echo "== callers of memmove (the copies)"
  perf report -i "$out/$name.perf" --no-children --stdio -g caller,0.5,callee --percent-limit 2 \
    -S __memmove_avx512_unaligned_erms,__memmove_avx_unaligned_erms 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | grep -E '%|reserve|extend|wsmachine|bytes::' \
    | grep -v criterion | head -20
else
  # Only what runs inside criterion's timing loop counts (not the setup of the cases).
  valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*Bencher*iter*' \
    --callgrind-out-file="$out/$name.callgrind" \
    "$bin" --bench --profile-time 1 "$case\$" >/dev/null 2>&1
  callgrind_annotate "$out/$name.callgrind" 2>/dev/null | head -40
fi
