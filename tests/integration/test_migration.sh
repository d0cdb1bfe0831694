#!/usr/bin/env bash
# A registry from the field: tests/data/registry-v3 was written by the
# verifier of f09b216 (device ids = SHA-256 of the EK public area the client
# sent), with the same swtpm TPMs kept next to it. Opened by this verifier it
# migrates: ids become the SHA-256 of the EK's SubjectPublicKeyInfo (computed
# here independently, with tpm2-tools and openssl), the old ids stay findable
# as aliases, the two ids of TPM B (one revoked, one enrolled through an
# edited authPolicy) become one revoked device, and the very same TPMs and
# AK files carry on.
# usage: test_migration.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_migration.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: registry migration (a schema-3 file from the field, its swtpm TPMs)"
DATA=$ROOT/tests/data/registry-v3
OLD_A=1fd837b012c53ab1856af93a326421adf356f6e78c2ec7e26c63a7b329c3ae88
OLD_B=6445a3dae03336cbefbf02f712ccbdfc1500788a8d31d6ac102a66be164ab504
OLD_B2=24d7dae900cdce9ad2631ae14fddb87178beff6196ab6388a9aaa3c3793ea640
cp -r "$DATA/tpm-a" "$DATA/tpm-b" "$WORK/"
install -m 0600 "$DATA/registry.db" "$WORK/registry.db"
for k in ak-a ak-b ak-b2; do install -m 0600 "$DATA/$k.bin" "$WORK/$k.bin"; done
DB=$WORK/registry.db
start_swtpm "$WORK/tpm-a"
TCTI_A=$TCTI
start_swtpm "$WORK/tpm-b"
TCTI_B=$TCTI

