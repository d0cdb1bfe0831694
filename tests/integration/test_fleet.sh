#!/usr/bin/env bash
# Fleet registry (issue 14) end to end with a real swtpm, verifier and
# attest_client: a revoked device that an operator deletes stays revoked (a
# tombstone), its TPM is refused by name when it enrolls again, until
# "devices reinstate" lifts it; devices are named by a unique id prefix.
# Admission (items 2 and 3): approve keeps a new device pending (never
# compliant) until approved; allowlist admits only the inventory, which
# "devices import" fills from CSV or JSON, all rows or none; a TPM without
# an EK certificate in NV is refused under open admission (5, not 3) and
# admitted by an inventory entry saying no_ek_cert, its tokens saying
# tpa.ek_certified false.
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
C=(${VGC:-} "$BIN/attest_client")
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

# Enroll of a revoked (not deleted) device: refused by name, as Activate.
expect_exit "devices revoke (active again, then revoked)" 0 "${V[@]}" revoke --registry "$REG" "$DEV" || true
expect_exit "enrolling a new AK of the revoked device is refused (5)" 5 "${E[@]}" "$WORK/ak5.bin" || true
expect_grep "... PERMISSION_DENIED by name, with what to do" "$WORK/err" \
    "PERMISSION_DENIED.*device $P16 is revoked: an operator must reinstate it: verifier devices reinstate $P16"
expect_exit "devices reinstate" 0 "${V[@]}" reinstate --registry "$REG" "$DEV" || true

# ---- admission: approve ----
CO=("$BIN/verifier" compliance --ca "$CA" --cert "$WORK/certs/client.pem" --key "$WORK/certs/client.key")
expect_exit "--admission approve without --registry is refused (2)" 2 "$BIN/verifier" serve \
    --listen 127.0.0.1:0 --insecure --admission approve || true
expect_grep "... naming what it needs" "$WORK/err" '--admission approve needs --registry'
expect_exit "--admission with an unknown mode is refused (2)" 2 "$BIN/verifier" serve \
    --listen 127.0.0.1:0 --insecure --admission closed || true
expect_grep "... naming the modes" "$WORK/err" 'admission "closed": expected open, approve or allowlist'
printf 'listen = 127.0.0.1:0\ninsecure = true\nadmission = approved\n' >"$WORK/adm.conf"
expect_exit "config key admission with an unknown mode is refused (2)" 2 "$BIN/verifier" serve \
    --config "$WORK/adm.conf" || true
expect_grep "... naming the file and line" "$WORK/err" 'adm.conf:3: admission: admission "approved": expected open'
REGA=$WORK/approve.db
start_verifier va --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$REGA" --ek-ca "$WORK/ekca" --admission approve \
    --client-ca "$WORK/certs/rp-ca.pem" --relying-party policy-engine \
    --baseline "$ROOT/tests/data/baselines/evidence-only.json"
TA=127.0.0.1:$PORT
EA=("${C[@]}" enroll --verifier "$TA" --ca "$CA" --tcti "$TCTI" --ak-file)
expect_exit "approve: a new device enrolls (0) ..." 0 "${EA[@]}" "$WORK/aka1.bin" || true
expect_grep "... pending approval, said on stdout" "$WORK/out" '^admission: pending approval$'
expect_grep "... and on stderr, with what to do" "$WORK/err" \
    "device $DEV is pending approval: .*verifier devices approve $P16"
expect_exit "devices show" 0 "${V[@]}" show --json --registry "$REGA" "$P16" || true
expect_grep "... pending" "$WORK/out" '"state": "pending"'
expect_grep "... its EK certificate from NV" "$WORK/out" '"ek_cert_source": "nv"'
expect_exit "a pending device's attestation is refused (5)" 5 "${C[@]}" attest --verifier "$TA" \
    --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/aka1.bin" || true
expect_grep "... FAILED_PRECONDITION, pending approval" "$WORK/err" \
    "FAILED_PRECONDITION.*device $P16 is pending approval"
expect_exit "GetDeviceCompliance of a pending device: not compliant (1)" 1 "${CO[@]}" \
    --verifier "$TA" "$DEV" || true
expect_grep "... because pending" "$WORK/out" "NOT compliant: the device is pending approval"
expect_exit "devices approve" 0 "${V[@]}" approve --registry "$REGA" "$P16" || true
expect_grep "... active, admission approved" "$WORK/out" "^approved $DEV: active, admission approved$"
expect_exit "devices approve again: not pending (1)" 1 "${V[@]}" approve --registry "$REGA" "$P16" || true
expect_grep "... saying so" "$WORK/err" "is active, not pending approval"
expect_exit "the approved device attests" 0 "${C[@]}" attest --verifier "$TA" --ca "$CA" \
    --tcti "$TCTI" --ak-file "$WORK/aka1.bin" --token-out "$WORK/tok-a" || true
