#!/usr/bin/env bash
# Registry operations a user's mistake could break: `verifier registry backup`
# taken while a verifier serves the registry holds the enrolled device and its
# last verdict (the data is still in the WAL, which cp of the file misses),
# and its audit log verifies; an OUT that exists is refused and left alone; a
# misspelt --registry is refused and not created. `registry restore` of that
# backup into a fresh path gives the same devices and audit log; a truncated,
# foreign or forged backup, one over a registry that exists without --force,
# and one over a registry a verifier serves are refused by name, the registry
# left as it was.
# usage: test_registry.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_registry.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: registry backup while serving"
V=(${VALGRIND:-} "$BIN/verifier")
C=(${VGC:-} "$BIN/attest_client")

serve_one_device
# No baseline yet: the verdict recorded is no-baseline (exit status not ours).
"${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" \
    --eventlog "$WORK/good.log" >"$WORK/attest.out" 2>&1 || true

# ---- backup while the verifier serves (its WAL not checkpointed) ----
BK=$WORK/backup.db
expect_exit "registry backup while serving" 0 "${V[@]}" registry backup --registry "$DB" "$BK" || true
[ -f "$BK" ] && ok "... wrote $BK" || bad "... wrote $BK"
[ "$(stat -c %a "$BK")" = 600 ] && ok "... mode 0600" || bad "... mode 0600"
ls "$WORK" | grep -q 'backup.db.tmp-' && bad "... left a temporary file" || ok "... no temporary file left"
"$BIN/verifier" devices list --json --registry "$DB" >"$WORK/orig.json" 2>&1 ||
    bad "devices list on the registry" "$WORK/orig.json"
expect_exit "devices list --registry BACKUP" 0 "${V[@]}" devices list --json --registry "$BK" || true
cp "$WORK/out" "$WORK/backup.json"
expect_grep "... shows the device" "$WORK/backup.json" "$DEV"
python3 - "$WORK/orig.json" "$WORK/backup.json" "$DEV" >"$WORK/cmp.out" 2>&1 <<'PY' &&
import json, sys
orig, back, dev = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
def find(doc):
    devs = doc["devices"] if isinstance(doc, dict) else doc
    return [d for d in devs if d.get("id") == dev][0]
o, b = find(orig), find(back)
assert b.get("last_outcome") == "no-baseline" and b.get("last_attest_at"), b
for k in o:
    assert o[k] == b[k], (k, o[k], b[k])
PY
    ok "... with its last verdict, as the registry has it" ||
    bad "... with its last verdict, as the registry has it" "$WORK/cmp.out"
expect_exit "audit verify --registry BACKUP" 0 "${V[@]}" audit verify --registry "$BK" || true

# ---- mistakes ----
cp "$BK" "$WORK/before"
expect_exit "an OUT that exists: refused (2)" 2 "${V[@]}" registry backup --registry "$DB" "$BK" || true
expect_grep "... naming it" "$WORK/err" "backup $BK: exists already"
cmp -s "$BK" "$WORK/before" && ok "... and left as it was" || bad "... and left as it was"
TYPO=$WORK/regsitry.db
expect_exit "a misspelt --registry: refused (2)" 2 "${V[@]}" registry backup --registry "$TYPO" \
    "$WORK/b2.db" || true
expect_grep "... naming it" "$WORK/err" "registry $TYPO does not exist"
[ -e "$TYPO" ] || [ -e "$WORK/b2.db" ] && bad "... created a file" || ok "... created no file"
expect_exit "no OUT: usage (2)" 2 "${V[@]}" registry backup --registry "$DB" || true
expect_exit "registry --help" 0 "${V[@]}" registry --help || true
expect_grep "... usage first" "$WORK/out" "^usage: verifier registry backup"

# ---- restore ----
echo "integration: registry restore and check"
"$BIN/verifier" audit verify --json --registry "$DB" >"$WORK/orig-audit.json" 2>&1 ||
    bad "audit verify on the registry" "$WORK/orig-audit.json"
NEW=$WORK/restored/registry.db
mkdir -p "$WORK/restored"
expect_exit "restore into a fresh path" 0 "${V[@]}" registry restore --registry "$NEW" "$BK" || true
expect_grep "... says what it restored" "$WORK/out" "^restored $NEW from $BK: schema version [0-9]+, 1 device"
[ "$(stat -c %a "$NEW")" = 600 ] && ok "... mode 0600" || bad "... mode 0600"
ls "$WORK/restored" | grep -q 'restore-' && bad "... left a temporary file" ||
    ok "... no temporary file left"
"$BIN/verifier" devices list --json --registry "$NEW" >"$WORK/restored.json" 2>&1 ||
    bad "devices list on the restored registry" "$WORK/restored.json"
cmp -s "$WORK/orig.json" "$WORK/restored.json" && ok "... devices list agrees with the original" ||
    bad "... devices list agrees with the original" "$WORK/restored.json"
"$BIN/verifier" audit verify --json --registry "$NEW" >"$WORK/new-audit.json" 2>&1 ||
    bad "audit verify on the restored registry" "$WORK/new-audit.json"
