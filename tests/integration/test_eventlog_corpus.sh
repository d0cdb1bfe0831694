#!/usr/bin/env bash
# Conformance over real TCG event logs (tests/data/eventlog/, see
# tests/data/SOURCES.md): `verifier eventlog show --json` on every log must
# accept or reject it as tests/data/eventlog/expected.json says, never crash,
# report the format, banks and Secure Boot state, replay to the PCR values
# paired with the log upstream, and agree with tpm2_eventlog (tpm2-tools)
# except where expected.json names a tpm2-tools 5.4 bug.
# usage: test_eventlog_corpus.sh BUILD_DIR
#   EVENTLOG_SHOW="CMD ARGS" replaces "$BUILD_DIR/verifier eventlog show --json"
#   (the log's path is appended), e.g. to check this test against a reference.
set -euo pipefail
BUILD=${1:?usage: test_eventlog_corpus.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
HELPER=$ROOT/tests/integration/eventlog_corpus.py
DATA=$ROOT/tests/data/eventlog
EXPECTED=$DATA/expected.json
if [ -n "${EVENTLOG_SHOW:-}" ]; then
    read -r -a SHOW <<<"$EVENTLOG_SHOW"
else
    # VALGRIND (make valgrind) runs the verifier under valgrind.
    SHOW=(${VALGRIND:-} "$BIN/verifier" eventlog show --json)
fi

echo "integration: event log corpus (${SHOW[*]})"
mapfile -t LOGS < <("$PY" "$HELPER" list "$EXPECTED" | cut -f1)
[ "${#LOGS[@]}" -gt 0 ] || { bad "expected.json lists logs"; summary; }

TPM2_EVENTLOG=$(command -v tpm2_eventlog || true)
if [ -n "$TPM2_EVENTLOG" ]; then ok "tpm2_eventlog (tpm2-tools) is installed"; else
    bad "tpm2_eventlog (tpm2-tools) is installed: live comparison not run"; fi

RES=$WORK/results
mkdir -p "$RES"
i=0
for f in "${LOGS[@]}"; do
    # No run may hang the suite: timeout's 124 (or a kill) counts as a failure.
    set +e
    timeout --kill-after=5 60 "${SHOW[@]}" "$DATA/$f" >"$RES/$i.out" 2>"$RES/$i.err"
    echo $? >"$RES/$i.rc"
    if [ -n "$TPM2_EVENTLOG" ]; then
        # tpm2_eventlog 5.4 segfaults on keylime/binary_bios_measurements-bogus
        # (a tpm2-tools bug): logs it does not accept are not compared.
        # The subshell waits for it, so bash's "Segmentation fault" report
        # goes to /dev/null.
        (timeout --kill-after=5 60 "$TPM2_EVENTLOG" "$DATA/$f" >"$RES/$i.t2out"
            echo $? >"$RES/$i.t2rc") 2>/dev/null
    fi
    set -e
    i=$((i + 1))
done

while IFS=$'\t' read -r kind text; do
    case $kind in
        ok) ok "$text" ;;
        bad) bad "$text" ;;
        '|') echo "       | $text" ;;
        note) echo "  note $text" ;;
        *) bad "checker output: $kind $text" ;;
    esac
done < <("$PY" "$HELPER" check "$EXPECTED" "$DATA" "$RES" || echo "bad	checker failed")
summary
