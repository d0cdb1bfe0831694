#!/usr/bin/env bash
# The verifier's HTTP face end to end: a real verifier with a swtpm-enrolled,
# attested device; curl over TLS with and without the relying party's client
# certificate; the compliance JSON against GetDeviceCompliance's; /v1/authz
# with real, forged and expired tokens and after a revoke; health and
# readiness on the plain loopback address; bad requests.
# usage: test_http.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_http.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: HTTP face (libmicrohttpd, TLS, mTLS, health)"
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
KEY=$WORK/token.jwk

# ---- start-up: the options checked, errors named ----
BASE=(--cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" --registry "$DB"
      --ek-ca "$WORK/ekca" --client-ca "$WORK/certs/rp-ca.pem" --relying-party policy-engine
      --token-key "$KEY")
expect_exit "--http-listen-plain on a non-loopback address: refused (2)" 2 "$BIN/verifier" serve \
    --listen 127.0.0.1:0 "${BASE[@]}" --http-listen-plain 0.0.0.0:0 || true
expect_grep "... naming it" "$WORK/err" "http-listen-plain: '0.0.0.0:0': not a loopback address"
expect_exit "--http-listen with --insecure: refused (2)" 2 "$BIN/verifier" serve \
    --listen 127.0.0.1:0 --insecure --http-listen 127.0.0.1:0 || true
expect_grep "... TLS only" "$WORK/err" 'http-listen: needs --cert and --key'
expect_exit "--http-listen without a port: refused (2)" 2 "$BIN/verifier" serve \
    --listen 127.0.0.1:0 "${BASE[@]}" --http-listen 127.0.0.1 || true
expect_grep "... naming the address" "$WORK/err" "'127.0.0.1': not host:port"
/usr/bin/python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)' >"$WORK/taken" &
TAKER=$!
for _ in $(seq 100); do [ -s "$WORK/taken" ] && break; sleep 0.05; done
expect_exit "--http-listen on a port taken: the verifier does not start" 9 "$BIN/verifier" serve \
    --listen 127.0.0.1:0 "${BASE[@]}" --http-listen "127.0.0.1:$(cat "$WORK/taken")" || true
expect_grep "... naming it" "$WORK/err" 'http-listen 127.0.0.1:[0-9]+: the port is taken'
kill "$TAKER"; wait "$TAKER" 2>/dev/null || true

start_verifier v "${BASE[@]}" --http-listen 127.0.0.1:0 --http-listen-plain 127.0.0.1:0 \
    --http-max-connections 4
TARGET=127.0.0.1:$PORT
for _ in $(seq 1500); do grep -q '^http health listening' "$WORK/v.out" && break; sleep 0.02; done
HP=$(sed -n 's/^http listening on port \([0-9]*\) .*/\1/p' "$WORK/v.out")
PP=$(sed -n 's/^http health listening on port \([0-9]*\) .*/\1/p' "$WORK/v.out")
[ -n "$HP" ] && [ -n "$PP" ] && ok "the HTTP listeners say their ports" || bad "HTTP ports" "$WORK/v.out"
H=https://localhost:$HP
CURL=(curl -sS --max-time 10 --cacert "$CA" -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}')
RP=(--cert "$WORK/certs/client.pem" --key "$WORK/certs/client.key")
# expect_http NAME CODE CURL_ARGS...: the status, body in $WORK/body, headers in $WORK/hdr.
expect_http() {
    local name=$1 want=$2 got
    shift 2
    got=$("${CURL[@]}" "$@" 2>"$WORK/curl.err" || true)
    if [ "$got" = "$want" ]; then ok "$name"; else
        bad "$name (HTTP $got, expected $want)" "$WORK/body"; fi
}
# expect_challenge NAME WANT [LEN]: $WORK/hdr has one WWW-Authenticate
# (RFC 6750 section 3), matching WANT (a Python regular expression) whole,
# its error_description, if any, a quoted-string's safe bytes (printable
# ASCII without '"' or '\'), 1 to 200 of them (LEN of them if given).
expect_challenge() {
    /usr/bin/python3 - "$WORK/hdr" "$2" "${3:-}" >"$WORK/challenge.out" 2>&1 <<'PY' && ok "$1" || bad "$1" "$WORK/challenge.out"
import re, sys
hs = [l.split(":", 1)[1].strip() for l in open(sys.argv[1], newline="").read().split("\r\n")
      if l.lower().startswith("www-authenticate:")]
assert len(hs) == 1, hs
assert re.fullmatch(sys.argv[2], hs[0]), (hs[0], sys.argv[2])
d = re.fullmatch(r'.*, error_description="(.*)"', hs[0])
assert not d or re.fullmatch(r'[ !#-\[\]-~]{1,200}', d.group(1)), d.group(1)
assert not sys.argv[3] or (d and len(d.group(1)) == int(sys.argv[3])), (d, sys.argv[3])
PY
}
# no_challenge NAME: $WORK/hdr has no WWW-Authenticate (a 401 a token
# would not help: the client certificate is what is missing).
no_challenge() {
    if grep -qi '^WWW-Authenticate:' "$WORK/hdr"; then bad "$1" "$WORK/hdr"; else ok "$1"; fi
}
REALM='Bearer realm="tpm-attest"'
REFUSED='Bearer realm="tpm-attest", error="invalid_token", error_description="token'

