#!/usr/bin/env bash
# Fleet registry (issue 14) end to end with a real swtpm, verifier and
# attest_client: a revoked device that an operator deletes stays revoked (a
# tombstone), its TPM is refused by name when it enrolls again, until
# "devices reinstate" lifts it; devices are named by a unique id prefix.
# usage: test_fleet.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_fleet.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: fleet registry (tombstones, id prefixes)"
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
start_swtpm "$WORK/tpm"
mkdir -p "$WORK/ekca"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
REG=$WORK/registry.db
start_verifier v --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$REG" --ek-ca "$WORK/ekca" --baseline "$ROOT/tests/data/baselines/evidence-only.json"
TARGET=127.0.0.1:$PORT
C=(${VALGRIND:-} "$BIN/attest_client")
V=("$BIN/verifier" devices)
E=("${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file)

expect_exit "enroll" 0 "${E[@]}" "$WORK/ak1.bin" || true
DEV=$(sed -n 's/^enrolled: device //p' "$WORK/out")
P16=${DEV:0:16}
[ ${#DEV} -eq 64 ] && ok "... a 64-hex device id" || bad "... a 64-hex device id" "$WORK/out"

# Names: the 16-hex prefix the log prints, and 8; not shorter, not unknown.
expect_exit "devices show by the 16-hex prefix" 0 "${V[@]}" show --registry "$REG" "$P16" || true
expect_grep "... shows the device" "$WORK/out" "^$DEV  active "
expect_exit "devices show by an 8-hex prefix" 0 "${V[@]}" show --json --registry "$REG" "${DEV:0:8}" || true
expect_grep "... as JSON" "$WORK/out" "\"id\": \"$DEV\""
expect_exit "a 7-hex prefix is refused (1)" 1 "${V[@]}" show --registry "$REG" "${DEV:0:7}" || true
expect_grep "... saying what a name is" "$WORK/err" 'at least 8 lower-case hex digits'
expect_exit "an unknown prefix is not found (1)" 1 "${V[@]}" show --registry "$REG" \
    "$( [ "${DEV:0:1}" = 0 ] && echo 1 || echo 0 )${DEV:1:15}" || true
expect_grep "... saying so" "$WORK/err" 'no device with id prefix'

# Revoke, then delete: a tombstone keeps the TPM out.
expect_exit "devices revoke without a DEVICE is a usage error (2)" 2 "${V[@]}" revoke --registry "$REG" || true
expect_grep "... saying what is missing" "$WORK/err" '^verifier: devices: one DEVICE is required$'
expect_grep "... with revoke's usage" "$WORK/err" '^usage: verifier devices revoke \[--json\] --registry FILE DEVICE$'
expect_exit "devices label with no LABEL is a usage error (2)" 2 "${V[@]}" label --registry "$REG" "$P16" || true
expect_grep "... saying what is missing" "$WORK/err" '^verifier: devices: one DEVICE and one LABEL are required$'
expect_exit "devices revoke by prefix" 0 "${V[@]}" revoke --registry "$REG" "$P16" || true
expect_grep "... revoked" "$WORK/out" "^$DEV  revoked "
expect_exit "devices delete of the revoked device by prefix" 0 "${V[@]}" delete --registry "$REG" "$P16" || true
expect_grep "... deleted" "$WORK/out" "^deleted $DEV\$"
expect_exit "enrolling the deleted revoked TPM again is refused (5)" 5 "${E[@]}" "$WORK/ak2.bin" || true
expect_grep "... by name, with what to do" "$WORK/err" \
    "PERMISSION_DENIED.*device $P16 is revoked \\(deleted while revoked\\): an operator must reinstate it: verifier devices reinstate $P16"
if grep -q '^enrolled:' "$WORK/out"; then bad "... not \"enrolled\"" "$WORK/out"; else ok "... not \"enrolled\""; fi
expect_exit "... and with the AK it had (5)" 5 "${E[@]}" "$WORK/ak1.bin" || true
/usr/bin/python3 - "$REG" "$DEV" >"$WORK/db.out" 2>&1 <<'PY' || true
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
dev = sys.argv[2]
print("devices", c.execute("select count(*) from devices where id=?", (dev,)).fetchone()[0])
print("tombstones", c.execute("select count(*) from tombstones where device_id=? and revoked_at > 0 and deleted_at > 0", (dev,)).fetchone()[0])
print("audit", c.execute("select group_concat(event) from (select event from audit where device_id=? order by seq)", (dev,)).fetchone()[0])
PY
expect_grep "registry: no device row" "$WORK/db.out" '^devices 0$'
expect_grep "registry: one tombstone with its times" "$WORK/db.out" '^tombstones 1$'
expect_grep "registry: revoke and delete audited" "$WORK/db.out" '^audit enroll,revoke,delete$'
expect_exit "devices show of the tombstoned id (1)" 1 "${V[@]}" show --registry "$REG" "$P16" || true

# Reinstate lifts it; the TPM enrolls again.
expect_exit "devices reinstate of the tombstone by prefix" 0 "${V[@]}" reinstate --registry "$REG" "$P16" || true
expect_grep "... saying the tombstone went" "$WORK/out" "^reinstated $DEV \\(tombstone removed"
expect_exit "reinstate again: not found (1)" 1 "${V[@]}" reinstate --registry "$REG" "$P16" || true
expect_exit "the reinstated TPM enrolls again" 0 "${E[@]}" "$WORK/ak3.bin" || true
expect_grep "... as the same device" "$WORK/out" "^enrolled: device $DEV\$"
expect_exit "... and attests" 0 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" \
    --ak-file "$WORK/ak3.bin" || true

# Deleting an active device leaves no tombstone: it may enroll again.
expect_exit "devices delete of the active device" 0 "${V[@]}" delete --registry "$REG" "$DEV" || true
expect_exit "... which enrolls again" 0 "${E[@]}" "$WORK/ak4.bin" || true

summary
