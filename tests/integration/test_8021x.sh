#!/usr/bin/env bash
# 802.1X gated on compliance, end to end (issue 16): a wired port (hostapd
# 2.10, driver=wired, its DAS on 127.0.0.1:3799, accounting on), FreeRADIUS
# 3.2 running packaging/examples/freeradius (installed into a private copy
# of /etc/freeradius/3.0, filled in by set_item so the example cannot drift
# from what is tested), the real verifier with its HTTP face over mTLS, all
# in network namespace "sw"; wpa_supplicant (wired, EAP-TLS with the
# device's certificate from an enterprise CA) in namespace "dev"; a swtpm
# device attested by the real client. Checks: a compliant device's port
# opens in the compliant VLAN and its accounting Start reaches the
# verifier; a revoke, a failed attestation and a device gone stale each
# close the port by a Disconnect-Request (timed); an unknown certificate and
# the verifier down are refused (reject), or put in the quarantine VLAN
# (quarantine). Needs root (network namespaces). Timed: not in the valgrind
# list.
# usage: test_8021x.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_8021x.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dot1x.sh"
trap 'dot1x_cleanup; stop_extras; cleanup' EXIT

echo "integration: 802.1X (hostapd, wpa_supplicant, FreeRADIUS rlm_rest, the verifier, swtpm)"
for c in freeradius hostapd hostapd_cli wpa_supplicant wpa_cli radclient sqlite3; do
    command -v "$c" >/dev/null || { bad "$c is installed (scripts/deps.sh)"; summary; exit 1; }
done
[ -f /usr/lib/freeradius/rlm_rest.so ] || { bad "freeradius-rest is installed"; summary; exit 1; }
[ "$(id -u)" -eq 0 ] || { bad "root (network namespaces)"; summary; exit 1; }

"$ROOT/scripts/demo-certs.sh" "$WORK/certs" >/dev/null
CA=$WORK/certs/ca.pem
EC=$WORK/ent
dot1x_certs "$EC" "$WORK/certs"
dot1x_netns
ok "namespaces $NS_SW and $NS_DEV, a veth between them"

# ---- the verifier in sw: gRPC, its HTTP face on 8443, the DAS of hostapd ----
start_swtpm "$WORK/tpm"
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/good.json" --log "$WORK/good.log" \
    --tcti "$TCTI" >/dev/null
# An event log of another boot: it does not replay to this TPM's PCRs.
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/tampered-bootloader.json" \
    --log "$WORK/bad.log" >/dev/null
mkdir -p "$WORK/ekca"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
DB=$WORK/registry.db
printf '%s\n' "$DAS_SECRET" >"$WORK/das-secret"
CONF=$WORK/verifier.conf
: >"$CONF"
HTTP=127.0.0.1:8443
VARGS=(--config "$CONF" --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key"
       --registry "$DB" --ek-ca "$WORK/ekca" --token-key "$WORK/token.jwk"
       --http-listen "$HTTP" --client-ca "$WORK/certs/rp-ca.pem" --relying-party freeradius
       --radius-accounting-from freeradius --radius-das "127.0.0.1:3799,$WORK/das-secret")
# start_verifier runs ${VALGRIND} verifier: here, in sw.
VALGRIND="${SW[*]}" start_verifier v "${VARGS[@]}"
VP=$VPID
TARGET=127.0.0.1:$PORT
for _ in $(seq 250); do grep -q '^http listening' "$WORK/v.out" && break; sleep 0.02; done
expect_grep "the verifier's HTTP face listens on $HTTP in $NS_SW" "$WORK/v.out" '^http listening on port 8443 '
expect_grep "... enforcing: one NAS's DAS" "$WORK/v.err" '^verifier: enforcement: 1 NAS, 0 CAEP receivers'
C=("${SW[@]}" "$BIN/attest_client")
A=("${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin")
"${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" \
    >"$WORK/enroll.out" 2>&1 || bad "enroll" "$WORK/enroll.out"
