#!/usr/bin/env bash
# Autobahn|Testsuite's compression sections (12.*, 13.*) against the core itself, driven by
# hand over blocking std sockets (crates/wsmachine/examples/deflate_autobahn.rs), as a
# server (wstest -m fuzzingclient) and as a client (wstest -m fuzzingserver). For the
# adapters, once they set `Config::deflate`, add 12.* 13.* to scripts/autobahn.sh's cases.
#
#   scripts/autobahn-deflate.sh                 # both roles, all of 12.* and 13.*
#   scripts/autobahn-deflate.sh --cases '12.4.*'
#
# Reports in $AUTOBAHN_OUT (default target/autobahn-deflate): summary.md, reports/*.
# Exits non-zero unless every case is OK or INFORMATIONAL. About 20 minutes per role on
# the 2-core machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CASES='12.* 13.*'
[ "${1:-}" = --cases ] && CASES=${2:?--cases needs a list}
OUT=$(realpath -m "${AUTOBAHN_OUT:-$ROOT/target/autobahn-deflate}")
WSTEST=$("$ROOT/scripts/autobahn.sh" --install-only | tail -n1)
[ -x "$WSTEST" ] || { echo "no wstest ($WSTEST)"; exit 1; }

cargo build -q --release --manifest-path "$ROOT/Cargo.toml" -p wsmachine --features deflate \
    --example deflate_autobahn
BIN="$ROOT/target/release/examples/deflate_autobahn"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# shellcheck disable=SC2086
CASES_JSON=$(set -f; python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' $CASES)
rm -rf "$OUT"; mkdir -p "$OUT/logs"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# The core as a server.
sport=$(free_port)
"$BIN" server "127.0.0.1:$sport" >"$OUT/logs/server.log" 2>&1 &
PIDS+=($!)
sleep 1
cat >"$OUT/fuzzingclient.json" <<EOF
{"outdir": "$OUT/reports/server", "servers": [{"agent": "core-server", "url": "ws://127.0.0.1:$sport"}],
 "cases": $CASES_JSON, "exclude-cases": [], "exclude-agent-cases": {}}
EOF
(cd "$OUT" && timeout 3600 "$WSTEST" -m fuzzingclient -s fuzzingclient.json) >"$OUT/logs/fuzzingclient.log" 2>&1 || true

# The core as a client.
cport=$(free_port)
cat >"$OUT/fuzzingserver.json" <<EOF
{"url": "ws://127.0.0.1:$cport", "outdir": "$OUT/reports/client",
 "cases": $CASES_JSON, "exclude-cases": [], "exclude-agent-cases": {}}
EOF
(cd "$OUT" && exec "$WSTEST" -m fuzzingserver -s fuzzingserver.json) >"$OUT/logs/fuzzingserver.log" 2>&1 &
PIDS+=($!)
sleep 3
timeout 3600 "$BIN" client "ws://127.0.0.1:$cport" core-client >"$OUT/logs/client.log" 2>&1 || true

python3 "$ROOT/scripts/autobahn-summary.py" --markdown "$OUT/summary.md" \
    --expect core-server core-client -- "$OUT"/reports/*/index.json
