#!/usr/bin/env bash
# Device-compliance claims end to end: EAR tokens from the real verifier for
# real (simulated) boots, checked by our `token verify` and by an independent
# JWT library (Debian's python3-jwt with python3-cryptography); key rotation
# with the JWKS from GetVerificationKeys; GetDeviceCompliance for a policy
# engine over mTLS; the README's policy-engine example.
# usage: test_claims.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_claims.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: EAR claims, JWKS, key rotation, GetDeviceCompliance (swtpm, TLS, mTLS)"
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
SCEN=$ROOT/simulator/scenarios
V=(${VALGRIND:-} "$BIN/verifier")
C=(${VGC:-} "$BIN/attest_client")
POLICY=$ROOT/docs/examples/policy_engine.py
start_swtpm "$WORK/tpm"
"$BIN/tpa-bootsim" --scenario "$SCEN/good.json" --log "$WORK/good.log" --tcti "$TCTI" >/dev/null
mkdir -p "$WORK/ekca"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
DB=$WORK/registry.db
KEY=$WORK/token.jwk
SERVE=(--cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" --registry "$DB"
       --ek-ca "$WORK/ekca" --client-ca "$WORK/certs/rp-ca.pem" --relying-party policy-engine --token-key "$KEY" --verifier-id https://verifier.test)
start_verifier v "${SERVE[@]}"
VP=$VPID
TARGET=127.0.0.1:$PORT
A=("${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin"
   --eventlog "$WORK/good.log")
"${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" >"$WORK/enroll.out" 2>&1 ||
    bad "enroll" "$WORK/enroll.out"
DEV=$(sed -n 's/^enrolled: device //p' "$WORK/enroll.out")
"${A[@]}" >/dev/null 2>&1 || true
"$BIN/verifier" baseline learn --registry "$DB" --device "$DEV" --name fleet --out "$WORK/fleet.json" >/dev/null
"$BIN/verifier" baseline add --registry "$DB" "$WORK/fleet.json" >/dev/null
"$BIN/verifier" baseline assign --registry "$DB" --device "$DEV" fleet >/dev/null

# ---- the token: an EAR, written for local consumers, summarized ----
expect_exit "attest: compliant" 0 "${A[@]}" --token-out "$WORK/token"
expect_grep "one-line summary" "$WORK/out" '^summary: affirming, COMPLIANT, secure boot enabled, baseline fleet@1, 0 problem\(s\); token expires [0-9-]+T[0-9:]+Z, written to '
[ "$(stat -c %a "$WORK/token")" = 600 ] && ok "token file mode 0600" || bad "token file mode"
TOKEN=$(cat "$WORK/token")
expect_exit "GetVerificationKeys: the JWKS" 0 "${V[@]}" keys fetch --verifier "$TARGET" --ca "$CA"
cp "$WORK/out" "$WORK/jwks.json"
expect_exit "our check with the JWKS" 0 "${V[@]}" token verify --jwks "$WORK/jwks.json" "$TOKEN"
cp "$WORK/out" "$WORK/claims.json"
/usr/bin/python3 - "$WORK/claims.json" "$DEV" >"$WORK/py.out" 2>&1 <<'PY' && ok "the EAR claim set (profile, verifier, nonce, vector, our claims)" || bad "the EAR claim set" "$WORK/py.out"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["eat_profile"] == "tag:github.com,2023:veraison/ear", c
assert isinstance(c["iat"], int) and c["exp"] - c["iat"] == 3600
assert c["ear.verifier-id"] == {"developer": "https://verifier.test", "build": c["ear.verifier-id"]["build"]}
assert c["ear.verifier-id"]["build"].startswith("tpm-attest ")
assert 8 <= len(c["eat_nonce"]) <= 88
assert c["tpa.device_id"] == sys.argv[2] and len(c["tpa.ak_name"]) == 68
s = c["submods"]["TPM_DEVICE"]
assert s["ear.status"] == "affirming", s
assert s["ear.trustworthiness-vector"] == {"instance-identity": 2, "configuration": 2,
                                          "executables": 3, "hardware": 2}, s
assert s["ear.appraisal-policy-id"] == "policy:TPM_DEVICE/fleet@1"
assert s["tpa.secure_boot"] == "enabled" and s["tpa.measured_boot"] is True
assert s["tpa.baseline"] == "fleet" and s["tpa.baseline_version"] == 1
assert s["tpa.rules"]["secure-boot"] == "pass" and s["tpa.reasons"] == []
assert s["tpa.tpm_manufacturer"] == "id:00001014", s  # swtpm's EK certificate
assert s["tpa.tpm_firmware"].count(".") == 1
assert s["tpa.firmware_version"] == "EDK II 2023.05-tpa (OVMF)"
print("ok")
PY
NONCE=$(/usr/bin/python3 -c 'import base64,json,sys; n=json.load(open(sys.argv[1]))["eat_nonce"]; print(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)).hex())' "$WORK/claims.json")
expect_exit "our check with the nonce it was made for" 0 "${V[@]}" token verify --jwks "$WORK/jwks.json" \
    --nonce "$NONCE" "$TOKEN"
expect_exit "our check refuses a token for another nonce (1)" 1 "${V[@]}" token verify \
    --jwks "$WORK/jwks.json" --nonce "$(printf '%064x' 7)" "$TOKEN" || true
expect_grep "... naming the nonce" "$WORK/err" 'eat_nonce is not the nonce asked for'
# A relying party's own nonce, bound into the quote with the verifier's.
RPN=00112233445566778899aabbccddeeff
expect_exit "attest --rp-nonce: a relying party's nonce in the evidence" 0 "${A[@]}" --rp-nonce "$RPN" \
    --token-out "$WORK/rp-token"
expect_exit "... its token checks against that nonce" 0 "${V[@]}" token verify --jwks "$WORK/jwks.json" \
    --nonce "$RPN" "$(cat "$WORK/rp-token")"
expect_exit "... and not against the verifier's own (1)" 1 "${V[@]}" token verify --jwks "$WORK/jwks.json" \
    --nonce "$NONCE" "$(cat "$WORK/rp-token")" || true
expect_exit "... the policy engine grants it for that nonce" 0 /usr/bin/python3 "$POLICY" \
    "$WORK/jwks.json" "$WORK/rp-token" "$RPN"
expect_exit "... and denies it for the verifier's own (1)" 1 /usr/bin/python3 "$POLICY" \
    "$WORK/jwks.json" "$WORK/rp-token" "$NONCE" || true
expect_grep "... as for another nonce" "$WORK/out" '^deny: the token is for another nonce$'
expect_exit "--rp-nonce of 7 bytes is a usage error (2)" 2 "${A[@]}" --rp-nonce 00112233445566 || true
# Key binding: a TPM key certified by the AK, named in the token's cnf.
expect_exit "attest --bind-key: a P-256 key of the TPM, certified by the AK" 0 "${A[@]}" \
    --bind-key "$WORK/bound.key" --token-out "$WORK/bound-token"
TP=$(sed -n 's/^bound_key: //p' "$WORK/out")
[ "$(stat -c %a "$WORK/bound.key")" = 600 ] && ok "... its key file is 0600" || bad "bound key file mode"
expect_exit "... again with the same key file" 0 "${A[@]}" --bind-key "$WORK/bound.key" \
    --token-out "$WORK/bound-token2"
[ -n "$TP" ] && [ "$(sed -n 's/^bound_key: //p' "$WORK/out")" = "$TP" ] && ok "... the same key (thumbprint $TP)" ||
    bad "bound key changed"
/usr/bin/python3 - "$WORK/bound-token2" "$TP" "$WORK/token" >"$WORK/py.out" 2>&1 <<'PY' && ok "... the token's cnf.jwk is that key (RFC 7638 thumbprint), a token without --bind-key has no cnf" || bad "cnf claim" "$WORK/py.out"
import base64, hashlib, json, sys
def claims(t):
    p = t.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
c = claims(open(sys.argv[1]).read().strip())
jwk = c["cnf"]["jwk"]
assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and set(jwk) == {"kty", "crv", "x", "y"}, jwk
canon = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
tp = base64.urlsafe_b64encode(hashlib.sha256(canon.encode()).digest()).rstrip(b"=").decode()
assert tp == sys.argv[2], (tp, sys.argv[2])
assert c["submods"]["TPM_DEVICE"]["ear.status"] == "affirming"
assert "cnf" not in claims(open(sys.argv[3]).read().strip())
print("ok")
PY
TAMPERED=$(/usr/bin/python3 -c '
import base64, json, sys
h, p, s = sys.argv[1].split(".")
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
c["submods"]["TPM_DEVICE"]["tpa.secure_boot"] = "enabled!"
p = base64.urlsafe_b64encode(json.dumps(c).encode()).rstrip(b"=").decode()
print(".".join([h, p, s]))' "$TOKEN")
expect_exit "our check refuses a tampered token (1)" 1 "${V[@]}" token verify --jwks "$WORK/jwks.json" "$TAMPERED" || true
expect_grep "... the signature" "$WORK/err" 'signature does not verify'

# The same through python3-jwt, the way the policy engine example does it.
expect_exit "python3-jwt: the token verifies; the policy grants" 0 /usr/bin/python3 "$POLICY" \
    "$WORK/jwks.json" "$WORK/token" "$NONCE"
expect_grep "... for this device" "$WORK/out" "^grant: device $DEV\$"
printf '%s' "$TAMPERED" >"$WORK/tampered"
expect_exit "python3-jwt: a tampered token is refused" 1 /usr/bin/python3 "$POLICY" "$WORK/jwks.json" "$WORK/tampered" || true
expect_grep "... by the library" "$WORK/out" '^deny: the token does not verify: Signature verification failed'
expect_exit "python3-jwt: a token for another nonce is refused" 1 /usr/bin/python3 "$POLICY" \
    "$WORK/jwks.json" "$WORK/token" "$(printf '%064x' 7)" || true
expect_grep "... as for another nonce" "$WORK/out" '^deny: the token is for another nonce$'

# ---- tokens made by hand with the verifier's key: each breaks one rule ----
mkdir -p "$WORK/hand"
/usr/bin/python3 "$(dirname "$0")/tokens.py" "$KEY" "$WORK/claims.json" "$WORK/token" "$WORK/hand" \
    2>"$WORK/py.out" || bad "tokens.py" "$WORK/py.out"
TV=("${V[@]}" token verify --jwks "$WORK/jwks.json")
expect_exit "a real token's claims signed again: accepted" 0 "${TV[@]}" "$(cat "$WORK/hand/good")"
expect_exit "a warning: not accepted (1)" 1 "${TV[@]}" "$(cat "$WORK/hand/warning")" || true
expect_grep "... naming the status" "$WORK/err" '^verifier: token not accepted: token status is warning'
expect_grep "... and the flag that accepts it" "$WORK/err" '^verifier: --accept-warning accepts a warning$'
[ -s "$WORK/out" ] && bad "... no claims printed for a token not accepted" || ok "... no claims printed"
expect_exit "a warning with --accept-warning: accepted" 0 "${TV[@]}" --accept-warning "$(cat "$WORK/hand/warning")"
expect_grep "... its claims printed" "$WORK/out" '"ear.status":"warning"'
for st in contraindicated none; do
    expect_exit "$st, even with --accept-warning: not accepted (1)" 1 "${TV[@]}" --accept-warning \
        "$(cat "$WORK/hand/$st")" || true
    expect_grep "... naming the status" "$WORK/err" "^verifier: token not accepted: token status is $st\$"
done
# name | what our check says | what the policy engine says
HAND=(
    "crit|the header has crit|the header has crit"
    "es384|algorithm ES384, ES256 required|algorithm 'ES384', ES256 required"
    "exp-before-iat|exp [0-9]+ is not after iat [0-9]+|exp is not after iat"
    "exp-equals-iat|exp ([0-9]+) is not after iat \\1\$|exp is not after iat"
    "too-long|a lifetime of 2592001 s, above the maximum of 2592000 s|a lifetime of 2592001 s, above the maximum of 2592000 s"
    "future|issued 6[0-9][0-9] s in the future \\(the clock skew allowed is 60 s\\)|issued 6[0-9][0-9] s in the future"
    "no-iat|no iat claim|iat is missing or not an integer"
    "padded|the signature segment has byte 0x3d|the signature segment is not canonical base64url"
    "extra-char|the signature is 65 bytes, ES256 makes 64|the signature is 65 bytes, ES256 makes 64"
    "unused-bits|the signature segment is not canonical base64url|the signature segment is not canonical base64url"
    "plus-slash|the signature segment has byte 0x2[bf]|the signature segment is not canonical base64url"
    "four-segments|not a compact JWS: 4 segments, not 3|not a compact JWS: 4 segments, not 3"
    "empty-payload|the payload segment is empty|the payload segment is empty"
)
# Under valgrind the first through it; the others are the same code
# (test_token runs it under valgrind), each a second of valgrind's start.
T=("${TV[@]}")
for h in "${HAND[@]}"; do
    IFS='|' read -r name ours theirs <<<"$h"
    expect_exit "token verify refuses $name (1)" 1 "${T[@]}" "$(cat "$WORK/hand/$name")" || true
    T=("$BIN/verifier" token verify --jwks "$WORK/jwks.json")
    expect_grep "... by name" "$WORK/err" "^verifier: token not valid: token: $ours"
    expect_exit "... and so does the policy engine (1)" 1 /usr/bin/python3 "$POLICY" "$WORK/jwks.json" \
        "$WORK/hand/$name" || true
    expect_grep "... by name" "$WORK/out" "^deny: $theirs"
done
expect_exit "the policy engine grants the good one" 0 /usr/bin/python3 "$POLICY" "$WORK/jwks.json" \
    "$WORK/hand/good"
for st in warning contraindicated none; do
    expect_exit "the policy engine denies $st (1)" 1 /usr/bin/python3 "$POLICY" "$WORK/jwks.json" \
        "$WORK/hand/$st" || true
    expect_grep "... by name" "$WORK/out" "^deny: ear.status is $st: \$"
done

# ---- an expired token (a second verifier on the same registry and key, 1 s tokens) ----
start_verifier v-short "${SERVE[@]}" --token-ttl 1
VS=$VPID
expect_exit "attest with 1-second tokens" 0 "${C[@]}" attest --verifier "127.0.0.1:$PORT" --ca "$CA" \
    --tcti "$TCTI" --ak-file "$WORK/ak.bin" --eventlog "$WORK/good.log" --token-out "$WORK/short"
sleep 2.2
expect_exit "our check refuses an expired token (1)" 1 "${V[@]}" token verify --jwks "$WORK/jwks.json" \
    "$(cat "$WORK/short")" || true
expect_grep "... as expired" "$WORK/err" 'token: expired'
expect_exit "python3-jwt refuses it too" 1 /usr/bin/python3 "$POLICY" "$WORK/jwks.json" "$WORK/short" || true
expect_grep "... as expired" "$WORK/out" '^deny: the token expired$'
CO=("${V[@]}" compliance --verifier "$TARGET" --ca "$CA" --cert "$WORK/certs/client.pem"
    --key "$WORK/certs/client.key")
expect_exit "GetDeviceCompliance: the last verdict's token expired: not compliant (1)" 1 "${CO[@]}" "$DEV" || true
expect_grep "... and why" "$WORK/out" "^$DEV: NOT compliant: the last verdict's token expired$"
kill -TERM "$VS"; wait "$VS" || true

# ---- GetDeviceCompliance: only for the policy engine's certificate ----
expect_exit "a fresh verdict" 0 "${A[@]}"
expect_exit "GetDeviceCompliance with the policy engine's certificate: compliant" 0 "${CO[@]}" --json "$DEV"
/usr/bin/python3 - "$WORK/out" "$WORK/jwks.json" >"$WORK/py.out" 2>&1 <<'PY' && ok "... with the verdict, its token and expiry" || bad "compliance JSON" "$WORK/py.out"
import json, sys, time
c = json.load(open(sys.argv[1]))
assert c["compliant"] and c["outcome"] == "compliant" and c["state"] == "active", c
assert not c["expired"] and c["token_expires_at"] > time.time() and c["baseline"] == "fleet@1"
assert not c["revoked_since_verdict"] and c["token"].count(".") == 2
PY
expect_exit "without a client certificate: refused (5)" 5 "${V[@]}" compliance --verifier "$TARGET" \
    --ca "$CA" "$DEV" || true
expect_grep "... PERMISSION_DENIED" "$WORK/err" 'PERMISSION_DENIED.*client certificate'
expect_exit "with a certificate from another CA: the TLS handshake fails (4)" 4 "${V[@]}" compliance \
    --verifier "$TARGET" --ca "$CA" --cert "$WORK/certs/other-client.pem" \
    --key "$WORK/certs/other-client.key" "$DEV" || true
# Relying parties: the allow-list and the clientAuth EKU, not just the CA.
expect_exit "a certificate of the relying-party CA without clientAuth EKU: refused (5)" 5 "${V[@]}" \
    compliance --verifier "$TARGET" --ca "$CA" --cert "$WORK/certs/noeku-client.pem" \
    --key "$WORK/certs/noeku-client.key" "$DEV" || true
expect_grep "... PERMISSION_DENIED naming the EKU" "$WORK/err" 'PERMISSION_DENIED.*clientAuth extended key usage'
expect_exit "a laptop's clientAuth certificate from the same CA, not in the allow-list: refused (5)" 5 \
    "${V[@]}" compliance --verifier "$TARGET" --ca "$CA" --cert "$WORK/certs/laptop.pem" \
    --key "$WORK/certs/laptop.key" "$DEV" || true
expect_grep "... PERMISSION_DENIED naming it" "$WORK/err" 'PERMISSION_DENIED.*"alice-laptop" is not an allowed relying party'
expect_grep "... and the verifier logs the refusal" "$WORK/v.err" 'level=warning msg="compliance refused" peer=alice-laptop reason="not an allowed relying party"$'
expect_exit "an unknown device (5, NOT_FOUND)" 5 "${CO[@]}" "$(printf '%064d' 0)" || true
expect_grep "... NOT_FOUND" "$WORK/err" 'NOT_FOUND'
expect_exit "a malformed device id (5, INVALID_ARGUMENT)" 5 "${CO[@]}" "xyz" || true
"$BIN/verifier" devices revoke --registry "$DB" "$DEV" >/dev/null
expect_exit "revoked: not compliant (1)" 1 "${CO[@]}" "$DEV" || true
expect_grep "... because revoked" "$WORK/out" "NOT compliant: the device is revoked$"
"$BIN/verifier" devices reinstate --registry "$DB" "$DEV" >/dev/null
expect_exit "reinstated, no verdict since: not compliant (1)" 1 "${CO[@]}" "$DEV" || true
expect_grep "... until it attests again" "$WORK/out" 'revoked or reinstated after its last verdict'
sleep 1.1
expect_exit "attests again" 0 "${A[@]}"
expect_exit "... and is compliant again" 0 "${CO[@]}" "$DEV"

# ---- key rotation: the next key published first, signing after keys activate ----
expect_exit "keys rotate" 0 "$BIN/verifier" keys rotate --token-key "$KEY"
NEWKID=$(sed -n 's/^next key \([A-Za-z0-9_-]*\) is published.*/\1/p' "$WORK/out")
expect_exit "keys activate" 0 "$BIN/verifier" keys activate --token-key "$KEY" -- "$NEWKID"
kill -HUP "$VP"
for _ in $(seq 1 100); do grep -q "SIGHUP: token key id\" kid=$NEWKID" "$WORK/v.err" && break; sleep 0.05; done
expect_grep "SIGHUP: the verifier takes the new key" "$WORK/v.err" "SIGHUP: token key id\" kid=$NEWKID previous="
"${V[@]}" keys fetch --verifier "$TARGET" --ca "$CA" >"$WORK/jwks2.json"
/usr/bin/python3 -c 'import json,sys; k=[x["kid"] for x in json.load(open(sys.argv[1]))["keys"]]; assert len(k)==2 and k[0]==sys.argv[2], k' \
    "$WORK/jwks2.json" "$NEWKID" 2>"$WORK/py.out" && ok "the JWKS holds the new key and the previous one" || bad "JWKS after rotation" "$WORK/py.out"
expect_exit "an old token still checks with the new JWKS (ours)" 0 "${V[@]}" token verify --jwks "$WORK/jwks2.json" "$TOKEN"
expect_exit "... and with python3-jwt" 0 /usr/bin/python3 "$POLICY" "$WORK/jwks2.json" "$WORK/token"
expect_exit "a new token" 0 "${A[@]}" --token-out "$WORK/token2"
/usr/bin/python3 -c 'import jwt,sys; assert jwt.get_unverified_header(open(sys.argv[1]).read().strip())["kid"]==sys.argv[2]' \
    "$WORK/token2" "$NEWKID" 2>"$WORK/py.out" && ok "... is signed with the new key" || bad "new token's kid" "$WORK/py.out"
"$BIN/verifier" keys rotate --token-key "$KEY" --activate-after 0 >/dev/null
kill -HUP "$VP"
for _ in $(seq 1 100); do [ "$(grep -c 'SIGHUP: token key id' "$WORK/v.err")" -ge 2 ] && break; sleep 0.05; done
"${V[@]}" keys fetch --verifier "$TARGET" --ca "$CA" >"$WORK/jwks3.json"
expect_exit "two rotations later the first key is still published: its token still checks" 0 "${V[@]}" \
    token verify --jwks "$WORK/jwks3.json" "$TOKEN"
expect_exit "keys jwks prints what the verifier publishes" 0 "${V[@]}" keys jwks --token-key "$KEY"
cmp -s <(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"])' "$WORK/out") \
       <(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"])' "$WORK/jwks3.json") &&
    ok "... the same JWKS" || bad "keys jwks differs from GetVerificationKeys"
expect_exit "a token with a kid the JWKS lacks is refused (1)" 1 "${V[@]}" token verify \
    --jwks "$WORK/jwks.json" "$(cat "$WORK/token2")" || true
expect_grep "... no key with its kid" "$WORK/err" 'no key in the JWKS has kid'

# ---- the policy engine's second condition: Secure Boot on ----
"$SIM" stop "$WORK/tpm"
rm -rf "$WORK/tpm2"
start_swtpm "$WORK/tpm2"
"$BIN/tpa-bootsim" --scenario "$SCEN/sb-off.json" --log "$WORK/sboff.log" --tcti "$TCTI" >/dev/null
"$BIN/verifier" baseline learn --eventlog "$WORK/sboff.log" --name sboff --out "$WORK/sboff.json" >/dev/null
mkdir -p "$WORK/ekca2"
cp "$WORK/tpm2/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm2/ca/issuercert.pem" "$WORK/ekca2/"
start_verifier v-sboff --insecure --registry "$WORK/registry2.db" --ek-ca "$WORK/ekca2" \
    --baseline "$WORK/sboff.json" --token-key "$KEY"
expect_exit "a boot with Secure Boot off that its baseline accepts: compliant" 0 "${C[@]}" attest \
    --verifier "127.0.0.1:$PORT" --insecure --tcti "$TCTI" --eventlog "$WORK/sboff.log" \
    --ak-file "$WORK/ak2.bin" --auto-enroll --token-out "$WORK/sboff.tok"
expect_grep "... and its claims say so" "$WORK/out" '^summary: affirming, COMPLIANT, secure boot disabled'
"$BIN/verifier" keys jwks --token-key "$KEY" >"$WORK/jwks4.json"
expect_exit "the policy engine still denies it (1)" 1 /usr/bin/python3 "$POLICY" "$WORK/jwks4.json" "$WORK/sboff.tok" || true
expect_grep "... because Secure Boot is off" "$WORK/out" '^deny: Secure Boot is disabled$'

# ---- a hostile verifier: replies a relying party cannot understand (6) ----
# python3-grpcio answers both calls with the bytes of a file, read per call.
/usr/bin/python3 - "$WORK/hostile" >"$WORK/hostile.out" 2>"$WORK/hostile.err" <<'PY' &
import sys, time
from concurrent import futures
import grpc
d = sys.argv[1]
def answer(name):
    return grpc.unary_unary_rpc_method_handler(lambda req, ctx: open(d + "." + name, "rb").read())
srv = grpc.server(futures.ThreadPoolExecutor(2))
srv.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("attest.v1.Verifier", {
    "GetVerificationKeys": answer("keys"), "GetDeviceCompliance": answer("compliance")})])