DEV=$(sed -n 's/^enrolled: device //p' "$WORK/enroll.out")
[ -n "$DEV" ] && ok "a device enrolled: $DEV" || bad "a device enrolled" "$WORK/enroll.out"
"${A[@]}" --eventlog "$WORK/good.log" >/dev/null 2>&1 || true
"$BIN/verifier" baseline learn --registry "$DB" --device "$DEV" --name fleet --out "$WORK/fleet.json" >/dev/null
"$BIN/verifier" baseline add --registry "$DB" "$WORK/fleet.json" >/dev/null
"$BIN/verifier" baseline assign --registry "$DB" --device "$DEV" fleet >/dev/null
# attest_good NAME: a verdict on the good boot, compliant.
attest_good() { expect_exit "$1" 0 "${A[@]}" --eventlog "$WORK/good.log" || true; }
attest_good "the device attests: compliant"

# ---- the device's EAP-TLS certificate bound to it ----
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr A-F a-f; }
DSERIAL=$(serial_of "$EC/device.pem")
SSERIAL=$(serial_of "$EC/stranger.pem")
expect_exit "devices cert add: the device's certificate bound to it" 0 \
    "$BIN/verifier" devices cert add --ca "$EC/ent-ca.pem" --registry "$DB" "$DEV" "$EC/device.pem" || true
expect_exit "devices cert list: as FreeRADIUS names it" 0 "$BIN/verifier" devices cert list --registry "$DB" "$DEV" || true
expect_grep "... issuer and serial" "$WORK/out" "$DSERIAL"

# ---- FreeRADIUS (the example, reject), hostapd ----
RADDB=$WORK/raddb
FRLOG=$RADDB/log/tpm-attest.log
if dot1x_raddb "$RADDB" "$EC" "https://$HTTP" "$CA" reject 2>"$WORK/out" &&
    start_freeradius "$RADDB" 2>>"$WORK/out"; then
    ok "freeradius -C passes the example (non_compliant = reject); FreeRADIUS serves 1812 in $NS_SW"
else
    bad "FreeRADIUS starts with the example" "$WORK/out"; summary; exit 1
fi
start_hostapd && ok "hostapd (wired) serves sw0, its DAS on 127.0.0.1:3799" ||
    { bad "hostapd starts" "$WORK/hostapd.log"; summary; exit 1; }

# fr_line SERIAL N: waits (up to 10 s) for the Nth decision line on the
# certificate SERIAL in FreeRADIUS's decision log; it is in $WORK/line.
fr_line() {
    local i
    for ((i = 0; i < 500; i++)); do
        grep -E "tpm-attest: Access-(Accept|Reject) .* serial=$1 " "$FRLOG" 2>/dev/null |
            sed -n "${2}p" >"$WORK/line"
        [ -s "$WORK/line" ] && return 0
        sleep 0.02
    done
    cp "$FRLOG" "$WORK/line" 2>/dev/null || : >"$WORK/line"
    return 1
}
declare -A NTH=()  # serial -> decision lines seen
next_line() { NTH[$1]=$((${NTH[$1]:-0} + 1)); fr_line "$1" "${NTH[$1]}"; }
# timed NAME CMD...: runs CMD, then polls hostapd every 20 ms until the
# port is closed (5 s at most); prints "NAME -> port closed: N ms" from
# before CMD.
timed() {
    local name=$1 t0 ms
    shift
    t0=$(date +%s%N)
    "$@" >"$WORK/out" 2>&1 || true
    wait_port closed 5000 || true
    ms=$((($(date +%s%N) - t0) / 1000000))
    echo "  $name -> port closed: $ms ms"
    TIMINGS+=("$name -> port closed: $ms ms")
    if port_open; then bad "$name: the port closed (still $(port_flags) after $ms ms)" "$WORK/hostapd.log"
    elif [ "$ms" -lt 2000 ]; then ok "$name: the port closed within 2 s ($ms ms)"
    else bad "$name: the port closed within 2 s ($ms ms)"; fi
}
TIMINGS=()
# ended: the sessions the verifier says it ended (a Disconnect-ACK).
ended() { grep -c 'msg="session ended" device=[0-9a-f]* nas=127\.0\.0\.1:3799' "$WORK/v.err" || true; }
# acks: the Disconnect-ACKs in the audit log.
acks() {
    "$BIN/verifier" audit export --registry "$DB" 2>/dev/null |
        grep -c '"event":"radius-ack","detail":"Disconnect-ACK from 127\.0\.0\.1:3799 for session' || true
}
# ack_said NAME ENDED ACKS: the verifier's log and its audit log have one
# more Disconnect-ACK than before.
ack_said() {
    for _ in $(seq 100); do [ "$(ended)" -gt "$2" ] && [ "$(acks)" -gt "$3" ] && break; sleep 0.02; done
    [ "$(ended)" -gt "$2" ] && [ "$(acks)" -gt "$3" ] && ok "$1" ||
        bad "$1 (log $(ended), audit $(acks))" "$WORK/v.err"
}

