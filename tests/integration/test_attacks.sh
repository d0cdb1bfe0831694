#!/usr/bin/env bash
# The attack suite (issue 11): forged evidence built from real TPM commands
# (tpm2-tools on four swtpm TPMs: A and B trusted, C from a CA the verifier
# does not trust, D with sha1 and sha256 banks), sent over gRPC+TLS by
# python3-grpcio to a verifier with a registry and one without; every
# attack refused by name, its token denied by docs/examples/policy_engine.py.
# usage: test_attacks.sh BUILD_DIR
#   ATTACK_FLOOD_CHALLENGES (default 200000), ATTACK_FLOOD_ENROLLS (20000)
set -euo pipefail
BUILD=${1:?usage: test_attacks.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: attacks (tpm2-tools, swtpm, python3-grpcio, TLS)"
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
for t in a b c; do start_swtpm "$WORK/tpm-$t"; done
TPA_SWTPM_BANKS=sha1,sha256 start_swtpm "$WORK/tpm-d"
mkdir -p "$WORK/ekca"
for t in a b d; do
    for f in "$WORK/tpm-$t/ca/"*.pem; do cp "$f" "$WORK/ekca/$t-$(basename "$f")"; done
done

# The golden baseline: learned from the good boot's log, as an operator would.
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/good.json" --log "$WORK/good.log" >/dev/null
"$BIN/verifier" baseline learn --eventlog "$WORK/good.log" --name fleet --out "$WORK/fleet.json" \
    >"$WORK/learn.out" 2>&1 || bad "baseline learn" "$WORK/learn.out"
expect_grep "the golden baseline requires PCRs 0-9" "$WORK/learn.out" 'required-pcrs +critical sha256 PCRs 0-9$'

start_verifier v --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$WORK/registry.db" --ek-ca "$WORK/ekca" --baseline "$WORK/fleet.json"
TARGET=127.0.0.1:$PORT
V_PID=$VPID
start_verifier open --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --baseline "$WORK/fleet.json"
TARGET_OPEN=127.0.0.1:$PORT

mkdir -p "$WORK/py"
protoc -I "$ROOT/proto" --python_out="$WORK/py" "$ROOT/proto/attest/v1/attest.proto"
cat >"$WORK/attacks.json" <<JSON
{"root": "$ROOT", "work": "$WORK", "gen_dir": "$WORK/py", "ca": "$CA",
 "target": "$TARGET", "target_open": "$TARGET_OPEN", "verifier_pid": $V_PID,
 "registry": "$WORK/registry.db", "verifier": "$BIN/verifier", "swtpm": "$SIM",
 "bootsim": "$BIN/tpa-bootsim", "scenarios": "$ROOT/simulator/scenarios",
 "flood_challenges": ${ATTACK_FLOOD_CHALLENGES:-200000},
 "flood_enrolls": ${ATTACK_FLOOD_ENROLLS:-20000}}
JSON
set +e
timeout --kill-after=10 600 /usr/bin/python3 "$ROOT/tests/integration/attacks.py" \
    "$WORK/attacks.json" >"$WORK/attacks.out" 2>&1
rc=$?
set -e
while IFS= read -r line; do
    case $line in
        "ok "*) ok "${line#ok }" ;;
        "FAIL "*) bad "${line#FAIL }" ;;
        *) echo "  $line" ;;
    esac
done <"$WORK/attacks.out"
[ "$rc" -eq 0 ] || [ "$FAILED" -gt 0 ] || bad "attacks.py exited $rc" "$WORK/attacks.out"

# The verifier kept serving, and said why it refused, quietly.
kill -0 "$V_PID" 2>/dev/null && ok "the verifier survived it all" || bad "the verifier survived it all"
lines=$(wc -l <"$WORK/v.err")
[ "$lines" -lt 400 ] && ok "its log stayed short ($lines lines: refusals are rate-limited)" ||
    bad "its log stayed short ($lines lines)" "$WORK/v.err"
summary
