#!/usr/bin/env bash
# Where an echo server's CPU goes under the load generator: system calls per message and
# the kernel's share of the samples, then the hottest user-space functions.
#   scripts/echo-profile.sh SERVER [CONNS SIZE IN_FLIGHT [RATE]]
#   scripts/echo-profile.sh tokio                       # 100 x 20 B, 32 in flight, 300k msgs/s
#   scripts/echo-profile.sh tungstenite 1 1048576 2 ""  # closed loop (no rate)
# SERVER: tokio, mio, tungstenite, fastwebsockets, tokio-websockets or raw (as in
# scripts/bench.sh). Counts come from `perf stat` on the syscall tracepoints, samples from
# `perf record` (cpu-clock); both need perf and perf_event_paranoid <= 2 (or root). The
# servers are built with line tables into their own target directory so symbols resolve.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
server=${1:?usage: scripts/echo-profile.sh SERVER [CONNS SIZE IN_FLIGHT [RATE]]}
conns=${2:-100} size=${3:-20} in_flight=${4:-32} rate=${5-300000}
seconds=${SECONDS_PER_STEP:-4}
target=${CARGO_TARGET_DIR:-$root/target}/profile-build
out=${BENCH_OUT:-${CARGO_TARGET_DIR:-$root/target}/bench}/echo-profile
mkdir -p "$out"
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
CARGO_TARGET_DIR=$target cargo build --release --quiet -p wsmachine-bench --bins
CARGO_TARGET_DIR=$target cargo build --release --quiet -p wsmachine-examples \
  --example echo_server --example mio_echo_server
rel=$target/release
# shellcheck source=scripts/servers.sh
. scripts/servers.sh
declare -A bin
echo_server_bins "$rel"
[ -n "${bin[$server]:-}" ] || { echo "unknown server $server" >&2; exit 2; }
raw=()
[ "$server" = raw ] && raw=(--raw)
port=$((19800 + RANDOM % 150))
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
start() { # [perf record args...]
  port=$((port + 1))
  "$@" "${bin[$server]}" "127.0.0.1:$port" >"$out/server.log" 2>&1 &
  pid=$!
  wait_for_port "$port" && return 0
  echo "server did not start (see $out/server.log)" >&2
  exit 1
}
load() { # server-pid
  "$rel/loadgen" --addr "127.0.0.1:$port" --label "$server" "${raw[@]}" --case profile \
    --conns "$conns" --size "$size" --in-flight "$in_flight" --warmup 0.5 \
    --seconds "$seconds" --server-pid "$1" ${rate:+--rate "$rate"} --out "$out/loadgen.jsonl"
}
rm -f "$out/loadgen.jsonl"

echo "== $server, $conns x $size B, $in_flight in flight${rate:+, $rate msgs/s}: system calls"
start
events=syscalls:sys_enter_recvfrom,syscalls:sys_enter_read,syscalls:sys_enter_sendto
events+=,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_wait
events+=,syscalls:sys_enter_futex,context-switches
# Counted for as long as the load generator measures, starting 0.7 s after it (its 0.5 s
# warm-up plus the connection setup, so the two windows are offset by about 0.2 s), over
# all of the server's threads; per message = count / (msgs/s x seconds).
(sleep 0.7 && perf stat -x, -e "$events" -p "$pid" -o "$out/syscalls.csv" -- sleep "$seconds") &
stat=$!
load "$pid" >/dev/null
wait "$stat"
cleanup; pid=
python3 - "$out/syscalls.csv" "$out/loadgen.jsonl" "$seconds" <<'PY'
import json, sys
run = json.loads(open(sys.argv[2]).readlines()[-1])
msgs = run["msgs_per_s"] * float(sys.argv[3])
print(f"server CPU per message {run['server_cpu_us_per_msg'] * 1000:.0f} ns, {run['msgs_per_s']} msgs/s")
for line in open(sys.argv[1]):
    f = line.strip().split(",")
    if len(f) > 2 and f[0].replace(".", "").isdigit() and float(f[0]) > 0:
        print(f"  {f[2].replace('syscalls:sys_enter_', ''):<18} {float(f[0]) / msgs:.3f} per message")
PY

echo "== $server: samples"
start perf record -q -e cpu-clock -F 1000 -g -o "$out/$server.perf"
sleep 0.3
# perf record runs the server; its pid is perf's child.
spid=$(pgrep -P "$pid" | head -1)
load "${spid:-$pid}" >/dev/null
kill -INT "${spid:-$pid}"; wait "$pid" 2>/dev/null || true; pid=
perf report -i "$out/$server.perf" --no-children --stdio -g none --sort dso 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | head -4
echo "-- hottest functions outside the kernel"
perf report -i "$out/$server.perf" --no-children --stdio -g none --percent-limit 0.5 2>/dev/null \
  | grep -v '^#' | grep -v '^$' | grep -v kernel | head -20
