#!/usr/bin/env bash
# Device identity end to end: a verifier with a registry and trusted EK CAs,
# a client that enrolls (EK certificate, credential activation) and then
# attests; unknown, foreign and revoked devices are refused.
# usage: test_identity.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_identity.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: device identity (enrollment, registry, swtpm, TLS)"
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
start_swtpm "$WORK/tpm"
TCTI_A=$TCTI
start_swtpm "$WORK/tpm-b"
TCTI_B=$TCTI
# The verifier trusts A's local CA (root and issuer) only.
mkdir -p "$WORK/ekca"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
start_verifier v --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$WORK/registry.db" --ek-ca "$WORK/ekca" --baseline "$ROOT/tests/data/baselines/evidence-only.json"
TARGET=127.0.0.1:$PORT
C=(${VGC:-} "$BIN/attest_client")

expect_exit "attest before enrolling is refused (5)" 5 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-a.bin" || true
expect_grep "... as not registered" "$WORK/err" 'PERMISSION_DENIED.*not registered: enroll the device first'
expect_exit "enroll" 0 "${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_A" \
    --ak-file "$WORK/ak-a.bin" || true
expect_grep "enroll prints the device id" "$WORK/out" '^enrolled: device [0-9a-f]{64}$'
DEV=$(sed -n 's/^enrolled: device //p' "$WORK/out")
expect_exit "attest after enrolling: compliant" 0 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-a.bin" || true
expect_grep "... the verdict names the registered device" "$WORK/out" "ok +device.registered: AK registered to device ${DEV:0:16}\\.\\.\\., active"
expect_exit "another AK of the same TPM, not enrolled, is refused" 5 "${C[@]}" attest \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-a2.bin" || true
# A device may hold several AKs: a new one joins the others, or with
# --replace replaces them.
expect_exit "enrolling a second AK" 0 "${C[@]}" enroll --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-a2.bin" || true
expect_grep "... keeps the device id" "$WORK/out" "^enrolled: device $DEV\$"
expect_exit "... and the first AK still attests" 0 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-a.bin" || true
expect_exit "... as the second does" 0 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-a2.bin" || true
expect_exit "enrolling a new AK with --replace" 0 "${C[@]}" enroll --verifier "$TARGET" --ca "$CA" \
    --tcti "$TCTI_A" --ak-file "$WORK/ak-a2.bin" --replace || true
expect_grep "... keeps the device id" "$WORK/out" "^enrolled: device $DEV\$"
expect_exit "... and the old AK is no longer taken" 5 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-a.bin" || true

# A TPM whose EK certificate comes from a CA the verifier does not trust.
expect_exit "an EK certificate from an untrusted CA is refused (5)" 5 "${C[@]}" enroll \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_B" --ak-file "$WORK/ak-b.bin" || true
expect_grep "... naming the chain" "$WORK/err" 'PERMISSION_DENIED.*does not chain to a trusted CA'

# The registry keeps what it was told, and the audit log.
/usr/bin/python3 - "$WORK/registry.db" "$DEV" >"$WORK/db.out" 2>&1 <<'PY' || true
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
dev = sys.argv[2]
print("devices", c.execute("select count(*) from devices").fetchone()[0])
print("state", c.execute("select state from devices where id=?", (dev,)).fetchone()[0])
print("verdict", c.execute("select last_verdict from devices where id=?", (dev,)).fetchone()[0])
print("aks", c.execute("select count(*) from aks where device_id=?", (dev,)).fetchone()[0])
print("audit", c.execute("select group_concat(event) from (select event from audit where device_id=? order by seq)", (dev,)).fetchone()[0])
PY
expect_grep "registry: one device, active" "$WORK/db.out" '^state active$'
expect_grep "registry: the last verdict" "$WORK/db.out" '^verdict compliant$'
expect_grep "registry: one current AK" "$WORK/db.out" '^aks 1$'
expect_grep "registry: the audit of every decision" "$WORK/db.out" '^audit enroll,attest,enroll'

# The operator's view and revocation.
V=("$BIN/verifier" devices)
expect_exit "devices list" 0 "${V[@]}" list --registry "$WORK/registry.db" || true
expect_grep "... lists the device, active" "$WORK/out" "^$DEV  active "
expect_exit "devices show --json" 0 "${V[@]}" show --json --registry "$WORK/registry.db" "$DEV" || true
expect_grep "... as JSON with the last verdict" "$WORK/out" '"last_verdict": "compliant"'
expect_exit "devices show of an unknown id (1)" 1 "${V[@]}" show --registry "$WORK/registry.db" \
    "$(printf '%064d' 0)" || true
