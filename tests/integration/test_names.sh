#!/usr/bin/env bash
# Device names (issue 14, item 1) end to end with real swtpms, a real
# verifier and the real attest_client: the client reports its host's names
# (from a planted tree: --host-info-root), leaving out an invalid DMI value
# with a word on stderr; the registry keeps them as reported, not attested;
# every devices verb finds the device by its host name and by the 16-hex
# prefix the verifier's log printed; two devices reporting one name are
# ambiguous, both named; a refused attempt and evidence that fails rename
# nothing; a host name the validator refuses is refused by the verifier by
# field; --no-host-info stores nothing; list filters and the summary.
# usage: test_names.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_names.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: device names (reported host names, lookup by name and prefix)"
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
start_swtpm "$WORK/tpmA"
TCTI_A=$TCTI
start_swtpm "$WORK/tpmB"
TCTI_B=$TCTI
mkdir -p "$WORK/ekca"
# Each simulated TPM's EK certificate chains to its own local CA.
for t in A B; do
    for f in "$WORK/tpm$t/ca/"*.pem; do cp "$f" "$WORK/ekca/$t-$(basename "$f")"; done
done
REG=$WORK/registry.db
start_verifier v --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$REG" --ek-ca "$WORK/ekca" --baseline "$ROOT/tests/data/baselines/evidence-only.json"
TARGET=127.0.0.1:$PORT
LOG=$WORK/v.err
C=(${VGC:-} "$BIN/attest_client")
V=("$BIN/verifier" devices)
MID_A=0123456789abcdef0123456789abcdef

# plant DIR HOSTNAME MACHINE_ID PRODUCT SERIAL (printf formats)
plant() {
    mkdir -p "$1/etc" "$1/sys/class/dmi/id"
    printf "$2\n" >"$1/etc/hostname"
    printf "$3\n" >"$1/etc/machine-id"
    printf "$4\n" >"$1/sys/class/dmi/id/product_name"
    printf "$5\n" >"$1/sys/class/dmi/id/product_serial"
    chmod 0400 "$1/sys/class/dmi/id/product_serial"
}
# A serial with a control byte: the client leaves it out and says so.
plant "$WORK/rootA" alice-laptop "$MID_A" "Test Machine 3000" 'SN\00142'
plant "$WORK/rootB" ALICE-LAPTOP fedcba9876543210fedcba9876543210 "Other Box" SN-B
plant "$WORK/rootM" mallory 99999999999999999999999999999999 "Evil" EVIL

# wait_log PATTERN: the verifier's log gets a line matching it (it is
# written before the reply, so this is for valgrind's slowness only).
wait_log() {
    local i
    for ((i = 0; i < 500; i++)); do
        grep -qE -- "$1" "$LOG" && return 0
        sleep 0.02
    done
    return 1
}

db() { # SQL: one row, columns separated by |
    /usr/bin/python3 - "$REG" "$1" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
for r in c.execute(sys.argv[2]):
    print("|".join("NULL" if v is None else str(v) for v in r))
PY
}

# ---- enrollment: names reported, one left out ----
expect_exit "enroll with the planted host names" 0 "${C[@]}" enroll --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/akA.bin" --host-info-root "$WORK/rootA" || true
DEV_A=$(sed -n 's/^enrolled: device //p' "$WORK/out")
expect_grep "... the invalid serial said on stderr, by field" "$WORK/err" \
    'host info: dmi_serial: byte 3 is not printable \(0x01\): not sent'
[ "$(grep -c 'host info:' "$WORK/err")" -eq 1 ] && ok "... said once (Enroll and Activate)" ||
    bad "... said once (Enroll and Activate)" "$WORK/err"
if wait_log "msg=enrolled device=[0-9a-f]{16} host=alice-laptop ak="; then
    ok "the verifier's log names the device: device=<16 hex> host=HOSTNAME"
else
    bad "the verifier's log names the device: device=<16 hex> host=HOSTNAME" "$LOG"
fi
P16=$(sed -n 's/.*msg=enrolled device=\([0-9a-f]\{16\}\) host=alice-laptop .*/\1/p' "$LOG" | head -1)
[ -n "$P16" ] && [ "$P16" = "${DEV_A:0:16}" ] && ok "... the prefix is the device id's" ||
    bad "... the prefix is the device id's ($P16, $DEV_A)" "$LOG"