expect_exit "GetDeviceCompliance: compliant now" 0 "${CO[@]}" --verifier "$TA" "$DEV" || true
claims() { # TOKEN_FILE: prints tpa.admission and tpa.ek_certified
    /usr/bin/python3 - "$1" <<'PY'
import base64, json, sys
p = open(sys.argv[1]).read().strip().split(".")[1]
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["submods"]["TPM_DEVICE"]
print("admission=%s ek_certified=%s" % (c.get("tpa.admission"), json.dumps(c.get("tpa.ek_certified"))))
PY
}
claims "$WORK/tok-a" >"$WORK/claims" 2>&1 || true
expect_grep "... its token: admitted approved, EK certified" "$WORK/claims" '^admission=approved ek_certified=true$'

# ---- admission: allowlist, and a TPM without an EK certificate ----
# A second TPM provisioned without an EK certificate (many firmware TPMs
# ship so): swtpm_setup without --create-ek-cert.
mkdir -p "$WORK/noek/state"
printf 'active_pcr_banks = sha256\n' >"$WORK/noek/setup.conf"
swtpm_setup --tpm2 --tpmstate "$WORK/noek/state" --config "$WORK/noek/setup.conf" --createek \
    --pcr-banks sha256 --overwrite >"$WORK/noek/setup.log" 2>&1 ||
    { bad "swtpm_setup without an EK certificate" "$WORK/noek/setup.log"; summary; }
TCTI1=$TCTI
start_swtpm "$WORK/noek"
TN=$TCTI
TCTI=$TCTI1
if tpm2_nvread -T "$TN" 0x01c00002 >/dev/null 2>&1; then bad "the second TPM has no EK certificate in NV"
else ok "the second TPM has no EK certificate in NV"; fi
expect_exit "open: a TPM without an EK certificate is refused (5, not 3)" 5 "${C[@]}" enroll \
    --verifier "$TARGET" --ca "$CA" --tcti "$TN" --ak-file "$WORK/akn1.bin" || true
expect_grep "... the client says it has none and sends none" "$WORK/err" \
    'no rsa EK certificate in NV 0x01c00002: the TPM has no EK certificate; enrolling without one'
expect_grep "... the verifier names why" "$WORK/err" \
    'PERMISSION_DENIED.*the EK has no certificate: under open admission'

REGL=$WORK/allowlist.db
start_verifier vl --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$REGL" --ek-ca "$WORK/ekca" --admission allowlist \
    --baseline "$ROOT/tests/data/baselines/evidence-only.json"
TL=127.0.0.1:$PORT
EL=("${C[@]}" enroll --verifier "$TL" --ca "$CA" --ak-file)
expect_exit "allowlist: a TPM not in the inventory is refused (5)" 5 "${EL[@]}" "$WORK/akl1.bin" \
    --tcti "$TCTI" || true
expect_grep "... by name, with the whole device id" "$WORK/err" "PERMISSION_DENIED.*device $DEV: EK not in the inventory \\(allowlist admission\\)"
if grep -q "$WORK" "$WORK/err"; then bad "... no server path in the refusal" "$WORK/err"; else ok "... no server path in the refusal"; fi

# A bad inventory: the whole file refused, naming its line and column.
printf 'device_id,name,label\n%s,desk-12,lab\nnot-an-id,desk-13,lab\n' "$DEV" >"$WORK/bad.csv"
expect_exit "devices import of a bad CSV is refused (2)" 2 "${V[@]}" import --registry "$REGL" "$WORK/bad.csv" || true
expect_grep "... naming line and column" "$WORK/err" 'line 3, column device_id: not a device id'
expect_grep "... nothing imported" "$WORK/err" 'nothing imported'
expect_exit "devices inventory" 0 "${V[@]}" inventory --json --registry "$REGL" || true
expect_grep "... is empty" "$WORK/out" '^\[\]$'
expect_exit "... and the good row of it did not get in: still refused (5)" 5 "${EL[@]}" "$WORK/akl1.bin" \
    --tcti "$TCTI" || true
printf '[{"device_id": "%s", "name": "x", "no_ek_cert": "maybe"}]' "$DEV" >"$WORK/bad.json"
expect_exit "devices import of a bad JSON is refused (2)" 2 "${V[@]}" import --registry "$REGL" "$WORK/bad.json" || true
expect_grep "... naming entry and key" "$WORK/err" 'entry 1, key no_ek_cert: "maybe" is not true/false'

