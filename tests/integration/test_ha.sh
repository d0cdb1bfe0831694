#!/usr/bin/env bash
# High availability (issue 17, item 3): three verifier replicas on one real
# PostgreSQL 15 behind Debian's nginx (packaging/examples/nginx/
# tpm-attest-grpc.conf, grpc_pass over TLS), three swtpm devices enrolled
# through nginx (Enroll and ActivateCredential may reach different
# replicas) and attesting through it with tpa-fleet, a fresh TLS connection
# each, while one replica is killed with SIGKILL and started again, another
# is stopped with SIGTERM (it finishes what it has, exits 0) and started
# again, and PostgreSQL is stopped and started again under load. Then:
# every attestation got a verdict, retrying past what failed as an agent
# retries (tpa-fleet --retries); every verdict a device received is in the
# registry; every verdict used a challenge of its own; a request that got a
# verdict, replayed to another replica, is refused; the replicas'
# /readyz said 503 while PostgreSQL was down and 200 after, with no restart;
# the audit chain holds.
# usage: test_ha.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_ha.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: 3 verifier replicas on PostgreSQL behind nginx grpc_pass, faults under load"
NGINX=/usr/sbin/nginx
[ -x "$NGINX" ] || { bad "nginx is installed (scripts/deps.sh)"; summary; exit 1; }
start_postgres && ok "PostgreSQL started" || { bad "PostgreSQL started" "$WORK/postgres.log"; summary; exit 1; }
psql_tpa() { "$PG_BIN/psql" -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -U tpa -d tpa "$@"; }
"$ROOT/scripts/demo-certs.sh" "$WORK/certs" >/dev/null
CA=$WORK/certs/ca.pem
fleet_devices 3

# ---- three replicas: one registry, one token key, one baseline ----
R=()
for i in 1 2 3; do R[$i]=$(free_port); done
replica() { # NAME PORT: a replica on PORT; sets VPID
    start_verifier "$1" --listen "127.0.0.1:$2" --cert "$WORK/certs/server.pem" \
        --key "$WORK/certs/server.key" --registry "$PG_URI" --ek-ca "$WORK/ekca" \
        --token-key "$WORK/token.jwk" --baseline "$WORK/fleet.json" \
        --http-listen-plain 127.0.0.1:0 --max-connections-per-peer 256
}
health_port() { # NAME: its plain HTTP port, once it says it
    local p=
    for _ in $(seq 500); do
        p=$(sed -n 's/^http health listening on port \([0-9]*\) .*/\1/p' "$WORK/$1.out")
        [ -n "$p" ] && break
        sleep 0.02
    done
    echo "$p"
}
ready() { curl -sS --max-time 5 -o "$WORK/ready.body" -w '%{http_code}' "http://127.0.0.1:$1/readyz" 2>/dev/null || true; }
replica r1 "${R[1]}"; P1=$VPID
replica r2 "${R[2]}"; P2=$VPID
replica r3 "${R[3]}"; P3=$VPID
H3=$(health_port r3)
[ "$(ready "$H3")" = 200 ] && ok "three replicas serving one PostgreSQL registry" || bad "replica r3 ready" "$WORK/ready.body"

# ---- nginx: the example, filled in, under a main file of the test's ----
NG=$WORK/nginx
mkdir -p "$NG/tmp"
SITE=$ROOT/packaging/examples/nginx/tpm-attest-grpc.conf
NP=$(free_port)
sed -e "s|\${TPA_REPLICA_1}|127.0.0.1:${R[1]}|g" -e "s|\${TPA_REPLICA_2}|127.0.0.1:${R[2]}|g" \
    -e "s|\${TPA_REPLICA_3}|127.0.0.1:${R[3]}|g" -e "s|\${TPA_LISTEN}|127.0.0.1:$NP|g" \
    -e "s|\${TPA_SERVER_NAME}|localhost|g" -e "s|\${TPA_SITE_CERT}|$WORK/certs/server.pem|g" \
    -e "s|\${TPA_SITE_KEY}|$WORK/certs/server.key|g" -e "s|\${TPA_VERIFIER_CA}|$CA|g" \
    -e "s|\${TPA_VERIFIER_NAME}|localhost|g" "$SITE" >"$NG/site.conf"
