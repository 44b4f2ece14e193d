#!/usr/bin/env bash
# What the closed-loop echo (100 connections x 20 B x 32 in flight, as in scripts/bench.sh)
# rewards: the raw TCP echo with a busy-wait of 0, 2, 5, 10 and 20 us after each read (more
# work per read, no WebSocket), beside tokio-tungstenite and our tokio server, in rounds.
# Prints each server's messages per second and CPU time per message over
# tokio-tungstenite's of the same round and, where perf can count system calls, the
# messages per server read (the batch the load generator's timing gives it).
#   scripts/echo-spin.sh [ROUNDS]          # default 3 rounds of 3 s per server
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rounds=${1:-3}
seconds=${SECONDS_PER_STEP:-3}
# perf counts over a window inside the load generator's (which starts after its 0.5 s
# warm-up plus the connection setup): from 0.7 s, for 0.5 s less than it measures.
counted=$(python3 -c "print(max(float('$seconds') - 0.5, 0.2))")
target=${CARGO_TARGET_DIR:-$root/target}
out=${BENCH_OUT:-$target/bench}/echo-spin
mkdir -p "$out"
cargo build --release --quiet -p wsmachine-bench --bins
cargo build --release --quiet -p wsmachine-examples --example echo_server
rel=$target/release
# shellcheck source=scripts/servers.sh
. scripts/servers.sh
declare -A bin
echo_server_bins "$rel"
perf=0
perf stat -x, -e syscalls:sys_enter_recvfrom -o /dev/null true 2>/dev/null && perf=1
port=$((20500 + RANDOM % 200))
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
rm -f "$out/loadgen.jsonl" "$out/reads.txt"
for round in $(seq "$rounds"); do
  for s in tungstenite tokio raw:0 raw:2 raw:5 raw:10 raw:20; do
    port=$((port + 1))
    name=${s%%:*} spin=${s#*:} raw=()
    if [ "$name" = raw ]; then
      raw=(--raw)
      "${bin[raw]}" "127.0.0.1:$port" "$spin" >"$out/server.log" 2>&1 &
    else
      "${bin[$name]}" "127.0.0.1:$port" >"$out/server.log" 2>&1 &
    fi
    pid=$!
    wait_for_port "$port" || { echo "$s did not start (see $out/server.log)" >&2; exit 1; }
    stat=
    if [ $perf = 1 ]; then
      (sleep 0.7 && perf stat -x, -e syscalls:sys_enter_recvfrom -p "$pid" -o "$out/reads.csv" \
        -- sleep "$counted") &
      stat=$!
    fi
    "$rel/loadgen" --addr "127.0.0.1:$port" --label "$s" "${raw[@]}" --case "round$round" \
      --conns 100 --size 20 --in-flight 32 --warmup 0.5 --seconds "$seconds" \
      --server-pid "$pid" --out "$out/loadgen.jsonl" >/dev/null
    if [ -n "$stat" ]; then
      wait "$stat"
      reads=$(grep -m1 recvfrom "$out/reads.csv" | cut -d, -f1)
      echo "round$round $s $reads" >>"$out/reads.txt"
    fi
    cleanup; pid=
  done
done
python3 - "$out/loadgen.jsonl" "$out/reads.txt" "$counted" <<'PY'
import json, os, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
reads = {}
if os.path.exists(sys.argv[2]):
    for line in open(sys.argv[2]):
        case, label, n = line.split()
        reads[(case, label)] = float(n) if n.replace(".", "").isdigit() else None
base = {r["case"]: r for r in runs if r["server"] == "tungstenite"}
rows = {}
for r in runs:
    b = base[r["case"]]
    n = reads.get((r["case"], r["server"]))
    batch = r["msgs_per_s"] * float(sys.argv[3]) / n if n else None
    rows.setdefault(r["server"], []).append(
        (r["msgs_per_s"] / b["msgs_per_s"], r["server_cpu_us_per_msg"] / b["server_cpu_us_per_msg"], batch))
def span(xs, f="{:.2f}"):
    xs = [x for x in xs if x is not None]
    return "-" if not xs else f.format(min(xs)) + "-" + f.format(max(xs))
print("| server | msgs/s over tokio-tungstenite | CPU per message over tokio-tungstenite | messages per read |")
print("|---|---|---|---|")
for label, v in rows.items():
    name = f"raw TCP echo, {label[4:]} us spin per read" if label.startswith("raw:") else label
    print(f"| {name} | {span([x[0] for x in v])} | {span([x[1] for x in v])} | {span([x[2] for x in v], '{:.1f}')} |")
PY
