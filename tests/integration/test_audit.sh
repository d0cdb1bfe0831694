#!/usr/bin/env bash
# The tamper-evident audit log end to end: a real verifier writes a real
# registry (a swtpm device enrolls and attests, an operator labels, revokes
# and adds baselines), signs the chain's head as rows come and at shutdown;
# then the file is tampered with directly (python3's sqlite3, triggers
# dropped first): a middle row deleted, a row's detail edited, two rows
# swapped, the last rows deleted after a signed head, heads forged. Each must
# make `verifier audit verify` fail naming the right row; the untouched
# registry verifies, by our code and by an independent check in python3
# (hashlib, python3-jwt) of what `audit export --format json` prints. The
# default JSON-lines export is read as a SIEM would: every line parsed, the
# chain linked, each attestation's outcome; --since by seq and by time, a
# bad --since refused by name.
# usage: test_audit.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_audit.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: audit log (hash chain, signed heads, tampering)"
"$ROOT/scripts/demo-certs.sh" "$WORK/certs" >/dev/null
CA=$WORK/certs/ca.pem
start_swtpm "$WORK/tpm"
mkdir -p "$WORK/ekca"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
DB=$WORK/registry.db
KEY=$WORK/token.jwk
BL=$ROOT/tests/data/baselines/evidence-only.json
V=(${VALGRIND:-} "$BIN/verifier")
C=(${VGC:-} "$BIN/attest_client")
PY=/usr/bin/python3

# ---- a registry written by the real verifier ----
start_verifier v --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$DB" --ek-ca "$WORK/ekca" --baseline "$BL" --token-key "$KEY" \
    --audit-sign-rows 4 --audit-sign-interval 3600
SERVE=$VPID
TARGET=127.0.0.1:$PORT
# wait_head SEQ: until serve says it signed the head at SEQ (it checks once
# a second).
wait_head() {
    for _ in $(seq 1 300); do
        grep -qE "audit: signed the head\"? seq=$1 " "$WORK/v.err" && break
        sleep 0.1
    done
    expect_grep "serve signs the head at seq $1 (--audit-sign-rows 4)" "$WORK/v.err" \
        "audit: signed the head\"? seq=$1 kid="
}
expect_exit "enroll" 0 "${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" \
    --ak-file "$WORK/ak.bin" || true
DEV=$(sed -n 's/^enrolled: device //p' "$WORK/out")
for i in 1 2 3; do
    expect_exit "attest $i" 0 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" \
        --ak-file "$WORK/ak.bin" || true
done
wait_head 4
# The operator's commands write to the same file while it serves.
for l in lab-a lab-b lab-c; do
    expect_exit "devices label $l" 0 "${V[@]}" devices label --registry "$DB" "$DEV" "$l" || true
done
expect_exit "devices revoke" 0 "${V[@]}" devices revoke --registry "$DB" "$DEV" || true
wait_head 8
expect_exit "devices reinstate" 0 "${V[@]}" devices reinstate --registry "$DB" "$DEV" || true
expect_exit "baseline add" 0 "${V[@]}" baseline add --registry "$DB" "$BL" || true
expect_exit "attest again" 0 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" \
    --ak-file "$WORK/ak.bin" || true
# 3 rows under no head: not due (4 rows, an hour), until the shutdown.
sleep 1.5
grep -q 'signed the head" seq=11 ' "$WORK/v.err" &&
    bad "... not before 4 new rows or an hour" "$WORK/v.err" || ok "... not before 4 new rows or an hour"
kill -TERM "$SERVE"
set +e
wait "$SERVE"
rc=$?
set -e
[ "$rc" -eq 0 ] && ok "verifier v: stopped cleanly" || bad "verifier v: exit $rc on SIGTERM" "$WORK/v.err"
expect_grep "... and signs the last row at shutdown" "$WORK/v.err" \
    'level=info msg="audit: signed the head" seq=11 kid=[A-Za-z0-9_-]+$'