db "SELECT hostname, machine_id, dmi_product, dmi_serial, first_seen IS NOT NULL,
           last_seen IS NOT NULL FROM devices WHERE id = '$DEV_A'" >"$WORK/db.out"
expect_grep "registry: the names kept, the invalid serial not" "$WORK/db.out" \
    "^alice-laptop\\|$MID_A\\|Test Machine 3000\\|NULL\\|1\\|1\$"

# ---- found by host name and by the log's prefix ----
expect_exit "devices show alice-laptop" 0 "${V[@]}" show --registry "$REG" alice-laptop || true
expect_grep "... the device" "$WORK/out" "^$DEV_A  active +alice-laptop "
expect_grep "... names under a heading that says reported, not attested" "$WORK/out" \
    '^reported by the device, not attested:$'
expect_grep "... the machine-id" "$WORK/out" "^  machine-id      $MID_A\$"
expect_grep "... ISO 8601 times" "$WORK/out" '^  first seen      [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
expect_exit "devices show ALICE-LAPTOP (any case)" 0 "${V[@]}" show --registry "$REG" ALICE-LAPTOP || true
expect_exit "devices show --json by the log's prefix" 0 "${V[@]}" show --json --registry "$REG" "$P16" || true
/usr/bin/python3 - "$WORK/out" "$DEV_A" >"$WORK/json.out" 2>&1 <<'PY' || true
import json, re, sys
d = json.load(open(sys.argv[1]))
iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
r = d["reported"]
print("id", d["id"] == sys.argv[2])
print("reported", r["hostname"] == "alice-laptop" and r["dmi_serial"] is None and
      r["attested"] is False and r["dmi_product"] == "Test Machine 3000")
print("times", all(iso.match(d[k]) for k in ("enrolled_at", "first_seen", "last_seen")) and
      d["last_attest_at"] is None)
PY
expect_grep "JSON: the device" "$WORK/json.out" '^id True$'
expect_grep "JSON: \"reported\" holds the names, attested false" "$WORK/json.out" '^reported True$'
expect_grep "JSON: times ISO 8601" "$WORK/json.out" '^times True$'
expect_exit "an unknown host name is not found (1)" 1 "${V[@]}" show --registry "$REG" bob-laptop || true
expect_grep "... saying so" "$WORK/err" 'no device with host name bob-laptop'

# ---- attest: the names and last_seen, only from evidence that held ----
expect_exit "attest reports the names" 0 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" \
    --tcti "$TCTI_A" --ak-file "$WORK/akA.bin" --host-info-root "$WORK/rootA" || true
if wait_log "msg=\"attest compliant\" device=$P16 host=alice-laptop ak=[0-9a-f]{16} device_hint=\"\" "; then
    ok "the attest log line names the device the same way"
else
    bad "the attest log line names the device the same way" "$LOG"
fi
SEEN1=$(db "SELECT last_seen FROM devices WHERE id = '$DEV_A'")
[ "$SEEN1" != NULL ] && ok "registry: last_seen set" || bad "registry: last_seen set"
# Every field the host reports with an attestation is written, the last of
# them too (the verdict's statement once left dmi_serial unbound).
plant "$WORK/rootA" alice-laptop "$MID_A" "Test Machine 3001" 'SN-A-0042'
expect_exit "attest again, the serial now printable" 0 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/akA.bin" --host-info-root "$WORK/rootA" || true
db "SELECT dmi_product, dmi_serial FROM devices WHERE id = '$DEV_A'" >"$WORK/db.out"
expect_grep "registry: the attestation's product and serial written" "$WORK/db.out" \
    '^Test Machine 3001\|SN-A-0042$'

