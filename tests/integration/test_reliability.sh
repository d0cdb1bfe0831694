#!/usr/bin/env bash
# Crash safety of the device registry: a verifier killed with SIGKILL at any
# moment during enrollments and attestations loses no committed enrollment
# and leaves no half-written device.
#
#  1. Kill points, one by one: an LD_PRELOAD shim built here raises SIGKILL
#     just before the Nth write, sync, truncate or unlink the verifier makes on
#     the registry (the file, -wal, -shm, -journal). For every N: a fixed
#     sequence on an existing registry (re-enroll a device with a new AK,
#     attest, enroll a new device, attest, shut down); and, for every third
#     N, a registry being created at the first start.
#  2. Random kills: rounds of concurrent enrollments (a new AK each time) and
#     attestations by four swtpm TPMs, the verifier killed with kill -9 after
#     a random delay.
#
# After every kill the verifier must start again on the same file, and a
# checker (python3 sqlite3) must find: integrity_check ok, no foreign key
# violation, the schema whole; every enrollment a client saw succeed
# (device id and AK name printed) in the registry with that AK, active, unless
# a later enrollment of the same device whose reply was lost replaced it; no
# half-written device (exactly one AK, an audit row of its enrollment naming
# that AK, enrolled_at, registered_at and last_attest_at equal to the audit
# rows' times, the TPM manufacturer an enrollment writes where the registry
# keeps one); no AK without its device; the audit log 1..N without a gap, a
# superset of what the last check saw, at least one row per reported
# enrollment and verdict; `verifier devices list` agreeing. Then the device's
# registered AK must attest COMPLIANT through the restarted verifier.
#
# usage: test_reliability.sh BUILD_DIR
#   RELIABILITY_ROUNDS  random-kill rounds (default 8, 2 under VALGRIND)
#   RELIABILITY_STRIDE  try every Nth kill point (default 1, 16 under VALGRIND;
#                       three times that for the creation)
set -euo pipefail
BUILD=${1:?usage: test_reliability.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: reliability (verifier killed with SIGKILL, registry recovery)"
# CT: each client call's deadline (ms), generous: a kill shows as a broken
# connection at once, and a slow answer is not what this test is about.
if [ -n "${VALGRIND:-}" ]; then
    ROUNDS=${RELIABILITY_ROUNDS:-2}
    STRIDE=${RELIABILITY_STRIDE:-16}
    CT=120000
elif [[ "$BUILD" == *asan* ]]; then
    # ASan makes each kill point slower; the plain pass tries every one.
    ROUNDS=${RELIABILITY_ROUNDS:-3}
    STRIDE=${RELIABILITY_STRIDE:-3}
    CT=60000
else
    ROUNDS=${RELIABILITY_ROUNDS:-8}
    STRIDE=${RELIABILITY_STRIDE:-1}
    CT=30000
fi
NINST=4
# VALGRIND (make valgrind) runs the verifier under valgrind: its recovery is
# what is tested here, and every restarted verifier must exit 0 (valgrind's
# --error-exitcode otherwise). The clients run plain (test_e2e.sh and
# test_identity.sh run them under valgrind): they only drive the load.
C=("$BIN/attest_client")
LOOP_PIDS=()

# Ours first, then lib.sh's: the client loops stop before the verifiers and
# swtpm instances they talk to go away.
rel_cleanup() {
    local p
    rm -f "$WORK/go"
    for p in "${LOOP_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap 'rel_cleanup; cleanup' EXIT

"$ROOT/scripts/demo-certs.sh" "$WORK/certs" >/dev/null
CA=$WORK/certs/ca.pem
mkdir -p "$WORK/ekca" "$WORK/ak" "$WORK/cl" "$WORK/inj" "$WORK/no-efivars"
TCTIS=()
for ((i = 0; i < NINST; i++)); do
    start_swtpm "$WORK/tpm$i"
    TCTIS+=("$TCTI")
    # Every instance has a CA of its own: trust them all.
    cp "$WORK/tpm$i/ca/swtpm-localca-rootca-cert.pem" "$WORK/ekca/root$i.pem"
    cp "$WORK/tpm$i/ca/issuercert.pem" "$WORK/ekca/issuer$i.pem"
done
# (evidence-only: a good quote is COMPLIANT; boots are test_baselines.sh's)
VARGS=(--cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" --ek-ca "$WORK/ekca"
    --baseline "$ROOT/tests/data/baselines/evidence-only.json")

# ---- verifiers ----

forget_verifier() { # PID: no longer in lib.sh's list once reaped
    local p keep=()
    for p in "${VERIFIER_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    VERIFIER_PIDS=("${keep[@]}")
}
stop_verifier() { # PID: SIGTERM; returns the verifier's exit status
    local rc=0
    kill -TERM "$1" 2>/dev/null || true
    # (bash's "Killed" notice for a verifier killed by a kill point: not here)
    { wait "$1"; } 2>/dev/null || rc=$?
    forget_verifier "$1"
    return $rc
}
# serve NAME ARGS...: start_verifier, its output file there before
# wait_listening reads it (else sed may complain while the verifier starts)
serve() {
    : >"$WORK/$1.out"
    start_verifier "$@"
}
kill9_verifier() { # PID
    kill -KILL "$1" 2>/dev/null || true
    { wait "$1"; } 2>/dev/null || true
    forget_verifier "$1"
}

# ---- clients: every invocation is one line in a results file ----
#   D INST DEVICE MANUFACTURER         the TPM's device id and manufacturer (- if none)
#   E INST KEY RC DEVICE AK AKFILE      an enrollment (DEVICE, AK '-' unless printed)
#   A INST KEY RC AK AKFILE             an attestation
#   K INST KEY DEVICE AK AKFILE         enrollment KEY did commit (its reply was lost)
# KEY orders one instance's enrollments.

# enroll_rec RESULTS INST KEY TARGET AKFILE: sets RC (0 only if the device
# id and the AK name were printed too)
enroll_rec() {
    local o=$WORK/cl/e.$2.$3 dev ak
    RC=0
    # Each enrollment's new AK replaces the device's others: one AK a device.
    timeout --kill-after=5 $((CT / 500)) "${C[@]}" enroll --verifier "$4" --ca "$CA" --replace \
        --tcti "${TCTIS[$2]}" --timeout "$CT" --ak-file "$5" >"$o.out" 2>"$o.err" || RC=$?
    dev=$(sed -n 's/^enrolled: device \([0-9a-f]\{64\}\)$/\1/p' "$o.out")
    ak=$(sed -n 's/^ak_name: \([0-9a-f]\{8,\}\)$/\1/p' "$o.out")
    echo "E $2 $3 $RC ${dev:--} ${ak:--} $5" >>"$1"
    if [ "$RC" -eq 0 ] && { [ -z "$dev" ] || [ -z "$ak" ]; }; then RC=99; fi
    return 0
} 2>/dev/null # (not bash's notice of a verifier killed meanwhile at a kill point)
# attest_rec RESULTS INST KEY TARGET AKFILE: sets RC, AK (the verdict's) and
# MS (how long it took)
attest_rec() {
    local o=$WORK/cl/a.$2.$3 t0
    RC=0
    t0=$(date +%s%N)
    timeout --kill-after=5 $((CT / 500)) "${C[@]}" attest --verifier "$4" --ca "$CA" \
        --tcti "${TCTIS[$2]}" --timeout "$CT" --ak-file "$5" --no-eventlog \
        --efivars "$WORK/no-efivars" >"$o.out" 2>"$o.err" || RC=$?
    MS=$((($(date +%s%N) - t0) / 1000000))
    AK=$(sed -n 's/^ak_name: \([0-9a-f]\{8,\}\)$/\1/p' "$o.out")
    grep -q '^verdict: COMPLIANT$' "$o.out" || [ "$RC" -ne 0 ] || RC=98
    [ -z "$1" ] || echo "A $2 $3 $RC ${AK:--} $5" >>"$1"
    return 0
} 2>/dev/null

# ---- the checker ----
cat >"$WORK/check.py" <<'PY'
# check.py DB RESULTS SNAPSHOT DEVICES_JSON SCHEMA_REF: the registry's
# invariants after a crash; SCHEMA_REF is the schema of a registry this
# verifier made (version, then the names of its tables, indexes, triggers). Prints "PROBLEM ..." lines (exit 1 if any) and, per device, one
# "PROBE INST DEVICE AK KEY:c|u:AKFILE..." line: the AK files that may hold the
# registered AK, newest first (c: enrollment confirmed, u: reply lost).
import json, os, sqlite3, sys

db, results, snapshot, devjson, schema_ref = sys.argv[1:6]
problems = []
P = problems.append

con = sqlite3.connect("file:%s?mode=rw" % db, uri=True)
con.isolation_level = None
con.execute("BEGIN")
ic = [r[0] for r in con.execute("PRAGMA integrity_check")]
if ic != ["ok"]:
    P("integrity_check: %s" % "; ".join(ic[:5]))
fk = con.execute("PRAGMA foreign_key_check").fetchall()
if fk:
    P("foreign_key_check: %d violations, first %r" % (len(fk), fk[0]))
ref = open(schema_ref).read().split()
names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
missing = ({"devices", "aks", "audit", "schema_version", "aks_device", "audit_no_update",
            "audit_no_delete"} | set(ref[1:])) - names
if missing:
    P("schema incomplete, missing: %s" % ", ".join(sorted(missing)))
    for p in problems:
        print("PROBLEM", p)
    sys.exit(1)
ver = con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
if str(ver) != ref[0]:
    P("schema_version %r, this verifier's is %s" % (ver, ref[0]))
cols = {r[1] for r in con.execute("PRAGMA table_info(devices)")}
mf_col = "tpm_manufacturer" if "tpm_manufacturer" in cols else "NULL"
devices = {r[0]: r for r in con.execute(
    "SELECT id, state, enrolled_at, last_attest_at, last_verdict, length(ek_public), %s "
    "FROM devices" % mf_col)}
aks = con.execute("SELECT name, device_id, registered_at, length(public) FROM aks").fetchall()
audit = [list(r) for r in con.execute("SELECT seq, at, device_id, event, detail FROM audit ORDER BY seq")]
sqseq = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
con.execute("COMMIT")

# The audit log: 1..N, append-only, only what this test does.
seqs = [r[0] for r in audit]
if seqs != list(range(1, len(seqs) + 1)):
    gaps = sorted(set(range(1, (max(seqs) if seqs else 0) + 1)) - set(seqs))
    P("audit seq not 1..%d: missing %s" % (len(seqs), gaps[:10]))
if audit and (sqseq is None or sqseq[0] != seqs[-1]):
    P("sqlite_sequence for audit is %r, the last seq %d" % (sqseq, seqs[-1]))
if os.path.exists(snapshot):
    old = json.load(open(snapshot))
    if audit[:len(old)] != old:
        P("the audit log lost or changed rows since the last check (%d rows then, %d now)"
          % (len(old), len(audit)))
for r in audit:
    if r[2] is not None and (r[3] not in ("enroll", "attest") or r[2] not in devices):
        P("audit row %d: event %r for device %r (no such event or device here)" % (r[0], r[3], r[2]))
for d in devices.values():
    if d[1] != "active":
        P("device %.16s... is %s" % (d[0], d[1]))
    if not d[5]:
        P("device %.16s... without its EK public area" % d[0])
for a in aks:
    if a[1] not in devices:
        P("AK %.16s... of device %.16s... that does not exist" % (a[0], a[1]))
    if not a[3]:
        P("AK %.16s... without its public area" % a[0])

# What the clients saw.
dev_of, mf_of, enr, att, known = {}, {}, {}, {}, {}
lines = [l.split() for l in open(results) if l.strip()]
for f in lines:
    if f[0] == "D":
        dev_of[f[1]] = f[2]
        mf_of[f[1]] = f[3]
for f in lines:
    if f[0] == "E":
        inst, key, rc, dev, ak, path = f[1], int(f[2]), int(f[3]), f[4], f[5], f[6]
        enr.setdefault(inst, []).append((key, rc, dev, ak, path))
        if rc not in (0, 4):
            P("enroll %s/%d: exit %d (only 0, or 4 for a killed verifier, expected)" % (inst, key, rc))
        if rc == 0 and (dev == "-" or ak == "-"):
            P("enroll %s/%d: exit 0 without the device id and AK name" % (inst, key))
        if rc == 0 and dev != dev_of.get(inst):
            P("enroll %s/%d: device %s, expected %s" % (inst, key, dev, dev_of.get(inst)))
    elif f[0] == "A":
        inst, rc = f[1], int(f[3])
        if rc not in (0, 4):
            P("attest %s/%s: exit %d (only 0, or 4 for a killed verifier, expected)" % (inst, f[2], rc))
        if rc == 0:
            att[inst] = att.get(inst, 0) + 1
    elif f[0] == "K":
        known[(f[1], int(f[2]))] = f[4]

for inst, dev in sorted(dev_of.items()):
    tries = sorted(enr.get(inst, []))
    confirmed = {k: ak for k, rc, d, ak, p in tries if rc == 0}
    confirmed.update({k: ak for (i, k), ak in known.items() if i == inst})
    mine = [a for a in aks if a[1] == dev]
    row = devices.get(dev)
    cand = []
    if confirmed:
        last = max(confirmed)
        if row is None:
            P("LOST: device %s (TPM %s) is gone; its enrollment %d (AK %.16s...) was reported"
              % (dev, inst, last, confirmed[last]))
            continue
        later = [(k, p) for k, rc, d, ak, p in reversed(tries) if k > last and rc != 0]
        for a in mine:
            if a[0] == confirmed[last]:
                cand = [(k, "c", p) for k, rc, d, ak, p in tries if k == last][:1]
            elif a[0] in confirmed.values():
                P("LOST: device %.16s... (TPM %s) is back to AK %.16s..., replaced by the "
                  "reported enrollment %d (AK %.16s...)" % (dev, inst, a[0], last, confirmed[last]))
            elif not later:
                P("LOST: device %.16s... (TPM %s) has AK %.16s..., not the AK %.16s... of its "
                  "last reported enrollment %d, and no enrollment was tried after it"
                  % (dev, inst, a[0], confirmed[last], last))
            else:
                cand = [(k, "u", p) for k, p in later]
    elif row is not None:
        cand = [(k, "u", p) for k, rc, d, ak, p in reversed(tries)]
    if row is None:
        continue
    # What an enrollment writes besides the AK (today: the TPM manufacturer
    # from the EK certificate), as an enrollment without a kill wrote it.
    if mf_of.get(inst, "-") != "-" and row[6] != mf_of[inst]:
        P("HALF-WRITTEN: device %.16s... (TPM %s): tpm_manufacturer %r, an enrollment writes %r"
          % (dev, inst, row[6], mf_of[inst]))
    if len(mine) != 1:
        P("HALF-WRITTEN: device %.16s... (TPM %s) has %d AKs, expected exactly 1"
          % (dev, inst, len(mine)))
        continue
    ak = mine[0]
    ours = [r for r in audit if r[2] == dev]
    enrolls = [r for r in ours if r[3] == "enroll"]
    attests = [r for r in ours if r[3] == "attest"]
    if not enrolls:
        P("HALF-WRITTEN: device %.16s... without the audit row of its enrollment" % dev)
        continue
    if not enrolls[-1][4].startswith("AK %s..." % ak[0][:16]):
        P("HALF-WRITTEN: device %.16s... has AK %.16s..., its last enrollment audit says %r"
          % (dev, ak[0], enrolls[-1][4]))
    if ak[2] != enrolls[-1][1]:
        P("HALF-WRITTEN: AK %.16s... registered_at %d, its enrollment audit at %d"
          % (ak[0], ak[2], enrolls[-1][1]))
    if row[2] != enrolls[0][1]:
        P("HALF-WRITTEN: device %.16s... enrolled_at %d, its first enrollment audit at %d"
          % (dev, row[2], enrolls[0][1]))
    if len(enrolls) < len(confirmed):
        P("LOST: device %.16s...: %d enrollments reported, %d in the audit log"
          % (dev, len(confirmed), len(enrolls)))
    if len(enrolls) > len(tries):
        P("device %.16s...: %d enrollment audit rows for %d enrollments tried"
          % (dev, len(enrolls), len(tries)))
    if len(attests) < att.get(inst, 0):
        P("LOST: device %.16s...: %d verdicts reported, %d in the audit log"
          % (dev, att.get(inst, 0), len(attests)))
    if attests and (row[3] != attests[-1][1] or not attests[-1][4].startswith(row[4] or "?")):
        P("HALF-WRITTEN: device %.16s... last verdict %r at %r, its last attest audit %r at %d"
          % (dev, row[4], row[3], attests[-1][4], attests[-1][1]))
    if not attests and (row[3] is not None or row[4] is not None):
        P("device %.16s... has a verdict but no attest audit row" % dev)
    cand = [c for c in cand if os.path.exists(c[2])]
    print("PROBE %s %s %s %s" % (inst, dev, ak[0], " ".join("%d:%s:%s" % c for c in cand)))
for d in devices:
    if d not in dev_of.values():
        P("device %.16s... belongs to no TPM of this test" % d)

# The verifier's own view of the same file.
try:
    listed = {d["id"]: d for d in json.load(open(devjson))}
except Exception as e:  # noqa: BLE001 - any failure is the finding
    listed = None
    P("verifier devices list --json: unreadable: %s" % e)
if listed is not None:
    if set(listed) != set(devices):
        P("verifier devices list shows %d devices, the file has %d" % (len(listed), len(devices)))
    for a in aks:
        d = listed.get(a[1])
        if d and (d["ak_name"] != a[0] or d["state"] != devices[a[1]][1]):
            P("verifier devices list: device %.16s... %s %s, the file says %s %s"
              % (a[1], d["state"], d["ak_name"][:16], devices[a[1]][1], a[0][:16]))

json.dump(audit, open(snapshot, "w"))
print("STATS devices=%d aks=%d audit=%d" % (len(devices), len(aks), len(audit)))
for p in problems:
    print("PROBLEM", p)
sys.exit(1 if problems else 0)
PY

# check_registry LABEL DB RESULTS SNAPSHOT TARGET: the checker, then every
# device's registered AK attests through TARGET; CHECK_FAIL=1 and the
# problems in $WORK/problems on failure. KEY:u candidates that attest are
# recorded as committed (K).
check_registry() {
    local label=$1 db=$2 res=$3 snap=$4 target=$5 out=$WORK/check.out
    local tag inst dev ak cands c key flag file found why
    CHECK_FAIL=0
    : >"$WORK/problems"
    if ! "$BIN/verifier" devices list --json --registry "$db" >"$WORK/devices.json" 2>"$WORK/devices.err"; then
        echo "PROBLEM verifier devices list: $(cat "$WORK/devices.err")" >>"$WORK/problems"
    fi
    /usr/bin/python3 "$WORK/check.py" "$db" "$res" "$snap" "$WORK/devices.json" "$WORK/schema.ref" \
        >"$out" 2>&1 || true
    grep -v -e '^PROBE ' -e '^STATS ' "$out" >>"$WORK/problems" || true
    while read -r tag inst dev ak cands; do
        found= why=
        for c in $cands; do
            key=${c%%:*} flag=${c#*:} file=${c#*:*:}
            flag=${flag%%:*}
            attest_rec "" "$inst" "$key" "$target" "$file"
            why="$why [AK file $key: exit $RC after $MS ms, AK ${AK:0:16}: $(tail -1 "$WORK/cl/a.$inst.$key.err")]"
            if [ "$RC" -eq 0 ] && [ "$AK" = "$ak" ]; then
                echo "A $inst $key 0 $ak $file" >>"$res"
                if [ "$flag" = u ]; then
                    echo "K $inst $key $dev $ak $file" >>"$res"
                    ADOPTED=$((ADOPTED + 1))
                fi
                found=1
                break
            fi
        done
        [ -n "$found" ] || echo "PROBLEM device ${dev:0:16}... (TPM $inst): its registered AK ${ak:0:16}... does not attest COMPLIANT after the restart:${why:- no AK file}" >>"$WORK/problems"
    done < <(grep '^PROBE ' "$out" || true)
    [ -s "$WORK/problems" ] && CHECK_FAIL=1
    return 0
}
ADOPTED=0

# registry_sql DB SQL: the first column of the first row, '-' if none (or an error)
registry_sql() {
    /usr/bin/python3 - "$1" "$2" <<'PY' 2>/dev/null || echo -
import sqlite3, sys
try:
    r = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()
except sqlite3.Error:
    r = None
print("-" if r is None or r[0] is None else r[0])
PY
}

# ---- setup: every TPM enrolls and attests once; its device id, the
# registry's schema ----
RES=$WORK/results
: >"$RES"
serve main "${VARGS[@]}" --registry "$WORK/registry.db"
TARGET=127.0.0.1:$PORT
{ registry_sql "$WORK/registry.db" "SELECT max(version) FROM schema_version"
  registry_sql "$WORK/registry.db" "SELECT group_concat(name, ' ') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
} >"$WORK/schema.ref"
for ((i = 0; i < NINST; i++)); do
    enroll_rec "$RES" "$i" 0 "$TARGET" "$WORK/ak/$i.0.bin"
    dev=$(sed -n 's/^enrolled: device //p' "$WORK/cl/e.$i.0.out")
    [ "$RC" -eq 0 ] && ok "TPM $i enrolls (device ${dev:0:16}...)" || bad "TPM $i enrolls (exit $RC)" "$WORK/cl/e.$i.0.err"
    # (and its TPM manufacturer, where the registry keeps it)
    echo "D $i ${dev:--} $(registry_sql "$WORK/registry.db" \
        "SELECT tpm_manufacturer FROM devices WHERE id = '$dev'" | tr ' ' _)" >>"$RES"
    attest_rec "$RES" "$i" 0 "$TARGET" "$WORK/ak/$i.0.bin"
    [ "$RC" -eq 0 ] && ok "... and attests COMPLIANT" || bad "TPM $i attests (exit $RC)" "$WORK/cl/a.$i.0.err"
done
check_registry setup "$WORK/registry.db" "$RES" "$WORK/snapshot" "$TARGET"
[ "$CHECK_FAIL" -eq 0 ] && ok "the registry checker passes on the enrolled registry" ||
    bad "the registry checker on the enrolled registry" "$WORK/problems"
MAIN_PID=$VPID MAIN_TARGET=$TARGET
grep '^D ' "$RES" >"$WORK/inj/devs"

# ---- 1. kill points ----
SHIM=$WORK/crashpoint.so
cat >"$WORK/crashpoint.c" <<'EOF'
/* LD_PRELOAD: SIGKILL just before the TPA_CRASH_AT-th write, pwrite, fsync,
 * fdatasync, ftruncate or unlink on a path that starts with TPA_CRASH_PATH
 * (0: never); TPA_CRASH_LOG gets one line per operation counted. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static long at, count;
static const char *prefix;
static size_t prefix_len;
static int logfd = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void init(void)
{
	const char *a = getenv("TPA_CRASH_AT"), *l = getenv("TPA_CRASH_LOG");

	at = a ? atol(a) : 0;
	prefix = getenv("TPA_CRASH_PATH");
	prefix_len = prefix ? strlen(prefix) : 0;
	if (l)
		logfd = open(l, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static int ours_path(const char *p)
{
	return prefix_len && p && strncmp(p, prefix, prefix_len) == 0;
}

static int ours_fd(int fd, char *p, size_t cap)
{
	char l[64];
	ssize_t n;

	snprintf(l, sizeof(l), "/proc/self/fd/%d", fd);
	if ((n = readlink(l, p, cap - 1)) <= 0)
		return 0;
	p[n] = '\0';
	return ours_path(p);
}

static void step(const char *op, const char *path)
{
	char line[600];
	int n;

	pthread_mutex_lock(&lock);
	++count;
	n = snprintf(line, sizeof(line), "%ld %s %s\n", count, op, path + prefix_len);
	if (logfd >= 0 && n > 0 && (size_t)n < sizeof(line))
		(void)!write(logfd, line, (size_t)n);
	if (count == at)
		raise(SIGKILL);
	pthread_mutex_unlock(&lock);
}

#define FD_OP(ret, name, params, args)                                       \
	ret name params                                                      \
	{                                                                    \
		static ret (*next) params;                                   \
		char p[600];                                                 \
		int e = errno;                                               \
		if (!next)                                                   \
			next = (ret (*) params)dlsym(RTLD_NEXT, #name);       \
		if (prefix_len && ours_fd(fd, p, sizeof(p)))                 \
			step(#name, p);                                      \
		errno = e;                                                   \
		return next args;                                            \
	}

FD_OP(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n))
FD_OP(ssize_t, pwrite, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
FD_OP(ssize_t, pwrite64, (int fd, const void *b, size_t n, off64_t o), (fd, b, n, o))
FD_OP(int, fsync, (int fd), (fd))
FD_OP(int, fdatasync, (int fd), (fd))
FD_OP(int, ftruncate, (int fd, off_t n), (fd, n))
FD_OP(int, ftruncate64, (int fd, off64_t n), (fd, n))

int unlink(const char *path)
{
	static int (*next)(const char *);

	if (!next)
		next = (int (*)(const char *))dlsym(RTLD_NEXT, "unlink");
	if (ours_path(path))
		step("unlink", path);
	return next(path);
}
EOF

INJ_DB=$WORK/inj/registry.db
# inj_start K NAME: a verifier on $INJ_DB killed before registry operation K;
# sets VPID and TARGET ("" if it died before listening)
inj_start() {
    rm -f "$WORK/inj/ops.log"
    TARGET=
    # An ASan build wants its runtime first: the shim goes ahead of it here.
    if LD_PRELOAD=$SHIM TPA_CRASH_PATH=$INJ_DB TPA_CRASH_AT=$1 TPA_CRASH_LOG=$WORK/inj/ops.log \
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
        serve "$2" "${VARGS[@]}" --registry "$INJ_DB" 2>/dev/null; then
        TARGET=127.0.0.1:$PORT
    fi
}
# inj_end K: ends the shimmed verifier; sets KILLED (1: killed at op K) and
# WHERE (the operation); a verifier that exits any other way is a failure
inj_end() {
    local rc=0
    if kill -0 "$VPID" 2>/dev/null; then stop_verifier "$VPID" || rc=$?; else
        { wait "$VPID"; } 2>/dev/null || rc=$?; forget_verifier "$VPID"; fi
    WHERE=$(sed -n "s/^$1 //p" "$WORK/inj/ops.log" 2>/dev/null)
    KILLED=0
    if [ "$rc" -eq 137 ] && [ -n "$WHERE" ]; then KILLED=1
    elif [ "$rc" -ne 0 ]; then
        bad "the verifier with kill point $1 exited $rc, not by the kill point" "$WORK/inj-$1.err"
    fi
}
# inj_recover K LABEL: restart, check, clean shutdown; one FAIL per kill point
inj_recover() {
    local rc=0
    : >"$WORK/problems"
    if ! serve "inj-r-$1" "${VARGS[@]}" --registry "$INJ_DB"; then
        echo "PROBLEM the verifier does not start again on the registry: $(tail -3 "$WORK/inj-r-$1.err")" >"$WORK/problems"
    else
        check_registry "$2" "$INJ_DB" "$WORK/inj/res" "$WORK/inj/snap" "127.0.0.1:$PORT"
        stop_verifier "$VPID" || rc=$?
        [ "$rc" -eq 0 ] || { echo "PROBLEM the restarted verifier exited $rc on SIGTERM:" \
            "$(tail -3 "$WORK/inj-r-$1.err")" >>"$WORK/problems"; }
    fi
    if [ -s "$WORK/problems" ]; then bad "$2" "$WORK/problems"; return 1; fi
    return 0
}

if ! cc -shared -fPIC -O2 -o "$SHIM" "$WORK/crashpoint.c" -ldl -lpthread 2>"$WORK/cc.err"; then
    bad "build the kill-point shim" "$WORK/cc.err"
else
    # 1a. The registry's creation at the first start (every third point:
    # one transaction, no client).
    points=0 failed=0 k=1
    while :; do
        rm -f "$INJ_DB" "$INJ_DB-wal" "$INJ_DB-shm" "$INJ_DB-journal" "$WORK/inj/snap"
        cp "$WORK/inj/devs" "$WORK/inj/res"
        inj_start "$k" "inj-$k"
        inj_end "$k"
        [ "$KILLED" -eq 1 ] || break
        points=$((points + 1))
        inj_recover "$k" "creating the registry, killed before op $k ($WHERE)" || failed=$((failed + 1))
        k=$((k + 3 * STRIDE))
    done
    [ "$points" -ge $((8 / STRIDE)) ] && [ "$failed" -eq 0 ] &&
        ok "registry creation killed at each of $points kill points (every $((3 * STRIDE))): restarts, schema whole" ||
        bad "registry creation: $failed of $points kill points failed (or too few points)"

    # 1b. An existing registry (TPM 0 enrolled) through a fixed sequence.
    rm -f "$INJ_DB" "$INJ_DB-wal" "$INJ_DB-shm"
    cp "$WORK/inj/devs" "$WORK/inj/base.res"
    rm -f "$WORK/inj/base.snap"
    serve inj-base "${VARGS[@]}" --registry "$INJ_DB"
    enroll_rec "$WORK/inj/base.res" 0 0 "127.0.0.1:$PORT" "$WORK/ak/inj.0.0.bin"
    [ "$RC" -eq 0 ] && attest_rec "$WORK/inj/base.res" 0 0 "127.0.0.1:$PORT" "$WORK/ak/inj.0.0.bin"
    base_rc=$RC
    check_registry "baseline" "$INJ_DB" "$WORK/inj/base.res" "$WORK/inj/base.snap" "127.0.0.1:$PORT"
    base_ok=1
    [ "$base_rc" -eq 0 ] && [ "$CHECK_FAIL" -eq 0 ] || { base_ok=0; cat "$WORK"/cl/[ea].0.0.err >>"$WORK/problems"
        bad "the kill-point baseline: TPM 0 enrolled and attested, checked" "$WORK/problems"; }
    stop_verifier "$VPID"
    cp "$INJ_DB" "$WORK/inj/base.db"
    points=0 failed=0 k=1
    while [ "$base_ok" -eq 1 ]; do
        rm -f "$INJ_DB" "$INJ_DB-wal" "$INJ_DB-shm" "$INJ_DB-journal"
        cp "$WORK/inj/base.db" "$INJ_DB"
        cp "$WORK/inj/base.res" "$WORK/inj/res"
        cp "$WORK/inj/base.snap" "$WORK/inj/snap"
        inj_start "$k" "inj-$k"
        if [ -n "$TARGET" ]; then
            # Re-enroll TPM 0 with a new AK, attest; enroll TPM 1 (new), attest.
            for i in 0 1; do
                enroll_rec "$WORK/inj/res" "$i" 1 "$TARGET" "$WORK/ak/inj.$i.$k.bin"
                [ "$RC" -ne 0 ] || attest_rec "$WORK/inj/res" "$i" 1 "$TARGET" "$WORK/ak/inj.$i.$k.bin"
            done
        fi
        inj_end "$k"
        if [ "$KILLED" -ne 1 ]; then
            # Past the last operation: the sequence ran whole; check it too.
            grep -q '^E 1 1 0 ' "$WORK/inj/res" && ok "the kill-point sequence runs whole without a kill ($((k - 1)) registry operations)" ||
                bad "the kill-point sequence without a kill" "$WORK/inj/res"
            inj_recover "$k" "the kill-point sequence without a kill: checked" || true
            break
        fi
        points=$((points + 1))
        inj_recover "$k" "enroll/attest sequence killed before op $k ($WHERE)" || failed=$((failed + 1))
        k=$((k + STRIDE))
    done
    [ "$points" -ge $((40 / STRIDE)) ] && [ "$failed" -eq 0 ] &&
        ok "enrollments and attestations killed at each of $points kill points (stride $STRIDE): nothing reported lost, nothing half-written, every AK attests after restart" ||
        bad "enroll/attest sequence: $failed of $points kill points failed (or too few points)"
fi

# ---- 2. random kills during concurrent enrollments and attestations ----
# client_loop INST ROUND TARGET: enroll with a new AK, attest with it, again,
# while $WORK/go exists
client_loop() {
    local i=$1 r=$2 n=0 key f
    while [ -e "$WORK/go" ] && [ "$n" -lt 500 ]; do
        key=$((r * 1000 + n))
        f=$WORK/ak/$i.$key.bin
        enroll_rec "$RES" "$i" "$key" "$3" "$f"
        [ "$RC" -ne 0 ] || [ ! -e "$WORK/go" ] || attest_rec "$RES" "$i" "$key" "$3" "$f"
        n=$((n + 1))
    done
}
VPID=$MAIN_PID TARGET=$MAIN_TARGET
for ((r = 1; r <= ROUNDS; r++)); do
    : >"$WORK/go"
    LOOP_PIDS=()
    for ((i = 0; i < NINST; i++)); do
        client_loop "$i" "$r" "$TARGET" &
        LOOP_PIDS+=($!)
    done
    # The kill comes at a random moment after the round's first reported
    # enrollment, amid the others: a fixed delay from the start is too short
    # for a slow build (ASan, four tests at a time) to enroll anything.
    waited=0
    until awk -v r="$r" '$1 == "E" && int($3 / 1000) == r && $4 == 0 { f = 1 } END { exit !f }' "$RES" ||
          [ "$waited" -ge 600 ]; do
        sleep 0.1; waited=$((waited + 1))
    done
    [ "$waited" -lt 600 ] || bad "round $r: no enrollment reported within 60 s" "$WORK/cl/e.0.$((r * 1000)).err"
    if [ -n "${VALGRIND:-}" ]; then delay=$((RANDOM % 3000)); else delay=$((RANDOM % 700)); fi
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
    kill9_verifier "$VPID"
    rm -f "$WORK/go"
    for p in "${LOOP_PIDS[@]}"; do wait "$p" || true; done
    LOOP_PIDS=()
    tried=$(awk -v r="$r" '$1 == "E" && int($3 / 1000) == r' "$RES" | wc -l)
    if ! serve "main-$r" "${VARGS[@]}" --registry "$WORK/registry.db"; then
        bad "round $r: the verifier does not start again after kill -9 (${delay} ms after the first enrollment)" "$WORK/main-$r.err"
        break
    fi
    TARGET=127.0.0.1:$PORT
    check_registry "round $r" "$WORK/registry.db" "$RES" "$WORK/snapshot" "$TARGET"
    [ "$CHECK_FAIL" -eq 0 ] &&
        ok "round $r: kill -9 ${delay} ms after the first enrollment, amid $tried; restart, registry whole, $(sed -n 's/^STATS //p' "$WORK/check.out")" ||
        bad "round $r: kill -9 at ${delay} ms amid $tried enrollments" "$WORK/problems"
done
# Enough happened between the kills to mean something.
confirmed=$(awk '$1 == "E" && $3 > 0 && $4 == 0' "$RES" | wc -l)
interrupted=$(awk '$1 == "E" && $4 == 4' "$RES" | wc -l)
[ "$confirmed" -ge "$ROUNDS" ] && ok "random kills: $confirmed enrollments reported, $interrupted cut off, $ADOPTED committed with the reply lost (here and at the kill points)" ||
    bad "random kills: only $confirmed enrollments reported in $ROUNDS rounds: the test did not exercise much"
rc=0
stop_verifier "$VPID" || rc=$?
[ "$rc" -eq 0 ] && ok "the verifier recovered $ROUNDS times shuts down cleanly (exit 0)" ||
    bad "the recovered verifier exited $rc on SIGTERM" "$WORK/main-$ROUNDS.err"

# ---- the checker catches what it is for (on copies) ----
# checker_catches NAME SQL PATTERN: the registry copy with SQL applied fails the check
checker_catches() {
    rm -f "$WORK/bad.db"
    /usr/bin/python3 - "$WORK/registry.db" "$WORK/bad.db" "$2" <<'PY'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1]); dst = sqlite3.connect(sys.argv[2])
src.backup(dst); src.close()
dst.executescript(sys.argv[3]); dst.commit(); dst.close()
PY
    cp "$WORK/snapshot" "$WORK/bad.snap"
    "$BIN/verifier" devices list --json --registry "$WORK/bad.db" >"$WORK/devices.json" 2>/dev/null || true
    if /usr/bin/python3 "$WORK/check.py" "$WORK/bad.db" "$RES" "$WORK/bad.snap" "$WORK/devices.json" \
        "$WORK/schema.ref" >"$WORK/bad.out" 2>&1; then
        bad "the checker misses $1" "$WORK/bad.out"
    else
        expect_grep "the checker catches $1" "$WORK/bad.out" "$3"
    fi
}
dev0=$(awk '$1 == "D" && $2 == 0 { print $3 }' "$RES")
checker_catches "a device without its AK" "DELETE FROM aks WHERE device_id = '$dev0';" \
    'HALF-WRITTEN: .* has 0 AKs'
checker_catches "a lost enrollment" "PRAGMA foreign_keys = ON; DELETE FROM devices WHERE id = '$dev0';" \
    'LOST: device .* is gone'
checker_catches "an AK its enrollment did not write" \
    "UPDATE aks SET name = 'ff' || substr(name, 3) WHERE device_id = '$dev0';" \
    'HALF-WRITTEN: .* its last enrollment audit says'
checker_catches "a hole in the audit log" \
    "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 2;
     CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;" 'audit seq not 1\.\.'

summary