# Its stderr in order: the shutdown's head after "stopping ... signal=SIGTERM".
sed -n '/msg="stopping: .* signal=SIGTERM/,$p' "$WORK/v.err" | grep -q 'signed the head" seq=11 ' &&
    ok "... after the calls in flight finished" || bad "... after the calls in flight finished" "$WORK/v.err"
expect_exit "keys jwks" 0 "${V[@]}" keys jwks --token-key "$KEY" || true
cp "$WORK/out" "$WORK/jwks.json"

A=("${V[@]}" audit verify --jwks "$WORK/jwks.json" --registry)
expect_exit "the registry verifies (0)" 0 "${A[@]}" "$DB" || true
expect_grep "... 11 rows, every one under a signed head" "$WORK/out" \
    '^audit log intact: 11 rows, 3 signed heads \(the latest at seq 11\)$'
expect_exit "... also as JSON" 0 "${A[@]}" "$DB" --json || true
expect_grep "... intact, signatures checked" "$WORK/out" '"signatures_checked": true'
expect_exit "without --jwks it verifies, saying the signatures were not checked" 0 \
    "${V[@]}" audit verify --registry "$DB" || true
expect_grep "... so" "$WORK/out" 'signatures NOT checked'

# ---- the export, checked by code nobody here wrote ----
expect_exit "audit export --format json" 0 "${V[@]}" audit export --format json --registry "$DB" || true
cp "$WORK/out" "$WORK/export.json"
cat >"$WORK/chain.py" <<'PY'
# The chain recomputed from docs/audit.md with hashlib; the latest head's
# JWS checked with python3-jwt against the JWKS. Prints the rows' events.
import hashlib, json, struct, sys
import jwt
d = json.load(open(sys.argv[1]))
jwks = json.load(open(sys.argv[2]))
assert d["format"] == "tpa-audit-v1" and d["genesis"] == "00" * 32
prev = bytes(32)
for i, r in enumerate(d["rows"]):
    assert r["seq"] == i + 1, r
    h = hashlib.sha256()
    def b(x): h.update(struct.pack(">I", len(x)) + x)
    b(b"tpa-audit-v1")
    h.update(struct.pack(">qq", r["seq"], r["at"]))
    if r["device_id"] is None:
        h.update(b"\0")
    else:
        h.update(b"\1"); b(r["device_id"].encode())
    b(r["event"].encode()); b(r["detail"].encode()); h.update(prev)
    assert r["prev_hash"] == prev.hex(), r
    assert r["hash"] == h.hexdigest(), r
    prev = h.digest()
head = d["signed_head"]
hdr = jwt.get_unverified_header(head["jws"])
assert hdr["typ"] == "tpa-audit-head" and hdr["alg"] == "ES256", hdr
key = [k for k in jwks["keys"] if k["kid"] == hdr["kid"]][0]
claims = jwt.decode(head["jws"], jwt.PyJWK(key).key, algorithms=["ES256"])
assert claims["seq"] == head["seq"] == len(d["rows"]), claims
assert claims["hash"] == head["hash"] == prev.hex(), claims
print(" ".join(r["event"] for r in d["rows"]))
PY
$PY "$WORK/chain.py" "$WORK/export.json" "$WORK/jwks.json" >"$WORK/py.out" 2>&1 &&
    ok "python3 recomputes every hash and checks the head's signature (python3-jwt)" ||
    bad "python3 recomputes every hash and checks the head's signature (python3-jwt)" "$WORK/py.out"
expect_grep "... over every decision, in order" "$WORK/py.out" \
    '^enroll attest attest attest label label label revoke reinstate baseline-add attest$'
$PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["signed_head"]["jws"])' \
    "$WORK/export.json" >"$WORK/head.jws"