port = srv.add_insecure_port("127.0.0.1:0")
srv.start()
print("listening on 127.0.0.1:%d (plaintext)" % port, flush=True)
time.sleep(120)
PY
HP=$!
if wait_listening "$WORK/hostile.out" "$HP" 500; then
    HT=127.0.0.1:$PORT
    printf '\xff\xff' >"$WORK/hostile.keys"
    expect_exit "keys fetch: a reply that is not protobuf (6)" 6 "${V[@]}" keys fetch --verifier "$HT" \
        --insecure || true
    expect_grep "... named malformed" "$WORK/err" '^verifier: malformed GetVerificationKeys reply$'
    : >"$WORK/hostile.keys"
    expect_exit "keys fetch: a reply without a JWKS (6)" 6 "${V[@]}" keys fetch --verifier "$HT" --insecure || true
    expect_grep "... said so" "$WORK/err" 'no JWKS'
    # compliant = true, expired = true, state = "active"
    printf '\x10\x01\x38\x01\x42\x06active' >"$WORK/hostile.compliance"
    expect_exit "compliance: 'compliant' with an expired token (6)" 6 "${V[@]}" compliance --verifier "$HT" \
        --insecure "$DEV" || true
    expect_grep "... refused as contradicting itself" "$WORK/err" 'compliant, but its token expired'
    [ -s "$WORK/out" ] && bad "... yet something was printed" "$WORK/out" || ok "... and nothing printed"
else
    bad "the hostile gRPC server did not start" "$WORK/hostile.err"
fi
kill "$HP" 2>/dev/null || true
wait "$HP" 2>/dev/null || true

summary