grep -nE '\$\{TPA_[A-Z0-9_]+\}' "$NG/site.conf" >"$WORK/fill.out" &&
    bad "every \${TPA_...} of the example filled in" "$WORK/fill.out" || ok "the example filled in"
NGINX_WORKERS=2 NGINX_LOG_LEVEL=warn NGINX_ACCESS_LOG=off nginx_main "$NG"
"$NGINX" -t -q -p "$NG/" -c "$NG/nginx.conf" -e "$NG/error.log" >"$WORK/t.out" 2>&1 &&
    ok "nginx -t passes the example" || bad "nginx -t: the example is valid" "$WORK/t.out"
start_extra nginx "$NGINX" -p "$NG/" -c "$NG/nginx.conf" -e "$NG/error.log"
for _ in $(seq 250); do
    (exec 3<>"/dev/tcp/127.0.0.1/$NP") 2>/dev/null && break
    sleep 0.02
done
LB=127.0.0.1:$NP

# ---- three devices enrolled through nginx ----
IDS=()
for d in 1 2 3; do
    IFS=, read -r tcti _ _ <<<"${DEVS[$((d - 1))]}"
    "$BIN/attest_client" enroll --verifier "$LB" --ca "$CA" --tcti "$tcti" \
        --ak-file "$WORK/ak$d.bin" >"$WORK/enroll$d.out" 2>&1 || bad "enroll device $d through nginx" "$WORK/enroll$d.out"
    IDS[$d]=$(sed -n 's/^enrolled: device //p' "$WORK/enroll$d.out")
done
[ -n "${IDS[1]}" ] && [ -n "${IDS[2]}" ] && [ -n "${IDS[3]}" ] &&
    ok "three devices enrolled through nginx" || bad "three devices enrolled"
"$BIN/attest_client" attest --verifier "$LB" --ca "$CA" --tcti "${DEVS[0]%%,*}" --ak-file "$WORK/ak1.bin" \
    --eventlog "$WORK/good1.log" >"$WORK/one.out" 2>&1 && ok "an attestation through nginx: compliant" ||
    bad "an attestation through nginx" "$WORK/one.out"

# ---- the fleet attesting while replicas and the database fail ----
COUNT=${TPA_HA_COUNT:-1500}
FA=(--verifier "$LB" --ca "$CA" --count "$COUNT" --batch "$COUNT" --concurrency 8 --retries 40
    --verdicts-out "$WORK/verdicts" --replay "127.0.0.1:${R[3]}")
for d in "${DEVS[@]}"; do FA+=(--device "$d"); done
"$BIN/tpa-fleet" "${FA[@]}" >"$WORK/fleet.out" 2>"$WORK/fleet.err" &
FPID=$!
for _ in $(seq 3000); do grep -q 'evidence made, sending' "$WORK/fleet.err" && break; kill -0 "$FPID" 2>/dev/null || break; sleep 0.02; done
grep -q 'evidence made, sending' "$WORK/fleet.err" && ok "tpa-fleet: $COUNT attestations' evidence made, sending" ||
    bad "tpa-fleet began sending" "$WORK/fleet.err"