# ---- the export as JSON lines, read as a SIEM would ----
expect_exit "audit export (JSON lines)" 0 "${V[@]}" audit export --registry "$DB" || true
cp "$WORK/out" "$WORK/export.jsonl"
"$BIN/verifier" devices list --json --registry "$DB" >"$WORK/devices.json"
cat >"$WORK/siem.py" <<'PY'
# Every line one JSON object; rows in seq order, each linked to the one
# before; each attestation's verdict; the latest signed head last. Prints
# "SEQ EVENT [OUTCOME]" per row.
import datetime, json, sys
lines = open(sys.argv[1]).read().splitlines()
first = int(sys.argv[2]) if len(sys.argv) > 2 else 1
objs = [json.loads(l) for l in lines]
rows = [o for o in objs if o["type"] == "row"]
heads = [o for o in objs if o["type"] == "signed_head"]
assert len(rows) + len(heads) == len(objs), objs
assert len(heads) == 1 and objs[-1] is heads[0], heads
if first == 1:
    assert rows[0]["prev_hash"] == "00" * 32, rows[0]
assert rows[0]["seq"] == first, rows[0]
for a, b in zip(rows, rows[1:]):
    assert b["seq"] == a["seq"] + 1 and b["prev_hash"] == a["hash"], (a, b)
for r in rows:
    t = datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%SZ")
    assert t.replace(tzinfo=datetime.timezone.utc).timestamp() == r["at"], r
    assert len(r["hash"]) == 64 and isinstance(r["detail"], (str, dict)), r
    if r["event"] == "attest":
        v = r["verdict"]
        assert v["outcome"] in ("compliant", "warning", "non-compliant", "no-baseline"), v
        assert v["compliant"] == (v["outcome"] in ("compliant", "warning")), v
    else:
        assert "verdict" not in r, r
assert heads[0]["seq"] == rows[-1]["seq"] and heads[0]["hash"] == rows[-1]["hash"], heads
if len(sys.argv) > 3:
    dev = json.load(open(sys.argv[3]))
    dev = (dev["devices"] if isinstance(dev, dict) else dev)[0]
    last = [r for r in rows if r["event"] == "attest"][-1]
    assert last["verdict"]["outcome"] == dev["last_outcome"], (last, dev)
    assert last["verdict"]["baseline"] == (dev.get("last_baseline") or None), (last, dev)
for r in rows:
    print(r["seq"], r["event"], r.get("verdict", {}).get("outcome", ""))
PY
$PY "$WORK/siem.py" "$WORK/export.jsonl" 1 "$WORK/devices.json" >"$WORK/siem.out" 2>&1 &&
    ok "... every line parses, the chain links, each attestation's verdict as devices list has it" ||
    bad "... every line parses, the chain links, each attestation's verdict as devices list has it" \
        "$WORK/siem.out"
expect_grep "... 11 rows, 4 attestations with their outcome" "$WORK/siem.out" '^11 attest [a-z-]+$'
[ "$(grep -cE '^[0-9]+ attest [a-z-]+$' "$WORK/siem.out")" = 4 ] && ok "... 4 attestations" ||
    bad "... 4 attestations" "$WORK/siem.out"
expect_exit "audit export --since 5" 0 "${V[@]}" audit export --since 5 --registry "$DB" || true
cp "$WORK/out" "$WORK/since.jsonl"
$PY "$WORK/siem.py" "$WORK/since.jsonl" 5 >"$WORK/siem.out" 2>&1 &&
    ok "... from row 5, linked, the head last" || bad "... from row 5, linked, the head last" "$WORK/siem.out"
[ "$(wc -l <"$WORK/since.jsonl")" = 8 ] && ok "... rows 5 to 11 and the head" ||
    bad "... rows 5 to 11 and the head" "$WORK/since.jsonl"
expect_exit "audit export --since 2099-01-01" 0 "${V[@]}" audit export --since 2099-01-01 --registry "$DB" || true
[ "$(grep -c '"type":"row"' "$WORK/out")" = 0 ] && [ "$(wc -l <"$WORK/out")" = 1 ] &&
    ok "... no rows, the head" || bad "... no rows, the head" "$WORK/out"
expect_exit "audit export --since 2000-01-01T00:00:00Z" 0 \
    "${V[@]}" audit export --since 2000-01-01T00:00:00Z --registry "$DB" || true
