#!/usr/bin/env bash
# Installs the third-party WebSocket peers used by wsmachine's interop tests.
#
#   scripts/install-peers.sh
#
# Idempotent and non-interactive; every step checks first and does nothing when
# the pinned version is already there, so a repeat run takes about a second.
#
#   * Python `websockets` (pinned below) in a venv at <repo>/.peers/venv
#   * Node `ws` (pinned by tests/peers/package.json + package-lock.json), `npm ci`
#     into tests/peers/node_modules
#   * Debian `chromium` (/usr/bin/chromium), apt-installed only if missing.
#     Set PEERS_SKIP_CHROMIUM=1 to skip it (PEER_CHROMIUM is then left empty).
#   * Proxies for the client proxy tests (tests/std_proxy.rs), apt-installed only if
#     missing: `tinyproxy` (HTTP CONNECT with BasicAuth), `dante-server` (SOCKS5) and
#     `microsocks` (SOCKS5 with username/password: dante checks passwords against the
#     system's accounts, which a test should not create). The tests run them as the
#     current user on free loopback ports with generated configs; the packages' own
#     services are not used. Set PEERS_SKIP_PROXIES=1 to skip them (the PEER_* paths are
#     then left empty).
#
# Prints one line per peer, then the interpreter paths, and writes them to
# <repo>/.peers/env as PEER_PYTHON=..., PEER_NODE=..., PEER_CHROMIUM=...,
# PEER_TINYPROXY=..., PEER_DANTED=..., PEER_MICROSOCKS=... lines.
# Exits non-zero on any failure.
set -euo pipefail

WEBSOCKETS_VERSION="17.4"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS_DIR="$ROOT/.peers"
VENV="$PEERS_DIR/venv"
NODE_DIR="$ROOT/tests/peers"
CHROMIUM=/usr/bin/chromium

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

log() { echo "install-peers: $*" >&2; }
die() { echo "install-peers: ERROR: $*" >&2; exit 1; }

mkdir -p "$PEERS_DIR"

# Serialise concurrent runs (e.g. parallel test binaries calling this script).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$PEERS_DIR/.lock"
    flock 9
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
fi
APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; cannot install: $*"
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        $SUDO apt-get update -qq >&2 || die "apt-get update failed"
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    $SUDO apt-get install -y -qq --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}

# ---------------------------------------------------------------- Python
venv_websockets_version() {
    "$VENV/bin/python" -c 'import websockets; print(websockets.__version__)' 2>/dev/null || true
}

if [ "$(venv_websockets_version)" != "$WEBSOCKETS_VERSION" ]; then
    if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        PY=""
        for cand in python3 python3.13 python3.12 python3.11 python3.10 /usr/bin/python3; do
            if command -v "$cand" >/dev/null 2>&1 &&
                "$cand" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1; then
                PY="$(command -v "$cand")"
                break
            fi
        done
        if [ -z "$PY" ]; then
            apt_install python3 python3-venv
            PY=/usr/bin/python3
        fi
        log "creating venv $VENV with $PY"
        rm -rf "$VENV"
        "$PY" -m venv "$VENV" >&2 || die "python -m venv failed"
    fi
    log "pip install websockets==$WEBSOCKETS_VERSION"
    "$VENV/bin/python" -m pip install -q "websockets==$WEBSOCKETS_VERSION" >&2 ||
        die "pip install websockets==$WEBSOCKETS_VERSION failed"
    [ "$(venv_websockets_version)" = "$WEBSOCKETS_VERSION" ] || die "websockets $WEBSOCKETS_VERSION not importable after install"
fi
PEER_PYTHON="$VENV/bin/python"
echo "python-websockets $(venv_websockets_version) ($PEER_PYTHON, $("$PEER_PYTHON" -c 'import platform; print("Python", platform.python_version())'))"

# ---------------------------------------------------------------- Node
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
fi
PEER_NODE="$(readlink -f "$(command -v node)")"
[ -f "$NODE_DIR/package-lock.json" ] || die "missing $NODE_DIR/package-lock.json"