cmp -s "$WORK/orig-audit.json" "$WORK/new-audit.json" &&
    ok "... audit verify agrees with the original" ||
    bad "... audit verify agrees with the original" "$WORK/new-audit.json"
expect_exit "registry check on the restored registry" 0 "${V[@]}" registry check --registry "$NEW" || true
expect_grep "... names its schema and counts" "$WORK/out" \
    "^registry $NEW: ok: schema version [0-9]+, 1 device \(0 revoked\), 0 baselines, [0-9]+ audit rows"

# Each refused backup names what is wrong and leaves the registry as it was.
sha() { sha256sum "$1" | cut -d' ' -f1; }
BEFORE=$(sha "$NEW")
refused() { # NAME CODE PATTERN BACKUP [--force]
    expect_exit "$1: refused ($2)" "$2" "${V[@]}" registry restore --registry "$NEW" ${5:-} "$4" || true
    expect_grep "... naming it" "$WORK/err" "$3"
    [ "$(sha "$NEW")" = "$BEFORE" ] && ok "... the registry untouched" ||
        bad "... the registry untouched"
    ls "$WORK/restored" | grep -q 'restore-' && bad "... left a temporary file" ||
        ok "... no temporary file left"
}
refused "over a registry that exists, without --force" 5 "registry $NEW exists: restoring replaces it \(--force\)" "$BK"
head -c 8192 "$BK" >"$WORK/truncated.db"
refused "a truncated backup" 1 "backup $WORK/truncated.db: .*(damaged|integrity)" "$WORK/truncated.db" --force
head -c 4096 /dev/urandom >"$WORK/noise.db"
refused "a file that is not a database" 1 "backup $WORK/noise.db: not an SQLite database" "$WORK/noise.db" --force
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table t(a)"); c.commit()' \
    "$WORK/other.db"
refused "an SQLite file that is not a registry" 1 "backup $WORK/other.db: an SQLite database, but not a registry" \
    "$WORK/other.db" --force
cp "$BK" "$WORK/forged.db"
python3 - "$WORK/forged.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DROP TRIGGER audit_no_update")
c.execute("UPDATE audit SET detail = 'forged' WHERE seq = (SELECT min(seq) FROM audit)")
c.commit()
PY
refused "a backup whose audit chain is broken" 1 "backup $WORK/forged.db: its audit log does not verify: row 1" \
    "$WORK/forged.db" --force
refused "a backup that does not exist" 2 "backup $WORK/none.db: No such file" "$WORK/none.db" --force
ln -s "$BK" "$WORK/link.db"
refused "a backup that is a symbolic link" 2 "backup $WORK/link.db: is a symbolic link" "$WORK/link.db" --force

# registry check judges a file as it is and never makes it a registry.
expect_exit "registry check of the registry a verifier serves" 0 "${V[@]}" registry check --registry "$DB" || true
expect_grep "... 1 device" "$WORK/out" "^registry $DB: ok: schema version [0-9]+, 1 device "
OTHERSUM=$(sha "$WORK/other.db")
expect_exit "registry check of an SQLite file that is not a registry: 1" 1 \
    "${V[@]}" registry check --registry "$WORK/other.db" || true
expect_grep "... naming it" "$WORK/err" "registry $WORK/other.db: an SQLite database, but not a registry"
[ "$(sha "$WORK/other.db")" = "$OTHERSUM" ] && ok "... and leaves it as it was" ||
    bad "... and leaves it as it was"
expect_exit "registry check of a truncated registry: 1" 1 \
    "${V[@]}" registry check --registry "$WORK/truncated.db" || true
expect_grep "... naming it" "$WORK/err" "registry $WORK/truncated.db: .*(damaged|integrity)"

# The verifier still serves $DB: replacing it under it is refused, even with --force.
DBSUM=$(sha "$DB")
expect_exit "restore over the registry a verifier serves: refused (5)" 5 \
    "${V[@]}" registry restore --registry "$DB" --force "$BK" || true
expect_grep "... naming it" "$WORK/err" "registry $DB is in use \(is a verifier serving it\?\): stop it"
[ "$(sha "$DB")" = "$DBSUM" ] && ok "... the registry untouched" || bad "... the registry untouched"
kill -0 "$VPID" && ok "... the verifier still serving" || bad "... the verifier still serving"
stop_verifiers
# Stopped, the same restore is done; a stale WAL beside it does not survive.
printf 'stale' >"$DB-wal"
expect_exit "restore over the stopped verifier's registry with --force" 0 \
    "${V[@]}" registry restore --registry "$DB" --force "$BK" || true
[ -e "$DB-wal" ] && bad "... the stale -wal removed" || ok "... the stale -wal removed"
expect_exit "... the restored registry verifies" 0 "${V[@]}" audit verify --registry "$DB" || true
expect_exit "registry check on a missing registry: refused (2)" 2 \
    "${V[@]}" registry check --registry "$TYPO" || true
expect_exit "restore without BACKUP: usage (2)" 2 "${V[@]}" registry restore --registry "$NEW" || true
expect_exit "--force on backup: usage (2)" 2 "${V[@]}" registry backup --force --registry "$DB" "$WORK/x.db" || true

summary
