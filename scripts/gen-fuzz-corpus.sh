#!/usr/bin/env bash
# Regenerates the committed seed corpus of the fuzz targets (fuzz/corpus/<target>/) from real
# client/server traffic recorded in memory by fuzz/src/bin/gen_corpus.rs (the test-support
# Pair on a simulated clock).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf fuzz/corpus
cargo run -q --manifest-path fuzz/Cargo.toml --bin gen_corpus -- fuzz/corpus
python3 scripts/gen-deflate-seeds.py
find fuzz/corpus -type f | sort | xargs ls -l | awk '{print $5, $9}'