lock_hash() { sha256sum "$NODE_DIR/package-lock.json" | cut -d' ' -f1; }
installed_ws_version() {
    (cd "$NODE_DIR" && "$PEER_NODE" -p 'require("ws/package.json").version' 2>/dev/null) || true
}
wanted_ws_version() {
    "$PEER_NODE" -p 'require(process.argv[1]).packages["node_modules/ws"].version' "$NODE_DIR/package-lock.json"
}

STAMP="$NODE_DIR/node_modules/.wsmachine-lock-sha256"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$(lock_hash)" ] ||
    [ "$(installed_ws_version)" != "$(wanted_ws_version)" ]; then
    log "npm ci in $NODE_DIR"
    (cd "$NODE_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed"
    [ "$(installed_ws_version)" = "$(wanted_ws_version)" ] || die "ws not resolvable after npm ci"
    lock_hash >"$STAMP"
fi
echo "node-ws $(installed_ws_version) ($PEER_NODE, node $("$PEER_NODE" --version))"

# ---------------------------------------------------------------- Chromium
PEER_CHROMIUM=""
if [ "${PEERS_SKIP_CHROMIUM:-0}" = "1" ]; then
    echo "chromium skipped (PEERS_SKIP_CHROMIUM=1)"
else
    if [ ! -x "$CHROMIUM" ]; then
        apt_install chromium
        [ -x "$CHROMIUM" ] || die "$CHROMIUM still missing after apt-get install chromium"
    fi
    PEER_CHROMIUM="$CHROMIUM"
    # `chromium --version` is answered by the wrapper without starting a browser.
    CHROMIUM_VERSION="$("$CHROMIUM" --version 2>/dev/null | head -n1 || true)"
    [ -n "$CHROMIUM_VERSION" ] || die "$CHROMIUM --version printed nothing"
    echo "chromium ${CHROMIUM_VERSION} ($PEER_CHROMIUM)"
fi

# ---------------------------------------------------------------- proxies
PEER_TINYPROXY=""
PEER_DANTED=""
PEER_MICROSOCKS=""
if [ "${PEERS_SKIP_PROXIES:-0}" = "1" ]; then
    echo "proxies skipped (PEERS_SKIP_PROXIES=1)"
else
    missing=()
    [ -x /usr/bin/tinyproxy ] || missing+=(tinyproxy)
    [ -x /usr/sbin/danted ] || missing+=(dante-server)
    [ -x /usr/bin/microsocks ] || missing+=(microsocks)
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
    for bin in /usr/bin/tinyproxy /usr/sbin/danted /usr/bin/microsocks; do
        [ -x "$bin" ] || die "$bin still missing after apt-get install"
    done
    PEER_TINYPROXY=/usr/bin/tinyproxy
    PEER_DANTED=/usr/sbin/danted
    PEER_MICROSOCKS=/usr/bin/microsocks
    pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
    echo "tinyproxy $(pkg_version tinyproxy) ($PEER_TINYPROXY)"
    echo "dante-server $(pkg_version dante-server) ($PEER_DANTED)"
    echo "microsocks $(pkg_version microsocks) ($PEER_MICROSOCKS)"
fi

# ---------------------------------------------------------------- env file
TMP_ENV="$(mktemp "$PEERS_DIR/env.XXXXXX")"
{
    echo "PEER_PYTHON=$PEER_PYTHON"
    echo "PEER_NODE=$PEER_NODE"
    echo "PEER_CHROMIUM=$PEER_CHROMIUM"
    echo "PEER_TINYPROXY=$PEER_TINYPROXY"
    echo "PEER_DANTED=$PEER_DANTED"
    echo "PEER_MICROSOCKS=$PEER_MICROSOCKS"
} >"$TMP_ENV"
chmod 644 "$TMP_ENV"
mv -f "$TMP_ENV" "$PEERS_DIR/env"
cat "$PEERS_DIR/env"