A=("${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin"
   --eventlog "$WORK/good.log")
"${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" >"$WORK/enroll.out" 2>&1 ||
    bad "enroll" "$WORK/enroll.out"
DEV=$(sed -n 's/^enrolled: device //p' "$WORK/enroll.out")
"${A[@]}" >/dev/null 2>&1 || true
"$BIN/verifier" baseline learn --registry "$DB" --device "$DEV" --name fleet --out "$WORK/fleet.json" >/dev/null
"$BIN/verifier" baseline add --registry "$DB" "$WORK/fleet.json" >/dev/null
"$BIN/verifier" baseline assign --registry "$DB" --device "$DEV" fleet >/dev/null
expect_exit "attest: compliant" 0 "${A[@]}" --token-out "$WORK/token"
TOKEN=$(cat "$WORK/token")

# ---- health ----
expect_http "/healthz on the plain address: 200" 200 "http://127.0.0.1:$PP/healthz"
expect_http "/metrics on the plain address: 200" 200 "http://127.0.0.1:$PP/metrics"
/usr/bin/python3 - "$WORK/body" >"$WORK/metrics.out" 2>&1 <<'PY' && ok "... the Prometheus text: the compliant attestation counted, build info" || bad "/metrics" "$WORK/metrics.out"
import sys
from prometheus_client.parser import text_string_to_metric_families
v = {}
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        v[(s.name, tuple(sorted(s.labels.items())))] = s.value
assert v.get(("tpa_attestations_total", (("outcome", "compliant"),)), 0) >= 1, v
assert any(k[0] == "tpa_build_info" for k in v), v
PY
expect_http "/readyz: 200 with the registry, keys and EK anchors" 200 "http://127.0.0.1:$PP/readyz"
expect_http "the plain address has no decisions: 404" 404 "http://127.0.0.1:$PP/v1/devices/$DEV/compliance"

# ---- the gRPC health service, to a python3-grpcio client ----
/usr/bin/python3 - "$TARGET" "$CA" >"$WORK/health.out" 2>&1 <<'PY' && ok "grpc.health.v1.Health/Check: SERVING for \"\" and attest.v1.Verifier, NOT_FOUND otherwise" || bad "gRPC health" "$WORK/health.out"
import sys, grpc
creds = grpc.ssl_channel_credentials(root_certificates=open(sys.argv[2], "rb").read())
ch = grpc.secure_channel(sys.argv[1], creds, options=[("grpc.ssl_target_name_override", "localhost")])
check = ch.unary_unary("/grpc.health.v1.Health/Check", request_serializer=lambda b: b,
                       response_deserializer=lambda b: b)
req = lambda name: (b"\x0a" + bytes([len(name)]) + name) if name else b""
for name in (b"", b"attest.v1.Verifier"):
    r = check(req(name), timeout=10)
    assert r == b"\x08\x01", (name, r)  # status: SERVING
try:
    check(req(b"other.Service"), timeout=10)
    raise SystemExit("other.Service answered")
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.NOT_FOUND, e
print("ok")
PY

