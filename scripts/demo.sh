#!/usr/bin/env bash
# The main job end to end on one machine: a simulated TPM (swtpm with an EK
# certificate from a local CA), the verifier on loopback with TLS, and the
# client attesting; prints the verdict and the token, then stops everything.
# usage: scripts/demo.sh BUILD_DIR
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) BIN=$BUILD ;; *) BIN=$ROOT/$BUILD ;; esac
export TPA_PCR_EXTEND=$BIN/tpa-pcr-extend
. "$ROOT/scripts/common.sh"
W=$(mktemp -d /tmp/tpa-demo-XXXXXX)
VPID=

cleanup() {
    [ -n "$VPID" ] && kill -TERM "$VPID" 2>/dev/null && wait "$VPID" 2>/dev/null || true
    "$ROOT/simulator/tpa-swtpm" stop "$W/tpm" || true
    rm -rf "$W"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "demo TLS certificates (a throw-away CA) in $W/certs"
"$ROOT/scripts/demo-certs.sh" "$W/certs"

step "swtpm: provisioned with an EK and an EK certificate, on a unix socket"
TCTI=$("$ROOT/simulator/tpa-swtpm" start "$W/tpm")
echo "TCTI: $TCTI"
echo "EK certificate signed by: $(openssl x509 -noout -subject -in "$W/tpm/ca/issuercert.pem" 2>/dev/null | sed "s/^subject=//")"

step "a simulated measured boot (tpa-bootsim, simulator/scenarios/good.json): event log + the same extends"
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/good.json" --log "$W/boot.log" --tcti "$TCTI"
"$BIN/verifier" eventlog show "$W/boot.log" | sed -n '/^secure boot:/,$p'

step "verifier: gRPC with TLS on 127.0.0.1, a device registry, the simulated TPM vendor's CA trusted"
mkdir -p "$W/ekca"
cp "$W/tpm/ca/swtpm-localca-rootca-cert.pem" "$W/tpm/ca/issuercert.pem" "$W/ekca/"
"$BIN/verifier" serve --listen 127.0.0.1:0 --cert "$W/certs/server.pem" \
    --key "$W/certs/server.key" --public-jwk-out "$W/jwk.json" \
    --registry "$W/registry.db" --ek-ca "$W/ekca" \
    >"$W/verifier.out" 2>"$W/verifier.log" &
VPID=$!
wait_listening "$W/verifier.out" "$VPID" || { cat "$W/verifier.log"; echo "verifier did not start"; exit 1; }
cat "$W/verifier.out"

step "attest_client enroll: EK certificate checked, credential activated, AK registered"
"$BIN/attest_client" enroll --verifier "127.0.0.1:$PORT" --ca "$W/certs/ca.pem" \
    --tcti "$TCTI" --ak-file "$W/ak.bin"

A=("$BIN/attest_client" attest --verifier "127.0.0.1:$PORT" --ca "$W/certs/ca.pem"
   --tcti "$TCTI" --ak-file "$W/ak.bin" --eventlog "$W/boot.log" --device-hint demo)
DEV=$("$BIN/verifier" devices list --json --registry "$W/registry.db" |
      /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')

step "attest before any baseline: the evidence holds, but nothing says this boot is the right one"
"${A[@]}" || echo "(exit $?: not compliant: no baseline applies to the device)"

step "learn a golden baseline from that known-good boot, store it, assign it to the device's group"
"$BIN/verifier" baseline learn --registry "$W/registry.db" --device "$DEV" --name demo-fleet \
    --out "$W/baseline.json"
"$BIN/verifier" baseline add --registry "$W/registry.db" "$W/baseline.json"
"$BIN/verifier" devices label --registry "$W/registry.db" "$DEV" laptops
"$BIN/verifier" baseline assign --registry "$W/registry.db" --label laptops demo-fleet

step "attest_client attest --verifier 127.0.0.1:$PORT --ca certs/ca.pem --tcti '$TCTI' --ak-file ak.bin --eventlog boot.log"
"${A[@]}" --token-out "$W/token"

step "the token, checked with the verifier's published key"
"$BIN/verifier" token verify --jwk "$W/jwk.json" "$(cat "$W/token")"

step "verifier log"
kill -TERM "$VPID"
wait "$VPID" || true
VPID=
cat "$W/verifier.log"
echo
echo "demo: done"