# Evidence that fails (a quote no TPM signed, by the registered AK), from a
# peer reporting another host name: answered, never recorded, nothing renamed.
mkdir -p "$WORK/py"
protoc -I "$ROOT/proto" --python_out="$WORK/py" "$ROOT/proto/attest/v1/attest.proto"
/usr/bin/python3 - "$TARGET" "$CA" "$WORK/py" "$REG" "$DEV_A" >"$WORK/peer.out" 2>&1 <<'PY' || true
import sqlite3, sys
import grpc
target, ca, gen, reg, dev = sys.argv[1:6]
sys.path.insert(0, gen)
from attest.v1 import attest_pb2 as pb
c = sqlite3.connect("file:%s?mode=ro" % reg, uri=True)
akpub = c.execute("SELECT public FROM aks WHERE device_id = ?", (dev,)).fetchone()[0]
ch_ = grpc.secure_channel(target, grpc.ssl_channel_credentials(open(ca, "rb").read()))
def call(m, req, resp):
    f = ch_.unary_unary("/attest.v1.Verifier/" + m, request_serializer=lambda b: b,
                        response_deserializer=lambda b: b)
    try:
        return "OK", resp.FromString(f(req.SerializeToString(), timeout=30)), ""
    except grpc.RpcError as e:
        return e.code().name, None, e.details()
code, ch, _ = call("GetChallenge", pb.GetChallengeRequest(), pb.GetChallengeResponse)
bank = pb.PcrBank(hash_alg=0x000B, pcrs=[pb.PcrValue(index=i, digest=bytes(32)) for i in range(8)])
def req(host):
    return pb.AttestRequest(challenge_id=ch.challenge_id,
                            quote=pb.Quote(attest=b"\xffTCG" + bytes(60), signature=bytes(72)),
                            ak_public=akpub, pcr_banks=[bank], host=host)
code, r, det = call("Attest", req(pb.HostInfo(hostname="mallory", machine_id="9" * 32)),
                    pb.AttestResponse)
print("failed-evidence", code, r.verdict.status if r else det)
code, r, det = call("Attest", req(pb.HostInfo(hostname="bad\x07name")), pb.AttestResponse)
print("invalid-host", code, det)
code, r, det = call("Attest", req(pb.HostInfo(machine_id="ABC")), pb.AttestResponse)
print("invalid-mid", code, det)
# Enroll proves nothing: the device's own EK and AK, another name; answered
# with a credential, nothing kept.
ekpub, ekcert = c.execute("SELECT ek_public, ek_cert FROM devices WHERE id = ?", (dev,)).fetchone()
code, r, det = call("Enroll", pb.EnrollRequest(ek_public=ekpub, ek_certificate=ekcert,
                                               ak_public=akpub,
                                               host=pb.HostInfo(hostname="mallory")),
                    pb.EnrollResponse)
print("enroll", code, det)
code, r, det = call("Enroll", pb.EnrollRequest(ek_public=ekpub, ek_certificate=ekcert,
                                               ak_public=akpub,
                                               host=pb.HostInfo(dmi_serial="S" * 129)),
                    pb.EnrollResponse)
print("enroll-invalid", code, det)
PY
expect_grep "failed evidence is answered (non-compliant), not refused" "$WORK/peer.out" \
    '^failed-evidence OK 2$'
expect_grep "a host name the validator refuses: INVALID_ARGUMENT naming the field" "$WORK/peer.out" \
    '^invalid-host INVALID_ARGUMENT host\.hostname: byte 4 is not printable \(0x07\)$'
expect_grep "... and a bad machine-id" "$WORK/peer.out" '^invalid-mid INVALID_ARGUMENT host\.machine_id: '
expect_grep "Enroll with another name is answered (it proves nothing yet)" "$WORK/peer.out" '^enroll OK $'
expect_grep "Enroll with an over-long serial: INVALID_ARGUMENT naming it" "$WORK/peer.out" \
    '^enroll-invalid INVALID_ARGUMENT host\.dmi_serial: 129 bytes, longer than 128$'
db "SELECT hostname, machine_id, last_seen FROM devices WHERE id = '$DEV_A'" >"$WORK/db.out"
expect_grep "registry: failed evidence and Enroll renamed nothing, last_seen unchanged" "$WORK/db.out" \
    "^alice-laptop\\|$MID_A\\|$SEEN1\$"
if grep -q mallory "$LOG"; then bad "... and the log never says the stranger's name" "$LOG"
else ok "... and the log never says the stranger's name"; fi

# ---- every verb takes the name or the prefix ----
expect_exit "devices revoke alice-laptop" 0 "${V[@]}" revoke --registry "$REG" alice-laptop || true
expect_grep "... revoked" "$WORK/out" "^$DEV_A  revoked +alice-laptop "
expect_exit "a revoked device's attempt is refused (5)" 5 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_A" --ak-file "$WORK/akA.bin" --host-info-root "$WORK/rootM" || true
# (Its log line is one of those a stranger could cause: rate-limited, so
# not waited for here.)
expect_grep "registry: the refused attempt renamed nothing" <(db "SELECT hostname, last_seen FROM devices WHERE id = '$DEV_A'") \
    "^alice-laptop\\|$SEEN1\$"