cmp -s "$WORK/out" "$WORK/export.jsonl" && ok "... every row" || bad "... every row" "$WORK/out"
for s in yesterday 0 2026-13-01 99999999999999999999 -5; do
    expect_exit "audit export --since $s: refused (2)" 2 "${V[@]}" audit export --since "$s" \
        --registry "$DB" || true
    expect_grep "... naming it" "$WORK/err" "audit export: --since $s: "
done
expect_exit "audit export --since with --format json: refused (2)" 2 \
    "${V[@]}" audit export --since 3 --format json --registry "$DB" || true
expect_exit "audit export --format xml: refused (2)" 2 "${V[@]}" audit export --format xml --registry "$DB" || true
expect_grep "... naming it" "$WORK/err" "verifier: audit: --format xml: lines or json"
expect_exit "audit verify --since: refused (2)" 2 "${V[@]}" audit verify --since 3 --registry "$DB" || true
expect_exit "audit export --output FILE" 0 "${V[@]}" audit export --output "$WORK/siem.jsonl" --registry "$DB" || true
cmp -s "$WORK/siem.jsonl" "$WORK/export.jsonl" && ok "... the same lines" || bad "... the same lines"
[ "$(stat -c %a "$WORK/siem.jsonl")" = 600 ] && ok "... mode 0600" || bad "... mode 0600"
[ -s "$WORK/out" ] && bad "... nothing on stdout" "$WORK/out" || ok "... nothing on stdout"

# ---- tampering: a copy each, triggers dropped ----
# tamper NAME PYTHON: $WORK/NAME.db is the registry with PYTHON run on it
# (c: a connection); sets T.
tamper() {
    T=$WORK/$1.db
    cp "$DB" "$T"
    rm -f "$T-wal" "$T-shm"
    $PY - "$T" "$2" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for t in ("audit_no_update", "audit_no_delete", "audit_heads_no_update", "audit_heads_no_delete"):
    c.execute("DROP TRIGGER IF EXISTS " + t)
exec(sys.argv[2])
c.commit()
PY
}
# broken NAME PATTERN: verify exits 1 naming the row
broken() {
    expect_exit "$1: verify fails (1)" 1 "${A[@]}" "$T" || true
    expect_grep "... naming it: $2" "$WORK/out" "^audit log BROKEN: $2"
}
# The hashes recomputed over a rewritten log, as a forger with the file would.
REHASH='
import hashlib, struct
prev = bytes(32)
for r in c.execute("SELECT seq, at, device_id, event, detail FROM audit ORDER BY seq").fetchall():
    h = hashlib.sha256()
    def b(x): h.update(struct.pack(">I", len(x)) + x)
    b(b"tpa-audit-v1"); h.update(struct.pack(">qq", r[0], r[1]))
    if r[2] is None: h.update(b"\0")
    else: h.update(b"\1"); b(r[2].encode())
    b(r[3].encode()); b(r[4].encode()); h.update(prev)
    c.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h.digest(), r[0]))
    prev = h.digest()
'

tamper a 'c.execute("DELETE FROM audit WHERE seq = 6")'
broken "(a) a middle row deleted" 'row 7: prev_hash does not link to row 5 \(row 6 missing\?\)$'
tamper b 'c.execute("UPDATE audit SET detail = '"'"'label lab-z'"'"' WHERE seq = 6")'
broken "(b) a row's detail edited" 'row 6: hash does not match its contents$'
tamper c 'c.execute("UPDATE audit SET seq = -1 WHERE seq = 8"); c.execute("UPDATE audit SET seq = 8 WHERE seq = 9"); c.execute("UPDATE audit SET seq = 9 WHERE seq = -1")'
broken "(c) two rows swapped (revoke and reinstate)" 'row 8: hash does not match its contents$'
tamper d 'c.execute("DELETE FROM audit WHERE seq >= 10"); c.execute("UPDATE sqlite_sequence SET seq = 9 WHERE name = '"'"'audit'"'"'")'
broken "(d) the last rows deleted after a signed head" \
    'signed head at seq 11 names a row that is gone \(the log ends at row 9\)$'
