#!/usr/bin/env bash
# Start-up checks of `verifier serve` and of the clients' --ca: each mistake
# is named (option, file) before anything listens, with exit 2 (a
# configuration error, README "Exit status"), not "cannot listen on
# 127.0.0.1:0" or "empty address list:" later, nor a port nobody asked for.
# usage: test_startup.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_startup.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: start-up checks (listen address, certificate/key, CA files)"
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
D=$WORK/certs
V=(${VALGRIND:-} "$BIN/verifier")
C=(${VGC:-} "$BIN/attest_client")
: >"$WORK/empty.pem"

# refused NAME MESSAGE-REGEX SERVE-ARGS...: serve exits 2 within seconds,
# says MESSAGE on stderr and never says it listens. A verifier that did
# start is stopped by the timeout (exit 124), which fails the check.
refused() {
    local name=$1 msg=$2 got
    shift 2
    set +e
    timeout --kill-after=5 20 "${V[@]}" serve "$@" >"$WORK/out" 2>"$WORK/err"
    got=$?
    set -e
    if [ "$got" -ne 2 ]; then bad "$name (exit $got, expected 2)" "$WORK/err"; return 0; fi
    if ! grep -qE -- "$msg" "$WORK/err"; then bad "$name (no /$msg/)" "$WORK/err"; return 0; fi
    if grep -q 'listening on' "$WORK/out"; then bad "$name (it listened)" "$WORK/out"; return 0; fi
    ok "$name"
}
TLS=(--cert "$D/server.pem" --key "$D/server.key")

# ---- the listen address ----
refused "--listen localhost: no port" \
    '^verifier: --listen localhost: no port \(e\.g\. localhost:50051\)$' --listen localhost "${TLS[@]}"
refused "--listen 127.0.0.1: no port" \
    '^verifier: --listen 127\.0\.0\.1: no port \(e\.g\. 127\.0\.0\.1:50051\)$' \
    --listen 127.0.0.1 "${TLS[@]}"
refused "--listen [::1]: no port" '^verifier: --listen \[::1\]: no port \(e\.g\. \[::1\]:50051\)$' \
    --listen '[::1]' "${TLS[@]}"
refused "--listen 127.0.0.1: (empty port)" 'no port' --listen 127.0.0.1: "${TLS[@]}"
refused "--listen ::1 (IPv6 without brackets)" 'in brackets' --listen ::1 "${TLS[@]}"
refused "--listen port out of range" '--listen 127\.0\.0\.1:65536: port 65536 is out of range' \
    --listen 127.0.0.1:65536 "${TLS[@]}"
refused "--listen port not a number" "--listen 127\.0\.0\.1:http: port 'http' is not a number" \
    --listen 127.0.0.1:http "${TLS[@]}"
# The same from a configuration file (the case the issue reported).
printf 'listen = localhost\ncert = %s\nkey = %s\n' "$D/server.pem" "$D/server.key" >"$WORK/v.conf"
refused "listen = localhost in --config: no port" '--listen localhost: no port' --config "$WORK/v.conf"

# ---- the server's certificate and key ----
L=(--listen 127.0.0.1:0)
refused "--cert and --key that do not match" \
    "^verifier: --cert $D/server\.pem and --key $D/other-ca\.key do not match$" \
    "${L[@]}" --cert "$D/server.pem" --key "$D/other-ca.key"
refused "--cert holding a key, not a certificate" \
    "^verifier: --cert $D/server\.key: holds no certificate \(a private key\?\)$" \
    "${L[@]}" --cert "$D/server.key" --key "$D/server.key"
refused "--key holding a certificate, not a key" "^verifier: --key $D/server\.pem: holds no private key" \
    "${L[@]}" --cert "$D/server.pem" --key "$D/server.pem"
refused "--key that does not exist" "^verifier: --key $WORK/none\.key: No such file" \
    "${L[@]}" --cert "$D/server.pem" --key "$WORK/none.key"
refused "--cert that is empty" "^verifier: --cert $WORK/empty\.pem: no PEM data" \
    "${L[@]}" --cert "$WORK/empty.pem" --key "$D/server.key"