# ---- compliance ----
CO=("${V[@]}" compliance --verifier "$TARGET" --ca "$CA" --cert "$WORK/certs/client.pem"
    --key "$WORK/certs/client.key")
expect_exit "GetDeviceCompliance --json" 0 "${CO[@]}" --json "$DEV"
cp "$WORK/out" "$WORK/grpc.json"
expect_http "GET compliance with the policy engine's certificate: 200" 200 "${RP[@]}" "$H/v1/devices/$DEV/compliance"
/usr/bin/python3 - "$WORK/grpc.json" "$WORK/body" >"$WORK/py.out" 2>&1 <<'PY' && ok "... the same answer as GetDeviceCompliance" || bad "compliance JSON" "$WORK/py.out"
import json, sys
g, h = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for k, v in g.items():
    assert h[k] == v, (k, h[k], v)
assert h["compliant"] is True and h["ear_status"] == "affirming" and not h["revoked"], h
assert h["verdict_time"].endswith("Z") and h["token_expiry"].endswith("Z"), h
PY
expect_http "no client certificate: 401" 401 "$H/v1/devices/$DEV/compliance"
no_challenge "... no Bearer challenge"
expect_http "a laptop's certificate, not a relying party: 403" 403 --cert "$WORK/certs/laptop.pem" \
    --key "$WORK/certs/laptop.key" "$H/v1/devices/$DEV/compliance"
expect_grep "... naming it" "$WORK/body" '"alice-laptop\\" is not an allowed relying party'
expect_http "a certificate from another CA: 401" 401 --cert "$WORK/certs/other-client.pem" \
    --key "$WORK/certs/other-client.key" "$H/v1/devices/$DEV/compliance"
expect_grep "... it does not verify" "$WORK/body" 'does not verify against the client CA'
expect_http "a certificate without clientAuth EKU: 403" 403 --cert "$WORK/certs/noeku-client.pem" \
    --key "$WORK/certs/noeku-client.key" "$H/v1/devices/$DEV/compliance"
expect_http "an unknown device: 404" 404 "${RP[@]}" "$H/v1/devices/$(printf '%064d' 0)/compliance"
expect_http "a malformed id: 400" 400 "${RP[@]}" "$H/v1/devices/${DEV:0:12}/compliance"
expect_http "an upper-case id: 400" 400 "${RP[@]}" "$H/v1/devices/${DEV^^}/compliance"
expect_http "a traversal: 404" 404 "${RP[@]}" --path-as-is "$H/v1/devices/../../etc/passwd"
expect_http "an unknown path: 404" 404 "${RP[@]}" "$H/nothing"
expect_http "POST: 405" 405 "${RP[@]}" -X POST -d x "$H/v1/devices/$DEV/compliance"
expect_grep "... Allow: GET" "$WORK/hdr" '^Allow: GET'
expect_http "a GET with a body: 413" 413 "${RP[@]}" -X GET -d x "$H/v1/devices/$DEV/compliance"
BIG=$(head -c 40000 /dev/zero | tr '\0' a)
got=$("${CURL[@]}" "${RP[@]}" -H "X-Big: $BIG" "$H/healthz" 2>/dev/null || true)
case $got in 431|400|413) ok "an oversized header: $got" ;; *) bad "an oversized header: HTTP $got" ;; esac