tamper d2 'c.execute("DELETE FROM audit WHERE seq >= 10")'
broken "(d) ... also leaving the sequence as it was" 'signed head at seq 11 names a row that is gone'
# (e) forged heads
tamper e1 'c.execute("UPDATE audit SET detail = '"'"'label lab-z'"'"' WHERE seq = 6")
'"$REHASH"'
c.execute("DELETE FROM audit_heads")
import jwt, time
from cryptography.hazmat.primitives.asymmetric import ec
k = ec.generate_private_key(ec.SECP256R1())
seq, h = c.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
t = int(time.time())
jws = jwt.encode({"format": "tpa-audit-v1", "seq": seq, "hash": h.hex(), "iat": t}, k,
                 algorithm="ES256", headers={"kid": "forger", "typ": "tpa-audit-head"})
c.execute("INSERT INTO audit_heads VALUES(?, ?, ?, ?, ?)", (seq, h, t, "forger", jws))'
broken "(e) the log rewritten, its heads replaced by one of another key" \
    'signed head at seq 11: no key in the JWKS has kid forger$'
tamper e2 'c.execute("UPDATE audit SET detail = '"'"'label lab-z'"'"' WHERE seq = 6")
'"$REHASH"'
import base64, json
seq, jws = c.execute("SELECT seq, jws FROM audit_heads ORDER BY seq DESC LIMIT 1").fetchone()
h = c.execute("SELECT hash FROM audit WHERE seq = ?", (seq,)).fetchone()[0]
hd, pl, sig = jws.split(".")
d = json.loads(base64.urlsafe_b64decode(pl + "=" * (-len(pl) % 4)))
d["hash"] = h.hex()
pl = base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
c.execute("DELETE FROM audit_heads WHERE seq < ?", (seq,))
c.execute("UPDATE audit_heads SET hash = ?, jws = ? WHERE seq = ?", (h, ".".join((hd, pl, sig)), seq))'
broken "(e) ... or the last head's JWS edited to the new hash" \
    'signed head at seq 11: signature does not verify$'
tamper e3 'c.execute("UPDATE audit SET detail = '"'"'label lab-z'"'"' WHERE seq = 6")
'"$REHASH"
broken "(e) row 6 rewritten with every hash after it, the heads left as they were" \
    'signed head at seq 8 does not match row 8: rows 5 to 8 were rewritten after it was signed$'
tamper e4 'c.execute("UPDATE audit SET detail = '"'"'label lab-z'"'"' WHERE seq = 6")
'"$REHASH"'
c.execute("DELETE FROM audit_heads")'
expect_exit "(e) rewritten with every head deleted: the file alone cannot tell (0)" 0 \
    "${A[@]}" "$T" || true
expect_exit "... the head exported before can (1)" 1 "${A[@]}" "$T" --head "$WORK/head.jws" || true
expect_grep "... naming the rows" "$WORK/out" \
    '^audit log BROKEN: the head given \(seq 11\) does not match row 11: '
expect_exit "... and the untouched registry agrees with it (0)" 0 "${A[@]}" "$DB" \
    --head "$WORK/head.jws" || true
# Rows of the wrong type, not trusted.
tamper f 'c.execute("PRAGMA ignore_check_constraints = ON"); c.execute("UPDATE audit SET hash = x'"'"'00'"'"' WHERE seq = 3")'
broken "a hash of another size" 'row 3: its hash is of another size, not 32 bytes$'

# ---- a verifier on a broken log signs nothing, and says so ----
# serve and audit sign check the rows after the newest head their key signed
# (rows under it are that head's, and audit verify's); here the row after it.
T=$WORK/g.db
cp "$DB" "$T"
expect_exit "a row after the last head" 0 "${V[@]}" devices label --registry "$T" "$DEV" lab-q || true
$PY - "$T" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DROP TRIGGER audit_no_update")
c.execute("UPDATE audit SET detail = 'label lab-z' WHERE seq = 12")
c.commit()
PY
start_verifier g --insecure --registry "$T" --ek-ca "$WORK/ekca" --token-key "$KEY"
expect_exit "devices label on it while a verifier serves it" 0 "${V[@]}" devices label \
    --registry "$T" "$DEV" lab-r || true
