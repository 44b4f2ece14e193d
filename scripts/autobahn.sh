#!/usr/bin/env bash
# Autobahn|Testsuite (0.8.2) conformance run for the four adapters.
#
#   scripts/autobahn.sh                   # default: 1-7, 10, a reduced 9.*, 12.* and 13.*; all 8 agents
#   scripts/autobahn.sh --full            # every case of 1-7, 9, 10, 12, 13 (much slower)
#   scripts/autobahn.sh --only tokio-server,mio-client
#   scripts/autobahn.sh --cases '1.* 2.*' # any case list (Autobahn patterns)
#   scripts/autobahn.sh --install-only    # just install wstest (and print its path)
# Other options: --exclude 'IDS' (replaces the default exclusions), --timeout SECS (per
# wstest run and per client driver; default 900, 3600 with --full), --no-build.
#
# Agents: std-server, tokio-server, mio-server, smol-server (the echo server examples,
# tested by `wstest -m fuzzingclient`) and std-client, tokio-client, mio-client, smol-client
# (the autobahn client examples, run against `wstest -m fuzzingserver`); smol is the
# runtime-agnostic futures adapter. Everything listens on 127.0.0.1 only.
#
# Installs Autobahn (needs CPython 2.7) into $WSMACHINE_AUTOBAHN_HOME (default
# ~/.cache/wsmachine-autobahn), once: a pyenv/system python2.7 if one works, otherwise
# Debian bullseye's python2.7 packages unpacked there (no system install).
# Output in $AUTOBAHN_OUT (default target/autobahn): reports/<agent>-server/ and
# reports/clients/ (index.json and HTML), logs/, summary.md.
# Exit status: 0 when every case of every selected agent is OK or INFORMATIONAL (behavior
# and close behavior), 1 otherwise or when an agent has no report, 2 on a setup error.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
AB_HOME=${WSMACHINE_AUTOBAHN_HOME:-$HOME/.cache/wsmachine-autobahn}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=${AUTOBAHN_OUT:-$TARGET_DIR/autobahn}
# Absolute: the fuzzingserver runs from inside $OUT and writes to the outdir given here.
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)

# ----- what to run -------------------------------------------------------------------------

# Sections run: everything but 11 (which Autobahn 0.8.2 does not have). 12.* and 13.* are
# permessage-deflate (the example servers and client drivers enable it): 12.1-12.5 five
# payloads (JSON, a bitmap, German text, HTML, a PDF) with the default offer, 13.1-13.7 the
# parameter combinations (no context takeover, window bits 9 and 15, both ways); each
# subsection sends 1000 messages of 16 B to 128 KiB, whole (x.1-x.10) or auto-fragmented
# to 256 B-32 KiB (x.11-x.18).
CASES="1.* 2.* 3.* 4.* 5.* 6.* 7.* 9.* 10.* 12.* 13.*"
# The default run drops the big and slow limit/performance cases of 9.* (messages up to
# 16 MiB, 4 MiB messages in 64-byte fragments, 1 MiB written in 64-byte chunks, ...) and
# keeps a sample of each subsection; --full runs them all.
REDUCED_EXCLUDE="9.1.4 9.1.5 9.1.6 9.2.4 9.2.5 9.2.6 9.3.1 9.3.2 9.3.3 9.3.4 9.3.5 9.3.6 9.3.7 9.3.8 9.4.1 9.4.2 9.4.3 9.4.4 9.4.5 9.4.6 9.4.7 9.4.8 9.5.1 9.5.2 9.5.3 9.5.4 9.5.5 9.6.1 9.6.2 9.6.3 9.6.4 9.6.5 9.7.4 9.7.5 9.7.6 9.8.4 9.8.5 9.8.6"
# Of 12.* and 13.*, the default run keeps every payload and every parameter combination,
# each with 16 B messages (x.1: below the compression threshold, so only the peer
# compresses), 1 KiB and 4 KiB messages (x.4, x.5) and 8 KiB ones in 256-byte fragments
# (x.11): 48 of the 216 cases, about 3.5 minutes for the eight agents.
for sub in 12.1 12.2 12.3 12.4 12.5 13.1 13.2 13.3 13.4 13.5 13.6 13.7; do
    for n in 2 3 6 7 8 9 10 12 13 14 15 16 17 18; do REDUCED_EXCLUDE="$REDUCED_EXCLUDE $sub.$n"; done
