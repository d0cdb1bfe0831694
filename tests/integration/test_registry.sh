#!/usr/bin/env bash
# Registry operations a user's mistake could break: `verifier registry backup`
# taken while a verifier serves the registry holds the enrolled device and its
# last verdict (the data is still in the WAL, which cp of the file misses),
# and its audit log verifies; an OUT that exists is refused and left alone; a
# misspelt --registry is refused and not created.
# usage: test_registry.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_registry.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: registry backup while serving"
V=(${VALGRIND:-} "$BIN/verifier")
C=(${VALGRIND:-} "$BIN/attest_client")

"$ROOT/scripts/demo-certs.sh" "$WORK/certs" >/dev/null
CA=$WORK/certs/ca.pem
start_swtpm "$WORK/tpm"
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/good.json" --log "$WORK/good.log" \
    --tcti "$TCTI" >/dev/null
mkdir -p "$WORK/ekca"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
DB=$WORK/registry.db
start_verifier v --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$DB" --ek-ca "$WORK/ekca" --token-key "$WORK/token.jwk"
TARGET=127.0.0.1:$PORT
"${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" \
    >"$WORK/enroll.out" 2>&1 || bad "enroll" "$WORK/enroll.out"
DEV=$(sed -n 's/^enrolled: device //p' "$WORK/enroll.out")
[ -n "$DEV" ] && ok "a device enrolled" || bad "a device enrolled" "$WORK/enroll.out"
# No baseline yet: the verdict recorded is no-baseline (exit status not ours).
"${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" \
    --eventlog "$WORK/good.log" >"$WORK/attest.out" 2>&1 || true

# ---- backup while the verifier serves (its WAL not checkpointed) ----
BK=$WORK/backup.db
expect_exit "registry backup while serving" 0 "${V[@]}" registry backup --registry "$DB" "$BK" || true
[ -f "$BK" ] && ok "... wrote $BK" || bad "... wrote $BK"
[ "$(stat -c %a "$BK")" = 600 ] && ok "... mode 0600" || bad "... mode 0600"
ls "$WORK" | grep -q 'backup.db.tmp-' && bad "... left a temporary file" || ok "... no temporary file left"
"$BIN/verifier" devices list --json --registry "$DB" >"$WORK/orig.json" 2>&1 ||
    bad "devices list on the registry" "$WORK/orig.json"
expect_exit "devices list --registry BACKUP" 0 "${V[@]}" devices list --json --registry "$BK" || true
cp "$WORK/out" "$WORK/backup.json"
expect_grep "... shows the device" "$WORK/backup.json" "$DEV"
python3 - "$WORK/orig.json" "$WORK/backup.json" "$DEV" >"$WORK/cmp.out" 2>&1 <<'PY' &&
import json, sys
orig, back, dev = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
def find(doc):
    devs = doc["devices"] if isinstance(doc, dict) else doc
    return [d for d in devs if d.get("id") == dev][0]
o, b = find(orig), find(back)
assert b.get("last_outcome") == "no-baseline" and b.get("last_attest_at"), b
for k in o:
    assert o[k] == b[k], (k, o[k], b[k])
PY
    ok "... with its last verdict, as the registry has it" ||
    bad "... with its last verdict, as the registry has it" "$WORK/cmp.out"
expect_exit "audit verify --registry BACKUP" 0 "${V[@]}" audit verify --registry "$BK" || true

# ---- mistakes ----
cp "$BK" "$WORK/before"
expect_exit "an OUT that exists: refused (2)" 2 "${V[@]}" registry backup --registry "$DB" "$BK" || true
expect_grep "... naming it" "$WORK/err" "backup $BK: exists already"
cmp -s "$BK" "$WORK/before" && ok "... and left as it was" || bad "... and left as it was"
TYPO=$WORK/regsitry.db
expect_exit "a misspelt --registry: refused (2)" 2 "${V[@]}" registry backup --registry "$TYPO" \
    "$WORK/b2.db" || true
expect_grep "... naming it" "$WORK/err" "registry $TYPO does not exist"
[ -e "$TYPO" ] || [ -e "$WORK/b2.db" ] && bad "... created a file" || ok "... created no file"
expect_exit "no OUT: usage (2)" 2 "${V[@]}" registry backup --registry "$DB" || true
expect_exit "registry --help" 0 "${V[@]}" registry --help || true
expect_grep "... usage first" "$WORK/out" "^usage: verifier registry backup"
stop_verifiers

summary
