#!/usr/bin/env bash
# make bench, section "enforcement" (issue 16, Performance): figures, not
# checks.
#  a. change -> enforcement point acting, median and max over 20 changes of
#     each kind, at a NAS's Dynamic Authorization Server
#     (tests/integration/das_nas.py: the Disconnect-Request's arrival) and at
#     a CAEP receiver (tests/integration/caep_receiver.py: the SET's
#     arrival), for a `verifier devices revoke` from another process (seen by
#     the watcher's poll of the registry) and for a failed re-attestation in
#     the verifier itself (acted on at once). The change's time is taken just
#     before the command is run (date +%s%N); beside it, in the same run, the
#     watcher's tick and the command's own wall time, to see what part is
#     the poll. Then the revoke again with TPA_BENCH_ENFORCE_FLEET (10 000)
#     other devices planted in the registry: each look lists them all.
#  b. outbox delivery rate: N CAEP items planted in the registry's outbox
#     with the verifier stopped, then the time from its start until the
#     receiver has them all; beside it, in the same run, the receiver alone
#     (N SETs of the same shape, signed by the same key, POSTed over one
#     keep-alive connection) and the rate of SQLite commits with WAL and
#     synchronous=FULL in the same directory (each delivery commits one
#     transaction: the outbox row deleted, its audit row added).
# swtpm, a real device enrolled, attested and appraised, as
# tests/integration/test_enforce.sh sets it up. Run by tests/bench/run.sh,
# or alone:
# usage: tests/bench/enforce.sh BUILD_DIR
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
case $BUILD in /*) BIN=$BUILD ;; *) BIN=$ROOT/$BUILD ;; esac
export TPA_SIMULATOR=$ROOT/simulator/tpa-swtpm
. "$ROOT/scripts/common.sh"
PY=/usr/bin/python3
W=$(mktemp -d /tmp/tpa-bench-enforce-XXXXXX)
VPID= NASPID= RPID=
CHANGES=${TPA_BENCH_ENFORCE_CHANGES:-20}
N=${TPA_BENCH_OUTBOX_ITEMS:-2000}
stop_pid() { # PID: SIGTERM, and waits for it
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    stop_pid "$VPID"; stop_pid "$RPID"; stop_pid "$NASPID"
    "$ROOT/simulator/tpa-swtpm" stop "$W/tpm" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
die() { echo "enforce bench: $1"; [ -n "${2:-}" ] && tail -20 "$2"; exit 1; }
now_ns() { date +%s%N; }

# ---- a device, as test_enforce.sh: certs, swtpm, enroll, baseline ----
"$ROOT/scripts/demo-certs.sh" "$W/certs" >/dev/null
CERTS=$W/certs
CA=$CERTS/ca.pem
TCTI=$("$ROOT/simulator/tpa-swtpm" start "$W/tpm")
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/good.json" --log "$W/good.log" \
    --tcti "$TCTI" >/dev/null
# An event log of another boot: it does not replay to this TPM's PCRs.
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/tampered-bootloader.json" \
    --log "$W/bad.log" >/dev/null
mkdir -p "$W/ekca"
cp "$W/tpm/ca/swtpm-localca-rootca-cert.pem" "$W/tpm/ca/issuercert.pem" "$W/ekca/"
DB=$W/registry.db
printf 'das-secret-%s\n' "$RANDOM$RANDOM" >"$W/das.secret"

echo ack >"$W/nas.mode"
"$PY" "$ROOT/tests/integration/das_nas.py" "$(head -1 "$W/das.secret")" "$W/nas.port" \
    "$W/nas.jsonl" ack "$W/nas.mode" >"$W/nas.out" 2>"$W/nas.err" &
NASPID=$!
for _ in $(seq 200); do [ -s "$W/nas.port" ] && break; sleep 0.05; done
[ -s "$W/nas.port" ] || die "the NAS did not start" "$W/nas.err"
RPORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RURL=http://127.0.0.1:$RPORT/caep
AUD=urn:example:idp
VARGS=(--cert "$CERTS/server.pem" --key "$CERTS/server.key" --registry "$DB" --ek-ca "$W/ekca"
       --token-key "$W/token.jwk" --client-ca "$CERTS/rp-ca.pem" --relying-party policy-engine
       --radius-accounting-from policy-engine --http-listen 127.0.0.1:0
       --radius-das "127.0.0.1:$(cat "$W/nas.port"),$W/das.secret" --caep-receiver "$RURL,aud=$AUD")
serve() { # OUT: starts the verifier; sets VPID, PORT, HP
    rm -f "$W/$1.out"   # see wait_listening
    "$BIN/verifier" serve --listen 127.0.0.1:0 "${VARGS[@]}" >"$W/$1.out" 2>"$W/$1.err" &
    VPID=$!
    wait_listening "$W/$1.out" "$VPID" 1500 || die "the verifier did not start" "$W/$1.err"
    for _ in $(seq 1500); do grep -q '^http listening' "$W/$1.out" && break; sleep 0.02; done
    HP=$(sed -n 's/^http listening on port \([0-9]*\) .*/\1/p' "$W/$1.out")
    [ -n "$HP" ] || die "the HTTP face did not start" "$W/$1.err"
}
serve v
TARGET=127.0.0.1:$PORT
A=("$BIN/attest_client" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$W/ak.bin")
"$BIN/attest_client" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$W/ak.bin" \
    >"$W/enroll.out" 2>&1 || die "enroll failed" "$W/enroll.out"
DEV=$(sed -n 's/^enrolled: device //p' "$W/enroll.out")
"${A[@]}" --eventlog "$W/good.log" >/dev/null 2>&1 || true
"$BIN/verifier" baseline learn --registry "$DB" --device "$DEV" --name fleet --out "$W/fleet.json" >/dev/null
"$BIN/verifier" baseline add --registry "$DB" "$W/fleet.json" >/dev/null
"$BIN/verifier" baseline assign --registry "$DB" --device "$DEV" fleet >/dev/null
"${A[@]}" --eventlog "$W/good.log" >"$W/att.out" 2>&1 || die "attest: not compliant" "$W/att.out"
"$BIN/verifier" keys fetch --verifier "$TARGET" --ca "$CA" >"$W/jwks.json"

receiver() { # OUT: the receiver, a line in OUT per SET (received_at: when
    # it was checked, before its 202, in microseconds); sets RPID
    rm -f "$W/recv.out"
    "$PY" "$ROOT/tests/integration/caep_receiver.py" --port "$RPORT" --jwks "$W/jwks.json" \
        --audience "$AUD" --issuer tpm-attest --out "$1" >"$W/recv.out" 2>"$W/recv.err" &
    RPID=$!
    for _ in $(seq 200); do grep -q '^listening' "$W/recv.out" 2>/dev/null && break; sleep 0.05; done
    grep -q '^listening' "$W/recv.out" || die "the CAEP receiver did not start" "$W/recv.err"
}
receiver "$W/sets.jsonl"
lines() { if [ -f "$1" ]; then grep -c -- "${2:-.}" "$1" || true; else echo 0; fi; }
wait_lines() { # FILE PATTERN COUNT SECONDS
    local i
    for ((i = 0; i < $4 * 200; i++)); do
        [ "$(lines "$1" "$2")" -ge "$3" ] && return 0
        sleep 0.005
    done
    return 1
}
wait_lines "$W/sets.jsonl" '"compliant"' 1 10 || die "no compliant SET at the receiver" "$W/v.err"

CURL=(curl -sS --cacert "$CA" --cert "$CERTS/client.pem" --key "$CERTS/client.key")
CLASS=$(printf 'tpa:%s:c' "$DEV" | od -An -tx1 | tr -d ' \n')
session_start() { # ID
    local c
    c=$("${CURL[@]}" -o "$W/body" -w '%{http_code}' -X POST \
        "https://127.0.0.1:$HP/v1/radius/accounting?status=Start&class=0x$CLASS&session=$1&nas_ip=127.0.0.1&user=dev1" || true)
    [ "$c" = 204 ] || die "accounting Start $1: HTTP $c" "$W/body"
}

# ---- a. change -> enforcement ----
# One line per change in $W/trials: KIND SESSION T0_NS T1_NS (T1: the
# command returned). Each change ends the session opened before it and
# sends one not-compliant SET; the device is made compliant again after.
: >"$W/trials"
missed=0
trial() { # KIND SESSION CMD...: the change, then the wait for both points
    local kind=$1 sess=$2 t0 t1 nc
    shift 2
    nc=$(lines "$W/sets.jsonl" '"not-compliant"')
    t0=$(now_ns)
    "$@" >"$W/cmd.out" 2>&1 || true
    t1=$(now_ns)
    echo "$kind $sess $t0 $t1" >>"$W/trials"
    wait_lines "$W/nas.jsonl" "\"Acct-Session-Id\": \"$sess\"" 1 5 &&
        wait_lines "$W/sets.jsonl" '"not-compliant"' $((nc + 1)) 5 || missed=$((missed + 1))
}
compliant_again() { # ATTEST_OUT: attests with the good log, waits for its SET
    local c
    c=$(lines "$W/sets.jsonl" '"current": "compliant"')
    "${A[@]}" --eventlog "$W/good.log" >"$1" 2>&1 || die "attest: not compliant again" "$1"
    wait_lines "$W/sets.jsonl" '"current": "compliant"' $((c + 1)) 5 || missed=$((missed + 1))
}
for i in $(seq "$CHANGES"); do
    session_start "R-$i"
    # The accounting Start restarted the watcher's tick: the revoke comes a
    # random 0..199 ms after it, to fall anywhere in the tick.
    sleep "0.$(printf '%03d' $((RANDOM % 200)))"
    trial revoke "R-$i" "$BIN/verifier" devices revoke --registry "$DB" "$DEV"
    "$BIN/verifier" devices reinstate --registry "$DB" "$DEV" >/dev/null
    sleep 1.1   # a verdict in the second of the reinstate does not count after it
    compliant_again "$W/att.out"
done
for i in $(seq "$CHANGES"); do
    session_start "F-$i"
    trial attest-fail "F-$i" "${A[@]}" --eventlog "$W/bad.log"
    grep -q '^verdict: COMPLIANT' "$W/cmd.out" && die "the attestation with another boot's log passed" "$W/cmd.out"
    compliant_again "$W/att.out"
done

# ---- a2. the revoke again, with a fleet in the registry ----
# Each look of the watcher lists every device (lib/watch.c): FLEET other
# devices planted (active, never attested, already seen by the watcher as
# not compliant), the verifier restarted on that registry, then the revoke
# trials again, half as many.
FLEET=${TPA_BENCH_ENFORCE_FLEET:-10000}
stop_pid "$VPID"; VPID=
"$PY" - "$DB" "$FLEET" <<'PY'
import secrets, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=10)
now = int(time.time())
with c:
    for _ in range(int(sys.argv[2])):
        i = secrets.token_hex(32)
        c.execute("INSERT INTO devices(id, ek_public, state, enrolled_at) VALUES(?, ?, 'active', ?)",
                  (i, secrets.token_bytes(65), now))
        c.execute("INSERT INTO notified(device_id, compliant, reason, at) "
                  "VALUES(?, 0, 'the device never attested', ?)", (i, now))
