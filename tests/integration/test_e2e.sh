#!/usr/bin/env bash
# End to end: the real attest_client and verifier binaries, swtpm, gRPC over
# TLS on loopback, and an independent gRPC peer (python3-grpcio).
# usage: test_e2e.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_e2e.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: end to end (swtpm, TLS, gRPC)"
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
start_swtpm "$WORK/tpm"
# swtpm boots nothing: a baseline that judges no boot property (the
# measured-boot and baseline tests judge boots).
start_verifier v1 --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --public-jwk-out "$WORK/jwk.json" --token-key "$WORK/token.jwk" \
    --baseline "$ROOT/tests/data/baselines/evidence-only.json"
TARGET=127.0.0.1:$PORT
# VALGRIND (make valgrind) runs both programs under valgrind.
C=(${VGC:-} "$BIN/attest_client")
V=(${VALGRIND:-} "$BIN/verifier")

# ---- the good path ----
if expect_exit "ECC P-256 AK: compliant" 0 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" \
    --token-out "$WORK/token" --device-hint it-ecc; then
    expect_grep "verdict printed" "$WORK/out" '^verdict: COMPLIANT$'
    expect_grep "every check printed" "$WORK/out" 'ok +quote.signature: ECDSA/sha256'
    expect_grep "token printed" "$WORK/out" '^token: ey[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$'
    [ "$(stat -c %a "$WORK/token")" = 600 ] && ok "token file is mode 0600" || bad "token file mode"
    expect_exit "token verifies with the published key (a warning, accepted as one)" 0 "${V[@]}" \
        token verify --accept-warning --jwk "$WORK/jwk.json" "$(cat "$WORK/token")"
    expect_grep "token claims: compliant outcome" "$WORK/out" '"tpa.outcome":"compliant"'
    expect_grep "token claims: no better than a warning without a registry (AK unbound)" "$WORK/out" \
        '"ear.status":"warning".*"tpa.reasons":\["no device registry: the AK is not bound'
    expect_exit "... without --accept-warning a warning is not accepted (1)" 1 "${V[@]}" token verify \
        --jwk "$WORK/jwk.json" "$(cat "$WORK/token")" || true
    expect_grep "... naming the status and why" "$WORK/err" \
        '^verifier: token not accepted: token status is warning: no device registry'
    expect_exit "... nor padded (1)" 1 "${V[@]}" token verify --accept-warning \
        --jwk "$WORK/jwk.json" "$(cat "$WORK/token")==" || true
    expect_grep "... by name" "$WORK/err" 'the signature segment has byte 0x3d'
    tampered=$(sed 's/\.\(.\)/.X\1/' "$WORK/token")
    expect_exit "tampered token is refused" 1 "${V[@]}" token verify --jwk "$WORK/jwk.json" "$tampered"
fi
expect_exit "RSA-2048 RSASSA AK: compliant" 0 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" \
    --tcti "$TCTI" --ak-type rsa --pcrs sha256:0,2,4,7
expect_grep "RSASSA signature checked" "$WORK/out" 'ok +quote.signature: RSASSA/sha256'
expect_exit "RSA-2048 RSAPSS AK: compliant" 0 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" \
    --tcti "$TCTI" --ak-type rsapss --pcrs sha256:7
expect_grep "RSAPSS signature checked" "$WORK/out" 'ok +quote.signature: RSAPSS/sha256'

# ---- the AK is kept ----
expect_exit "AK created and saved" 0 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" \
    --ak-file "$WORK/ak.bin"
name1=$(sed -n 's/^ak_name: //p' "$WORK/out")
expect_exit "AK reloaded" 0 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" \
    --ak-file "$WORK/ak.bin"
name2=$(sed -n 's/^ak_name: //p' "$WORK/out")
[ -n "$name1" ] && [ "$name1" = "$name2" ] && ok "reloaded AK has the same name" || bad "AK name changed: $name1 $name2"
[ "$(stat -c %a "$WORK/ak.bin")" = 600 ] && ok "AK file is mode 0600" || bad "AK file mode"
printf 'garbage' >"$WORK/bad-ak.bin"
expect_exit "corrupt AK file is a configuration error" 2 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" \
    --tcti "$TCTI" --ak-file "$WORK/bad-ak.bin"
expect_grep "corrupt AK file named" "$WORK/err" 'bad-ak.bin'

