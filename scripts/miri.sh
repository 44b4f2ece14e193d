#!/usr/bin/env bash
# Runs the core's two audited unsafe modules' tests under Miri (nightly): `mask`, with AVX2
# and AVX-512 enabled so that the runtime-detected wide paths and its `unsafe` call (a
# #[target_feature] function after feature detection) are the ones interpreted, and
# `spare`, whose one `set_len` appends bytes a reader wrote into lent spare room. Miri checks
# that the call is sound (it is undefined behaviour to call such a function without the
# feature), that every access is in bounds and that no uninitialised byte is read.
# Skips, saying why, where nightly Miri is not installed
# (`rustup toolchain install nightly --component miri`).
#
#   scripts/miri.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! cargo +nightly miri --version >/dev/null 2>&1; then
  echo "SKIP miri: no nightly toolchain with the miri component here" >&2
  exit 0
fi
target=${CARGO_TARGET_DIR:-$root/target}/miri
cargo +nightly miri setup >/dev/null
RUSTFLAGS="-C target-feature=+avx2,+avx512f" cargo +nightly miri test -p wsmachine --lib \
  --target-dir "$target" -- mask:: spare::