done
EXCLUDE=$REDUCED_EXCLUDE
ALL_AGENTS="std-server tokio-server mio-server smol-server std-client tokio-client mio-client smol-client"
AGENTS=$ALL_AGENTS
TIMEOUT=${AUTOBAHN_TIMEOUT:-900}   # seconds, per wstest run / per client driver
INSTALL_ONLY=0
BUILD=1

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --full) EXCLUDE=""; TIMEOUT=${AUTOBAHN_TIMEOUT:-3600} ;;
        --only) AGENTS=$(echo "${2:?--only needs agent names}" | tr ',' ' '); shift ;;
        --cases) CASES=${2:?--cases needs a list}; shift ;;
        --exclude) EXCLUDE=${2?--exclude needs a list}; shift ;;
        --timeout) TIMEOUT=${2:?--timeout needs seconds}; shift ;;
        --no-build) BUILD=0 ;;
        --install-only) INSTALL_ONLY=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
for a in $AGENTS; do
    case " $ALL_AGENTS " in *" $a "*) ;; *) echo "unknown agent: $a (one of: $ALL_AGENTS)" >&2; exit 2 ;; esac
done

log() { echo "[autobahn] $*" >&2; }
die() { log "error: $*"; exit 2; }

# ----- install -----------------------------------------------------------------------------

# Pinned: the last versions that support Python 2.7 and work with autobahntestsuite 0.8.2
# (it needs autobahn 0.10.9). Installed with --no-deps so that nothing floats.
REQUIREMENTS="
autobahntestsuite==0.8.2
autobahn==0.10.9
txaio==2.1.0
six==1.17.0
Twisted==20.3.0
zope.interface==5.5.2
constantly==15.1.0
incremental==22.10.0
Automat==22.10.0
attrs==21.4.0
hyperlink==21.0.0
idna==2.10
typing==3.10.0.0
PyHamcrest==1.10.1
klein==20.6.0
Tubes==0.2.1
Werkzeug==1.0.1
enum34==1.1.10
unittest2==1.1.0
linecache2==1.0.0
traceback2==1.4.0
argparse==1.4.0
pyOpenSSL==21.0.0
cryptography==3.3.2
cffi==1.15.1
pycparser==2.21
service-identity==21.1.0
pyasn1==0.5.1
pyasn1-modules==0.3.0
ipaddress==1.0.23
Jinja2==2.11.3
MarkupSafe==1.1.1
ujson==2.0.3
"
# The C accelerator for masking and UTF-8 checks (autobahn's "accelerate" extra). It needs
# a C compiler and the Python 2.7 headers; without it autobahn falls back to pure Python
# (correct, but the big 9.* cases get much slower).
OPTIONAL_REQUIREMENTS="wsaccel==0.6.6"
BOOTSTRAP="pip==20.3.4 setuptools==44.1.1 wheel==0.37.1 virtualenv==16.7.12"
STAMP="$AB_HOME/.installed-$(printf '%s %s %s' "$REQUIREMENTS" "$OPTIONAL_REQUIREMENTS" "$BOOTSTRAP" | cksum | cut -d' ' -f1)"
WSTEST="$AB_HOME/bin/wstest"

python2_works() {
    "$1" -c 'import sys, ssl, zlib, ctypes; assert sys.version_info[:2] == (2, 7)' >/dev/null 2>&1
}

# Echoes the path of a working python2.7, or nothing.
find_python2() {
    local c
    for c in ${AUTOBAHN_PYTHON2:-} \
             "${PYENV_ROOT:-$HOME/.pyenv}"/versions/2.7*/bin/python2.7 \
             /usr/bin/python2.7 /usr/local/bin/python2.7 "$(command -v python2.7 || true)"; do
        [ -n "$c" ] && [ -x "$c" ] && python2_works "$c" && { echo "$c"; return; }
    done
}

