#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS (default 30) from a temporary copy of its committed
# seed corpus (fuzz/corpus/<target>/ is never written to), after one `cargo fuzz build`.
# Prints each target's execution count; exits non-zero if any target crashes.
#
#   FUZZ_SECONDS=30      seconds per target
#   FUZZ_TARGETS="..."   a subset of targets (default: all)
#   FUZZ_PARALLEL=1      targets run at once (the machine has 2 shared cores)
#   FUZZ_KEEP=1          keep the temporary corpora and logs (their path is printed)
#
# Crash inputs land in fuzz/artifacts/<target>/ (git-ignored); reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/crash-...
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${FUZZ_SECONDS:-30}
PAR=${FUZZ_PARALLEL:-1}
ALL="frame_server frame_client handshake_server handshake_client stateful pair"
TARGETS=${FUZZ_TARGETS:-$ALL}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz missing: installing it"
    cargo install cargo-fuzz --locked || exit 1
fi

start=$(date +%s)
echo "building fuzz targets"
(cd fuzz && cargo fuzz build) || { echo "FAIL: cargo fuzz build"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsmachine-fuzz.XXXXXX")
[ -n "${FUZZ_KEEP:-}" ] || trap 'rm -rf "$WORK"' EXIT

run_one() {
    local t=$1
    cp -r "$ROOT/fuzz/corpus/$t" "$WORK/$t"
    (cd "$ROOT/fuzz" && cargo fuzz run "$t" "$WORK/$t" -- \
        -max_total_time="$SECS" -rss_limit_mb=2048 -print_final_stats=1) >"$WORK/$t.log" 2>&1
    echo $? >"$WORK/$t.rc"
}

running=0
for t in $TARGETS; do
    [ -d "fuzz/corpus/$t" ] || { echo "FAIL: no corpus for $t"; exit 1; }
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$PAR" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

failed=0
printf '%-18s %-6s %14s\n' target result executions
for t in $TARGETS; do
    rc=$(cat "$WORK/$t.rc" 2>/dev/null || echo 99)
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$WORK/$t.log" | tail -1 | awk '{print $2}')
    if [ "$rc" = 0 ]; then
        printf '%-18s %-6s %14s\n' "$t" ok "${execs:-?}"
    else
        failed=1
        printf '%-18s %-6s %14s\n' "$t" CRASH "${execs:-?}"
        grep -E "panicked at|^SUMMARY|Test unit written|ERROR: libFuzzer" "$WORK/$t.log" | head -6 | sed 's/^/    /'
    fi
done
echo "wall time: $(( $(date +%s) - start )) s for $(echo $TARGETS | wc -w) targets at ${SECS}s each"
[ -n "${FUZZ_KEEP:-}" ] && echo "logs and corpora kept in $WORK"
exit $failed
