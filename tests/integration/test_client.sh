#!/usr/bin/env bash
# attest_client --ek-cert FILE (issue 14, item 3) with a real swtpm,
# verifier and gRPC: the EK certificate from a file instead of the TPM's NV,
# refused by the client before it is sent when the file is not one
# certificate or its key is not this TPM's EK; the registry keeps where
# each EK certificate came from (file or NV).
# usage: test_client.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_client.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: attest_client --ek-cert"
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
start_swtpm "$WORK/tpm"
TCTI1=$TCTI
start_swtpm "$WORK/tpm2"
TCTI2=$TCTI
mkdir -p "$WORK/ekca"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
start_verifier v --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$WORK/registry.db" --ek-ca "$WORK/ekca" \
    --baseline "$ROOT/tests/data/baselines/evidence-only.json"
TARGET=127.0.0.1:$PORT
C=(${VALGRIND:-} "$BIN/attest_client")

# The TPMs' own RSA EK certificates, copied out of NV (0x01c00002), as DER
# and as PEM.
for n in 1 2; do
    t=TCTI$n
    tpm2_nvread -T "${!t}" -o "$WORK/nv$n.bin" 0x01c00002 >/dev/null 2>&1 ||
        { bad "reading TPM $n's EK certificate from NV"; summary; }
    # The NV index may be longer than the certificate.
    openssl x509 -inform DER -in "$WORK/nv$n.bin" -outform DER -out "$WORK/ek$n.der"
done
openssl x509 -inform DER -in "$WORK/ek1.der" -out "$WORK/ek1.pem"

E=("${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI1")
expect_exit "enroll with --ek-cert (PEM): enrolled" 0 "${E[@]}" --ak-file "$WORK/ak1.bin" \
    --ek-cert "$WORK/ek1.pem" || true
expect_grep "... prints the device" "$WORK/out" '^enrolled: device [0-9a-f]{64}$'
DEV1=$(sed -n 's/^enrolled: device //p' "$WORK/out")
expect_grep "... admitted open" "$WORK/out" '^admission: open$'
expect_exit "devices show" 0 "$BIN/verifier" devices show --json --registry "$WORK/registry.db" \
    "$DEV1" || true
expect_grep "... the registry keeps where its EK certificate came from: a file" "$WORK/out" \
    '"ek_cert_source": "file"'
expect_grep "... and how it was admitted" "$WORK/out" '"admission": "open"'
expect_exit "... and attests with that AK" 0 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" \
    --tcti "$TCTI1" --ak-file "$WORK/ak1.bin" || true
expect_grep "... compliant" "$WORK/out" '^verdict: COMPLIANT$'
printf 'verifier = %s\nca = %s\ntcti = %s\nek-cert = %s\n' "$TARGET" "$CA" "$TCTI1" \
    "$WORK/ek1.der" >"$WORK/client.conf"
expect_exit "config key ek-cert (DER): enrolled" 0 "${C[@]}" enroll --config "$WORK/client.conf" \
    --ak-file "$WORK/ak2.bin" || true
# The same TPM from its NV: the source is refreshed with the certificate.
expect_exit "enroll from NV" 0 "${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI1" \
    --ak-file "$WORK/ak7.bin" || true
expect_grep "... the same device" "$WORK/out" "^enrolled: device $DEV1\$"
expect_exit "devices show" 0 "$BIN/verifier" devices show --json --registry "$WORK/registry.db" \
    "$DEV1" || true
expect_grep "... its EK certificate from NV now" "$WORK/out" '"ek_cert_source": "nv"'

# Another TPM's certificate: refused by the client, naming the mismatch.
expect_exit "--ek-cert with another TPM's certificate: refused (2)" 2 "${E[@]}" \
    --ak-file "$WORK/ak3.bin" --ek-cert "$WORK/ek2.der" || true
expect_grep "... naming the mismatch" "$WORK/err" \
    "ek2.der: the certificate's public key is not this TPM's EK"
if grep -q '^enrolled:' "$WORK/out"; then bad "... not \"enrolled\"" "$WORK/out"; else ok "... not \"enrolled\""; fi

# Not a certificate, and two certificates: refused by name.
echo "not a certificate" >"$WORK/junk.pem"
expect_exit "--ek-cert with a non-certificate: refused (2)" 2 "${E[@]}" \
    --ak-file "$WORK/ak4.bin" --ek-cert "$WORK/junk.pem" || true
expect_grep "... by name" "$WORK/err" 'junk.pem: not one PEM or DER X.509 certificate'
cat "$WORK/ek1.pem" "$WORK/ek1.pem" >"$WORK/two.pem"
expect_exit "--ek-cert with two certificates: refused (2)" 2 "${E[@]}" \
    --ak-file "$WORK/ak5.bin" --ek-cert "$WORK/two.pem" || true
expect_grep "... by name" "$WORK/err" 'two.pem: not one PEM or DER X.509 certificate'
expect_exit "--ek-cert with a missing file: refused (2)" 2 "${E[@]}" \
    --ak-file "$WORK/ak6.bin" --ek-cert "$WORK/none.pem" || true
expect_grep "... by name" "$WORK/err" 'none.pem: No such file'

summary
