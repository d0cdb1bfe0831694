#!/usr/bin/env bash
# tpa-fleet (issue 17, item 5): three swtpm devices, each booted and
# enrolled, attesting to a real verifier with a registry over TLS on
# loopback. What it counts is checked against the registry and the
# verifier's own metrics; a connection of its own per attestation is shown
# by the verifier's per-address connection cap; refusals are named.
# usage: test_loadgen.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_loadgen.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: tpa-fleet, the load generator (3 swtpm devices, registry, TLS)"
"$ROOT/scripts/demo-certs.sh" "$WORK/certs" >/dev/null
CA=$WORK/certs/ca.pem
F=("$BIN/tpa-fleet")
PY=/usr/bin/python3
fleet_devices 3
DB=$WORK/registry.db
VARGS=(--cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" --registry "$DB"
       --ek-ca "$WORK/ekca" --token-key "$WORK/token.jwk" --baseline "$WORK/fleet.json"
       --http-listen-plain 127.0.0.1:0)
start_verifier v "${VARGS[@]}"
P=$PORT
for _ in $(seq 500); do grep -q '^http health listening' "$WORK/v.out" && break; sleep 0.02; done
MP=$(sed -n 's/^http health listening on port \([0-9]*\) .*/\1/p' "$WORK/v.out")
for d in 1 2 3; do
    IFS=, read -r tcti _ _ <<<"${DEVS[$((d - 1))]}"
    "$BIN/attest_client" enroll --verifier "127.0.0.1:$P" --ca "$CA" --tcti "$tcti" \
        --ak-file "$WORK/ak$d.bin" >"$WORK/enroll$d.out" 2>&1 || bad "enroll device $d" "$WORK/enroll$d.out"
done
[ "$("$BIN/verifier" devices list --registry "$DB" 2>/dev/null | grep -c '^[0-9a-f]\{64\}  *active' || true)" = 3 ] &&
    ok "three devices enrolled" || bad "three devices enrolled"
FA=(--verifier "127.0.0.1:$P" --ca "$CA")
for d in "${DEVS[@]}"; do FA+=(--device "$d"); done
attests() { # the verifier's Attest calls answered OK, from its /metrics
    curl -s "http://127.0.0.1:$MP/metrics" |
        sed -n 's/^tpa_rpc_requests_total{method="Attest",code="OK"} \([0-9]*\)$/\1/p'
}

# ---- fresh connections ----
a0=$(attests)
expect_exit "60 attestations of 3 devices, 4 at once, a connection each: exit 0" 0 \
    "${F[@]}" "${FA[@]}" --count 60 --concurrency 4 --verifier-pid "$VPID" --registry "$DB"
cp "$WORK/out" "$WORK/fresh.out"
sed "s/^/       /" "$WORK/fresh.out"
expect_grep "... 60 verdicts, all compliant, no error" "$WORK/fresh.out" \
    '^  attestations/s +[0-9.]+ \(60 verdicts in [0-9.]+ s: 60 compliant, 0 not; 0 errors\)$'
expect_grep "... latency percentiles" "$WORK/fresh.out" '^  latency +p50 [0-9.]+ ms, p95 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms'
expect_grep "... the verifier's CPU per attestation" "$WORK/fresh.out" '^  verifier CPU +[0-9.]+ ms per attestation'
expect_grep "... the registry's growth per attestation" "$WORK/fresh.out" '^  registry +[0-9]+ bytes per attestation'
expect_grep "... the verifier's writes to storage per attestation" "$WORK/fresh.out" '^  verifier writes [0-9]+ bytes per attestation'
a1=$(attests)
[ $((a1 - a0)) = 60 ] && ok "... the verifier answered exactly 60 Attest calls (its metrics)" ||
    bad "Attest calls counted by the verifier: $((a1 - a0))"