# ---- authz ----
expect_http "/v1/authz with the device's token: 200" 200 "${RP[@]}" -H "Authorization: Bearer $TOKEN" "$H/v1/authz"
expect_grep "... X-Device-Id" "$WORK/hdr" "^X-Device-Id: $DEV"
expect_grep "... X-Device-Name" "$WORK/hdr" '^X-Device-Name: .+'
expect_http "/v1/authz without the client certificate: 401" 401 -H "Authorization: Bearer $TOKEN" "$H/v1/authz"
no_challenge "... no Bearer challenge"
expect_http "no token: 401" 401 "${RP[@]}" "$H/v1/authz"
expect_challenge "... WWW-Authenticate: the realm, no error" "$REALM"
expect_http "not a Bearer token: 401" 401 "${RP[@]}" -H "Authorization: Basic eDp5" "$H/v1/authz"
expect_challenge "... WWW-Authenticate: the realm, no error" "$REALM"
"$BIN/verifier" token verify --jwks <("$BIN/verifier" keys fetch --verifier "$TARGET" --ca "$CA") "$TOKEN" >"$WORK/claims.json"
mkdir -p "$WORK/tok" "$WORK/forged"
/usr/bin/python3 "$ROOT/tests/integration/tokens.py" "$KEY" "$WORK/claims.json" "$WORK/token" "$WORK/tok"
/usr/bin/python3 - "$WORK/other.jwk" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric import ec
k = ec.generate_private_key(ec.SECP256R1())
b = lambda i: base64.urlsafe_b64encode(i.to_bytes(32, "big")).rstrip(b"=").decode()
n = k.private_numbers()
json.dump({"kty": "EC", "crv": "P-256", "x": b(n.public_numbers.x), "y": b(n.public_numbers.y),
           "d": b(n.private_value)}, open(sys.argv[1], "w"))
PY
/usr/bin/python3 "$ROOT/tests/integration/tokens.py" "$WORK/other.jwk" "$WORK/claims.json" "$WORK/token" "$WORK/forged"
expect_http "a fresh token of our key (the control): 200" 200 "${RP[@]}" -H "Authorization: Bearer $(cat "$WORK/tok/good")" "$H/v1/authz"
expect_http "a forged token (another key, our kid): 401" 401 "${RP[@]}" -H "Authorization: Bearer $(cat "$WORK/forged/good")" "$H/v1/authz"
expect_challenge "... WWW-Authenticate: invalid_token, saying why" "$REFUSED.*signature.*\""
expect_http "an expired token: 401" 401 "${RP[@]}" -H "Authorization: Bearer $(cat "$WORK/tok/exp-equals-iat")" "$H/v1/authz"
expect_challenge "... WWW-Authenticate: invalid_token, saying why" "$REFUSED.*exp.*\""
expect_http "a contraindicated token: 401" 401 "${RP[@]}" -H "Authorization: Bearer $(cat "$WORK/tok/contraindicated")" "$H/v1/authz"
expect_challenge "... WWW-Authenticate: invalid_token, saying why" "$REFUSED.*contraindicated\""
expect_http "a refusal with '\"' and '\\' in its reason: 401" 401 "${RP[@]}" -H "Authorization: Bearer $(cat "$WORK/tok/quoted-reason")" "$H/v1/authz"
expect_challenge "... each a '?' in the challenge, cut at 200 bytes" "$REFUSED.*contraindicated: said \\?no\\? \\? (and more )+(a(n(d( (m(o(re?)?)?)?)?)?)?)?\"" 200
expect_grep "... the JSON body keeps them" "$WORK/body" 'said \\"no\\" \\\\'
expect_http "a kid with '\"' and '\\': 401" 401 "${RP[@]}" -H "Authorization: Bearer $(cat "$WORK/tok/quoted-kid")" "$H/v1/authz"
expect_challenge "... each a '?' in the challenge" "$REFUSED.*kid a\\?b\\?c\""
expect_http "a token whose status is warning: 401 (affirming only, by default)" 401 "${RP[@]}" -H "Authorization: Bearer $(cat "$WORK/tok/warning")" "$H/v1/authz"
expect_challenge "... WWW-Authenticate: invalid_token, saying why" "$REFUSED status is warning.*\""
# With --http-authz-accept-warning (a second verifier on the same registry
# and keys), the same token passes, a contraindicated one still does not.
V1=$VPID P1=$PORT
start_verifier w "${BASE[@]}" --http-listen 127.0.0.1:0 --http-authz-accept-warning
for _ in $(seq 1500); do grep -q '^http listening' "$WORK/w.out" && break; sleep 0.02; done
HW=https://localhost:$(sed -n 's/^http listening on port \([0-9]*\) .*/\1/p' "$WORK/w.out")
expect_http "--http-authz-accept-warning: the warning token: 200" 200 "${RP[@]}" -H "Authorization: Bearer $(cat "$WORK/tok/warning")" "$HW/v1/authz"
expect_http "--http-authz-accept-warning: a contraindicated token: 401" 401 "${RP[@]}" -H "Authorization: Bearer $(cat "$WORK/tok/contraindicated")" "$HW/v1/authz"
# A last verdict of warning (fleet@2 wants another firmware, a rule of
# warning severity): by default refused whatever token the device shows,
# its warning token (401) and its earlier affirming one (403); with the
# flag both pass. Then fleet@3, the boot as learned: compliant again.
/usr/bin/python3 - "$WORK/fleet.json" "$WORK/fleet2.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
b["rules"]["firmware-version"]["allowed"][0]["digest"] = "ab" * 32
json.dump(b, open(sys.argv[2], "w"))
PY
"$BIN/verifier" baseline add --registry "$DB" "$WORK/fleet2.json" >/dev/null
expect_exit "attest against fleet@2: a warning (exit 0)" 0 "${A[@]}" --token-out "$WORK/token-warn"
expect_http "... its warning token: 401" 401 "${RP[@]}" -H "Authorization: Bearer $(cat "$WORK/token-warn")" "$H/v1/authz"
expect_http "... its earlier affirming token, the last verdict a warning: 403" 403 "${RP[@]}" -H "Authorization: Bearer $TOKEN" "$H/v1/authz"
expect_grep "... saying so, and the flag" "$WORK/hdr" '^X-Reason: the last verdict was warning \(--http-authz-accept-warning lets it through\)'
expect_http "--http-authz-accept-warning: the warning token: 200" 200 "${RP[@]}" -H "Authorization: Bearer $(cat "$WORK/token-warn")" "$HW/v1/authz"
expect_http "--http-authz-accept-warning: the earlier affirming token: 200" 200 "${RP[@]}" -H "Authorization: Bearer $TOKEN" "$HW/v1/authz"
"$BIN/verifier" baseline add --registry "$DB" "$WORK/fleet.json" >/dev/null
expect_exit "attest against fleet@3: compliant" 0 "${A[@]}" --token-out "$WORK/token"
TOKEN=$(cat "$WORK/token")
expect_http "... its token: 200 again" 200 "${RP[@]}" -H "Authorization: Bearer $TOKEN" "$H/v1/authz"
kill -TERM "$VPID"; wait "$VPID" && ok "verifier w: stopped cleanly" || bad "verifier w: exit $?" "$WORK/w.err"
VPID=$V1 PORT=$P1
expect_http "a token of 9000 bytes: 401" 401 "${RP[@]}" -H "Authorization: Bearer $(head -c 9000 /dev/zero | tr '\0' a)" "$H/v1/authz"
expect_challenge "... WWW-Authenticate: the realm, no error (not a token)" "$REALM"

