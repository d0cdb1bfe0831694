#!/usr/bin/env bash
# Network-access certificates (issue 16) at the command line, on a real
# registry with two devices enrolled through real swtpms: devices cert add
# prints the binding as FreeRADIUS will name it (issuer as openssl x509
# -nameopt compat prints it, serial as openssl -serial prints it,
# lower-cased: no sign octet), --ca refuses a certificate from another CA,
# the same certificate bound to a second device is refused naming the
# first, list and show list them, remove by file or by --issuer/--serial,
# each usage mistake exit 2; sessions list and outbox on a registry with
# none; audit still verifies; a typo'd registry is never created.
# usage: test_devcert.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_devcert.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: devices cert, sessions list, outbox"
C=(${VGC:-} "$BIN/attest_client")
V=(${VALGRIND:-} "$BIN/verifier")
D=$ROOT/tests/data/devcert
# A second TPM, its EK CA beside the first's (serve_one_device copies those).
start_swtpm "$WORK/tpmB"
TCTI_B=$TCTI
mkdir -p "$WORK/ekca"
for f in "$WORK/tpmB/ca/"*.pem; do cp "$f" "$WORK/ekca/B-$(basename "$f")"; done
serve_one_device
"${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_B" --ak-file "$WORK/akB.bin" \
    >"$WORK/enrollB.out" 2>&1 || bad "enroll B" "$WORK/enrollB.out"
DEV_B=$(sed -n 's/^enrolled: device //p' "$WORK/enrollB.out")
[ -n "$DEV_B" ] && [ "$DEV_B" != "$DEV" ] && ok "a second device enrolled" ||
    bad "a second device enrolled" "$WORK/enrollB.out"
stop_verifiers
R=(--registry "$DB")

issuer_of() { openssl x509 -in "$1" -noout -issuer -nameopt compat | sed 's/^issuer=//'; }
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f'; }
sha_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'; }
ISSUER=$(issuer_of "$D/dev-highbit.pem")
[ "$ISSUER" = "/C=US/O=Example, Inc./OU=Network Access/CN=Example Device CA 1" ] &&
    ok "openssl -nameopt compat prints the one-line form" || bad "openssl's issuer: $ISSUER"
[ "$(serial_of "$D/dev-highbit.pem")" = 80ff01 ] && ok "openssl -serial: no sign octet" ||
    bad "openssl's serial: $(serial_of "$D/dev-highbit.pem")"

# ---- add ----
expect_exit "cert add" 0 "${V[@]}" devices cert add "${R[@]}" "$DEV" "$D/dev-highbit.pem"
expect_grep "... names the device" "$WORK/out" "^bound to ${DEV:0:16}"
expect_grep "... the issuer as FreeRADIUS names it" "$WORK/out" "^  issuer +$ISSUER\$"
expect_grep "... the serial: 80ff01" "$WORK/out" "^  serial +80ff01\$"
expect_grep "... the SHA-256 fingerprint" "$WORK/out" "^  sha256 +$(sha_of "$D/dev-highbit.pem")\$"
expect_grep "... when it expires" "$WORK/out" "^  not after +21[0-9]{2}-[0-9]{2}-[0-9]{2}T"
expect_exit "cert add again, same device, --json: replaced" 0 \
    "${V[@]}" devices cert add --json "${R[@]}" "$DEV" "$D/dev-highbit.pem"
python3 - "$WORK/out" "$DEV" <<'PY' && ok "... the binding as JSON" || bad "... the binding as JSON" "$WORK/out"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["device_id"] == sys.argv[2] and o["serial"] == "80ff01", o
assert o["issuer"].startswith("/C=US/O=Example, Inc./"), o
assert len(o["sha256"]) == 64 and o["not_after"].startswith("21") and o["added_at"], o
PY
expect_exit "the same certificate for a second device: refused (1)" 1 \
    "${V[@]}" devices cert add "${R[@]}" "$DEV_B" "$D/dev-highbit.pem"
