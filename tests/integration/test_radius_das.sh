#!/usr/bin/env bash
# RADIUS Dynamic Authorization (RFC 5176, issue 16 item 2) against a real
# NAS: hostapd 2.10 (driver=wired, its Dynamic Authorization Server on
# 127.0.0.1:3799) on a veth in a network namespace this test creates and
# removes. `verifier radius disconnect|coa` sends, hostapd checks our
# Request Authenticator, Message-Authenticator and Event-Timestamp and
# answers a NAK for a session it does not hold; our check of its answer
# must accept it. A NAS of our own (python3, RFC 2865/5176 from the
# standard library's md5/hmac) answers what hostapd cannot here: an ACK,
# and answers that must be dropped. Needs root (network namespaces).
# usage: test_radius_das.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_radius_das.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: RADIUS Disconnect/CoA to hostapd's DAS in a network namespace"
NS=tpa-das-$$
SECRET='das-secret-5176'
printf '%s\n' "$SECRET" >"$WORK/secret"
printf 'not-the-secret\n' >"$WORK/wrong"
HOSTAPD_PID=
stop_das() {
    if [ -n "$HOSTAPD_PID" ]; then
        kill -TERM "$HOSTAPD_PID" 2>/dev/null || true
        wait "$HOSTAPD_PID" 2>/dev/null || true
        HOSTAPD_PID=
    fi
    ip netns del "$NS" 2>/dev/null || true
}
trap 'stop_das; stop_extras; cleanup' EXIT

ip netns add "$NS"
N=(ip netns exec "$NS")
"${N[@]}" ip link set lo up
"${N[@]}" ip link add sw0 type veth peer name dev0
"${N[@]}" ip link set sw0 up
"${N[@]}" ip link set dev0 up
cat >"$WORK/hostapd.conf" <<EOF
interface=sw0
driver=wired
ieee8021x=1
use_pae_group_addr=1
eap_reauth_period=0
eapol_version=2
own_ip_addr=127.0.0.1
auth_server_addr=127.0.0.1
auth_server_port=1812
auth_server_shared_secret=unused-here
radius_das_port=3799
radius_das_client=127.0.0.1 $SECRET
radius_das_require_event_timestamp=1
ctrl_interface=$WORK/hostapd-ctrl
EOF
"${N[@]}" hostapd "$WORK/hostapd.conf" >"$WORK/hostapd.log" 2>&1 &
HOSTAPD_PID=$!
for _ in $(seq 100); do [ -S "$WORK/hostapd-ctrl/sw0" ] && break; sleep 0.05; done
[ -S "$WORK/hostapd-ctrl/sw0" ] && ok "hostapd (wired) serves sw0 in namespace $NS" ||
    bad "hostapd did not start" "$WORK/hostapd.log"
R=("${N[@]}" "$BIN/verifier" radius)

expect_exit "disconnect of a session hostapd does not hold: a NAK (1)" 1 \
    "${R[@]}" disconnect --nas 127.0.0.1:3799 --secret-file "$WORK/secret" --user-name nobody || true
expect_grep "... Error-Cause 503, Session-Context-Not-Found, its authenticators checked" "$WORK/out" \
    '^Disconnect-NAK: Error-Cause 503 \(Session-Context-Not-Found\)$'
expect_grep "... hostapd took our request: it looked for the session" "$WORK/hostapd.log" \
    'DAS: Session not found for request from 127\.0\.0\.1'
expect_exit "a CoA-Request: hostapd answers it too, a NAK (1)" 1 \
    "${R[@]}" coa --nas 127.0.0.1 --secret-file "$WORK/secret" --session-id s-1 || true
expect_grep "... CoA-NAK with its Error-Cause" "$WORK/out" '^CoA-NAK: Error-Cause [0-9]+ \([A-Za-z-]+\)$'
expect_exit "another shared secret: hostapd drops it, no answer (4)" 4 \
    "${R[@]}" disconnect --nas 127.0.0.1 --secret-file "$WORK/wrong" --user-name nobody \
    --tries 2 --timeout 300 || true
expect_grep "... saying so" "$WORK/err" 'no answer from 127\.0\.0\.1 after 2 tries of 300 ms'
expect_exit "no Event-Timestamp where hostapd requires one: no answer (4)" 4 \
    "${R[@]}" disconnect --nas 127.0.0.1 --secret-file "$WORK/secret" --user-name nobody \
    --no-event-timestamp --tries 1 --timeout 300 || true