# ---- a. compliant: the port opens, VLAN 10, accounting Start kept ----
start_supplicant device "$EC/device.pem" "$EC/device.key" "$EC/ent-ca.pem" 02:00:00:00:d1:01
if wait_port open 10000; then ok "a. EAP-TLS: hostapd shows the station AUTHORIZED ($WAITED ms)"
else bad "a. EAP-TLS: the station AUTHORIZED ($(port_flags))" "$WORK/device.log"; fi
next_line "$DSERIAL" || true
expect_grep "... FreeRADIUS's Access-Accept: the verifier said compliant (200), VLAN 10" "$WORK/line" \
    "Access-Accept .* http=200 compliance=compliant .* vlan=10$"
expect_grep "... with the verifier's Class, tpa:<device id>" "$WORK/line" \
    "class=0x$(printf 'tpa:%s' "$DEV" | od -An -tx1 | tr -d ' \n')"
expect_grep "... asked about the device's certificate by issuer and serial" "$WORK/line" \
    "issuer=\"/C=DE/O=Example Corp/CN=Example Corp Device CA\" serial=$DSERIAL "
for _ in $(seq 250); do grep -q "accounting Start .* http=" "$FRLOG" && break; sleep 0.02; done
expect_grep "... accounting Start: FreeRADIUS says the verifier took it (204)" "$FRLOG" \
    "accounting Start session=[0-9A-F]+ nas=127\.0\.0\.1 station=02-00-00-00-D1-01 class=0x[0-9a-f]+ http=204$"
SESSION1=$(sed -n 's/.*accounting Start session=\([0-9A-F]*\) .*/\1/p' "$FRLOG" | head -1)
for _ in $(seq 100); do
    "$BIN/verifier" sessions list --registry "$DB" "$DEV" >"$WORK/sessions" 2>&1 || true
    grep -q -- "${SESSION1:-none}" "$WORK/sessions" && break
    sleep 0.02
done
expect_grep "... verifier sessions list: the device's session $SESSION1 at NAS 127.0.0.1" \
    "$WORK/sessions" "127\.0\.0\.1.*${SESSION1:-none}"

# ---- b. revoked: the port closes ----
n=$(ended); na=$(acks)
timed "b. revoke" "$BIN/verifier" devices revoke --registry "$DB" "$DEV"
ack_said "... by hostapd's Disconnect-ACK (the verifier's log and audit log)" "$n" "$na"

# ---- c. reinstated and attested: open; a failed attestation: closed ----
"$BIN/verifier" devices reinstate --registry "$DB" "$DEV" >/dev/null
# A verdict in the second of the reinstate does not count (test_nginx.sh).
sleep 1.1
attest_good "c. reinstated: attests again, compliant"
reauthenticate
wait_port open 10000 && ok "c. ... authenticates again: AUTHORIZED ($WAITED ms)" ||
    bad "c. ... authenticates again: AUTHORIZED" "$WORK/device.log"