expect_exit "devices without --registry (2)" 2 "${V[@]}" list || true
expect_exit "devices revoke" 0 "${V[@]}" revoke --registry "$WORK/registry.db" "$DEV" || true
expect_grep "... shows it revoked" "$WORK/out" "^$DEV  revoked "
expect_exit "a revoked device is refused (5)" 5 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" \
    --tcti "$TCTI_A" --ak-file "$WORK/ak-a2.bin" || true
expect_grep "... as revoked" "$WORK/err" 'FAILED_PRECONDITION.*is revoked'
expect_exit "devices reinstate" 0 "${V[@]}" reinstate --registry "$WORK/registry.db" "$DEV" || true
expect_exit "a reinstated device attests again" 0 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" \
    --tcti "$TCTI_A" --ak-file "$WORK/ak-a2.bin" || true
expect_exit "devices delete" 0 "${V[@]}" delete --registry "$WORK/registry.db" "$DEV" || true
expect_exit "a deleted device is unknown again (5)" 5 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-a2.bin" || true
expect_grep "... as not registered" "$WORK/err" 'not registered'

# ECC endorsement keys: swtpm's P-384 EK (template H-3) and its certificate.
expect_exit "enroll with the ECC P-384 EK" 0 "${C[@]}" enroll --verifier "$TARGET" --ca "$CA" \
    --tcti "$TCTI_A" --ek ecc-p384 --ak-file "$WORK/ak-ecc.bin" || true
expect_grep "... names the EK" "$WORK/out" '^ek: ecc-p384$'
DEV_ECC=$(sed -n 's/^enrolled: device //p' "$WORK/out")
[ -n "$DEV_ECC" ] && [ "$DEV_ECC" != "$DEV" ] && ok "... a device id of its own (the EK's)" ||
    bad "... a device id of its own (the EK's)" "$WORK/out"
expect_exit "the AK made under the ECC EK attests (the AK file knows its EK)" 0 "${C[@]}" attest \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-ecc.bin" || true
expect_exit "--ek with an unknown type (2)" 2 "${C[@]}" enroll --verifier "$TARGET" --ca "$CA" \
    --tcti "$TCTI_A" --ek ecc-p521 --ak-file "$WORK/ak-x.bin" || true
expect_exit "enroll with the P-256 EK, which has no certificate here: refused under open admission (5)" \
    5 "${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_A" --ek ecc-p256 \
    --ak-file "$WORK/ak-p256.bin" || true
expect_grep "... naming its NV index, sending none" "$WORK/err" \
    'no ecc-p256 EK certificate in NV 0x01c0000a: the TPM has no EK certificate; enrolling without one'
expect_grep "... the verifier saying why" "$WORK/err" 'PERMISSION_DENIED.*the EK has no certificate: under open admission'

# Enrolling by itself: an AK the verifier does not know, an AK the TPM lost.
expect_exit "--auto-enroll: a new AK is enrolled, then attests" 0 "${C[@]}" attest \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-auto.bin" --auto-enroll || true
expect_grep "... saying why it enrolled" "$WORK/err" 'not registered: enroll the device first; enrolling'
expect_grep "... and printing the verdict" "$WORK/out" '^verdict: COMPLIANT$'
expect_exit "--auto-enroll: a known AK attests without enrolling" 0 "${C[@]}" attest \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-auto.bin" --auto-enroll || true
if grep -q '^enrolled:' "$WORK/out"; then bad "... no enrollment" "$WORK/out"; else ok "... no enrollment"; fi
# B's AK file on A: A's TPM refuses it as not its own.
"${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_B" --ak-file "$WORK/ak-b2.bin" \
    >/dev/null 2>&1 || true
cp "$WORK/ak-b2.bin" "$WORK/ak-lost.bin"
expect_exit "an AK the TPM refuses, without --auto-enroll (2)" 2 "${C[@]}" attest \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-lost.bin" || true
expect_grep "... saying so" "$WORK/err" 'not made by this TPM'
expect_exit "--auto-enroll: an AK the TPM refuses is replaced and enrolled" 0 "${C[@]}" attest \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-lost.bin" --auto-enroll || true
expect_grep "... moving the old one aside" "$WORK/err" 'making a new AK'
[ -f "$WORK/ak-lost.bin.refused" ] && ok "... kept as ak-lost.bin.refused" ||
    bad "... kept as ak-lost.bin.refused" "$WORK/err"
expect_exit "devices revoke (the auto-enrolled device)" 0 "${V[@]}" revoke \
    --registry "$WORK/registry.db" "$DEV" || true