# ---- PCRs the simulator extends are what gets quoted ----
before=$("${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --pcrs sha256:7 | sed -n 's/^token: //p')
"$SIM" extend "$WORK/tpm" "7:sha256=$(printf '%064x' 42)" "9:sha256=$(printf '%064x' 7)"
expect_exit "after extending PCR 7 and 9: still compliant" 0 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI" --pcrs sha256:0-9
[ -n "$before" ] && ok "extend through the simulator" || bad "extend"

# ---- failures the client must report clearly ----
expect_exit "wrong CA: unreachable (4)" 4 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$WORK/certs/other-ca.pem" --tcti "$TCTI"
expect_grep "wrong CA: TLS failure named" "$WORK/err" 'certificate verify failed|handshake'
expect_exit "wrong server name: unreachable (4)" 4 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" \
    --server-name wrong.example --tcti "$TCTI"
expect_exit "plaintext client to a TLS verifier (4)" 4 "${C[@]}" attest --verifier "$TARGET" \
    --insecure --tcti "$TCTI"
# A port nobody listens on: bind, close, use.
free_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
expect_exit "unreachable verifier (4)" 4 "${C[@]}" attest --verifier "127.0.0.1:$free_port" --ca "$CA" \
    --tcti "$TCTI" --timeout 3000
expect_grep "unreachable verifier named" "$WORK/err" "127.0.0.1:$free_port"
expect_exit "nonexistent TCTI (3)" 3 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" \
    --tcti "swtpm:path=$WORK/no-such.sock"
expect_grep "nonexistent TCTI named" "$WORK/err" "no-such.sock"
expect_exit "unknown TCTI module (3)" 3 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "nosuchtcti"
expect_exit "missing --verifier (2)" 2 "${C[@]}" attest --ca "$CA" --tcti "$TCTI"
expect_exit "--ca with --insecure (2)" 2 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" --insecure
expect_exit "neither --ca nor --insecure (2)" 2 "${C[@]}" attest --verifier "$TARGET" --tcti "$TCTI"
expect_exit "bad --pcrs (2)" 2 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" --pcrs sha256:24
expect_exit "bad --ak-type (2)" 2 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" --ak-type dsa
expect_exit "missing CA file (2)" 2 "${C[@]}" attest --verifier "$TARGET" --ca "$WORK/none.pem" --tcti "$TCTI"
expect_exit "unknown command (2)" 2 "${C[@]}" frobnicate

# ---- an independent gRPC client ----
mkdir -p "$WORK/py"
protoc -I "$ROOT/proto" --python_out="$WORK/py" "$ROOT/proto/attest/v1/attest.proto"
set +e
/usr/bin/python3 "$ROOT/tests/integration/grpc_peer.py" "$TARGET" "$CA" "$WORK/py" >"$WORK/py.out" 2>&1
py_rc=$?
set -e
while read -r status rest; do
    case $status in ok) ok "python3-grpcio: $rest" ;; FAIL) bad "python3-grpcio: $rest" ;; esac
done <"$WORK/py.out"
[ $py_rc -eq 0 ] || bad "python3-grpcio peer exited $py_rc" "$WORK/py.out"
expect_exit "verifier still serves the client after the peer's abuse" 0 "${C[@]}" attest \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI"

# ---- the verifier's own configuration errors and shutdown ----
expect_exit "verifier without --cert (2)" 2 "${V[@]}" serve --listen 127.0.0.1:0
expect_exit "verifier with an unreadable key (2)" 2 "${V[@]}" serve --listen 127.0.0.1:0 \
    --cert "$WORK/certs/server.pem" --key "$WORK/none.key"
expect_exit "verifier on a port in use: the service failed (9)" 9 "${V[@]}" serve --listen "127.0.0.1:$PORT" \
    --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key"
expect_exit "verifier with a bad --nonce-ttl (2)" 2 "${V[@]}" serve --listen 127.0.0.1:0 \
    --insecure --nonce-ttl 5
v1=$VPID
kill -TERM "$v1"
set +e; wait "$v1"; vrc=$?; set -e
[ $vrc -eq 0 ] && ok "SIGTERM: verifier exits 0" || bad "SIGTERM: verifier exited $vrc" "$WORK/v1.err"
expect_grep "SIGTERM: graceful shutdown logged" "$WORK/v1.err" 'level=notice msg=stopped$'
expect_grep "decisions logged one per line" "$WORK/v1.err" 'level=info msg="attest compliant" ak=[0-9a-f]{16} device_hint=it-ecc outcome=compliant baseline='

# ---- plaintext only when asked for, and the same key after a restart ----
start_verifier v2 --insecure --token-key "$WORK/token.jwk" --public-jwk-out "$WORK/jwk2.json" \
    --baseline "$ROOT/tests/data/baselines/evidence-only.json"
expect_exit "--insecure on both sides: compliant" 0 "${C[@]}" attest --verifier "127.0.0.1:$PORT" \
    --insecure --tcti "$TCTI"
cmp -s "$WORK/jwk.json" "$WORK/jwk2.json" && ok "token key kept across restarts" || bad "token key changed"
expect_exit "TLS client to a plaintext verifier (4)" 4 "${C[@]}" attest --verifier "127.0.0.1:$PORT" \
    --ca "$CA" --tcti "$TCTI"
kill -INT "$VPID"
set +e; wait "$VPID"; vrc=$?; set -e
[ $vrc -eq 0 ] && ok "SIGINT: verifier exits 0" || bad "SIGINT: verifier exited $vrc"

# ---- no baseline: the evidence holds, the device is still not compliant ----
start_verifier v3 --insecure
expect_exit "no baseline for the device: non-compliant (1)" 1 "${C[@]}" attest \
    --verifier "127.0.0.1:$PORT" --insecure --tcti "$TCTI"
expect_grep "... said so, not a silent pass" "$WORK/out" '^appraisal: no-baseline$'
expect_grep "... every evidence check passed" "$WORK/out" 'ok +quote.signature'

summary