next_line "$DSERIAL" || true
expect_grep "... compliant, VLAN 10" "$WORK/line" "Access-Accept .* compliance=compliant .* vlan=10$"
n=$(ended); na=$(acks)
timed "c. failed attestation" "${A[@]}" --eventlog "$WORK/bad.log"
ack_said "... by hostapd's Disconnect-ACK (the verifier's log and audit log)" "$n" "$na"
grep -q '^verdict: COMPLIANT' "$WORK/out" && bad "... the attestation with another boot's log failed" "$WORK/out" ||
    ok "... the attestation with another boot's log failed"

# ---- d. stale: the port closes at the due time ----
attest_good "d. attests again: compliant"
reauthenticate
wait_port open 10000 && ok "d. ... authenticates again: AUTHORIZED ($WAITED ms)" ||
    bad "d. ... authenticates again: AUTHORIZED" "$WORK/device.log"
next_line "$DSERIAL" || true
expect_grep "... compliant, VLAN 10" "$WORK/line" "Access-Accept .* compliance=compliant .* vlan=10$"
printf 'attest_interval = 2\nstale_grace = 1\n' >"$CONF"
kill -HUP "$VP"
for _ in $(seq 250); do grep -q 'SIGHUP: reloaded: .*attest interval 2 s, stale grace 1 s' "$WORK/v.err" && break; sleep 0.02; done
expect_grep "... SIGHUP: an attest interval of 2 s, a grace of 1 s" "$WORK/v.err" \
    'SIGHUP: reloaded: .*attest interval 2 s, stale grace 1 s'
n=$(ended); na=$(acks)
if wait_port closed 8000; then
    closed=$(($(date +%s%N) / 1000000))
    for _ in $(seq 100); do grep -q 'msg="compliance changed" .*overdue.*due by' "$WORK/v.err" && break; sleep 0.02; done
    due=$(sed -n 's/.*msg="compliance changed" .*overdue.* due by \([0-9TZ:-]*\) .*/\1/p' "$WORK/v.err" | tail -1)
    ms=$((closed - $(date -d "${due:-now}" +%s) * 1000))
    echo "  d. stale (due $due) -> port closed: $ms ms after the due time"
    TIMINGS+=("d. stale -> port closed: $ms ms after the due time ($due, whole seconds)")
    [ -n "$due" ] && [ "$ms" -lt 2000 ] && ok "d. stale: the port closed within 2 s of the due time ($ms ms)" ||
        bad "d. stale: the port closed within 2 s of the due time ('$due', $ms ms)" "$WORK/v.err"
    ack_said "... by hostapd's Disconnect-ACK (the verifier's log and audit log)" "$n" "$na"
else
    bad "d. stale: the port closed ($(port_flags))" "$WORK/v.err"
fi
printf 'attest_interval = 3600\nstale_grace = 600\n' >"$CONF"
kill -HUP "$VP"
for _ in $(seq 250); do grep -q 'SIGHUP: reloaded: .*attest interval 3600 s' "$WORK/v.err" && break; sleep 0.02; done

# ---- e. an unknown certificate: Access-Reject ----
dot1x_stop device
start_supplicant stranger "$EC/stranger.pem" "$EC/stranger.key" "$EC/ent-ca.pem" 02:00:00:00:5e:01
next_line "$SSERIAL" || true
expect_grep "e. a certificate of the enterprise CA bound to no device: the verifier says 404, Access-Reject" \
    "$WORK/line" "Access-Reject .* http=404 compliance=unknown "
port_open && bad "... the port stays closed ($(port_flags))" || ok "... the port stays closed"
dot1x_stop stranger

# ---- f. the verifier down: Access-Reject (fail closed) ----
start_supplicant device "$EC/device.pem" "$EC/device.key" "$EC/ent-ca.pem" 02:00:00:00:d1:02
attest_good "f. the device attests: compliant"
wait_port open 10000 && ok "f. ... AUTHORIZED with the verifier up (the control)" ||
    bad "f. ... AUTHORIZED with the verifier up (the control)" "$WORK/device.log"
