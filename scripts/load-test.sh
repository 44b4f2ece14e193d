#!/usr/bin/env bash
# Runs examples/load_test.rs against the tokio and the mio echo servers, each started as its
# own process so that its peak RSS can be read.
#   scripts/load-test.sh [connections] [seconds]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
connections=${1:-2000}
seconds=${2:-20}
target=${CARGO_TARGET_DIR:-$root/target}
bin="$target/load-test-bins"
mkdir -p "$bin"
cargo build --release --quiet -p wsmachine-examples --example echo_server
cp "$target/release/examples/echo_server" "$bin/echo_server_tokio"
cargo build --release --quiet -p wsmachine-examples --example mio_echo_server
cp "$target/release/examples/mio_echo_server" "$bin/echo_server_mio"
cargo build --release --quiet --example load_test
status=0
port=19301
for adapter in tokio mio; do
  "$bin/echo_server_$adapter" "127.0.0.1:$port" >"$bin/$adapter.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  echo "== $adapter echo server (pid $pid)"
  "$target/release/examples/load_test" --url "ws://127.0.0.1:$port/" --connections "$connections" \
    --seconds "$seconds" --server-pid "$pid" || status=1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  port=$((port + 1))
done
exit $status