PY
serve v3
TARGET=127.0.0.1:$PORT
A=("$BIN/attest_client" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$W/ak.bin")
for i in $(seq $(((CHANGES + 1) / 2))); do
    session_start "B-$i"
    sleep "0.$(printf '%03d' $((RANDOM % 200)))"
    trial revoke-fleet "B-$i" "$BIN/verifier" devices revoke --registry "$DB" "$DEV"
    "$BIN/verifier" devices reinstate --registry "$DB" "$DEV" >/dev/null
    sleep 1.1
    compliant_again "$W/att.out"
done

echo "change -> enforcement point acting, $CHANGES changes of each kind; the change's time is"
echo "taken just before its command is run (date +%s%N); the NAS: the Disconnect-Request's"
echo "arrival at das_nas.py; the receiver: the SET's arrival at caep_receiver.py"
"$PY" - "$W/trials" "$W/nas.jsonl" "$W/sets.jsonl" "$DEV" "$missed" "$FLEET" <<'PY'
import json, statistics, sys
trials = [l.split() for l in open(sys.argv[1])]
nas = [json.loads(l) for l in open(sys.argv[2])]
sets = [json.loads(l) for l in open(sys.argv[3])]
dev, missed = sys.argv[4], int(sys.argv[5])
def fig(v):
    return "median %6.1f ms, max %6.1f ms" % (statistics.median(v), max(v)) if v else "none"
what = {"revoke": "verifier devices revoke, another process",
        "attest-fail": "a failed re-attestation, in the verifier",
        "revoke-fleet": "the same revoke, %s other devices in the registry" % sys.argv[6]}
for kind in ("revoke", "attest-fail", "revoke-fleet"):
    at_nas, at_recv, wall = [], [], []
    for k, sess, t0, t1 in (t for t in trials if t[0] == kind):
        t0, t1 = int(t0) / 1e9, int(t1) / 1e9
        wall.append((t1 - t0) * 1e3)
        d = [r["at"] for r in nas if r.get("Acct-Session-Id") == sess and r["code"] == 40]
        if d:
            at_nas.append((min(d) - t0) * 1e3)
        s = [r["received_at"] for r in sets if r["sub"] == dev and r["current"] == "not-compliant"
             and r["received_at"] >= t0]
        if s:
            at_recv.append((min(s) - t0) * 1e3)
    print("  %s (%d changes):" % (what[kind], len(wall)))
    print("    at the NAS (Disconnect-Request) %s (%d seen)" % (fig(at_nas), len(at_nas)))
    print("    at the receiver (CAEP SET)      %s (%d seen)" % (fig(at_recv), len(at_recv)))
    print("    the command's own wall time     %s" % fig(wall))
print("  beside them: the watcher looks at the registry every 200 ms (TPA_WATCH_TICK_MS), and at")
print("  once when this verifier records a verdict; a change in another process waits 0..200 ms")
print("  for the next look after its command commits (each revoke here comes a random 0..199 ms")
print("  after the session's accounting Start, which restarts the tick)")
if missed:
    print("  (%d waits of 5 s ended with nothing at a point)" % missed)
PY

# ---- b. outbox delivery rate ----
# Everything owed delivered first, then the verifier stopped.
outbox_n() { "$PY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
print(c.execute("SELECT count(*) FROM outbox").fetchone()[0])' "$DB"; }
for _ in $(seq 500); do [ "$(outbox_n)" = 0 ] && break; sleep 0.02; done
stop_pid "$VPID"; VPID=
stop_pid "$RPID"; RPID=
audit0=$("$PY" - "$DB" "$N" "$RURL" "$DEV" <<'PY'
import json, secrets, sqlite3, sys, time
db, n, target, dev = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = sqlite3.connect(db, timeout=10)
now = int(time.time())
with c:
    for i in range(n):
        ok = i % 2 == 1
        body = json.dumps({"jti": secrets.token_hex(16), "device_id": dev, "compliant": ok,
                           "previous": 0 if ok else 1, "reason": "" if ok else "bench: planted",
                           "at": now}, separators=(",", ":"))
        c.execute("INSERT INTO outbox(kind, target, device_id, body, created_at, next_at, attempts) "
                  "VALUES('caep', ?, ?, ?, ?, ?, 0)", (target, dev, body, now, now))
print(c.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()[0])
PY
)
[ "$(outbox_n)" = "$N" ] || die "the outbox does not hold the $N items planted"
cpu_ms() { # PID: its CPU time so far (user + system, all threads), ms
    awk -v t="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / t }' "/proc/$1/stat"
}
receiver "$W/bulk.jsonl"
rcpu0=$(cpu_ms "$RPID")
t0=$(now_ns)
serve v2
# Polled seldom: the figures are the receiver's stamps, and this box's
# cores are shared with the verifier and the receiver.
for _ in $(seq 1200); do [ "$(lines "$W/bulk.jsonl")" -ge "$N" ] && break; sleep 0.1; done
[ "$(lines "$W/bulk.jsonl")" -ge "$N" ] || echo "(not all $N delivered within 120 s)"
for _ in $(seq 500); do [ "$(outbox_n)" = 0 ] && break; sleep 0.02; done
cpu="$(cpu_ms "$VPID") $(awk -v a="$(cpu_ms "$RPID")" -v b="$rcpu0" 'BEGIN { print a - b }')"
audit_rows=$("$PY" - "$DB" "$audit0" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
a = int(sys.argv[2])
print(c.execute("SELECT count(*) FROM audit WHERE seq > ?", (a,)).fetchone()[0],
      c.execute("SELECT count(*) FROM audit WHERE seq > ? AND event = 'caep-delivered'",
                (a,)).fetchone()[0])
PY
)
stop_pid "$VPID"; VPID=
stop_pid "$RPID"; RPID=

# The receiver alone: N SETs as the verifier makes them (lib/caep.c), signed
# by its key before the clock starts, POSTed in turn over one keep-alive
# connection, as the verifier's one pusher per receiver does.
receiver "$W/alone.jsonl"
rcpu0=$(cpu_ms "$RPID")
"$PY" - "$W/token.jwk" "$RPORT" "$AUD" "$DEV" "$N" >"$W/alone.txt" <<'PY'
import http.client, json, secrets, sys, time
import jwt
EVENT = "https://schemas.openid.net/secevent/caep/event-type/device-compliance-change"
jwk, port, aud, dev, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
doc = json.load(open(jwk))
# The verifier's key file: {"keys": [{"state": ..., "jwk": {...}}, ...]}.
doc = next(k["jwk"] for k in doc["keys"] if k.get("state") == "active")
key = jwt.PyJWK(doc, algorithm="ES256")
now = int(time.time())
sets = []
for i in range(n):
    ok = i % 2 == 1
    ev = {"current_status": "compliant" if ok else "not-compliant", "event_timestamp": now,
          "previous_status": "not-compliant" if ok else "compliant"}
    if not ok:
        ev["reason_admin"] = {"en": "bench: planted"}
    claims = {"iss": "tpm-attest", "jti": secrets.token_hex(16), "iat": now, "aud": aud,
              "sub_id": {"format": "opaque", "id": dev}, "events": {EVENT: ev}}
    sets.append(jwt.encode(claims, key.key, algorithm="ES256",
                           headers={"typ": "secevent+jwt", "kid": doc["kid"]}).encode())
c = http.client.HTTPConnection("127.0.0.1", port)
t0 = time.time()
for s in sets:
    c.request("POST", "/caep", body=s, headers={"Content-Type": "application/secevent+jwt"})
    r = c.getresponse()
    r.read()
    if r.status != 202:
        sys.exit("the receiver answered %d" % r.status)
print("%.6f %.6f" % (t0, time.time()))
PY
wait_lines "$W/alone.jsonl" . "$N" 10 || true
cpu="$cpu $(awk -v a="$(cpu_ms "$RPID")" -v b="$rcpu0" 'BEGIN { print a - b }')"
stop_pid "$RPID"; RPID=

# SQLite alone: one transaction per delivery as the verifier's (an outbox
# row deleted, an audit row added), WAL and synchronous=FULL, beside the
# registry.
"$PY" - "$W/commits.db" "$N" >"$W/commits.txt" <<'PY'
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
n = int(sys.argv[2])
c.execute("PRAGMA journal_mode = WAL")
c.execute("PRAGMA synchronous = FULL")
c.execute("CREATE TABLE outbox(id INTEGER PRIMARY KEY, body TEXT)")
c.execute("CREATE TABLE audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER, detail TEXT)")
c.execute("BEGIN")
for i in range(n):
    c.execute("INSERT INTO outbox(body) VALUES(?)", ("x" * 300,))
c.execute("COMMIT")
t0 = time.time()
for i in range(1, n + 1):
    c.execute("BEGIN IMMEDIATE")
    c.execute("DELETE FROM outbox WHERE id = ?", (i,))
    c.execute("INSERT INTO audit(at, detail) VALUES(?, ?)", (int(t0), "to a receiver: jti x" * 4))
    c.execute("COMMIT")
print("%.6f" % (n / (time.time() - t0)))
PY

echo
echo "outbox delivery: $N CAEP items planted in the registry's outbox, the verifier started with"
echo "the receiver up"
"$PY" - "$W/bulk.jsonl" "$t0" "$N" "$audit_rows" "$W/alone.txt" "$W/alone.jsonl" \
    "$(cat "$W/commits.txt")" "$cpu" "$(nproc)" <<'PY'
import json, sys
bulk = [json.loads(l)["received_at"] for l in open(sys.argv[1])]
t0, n = int(sys.argv[2]) / 1e9, int(sys.argv[3])
rows, delivered_rows = (int(x) for x in sys.argv[4].split())
a0, a1 = (float(x) for x in open(sys.argv[5]).read().split())
alone = sum(1 for _ in open(sys.argv[6]))
commits = float(sys.argv[7])
got = len(bulk)
rate = got / (max(bulk) - t0) if got else 0
steady = (got - 1) / (max(bulk) - min(bulk)) if got > 1 else 0
recv = n / (a1 - a0)
print("  the verifier: %d of %d delivered, %.0f deliveries/s from its start (first after %.0f ms),"
      % (got, n, rate, (min(bulk) - t0) * 1e3 if got else 0))
print("                %.0f/s from the first delivery to the last" % steady)
print("  beside it:    the receiver alone, %d SETs over one keep-alive connection: %.0f SETs/s"
      % (alone, recv))
print("                SQLite alone, one WAL synchronous=FULL commit per delivery (as the verifier's,")
print("                same file system): %.0f commits/s" % commits)
print("  the registry's audit rows added: %d (%d caep-delivered), %.2f per delivery: one"
      % (rows, delivered_rows, rows / got if got else 0))
print("                transaction with its fsync per delivery")
bound = min((recv, "the receiver"), (commits, "the fsync of each delivery's commit"))
vcpu, rcpu, acpu = (float(x) for x in sys.argv[8].split())
print("  CPU per delivery: the verifier %.3f ms (user + system, all its threads, since its start),"
      % (vcpu / got if got else 0))
print("                the receiver %.3f ms per SET (%.3f ms alone); wall per delivery %.3f ms;"
      % (rcpu / got if got else 0, acpu / n, 1e3 / steady if steady else 0))
print("                %s cores" % sys.argv[9])
wall = 1e3 / steady if steady else 0
print("  so: %.0f%% of the receiver alone, %.0f%% of SQLite's commit rate:"
      % (100 * steady / recv, 100 * steady / commits))
print("      %s;" % ("the fsync of each delivery's commit is the bound" if commits < 1.5 * steady
                     else "the commit's fsync is not the bound on this disk"))
print("      one SET in flight at a time: the verifier's CPU and the receiver's per delivery add up")
print("      to %.3f of the %.3f ms each takes (one commit alone %.3f ms)"
      % ((vcpu + rcpu) / got if got else 0, wall, 1e3 / commits))
PY