next_line "$DSERIAL" || true
expect_grep "... compliant, VLAN 10" "$WORK/line" "Access-Accept .* compliance=compliant .* vlan=10$"
kill -TERM "$VP"
set +e; wait "$VP"; rc=$?; set -e
[ "$rc" -eq 0 ] && ok "verifier v: stopped cleanly" || bad "verifier v: exit $rc on SIGTERM" "$WORK/v.err"
reauthenticate
next_line "$DSERIAL" || true
expect_grep "f. the verifier down: Access-Reject, no answer from it" "$WORK/line" \
    "Access-Reject .* http=none compliance=unknown "
sleep 0.2
port_open && bad "... the port stays closed ($(port_flags))" || ok "... the port stays closed"
printf 'Acct-Status-Type = Start\nAcct-Session-Id = "f-1"\nNAS-IP-Address = 127.0.0.1\nClass = 0x%s\n' \
    "$(printf 'tpa:%s' "$DEV" | od -An -tx1 | tr -d ' \n')" >"$WORK/acct"
expect_exit "... accounting still answered (Accounting-Response) with the verifier down" 0 \
    "${SW[@]}" radclient -r 1 -t 3 -f "$WORK/acct" 127.0.0.1:1813 acct "$RADIUS_SECRET"

# ---- quarantine: the same cases into VLAN 666 ----
# No EAP conversation across the restart: a fresh device (MAC) after it.
dot1x_stop device
dot1x_stop freeradius
if dot1x_raddb "$RADDB" "$EC" "https://$HTTP" "$CA" quarantine 2>"$WORK/out" &&
    start_freeradius "$RADDB" 2>>"$WORK/out"; then
    ok "freeradius -C passes the example with non_compliant = quarantine"
else
    bad "FreeRADIUS starts with non_compliant = quarantine" "$WORK/out"; summary; exit 1
fi
NTH=()
start_supplicant device "$EC/device.pem" "$EC/device.key" "$EC/ent-ca.pem" 02:00:00:00:d1:03
wait_port open 10000 && ok "q. the verifier down: the port opens ..." ||
    bad "q. the verifier down: the port opens" "$WORK/device.log"
next_line "$DSERIAL" || true
expect_grep "... into the quarantine VLAN 666" "$WORK/line" "Access-Accept .* http=none compliance=unknown .* vlan=666$"
VALGRIND="${SW[*]}" start_verifier v2 "${VARGS[@]}"
VP=$VPID
for _ in $(seq 250); do grep -q '^http listening' "$WORK/v2.out" && break; sleep 0.02; done
"$BIN/verifier" devices revoke --registry "$DB" "$DEV" >/dev/null
reauthenticate
wait_port open 10000 || true
next_line "$DSERIAL" || true
expect_grep "q. revoked: Access-Accept into VLAN 666, the verifier's Class kept" "$WORK/line" \
    "Access-Accept .* http=200 compliance=not-compliant reason=\".*revoked.*\" class=0x[0-9a-f]+ vlan=666$"
dot1x_stop device
start_supplicant stranger "$EC/stranger.pem" "$EC/stranger.key" "$EC/ent-ca.pem" 02:00:00:00:5e:02
wait_port open 10000 || true
next_line "$SSERIAL" || true
expect_grep "q. a certificate bound to no device (404): VLAN 666" "$WORK/line" \
    "Access-Accept .* http=404 compliance=unknown .* vlan=666$"

"$BIN/verifier" audit export --registry "$DB" >"$WORK/audit" 2>&1 || true
expect_grep "the audit log: accounting Start kept the session at NAS 127.0.0.1" "$WORK/audit" \
    "\"event\":\"session-start\",\"detail\":\"NAS 127\\.0\\.0\\.1 session ${SESSION1:-none},"

echo "  timings:"
for t in "${TIMINGS[@]}"; do echo "    $t"; done
dot1x_cleanup
ip netns list | grep -qE "^($NS_SW|$NS_DEV)\b" && bad "namespaces left behind" || ok "namespaces removed"
summary