# Debian bullseye's python2.7 (and the bullseye libraries it needs that bookworm dropped),
# downloaded with a private apt configuration and unpacked under $AB_HOME/py27.
debian_python2() {
    local apt="$AB_HOME/apt" root="$AB_HOME/py27" mirror
    mirror=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
             | grep -v -- '-security' | head -n1 | tr -d ' ')
    mirror=${mirror:-http://deb.debian.org/debian}
    log "fetching Debian bullseye python2.7 from $mirror"
    rm -rf "$apt" "$root"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs" "$root"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bullseye main" >"$apt/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
                -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
                -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
    apt-get "${opts[@]}" -qq update >&2 || die "apt-get update (bullseye) failed"
    (cd "$apt/debs" && apt-get "${opts[@]}" -qq download \
        python2.7-minimal libpython2.7-minimal libpython2.7-stdlib python2.7 \
        libpython2.7 libpython2.7-dev python2.7-dev libssl1.1 libffi7 >&2) || die "apt-get download failed"
    local deb
    for deb in "$apt/debs"/*.deb; do dpkg -x "$deb" "$root"; done
    python2_works_debian || die "the unpacked python2.7 does not run"
    echo "$root/usr/bin/python2.7"
}

debian_env() { echo "LD_LIBRARY_PATH=$AB_HOME/py27/usr/lib/x86_64-linux-gnu:$AB_HOME/py27/lib/x86_64-linux-gnu"; }
python2_works_debian() { env "$(debian_env)" "$AB_HOME/py27/usr/bin/python2.7" -c 'import sys, ssl, zlib, ctypes' >/dev/null 2>&1; }

install_autobahn() {
    if [ -f "$STAMP" ] && [ -x "$WSTEST" ]; then return; fi
    log "installing Autobahn|Testsuite 0.8.2 into $AB_HOME"
    local started=$SECONDS py envline=""
    mkdir -p "$AB_HOME"
    rm -rf "$AB_HOME/venv" "$AB_HOME/bin" "$AB_HOME"/.installed-*
    py=$(find_python2)
    if [ -z "$py" ] || [ "${AUTOBAHN_PYTHON2_FROM_DEBIAN:-0}" = 1 ]; then
        if [ -x "$AB_HOME/py27/usr/bin/python2.7" ] && python2_works_debian; then
            py="$AB_HOME/py27/usr/bin/python2.7"
        else
            py=$(debian_python2)
        fi
        envline=$(debian_env)
    fi
    log "python 2.7: $py"
    export PIP_CACHE_DIR="$AB_HOME/pip-cache" PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONWARNINGS=ignore
    # pip, setuptools, wheel and virtualenv for 2.7, from PyPI (via the Python 3 pip).
    mkdir -p "$AB_HOME/wheels"
    python3 -m pip download -q $BOOTSTRAP --no-deps --python-version 2.7 --only-binary=:all: \
        -d "$AB_HOME/wheels" || die "cannot download pip/virtualenv wheels for 2.7"
    env $envline PYTHONPATH="$(ls "$AB_HOME"/wheels/virtualenv-*.whl)" "$py" -m virtualenv -q \
        --no-download --extra-search-dir "$AB_HOME/wheels" "$AB_HOME/venv" >/dev/null \
        || die "virtualenv failed"
    local pip=(env $envline "$AB_HOME/venv/bin/python" -m pip -q install --no-deps)
    # shellcheck disable=SC2086
    "${pip[@]}" $REQUIREMENTS || die "pip install failed"
    # (Debian's pyconfig.h includes <x86_64-linux-gnu/python2.7/pyconfig.h>: point at its root.)
    # shellcheck disable=SC2086
    CFLAGS="${envline:+-I$AB_HOME/py27/usr/include} ${CFLAGS:-}" "${pip[@]}" $OPTIONAL_REQUIREMENTS >/dev/null 2>&1 \
        || log "warning: $OPTIONAL_REQUIREMENTS did not build (no compiler or headers?): pure-Python masking"
    mkdir -p "$AB_HOME/bin"
    cat >"$WSTEST" <<EOF
#!/bin/sh
# wstest from the Autobahn|Testsuite venv (written by scripts/autobahn.sh)
${envline:+export $envline}
export PYTHONWARNINGS=ignore
exec "$AB_HOME/venv/bin/python" "$AB_HOME/venv/bin/wstest" "\$@"
EOF
    chmod +x "$WSTEST"
    "$WSTEST" -a >/dev/null 2>&1 || die "wstest does not run (see: $WSTEST -a)"
    touch "$STAMP"
    log "installed in $((SECONDS - started)) s: $("$WSTEST" -a 2>/dev/null | tr '\n' ' ')"
}

install_autobahn
if [ "$INSTALL_ONLY" = 1 ]; then echo "$WSTEST"; exit 0; fi

# ----- build -------------------------------------------------------------------------------

wants() { case " $AGENTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# Every echo server and client driver is an example of the unpublished examples crate.
packages=(-p wsmachine-examples)
if [ "$BUILD" = 1 ]; then
    log "building the examples (release)"
    (cd "$ROOT" && cargo build --release --examples "${packages[@]}") || die "cargo build failed"
fi
EX="$TARGET_DIR/release/examples"
server_bin() { case "$1" in std) echo "$EX/std_echo_server" ;; tokio) echo "$EX/echo_server" ;; mio) echo "$EX/mio_echo_server" ;; smol) echo "$EX/smol_echo_server" ;; esac; }
client_bin() { case "$1" in std) echo "$EX/std_autobahn_client" ;; tokio) echo "$EX/tokio_autobahn_client" ;; mio) echo "$EX/mio_autobahn_client" ;; smol) echo "$EX/smol_autobahn_client" ;; esac; }

# ----- processes ---------------------------------------------------------------------------

PIDS=()   # our processes still running; each is taken out once it has been waited for
forget() {
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; forget "$1"; }
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # port, pid: waits until something listens on 127.0.0.1:port
    local i
    for i in $(seq 1 300); do
        kill -0 "$2" 2>/dev/null || return 1
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# Runs a command with a time limit, in the background so that a signal to this script is
# handled at once (bash runs traps only between foreground commands).
bounded() {
    timeout -k 10 "$TIMEOUT" "$@" &
    local p=$!
    PIDS+=("$p")
    local rc=0
    wait "$p" || rc=$?
    forget "$p"
    return "$rc"
}
json_list() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@"; }

mkdir -p "$OUT/logs"
rm -rf "$OUT/reports"
# shellcheck disable=SC2086
CASES_JSON=$(set -f; json_list $CASES)
# shellcheck disable=SC2086
EXCLUDE_JSON=$(set -f; json_list $EXCLUDE)
log "cases: $CASES${EXCLUDE:+ (excluding ${EXCLUDE// /,})}"
run_started=$SECONDS

# (a) echo servers, tested by wstest -m fuzzingclient (one run per server).
for a in std tokio mio smol; do
    wants "$a-server" || continue
    port=$(free_port)
    "$(server_bin $a)" "127.0.0.1:$port" >"$OUT/logs/$a-server.log" 2>&1 &
    spid=$!; PIDS+=("$spid")
    wait_port "$port" "$spid" || { log "$a-server did not start (see $OUT/logs/$a-server.log)"; stop "$spid"; continue; }
    cat >"$OUT/fuzzingclient-$a.json" <<EOF
{"outdir": "$OUT/reports/$a-server",
 "servers": [{"agent": "$a-server", "url": "ws://127.0.0.1:$port"}],
 "cases": $CASES_JSON, "exclude-cases": $EXCLUDE_JSON, "exclude-agent-cases": {}}
EOF
    log "$a-server: wstest -m fuzzingclient against ws://127.0.0.1:$port"
    t=$SECONDS
    bounded "$WSTEST" -m fuzzingclient -s "$OUT/fuzzingclient-$a.json" \
        >"$OUT/logs/wstest-$a-server.log" 2>&1 || log "$a-server: wstest exited with $? (see $OUT/logs/wstest-$a-server.log)"
    log "$a-server: done in $((SECONDS - t)) s"
    stop "$spid"
done

# (b) client drivers, against one wstest -m fuzzingserver.
clients=()
for a in std tokio mio smol; do wants "$a-client" && clients+=("$a"); done
if [ ${#clients[@]} -gt 0 ]; then
    port=$(free_port)
    cat >"$OUT/fuzzingserver.json" <<EOF
{"url": "ws://127.0.0.1:$port", "outdir": "$OUT/reports/clients",
 "cases": $CASES_JSON, "exclude-cases": $EXCLUDE_JSON, "exclude-agent-cases": {}}
EOF
    (cd "$OUT" && exec "$WSTEST" -m fuzzingserver -s fuzzingserver.json --webport 0) >"$OUT/logs/wstest-fuzzingserver.log" 2>&1 &
    wpid=$!; PIDS+=("$wpid")
    if wait_port "$port" "$wpid"; then
        for a in "${clients[@]}"; do
            log "$a-client: against wstest -m fuzzingserver on ws://127.0.0.1:$port"
            t=$SECONDS
            bounded "$(client_bin $a)" "ws://127.0.0.1:$port" "$a-client" \
                >"$OUT/logs/$a-client.log" 2>&1 || log "$a-client: exited with $? (see $OUT/logs/$a-client.log)"
            log "$a-client: done in $((SECONDS - t)) s"
        done
    else
        log "wstest fuzzingserver did not start (see $OUT/logs/wstest-fuzzingserver.log)"
    fi
    stop "$wpid"
fi
cleanup
log "run took $((SECONDS - run_started)) s"

# ----- summary -----------------------------------------------------------------------------

reports=()
for r in "$OUT"/reports/*/index.json; do
    [ -f "$r" ] && reports+=("$r")
done
# shellcheck disable=SC2086
python3 "$ROOT/scripts/autobahn-summary.py" --markdown "$OUT/summary.md" \
    --expect $AGENTS -- "${reports[@]}"