# ---- a NAS of our own: an ACK, and answers that must not count ----
# MODE: ack (a right ACK), late-ack (a wrong Response Authenticator, one
# without a Message-Authenticator, another identifier, then the right ACK),
# forged (only the wrong ones).
cat >"$WORK/nas.py" <<'PY'
import hashlib, hmac, socket, struct, sys
secret, mode, portfile = sys.argv[1].encode(), sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(portfile, "w").write(str(s.getsockname()[1]))
s.settimeout(20)
def attr(t, v): return bytes([t, len(v) + 2]) + v
def resp(req, code, rid=None, ma=True, bad_ra=False):
    body = attr(101, struct.pack(">I", 201)) + (attr(80, bytes(16)) if ma else b"")
    p = bytearray(bytes([code, req[1] if rid is None else rid]) +
                  struct.pack(">H", 20 + len(body)) + req[4:20] + body)
    if ma:
        off = len(p) - 16
        p[off:] = hmac.new(secret, bytes(p), hashlib.md5).digest()
    p[4:20] = hashlib.md5(bytes(p) + secret).digest()
    if bad_ra:
        p[4] ^= 1
    return bytes(p)
req, peer = s.recvfrom(4096)
ack = req[0] + 1
wrong = [resp(req, ack, bad_ra=True), resp(req, ack, ma=False), resp(req, ack, rid=(req[1] + 1) % 256)]
for w in wrong if mode != "ack" else []:
    s.sendto(w, peer)
if mode != "forged":
    s.sendto(resp(req, ack), peer)
PY
nas() { # MODE: the NAS in the background; sets NASPORT
    rm -f "$WORK/nas.port"
    /usr/bin/python3 "$WORK/nas.py" "$SECRET" "$1" "$WORK/nas.port" >"$WORK/nas.log" 2>&1 &
    NASPID=$!
    for _ in $(seq 100); do [ -s "$WORK/nas.port" ] && break; sleep 0.05; done
    NASPORT=$(cat "$WORK/nas.port")
}
V=("$BIN/verifier" radius)
nas ack
expect_exit "a NAS that acknowledges: Disconnect-ACK (0)" 0 \
    "${V[@]}" disconnect --nas "127.0.0.1:$NASPORT" --secret-file "$WORK/secret" --user-name alice || true
expect_grep "... said" "$WORK/out" '^Disconnect-ACK$'
wait "$NASPID" || true
nas late-ack
expect_exit "wrong answers first, then the ACK: the ACK counts (0)" 0 \
    "${V[@]}" disconnect --nas "127.0.0.1:$NASPORT" --secret-file "$WORK/secret" \
    --session-id s-2 || true
expect_grep "... the three that did not check dropped" "$WORK/err" '3 responses that did not check dropped'
wait "$NASPID" || true
nas forged
expect_exit "only answers that do not check: no answer (4)" 4 \
    "${V[@]}" disconnect --nas "127.0.0.1:$NASPORT" --secret-file "$WORK/secret" \
    --calling-station-id 02-00-00-00-00-01 --tries 1 --timeout 500 || true
expect_grep "... saying they were dropped" "$WORK/err" 'responses that did not check were dropped'
wait "$NASPID" || true

# ---- usage, and the secret never said ----
expect_exit "no --secret-file (2)" 2 "${V[@]}" disconnect --nas 127.0.0.1 --user-name a || true
: >"$WORK/empty"
expect_exit "an empty secret file (2)" 2 "${V[@]}" disconnect --nas 127.0.0.1 \
    --secret-file "$WORK/empty" --user-name a || true
expect_grep "... naming it" "$WORK/err" "secret-file $WORK/empty: the first line must be a secret"
expect_exit "no session named (2)" 2 "${V[@]}" disconnect --nas 127.0.0.1 --secret-file "$WORK/secret" || true
expect_exit "--tries 0 (2)" 2 "${V[@]}" disconnect --nas 127.0.0.1 --secret-file "$WORK/secret" \
    --user-name a --tries 0 || true
if grep -rqF "$SECRET" "$WORK/out" "$WORK/err" "$WORK/nas.log"; then
    bad "the shared secret was printed"
else ok "the shared secret is in no output"; fi

stop_das
ip netns list | grep -q "^$NS\b" && bad "namespace $NS left behind" || ok "namespace $NS removed"
summary