# ---- too many connections: refused at once, while gRPC attests ----
# Past the limit a new connection is closed as soon as it is accepted
# (libmicrohttpd's own limit would leave it in the kernel's backlog,
# unanswered, its client waiting until one of the others closes).
/usr/bin/python3 - "$HP" 8 >"$WORK/conns.out" 2>&1 <<'PY' &
import socket, sys, time
s = []
for _ in range(int(sys.argv[2])):
    c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.append(c)
time.sleep(1)
held = closed = 0
for c in s:
    c.setblocking(False)
    try:
        closed += c.recv(1) == b""
    except BlockingIOError:
        held += 1
    except ConnectionResetError:
        closed += 1
print("open held %d closed %d" % (held, closed), flush=True)
time.sleep(6)
PY
CONNS=$!
for _ in $(seq 100); do grep -q open "$WORK/conns.out" && break; sleep 0.05; done
# Two pool threads accepting at the same moment may both let one in: one
# over at most (lib/http.c, accept_policy).
read -r _ _ held _ closed <"$WORK/conns.out" || true
[ "${held:-0}" -ge 4 ] && [ "${held:-0}" -le 5 ] && [ $((held + closed)) = 8 ] &&
    ok "8 connections against --http-max-connections 4: $held held, $closed closed by the verifier" ||
    bad "connection limit: held/closed" "$WORK/conns.out"
t0=$(date +%s%N)
got=$("${CURL[@]}" --max-time 5 "${RP[@]}" "$H/healthz" 2>/dev/null || true)
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$got" != 200 ] && [ "$ms" -lt 2000 ] &&
    ok "one more connection: refused at once ($got in $ms ms), not left waiting" ||
    bad "connection limit: HTTP $got after $ms ms"
