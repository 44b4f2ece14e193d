#!/usr/bin/env bash
# permessage-deflate on the loopback: compressed versus plain echo of 1 KiB JSON messages
# (1,024-1,151 bytes, varied seeded content, 64 distinct per connection), our tokio echo
# server (the echo_server example: big_message_config, default DeflateConfig) against Node
# `ws` (tests/peers/node_echo_server.js --deflate: `perMessageDeflate: true`, ws's defaults)
# and Python `websockets` (tests/peers/py_echo_server.py --deflate: its defaults), all
# driven by one load generator (crates/wsmachine-bench deflate_loadgen, the wsmachine core
# as the client for every server): throughput, bytes on the wire each way per message,
# the server's CPU time per message.
#
#   scripts/bench-deflate.sh [--seconds S] [--conns N] [--in-flight K] [--rounds R] [--no-python]
#
# Every server runs with compression available; the client decides: with --deflate it
# offers the default permessage-deflate (level 6, 32 KiB windows, context takeover both
# ways: what zlib-based servers default to) and fails unless it is agreed; without, it
# offers nothing. Each (server, mode) is measured R times (default 2, in turn, so load
# from elsewhere hits them alike) and the best round is reported. Needs the interop peers
# (scripts/install-peers.sh). Results in $BENCH_OUT (default target/bench-deflate):
# deflate.jsonl, report.md, server logs. Every echo is checked; exits non-zero if a run fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=5 conns=10 in_flight=16 rounds=2 python=1
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift ;;
    --conns) conns=$2; shift ;;
    --in-flight) in_flight=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --no-python) python=0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
target=${CARGO_TARGET_DIR:-$root/target}
out=${BENCH_OUT:-$target/bench-deflate}
mkdir -p "$out"
rm -f "$out/deflate.jsonl"
status=0

[ -f .peers/env ] || { echo "no .peers/env: run scripts/install-peers.sh" >&2; exit 2; }
# shellcheck disable=SC1091
. .peers/env

echo "== building the tokio echo server and the load generator (release)"
cargo build --release --quiet -p wsmachine-bench --bin deflate_loadgen
cargo build --release --quiet -p wsmachine-examples --example echo_server
rel="$target/release"

# shellcheck source=scripts/servers.sh
. scripts/servers.sh
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts a server that prints "PORT <n>" (the peers) or listens on a port we give it (ours);
# sets $port and $pid.
start_peer() { # name command...
  local name=$1; shift
  "$@" >"$out/server-$name.log" 2>&1 &
  pid=$!; pids+=("$pid")
  for _ in $(seq 200); do
    port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$out/server-$name.log" | head -n1)
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "$name did not start (see $out/server-$name.log)" >&2
  return 1
}
start_ours() {
  port=$((19700 + RANDOM % 200))
  "$rel/examples/echo_server" "127.0.0.1:$port" >"$out/server-wsmachine.log" 2>&1 &
  pid=$!; pids+=("$pid")
  wait_for_port "$port" 200 && return 0
  echo "our echo server did not start (see $out/server-wsmachine.log)" >&2
  return 1
}

declare -A ports spids
start_ours && { ports[wsmachine]=$port; spids[wsmachine]=$pid; }
start_peer node-ws "$PEER_NODE" tests/peers/node_echo_server.js --deflate \
  && { ports[node-ws]=$port; spids[node-ws]=$pid; }
servers=(wsmachine node-ws)
if [ $python = 1 ]; then
  start_peer py-websockets "$PEER_PYTHON" tests/peers/py_echo_server.py --deflate \
    && { ports[py-websockets]=$port; spids[py-websockets]=$pid; }
  servers+=(py-websockets)
fi

echo "== ${conns} connections x ${in_flight} in flight, ${seconds}s per run after 1s of warm-up, $rounds rounds"
for round in $(seq "$rounds"); do
  for s in "${servers[@]}"; do
    [ -n "${ports[$s]:-}" ] || { status=1; continue; }
    for mode in plain deflate; do
      flag=()
      [ $mode = deflate ] && flag=(--deflate)
      "$rel/deflate_loadgen" --addr "127.0.0.1:${ports[$s]}" --label "$s" "${flag[@]}" \
        --conns "$conns" --in-flight "$in_flight" --warmup 1 --seconds "$seconds" \
        --server-pid "${spids[$s]}" --out "$out/deflate.jsonl" >/dev/null \
        || { echo "deflate_loadgen against $s ($mode) failed" >&2; status=1; }
    done
  done
done

echo "== report"
python3 - "$out/deflate.jsonl" <<'EOF' | tee "$out/report.md"
import json, sys, platform, datetime
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
best = {}
for r in rows:
    k = (r["server"], r["deflate"])
    if k not in best or r["msgs_per_s"] > best[k]["msgs_per_s"]:
        best[k] = r
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"permessage-deflate echo, 1 KiB JSON; {datetime.date.today()}, {cpu}, {platform.machine()}; best of "
      f"{max(1, len(rows) // max(1, len(best)))} rounds; {rows[0]['conns']} connections x {rows[0]['in_flight']} in flight\n")
print("| server | mode | msgs/s | payload B/msg | wire B/msg client->server | wire B/msg server->client | wire / payload (server->client) | server CPU us/msg | loadgen CPU share |")
print("|---|---|---|---|---|---|---|---|---|")
for server in dict.fromkeys(r["server"] for r in rows):
    for d in (False, True):
        r = best.get((server, d))
        if not r:
            continue
        ratio = r["wire_in_per_msg"] / r["payload_bytes_per_msg"]
        print(f"| {server} | {'deflate' if d else 'plain'} | {r['msgs_per_s']:,} | {r['payload_bytes_per_msg']:.0f} | "
              f"{r['wire_out_per_msg']:.0f} | {r['wire_in_per_msg']:.0f} | {ratio:.2f} | "
              f"{r['server_cpu_us_per_msg']} | {r['loadgen_cpu_share']} |")
EOF
exit $status