expect_grep "... naming the device that holds it" "$WORK/err" \
    "is bound to device ${DEV:0:16}.*already; remove it there first"
expect_exit "cert add --ca: another CA's certificate refused (1)" 1 \
    "${V[@]}" devices cert add --ca "$D/ca.pem" "${R[@]}" "$DEV" "$D/dev-other.pem"
expect_grep "... does not chain" "$WORK/err" "does not chain to the CA in $D/ca.pem"
expect_exit "cert add --ca: a server certificate of that CA refused (1)" 1 \
    "${V[@]}" devices cert add --ca "$D/ca.pem" "${R[@]}" "$DEV" "$D/dev-server.pem"
expect_grep "... for TLS client use" "$WORK/err" "unsuitable certificate purpose"
expect_exit "cert add --ca, DER, a 20-octet serial, the device by its prefix" 0 \
    "${V[@]}" devices cert add --ca "$D/ca.pem" "${R[@]}" "${DEV:0:16}" "$D/dev-20.der"
expect_grep "... its serial" "$WORK/out" "^  serial +7a0102030405060708090a0b0c0d0e0f10111213\$"
expect_exit "cert add: two PEM blocks refused (2)" 2 \
    "${V[@]}" devices cert add "${R[@]}" "$DEV" "$D/two.pem"
expect_grep "... named" "$WORK/err" "two.pem: device certificate: more than one PEM block"
printf 'not a certificate\n' >"$WORK/garbage.pem"
expect_exit "cert add: garbage refused (2)" 2 \
    "${V[@]}" devices cert add "${R[@]}" "$DEV" "$WORK/garbage.pem"
expect_grep "... named" "$WORK/err" "device certificate: not a PEM or DER X.509 certificate"
expect_exit "cert add: no such file (2)" 2 \
    "${V[@]}" devices cert add "${R[@]}" "$DEV" "$WORK/none.pem"
expect_exit "cert add: no such device (1)" 1 \
    "${V[@]}" devices cert add "${R[@]}" no-such-host "$D/dev-other.pem"

# ---- list, show ----
expect_exit "cert list" 0 "${V[@]}" devices cert list "${R[@]}"
expect_grep "... both of the device's" "$WORK/out" "^2 certificates\$"
expect_grep "... serial, expiry, issuer" "$WORK/out" \
    "^${DEV:0:16}.*serial 80ff01  not after 21.*issuer $ISSUER\$"
if grep -q "serial 0102" "$WORK/out"; then bad "... not the refused one" "$WORK/out"
else ok "... not the refused one"; fi
expect_exit "cert list DEVICE_B" 0 "${V[@]}" devices cert list "${R[@]}" "$DEV_B"
expect_grep "... none" "$WORK/out" "^0 certificates\$"
expect_exit "cert list --json" 0 "${V[@]}" devices cert list --json "${R[@]}" "$DEV"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert sorted(c["serial"] for c in a) == ["7a0102030405060708090a0b0c0d0e0f10111213", "80ff01"], a' \
    "$WORK/out" && ok "... a JSON array of both" || bad "... a JSON array of both" "$WORK/out"
expect_exit "devices show" 0 "${V[@]}" devices show "${R[@]}" "$DEV"
expect_grep "... its certificates" "$WORK/out" "^network-access certificates: 2\$"
expect_grep "... its sessions" "$WORK/out" "^open sessions: 0\$"
expect_exit "devices show --json" 0 "${V[@]}" devices show --json "${R[@]}" "$DEV"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert len(o["certificates"]) == 2 and o["sessions"] == [], o' \
    "$WORK/out" && ok "... certificates and sessions in the JSON" || bad "... in the JSON" "$WORK/out"

# ---- remove ----
expect_exit "cert remove from the wrong device (1)" 1 \
    "${V[@]}" devices cert remove "${R[@]}" "$DEV_B" "$D/dev-highbit.pem"