# The certified TPM by its EK certificate's issuer and serial; the one
# without a certificate by its device id, no_ek_cert.
ISSUER=$(openssl x509 -in "$WORK/tpm/ca/issuercert.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
tpm2_nvread -T "$TCTI" -o "$WORK/nv.bin" 0x01c00002 >/dev/null 2>&1 || bad "reading the EK certificate"
SERIAL=$(openssl x509 -inform DER -in "$WORK/nv.bin" -noout -serial | sed 's/^serial=//')
# Its device id, as an operator learns it: it enrolls pending under approve.
expect_exit "approve: the TPM without a certificate enrolls pending (0), --ek auto" 0 "${C[@]}" enroll \
    --verifier "$TA" --ca "$CA" --tcti "$TN" --ek auto --ak-file "$WORK/akn2.bin" || true
NDEV=$(sed -n 's/^enrolled: device //p' "$WORK/out")
expect_grep "... with no certificate anywhere, --ek auto takes RSA 2048" "$WORK/out" '^ek: rsa$'
expect_grep "... pending" "$WORK/out" '^admission: pending approval$'
expect_exit "... devices show: no EK certificate" 0 "${V[@]}" show --json --registry "$REGA" "$NDEV" || true
expect_grep "... ek_cert_source none" "$WORK/out" '"ek_cert_source": "none"'
cat >"$WORK/inv.csv" <<CSV
# the lab's TPMs
device_id,ek_cert_issuer,ek_cert_serial,name,label,no_ek_cert
,"$ISSUER",$SERIAL,desk-12,lab,
$NDEV,,,fw-tpm-3,lab-fw,true
CSV
expect_exit "devices import of the inventory" 0 "${V[@]}" import --registry "$REGL" "$WORK/inv.csv" || true
expect_grep "... two entries" "$WORK/out" '^imported 2 inventory entries'
expect_exit "devices inventory" 0 "${V[@]}" inventory --registry "$REGL" || true
expect_grep "... the certificate's entry, canonical" "$WORK/out" "^ek-cert  .*:[0-9a-f]+  name desk-12  label lab\$"
expect_grep "... the device entry without a certificate" "$WORK/out" "^device   $NDEV  name fw-tpm-3  label lab-fw  no EK certificate\$"
# (--no-host-info: the inventory's name stays the device's name until its
# host reports one of its own)
expect_exit "allowlist: the imported TPM enrolls (by issuer and serial)" 0 "${EL[@]}" "$WORK/akl2.bin" \
    --tcti "$TCTI" --no-host-info || true
expect_grep "... admitted by the allowlist" "$WORK/out" '^admission: allowlist$'
expect_exit "devices show" 0 "${V[@]}" show --json --registry "$REGL" "$DEV" || true
expect_grep "... with the inventory's label" "$WORK/out" '"label": "lab"'
expect_grep "... admission allowlist" "$WORK/out" '"admission": "allowlist"'
/usr/bin/python3 - "$REGL" "$DEV" >"$WORK/db.out" 2>&1 <<'PY' || true
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print("name", c.execute("select hostname from devices where id=?", (sys.argv[2],)).fetchone()[0])
PY
expect_grep "... and its name" "$WORK/db.out" '^name desk-12$'
expect_exit "... and attests" 0 "${C[@]}" attest --verifier "$TL" --ca "$CA" --tcti "$TCTI" \
    --ak-file "$WORK/akl2.bin" --token-out "$WORK/tok-l" || true
claims "$WORK/tok-l" >"$WORK/claims" 2>&1 || true
expect_grep "... its token: allowlist, EK certified" "$WORK/claims" '^admission=allowlist ek_certified=true$'
expect_exit "allowlist: the TPM without a certificate enrolls (no_ek_cert)" 0 "$BIN/attest_client" enroll \
    --verifier "$TL" --ca "$CA" --tcti "$TN" --ak-file "$WORK/akn3.bin" || true
expect_grep "... admitted by the allowlist" "$WORK/out" '^admission: allowlist$'
expect_exit "... and attests" 0 "${C[@]}" attest --verifier "$TL" --ca "$CA" --tcti "$TN" \
    --ak-file "$WORK/akn3.bin" --token-out "$WORK/tok-n" || true
claims "$WORK/tok-n" >"$WORK/claims" 2>&1 || true
expect_grep "... its token says the EK is not certified" "$WORK/claims" '^admission=allowlist ek_certified=false$'
expect_exit "devices uninventory of the device entry" 0 "${V[@]}" uninventory --registry "$REGL" "$NDEV" || true
expect_exit "... again: not found (1)" 1 "${V[@]}" uninventory --registry "$REGL" "$NDEV" || true

summary
