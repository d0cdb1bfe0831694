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

for t in "$BUILD"/tests/unit/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    log=$(mktemp)
    timeout --kill-after=10 300 "$t" >"$log" 2>&1
    rc=$?
    cat "$log"
    # CUnit's summary line: "tests  N  N  passed  failed  inactive"
    read -r p f < <(awk '$1 == "tests" { print $4, $5 }' "$log")
    rm -f "$log"
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ]; then
        [ "${f:-0}" -gt 0 ] || failed=$((failed + 1))
        failed_names+=("$name (exit $rc)")
    fi
done

for t in "$BUILD"/tests/fuzz/fuzz_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    target=${name#fuzz_}
    if timeout --kill-after=10 600 "$t" "tests/fuzz/corpora/$target"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failed_names+=("$name (fuzz replay)")
    fi
done

for t in tests/integration/test_*.sh; do
    name=$(basename "$t")
    log=$(mktemp)
    timeout --kill-after=10 900 "$t" "$BUILD" >"$log" 2>&1
    rc=$?
    cat "$log"
    read -r p f < <(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' "$log" | tail -1)
    rm -f "$log"
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ]; then
        [ "${f:-0}" -gt 0 ] || failed=$((failed + 1))
        failed_names+=("$name (exit $rc)")
    fi
done

echo
for n in "${failed_names[@]}"; do echo "failed: $n"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
