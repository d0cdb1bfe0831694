#!/usr/bin/env bash
# make bench, section "HTTP /v1/authz" (issue 15, Performance): decisions per
# second per core of GET /v1/authz over TLS with keep-alive and the relying
# party's client certificate, p50 and p99, beside one ES256 verify's cost
# from `openssl speed` in the same run (goal: >= 0.5 of that bound; a
# figure, not a failure). The token is a real device's: swtpm, enroll and
# attest with attest_client against the verifier, so each decision verifies
# its ES256 signature and reads the registry; the same token every time, as
# a device presents it with each request until it attests again (its
# claims, read once, are a lookup after: bench_token prints the cost of a
# token new to the verifier beside it). The 401 path (no token) after, for
# contrast. Run by tests/bench/run.sh, or alone:
# usage: tests/bench/http.sh BUILD_DIR
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
case $BUILD in /*) BIN=$BUILD ;; *) BIN=$ROOT/$BUILD ;; esac
export TPA_SIMULATOR=$ROOT/simulator/tpa-swtpm
. "$ROOT/scripts/common.sh"
W=$(mktemp -d /tmp/tpa-bench-http-XXXXXX)
VPID=
cleanup() {
    [ -n "$VPID" ] && kill -TERM "$VPID" 2>/dev/null && wait "$VPID" 2>/dev/null || true
    "$ROOT/simulator/tpa-swtpm" stop "$W/tpm" || true
    rm -rf "$W"
}
trap cleanup EXIT
CONNS=${TPA_BENCH_HTTP_CONNS:-4}
SECS=${TPA_BENCH_HTTP_SECONDS:-5}

"$ROOT/scripts/demo-certs.sh" "$W/certs" >/dev/null
TCTI=$("$ROOT/simulator/tpa-swtpm" start "$W/tpm")
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/good.json" --log "$W/good.log" \
    --tcti "$TCTI" >/dev/null
mkdir -p "$W/ekca"
cp "$W/tpm/ca/swtpm-localca-rootca-cert.pem" "$W/tpm/ca/issuercert.pem" "$W/ekca/"
rm -f "$W/v.out"   # see wait_listening
"$BIN/verifier" serve --listen 127.0.0.1:0 --cert "$W/certs/server.pem" \
    --key "$W/certs/server.key" --registry "$W/reg.db" --ek-ca "$W/ekca" \
    --client-ca "$W/certs/rp-ca.pem" --relying-party policy-engine --token-key "$W/token.jwk" \
    --http-listen 127.0.0.1:0 >"$W/v.out" 2>"$W/v.err" &
VPID=$!
wait_listening "$W/v.out" "$VPID" || { echo "verifier did not start"; cat "$W/v.err"; exit 1; }
for _ in $(seq 500); do grep -q '^http listening' "$W/v.out" && break; sleep 0.02; done
HP=$(sed -n 's/^http listening on port \([0-9]*\) .*/\1/p' "$W/v.out")
[ -n "$HP" ] || { echo "the HTTP listener did not start"; cat "$W/v.err"; exit 1; }
A=("$BIN/attest_client" attest --verifier "127.0.0.1:$PORT" --ca "$W/certs/ca.pem" --tcti "$TCTI"
   --ak-file "$W/ak.bin" --eventlog "$W/good.log")
"$BIN/attest_client" enroll --verifier "127.0.0.1:$PORT" --ca "$W/certs/ca.pem" --tcti "$TCTI" \
    --ak-file "$W/ak.bin" >"$W/enroll.out" 2>&1 || { echo "enroll failed"; cat "$W/enroll.out"; exit 1; }
DEV=$(sed -n 's/^enrolled: device //p' "$W/enroll.out")
"${A[@]}" >/dev/null 2>&1 || true   # the first verdict, to learn the baseline from
"$BIN/verifier" baseline learn --registry "$W/reg.db" --device "$DEV" --name fleet \
    --out "$W/fleet.json" >/dev/null
"$BIN/verifier" baseline add --registry "$W/reg.db" "$W/fleet.json" >/dev/null
"$BIN/verifier" baseline assign --registry "$W/reg.db" --device "$DEV" fleet >/dev/null
"${A[@]}" --token-out "$W/token" >/dev/null 2>&1 || { echo "attest: not compliant"; exit 1; }

B=("$BIN/tests/bench/bench_http" "127.0.0.1:$HP" "$W/certs/ca.pem" "$W/certs/client.pem"
   "$W/certs/client.key")
# The verifier idle but for these: one round to warm up, then the figures.
"${B[@]}" "$W/token" "$CONNS" 1 200 >"$W/warm.txt" ||
    { echo "the warm-up round failed:"; cat "$W/warm.txt" "$W/v.err"; exit 1; }
TPA_BENCH_VERIFIER_PID=$VPID "${B[@]}" "$W/token" "$CONNS" "$SECS" 200 | tee "$W/tok.txt"
TPA_BENCH_VERIFIER_PID=$VPID "${B[@]}" - "$CONNS" "$SECS" 401 | tee "$W/notok.txt"
# openssl speed prints "... sign verify sign/s verify/s" for 256 bits nistp256.
openssl speed -seconds 2 ecdsap256 2>/dev/null >"$W/speed.txt"
ossl=$(awk '/256 bits ecdsa \(nistp256\)/ { print $NF }' "$W/speed.txt")
ours=$(awk '/^http_authz_token_per_cpu_second/ { print $2 }' "$W/tok.txt")
none=$(awk '/^http_authz_notoken_per_cpu_second/ { print $2 }' "$W/notok.txt")
echo "openssl_speed_ecdsa_p256_verify ${ossl} verifies/s on one core (openssl speed -seconds 2 ecdsap256)"
# The token check alone, in process: a device's token again (its claims
# read before: what the figures above measure, one token over and over)
# and tokens new to the verifier, beside one ES256 verify of the same key.
"$BIN/tests/bench/bench_token" 2
awk -v a="$ours" -v b="$ossl" -v n="$none" 'BEGIN {
    if (a > 0 && b > 0) {
        r = a / b
        printf "http_authz: %.0f decisions per CPU-second beside %.0f ES256 verifies/s: ratio %.2f " \
            "(goal >= 0.50: %s); the 401 path without a token: %.0f per CPU-second\n",
            a, b, r, (r >= 0.5 ? "PASS" : "below goal"), n
    } else
        print "http_authz: no ratio (no CPU figure or no openssl speed figure)"
}'