expect_exit "--auto-enroll does not get past a revocation (5)" 5 "${C[@]}" attest \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-auto.bin" --auto-enroll || true
expect_grep "... refused as revoked" "$WORK/err" '(FAILED_PRECONDITION|PERMISSION_DENIED).*is revoked'
expect_exit "... and a fresh AK of the revoked device does not either (5)" 5 "${C[@]}" attest \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-auto2.bin" --auto-enroll || true
expect_exit "devices reinstate" 0 "${V[@]}" reinstate --registry "$WORK/registry.db" "$DEV" || true

# EK intermediates kept in the TPM's NV: a verifier that trusts the root only.
mkdir -p "$WORK/rootonly"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/rootonly/"
start_verifier v2 --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$WORK/registry2.db" --ek-ca "$WORK/rootonly"
TARGET2=127.0.0.1:$PORT
expect_exit "root only, no intermediate in NV: refused (5)" 5 "${C[@]}" enroll --verifier "$TARGET2" \
    --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-a3.bin" || true
expect_grep "... the chain cannot be built" "$WORK/err" 'PERMISSION_DENIED.*(issuer|chain)'
openssl x509 -in "$WORK/tpm/ca/issuercert.pem" -outform DER -out "$WORK/iss.der"
(export TPM2TOOLS_TCTI=$TCTI_A TSS2_LOG=all+none
 tpm2_nvdefine 0x01c00100 -C p -s "$(stat -c %s "$WORK/iss.der")" \
     -a 'ppwrite|ppread|ownerread|authread|platformcreate|no_da' >/dev/null &&
 tpm2_nvwrite 0x01c00100 -C p -i "$WORK/iss.der") >"$WORK/nv.out" 2>&1 ||
    bad "writing the intermediate into NV 0x01c00100" "$WORK/nv.out"
expect_exit "root only, the intermediate read from NV 0x01c00100: enrolled" 0 "${C[@]}" enroll \
    --verifier "$TARGET2" --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-a3.bin" || true

# Activation by someone who did not get the credential.
mkdir -p "$WORK/py"
protoc -I "$ROOT/proto" --python_out="$WORK/py" "$ROOT/proto/attest/v1/attest.proto"
/usr/bin/python3 - "$TARGET" "$CA" "$WORK/py" >"$WORK/py.out" 2>&1 <<'PY' || true
import sys, grpc
sys.path.insert(0, sys.argv[3])
from attest.v1 import attest_pb2 as pb
ch = grpc.secure_channel(sys.argv[1], grpc.ssl_channel_credentials(open(sys.argv[2], "rb").read()))
act = ch.unary_unary("/attest.v1.Verifier/Activate", request_serializer=lambda b: b, response_deserializer=lambda b: b)
enr = ch.unary_unary("/attest.v1.Verifier/Enroll", request_serializer=lambda b: b, response_deserializer=lambda b: b)
def code(f, msg):
    try:
        f(msg.SerializeToString(), timeout=10)
        return "OK"
    except grpc.RpcError as e:
        return "%s %s" % (e.code().name, e.details())
print("activate-bare", code(act, pb.ActivateRequest(enrollment_id="00" * 16, credential=b"x" * 32)))
print("activate-unknown", code(act, pb.ActivateRequest(enrollment_id="01" + "00" * 73, credential=b"x" * 32,
      ek_public=b"\0\1", ek_certificate=b"\x30", ak_public=b"\0\1")))
print("enroll-empty", code(enr, pb.EnrollRequest()))
print("enroll-garbage", code(enr, pb.EnrollRequest(ek_public=b"\0\1", ek_certificate=b"\x30", ak_public=b"\0\1")))
PY
expect_grep "Activate without what Enroll was sent: INVALID_ARGUMENT" "$WORK/py.out" '^activate-bare INVALID_ARGUMENT ek_public'
expect_grep "Activate with an enrollment this verifier did not seal: FAILED_PRECONDITION" "$WORK/py.out" \
    "^activate-unknown FAILED_PRECONDITION enrollment: the enrollment's seal is not this verifier's"
expect_grep "Enroll without fields: INVALID_ARGUMENT" "$WORK/py.out" '^enroll-empty INVALID_ARGUMENT ek_public missing'
expect_grep "Enroll with garbage: INVALID_ARGUMENT" "$WORK/py.out" '^enroll-garbage INVALID_ARGUMENT'

# A registry that is not a database: the verifier does not start.
printf 'not a database, not at all, not even close' >"$WORK/bad.db"
expect_exit "a corrupt registry is a configuration error (2)" 2 "$BIN/verifier" serve \
    --listen 127.0.0.1:0 --insecure --registry "$WORK/bad.db" --ek-ca "$WORK/ekca" || true
expect_grep "... naming the file" "$WORK/err" 'bad.db'
expect_exit "--registry without --ek-ca (2)" 2 "$BIN/verifier" serve --listen 127.0.0.1:0 \
    --insecure --registry "$WORK/registry.db" || true

summary
