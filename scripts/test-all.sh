#!/usr/bin/env bash
# The whole test suite: installs the interop peers (Python websockets, Node ws, Debian
# chromium), runs every Rust test in the workspace (unit, property, hostile-input, adapter,
# interop and classic-failure tests), the Autobahn|Testsuite against every adapter's server
# and client (scripts/autobahn.sh: sections 1-7, 10, a reduced 9.* and a sample of the
# permessage-deflate sections 12.*/13.*; strict), then a bounded
# fuzz smoke run of every fuzz target.
#
#   scripts/test-all.sh              # everything
#   FUZZ_SECONDS=10 scripts/test-all.sh
#   WSM_SKIP_FUZZ=1 scripts/test-all.sh
#   WSM_SKIP_AUTOBAHN=1 scripts/test-all.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Disk: a clean build of everything here with full debug info and incremental caches took
# 8.3 GB, and one CI run failed with "No space left on device" while linking the examples.
# Line tables keep file:line in panics and backtraces; incremental caches only help rebuilds.
# Set either variable to override.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
export CARGO_PROFILE_DEV_DEBUG=${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}
export CARGO_PROFILE_TEST_DEBUG=${CARGO_PROFILE_TEST_DEBUG:-line-tables-only}
echo "== disk free before the build: $(df -h . | awk 'NR==2 {print $4}')"

echo "== installing interop peers"
bash scripts/install-peers.sh

echo "== formatting, lints and docs"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

echo "== core builds without std (and with record/replay, which is no_std + alloc too)"
cargo build -p wsmachine --no-default-features --quiet
cargo build -p wsmachine --no-default-features --features record --quiet

echo "== adapters with their default features (no TLS: wss:// is refused, not broken)"
cargo clippy -p wsmachine-std -p wsmachine-async -p wsmachine-tokio -p wsmachine-futures -p wsmachine-mio --all-targets --quiet -- -D warnings
cargo test -p wsmachine-std -p wsmachine-async -p wsmachine-tokio -p wsmachine-futures -p wsmachine-mio --lib --quiet
RUSTDOCFLAGS="-D warnings" cargo doc -p wsmachine-std -p wsmachine-async -p wsmachine-tokio -p wsmachine-futures -p wsmachine-mio --no-deps --quiet

echo "== tests"
cargo test --workspace --all-targets

echo "== doc tests"
cargo test --workspace --doc

echo "== core with permessage-deflate (feature deflate)"
cargo clippy -p wsmachine --all-targets --all-features --quiet -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc -p wsmachine --all-features --no-deps --quiet
cargo build -p wsmachine --no-default-features --features deflate --quiet
cargo test -p wsmachine --all-features

echo "== Miri: the core's two audited unsafe modules, mask and spare (skips without nightly Miri)"
scripts/miri.sh

if [ "${WSM_SKIP_AUTOBAHN:-0}" != 1 ]; then
  echo "== Autobahn|Testsuite (every case OK or INFORMATIONAL)"
  bash scripts/autobahn.sh --only "${WSM_AUTOBAHN_AGENTS:-std-server,std-client,tokio-server,tokio-client,mio-server,mio-client,smol-server,smol-client}"
fi

if [ "${WSM_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz smoke run (${FUZZ_SECONDS:-30} s per target)"
  bash scripts/fuzz-smoke.sh
fi
echo "== target directory: $(du -sh "${CARGO_TARGET_DIR:-target}" 2>/dev/null | cut -f1)"
echo "== all tests passed"