stop_verifiers
expect_grep "... the verifier says the log is broken, naming the row" "$WORK/g.err" \
    'level=err msg="audit: the log is broken, no head is signed: row 12: hash does not match its contents"$'
[ "$(grep -c 'the log is broken' "$WORK/g.err")" -eq 1 ] && ok "... once" ||
    bad "... once" "$WORK/g.err"
$PY -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); sys.exit(0 if c.execute("SELECT max(seq) FROM audit_heads").fetchone()[0] == 11 else 1)' "$T" &&
    ok "... and signed no head over it" || bad "... and signed no head over it"

# ---- audit sign, for an admin ----
T=$WORK/s.db
cp "$DB" "$T"
expect_exit "audit sign: nothing new to sign (0)" 0 "${V[@]}" audit sign --registry "$T" \
    --token-key "$KEY" || true
expect_grep "... says so" "$WORK/out" '^nothing to sign'
expect_exit "a new row" 0 "${V[@]}" devices label --registry "$T" "$DEV" lab-x || true
expect_exit "audit sign" 0 "${V[@]}" audit sign --registry "$T" --token-key "$KEY" || true
expect_grep "... signs the new head" "$WORK/out" '^signed the head at seq 12 \(key '
expect_exit "... which verifies" 0 "${A[@]}" "$T" || true
expect_exit "another row" 0 "${V[@]}" devices label --registry "$T" "$DEV" lab-y || true
cp "$T" "$WORK/s2.db"
$PY - "$T" "$WORK/s2.db" <<'PY'
import sqlite3, sys
for db, seq in ((sys.argv[1], 13), (sys.argv[2], 12)):
    c = sqlite3.connect(db)
    c.execute("DROP TRIGGER audit_no_update")
    c.execute("UPDATE audit SET event = 'attest' WHERE seq = ?", (seq,))
    c.commit()
PY
expect_exit "audit sign refuses a row edited after the last head (1)" 1 "${V[@]}" audit sign \
    --registry "$T" --token-key "$KEY" || true
expect_grep "... naming it" "$WORK/err" \
    'the log is broken, nothing signed: row 13: hash does not match its contents$'
expect_exit "... and the row under its key's last head (1)" 1 "${V[@]}" audit sign \
    --registry "$WORK/s2.db" --token-key "$KEY" || true
expect_grep "... naming that head" "$WORK/err" \
    'the log is broken, nothing signed: signed head at seq 12 does not match row 12'
expect_exit "audit sign without a key file (2)" 2 "${V[@]}" audit sign --registry "$T" \
    --token-key "$WORK/nothere.jwk" || true
echo '{"keys": 1}' >"$WORK/bad.jwks"
expect_exit "audit verify with a JWKS that is none (2)" 2 "${V[@]}" audit verify --registry "$DB" \
    --jwks "$WORK/bad.jwks" || true
expect_exit "audit verify of no registry (2)" 2 "${V[@]}" audit verify --registry "$WORK/nothere.db" || true
[ ! -e "$WORK/nothere.db" ] && ok "... creates none" || bad "... creates none"

# ---- retention: rows leave through an archive, the log verifies after ----
P=$WORK/prune.db
expect_exit "registry backup (a copy to prune)" 0 "${V[@]}" registry backup --registry "$DB" "$P" || true
FUTURE=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
expect_exit "audit prune --keep-days 30: nothing that old" 0 "${V[@]}" audit prune --registry "$P" \
    --keep-days 30 --archive "$WORK/none.jsonl" || true
expect_grep "... says so" "$WORK/out" '^pruned: nothing'
[ ! -e "$WORK/none.jsonl" ] && ok "... no archive written" || bad "... an archive of nothing"
expect_exit "audit prune --before tomorrow: all but the last row" 0 "${V[@]}" audit prune \
    --registry "$P" --before "$FUTURE" --archive "$WORK/archive-1.jsonl" || true
