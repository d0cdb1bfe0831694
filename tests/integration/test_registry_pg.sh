#!/usr/bin/env bash
# The registry on PostgreSQL (issue 17): a real PostgreSQL 15 server of the
# test's own, on a unix socket in its directory, started and stopped by pid.
# The store's test suites run on it (test_store, test_store_enforce with
# TPA_TEST_PG); a verifier with --registry postgresql://... enrolls and
# attests a swtpm device, its audit log verifies, a second verifier on the
# same database (a replica) sees the device; a deadlock another session
# makes aborts the verdict's transaction, which runs again; a role allowed
# one connection: the pool's others refused, said once, the calls served;
# the server stopped under an Activate waiting for the writers' lock, and
# under a serving verifier: Activate, Enroll and Attest fail UNAVAILABLE
# (retryable), /readyz
# says 503, nothing is half-written; the server back, the verifier
# reconnects by itself. Bad credentials, an unreachable server, a database
# of a newer schema and a connection-string file others may read are
# refused by name, the password never printed.
# usage: test_registry_pg.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_registry_pg.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: the registry on PostgreSQL"
V=(${VALGRIND:-} "$BIN/verifier")
C=(${VGC:-} "$BIN/attest_client")

start_postgres && ok "PostgreSQL started on $PG_SOCK" || { bad "PostgreSQL started" "$WORK/postgres.log"; summary; exit 1; }
psql_tpa() { "$PG_BIN/psql" -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -U tpa "$@"; }
# hold_lock NAME FD: a psql session reading WORK/NAME.fifo, written on FD,
# that takes the writers' lock and has said so; HOLDER_PID is its pid.
hold_lock() {
    mkfifo "$WORK/$1.fifo"
    psql_tpa -d tpa <"$WORK/$1.fifo" >"$WORK/$1.out" 2>&1 &
    HOLDER_PID=$!
    eval "exec $2>\"\$WORK/$1.fifo\""
    echo "SELECT pg_advisory_lock(7366441027); SELECT 'lock held';" >&"$2"
    for _ in $(seq 500); do grep -q "lock held" "$WORK/$1.out" && break; sleep 0.02; done
}
# lockwait: the sessions, other than its own, waiting for an advisory lock.
lockwait() { psql_tpa -d tpa -Atc "SELECT count(*) FROM pg_stat_activity WHERE datname = 'tpa'
    AND wait_event = 'advisory' AND pid <> pg_backend_pid()"; }

# ---- the store's suites, on a database of their own ----
psql_tpa -d postgres -c 'CREATE DATABASE units' >/dev/null
UNITS="postgresql:///units?host=$PG_SOCK&user=tpa"
for t in test_store test_store_enforce; do
    set +e
    TPA_TEST_PG=$UNITS ${VALGRIND:-} "$BIN/tests/unit/$t" >"$WORK/$t.out" 2>&1
    rc=$?
    set -e
    read -r total failed < <(awk '$1 == "tests" { print $2, $5 }' "$WORK/$t.out")
    if [ "$rc" -eq 0 ] && [ "${failed:-1}" -eq 0 ] && [ "${total:-0}" -ge 5 ]; then
        ok "$t on PostgreSQL: ${total} tests passed"
    else
        bad "$t on PostgreSQL (exit $rc)" "$WORK/$t.out"
    fi
done

# ---- a verifier on PostgreSQL: enroll, attest, audit ----
REGISTRY=$PG_URI
serve_one_device
A=("${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin"
   --eventlog "$WORK/good.log")
"${A[@]}" >"$WORK/attest.out" 2>&1 || true
grep -q "verdict" "$WORK/attest.out" && ok "an attestation answered" || bad "an attestation answered" "$WORK/attest.out"
expect_exit "devices list on PostgreSQL" 0 "$BIN/verifier" devices list --registry "$PG_URI" || true
expect_grep "... the device, its last verdict recorded" "$WORK/out" "${DEV:0:12}.*(compliant|no-baseline)"
expect_exit "audit verify on PostgreSQL: the chain holds" 0 "$BIN/verifier" audit verify --registry "$PG_URI" || true
N0=$(psql_tpa -d tpa -Atc "SELECT count(*) FROM audit")
[ "$N0" -ge 2 ] && ok "... $N0 audit rows (enroll, attest)" || bad "audit rows: $N0"
psql_tpa -d tpa -c "DELETE FROM audit" >"$WORK/del.out" 2>&1 && bad "DELETE FROM audit was let through" ||
    expect_grep "... the audit log refuses DELETE" "$WORK/del.out" "append-only"

# A replica: a second verifier on the same database sees what the first wrote.
V1_PID=$VPID
start_verifier v2 --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$PG_URI" --ek-ca "$WORK/ekca" --token-key "$KEY"
T2=127.0.0.1:$PORT
"${C[@]}" attest --verifier "$T2" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" \
    --eventlog "$WORK/good.log" >"$WORK/attest2.out" 2>&1 || true
grep -q "verdict" "$WORK/attest2.out" && ok "the device attests through a second verifier on the same database" ||
    bad "attest through the second verifier" "$WORK/attest2.out"
N1=$(psql_tpa -d tpa -Atc "SELECT count(*) FROM audit WHERE event = 'attest'")
[ "$N1" -ge 2 ] && ok "... both verdicts in the one registry ($N1)" || bad "verdicts in the registry: $N1"
VPID=$V1_PID

# ---- a deadlock: the verdict's transaction aborted and run again ----
# Another session holds the device's row and then asks for the writers'
# lock, which the verifier's transaction holds while it waits for the row:
# PostgreSQL aborts the verifier's transaction (40P01, found by the first
# waiter after its deadlock_timeout, 1 s; this session's is 60 s), the
# other session commits, and the verifier runs the whole transaction again.
mkfifo "$WORK/hold.fifo"
psql_tpa -d tpa <"$WORK/hold.fifo" >"$WORK/hold.out" 2>&1 &
HOLD_PID=$!
exec 7>"$WORK/hold.fifo"
echo "SET deadlock_timeout = '60s'; BEGIN;
UPDATE devices SET last_attest_at = last_attest_at WHERE id = '$DEV';
SELECT 'row held';" >&7
for _ in $(seq 500); do grep -q "row held" "$WORK/hold.out" && break; sleep 0.02; done
waiting() { psql_tpa -d tpa -Atc "SELECT count(*) FROM pg_stat_activity WHERE datname = 'tpa'
    AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"; }
"${A[@]}" >"$WORK/deadlock.out" 2>&1 &
DL_PID=$!
for _ in $(seq 1000); do [ "$(waiting)" = 1 ] && break; sleep 0.01; done
[ "$(waiting)" = 1 ] && ok "deadlock: the verifier's transaction waits for the held row" ||
    bad "the verifier's transaction never waited for the row" "$WORK/v.err"
echo "SELECT pg_advisory_xact_lock(7366441027); COMMIT; SELECT 'committed';" >&7
exec 7>&-
set +e
wait "$DL_PID"; rc=$?
wait "$HOLD_PID"
set -e
grep -q "^verdict:" "$WORK/deadlock.out" &&
    ok "... the attestation got its verdict all the same" || bad "the attestation after a deadlock (exit $rc)" "$WORK/deadlock.out"
expect_grep "... PostgreSQL found the deadlock" "$WORK/postgres.log" "deadlock detected"
expect_grep "... the verifier logged the abort and ran the transaction again" "$WORK/v.err" \
    "aborted the transaction: deadlock detected.*trying again"
expect_grep "... the other session committed after the abort" "$WORK/hold.out" "committed"
N2=$(psql_tpa -d tpa -Atc "SELECT count(*) FROM audit WHERE event = 'attest'")
[ "$N2" = $((N1 + 1)) ] && ok "... its verdict recorded once ($N2 attest rows)" ||
    bad "attest rows after the deadlock: $N2, expected $((N1 + 1))"
expect_exit "... audit verify: the chain holds" 0 "$BIN/verifier" audit verify --registry "$PG_URI" || true

# ---- aborts that do not stop: tried again STORE_RETRIES times, then UNAVAILABLE ----
# A trigger PostgreSQL runs in the verdict's transaction aborts it as a
# serialization failure (40001) every time; a sequence, which no rollback
# undoes, counts the tries. 1 + 4 tries, then the client is told
# UNAVAILABLE, and nothing of the verdict is written.
psql_tpa -d tpa >/dev/null <<'SQL'
CREATE SEQUENCE tpa_test_tries;
CREATE FUNCTION tpa_test_abort() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('tpa_test_tries');
    RAISE EXCEPTION 'test: a conflict that never clears' USING ERRCODE = 'serialization_failure';
END $$;
CREATE TRIGGER tpa_test_abort BEFORE INSERT ON audit FOR EACH ROW
    WHEN (NEW.event = 'attest') EXECUTE FUNCTION tpa_test_abort();
SQL
V_ERR_LINES=$(wc -l <"$WORK/v.err")
set +e
"${A[@]}" >"$WORK/aborts.out" 2>&1
rc=$?
set -e
tail -n +"$((V_ERR_LINES + 1))" "$WORK/v.err" >"$WORK/aborts.log"
[ "$rc" -ne 0 ] && ok "aborted on every try: the attestation fails (exit $rc)" ||
    bad "an attestation whose transaction always aborts succeeded" "$WORK/aborts.out"
expect_grep "... UNAVAILABLE, which an agent retries" "$WORK/aborts.out" "UNAVAILABLE"
TRIES=$(psql_tpa -d tpa -Atc "SELECT last_value FROM tpa_test_tries")
[ "$TRIES" = 5 ] && ok "... the transaction ran 5 times (once, then tried again 4 times)" ||
    bad "the always-aborted transaction ran $TRIES times, expected 5" "$WORK/aborts.log"
NRETRY=$(grep -c "a conflict that never clears; trying again" "$WORK/aborts.log" || true)
[ "$NRETRY" = 4 ] && ok "... each try again logged ($NRETRY)" || bad "tries again logged: $NRETRY, expected 4" "$WORK/aborts.log"
expect_grep "... and the last named as not tried again" "$WORK/aborts.log" "aborted 5 times, not tried again"
N3=$(psql_tpa -d tpa -Atc "SELECT count(*) FROM audit WHERE event = 'attest'")
[ "$N3" = "$N2" ] && ok "... nothing of the verdict written ($N3 attest rows)" ||
    bad "attest rows after the aborted attestation: $N3, expected $N2"
psql_tpa -d tpa -c "DROP TRIGGER tpa_test_abort ON audit; DROP FUNCTION tpa_test_abort(); DROP SEQUENCE tpa_test_tries" >/dev/null
"${A[@]}" >"$WORK/after-aborts.out" 2>&1 || true
grep -q "^verdict:" "$WORK/after-aborts.out" && ok "... the conflict gone, the next attestation gets its verdict" ||
    bad "the attestation after the aborts" "$WORK/after-aborts.out"

# ---- a commit that waits: the workers go on serving ----
# A session holds the writers' lock, so the verdicts' group commit waits
# for it, as it would for a synchronous standby far away. The Attests wait
# on the writer threads (--writers, 8 by default), not on the two workers:
# a GetChallenge is answered while six verdicts wait for their commit, and
# when the lock goes every one of them gets its verdict. Run on the
# workers (--writers 0), the first two Attests would hold both, and the
# GetChallenge would wait with them.
hold_lock wlock 9
WLOCK_PID=$HOLDER_PID
FLEET=("$BIN/tpa-fleet" --verifier "$TARGET" --ca "$CA" --device "$TCTI,$WORK/ak.bin,$WORK/good.log")
"${FLEET[@]}" --count 6 --concurrency 6 --warm --timeout 120000 >"$WORK/held.out" 2>&1 &
HELD_PID=$!
for _ in $(seq 1500); do [ "$(lockwait)" -ge 1 ] && break; sleep 0.02; done
[ "$(lockwait)" -ge 1 ] && ok "six Attests: their commit waits for the writers' lock" ||
    bad "no commit waited for the writers' lock" "$WORK/held.out"
# The other five reach the verifier meanwhile (under valgrind, slower).
sleep "$([ -n "${VALGRIND:-}" ] && echo 8 || echo 2)"
"${FLEET[@]}" --count 3 --concurrency 1 --challenge-only --timeout 10000 >"$WORK/chal-held.out" 2>&1 || true
expect_grep "... GetChallenge is answered meanwhile, by the workers" "$WORK/chal-held.out" \
    "\(3 verdicts in .*; 0 errors\)"
kill -0 "$HELD_PID" 2>/dev/null && ok "... the six still waiting" || bad "the held Attests ended" "$WORK/held.out"
echo "SELECT pg_advisory_unlock(7366441027);" >&9
exec 9>&-
wait "$WLOCK_PID" || true
set +e
wait "$HELD_PID"; rc=$?
set -e
[ "$rc" = 0 ] && grep -q "(6 verdicts in .*; 0 errors)" "$WORK/held.out" &&
    ok "... the lock released: each of the six gets its verdict" || bad "the held Attests (exit $rc)" "$WORK/held.out"

# ---- a pooled connection the server refuses ----
# A role allowed one connection: the pool's others cannot open; the calls
# share the one open, and the verifier says so once, not for every call.
psql_tpa -d tpa >/dev/null <<'SQL'
CREATE ROLE tpa_one LOGIN CONNECTION LIMIT 1;
GRANT USAGE ON SCHEMA public TO tpa_one;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO tpa_one;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO tpa_one;
SQL
start_verifier vone --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "postgresql:///tpa?host=$PG_SOCK&user=tpa_one" --ek-ca "$WORK/ekca" \
    --token-key "$KEY" --http-listen-plain 127.0.0.1:0
TONE=127.0.0.1:$PORT
for _ in $(seq 1500); do grep -q '^http health listening' "$WORK/vone.out" && break; sleep 0.02; done
P1=$(sed -n 's/^http health listening on port \([0-9]*\) .*/\1/p' "$WORK/vone.out")
# Twelve at once may still be served one after another on a quiet machine:
# rounds go on until two of them have overlapped (the warning says so), at
# most 20; every one of them must have answered 200.
rounds=0
for round in $(seq 20); do
    CURLS=()
    for i in $(seq 12); do
        curl -sS --max-time 30 -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$P1/readyz" \
            >"$WORK/one-$round-$i.code" 2>&1 &
        CURLS+=($!)
    done
    wait "${CURLS[@]}" || true
    rounds=$round
    [ "$round" -ge 3 ] && grep -q "another pooled connection" "$WORK/vone.err" && break
done
n200=$(cat "$WORK"/one-*.code | grep -c '^200$' || true)
[ "$n200" = $((rounds * 12)) ] && ok "one connection for the role: $rounds rounds of 12 /readyz at once, all 200" ||
    bad "/readyz with one connection: $n200 of $((rounds * 12)) answered 200" "$WORK/vone.err"
"${C[@]}" attest --verifier "$TONE" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" \
    --eventlog "$WORK/good.log" >"$WORK/one.out" 2>&1 || true
grep -q "^verdict:" "$WORK/one.out" && ok "... an attestation answered on it" ||
    bad "an attestation with one connection" "$WORK/one.out"
nwarn=$(grep -c "another pooled connection could not be opened: .*too many connections" "$WORK/vone.err" || true)
[ "$nwarn" = 1 ] && ok "... the refused connections said once, with the server's reason" ||
    bad "the refused pooled connections said $nwarn times, expected once" "$WORK/vone.err"
VPID=$V1_PID

# ---- the server stopped under a serving verifier ----
start_verifier vh --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$PG_URI" --ek-ca "$WORK/ekca" --token-key "$KEY" --http-listen-plain 127.0.0.1:0
TH=127.0.0.1:$PORT
for _ in $(seq 1500); do grep -q '^http health listening' "$WORK/vh.out" && break; sleep 0.02; done
PP=$(sed -n 's/^http health listening on port \([0-9]*\) .*/\1/p' "$WORK/vh.out")
ready() { curl -sS --max-time 10 -o "$WORK/ready.body" -w '%{http_code}' "http://127.0.0.1:$PP/readyz" 2>/dev/null || true; }
[ "$(ready)" = 200 ] && ok "/readyz: 200 with PostgreSQL up" || bad "/readyz with PostgreSQL up" "$WORK/ready.body"
ROWS_BEFORE=$(psql_tpa -d tpa -Atc "SELECT count(*) FROM audit")
# An Activate caught by the outage: a session holds the writers' lock, the
# enrollment's Enroll (which only reads) answers, its Activate waits for
# the lock, and PostgreSQL stops under it.
hold_lock lock 8
LOCK_PID=$HOLDER_PID
"${C[@]}" enroll --verifier "$TH" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak-caught.bin" \
    >"$WORK/caught.out" 2>&1 &
CAUGHT_PID=$!
for _ in $(seq 1500); do [ "$(lockwait)" = 1 ] && break; sleep 0.02; done
[ "$(lockwait)" = 1 ] && ok "an Activate waits for the writers' lock" ||
    bad "no Activate waited for the writers' lock" "$WORK/caught.out"
stop_postgres
set +e
wait "$CAUGHT_PID"; rc=$?
exec 8>&-
wait "$LOCK_PID"
set -e
[ "$rc" -ne 0 ] && ok "PostgreSQL stopped under it: the enrollment fails (exit $rc)" ||
    bad "the enrollment caught by the outage succeeded" "$WORK/caught.out"
expect_grep "... at its Activate, UNAVAILABLE" "$WORK/caught.out" "[Aa]ctivat.*UNAVAILABLE|UNAVAILABLE.*[Aa]ctivat"
set +e
"${C[@]}" attest --verifier "$TH" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" \
    --eventlog "$WORK/good.log" >"$WORK/down.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] && ok "PostgreSQL down: the attestation fails (exit $rc)" || bad "attestation with PostgreSQL down succeeded" "$WORK/down.out"
expect_grep "... UNAVAILABLE, which an agent retries" "$WORK/down.out" "UNAVAILABLE"
set +e
"${C[@]}" enroll --verifier "$TH" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak-down.bin" \
    >"$WORK/enroll-down.out" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] && ok "PostgreSQL down: an enrollment fails (exit $rc)" ||
    bad "an enrollment with PostgreSQL down succeeded" "$WORK/enroll-down.out"
expect_grep "... UNAVAILABLE too, not a refusal of the device" "$WORK/enroll-down.out" "UNAVAILABLE"
code=$(ready)
[ "$code" = 503 ] && ok "... /readyz: 503" || bad "/readyz with PostgreSQL down: $code" "$WORK/ready.body"
grep -q "registry" "$WORK/ready.body" && ok "... naming the registry" || bad "/readyz names the registry" "$WORK/ready.body"
kill -0 "$VPID" 2>/dev/null && ok "... the verifier keeps serving" || bad "the verifier died with PostgreSQL down" "$WORK/vh.err"
pg_run && ok "PostgreSQL started again" || bad "PostgreSQL restarted" "$WORK/postgres.log"
ROWS_AFTER=$(psql_tpa -d tpa -Atc "SELECT count(*) FROM audit")
[ "$ROWS_AFTER" = "$ROWS_BEFORE" ] && ok "... nothing half-written meanwhile ($ROWS_AFTER audit rows)" ||
    bad "audit rows $ROWS_BEFORE before the outage, $ROWS_AFTER after"
# first_verdict NAME: one attestation, which must get a verdict (exit 0 or
# 1: this baseline-less verifier's), not UNAVAILABLE.
first_verdict() {
    local rc
    set +e
    "${C[@]}" attest --verifier "$TH" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" \
        --eventlog "$WORK/good.log" >"$WORK/first.out" 2>&1
    rc=$?
    set -e
    { [ "$rc" -le 1 ] && grep -q "verdict" "$WORK/first.out"; } && ok "$1 (exit $rc)" ||
        bad "$1 (exit $rc)" "$WORK/first.out"
}
# The connections the outage broke are reset by the next call.
first_verdict "... the verifier reconnected by itself: the first attestation got a verdict"
[ "$(ready)" = 200 ] && ok "... /readyz: 200 again" || bad "/readyz after PostgreSQL came back" "$WORK/ready.body"
# PostgreSQL restarted while the verifier is idle: its pooled connections
# were closed by the server, and no call has found out. The first call
# after must not be the one that does (it would fail with the server up).
stop_postgres
pg_run || bad "PostgreSQL restarted" "$WORK/postgres.log"
code=$(ready)
[ "$code" = 200 ] && ok "PostgreSQL restarted with the verifier idle: the first /readyz is 200" ||
    bad "the first /readyz after an idle restart: $code" "$WORK/ready.body"
# A call that works leaves the connection whole, for the next restart.
"${C[@]}" attest --verifier "$TH" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" \
    --eventlog "$WORK/good.log" >/dev/null 2>&1 || true
stop_postgres
pg_run || bad "PostgreSQL restarted" "$WORK/postgres.log"
first_verdict "... again: the first attestation gets a verdict"
expect_exit "audit verify after the outage: the chain holds" 0 "$BIN/verifier" audit verify --registry "$PG_URI" || true

# ---- refusals ----
SRV=(--listen 127.0.0.1:0 --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key"
     --ek-ca "$WORK/ekca" --token-key "$KEY")
expect_exit "a role that does not exist: serve refuses" 2 "$BIN/verifier" serve "${SRV[@]}" \
    --registry "postgresql:///tpa?host=$PG_SOCK&user=intruder&password=hunter2-pw" || true
expect_grep "... naming it" "$WORK/err" 'role "intruder" does not exist'
grep -q "hunter2-pw" "$WORK/err" "$WORK/out" && bad "the password was printed" "$WORK/err" || ok "... the password never printed"
expect_exit "no server there: serve refuses" 2 "$BIN/verifier" serve "${SRV[@]}" \
    --registry "postgresql://tpa@127.0.0.1:1/tpa" || true
expect_grep "... saying it cannot connect" "$WORK/err" "cannot connect"
psql_tpa -d postgres -c 'CREATE DATABASE future' >/dev/null
FUT="postgresql:///future?host=$PG_SOCK&user=tpa"
"$BIN/verifier" devices list --registry "$FUT" >/dev/null 2>&1 || true
expect_exit "devices list on an empty database: refused, not created" 2 "$BIN/verifier" devices list --registry "$FUT" || true
expect_grep "... saying serve creates one" "$WORK/err" "serve --registry creates one"
[ "$(psql_tpa -d future -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 0 ] &&
    ok "... no table made" || bad "an admin command made tables in an empty database"
psql_tpa -d future -c 'CREATE TABLE schema_version(version bigint NOT NULL)' \
    -c 'INSERT INTO schema_version VALUES (99)' >/dev/null
expect_exit "a database of a newer schema: serve refuses" 2 "$BIN/verifier" serve "${SRV[@]}" --registry "$FUT" || true
expect_grep "... naming the version" "$WORK/err" "schema version 99 is newer"
echo "$PG_URI" >"$WORK/registry.conn"
chmod 644 "$WORK/registry.conn"
expect_exit "a connection-string file others may read: refused" 2 "$BIN/verifier" devices list --registry "$WORK/registry.conn" || true
expect_grep "... saying why" "$WORK/err" "chmod 600"
chmod 600 "$WORK/registry.conn"
expect_exit "a private connection-string file: the registry it names" 0 "$BIN/verifier" devices list --registry "$WORK/registry.conn" || true
expect_grep "... the device there" "$WORK/out" "${DEV:0:12}"


# ---- registry check on PostgreSQL ----
# Its tables, schema and counts, and the triggers that keep the audit log,
# its signed heads and the baselines append-only: someone with the owner's
# rights can disable or drop them, and then rewrite the history.
RC=(registry check --registry)
expect_exit "registry check on PostgreSQL (a connection-string file): sound (0)" 0 "$BIN/verifier" \
    "${RC[@]}" "$WORK/registry.conn" || true
expect_grep "... its schema and counts" "$WORK/out" \
    "^registry .*: ok: schema version [0-9]+, [1-9][0-9]* devices? \(0 revoked\), [0-9]+ baselines?, [1-9][0-9]* audit rows"
expect_exit "registry check on a URI with a password: sound (0)" 0 "$BIN/verifier" "${RC[@]}" \
    "postgresql:///tpa?host=$PG_SOCK&user=tpa&password=s3cret-pw" || true
grep -q "s3cret-pw" "$WORK/out" "$WORK/err" && bad "registry check printed the password" "$WORK/out" ||
    ok "... the registry named without the password"
psql_tpa -d tpa -c "ALTER TABLE audit DISABLE TRIGGER audit_append_only" >/dev/null
expect_exit "the audit log's append-only trigger disabled: registry check says damaged (1)" 1 \
    "$BIN/verifier" "${RC[@]}" "$PG_URI" || true
expect_grep "... naming the trigger" "$WORK/err" "the trigger audit_append_only is disabled: its table is not append-only"
psql_tpa -d tpa -c "ALTER TABLE audit ENABLE TRIGGER audit_append_only" \
    -c "DROP TRIGGER baselines_append_only ON baselines" >/dev/null
expect_exit "the baselines' append-only trigger dropped: damaged (1)" 1 "$BIN/verifier" "${RC[@]}" "$PG_URI" || true
expect_grep "... naming it" "$WORK/err" "the trigger baselines_append_only is gone"
psql_tpa -d tpa -c "CREATE TRIGGER baselines_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON
    baselines FOR EACH STATEMENT EXECUTE FUNCTION tpa_refuse('baselines are append-only')" >/dev/null
expect_exit "... put back: sound again (0)" 0 "$BIN/verifier" "${RC[@]}" "$PG_URI" || true
# Schema 8 changed a CHECK on SQLite alone (lib/store_sql.c, schema_v8): a
# registry of schema 7 is checked as it is, nothing written, and the next
# verifier command to open it numbers it 8.
psql_tpa -d tpa -c "UPDATE schema_version SET version = 7" >/dev/null
expect_exit "a registry of schema 7: registry check reads it as it is (0)" 0 "$BIN/verifier" \
    "${RC[@]}" "$PG_URI" || true
expect_grep "... saying a verifier migrates it" "$WORK/out" \
    "^schema version 7 is migrated to 8 when a verifier opens it$"
[ "$(psql_tpa -d tpa -Atc "SELECT string_agg(version::text, ',') FROM schema_version")" = 7 ] &&
    ok "... and wrote nothing" || bad "registry check migrated the schema"
expect_exit "an admin command opens it" 0 "$BIN/verifier" devices list --registry "$PG_URI" || true
[ "$(psql_tpa -d tpa -Atc "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version")" = 7,8 ] &&
    ok "... and numbers it 8" || bad "schema 7 on PostgreSQL was not numbered 8"
expect_exit "... sound (0)" 0 "$BIN/verifier" "${RC[@]}" "$PG_URI" || true
expect_grep "... at schema 8" "$WORK/out" "^registry .*: ok: schema version 8,"
psql_tpa -d tpa -c "UPDATE schema_version SET version = 5" >/dev/null
expect_exit "a schema no verifier made on PostgreSQL (5): registry check refuses (1)" 1 \
    "$BIN/verifier" "${RC[@]}" "$PG_URI" || true
expect_grep "... naming it" "$WORK/err" "schema version 5 on PostgreSQL is none this verifier made \(PostgreSQL registries begin at 7\)"
expect_exit "... and so does an admin command (2)" 2 "$BIN/verifier" devices list --registry "$PG_URI" || true
[ "$(psql_tpa -d tpa -Atc "SELECT string_agg(version::text, ',') FROM schema_version")" = 5,5 ] &&
    ok "... writing nothing" || bad "a schema no verifier made was written to"
psql_tpa -d tpa -c "DELETE FROM schema_version" -c "INSERT INTO schema_version VALUES (8)" >/dev/null
psql_tpa -d postgres -c 'CREATE DATABASE empty' >/dev/null
expect_exit "registry check of an empty database: refused (2)" 2 "$BIN/verifier" "${RC[@]}" \
    "postgresql:///empty?host=$PG_SOCK&user=tpa" || true
[ "$(psql_tpa -d empty -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 0 ] &&
    ok "... and nothing made there" || bad "registry check made tables in an empty database"
expect_exit "registry check of a database of a newer schema: refused (2)" 2 "$BIN/verifier" "${RC[@]}" "$FUT" || true
expect_grep "... naming the version" "$WORK/err" "schema version 99 is newer"
stop_verifiers
stop_postgres
summary