# The ids the EKs' keys give, from the certificates in the TPMs' NV.
spki_id() { # TCTI
    TPM2TOOLS_TCTI=$1 tpm2_nvread 0x01c00002 -o "$WORK/ek.der" 2>/dev/null &&
        openssl x509 -inform DER -in "$WORK/ek.der" -noout -pubkey |
        openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1
}
NEW_A=$(spki_id "$TCTI_A")
NEW_B=$(spki_id "$TCTI_B")
[ ${#NEW_A} -eq 64 ] && [ ${#NEW_B} -eq 64 ] && ok "the EKs' SPKI hashes, from tpm2-tools" ||
    bad "the EKs' SPKI hashes, from tpm2-tools"

V=("$BIN/verifier" devices)
expect_exit "devices list opens (and migrates) the old file" 0 "${V[@]}" list --registry "$DB" || true
cp "$WORK/out" "$WORK/list.out"
[ "$(grep -c "^[0-9a-f]\{64\}  " "$WORK/list.out")" -eq 2 ] && ok "... two devices, not three" || bad "... two devices, not three" "$WORK/list.out"
expect_grep "... A under its key's id, active, its label kept" "$WORK/list.out" "^$NEW_A  active .*compliant, fleet@1.*label laptops"
expect_grep "... B's two ids merged into its key's id, revoked" "$WORK/list.out" "^$NEW_B  revoked "
expect_exit "A's old id still finds it" 0 "${V[@]}" show --json --registry "$DB" "$OLD_A" || true
expect_grep "... as the new id" "$WORK/out" "\"id\": \"$NEW_A\""
expect_exit "B's revoked old id finds the merged device" 0 "${V[@]}" show --json --registry "$DB" "$OLD_B" || true
expect_grep "... revoked" "$WORK/out" '"state": "revoked"'
expect_exit "the id B got through the edited authPolicy finds it too" 0 "${V[@]}" show --json --registry "$DB" "$OLD_B2" || true
expect_grep "... the same device, revoked" "$WORK/out" "\"id\": \"$NEW_B\".*|\"state\": \"revoked\""
/usr/bin/python3 - "$DB" "$NEW_A" "$NEW_B" "$DATA/registry.db" "$OLD_A" >"$WORK/db.out" 2>&1 <<'PY' || true
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print("schema", c.execute("select max(version) from schema_version").fetchone()[0])
for d in sys.argv[2:4]:
    print("aks", d[:8], c.execute("select count(*) from aks where device_id=?", (d,)).fetchone()[0])
    print("migrate", d[:8], c.execute("select detail from audit where device_id=? and event='migrate'", (d,)).fetchone()[0])
print("orphans", c.execute("select count(*) from aks where device_id not in (select id from devices)").fetchone()[0])
# Schema 8 drops the token's columns and adds them again: A's token and
# expiry from the field, as they were under its old id.
o = sqlite3.connect("file:" + sys.argv[4] + "?mode=ro&immutable=1", uri=True)
old = o.execute("select last_token, last_token_exp from devices where id=?", (sys.argv[5],)).fetchone()
new = c.execute("select last_token, last_token_exp from devices where id=?", (sys.argv[2],)).fetchone()
print("token", "kept" if old[0] and old == new else "lost: %r -> %r" % (old, new))
print("tokens", c.execute("select count(last_token) from devices").fetchone()[0])
PY
expect_grep "the file is schema 8" "$WORK/db.out" "^schema 8$"
expect_grep "A's token from the field kept through schema 8" "$WORK/db.out" "^token kept$"
expect_grep "... and B's merged device has one" "$WORK/db.out" "^tokens 2$"
expect_grep "B keeps both AKs it enrolled" "$WORK/db.out" "^aks ${NEW_B:0:8} 2$"
expect_grep "no AK is left pointing at an old id" "$WORK/db.out" '^orphans 0$'
expect_grep "the audit says how A's id changed" "$WORK/db.out" "^migrate ${NEW_A:0:8} device id from the EK's key; was ${OLD_A:0:16}"
expect_grep "... and that B's ids were merged, revoked" "$WORK/db.out" "^migrate ${NEW_B:0:8} .*2 ids of one TPM merged, revoked as one of them was"
expect_exit "opening it again changes nothing" 0 "${V[@]}" list --registry "$DB" || true
cmp -s "$WORK/out" "$WORK/list.out" && ok "... the same list" || bad "... the same list" "$WORK/out"
expect_exit "the audit log from the field is chained (schema 5) and verifies" 0 \
    "$BIN/verifier" audit verify --registry "$DB" || true
expect_grep "... its 10 rows and the 2 of the migration" "$WORK/out" '^audit log intact: 12 rows, 0 signed heads'

# The same TPMs and AK files, against a verifier on the migrated file.
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
mkdir -p "$WORK/ekca"
cp "$WORK/tpm-a/ca/"*.pem "$WORK/ekca/"
for f in "$WORK/tpm-b/ca/"*.pem; do cp "$f" "$WORK/ekca/b-$(basename "$f")"; done
start_verifier v --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$DB" --ek-ca "$WORK/ekca"
TARGET=127.0.0.1:$PORT
C=(${VGC:-} "$BIN/attest_client")
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/good.json" --log "$WORK/boot.log" \
    --tcti "$TCTI_A" >/dev/null
cmp -s "$WORK/boot.log" "$DATA/good.log" && ok "the boot simulator writes the same log as then" ||
    bad "the boot simulator writes the same log as then"
expect_exit "A's AK attests, compliant with the baseline assigned before the migration" 0 "${C[@]}" \
    attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-a.bin" \
    --eventlog "$WORK/boot.log" || true
expect_grep "... as the device of its key's id" "$WORK/out" "device.registered: AK registered to device ${NEW_A:0:16}\\.\\.\\., active"
expect_grep "... against fleet@1 (no required_pcrs: the default)" "$WORK/out" "^appraisal: compliant \\(baseline fleet@1\\)$"
for k in ak-b ak-b2; do
    expect_exit "B's $k is refused (5)" 5 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" \
        --tcti "$TCTI_B" --ak-file "$WORK/$k.bin" || true
    expect_grep "... as revoked" "$WORK/err" 'FAILED_PRECONDITION.*is revoked'
done
expect_exit "B enrolling a new AK is refused (5)" 5 "${C[@]}" enroll --verifier "$TARGET" --ca "$CA" \
    --tcti "$TCTI_B" --ak-file "$WORK/ak-b3.bin" || true
expect_grep "... as revoked, by name (PERMISSION_DENIED, as Activate)" "$WORK/err" \
    'PERMISSION_DENIED.*is revoked: an operator must reinstate it: verifier devices reinstate'
expect_exit "... and B is still revoked" 0 "${V[@]}" show --json --registry "$DB" "$NEW_B" || true
expect_grep "... in the registry" "$WORK/out" '"state": "revoked"'
stop_verifiers
expect_exit "the verifier that served it left the log intact" 0 "$BIN/verifier" audit verify \
    --registry "$DB" || true
expect_grep "... with every row under a head it signed" "$WORK/out" \
    '^audit log intact: ([0-9]+) rows, [1-9][0-9]* signed heads? \(the latest at seq \1\)'
summary
