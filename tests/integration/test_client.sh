#!/usr/bin/env bash
# attest_client --ek-cert FILE (issue 14, item 3) with a real swtpm,
# verifier and gRPC: the EK certificate from a file instead of the TPM's NV,
# refused by the client before it is sent when the file is not one
# certificate or its key is not this TPM's EK; the registry keeps where
# each EK certificate came from (file or NV).
# And attest_client --json (issue 14, item 8): one JSON object on stdout for
# enroll, a compliant and a non-compliant attest (a failing rule with what
# was seen and what the baseline expects), and an error object for an
# unreachable verifier, with the exit status of the text output.
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
C=(${VGC:-} "$BIN/attest_client")

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

# ---- --json ----
# enroll: the device, the AK, how many AKs it holds, where the EK
# certificate came from.
expect_exit "enroll --json: enrolled" 0 "${E[@]}" --ak-file "$WORK/ak7.bin" --json || true
/usr/bin/python3 - "$WORK/out" >"$WORK/py.out" 2>&1 <<'PY' && ok "... one JSON object: device, AK, AK count, EK certificate source" || bad "enroll --json" "$WORK/py.out"
import json, re, sys
text = open(sys.argv[1]).read()
o = json.loads(text)
assert text.count("\n") == 1, "one line"
assert re.fullmatch(r"[0-9a-f]{64}", o["device_id"]), o
assert re.fullmatch(r"[0-9a-f]{68}", o["ak_name"]), o
assert isinstance(o["aks"], int) and o["aks"] >= 1, o
assert o["ek_cert_source"] == "nv" and o["ek"], o
assert o["admission"] == "open" and o["pending"] is False, o
PY
if grep -q '^enrolled:' "$WORK/out"; then bad "... no text on stdout" "$WORK/out"; else ok "... no text on stdout"; fi

# A verifier that appraises against a baseline learned from the good boot:
# TPM 1 boots it (compliant), TPM 2 boots an updated kernel (non-compliant:
# boot-applications fails on the kernel's digest).
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/good.json" --log "$WORK/good.log" \
    --tcti "$TCTI1" >/dev/null
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/kernel-update.json" \
    --log "$WORK/ku.log" --tcti "$TCTI2" >/dev/null
"$BIN/verifier" baseline learn --eventlog "$WORK/good.log" --name sim --out "$WORK/good.json" \
    >/dev/null
start_verifier v2 --insecure --baseline "$WORK/good.json"
J=("${C[@]}" attest --json --verifier "127.0.0.1:$PORT" --insecure)
expect_exit "attest --json, the good boot: compliant (0)" 0 "${J[@]}" --tcti "$TCTI1" \
    --eventlog "$WORK/good.log" --token-out "$WORK/token" || true
/usr/bin/python3 - "$WORK/out" "$WORK/token" >"$WORK/py.out" 2>&1 <<'PY' && ok "... the verdict, checks, launch, appraisal, expiry and token" || bad "attest --json compliant" "$WORK/py.out"
import json, re, sys
o = json.load(open(sys.argv[1]))
# No registry: the AK is bound to no EK, so the EAR says warning.
assert o["verdict"] == "compliant" and o["ear_status"] == "warning", o
assert o["checks"] and all(c["passed"] is True and c["name"] and "detail" in c
                           for c in o["checks"]), o["checks"]
tl = o["trusted_launch"]
assert tl["measured_boot"] is True and tl["events"] > 0 and tl["secure_boot"], tl
assert o["tpm"]["virtual"] is True and o["tpm"]["manufacturer"], o["tpm"]
a = o["appraisal"]
assert a["outcome"] == "compliant" and a["baseline"] == "sim", a
assert a["rules"] and all(set(r) == {"rule", "severity", "status", "event", "pcr", "detail",
                                     "seen", "expected"} for r in a["rules"]), a["rules"]
assert not [r for r in a["rules"] if r["status"] == "fail"], a["rules"]
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", o["token_expires"]), o
assert o["token"].count(".") == 2 and open(sys.argv[2]).read().strip() == o["token"], o
assert o["token_file"] == sys.argv[2], o
PY
expect_exit "attest --json, an updated kernel: non-compliant (1)" 1 "${J[@]}" --tcti "$TCTI2" \
    --eventlog "$WORK/ku.log" || true
/usr/bin/python3 - "$WORK/out" >"$WORK/py.out" 2>&1 <<'PY' && ok "... the failing rule with what was seen and what is expected" || bad "attest --json non-compliant" "$WORK/py.out"
import json, re, sys
o = json.load(open(sys.argv[1]))
assert o["verdict"] == "non-compliant" and o["ear_status"] == "contraindicated", o
assert o["appraisal"]["outcome"] == "non-compliant", o["appraisal"]
f = [r for r in o["appraisal"]["rules"] if r["status"] == "fail"]
assert [r["rule"] for r in f] == ["boot-applications"], f
r = f[0]
assert r["severity"] == "critical" and isinstance(r["event"], int) and r["pcr"] == 4, r
assert re.search(r"event \d+ \(PCR 4\): [0-9a-f]{64}", r["seen"]), r
assert r["expected"] and all(re.fullmatch(r"[0-9a-f]{64}", e) for e in r["expected"]), r
PY

# Unreachable: the error object, the message on stderr too, exit 4.
expect_exit "attest --json, no verifier there: unreachable (4)" 4 "${C[@]}" attest --json \
    --verifier 127.0.0.1:1 --insecure --tcti "$TCTI1" --no-eventlog --timeout 3000 || true
/usr/bin/python3 - "$WORK/out" "$WORK/err" >"$WORK/py.out" 2>&1 <<'PY' && ok "... {error, exit: 4} on stdout, the message on stderr" || bad "attest --json unreachable" "$WORK/py.out"
import json, sys
o = json.load(open(sys.argv[1]))
assert set(o) == {"error", "exit"} and o["exit"] == 4 and o["error"], o
assert o["error"] in open(sys.argv[2]).read(), (o, open(sys.argv[2]).read())
PY
expect_exit "attest --json without --verifier: usage (2)" 2 "${C[@]}" attest --json \
    --insecure || true
/usr/bin/python3 -c 'import json, sys; o = json.load(open(sys.argv[1])); assert o["exit"] == 2 and "--verifier" in o["error"], o' \
    "$WORK/out" >"$WORK/py.out" 2>&1 && ok "... the error object" || bad "attest --json usage" "$WORK/py.out"
expect_exit "run --json: not an option of the agent (2)" 2 "${C[@]}" run --json --verifier \
    127.0.0.1:1 --insecure || true

summary
