#!/usr/bin/env bash
# Staleness end to end (issue 15, item 4): a device that stops attesting
# stops being compliant. A real verifier with an attest interval of 2 s and
# a grace of 1 s (from its configuration file, so that SIGHUP can change
# them); a real (simulated) TPM; GetDeviceCompliance over mTLS; the registry
# CLI. Times are waited for, never assumed: the test depends on wall-clock
# seconds, so it is not in the valgrind list.
# usage: test_stale.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_stale.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: staleness (swtpm, TLS, mTLS, SIGHUP)"
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
SCEN=$ROOT/simulator/scenarios
V=(${VALGRIND:-} "$BIN/verifier")
C=(${VGC:-} "$BIN/attest_client")
start_swtpm "$WORK/tpm"
"$BIN/tpa-bootsim" --scenario "$SCEN/good.json" --log "$WORK/good.log" --tcti "$TCTI" >/dev/null
mkdir -p "$WORK/ekca"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
DB=$WORK/registry.db
CONF=$WORK/verifier.conf
printf 'attest_interval = 2\nstale_grace = 1\n' >"$CONF"
start_verifier v --config "$CONF" --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$DB" --ek-ca "$WORK/ekca" --client-ca "$WORK/certs/rp-ca.pem" \
    --relying-party policy-engine
VP=$VPID
TARGET=127.0.0.1:$PORT
A=("${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin"
   --eventlog "$WORK/good.log")
CO=("${V[@]}" compliance --verifier "$TARGET" --ca "$CA" --cert "$WORK/certs/client.pem"
    --key "$WORK/certs/client.key")
"${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" >"$WORK/enroll.out" 2>&1 ||
    bad "enroll" "$WORK/enroll.out"
DEV=$(sed -n 's/^enrolled: device //p' "$WORK/enroll.out")
"${A[@]}" >/dev/null 2>&1 || true
"$BIN/verifier" baseline learn --registry "$DB" --device "$DEV" --name fleet --out "$WORK/fleet.json" >/dev/null
"$BIN/verifier" baseline add --registry "$DB" "$WORK/fleet.json" >/dev/null
"$BIN/verifier" baseline assign --registry "$DB" --device "$DEV" fleet >/dev/null

# Polls CMD... until its exit status is RC (at most ~20 s); the last run's
# output stays in $WORK/out and $WORK/err.
wait_exit() {
    local rc=$1 i got
    shift
    for ((i = 0; i < 80; i++)); do
        set +e
        "$@" >"$WORK/out" 2>"$WORK/err"
        got=$?
        set -e
        [ "$got" -eq "$rc" ] && return 0
        sleep 0.25
    done
    return 1
}

# ---- compliant just after a good verdict ----
expect_exit "attest: compliant" 0 "${A[@]}" --token-out "$WORK/token"
# The token's lifetime is capped at interval + grace: it never outlives the
# device's due time (the default TTL, 3600 s, would).
/usr/bin/python3 - "$WORK/token" >"$WORK/py.out" 2>&1 <<'PY' && ok "... its token lives 3 s (interval + grace), not 3600" || bad "token lifetime cap" "$WORK/py.out"
import base64, json, sys
p = open(sys.argv[1]).read().strip().split(".")[1]
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
assert c["exp"] - c["iat"] == 3, c
PY
# Asked at once it is compliant; a slow machine may take longer than 3 s
# from the verdict to the question, so a fresh verdict is taken and asked
# for until one answer comes in time.
for _ in 1 2 3; do
    "${A[@]}" >/dev/null 2>&1 || true
    set +e; "${CO[@]}" "$DEV" >"$WORK/out" 2>"$WORK/err"; rc=$?; set -e
    [ "$rc" -eq 0 ] && break
done
[ "$rc" -eq 0 ] && ok "GetDeviceCompliance: compliant after a fresh verdict" ||
    bad "GetDeviceCompliance: compliant after a fresh verdict (exit $rc)" "$WORK/out"
expect_grep "... said so" "$WORK/out" "^$DEV: compliant$"

# ---- stale once 3 s pass without attesting ----
if wait_exit 1 "${CO[@]}" "$DEV"; then ok "without attesting: NOT compliant (1)"
else bad "without attesting: NOT compliant (1)" "$WORK/out"; fi
expect_grep "... stale, and why" "$WORK/out" \
    "^$DEV: NOT compliant \(stale\): the device is overdue: its last good verdict was at [0-9-]+T[0-9:]+Z, due by [0-9-]+T[0-9:]+Z \(interval 2 s \+ grace 1 s\)$"