n=$("$PY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute("SELECT count(*) FROM audit WHERE event = ?", ("attest",)).fetchone()[0])' "$DB" 2>/dev/null || echo 0)
[ "$n" -ge 60 ] && ok "... every verdict in the registry's audit log ($n attest rows)" ||
    bad "audit rows: $n"

# ---- batches that do not divide among the devices ----
expect_exit "31 in batches of 7 over 3 devices: exit 0" 0 "${F[@]}" "${FA[@]}" --count 31 --batch 7 --concurrency 3
expect_grep "... every attestation had its evidence: 31 verdicts, no error" "$WORK/out" \
    '\(31 verdicts in [0-9.]+ s: 31 compliant, 0 not; 0 errors\)'

# ---- warm: one channel ----
expect_exit "30 over one channel (--warm): exit 0" 0 "${F[@]}" "${FA[@]}" --count 30 --concurrency 4 --warm
expect_grep "... 30 verdicts, all compliant" "$WORK/out" '\(30 verdicts in [0-9.]+ s: 30 compliant, 0 not; 0 errors\)'
expect_grep "... says it kept one channel" "$WORK/out" 'over one channel kept open'

# ---- the floors: Attests the verifier must refuse ----
code() { # METHOD CODE: the verifier's calls answered with CODE, from its /metrics
    curl -s "http://127.0.0.1:$MP/metrics" |
        sed -n "s/^tpa_rpc_requests_total{method=\"$1\",code=\"$2\"} \([0-9]*\)$/\1/p"
}
audit_rows() {
    "$PY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(c.execute("SELECT count(*) FROM audit").fetchone()[0])' "$DB" 2>/dev/null || echo -1
}
i0=$(code Attest INVALID_ARGUMENT); i0=${i0:-0}; r0=$(audit_rows)
expect_exit "--refused undecodable: 12 Attests of the evidence's size that are no protobuf: exit 0" 0 \
    "${F[@]}" "${FA[@]}" --count 12 --concurrency 3 --warm --refused undecodable
expect_grep "... says what it sent" "$WORK/out" '\(GetChallenge, an undecodable Attest\)'
expect_grep "... each refused as the mode asks, none compliant" "$WORK/out" '\(12 verdicts in [0-9.]+ s: 0 compliant, 12 not; 0 errors\)'
i1=$(code Attest INVALID_ARGUMENT)
[ $((i1 - i0)) = 12 ] && ok "... the verifier refused exactly 12 Attests INVALID_ARGUMENT (its metrics)" ||
    bad "Attests refused INVALID_ARGUMENT: $((i1 - i0))"
expect_exit "--refused bad-seal: 12 Attests whose challenge's seal is broken: exit 0" 0 \
    "${F[@]}" "${FA[@]}" --count 12 --concurrency 3 --warm --refused bad-seal
expect_grep "... says what it sent" "$WORK/out" '\(GetChallenge, Attest with a broken seal\)'
expect_grep "... each answered with a verdict, none compliant" "$WORK/out" '\(12 verdicts in [0-9.]+ s: 0 compliant, 12 not; 0 errors\)'
[ "$(audit_rows)" = "$r0" ] && ok "... and nothing written to the registry by either ($r0 audit rows)" ||
    bad "audit rows after the refused Attests: $(audit_rows), before: $r0"
expect_exit "--refused with --challenge-only: usage (2)" 2 "${F[@]}" "${FA[@]}" --challenge-only \
    --refused bad-seal
expect_exit "--refused of no kind: usage (2)" 2 "${F[@]}" "${FA[@]}" --refused sometimes

# ---- a connection of its own: the per-address cap shows it ----
stop_verifiers
start_verifier capped "${VARGS[@]}" --max-connections-per-peer 1 --handshake-timeout 60000
FA[1]="127.0.0.1:$PORT"
expect_exit "--warm with a cap of 1 connection per address: still exit 0 (one connection)" 0 \
    "${F[@]}" "${FA[@]}" --count 20 --concurrency 8 --warm --timeout 5000
set +e
"${F[@]}" "${FA[@]}" --count 40 --concurrency 8 --timeout 5000 >"$WORK/capped.out" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] && grep -q '^  errors .* UNAVAILABLE' "$WORK/capped.out" &&
    ok "... without --warm, 8 at once each open their own: refused past the cap, counted as UNAVAILABLE (exit 1)" ||
    bad "fresh connections over the cap: exit $rc" "$WORK/capped.out"

# ---- refusals ----
expect_exit "no --device: usage (2)" 2 "${F[@]}" --verifier "127.0.0.1:$PORT" --ca "$CA"
expect_exit "a --device without its log: usage (2)" 2 "${F[@]}" --verifier "127.0.0.1:$PORT" --ca "$CA" \
    --device "${DEVS[0]%,*}"
expect_exit "an AK file that does not exist: 1" 1 "${F[@]}" --verifier "127.0.0.1:$PORT" --ca "$CA" \
    --device "${DEVS[0]%%,*},$WORK/no-such-ak.bin,$WORK/good1.log"
expect_grep "... naming it, and to enroll first" "$WORK/err" 'no-such-ak.bin: no AK file \(enroll the device first\)'
expect_exit "--concurrency 0: usage (2)" 2 "${F[@]}" "${FA[@]}" --concurrency 0
expect_exit "--help: 0" 0 "${F[@]}" --help
summary
