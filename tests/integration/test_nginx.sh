#!/usr/bin/env bash
# nginx's auth_request against the verifier's /v1/authz, end to end (issue
# 15, item 3): Debian's nginx runs packaging/examples/nginx/tpm-attest-site.conf
# itself (filled in by sed, so the example cannot drift from what is
# tested), on loopback, with its own prefix, pid and temp paths here,
# in front of an application (a second server block that echoes the
# device headers it was given). A real verifier over TLS with nginx's
# client certificate, a swtpm device attested by the real client.
# Checks: a compliant device passes and the application learns which; a
# revoke refuses the same unexpired token within a second; reinstated and
# attested again it passes; overdue (a SIGHUP to a 2 s interval) it is
# refused; no, garbage, forged or expired tokens are 401; a verifier gone
# fails closed. The revoke is timed, so the test is not in the valgrind
# list (it runs plain and under ASan).
# usage: test_nginx.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_nginx.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: nginx auth_request to /v1/authz (nginx, TLS, mTLS, swtpm)"
NGINX=/usr/sbin/nginx
[ -x "$NGINX" ] || { bad "nginx is installed (scripts/deps.sh)"; summary; exit 1; }
if "$NGINX" -V 2>&1 | grep -q -- '--with-http_auth_request_module'; then
    ok "nginx -V: built with http_auth_request_module"
else
    bad "nginx -V: no http_auth_request_module"; summary; exit 1
fi
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
SCEN=$ROOT/simulator/scenarios
C=(${VGC:-} "$BIN/attest_client")
start_swtpm "$WORK/tpm"
"$BIN/tpa-bootsim" --scenario "$SCEN/good.json" --log "$WORK/good.log" --tcti "$TCTI" >/dev/null
mkdir -p "$WORK/ekca"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
DB=$WORK/registry.db
KEY=$WORK/token.jwk
# The interval from a file, so that a SIGHUP can make the device overdue
# later; the default until then.
CONF=$WORK/verifier.conf
: >"$CONF"
start_verifier v --config "$CONF" --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$DB" --ek-ca "$WORK/ekca" --client-ca "$WORK/certs/rp-ca.pem" \
    --relying-party policy-engine --token-key "$KEY" --http-listen 127.0.0.1:0
TARGET=127.0.0.1:$PORT
for _ in $(seq 1500); do grep -q '^http listening' "$WORK/v.out" && break; sleep 0.02; done
HP=$(sed -n 's/^http listening on port \([0-9]*\) .*/\1/p' "$WORK/v.out")
[ -n "$HP" ] && ok "the verifier's HTTP face listens" || bad "the verifier's HTTP face" "$WORK/v.out"

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

# Tokens to refuse: re-signed fresh by the verifier's key (the control),
# by another key under the verifier's kid (forged), expired.
"$BIN/verifier" token verify --jwks <("$BIN/verifier" keys fetch --verifier "$TARGET" --ca "$CA") \
    "$TOKEN" >"$WORK/claims.json"
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

# ---- nginx: the example site, filled in, under a main file of the test's ----
NG=$WORK/nginx
mkdir -p "$NG/tmp"
SITE=$ROOT/packaging/examples/nginx/tpm-attest-site.conf
# fill_site LISTEN APP: the example with this test's values; every
# ${TPA_...} must be one the test knows (a new one fails here, not later).
fill_site() {
    sed -e "s|\${TPA_VERIFIER}|127.0.0.1:$HP|g" \
        -e "s|\${TPA_APP}|127.0.0.1:$2|g" \
        -e "s|\${TPA_LISTEN}|127.0.0.1:$1|g" \
        -e "s|\${TPA_SERVER_NAME}|localhost|g" \
        -e "s|\${TPA_SITE_CERT}|$WORK/certs/server.pem|g" \
        -e "s|\${TPA_SITE_KEY}|$WORK/certs/server.key|g" \
        -e "s|\${TPA_RP_CERT}|$WORK/certs/client.pem|g" \
        -e "s|\${TPA_RP_KEY}|$WORK/certs/client.key|g" \
        -e "s|\${TPA_VERIFIER_CA}|$CA|g" \
        -e "s|\${TPA_VERIFIER_NAME}|localhost|g" \
        "$SITE" >"$NG/site.conf"
    ! grep -nE '\$\{TPA_[A-Z_]+\}' "$NG/site.conf"
}
# The application: answers 200 with the device headers nginx gave it (and
# a client sent in vain), so the test sees what the application saw.
# As root nginx's workers would run as nobody, who cannot enter $WORK
# (0700) for the temp paths: they run as the test's own user.
main_conf() {
    nginx_main "$NG"
    cat >"$NG/extra-app.conf" <<EOF
server {
    listen 127.0.0.1:$1;
    location / {
        default_type text/plain;
        return 200 "app: device=\$http_x_device_id name=\$http_x_device_name\n";
    }
}
EOF
}