expect_exit "devices reinstate by the log's prefix" 0 "${V[@]}" reinstate --registry "$REG" "$P16" || true
expect_exit "devices label by host name" 0 "${V[@]}" label --registry "$REG" Alice-Laptop lab || true
expect_grep "... labelled" "$WORK/out" "^$DEV_A  active +alice-laptop .* label lab "

# ---- a second device: --no-host-info stores nothing ----
expect_exit "enroll a second device with --no-host-info" 0 "${C[@]}" enroll --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_B" --ak-file "$WORK/akB.bin" --no-host-info || true
DEV_B=$(sed -n 's/^enrolled: device //p' "$WORK/out")
[ -n "$DEV_B" ] && [ "$DEV_B" != "$DEV_A" ] && ok "... another device" || bad "... another device" "$WORK/out"
db "SELECT coalesce(hostname, 'NULL'), coalesce(machine_id, 'NULL'), coalesce(dmi_product, 'NULL'),
           coalesce(dmi_serial, 'NULL') FROM devices WHERE id = '$DEV_B'" >"$WORK/db.out"
expect_grep "registry: --no-host-info stored no name" "$WORK/db.out" '^NULL\|NULL\|NULL\|NULL$'
if wait_log "msg=enrolled device=${DEV_B:0:16} ak="; then ok "... logged by its prefix alone"
else bad "... logged by its prefix alone" "$LOG"; fi
expect_exit "--no-host-info and --host-info-root exclude each other (2)" 2 "${C[@]}" enroll \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_B" --ak-file "$WORK/akB.bin" --no-host-info \
    --host-info-root "$WORK/rootB" || true

# The same device enrolls again reporting the same host name as the first,
# in capitals: a name two devices report is ambiguous, both named.
expect_exit "the second device enrolls again reporting ALICE-LAPTOP" 0 "${C[@]}" enroll \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI_B" --ak-file "$WORK/akB.bin" \
    --host-info-root "$WORK/rootB" || true
expect_exit "devices show alice-laptop is now ambiguous (1)" 1 "${V[@]}" show --registry "$REG" alice-laptop || true
expect_grep "... naming both devices by their prefixes" "$WORK/err" \
    "host name alice-laptop is ambiguous: .*(${P16}.*${DEV_B:0:16}|${DEV_B:0:16}.*${P16})"
expect_exit "devices revoke alice-laptop is refused too (1)" 1 "${V[@]}" revoke --registry "$REG" alice-laptop || true
db "SELECT count(*) FROM devices WHERE state = 'revoked'" >"$WORK/db.out"
expect_grep "... revoking nothing" "$WORK/db.out" '^0$'
expect_exit "... while the prefixes still name each" 0 "${V[@]}" show --registry "$REG" "${DEV_B:0:16}" || true
expect_grep "... the second device, its names reported" "$WORK/out" "^$DEV_B  active +ALICE-LAPTOP "

# ---- list filters and the summary ----
# A: attested (compliant, a token that holds), label lab. B: never attested
# (not stale: never attested is its own outcome).
expect_exit "devices list" 0 "${V[@]}" list --registry "$REG" || true
[ "$(grep -c '^[0-9a-f]\{64\}  ' "$WORK/out")" -eq 2 ] && ok "... two devices" || bad "... two devices" "$WORK/out"
expect_grep "... a hostname column" "$WORK/out" "^$DEV_A  active +alice-laptop "
expect_grep "... ends with the fleet summary" "$WORK/out" \
    '^2 devices: 2 active; 1 compliant, 1 never attested; 0 stale$'
list_ids() { grep -o '^[0-9a-f]\{64\}' "$WORK/out" | tr '\n' ' '; }
expect_exit "devices list --stale" 0 "${V[@]}" list --stale --registry "$REG" || true
expect_grep "... none: A is within the default interval, B never attested" "$WORK/out" '^0 devices$'
# With the serving verifier's interval said to be 1 s, A is overdue once a
# second has passed since its verdict: waited for, not assumed.
for _ in $(seq 1 40); do
    "${V[@]}" list --stale --attest-interval 1 --stale-grace 0 --registry "$REG" \
        >"$WORK/out" 2>"$WORK/err" || true
    [ "$(list_ids)" = "$DEV_A " ] && break
    sleep 0.25
