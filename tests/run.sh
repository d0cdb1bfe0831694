#!/usr/bin/env bash
# Runs every test against one build directory and prints one closing line:
# "N passed, N failed". usage: tests/run.sh BUILD_DIR
set -uo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export TPA_SIMULATOR=$ROOT/simulator/tpa-swtpm
export TPA_PCR_EXTEND=$ROOT/$BUILD/tpa-pcr-extend
passed=0
failed=0
failed_names=()

# tally NAME RC P F: adds a runner's counts; a non-zero exit with no failed
# test counted still counts as one failure.
tally() {
    passed=$((passed + ${3:-0}))
    failed=$((failed + ${4:-0}))
    if [ "$2" -ne 0 ]; then
        [ "${4:-0}" -gt 0 ] || failed=$((failed + 1))
        failed_names+=("$1 (exit $2)")
    fi
}

for t in "$BUILD"/tests/unit/test_*; do
    [ -x "$t" ] || continue
    log=$(mktemp)
    timeout --kill-after=10 300 "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    # CUnit's summary line: "tests  TOTAL  RAN  PASSED  FAILED  INACTIVE"
    read -r p f < <(awk '$1 == "tests" { print $4, $5 }' "$log")
    rm -f "$log"
    tally "$(basename "$t")" $rc "${p:-0}" "${f:-0}"
done

for t in "$BUILD"/tests/fuzz/fuzz_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    timeout --kill-after=10 600 "$t" "tests/fuzz/corpora/${name#fuzz_}"
    rc=$?
    tally "$name" $rc $((rc == 0)) 0
done

for t in tests/integration/test_*.sh; do
    log=$(mktemp)
    timeout --kill-after=10 900 "$t" "$BUILD" >"$log" 2>&1
    rc=$?
    cat "$log"
    read -r p f < <(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' "$log" | tail -1)
    rm -f "$log"
    tally "$(basename "$t")" $rc "${p:-0}" "${f:-0}"
done

echo
for n in "${failed_names[@]}"; do echo "failed: $n"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