# A port taken between free_port and nginx's bind: new ports, again.
started=
for _ in 1 2 3; do
    NP=$(free_port)
    AP=$(free_port)
    fill_site "$NP" "$AP" >"$WORK/fill.out" || { bad "every \${TPA_...} of the example filled in" "$WORK/fill.out"; break; }
    main_conf "$AP"
    if ! "$NGINX" -t -q -p "$NG/" -c "$NG/nginx.conf" -e "$NG/error.log" >"$WORK/t.out" 2>&1; then
        bad "nginx -t: the example site is valid" "$WORK/t.out"
        break
    fi
    start_extra nginx "$NGINX" -p "$NG/" -c "$NG/nginx.conf" -e "$NG/error.log"
    NPID=$XPID
    for _ in $(seq 250); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$AP/" && { started=1; break; }
        kill -0 "$NPID" 2>/dev/null || break
        sleep 0.02
    done
    [ -n "$started" ] && break
    grep -q 'Address already in use' "$NG/error.log" "$WORK/nginx.err" 2>/dev/null || break
    stop_extras
done
if [ -n "$started" ]; then
    ok "nginx -t passes the example site; nginx serves it on 127.0.0.1:$NP (pid $NPID)"
else
    bad "nginx starts" "$NG/error.log"
    summary
    exit 1
fi

F=https://localhost:$NP
CURL=(curl -sS --max-time 10 --cacert "$CA" -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}')
# expect_http NAME CODE CURL_ARGS...: the status, body in $WORK/body, headers in $WORK/hdr.
expect_http() {
    local name=$1 want=$2 got
    shift 2
    rm -f "$WORK/body"
    got=$("${CURL[@]}" "$@" 2>"$WORK/curl.err" || true)
    [ -s "$WORK/body" ] || cp "$WORK/curl.err" "$WORK/body"
    if [ "$got" = "$want" ]; then ok "$name"; else
        bad "$name (HTTP $got, expected $want)" "$WORK/body"; fi
}
bearer() { echo "Authorization: Bearer $1"; }

# ---- a compliant device ----
expect_http "a compliant device's token: 200 from the application" 200 -H "$(bearer "$TOKEN")" "$F/"
expect_grep "... which was told the device's id" "$WORK/body" "^app: device=$DEV name=.+$"
expect_http "a client's own X-Device-Id: not what the application sees" 200 -H "$(bearer "$TOKEN")" \
    -H "X-Device-Id: $(printf '%064d' 0)" -H "X-Device-Name: spoofed" "$F/some/path?q=1"
expect_grep "... it sees the verifier's" "$WORK/body" "^app: device=$DEV name=.+$"
if grep -q spoofed "$WORK/body"; then bad "... and not the client's name" "$WORK/body"; else ok "... and not the client's name"; fi
expect_http "a POST with a body: 200 (the body goes to the application, not to the verifier)" 200 \
    -H "$(bearer "$TOKEN")" -X POST --data-binary "$(head -c 5000 /dev/zero | tr '\0' x)" "$F/upload"
expect_http "the subrequest's location from outside: 404" 404 -H "$(bearer "$TOKEN")" "$F/_tpa/authz"

# ---- tokens refused: 401 ----
expect_http "no token: 401" 401 "$F/"
expect_grep "... asking for a Bearer token" "$WORK/hdr" '^WWW-Authenticate: Bearer realm="tpm-attest"'$'\r''$'
[ "$(grep -ci '^WWW-Authenticate:' "$WORK/hdr")" = 1 ] && ok "... once" || bad "... once" "$WORK/hdr"
expect_http "a token of our key, fresh (the control): 200" 200 -H "$(bearer "$(cat "$WORK/tok/good")")" "$F/"
expect_http "a forged token (another key, our kid): 401" 401 -H "$(bearer "$(cat "$WORK/forged/good")")" "$F/"
[ "$(grep -ci '^WWW-Authenticate:' "$WORK/hdr")" = 1 ] &&
    grep -q '^WWW-Authenticate: Bearer realm="tpm-attest", error="invalid_token", error_description="token: ' "$WORK/hdr" &&
    ok "... one challenge, the verifier's: invalid_token" ||
    bad "... one challenge, the verifier's: invalid_token" "$WORK/hdr"
expect_http "an expired token: 401" 401 -H "$(bearer "$(cat "$WORK/tok/exp-equals-iat")")" "$F/"
expect_http "a contraindicated token: 401" 401 -H "$(bearer "$(cat "$WORK/tok/contraindicated")")" "$F/"
expect_http "garbage after Bearer: 401" 401 -H 'Authorization: Bearer !!not*a~token$$' "$F/"
expect_http "a Basic Authorization header: 401" 401 -H 'Authorization: Basic eDp5' "$F/"
expect_http "an Authorization header of one word: 401" 401 -H 'Authorization: Bearer' "$F/"
expect_http "a token of 8000 bytes: 401" 401 -H "$(bearer "$(head -c 8000 /dev/zero | tr '\0' a)")" "$F/"
# Past nginx's own header buffers (large_client_header_buffers, 8k) nginx
# refuses the request before any subrequest.
expect_http "a token of 9000 bytes: 400 from nginx itself" 400 -H "$(bearer "$(head -c 9000 /dev/zero | tr '\0' a)")" "$F/"
expect_http "a token with its signature cut: 401" 401 -H "$(bearer "${TOKEN%.*}.")" "$F/"
grep -q 'no live upstreams\|upstream SSL certificate verify error\|SSL_do_handshake() failed' "$NG/error.log" &&
    bad "nginx reached the verifier over TLS each time" "$NG/error.log" ||
    ok "nginx reached the verifier over TLS each time (no TLS error in its log)"

