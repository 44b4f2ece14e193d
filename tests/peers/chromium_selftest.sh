#!/usr/bin/env bash
# Runs a self-testing page in headless Chromium and reports its verdict.
#
#   tests/peers/chromium_selftest.sh URL     e.g. http://127.0.0.1:8080/?selftest
#
# The page does the work and writes "PASS ..." or "FAIL ..." into
# <pre id="result"> (see crates/wsmachine-examples/examples/chat.html). Chromium
# dumps the DOM at the page's load event (--dump-dom), so the page must hold its
# load event back until the verdict is written; --timeout makes Chromium stop
# loading and dump anyway after 45 s, and the whole run is capped at 60 s.
#
# Prints one line on stdout, the text of <pre id="result"> (or "FAIL <why>"),
# and exits 0 only if it starts with PASS. Chromium's own log goes to stderr
# only on failure. Chromium: $PEER_CHROMIUM, else /usr/bin/chromium
# (scripts/install-peers.sh installs it).
set -uo pipefail

if [ $# -ne 1 ]; then
    echo "FAIL usage: chromium_selftest.sh URL"
    exit 2
fi
URL="$1"
CHROMIUM="${PEER_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
    echo "FAIL $CHROMIUM not found (run scripts/install-peers.sh)"
    exit 1
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/wsmachine-chromium.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

timeout -k 5 60 "$CHROMIUM" \
    --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --disable-extensions --mute-audio --no-default-browser-check \
    --user-data-dir="$WORK/profile" \
    --timeout=45000 --dump-dom "$URL" \
    >"$WORK/dom.html" 2>"$WORK/chromium.log" </dev/null
status=$?

# Text of the first <pre id="result" ...>...</pre>, entities decoded, on one line.
result="$(perl -0777 -ne '
    if (m{<pre\b[^>]*\bid="result"[^>]*>(.*?)</pre>}s) {
        my $t = $1;
        $t =~ s/&lt;/</g; $t =~ s/&gt;/>/g; $t =~ s/&quot;/"/g; $t =~ s/&nbsp;/ /g; $t =~ s/&amp;/&/g;
        $t =~ s/\s*\n\s*/ /g;
        print $t;
    }' "$WORK/dom.html")"

if [ -z "$result" ]; then
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        result="FAIL chromium killed after 60 s (no DOM dumped)"
    else
        result="FAIL no <pre id=\"result\"> in the dumped DOM (chromium exit status $status, $(wc -c <"$WORK/dom.html") bytes dumped)"
    fi
elif [ "$result" = "RUNNING" ]; then
    result="FAIL page still RUNNING when Chromium dumped the DOM (chromium exit status $status)"
fi

echo "$result"
case "$result" in
PASS*) exit 0 ;;
*)
    echo "--- chromium log (last 20 lines, D-Bus noise removed) ---" >&2
    grep -v -e 'dbus/' -e 'DBus' "$WORK/chromium.log" | tail -n 20 >&2
    exit 1
    ;;
esac
