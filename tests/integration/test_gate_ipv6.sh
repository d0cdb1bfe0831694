#!/usr/bin/env bash
# The connection cap per peer over IPv6 counts a /64, not one address: a
# host holds a /64 (SLAAC, RFC 6177) and may connect from any of its 2^64
# addresses. A network namespace this test makes has two /64s on its
# loopback (documentation prefix 2001:db8::/32); the verifier listens there.
# Needs root (network namespaces).
# usage: test_gate_ipv6.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_gate_ipv6.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: per-peer connection cap over IPv6, by /64"
NS=tpa-v6-$$
trap 'ip netns del "$NS" 2>/dev/null || true; stop_extras; cleanup' EXIT
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
ip netns add "$NS"
N=(ip netns exec "$NS")
"${N[@]}" ip link set lo up
for a in 2001:db8:0:1::1 2001:db8:0:1::2 2001:db8:0:1::3 2001:db8:0:2::1; do
    "${N[@]}" ip -6 addr add "$a/64" dev lo nodad
done
rm -f "$WORK/v6.out"
"${N[@]}" "$BIN/verifier" serve --listen "[2001:db8:0:1::1]:0" --cert "$WORK/certs/server.pem" \
    --key "$WORK/certs/server.key" --max-connections-per-peer 3 --max-connections 100 \
    --handshake-timeout 30000 >"$WORK/v6.out" 2>"$WORK/v6.err" &
VPID=$!
VERIFIER_PIDS+=("$VPID")
VERIFIER_NAME[$VPID]=v6
wait_listening "$WORK/v6.out" "$VPID" 1500 || bad "the verifier did not listen" "$WORK/v6.err"
# held SRC N SECONDS: N connections from SRC (hardening.py hold), how many
# the verifier kept open after a moment (a reset one reads as closed).
held() {
    "${N[@]}" /usr/bin/python3 "$ROOT/tests/integration/hardening.py" hold "$PORT" "$2" "$1" "$3" \
        2001:db8:0:1::1 | sed -un 's/^kept //p'
}
held 2001:db8:0:1::2 2 4 >"$WORK/a" &
A=$!
for _ in $(seq 60); do [ -s "$WORK/a" ] && break; sleep 0.1; done
[ "$(head -1 "$WORK/a")" = 2 ] && ok "2 connections from 2001:db8:0:1::2: both kept" || bad "first address: $(cat "$WORK/a")"
n=$(held 2001:db8:0:1::3 3 0)
[ "$n" = 1 ] && ok "another address of the same /64: 1 more kept, 2 reset (the /64 holds 3)" ||
    bad "same /64, another address: $n kept, expected 1"
n=$(held 2001:db8:0:2::1 3 0)
[ "$n" = 3 ] && ok "an address of another /64: its own 3" || bad "another /64: $n kept, expected 3"
wait "$A" || true
summary