expect_exit "... while gRPC attests" 0 "${A[@]}"
wait "$CONNS" || true
expect_http "... and HTTP serves again once they close" 200 "${RP[@]}" "$H/healthz"
# What serve --help and the man page say of the option: what was just seen.
"$BIN/verifier" serve --help | sed -n '/^  --http-max-connections/,/^  --[a-gi-z]/p' |
    tr -s ' \n' ' ' >"$WORK/hmc.help"
sed -n '/^\.BI \\-\\-http\\-max\\-connections/,/^\.TP/p' "$ROOT/man/verifier.8" |
    tr -s ' \n' ' ' >"$WORK/hmc.man"
for f in help man; do
    expect_grep "--http-max-connections in the $f: more closed at once on accept, before TLS, gRPC not affected" \
        "$WORK/hmc.$f" 'more are closed at once on accept, before TLS \(gRPC is not affected\)'
done
TOKEN=$(cat "$WORK/token")

# ---- a slow client: closed after the connection timeout (10 s) ----
/usr/bin/python3 - "$PP" >"$WORK/slow.out" 2>&1 <<'PY' && ok "a client that never finishes its request is closed" || bad "slow client" "$WORK/slow.out"
import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")   # and never the end of the headers
c.settimeout(60)
t = time.time()
assert c.recv(100) == b"", "answered a request never finished"
print("closed after %.1f s" % (time.time() - t))
assert 5 < time.time() - t < 40, time.time() - t   # by the timeout, not at once
PY

# ---- a new server certificate on SIGHUP: new connections get it, an open
# one keeps the old until it closes ----
fingerprint() { # PORT: the SHA-256 of the certificate the TLS listener shows
    /usr/bin/python3 -c 'import hashlib, socket, ssl, sys
c = ssl.create_default_context(cafile=sys.argv[2]); c.check_hostname = False
s = c.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
print(hashlib.sha256(s.getpeercert(True)).hexdigest())' "$1" "$CA"
}
FP1=$(fingerprint "$HP")
( cd "$WORK/certs" &&
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >server2.ext &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server2.key \
      -out server2.csr -subj "/CN=localhost" >/dev/null 2>&1 &&
  openssl x509 -req -in server2.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server2.pem \
      -days 2 -extfile server2.ext >/dev/null 2>&1 ) || bad "a second server certificate"
FP2=$(openssl x509 -in "$WORK/certs/server2.pem" -outform DER | sha256sum | cut -d' ' -f1)
# A connection opened before the SIGHUP, its request sent after.
/usr/bin/python3 - "$HP" "$CA" "$WORK/held.go" >"$WORK/held.out" 2>&1 <<'PY' &
import hashlib, os, socket, ssl, sys, time
c = ssl.create_default_context(cafile=sys.argv[2]); c.check_hostname = False
s = c.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
print("fp", hashlib.sha256(s.getpeercert(True)).hexdigest(), flush=True)
for _ in range(100):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.05)
s.sendall(b"GET /v1/authz HTTP/1.1\r\nHost: localhost\r\n\r\n")
print("answer", s.recv(64).split(b"\r\n")[0].decode(), flush=True)
PY
HELD=$!
for _ in $(seq 100); do grep -q '^fp ' "$WORK/held.out" && break; sleep 0.05; done
cp "$WORK/certs/server2.key" "$WORK/certs/server.key"
cp "$WORK/certs/server2.pem" "$WORK/certs/server.pem"
kill -HUP "$VPID"
for _ in $(seq 100); do grep -q "the HTTP face's TLS: the same files" "$WORK/v.err" && break; sleep 0.05; done
expect_grep "SIGHUP: the HTTP face reads its TLS files again" "$WORK/v.err" "the HTTP face's TLS: the same files: new connections use them"
[ "$(fingerprint "$HP")" = "$FP2" ] && [ "$FP1" != "$FP2" ] &&
    ok "... a new connection gets the new certificate" || bad "HTTP certificate after SIGHUP: $(fingerprint "$HP")"
