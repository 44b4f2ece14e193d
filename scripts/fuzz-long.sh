#!/usr/bin/env bash
# Runs every fuzz target for longer: `scripts/fuzz-long.sh [seconds]` (default 600 each).
# Two targets at a time by default; same reporting and knobs as scripts/fuzz-smoke.sh (FUZZ_TARGETS,
# FUZZ_PARALLEL, FUZZ_KEEP).
cd "$(dirname "$0")" || exit 1
FUZZ_PARALLEL=${FUZZ_PARALLEL:-2} FUZZ_SECONDS=${1:-600} exec ./fuzz-smoke.sh
