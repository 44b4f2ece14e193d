#!/usr/bin/env bash
# Regenerates the committed seed corpus of the fuzz targets (fuzz/corpus/<target>/) from real
# client/server traffic recorded in memory by crates/wsmachine/examples/gen_corpus.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf fuzz/corpus
cargo run -q -p wsmachine --example gen_corpus -- fuzz/corpus
find fuzz/corpus -type f | sort | xargs ls -l | awk '{print $5, $9}'