# ---- the client CA (mTLS of relying parties) ----
refused "--client-ca holding a private key" \
    "^verifier: --client-ca $D/rp-ca\.key: holds no certificate \(a private key\?\)$" \
    "${L[@]}" "${TLS[@]}" --client-ca "$D/rp-ca.key" --relying-party policy-engine
refused "--client-ca that does not exist" "^verifier: --client-ca $WORK/none\.pem: " \
    "${L[@]}" "${TLS[@]}" --client-ca "$WORK/none.pem" --relying-party policy-engine
refused "--client-ca that is empty" "^verifier: --client-ca $WORK/empty\.pem: no PEM data" \
    "${L[@]}" "${TLS[@]}" --client-ca "$WORK/empty.pem" --relying-party policy-engine

# ---- the right settings still start ----
start_verifier good "${TLS[@]}" --client-ca "$D/rp-ca.pem" --relying-party policy-engine
TARGET=127.0.0.1:$PORT
ok "certificate, its key and a client CA: serving on $TARGET"
expect_exit "keys fetch with the right --ca (0)" 0 "${V[@]}" keys fetch --verifier "$TARGET" --ca "$D/ca.pem"

# ---- the clients' --ca ----
expect_exit "keys fetch --ca holding a key (2)" 2 "${V[@]}" keys fetch --verifier "$TARGET" \
    --ca "$D/ca.key"
expect_grep "keys fetch names the --ca file" "$WORK/err" \
    "--ca $D/ca\.key: holds no certificate \(a private key\?\)"
start_swtpm "$WORK/tpm"
expect_exit "attest_client --ca holding a key (2)" 2 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$D/ca.key" --tcti "$TCTI"
expect_grep "attest_client names the --ca file" "$WORK/err" \
    "--ca $D/ca\.key: holds no certificate \(a private key\?\)"
if grep -q 'empty address list' "$WORK/err"; then bad "attest_client: no 'empty address list'" "$WORK/err"
else ok "attest_client: no 'empty address list'"; fi

# ---- the trusted EK CAs (--ek-ca) ----
# Missing, empty, or holding no certificate: every enrollment would be
# refused, so the verifier refuses to start, naming the option and the path.
R=(--listen 127.0.0.1:0 --insecure --registry "$WORK/ekca.db")
mkdir -p "$WORK/ekca-empty" "$WORK/ekca-junk"
echo "not a certificate" >"$WORK/ekca-junk/README.pem"
cp "$D/ca.key" "$WORK/ekca-junk/"
refused "--ek-ca that does not exist" "^verifier: --ek-ca: CA $WORK/ekca-none: No such file" \
    "${R[@]}" --ek-ca "$WORK/ekca-none"
refused "--ek-ca directory that is empty" "^verifier: --ek-ca: CA directory $WORK/ekca-empty: empty\$" \
    "${R[@]}" --ek-ca "$WORK/ekca-empty"
refused "--ek-ca directory with no certificate in it" \
    "^verifier: --ek-ca: CA $WORK/ekca-junk: no certificate in it \(PEM or DER\)\$" \
    "${R[@]}" --ek-ca "$WORK/ekca-junk"

# An enrollment refused for its EK chain tells the client why, never where
# the server keeps its CAs (the path stays in the server's log).
mkdir -p "$WORK/srv-ekca-secret"
cp "$D/ca.pem" "$WORK/srv-ekca-secret/"
start_verifier ek --insecure --registry "$WORK/ekca.db" --ek-ca "$WORK/srv-ekca-secret"
expect_exit "enroll with an EK from an untrusted CA is refused (5)" 5 "${C[@]}" enroll \
    --verifier "127.0.0.1:$PORT" --insecure --tcti "$TCTI" --ak-file "$WORK/ak.bin" || true
expect_grep "... saying it does not chain" "$WORK/err" 'PERMISSION_DENIED.*does not chain to a trusted CA'
if grep -qE "srv-ekca-secret|$WORK/[a-z]" "$WORK/err"; then
    bad "... without the server's paths" "$WORK/err"
else ok "... without the server's paths"; fi

summary