# ---- revoke: the same unexpired token refused within a second ----
"$BIN/verifier" devices revoke --registry "$DB" "$DEV" >/dev/null
t0=$(date +%s%N)
got=
for _ in $(seq 60); do
    got=$("${CURL[@]}" --max-time 1 -H "$(bearer "$TOKEN")" "$F/" 2>/dev/null || true)
    [ "$got" = 403 ] && break
    sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$got" = 403 ] && [ "$ms" -le 1000 ]; then
    ok "after revoke: the same token refused (403) $ms ms after the revoke returned"
else
    bad "after revoke: refused within 1 s (HTTP $got after $ms ms)" "$WORK/body"
fi
expect_grep "... the reason told to the client" "$WORK/hdr" '^X-Reason: .*revoked'
expect_http "... every token of the device: 403" 403 -H "$(bearer "$(cat "$WORK/tok/good")")" "$F/"

# ---- reinstate: a fresh verdict lets it in again ----
"$BIN/verifier" devices reinstate --registry "$DB" "$DEV" >/dev/null
# The verifier's rule: a device reinstated since its last verdict is not
# compliant until it attests again. The registry keeps whole seconds and a
# verdict in the second of the reinstate does not count as after it
# (state_changed_at >= last_attest_at), so the next one is a second on.
expect_http "reinstated, before attesting again: still 403" 403 -H "$(bearer "$TOKEN")" "$F/"
expect_grep "... until it attests again" "$WORK/hdr" '^X-Reason: the device was revoked or reinstated after its last verdict'
sleep 1.1
expect_exit "reinstated: attest again, compliant" 0 "${A[@]}" --token-out "$WORK/token2"
expect_http "... the new token: 200" 200 -H "$(bearer "$(cat "$WORK/token2")")" "$F/"
expect_grep "... to the application, with the device's id" "$WORK/body" "^app: device=$DEV "
expect_http "... the old unexpired token too (the device is compliant now)" 200 -H "$(bearer "$TOKEN")" "$F/"

# ---- overdue: refused although the token runs an hour ----
printf 'attest_interval = 2\nstale_grace = 1\n' >"$CONF"
kill -HUP "$VPID"
for ((i = 0; i < 500; i++)); do
    grep -q 'SIGHUP: reloaded: .*attest interval 2 s, stale grace 1 s' "$WORK/v.err" && break
    sleep 0.02
done
expect_grep "SIGHUP: an attest interval of 2 s, a grace of 1 s" "$WORK/v.err" \
    'SIGHUP: reloaded: .*attest interval 2 s, stale grace 1 s'
# The last verdict is 3 s old at the latest within ~3 s from now.
for _ in $(seq 40); do
    got=$("${CURL[@]}" --max-time 2 -H "$(bearer "$TOKEN")" "$F/" 2>/dev/null || true)
    [ "$got" = 403 ] && break
    sleep 0.25
done
[ "$got" = 403 ] && ok "overdue: the unexpired token refused (403)" || bad "overdue: refused (HTTP $got)" "$WORK/body"
expect_grep "... the client told it is overdue" "$WORK/hdr" '^X-Reason: .*overdue'
# A fresh verdict's token lives 3 s now; a slow machine may take that long
# from the verdict to the request, so a few tries.
for _ in 1 2 3; do
    "${A[@]}" --token-out "$WORK/token3" >/dev/null 2>&1 || true
    got=$("${CURL[@]}" -H "$(bearer "$(cat "$WORK/token3")")" "$F/" 2>/dev/null || true)
    [ "$got" = 200 ] && break
done
[ "$got" = 200 ] && ok "attesting again: 200 again" || bad "attesting again: HTTP $got" "$WORK/body"

# ---- the verifier gone: fail closed ----
kill -TERM "$VPID"
set +e; wait "$VPID"; rc=$?; set -e
[ "$rc" -eq 0 ] && ok "verifier v: stopped cleanly" || bad "verifier v: exit $rc on SIGTERM" "$WORK/v.err"
expect_http "the verifier down: 500, not the application" 500 -H "$(bearer "$TOKEN")" "$F/"
if grep -q '^app:' "$WORK/body"; then bad "... the application not reached" "$WORK/body"; else ok "... the application not reached"; fi

stop_extra nginx
summary