during=1
sleep 0.5
kill -KILL "$P1"; wait "$P1" 2>/dev/null || true
ok "replica r1 killed (SIGKILL) under load"
sleep 0.3
replica r1b "${R[1]}"
ok "... r1 started again on its port"
sleep 0.3
kill -0 "$FPID" 2>/dev/null || during=
set +e
kill -TERM "$P2"; wait "$P2"; rc=$?
set -e
[ "$rc" -eq 0 ] && ok "replica r2 stopped with SIGTERM under load: exit 0" || bad "replica r2: exit $rc on SIGTERM" "$WORK/r2.err"
kill -0 "$FPID" 2>/dev/null || during=
stop_postgres
code=$(ready "$H3")
[ "$code" = 503 ] && ok "PostgreSQL stopped under load: replica r3's /readyz says 503" || bad "/readyz with PostgreSQL down: $code" "$WORK/ready.body"
grep -q "registry" "$WORK/ready.body" && ok "... naming the registry" || bad "/readyz names the registry" "$WORK/ready.body"
sleep 1
pg_run && ok "... PostgreSQL started again" || bad "PostgreSQL restarted" "$WORK/postgres.log"
replica r2b "${R[2]}"
ok "... r2 started again on its port"
kill -0 "$FPID" 2>/dev/null || during=
for _ in $(seq 80); do [ "$(ready "$H3")" = 200 ] && break; sleep 0.25; done
if [ "$(ready "$H3")" = 200 ]; then
    ok "... r3's /readyz 200 again, r3 never restarted (it reconnected)"
else
    { cat "$WORK/ready.body"; echo "-- r3's log on the registry:"; grep -E 'registry|ready' "$WORK/r3.err" | tail -n 12
      echo "-- r3's log, its end:"; tail -n 6 "$WORK/r3.err"; } >"$WORK/ready.why"
    bad "/readyz after PostgreSQL came back (20 s)" "$WORK/ready.why"
fi
[ -n "$during" ] && ok "the fleet was attesting all through the faults" ||
    bad "the fleet finished before the faults were over: raise TPA_HA_COUNT"
set +e
wait "$FPID"; rc=$?
set -e
sed "s/^/       /" "$WORK/fleet.out"
[ "$rc" -eq 0 ] && ok "tpa-fleet: exit 0, every attestation got a verdict" || bad "tpa-fleet: exit $rc" "$WORK/fleet.out"
expect_grep "... $COUNT verdicts, all compliant, no error left" "$WORK/fleet.out" \
    "^  attestations/s +[0-9.]+ \($COUNT verdicts in [0-9.]+ s: $COUNT compliant, 0 not; 0 errors\)$"
grep -q '^  retried ' "$WORK/fleet.out" && ok "... some failed and were retried past, as agents retry" ||
    bad "nothing was retried: the faults hit no call"
expect_grep "... a verdict's request replayed to replica r3: refused, its challenge used" "$WORK/fleet.out" \
    "^  replay +refused by 127.0.0.1:${R[3]}: FAILED_PRECONDITION: .*challenge already used"

# ---- the registry holds every verdict a device received ----
missing=0
for d in 1 2 3; do
    got=$(grep -c "^$d compliant$" "$WORK/verdicts" || true)
    rows=$(psql_tpa -Atc "SELECT count(*) FROM audit WHERE event = 'attest' AND device_id = '${IDS[$d]}'")
    echo "       device $d: $got verdicts received, $rows recorded"
    [ "$rows" -ge "$got" ] || missing=1
done
[ "$missing" = 0 ] && ok "every verdict a device received is in the registry" || bad "verdicts received but not recorded"
seals=$(psql_tpa -Atc "SELECT count(*) FROM used_seals")
rows=$(psql_tpa -Atc "SELECT count(*) FROM audit WHERE event = 'attest'")
[ "$seals" -eq $((rows + 3)) ] && ok "every recorded verdict used a challenge of its own ($rows verdicts, 3 enrollments: $seals used)" ||
    bad "challenges used: $seals, for $rows verdicts and 3 enrollments"
expect_exit "audit verify: the chain holds across replicas and faults" 0 "$BIN/verifier" audit verify --registry "$PG_URI" || true
grep -c 'upstream' "$NG/error.log" >"$WORK/ng.count" 2>/dev/null || true
echo "       nginx logged $(cat "$WORK/ng.count") upstream errors (the replicas going)"

stop_extra nginx
stop_verifiers
stop_postgres
summary