done
[ "$(list_ids)" = "$DEV_A " ] && ok "devices list --stale --attest-interval 1 --stale-grace 0: A" ||
    bad "devices list --stale --attest-interval 1 --stale-grace 0: A" "$WORK/out"
expect_exit "--attest-interval 0 is refused (2)" 2 "${V[@]}" list --attest-interval 0 --registry "$REG" || true
expect_grep "... naming the option and its range" "$WORK/err" "^verifier: devices: --attest-interval: '0' is not in 1\.\."
expect_exit "--stale-grace is not revoke's (2)" 2 "${V[@]}" revoke --stale-grace 5 --registry "$REG" "$P16" || true
expect_exit "devices list --non-compliant" 0 "${V[@]}" list --non-compliant --registry "$REG" || true
[ "$(list_ids)" = "$DEV_B " ] && ok "... only it" || bad "... only it" "$WORK/out"
expect_exit "devices list --label lab" 0 "${V[@]}" list --label lab --registry "$REG" || true
[ "$(list_ids)" = "$DEV_A " ] && ok "... only the labelled one" || bad "... only the labelled one" "$WORK/out"
expect_grep "... the summary counts what was listed" "$WORK/out" '^1 device: 1 active; 1 compliant; 0 stale$'
expect_exit "devices revoke the second by prefix" 0 "${V[@]}" revoke --registry "$REG" "${DEV_B:0:16}" || true
expect_exit "devices list --state revoked" 0 "${V[@]}" list --state revoked --registry "$REG" || true
[ "$(list_ids)" = "$DEV_B " ] && ok "... only the revoked one" || bad "... only the revoked one" "$WORK/out"
expect_exit "devices list --state active --stale: none" 0 "${V[@]}" list --state active --stale --registry "$REG" || true
expect_grep "... zero devices" "$WORK/out" '^0 devices$'
expect_exit "devices list --state bogus (2)" 2 "${V[@]}" list --state bogus --registry "$REG" || true
expect_grep "... naming the states" "$WORK/err" 'expected active, revoked or pending'
expect_exit "--stale is for list only (2)" 2 "${V[@]}" show --stale --registry "$REG" "$P16" || true
expect_exit "devices summary" 0 "${V[@]}" summary --registry "$REG" || true
expect_grep "... one line, per state and outcome" "$WORK/out" \
    '^2 devices: 1 active, 1 revoked; 1 compliant, 1 never attested; 0 stale$'
expect_exit "devices summary --json" 0 "${V[@]}" summary --json --registry "$REG" || true
/usr/bin/python3 - "$WORK/out" >"$WORK/json.out" 2>&1 <<'PY' || true
import json, sys
s = json.load(open(sys.argv[1]))
print("summary", s["devices"] == 2 and s["states"] == {"active": 1, "revoked": 1, "pending": 0} and
      s["outcomes"]["compliant"] == 1 and s["outcomes"]["never-attested"] == 1 and
      s["outcomes"]["non-compliant"] == 0 and s["stale"] == 0)
PY
expect_grep "... counts as JSON" "$WORK/json.out" '^summary True$'
expect_exit "devices list --json" 0 "${V[@]}" list --json --state revoked --registry "$REG" || true
/usr/bin/python3 - "$WORK/out" "$DEV_B" >"$WORK/json.out" 2>&1 <<'PY' || true
import json, sys
a = json.load(open(sys.argv[1]))
print("list", [d["id"] for d in a] == [sys.argv[2]] and a[0]["stale"] is False and
      a[0]["due_at"] is None and
      a[0]["reported"]["hostname"] == "ALICE-LAPTOP" and a[0]["state_changed_at"].endswith("Z"))
PY
expect_grep "... filtered, with the names and ISO times" "$WORK/json.out" '^list True$'
expect_exit "devices --help" 0 "${V[@]}" --help || true
expect_grep "... says names are reported, not attested" "$WORK/out" 'not attested'
expect_exit "devices list --help" 0 "${V[@]}" list --help || true
expect_grep "... its options" "$WORK/out" '^  --non-compliant       only devices'

summary