expect_exit "... the same in JSON (1)" 1 "${CO[@]}" --json "$DEV" || true
/usr/bin/python3 - "$WORK/out" >"$WORK/py.out" 2>&1 <<'PY' && ok "... stale, due_at = verdict_at + 3" || bad "compliance JSON" "$WORK/py.out"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["compliant"] is False and o["stale"] is True, o
assert o["outcome"] == "compliant" and o["due_at"] == o["verdict_at"] + 3, o
PY
expect_exit "devices list --stale --attest-interval 2 --stale-grace 1" 0 "${V[@]}" devices list \
    --stale --attest-interval 2 --stale-grace 1 --registry "$DB"
expect_grep "... lists it" "$WORK/out" "^$DEV  active "
expect_grep "... and counts it" "$WORK/out" '; 1 stale$'
expect_exit "devices list --stale with the default interval: not it" 0 "${V[@]}" devices list \
    --stale --registry "$DB"
expect_grep "... none" "$WORK/out" '^0 devices$'
expect_exit "devices show says the due time, stale" 0 "${V[@]}" devices show --attest-interval 2 \
    --stale-grace 1 --registry "$DB" "$DEV"
expect_grep "... due, (stale)" "$WORK/out" '^  due             [0-9-]+T[0-9:]+Z \(stale\)$'
expect_exit "devices summary --json counts it" 0 "${V[@]}" devices summary --json --attest-interval 2 \
    --stale-grace 1 --registry "$DB"
expect_grep "... stale 1" "$WORK/out" '"stale": 1'

# ---- attesting again makes it compliant again ----
for _ in 1 2 3; do
    "${A[@]}" >/dev/null 2>&1 || true
    set +e; "${CO[@]}" "$DEV" >"$WORK/out" 2>"$WORK/err"; rc=$?; set -e
    [ "$rc" -eq 0 ] && break
done
[ "$rc" -eq 0 ] && ok "it attests again: compliant again" ||
    bad "it attests again: compliant again (exit $rc)" "$WORK/out"

# ---- SIGHUP: a longer interval from the configuration file ----
wait_exit 1 "${CO[@]}" "$DEV" || bad "stale again before the reload" "$WORK/out"
printf 'attest_interval = 100\nstale_grace = 1\n' >"$CONF"
kill -HUP "$VP"
for ((i = 0; i < 500; i++)); do
    grep -q 'SIGHUP: reloaded: .*attest interval 100 s, stale grace 1 s' "$WORK/v.err" && break
    sleep 0.02
done
expect_grep "SIGHUP: the new interval and grace said" "$WORK/v.err" \
    'SIGHUP: reloaded: .*attest interval 100 s, stale grace 1 s'
# The last token was capped at 3 s and has expired; a fresh verdict's token
# lives 101 s, and 4 s on (longer than the old interval + grace) the device
# is compliant still.
expect_exit "... and used: a fresh verdict" 0 "${A[@]}" --token-out "$WORK/token"
/usr/bin/python3 - "$WORK/token" >"$WORK/py.out" 2>&1 <<'PY' && ok "... its token lives 101 s" || bad "token lifetime after SIGHUP" "$WORK/py.out"
import base64, json, sys
p = open(sys.argv[1]).read().strip().split(".")[1]
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
assert c["exp"] - c["iat"] == 101, c
PY
sleep 4
expect_exit "... 4 s on, compliant still" 0 "${CO[@]}" "$DEV"
# A value out of range refuses the whole reload, named.
printf 'attest_interval = 0\n' >"$CONF"
kill -HUP "$VP"
for ((i = 0; i < 500; i++)); do
    grep -q "$CONF:1: attest-interval: '0' is not in 1\.\." "$WORK/v.err" && break
    sleep 0.02
done
expect_grep "SIGHUP: attest_interval = 0 refused, naming file and key" "$WORK/v.err" \
    "$CONF:1: attest-interval: '0' is not in 1\.\."
expect_exit "... the old settings kept" 0 "${CO[@]}" "$DEV"

# ---- serve refuses what is out of range at start-up ----
expect_exit "serve --stale-grace above 30 days (2)" 2 "${V[@]}" serve --listen 127.0.0.1:0 --insecure \
    --stale-grace 2592001 || true
expect_grep "... naming the option" "$WORK/err" "^verifier: --stale-grace: '2592001' is not in 0\.\.2592000$"
summary