expect_grep "... says whose it is" "$WORK/err" "bound to device ${DEV:0:16}"
expect_exit "cert remove DEVICE CERT" 0 "${V[@]}" devices cert remove "${R[@]}" "$DEV" "$D/dev-highbit.pem"
expect_grep "... says what" "$WORK/out" "^removed from ${DEV:0:16}"
expect_exit "cert remove --issuer --serial (openssl's form)" 0 "${V[@]}" devices cert remove \
    "${R[@]}" --issuer "$ISSUER" --serial "serial=7A0102030405060708090A0B0C0D0E0F10111213"
expect_exit "... again: no such binding (1)" 1 "${V[@]}" devices cert remove \
    "${R[@]}" --issuer "$ISSUER" --serial 7a0102030405060708090a0b0c0d0e0f10111213
expect_exit "cert list: none left" 0 "${V[@]}" devices cert list "${R[@]}"
expect_grep "... 0" "$WORK/out" "^0 certificates\$"
expect_exit "removed, the certificate binds to the second device" 0 \
    "${V[@]}" devices cert add "${R[@]}" "$DEV_B" "$D/dev-highbit.pem"

# ---- usage ----
expect_exit "cert remove --issuer without --serial (2)" 2 \
    "${V[@]}" devices cert remove "${R[@]}" --issuer "$ISSUER"
expect_grep "... with the usage" "$WORK/err" "^usage: verifier devices cert remove"
expect_exit "cert remove --serial not hex (2)" 2 \
    "${V[@]}" devices cert remove "${R[@]}" --issuer "$ISSUER" --serial xyz
expect_exit "cert remove --issuer not in the one-line form (2)" 2 \
    "${V[@]}" devices cert remove "${R[@]}" --issuer "CN=x" --serial 01
expect_exit "cert add: one argument (2)" 2 "${V[@]}" devices cert add "${R[@]}" "$DEV"
expect_exit "cert list --ca (2)" 2 "${V[@]}" devices cert list --ca "$D/ca.pem" "${R[@]}"
expect_exit "cert add without --registry (2)" 2 "${V[@]}" devices cert add "$DEV" "$D/dev-20.der"
expect_exit "cert with no verb (2)" 2 "${V[@]}" devices cert
expect_exit "cert frob (2)" 2 "${V[@]}" devices cert frob "${R[@]}"

# ---- sessions, outbox: none yet ----
expect_exit "sessions list" 0 "${V[@]}" sessions list "${R[@]}"
expect_grep "... none open" "$WORK/out" "^0 open sessions\$"
expect_exit "sessions list --json DEVICE" 0 "${V[@]}" sessions list --json "${R[@]}" "$DEV"
[ "$(tr -d ' \n' <"$WORK/out")" = "[]" ] && ok "... []" || bad "... []" "$WORK/out"
expect_exit "sessions list no-such-host (1)" 1 "${V[@]}" sessions list "${R[@]}" no-such-host
expect_exit "outbox" 0 "${V[@]}" outbox "${R[@]}"
expect_grep "... empty" "$WORK/out" "^outbox: empty\$"
expect_exit "outbox --json" 0 "${V[@]}" outbox --json "${R[@]}"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["waiting"] == 0 and o["oldest"] == [] and o["kinds"] == {"caep": 0, "radius": 0}, o' \
    "$WORK/out" && ok "... nothing waiting" || bad "... nothing waiting" "$WORK/out"
expect_exit "outbox with an argument (2)" 2 "${V[@]}" outbox "${R[@]}" extra

# ---- sessions and outbox rows (planted: the RADIUS and CAEP paths that
# write them are other tests') ----
python3 - "$DB" "$DEV" "$DEV_B" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
a, b = sys.argv[2], sys.argv[3]
c.execute("INSERT INTO sessions VALUES ('10.0.0.1', 'S-1', ?, 'sw-1', '7', "
          "'02-00-00-00-00-01', 'host/alice', 1700000000, 1700000600)", (a,))
c.execute("INSERT INTO sessions VALUES ('10.0.0.2', 'S-2', ?, NULL, NULL, NULL, NULL, "
          "1700000100, 1700000100)", (b,))
