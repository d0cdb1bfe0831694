#!/usr/bin/env bash
# Runs every test against one build directory and prints one closing line:
# "N passed, N failed". usage: tests/run.sh BUILD_DIR
#   TEST_JOBS      integration tests run at once (default 4: they wait on
#                  processes, sockets and timers more than they compute; on
#                  2 cores, 606 s of tests took 203 s three at a time, 156 s
#                  five at a time, 2026-12-04)
#   UNIT_JOBS      unit tests run at once (default 4)
#   TEST_ONLY      integration tests to run (names without test_ and .sh),
#                  and no unit or fuzz test; VALGRIND (as for the tests) applies
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

if [ -z "${TEST_ONLY:-}" ]; then
# Unit tests four at a time (each has its own temporary directory and
# swtpm; most of their time is spent waiting on it): printed in order.
units=()
for t in "$BUILD"/tests/unit/test_*; do [ -x "$t" ] && units+=("$t"); done
udir=$(mktemp -d)
for i in "${!units[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "${UNIT_JOBS:-4}" ]; do sleep 0.1; done
    ( timeout --kill-after=10 300 "${units[$i]}" >"$udir/$i.log" 2>&1; echo $? >"$udir/$i.rc" ) &
done
wait
for i in "${!units[@]}"; do
    cat "$udir/$i.log"
    rc=$(cat "$udir/$i.rc" 2>/dev/null || echo 1)
    # CUnit's summary line: "tests  TOTAL  RAN  PASSED  FAILED  INACTIVE"
    read -r p f < <(awk '$1 == "tests" { print $4, $5 }' "$udir/$i.log")
    tally "$(basename "${units[$i]}")" "$rc" "${p:-0}" "${f:-0}"
done
rm -rf "$udir"

for t in "$BUILD"/tests/fuzz/fuzz_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    timeout --kill-after=10 600 "$t" "tests/fuzz/corpora/${name#fuzz_}"
    rc=$?
    tally "$name" $rc $((rc == 0)) 0
done
fi

# Integration tests, TEST_JOBS at a time (each has its own directory, swtpm
# sockets and ports); their output is printed whole, in order.
tests=()
if [ -n "${TEST_ONLY:-}" ]; then
    for n in $TEST_ONLY; do tests+=("tests/integration/test_$n.sh"); done
else
    # The longest first, so that none of them starts last and runs alone:
    # the ones that wait longest (timers, token lifetimes, kill loops, the
    # 802.1X namespaces), as measured on 2 cores, then the rest in order.
    slow=(rotation attacks reliability 8021x agent claims identity enforce measured_boot
          ha stale)
    for n in "${slow[@]}"; do [ -f "tests/integration/test_$n.sh" ] && tests+=("tests/integration/test_$n.sh"); done
    for t in tests/integration/test_*.sh; do
        n=${t#tests/integration/test_}
        [[ " ${slow[*]} " == *" ${n%.sh} "* ]] || tests+=("$t")
    done
fi
dir=$(mktemp -d)
pids=()
it0=$(date +%s)
for i in "${!tests[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "${TEST_JOBS:-4}" ]; do sleep 0.2; done
    ( t0=$(date +%s); timeout --kill-after=10 900 "${tests[$i]}" "$BUILD" >"$dir/$i.log" 2>&1
      echo $? >"$dir/$i.rc"; echo $(($(date +%s) - t0)) >"$dir/$i.secs" ) &
    pids+=($!)
done
wait "${pids[@]}" 2>/dev/null
for i in "${!tests[@]}"; do
    cat "$dir/$i.log"
    rc=$(cat "$dir/$i.rc" 2>/dev/null || echo 1)
    read -r p f < <(sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p' "$dir/$i.log" | tail -1)
    tally "$(basename "${tests[$i]}")" "$rc" "${p:-0}" "${f:-0}"
done
# The slowest, for whoever keeps make test within its time; every one's
# time in BUILD/test-times.txt, and the integration stage's.
for i in "${!tests[@]}"; do
    echo "$(cat "$dir/$i.secs" 2>/dev/null || echo 0) $(basename "${tests[$i]}")"
done | sort -rn >"$dir/times"
head -5 "$dir/times" | awk 'BEGIN { printf "slowest:" } { printf " %s %d s;", $2, $1 } END { print "" }'
awk -v wall="$(($(date +%s) - it0))" '{ s += $1 } END { printf "integration: %d s of tests in %d s, %s at a time\n", s, wall, ENVIRON["TEST_JOBS"] ? ENVIRON["TEST_JOBS"] : 4 }' "$dir/times"
cp "$dir/times" "$BUILD/test-times.txt" 2>/dev/null || true
rm -rf "$dir"

echo
for n in "${failed_names[@]}"; do echo "failed: $n"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
