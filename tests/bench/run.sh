#!/usr/bin/env bash
# make bench: prints the performance figures of issue #2 (not asserted).
#   1. quote verifications/s on one core, in process, beside the ECDSA P-256
#      verify rate of `openssl speed` in the same run (goal: ratio >= 0.7)
#   2. attestations/s over gRPC + TLS on loopback, many concurrent clients
#   3. the client: wall time from start to verdict against swtpm, peak RSS
# usage: tests/bench/run.sh BUILD_DIR
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
case $BUILD in /*) BIN=$BUILD ;; *) BIN=$ROOT/$BUILD ;; esac
export TPA_SIMULATOR=$ROOT/simulator/tpa-swtpm
. "$ROOT/scripts/common.sh"
W=$(mktemp -d /tmp/tpa-bench-XXXXXX)
VPID=
cleanup() {
    [ -n "$VPID" ] && kill -TERM "$VPID" 2>/dev/null && wait "$VPID" 2>/dev/null || true
    "$ROOT/simulator/tpa-swtpm" stop "$W/tpm" || true
    rm -rf "$W"
}
trap cleanup EXIT

echo "== machine: $(nproc) cores, $(uname -m), $(openssl version)"
echo
echo "== 1. quote verification, in process, one thread"
"$BIN/tests/bench/bench_quote" 3 | tee "$W/quote.txt"
# openssl speed prints "... sign verify sign/s verify/s" for 256 bits nistp256.
openssl speed -seconds 3 ecdsap256 2>/dev/null >"$W/speed.txt"
ossl=$(awk '/256 bits ecdsa \(nistp256\)/ { print $NF }' "$W/speed.txt")
ours=$(awk '/^quote_verify_ecdsa_p256/ { print $2 }' "$W/quote.txt")
echo "openssl_speed_ecdsa_p256_verify ${ossl} verifies/s (openssl speed -seconds 3 ecdsap256)"
awk -v a="$ours" -v b="$ossl" 'BEGIN { if (b > 0) printf "ratio quote_verify/openssl_verify %.2f (goal >= 0.70)\n", a / b }'

echo
echo "== 2. end to end over gRPC + TLS on loopback (pre-made evidence)"
"$ROOT/scripts/demo-certs.sh" "$W/certs"
TCTI=$("$ROOT/simulator/tpa-swtpm" start "$W/tpm")
"$BIN/verifier" serve --listen 127.0.0.1:0 --cert "$W/certs/server.pem" \
    --key "$W/certs/server.key" --workers 2 >"$W/v.out" 2>/dev/null &
VPID=$!
wait_listening "$W/v.out" "$VPID" || { echo "verifier did not start"; exit 1; }
"$BIN/tests/bench/bench_rpc" "127.0.0.1:$PORT" "$W/certs/ca.pem" "$TCTI" 3000 16

echo
echo "== 3. attest_client against swtpm: wall time and peak memory (10 runs)"
/usr/bin/python3 - "$BIN/attest_client" "127.0.0.1:$PORT" "$W/certs/ca.pem" "$TCTI" <<'PY'
import resource, subprocess, sys, time
client, target, ca, tcti = sys.argv[1:5]
walls = []
for _ in range(10):
    t0 = time.monotonic()
    r = subprocess.run([client, "attest", "--verifier", target, "--ca", ca, "--tcti", tcti],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    walls.append(time.monotonic() - t0)
    if r.returncode != 0:
        sys.exit("attest_client failed: %s" % r.stderr.decode())
walls.sort()
rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print("client_wall_time median %.1f ms, min %.1f ms, max %.1f ms (start to verdict, ECC AK created each run)"
      % (walls[5] * 1000, walls[0] * 1000, walls[-1] * 1000))
print("client_peak_rss %.1f MiB" % (rss_kib / 1024.0))
PY