for kind, target, dev, created, att, err in (
        ("caep", "https://rp.example/caep", a, 1700000000, 3, "HTTP 503"),
        ("caep", "https://rp.example/caep", b, 1700000050, 0, None),
        ("radius", "10.0.0.1:3799", a, 1700000010, 1, "no answer")):
    c.execute("INSERT INTO outbox(kind, target, device_id, body, created_at, next_at, attempts, "
              "last_error) VALUES (?, ?, ?, '{}', ?, 4102444800, ?, ?)",
              (kind, target, dev, created, att, err))
c.commit()
PY
expect_exit "sessions list (two open)" 0 "${V[@]}" sessions list "${R[@]}"
expect_grep "... the first, every field" "$WORK/out" \
    "^${DEV:0:16}( \\([^)]*\\))?  nas 10.0.0.1 \(sw-1\)  port 7  session S-1  station 02-00-00-00-00-01  user host/alice  started 2023-11-14T22:13:20Z  updated 2023-11-14T22:23:20Z\$"
expect_grep "... the second, what was not reported as -" "$WORK/out" \
    "^${DEV_B:0:16}( \\([^)]*\\))?  nas 10.0.0.2 \(-\)  port -  session S-2  station -  user -"
expect_grep "... a count" "$WORK/out" "^2 open sessions\$"
expect_exit "sessions list --json DEVICE_B" 0 "${V[@]}" sessions list --json "${R[@]}" "$DEV_B"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert len(a) == 1 and a[0]["session_id"] == "S-2" and a[0]["nas_identifier"] is None and a[0]["started_at"] == "2023-11-14T22:15:00Z", a' \
    "$WORK/out" && ok "... that device's alone" || bad "... that device's alone" "$WORK/out"
expect_exit "devices show: its open session" 0 "${V[@]}" devices show "${R[@]}" "$DEV"
expect_grep "... listed" "$WORK/out" "^open sessions: 1\$"
expect_grep "... with its NAS" "$WORK/out" "^  nas 10.0.0.1 \(sw-1\)  port 7  session S-1"
expect_exit "outbox (three waiting)" 0 "${V[@]}" outbox "${R[@]}"
expect_grep "... per kind" "$WORK/out" "^outbox: 3 waiting: caep 2, radius 1\$"
expect_grep "... per target" "$WORK/out" "^  caep    https://rp.example/caep  2\$"
expect_grep "... the oldest first" "$WORK/out" \
    "^  1  caep    https://rp.example/caep  device ${DEV:0:16}( \\([^)]*\\))?  created 2023-11-14T22:13:20Z  attempts 3  next 2100-01-01T00:00:00Z  last error HTTP 503\$"
expect_exit "outbox --json" 0 "${V[@]}" outbox --json "${R[@]}"
python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert o["waiting"] == 3 and o["kinds"] == {"caep": 2, "radius": 1}, o
assert [i["id"] for i in o["oldest"]] == [1, 3, 2], o
assert {(t["kind"], t["target"], t["waiting"]) for t in o["targets"]} == \
    {("caep", "https://rp.example/caep", 2), ("radius", "10.0.0.1:3799", 1)}, o
assert o["oldest"][2]["last_error"] is None and o["oldest"][1]["attempts"] == 1, o
' "$WORK/out" && ok "... counts, targets and the oldest" || bad "... counts, targets, oldest" "$WORK/out"

# ---- the audit chain holds the binds; a typo'd registry is not made ----
expect_exit "audit verify" 0 "${V[@]}" audit verify "${R[@]}"
TYPO=$WORK/regsitry.db
for cmd in "devices cert list" "sessions list" "outbox"; do
    # shellcheck disable=SC2086
    expect_exit "$cmd on a typo'd registry (2)" 2 "${V[@]}" $cmd --registry "$TYPO"
    expect_grep "... names it" "$WORK/err" "registry $TYPO does not exist"
done
[ -e "$TYPO" ] && bad "a typo'd registry was created" || ok "no typo'd registry created"

summary