expect_grep "... rows 1 to 10 into the archive" "$WORK/out" \
    '^pruned: rows 1 to 10 \(10\), archived in .*archive-1.jsonl \(sha256 [0-9a-f]{64}\); the log starts at row 11$'
[ "$(stat -c %a "$WORK/archive-1.jsonl")" = 600 ] && ok "... the archive is 0600" || bad "... the archive's mode"
expect_exit "the pruned registry verifies, heads and all (0)" 0 "${A[@]}" "$P" || true
expect_grep "... from row 11: the kept row and the prune's" "$WORK/out" '^audit log intact: 2 rows'
expect_exit "audit export of it" 0 "${V[@]}" audit export --registry "$P" || true
cp "$WORK/out" "$WORK/after.jsonl"
# The archive's chain from row 1 and the registry's from where it starts,
# joined by the hash the audit-prune row names, checked by code of its own.
$PY - "$WORK/archive-1.jsonl" "$WORK/after.jsonl" >"$WORK/arch.out" 2>&1 <<'PY' &&
import hashlib, json, re, sys
arch = [json.loads(l) for l in open(sys.argv[1])]
after = [json.loads(l) for l in open(sys.argv[2]) if '"type":"row"' in l.replace(" ", "")]
assert [r["seq"] for r in arch] == list(range(1, 11)), [r["seq"] for r in arch]
assert arch[0]["prev_hash"] == "00" * 32
for a, b in zip(arch, arch[1:]):
    assert b["prev_hash"] == a["hash"], b["seq"]
assert after[0]["seq"] == 11 and after[0]["prev_hash"] == arch[-1]["hash"]
prune = [r for r in after if r["event"] == "audit-prune"][0]
m = re.search(r"rows 1 to 10 pruned, archived as archive-1.jsonl sha256 ([0-9a-f]{64}); "
              r"the log starts at row 11, linked to ([0-9a-f]{64})$", prune["detail"])
assert m, prune["detail"]
assert m.group(1) == hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()
assert m.group(2) == arch[-1]["hash"]
print("archive rows 1-10 chained; the log from 11 links to the last; sha256 matches")
PY
    ok "the archive's chain and the log's join (python: hashes, links, the archive's SHA-256)" ||
    bad "the archive and the log join" "$WORK/arch.out"
expect_exit "audit prune again into the same archive: refused (2)" 2 "${V[@]}" audit prune \
    --registry "$P" --before "$FUTURE" --archive "$WORK/archive-1.jsonl" || true
expect_grep "... it exists" "$WORK/err" 'exists already'
$PY - "$P" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DROP TRIGGER audit_no_delete")
c.execute("DELETE FROM audit WHERE seq = 11")
c.commit()
PY
expect_exit "the kept row deleted past the rule: the log is broken (1)" 1 "${A[@]}" "$P" || true
expect_grep "... naming where it starts without a prune saying so" "$WORK/out" \
    'row 12: the log starts here, not at row 1 \(rows 1 to 11 missing\), and no audit-prune row says so'
expect_exit "a broken log is not pruned (1)" 1 "${V[@]}" audit prune --registry "$P" \
    --before "$FUTURE" --archive "$WORK/archive-2.jsonl" || true
expect_grep "... nothing pruned" "$WORK/err" 'the log does not verify, nothing pruned'
[ ! -e "$WORK/archive-2.jsonl" ] && ok "... no archive written" || bad "... an archive of a broken log"
for bad_args in "--keep-days 0" "--keep-days x" "--before yesterday" ""; do
    # shellcheck disable=SC2086
    expect_exit "audit prune ${bad_args:-without a cutoff}: refused (2)" 2 "${V[@]}" audit prune \
        --registry "$P" $bad_args --archive "$WORK/x.jsonl" || true
done
expect_exit "audit prune without --archive: refused (2)" 2 "${V[@]}" audit prune --registry "$P" \
    --keep-days 1 || true