expect_http "... and /v1/authz answers on it: 200" 200 "${RP[@]}" -H "Authorization: Bearer $TOKEN" "$H/v1/authz"
: >"$WORK/held.go"
wait "$HELD" || true
grep -q "^fp $FP1\$" "$WORK/held.out" && grep -q '^answer HTTP/1.1 401' "$WORK/held.out" &&
    ok "... the connection opened before it: the old certificate, still answered" ||
    bad "the connection held across the SIGHUP" "$WORK/held.out"
# A key that is not the certificate's: the SIGHUP is refused, nothing changes.
cp "$WORK/certs/client.key" "$WORK/certs/server.key"
kill -HUP "$VPID"
for _ in $(seq 100); do [ "$(grep -c 'SIGHUP' "$WORK/v.err")" -ge 4 ] && grep -q 'refused\|kept' "$WORK/v.err" && break; sleep 0.05; done
sleep 0.3
[ "$(fingerprint "$HP")" = "$FP2" ] && ok "a SIGHUP with a key not the certificate's: the HTTP face keeps its certificate" ||
    bad "HTTP certificate after a bad SIGHUP" "$WORK/v.err"
cp "$WORK/certs/server2.key" "$WORK/certs/server.key"

# ---- revoke: not compliant at once ----
"$BIN/verifier" devices revoke --registry "$DB" "$DEV" >/dev/null
expect_http "after revoke: compliance still 200 ..." 200 "${RP[@]}" "$H/v1/devices/$DEV/compliance"
/usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert not c["compliant"] and c["revoked"], c' "$WORK/body" &&
    ok "... saying not compliant, revoked" || bad "compliance after revoke" "$WORK/body"
expect_http "after revoke: /v1/authz with the unexpired token 403" 403 "${RP[@]}" -H "Authorization: Bearer $TOKEN" "$H/v1/authz"
expect_grep "... with X-Reason" "$WORK/hdr" '^X-Reason: .+'
"$BIN/verifier" devices reinstate --registry "$DB" "$DEV" >/dev/null

# ---- readiness follows the registry ----
# The registry's file emptied under the running verifier (its connection
# keeps the file open, so moving or chmod-ing it away changes nothing it
# reads): a read fails, and /readyz and the gRPC health say so.
cp "$DB" "$DB.copy"
: >"$DB"
expect_http "/readyz with the registry emptied: 503" 503 "http://127.0.0.1:$PP/readyz"
expect_grep "... naming the registry, not its path" "$WORK/body" '^not ready: the registry does not answer$'
/usr/bin/python3 - "$TARGET" "$CA" >"$WORK/health.out" 2>&1 <<'PY' && ok "... and Health/Check says NOT_SERVING" || bad "gRPC health NOT_SERVING" "$WORK/health.out"
import sys, grpc
creds = grpc.ssl_channel_credentials(root_certificates=open(sys.argv[2], "rb").read())
ch = grpc.secure_channel(sys.argv[1], creds, options=[("grpc.ssl_target_name_override", "localhost")])
r = ch.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=10)
assert r == b"\x08\x02", r  # status: NOT_SERVING
PY
expect_http "... compliance: 503, not a wrong answer" 503 "${RP[@]}" "$H/v1/devices/$DEV/compliance"
# Put back, and written once (SQLite re-reads its schema on a change).
cat "$DB.copy" >"$DB"
"$BIN/verifier" devices label --registry "$DB" "$DEV" lab >/dev/null
expect_http "/readyz with the registry back: 200" 200 "http://127.0.0.1:$PP/readyz"

# ---- SIGHUP: the HTTP face keeps serving, with the relying parties reloaded ----
kill -HUP "$VPID"
for _ in $(seq 1500); do grep -q 'SIGHUP: reloaded' "$WORK/v.err" && break; sleep 0.02; done
expect_grep "SIGHUP: reloaded" "$WORK/v.err" 'SIGHUP: reloaded'
if grep -q 'http-listen.*needs a restart' "$WORK/v.err"; then bad "... the unchanged HTTP options said to need a restart" "$WORK/v.err"
else ok "... the unchanged HTTP options not said to need a restart"; fi
expect_http "... and compliance still answers" 200 "${RP[@]}" "$H/v1/devices/$DEV/compliance"

summary