# ---- retention of evidence: archived, then dropped ----
E=$WORK/prune-ev.db
expect_exit "registry backup (a copy to drop evidence from)" 0 "${V[@]}" registry backup \
    --registry "$DB" "$E" || true
# This device attests without a log: its row gets bytes of an odd length,
# so that the archive's base64 (and its padding) is checked on real bytes.
$PY - "$E" <<'PY'
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE evidence SET event_log = ?", (os.urandom(3001),))
c.commit()
PY
cp "$E" "$WORK/prune-ev-before.db"
expect_exit "audit prune --evidence with a cutoff in the future: refused (2)" 2 "${V[@]}" audit prune \
    --registry "$E" --before "$FUTURE" --archive "$WORK/ev-future.jsonl" --evidence || true
expect_grep "... saying why" "$WORK/err" 'the cutoff is in the future: evidence arriving now would be dropped unarchived'
[ ! -e "$WORK/ev-future.jsonl.evidence" ] && [ ! -e "$WORK/ev-future.jsonl" ] &&
    ok "... nothing done: no archive written, of rows or of evidence" ||
    bad "... an archive written for a refused command"
sleep 1.1   # the device's last attestation before the cutoff, the cutoff not after now
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
expect_exit "audit prune --before now --evidence" 0 "${V[@]}" audit prune --registry "$E" \
    --before "$NOW" --archive "$WORK/ev.jsonl" --evidence || true
expect_grep "... the device's evidence archived, then dropped" "$WORK/out" \
    '^evidence: 1 device. last evidence archived in .*ev.jsonl.evidence and dropped'
[ "$(stat -c %a "$WORK/ev.jsonl.evidence")" = 600 ] && ok "... the evidence archive is 0600" ||
    bad "... the evidence archive's mode"
$PY - "$WORK/ev.jsonl.evidence" "$WORK/prune-ev-before.db" "$E" "$DEV" >"$WORK/ev.out" 2>&1 <<'PY' &&
import base64, json, sqlite3, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 1, lines
a = lines[0]
before = sqlite3.connect(sys.argv[2]).execute(
    "SELECT event_log, pcrs_json FROM evidence WHERE device_id = ?", (sys.argv[4],)).fetchone()
assert a["device"] == sys.argv[4], a["device"]
assert base64.b64decode(a["event_log"]) == before[0], "the event log differs"
assert a["pcrs"] == json.loads(before[1]), "the PCRs differ"
left = sqlite3.connect(sys.argv[3]).execute("SELECT count(*) FROM evidence").fetchone()[0]
assert left == 0, left
print("the archive holds the registry's event log (%d bytes) and PCRs; none left" % len(before[0]))
PY
    ok "... the archive holds exactly what was dropped (python: base64, PCRs, the registry after)" ||
    bad "the evidence archive and the registry" "$WORK/ev.out"
ln -s "$WORK/elsewhere" "$WORK/ev3.jsonl.evidence"
cp "$WORK/prune-ev-before.db" "$WORK/prune-ev3.db"
expect_exit "an evidence archive that is a symbolic link: refused (2)" 2 "${V[@]}" audit prune \
    --registry "$WORK/prune-ev3.db" --before "$NOW" --archive "$WORK/ev3.jsonl" --evidence || true
[ ! -e "$WORK/elsewhere" ] && [ ! -e "$WORK/ev3.jsonl" ] &&
    ok "... nothing written through it, nor any row pruned" || bad "... written through the link, or rows pruned"
[ "$($PY -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM evidence").fetchone()[0])' "$WORK/prune-ev3.db")" = 1 ] &&
    ok "... and the evidence kept" || bad "... evidence dropped with no archive"
expect_exit "again: nothing to drop (0)" 0 "${V[@]}" audit prune --registry "$E" \
    --before "$NOW" --archive "$WORK/ev2.jsonl" --evidence || true
expect_grep "... says so" "$WORK/out" '^evidence: none to drop'
[ ! -e "$WORK/ev2.jsonl.evidence" ] && ok "... and writes no archive" || bad "... an evidence archive of nothing"
summary
