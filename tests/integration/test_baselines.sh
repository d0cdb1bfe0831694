#!/usr/bin/env bash
# Golden baselines: learned on the simulator's good boot, each bad boot
# fails on exactly the rules its scenario file expects; a kernel update is accepted after a
# merge; a rollback to a revoked boot loader is refused once dbx lists it;
# real logs against each other; baselines validated by an independent JSON
# Schema validator; then the registry flow end to end over gRPC with swtpm:
# learn from the device's last attestation, add versions, assign to a device
# or a label, every verdict naming the baseline version that decided it.
# usage: test_baselines.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_baselines.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: golden baselines (tpa-bootsim, real logs, registry, swtpm, TLS)"
SCEN=$ROOT/simulator/scenarios
DATA=$ROOT/tests/data/eventlog
V=(${VALGRIND:-} "$BIN/verifier")
# The offline commands run the library test_baseline already checks under
# valgrind: plain here; the registry flow below runs under VALGRIND.
B=("$BIN/verifier" baseline)

# Every scenario: NAME <tab> efi-on|efi-off <tab> evidence-ok|evidence-fails.
mapfile -t ROWS < <(/usr/bin/python3 "$ROOT/tests/integration/scenarios.py" list "$SCEN" ||
    echo "bad	listing the scenarios")
for row in "${ROWS[@]}"; do
    IFS=$'\t' read -r s _ _ <<<"$row"
    "$BIN/tpa-bootsim" --scenario "$SCEN/$s.json" --log "$WORK/$s.log" >/dev/null ||
        bad "tpa-bootsim $s"
done

# failed_rules: the rules `baseline appraise` printed as failed, in order.
failed_rules() { sed -n 's/^  fail \([a-z-]*\) .*/\1/p' "$WORK/out" | tr '\n' ' ' | sed 's/ $//'; }
appraise() { # NAME BASELINE LOG EXPECTED_EXIT EXPECTED_FAILED_RULES
    expect_exit "$1: appraise exits $4" "$4" "${B[@]}" appraise --baseline "$2" --eventlog "$3" || true
    [ "$(failed_rules)" = "$5" ] && ok "$1: failed rules '$5'" ||
        bad "$1: failed rules '$(failed_rules)', expected '$5'" "$WORK/out"
}

# ---- learn on the good boot; each scenario whose evidence holds (its log
# is the boot) is judged by its log alone as its file's "expect" says:
# outcome and failing rules by name (simulator/scenarios/README.md) ----
expect_exit "learn from the good boot's log" 0 "${B[@]}" learn --eventlog "$WORK/good.log" \
    --name sim --out "$WORK/good.json"
expect_grep "learn prints a summary a person can read" "$WORK/out" '^  boot-applications  critical 3 application\(s\), 11 boot loader event\(s\)$'
for row in "${ROWS[@]}"; do
    IFS=$'\t' read -r s _ evidence <<<"$row"
    [ "$evidence" = evidence-ok ] || continue
    set +e
    "${B[@]}" appraise --baseline "$WORK/good.json" --eventlog "$WORK/$s.log" >"$WORK/$s.appraise" 2>&1
    "${B[@]}" appraise --json --baseline "$WORK/good.json" --eventlog "$WORK/$s.log" \
        >"$WORK/$s.appraise.json" 2>/dev/null
    set -e
    checker_lines < <(/usr/bin/python3 "$ROOT/tests/integration/scenarios.py" appraised \
        "$SCEN/$s.json" "$WORK/$s.appraise.json" || echo "bad	$s: checker failed")
done
expect_grep "sb-off: the databases are n/a without Secure Boot" "$WORK/sb-off.appraise" '^  n/a  db +Secure Boot is not enabled'
expect_grep "tampered-bootloader: the evidence names event, path and digest" "$WORK/tampered-bootloader.appraise" \
    'fail boot-applications  event 24: application .EFI.debian.grubx64.efi \([0-9a-f]{16}\.\.\.\) is not among the 3 allowed'
# The kernel update fails on the kernel (PCR 4) and what GRUB measured of it
# (PCR 8, 9): every such event is listed with the digests allowed there.
expect_grep "kernel-update: the kernel's digest seen, on PCR 4" "$WORK/kernel-update.appraise" \
    '^         seen: event [0-9]+ \(PCR 4\): [0-9a-f]{64}$'
expect_grep "... the files GRUB loaded, on PCR 9" "$WORK/kernel-update.appraise" \
    '^         seen: event [0-9]+ \(PCR 9\): [0-9a-f]{64}$'
expect_grep "... with the digests the baseline allows" "$WORK/kernel-update.appraise" \
    '^         expected: [0-9a-f]{64}$'
if grep -q 'more)' "$WORK/kernel-update.appraise" "$WORK/kernel-update.appraise.json"; then
    bad "... no failure hidden behind \"and N more\"" "$WORK/kernel-update.appraise"
else ok "... no failure hidden behind \"and N more\""; fi
/usr/bin/python3 - "$WORK/kernel-update.appraise.json" >"$WORK/py.out" 2>&1 <<'PY' && ok "... and in --json: every failing event, the expected values" || bad "kernel-update --json lists" "$WORK/py.out"
import json, sys
r = [r for r in json.load(open(sys.argv[1]))["rules"] if r["rule"] == "boot-applications"][0]
pcrs = {f["pcr"] for f in r["failed"]}
assert r["status"] == "fail" and len(r["failed"]) >= 3 and {4, 9} <= pcrs, r
assert all(len(f["seen"]) == 64 and f["event"] is not None for f in r["failed"]), r
assert r["expected"] and all(len(e) == 64 for e in r["expected"]), r
PY
expect_exit "appraise --json" 1 "${B[@]}" appraise --json --baseline "$WORK/good.json" \
    --eventlog "$WORK/debug-cmdline.log" || true
/usr/bin/python3 - "$WORK/out" >"$WORK/py.out" 2>&1 <<'PY' && ok "appraise --json: outcome, rules, evidence" || bad "appraise --json" "$WORK/py.out"
import json, sys
a = json.load(open(sys.argv[1]))
assert a["outcome"] == "non-compliant", a["outcome"]
r = {x["rule"]: x for x in a["rules"]}
assert r["kernel-cmdline"]["status"] == "fail" and r["kernel-cmdline"]["pcr"] == 8
assert r["kernel-cmdline"]["event"] > 0 and "init=/bin/sh" in r["kernel-cmdline"]["detail"]
assert r["secure-boot"]["status"] == "pass" and r["pcrs"]["status"] == "n/a"
PY

# ---- a Fedora/RHEL GRUB: linuxefi/initrdefi; one event table, so the
# state, learn and appraisal all read the linuxefi line as the kernel's ----
"$BIN/tpa-bootsim" --scenario "$SCEN/linuxefi.json" --log "$WORK/linuxefi.log" >/dev/null
/usr/bin/python3 - "$SCEN/linuxefi.json" "$WORK/linuxefi-debug.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["kernel"]["cmdline"] = s["kernel"]["cmdline"].replace("ro quiet", "ro debug init=/bin/sh")
json.dump(s, open(sys.argv[2], "w"))
PY
"$BIN/tpa-bootsim" --scenario "$WORK/linuxefi-debug.json" --log "$WORK/linuxefi-debug.log" >/dev/null
expect_exit "linuxefi: eventlog show" 0 "$BIN/verifier" eventlog show --json "$WORK/linuxefi.log"
/usr/bin/python3 - "$WORK/out" >"$WORK/py.out" 2>&1 <<'PY' && ok "linuxefi: the state's kernel and command line come from the linuxefi line" || bad "linuxefi: the state" "$WORK/py.out"
import json, sys
s = json.load(open(sys.argv[1]))["state"]
assert s["kernel"] == "/boot/vmlinuz-6.1.0-13-amd64", s["kernel"]
assert s["kernel_cmdline"].endswith(" ro quiet"), s["kernel_cmdline"]
f = s["facts"]
assert f["kernel"] == {"status": "unverified", "pcrs": [8]}, f["kernel"]
PY
expect_exit "linuxefi: learn" 0 "${B[@]}" learn --eventlog "$WORK/linuxefi.log" --name el --out "$WORK/linuxefi.json"
expect_grep "... one command line, from the linuxefi line" "$WORK/out" '^  kernel-cmdline +critical 1 allowed command line'
expect_exit "linuxefi: the baseline differs from good's by the initrd command only (exit 1)" 1 \
    "${B[@]}" diff "$WORK/good.json" "$WORK/linuxefi.json" || true
[ "$(grep -c '^[-+] ' "$WORK/out")" = 2 ] && grep -q '^+ boot-applications.boot_loader: .*grub_cmd: initrdefi' "$WORK/out" &&
    ok "... the linuxefi line is a kernel line, not a boot loader event" || bad "... the diff" "$WORK/out"
appraise "linuxefi" "$WORK/linuxefi.json" "$WORK/linuxefi.log" 0 ""
appraise "linuxefi with a debug command line" "$WORK/linuxefi.json" "$WORK/linuxefi-debug.log" 1 "kernel-cmdline"
expect_grep "... naming it" "$WORK/out" 'fail kernel-cmdline .*init=/bin/sh'

# ---- a kernel update: refused, then accepted after a merge ----
# (before the merge, kernel-update fails on boot-applications: its file says so)
"${B[@]}" learn --eventlog "$WORK/kernel-update.log" --name sim --out "$WORK/ku.json" >/dev/null
expect_exit "merge the two boots" 0 "${B[@]}" merge --out "$WORK/merged.json" "$WORK/good.json" "$WORK/ku.json"
appraise "kernel-update after the merge" "$WORK/merged.json" "$WORK/kernel-update.log" 0 ""
appraise "the old kernel still after the merge" "$WORK/merged.json" "$WORK/good.log" 0 ""
appraise "a third kernel after the merge" "$WORK/merged.json" "$WORK/unexpected-kernel.log" 1 "boot-applications"
expect_exit "diff shows what the merge added (exit 1)" 1 "${B[@]}" diff "$WORK/good.json" "$WORK/merged.json" || true
expect_grep "... the new kernel among them" "$WORK/out" '^\+ boot-applications.applications: .*vmlinuz-6.1.0-15-amd64'
if grep -q '^- ' "$WORK/out"; then bad "... and removes nothing" "$WORK/out"; else ok "... and removes nothing"; fi
expect_exit "diff of a baseline with itself (exit 0)" 0 "${B[@]}" diff "$WORK/good.json" "$WORK/good.json"

# ---- a rollback to GRUB 2.04 (BootHole) ----
# (against the good baseline, dbx and boot-applications fail: its file says so)
"${B[@]}" learn --eventlog "$WORK/rollback-bootloader.log" --name sim --out "$WORK/rb.json" >/dev/null
"${B[@]}" merge --out "$WORK/with-old.json" "$WORK/good.json" "$WORK/rb.json" >/dev/null
appraise "rollback allowed by a merged baseline, dbx not yet updated" "$WORK/with-old.json" \
    "$WORK/rollback-bootloader.log" 0 ""
appraise "rollback refused once dbx lists it" "$WORK/with-old.json" "$WORK/rollback-revoked.log" 1 "boot-applications"
expect_grep "... as revoked by dbx" "$WORK/out" 'application .EFI.debian.grubx64.efi \([0-9a-f]{16}\.\.\.\) is revoked: dbx lists it'

# ---- real logs against each other ----
"${B[@]}" learn --eventlog "$DATA/go-tpm-tools/cos-93-amd-sev.bin" --name cos \
    --out "$WORK/cos.json" >/dev/null
appraise "a real log against its own baseline" "$WORK/cos.json" "$DATA/go-tpm-tools/cos-93-amd-sev.bin" 0 ""
expect_exit "Secure Boot off (CoreOS shielded VM) against a Secure Boot on baseline (1)" 1 \
    "${B[@]}" appraise --baseline "$WORK/cos.json" \
    --eventlog "$DATA/go-attestation/coreos_36_shielded_vm_no_secure_boot_eventlog" || true
expect_grep "... fails on the Secure Boot rule" "$WORK/out" '^  fail secure-boot +Secure Boot is disabled'
# A log without a separator on each of PCRs 0-7 does not hold a whole boot.
expect_exit "a log missing separators teaches nothing (2)" 2 "${B[@]}" learn --bank sha1 \
    --eventlog "$DATA/go-attestation/windows_gcp_shielded_vm.bin" --name win --out "$WORK/none.json" || true
expect_grep "... naming the PCRs without one" "$WORK/err" 'eventlog.separators: no EV_SEPARATOR on PCRs 0-6'
# sha1 only for a SHA1-format (TPM 1.2-era) log, and only when asked for.
expect_exit "a SHA1-format log without --bank sha1 teaches nothing (2)" 2 "${B[@]}" learn \
    --eventlog "$DATA/go-tpm-tools/debian-10.bin" --bank sha256 --name win --out "$WORK/none.json" || true
expect_grep "... naming the bank rule" "$WORK/err" 'strongest bank is sha1'
expect_exit "sha1 for a crypto-agile log that declares sha256: refused (2)" 2 "${B[@]}" learn \
    --eventlog "$WORK/good.log" --bank sha1 --name win --out "$WORK/none.json" || true
expect_grep "... naming the bank rule" "$WORK/err" 'strongest bank is sha256'
"${B[@]}" learn --eventlog "$DATA/go-tpm-tools/debian-10.bin" --bank sha1 \
    --name win --out "$WORK/win.json" >/dev/null
appraise "a SHA-1 Debian log against its own sha1 baseline" "$WORK/win.json" \
    "$DATA/go-tpm-tools/debian-10.bin" 0 ""
expect_exit "baselines of different banks do not merge (2)" 2 "${B[@]}" merge "$WORK/cos.json" "$WORK/win.json" || true

# ---- Authenticode digests: the project's against independent tools ----
# pesign and osslsigncode (scripts/deps.sh installs them) on real images and
# generated PE32/PE32+ ones, through `baseline allow`.
for f in "$ROOT"/tests/data/efi/linuxx64.efi.stub* "$ROOT"/tests/data/efi/pe*.efi* \
         "$ROOT"/tests/data/efi/vmlinuz-6.1.0-15-amd64; do
    n=${f##*/}
    want=$( (pesign -h -i "$f" 2>/dev/null || true) | sed -n 's/^hash: //p')
    [ -n "$want" ] || { bad "$n: pesign -h gives no digest (is pesign installed?)"; continue; }
    expect_exit "$n: baseline allow computes its digest" 0 "${B[@]}" allow --in "$WORK/good.json" \
        --out "$WORK/digest.json" --kind app --file "$f"
    expect_grep "... the one pesign computes" "$WORK/out" "^  PCR 4 application $want "
    case $n in *.signed)
        # It exits 1 here (the throwaway signer is not trusted); the digest is printed.
        want=$( (osslsigncode verify -in "$f" 2>/dev/null || true) |
            sed -n 's/^Calculated message digest *: *\([0-9A-F]*\).*/\1/p' | tr A-F a-f)
        expect_grep "... and osslsigncode's calculated message digest" "$WORK/out" \
            "^  PCR 4 application ${want:-none} " ;;
    esac
done

# ---- baselines are untrusted input; an independent validator agrees ----
/usr/bin/python3 - "$ROOT/docs/baseline.schema.json" "$WORK" >"$WORK/schema.out" 2>&1 <<'PY' && ok "every baseline written validates against docs/baseline.schema.json (python3-jsonschema)" || bad "JSON Schema" "$WORK/schema.out"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for f in ["good", "ku", "merged", "rb", "with-old", "cos", "win"]:
    errs = list(v.iter_errors(json.load(open("%s/%s.json" % (sys.argv[2], f)))))
    assert not errs, (f, [e.message for e in errs])
print("ok")
PY
bad_baseline() { # NAME PYTHON-EDIT-OF-b EXPECTED-MESSAGE
    /usr/bin/python3 -c "
import json, sys
b = json.load(open('$WORK/good.json'))
$2
json.dump(b, open('$WORK/bad.json', 'w'))" || bad "$1: editing"
    expect_exit "$1: refused (2)" 2 "${B[@]}" check "$WORK/bad.json" || true
    expect_grep "$1: the file, field and why" "$WORK/err" "bad.json: $3"
    /usr/bin/python3 - "$ROOT/docs/baseline.schema.json" "$WORK/bad.json" >/dev/null 2>&1 <<'PY' && bad "$1: the schema refuses it too" || ok "$1: the schema refuses it too"
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])), cls=jsonschema.Draft202012Validator)
PY
}
bad_baseline "an unknown rule" "b['rules']['secureboot'] = b['rules'].pop('secure-boot')" \
    'rules.secureboot: unknown rule'
bad_baseline "a malformed digest" "b['rules']['boot-applications']['applications'][1]['digest'] = 'xyz'" \
    'rules.boot-applications.applications\[1\].digest: not 64 lower-case hex digits'
bad_baseline "an unknown field" "b['rules']['dbx']['must_contain'] = []" 'rules.dbx.must_contain: unknown field'
bad_baseline "a bad severity" "b['rules']['pk']['severity'] = 'fatal'" 'rules.pk.severity: must be'
bad_baseline "a PCR out of range" "b['rules']['known-events']['events'][0]['pcr'] = 31" \
    'rules.known-events.events\[0\].pcr: must be a PCR number'
bad_baseline "required_pcrs not a list" "b['required_pcrs'] = '0-7'" \
    'required_pcrs: must be a list of PCR numbers'
bad_baseline "a required PCR out of range" "b['required_pcrs'] = [0, 24]" \
    'required_pcrs\[1\]: must be a PCR number'
bad_baseline "a required PCR twice" "b['required_pcrs'] = [7, 7]" \
    'required_pcrs\[1\]: PCR 7 is listed twice'
bad_baseline "required-pcrs written as a rule" "b['rules']['required-pcrs'] = {'severity': 'critical'}" \
    'rules.required-pcrs: is not written as a rule'
bad_baseline "an unknown bank" "b['bank'] = 'md5'" 'bank: must be sha1, sha256'
ALW="b['rules']['boot-applications']['allowances'] = [{'kind': 'kernel', 'applications': [{'digest': '00' * 32}]"
bad_baseline "an allowance without an expiry" "$ALW}]" \
    'rules.boot-applications.allowances\[0\].expires: missing: every allowance has an expiry'
bad_baseline "an allowance expiring at no time" "$ALW, 'expires': '2027-13-01'}]" \
    'rules.boot-applications.allowances\[0\].expires: not an ISO 8601 time'
bad_baseline "an allowance of an unknown kind" "$ALW, 'expires': '2027-01-01'}]; b['rules']['boot-applications']['allowances'][0]['kind'] = 'bios'" \
    'rules.boot-applications.allowances\[0\].kind: must be kernel, shim, grub, app or initrd'
bad_baseline "an allowance that allows nothing" "$ALW, 'expires': '2027-01-01'}]; b['rules']['boot-applications']['allowances'][0].pop('applications')" \
    'rules.boot-applications.allowances\[0\]: allows nothing'
printf '{"tpa_baseline": 1, ' >"$WORK/bad.json"
expect_exit "truncated JSON (2)" 2 "${B[@]}" check "$WORK/bad.json" || true
expect_grep "... with the line and column" "$WORK/err" 'bad.json: line 1 column'

# ---- the registry: learn from a device's last attestation, versions, assignment ----
B=("${V[@]}" baseline)
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
start_swtpm "$WORK/tpm"
"$BIN/tpa-bootsim" --scenario "$SCEN/good.json" --log "$WORK/boot.log" --tcti "$TCTI" >/dev/null
mkdir -p "$WORK/ekca"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
DB=$WORK/registry.db
start_verifier v --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$DB" --ek-ca "$WORK/ekca"
TARGET=127.0.0.1:$PORT
C=(${VGC:-} "$BIN/attest_client")
A=("${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin"
   --eventlog "$WORK/boot.log" --pcrs sha256:0-15)
"${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" >"$WORK/enroll.out" 2>&1 ||
    bad "enroll" "$WORK/enroll.out"
DEV=$(sed -n 's/^enrolled: device //p' "$WORK/enroll.out")
expect_exit "learn from a device that never attested (2)" 2 "${B[@]}" learn --registry "$DB" \
    --device "$DEV" --out "$WORK/none.json" || true
expect_grep "... says so" "$WORK/err" 'never attested'
# Evidence that does not hold is not kept: a log of another boot (the
# simulator's tampered boot loader, never measured into this TPM) sent with
# a good quote. The verdict is recorded; the log is not learnt from.
expect_exit "a log this TPM never measured: not compliant (1)" 1 "${C[@]}" attest \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" \
    --eventlog "$WORK/tampered-bootloader.log" --pcrs sha256:0-15 || true
expect_grep "... its replay fails" "$WORK/out" 'FAIL +eventlog.replay'
expect_exit "learn from the device after it: refused (2)" 2 "${B[@]}" learn --registry "$DB" \
    --device "$DEV" --out "$WORK/none.json" || true
expect_grep "... no evidence that held is kept" "$WORK/err" 'no event log kept from its last attestation \(none sent, or its evidence did not hold\)'
[ ! -e "$WORK/none.json" ] && ok "... and no baseline written" || bad "... a baseline learnt from evidence that did not hold"
expect_exit "no baseline assigned: not compliant (1)" 1 "${A[@]}" || true
expect_grep "... outcome no-baseline" "$WORK/out" '^appraisal: no-baseline$'
expect_exit "learn from the device's last attestation" 0 "${B[@]}" learn --registry "$DB" \
    --device "$DEV" --name fleet --out "$WORK/fleet.json"
# PCRs 10-15 were quoted too: those the firmware's log has no event for
# (11-15) were replayed from their reset values, so nothing is left to pin
# by value (IMA's 10 never is); the baseline requires the firmware's PCRs
# and GRUB's 8 and 9.
expect_grep "... with nothing for the pcrs rule: every quoted PCR was replayed" "$WORK/out" '^  pcrs +not in the baseline$'
expect_grep "... requiring PCRs 0-9" "$WORK/out" '^  required-pcrs +critical sha256 PCRs 0-9$'
expect_exit "learn by the 16-digit prefix the verifier's log prints" 0 "${B[@]}" learn \
    --registry "$DB" --device "${DEV:0:16}" --name fleet --out "$WORK/fleet16.json"
cmp -s "$WORK/fleet.json" "$WORK/fleet16.json" && ok "... the same baseline" ||
    bad "... the same baseline" "$WORK/fleet16.json"
expect_exit "learn from a device no prefix or name finds (2)" 2 "${B[@]}" learn --registry "$DB" \
    --device no-such-host --out "$WORK/none.json" || true
expect_grep "... named" "$WORK/err" 'no-such-host'
expect_exit "add it to the registry" 0 "${B[@]}" add --registry "$DB" "$WORK/fleet.json"
expect_grep "... as version 1" "$WORK/out" '^added: fleet@1$'
expect_exit "assign an unknown baseline (1)" 1 "${B[@]}" assign --registry "$DB" --device "$DEV" nothere || true
expect_exit "assign it to the device" 0 "${B[@]}" assign --registry "$DB" --device "$DEV" fleet
expect_exit "attest: compliant against fleet@1" 0 "${A[@]}" || true
expect_grep "... naming the baseline version" "$WORK/out" '^appraisal: compliant \(baseline fleet@1\)$'
"${V[@]}" devices show --json --registry "$DB" "$DEV" >"$WORK/dev.json"
/usr/bin/python3 -c "
import json, sys
d = json.load(open('$WORK/dev.json'))
assert d['last_outcome'] == 'compliant' and d['last_baseline'] == 'fleet@1', d" 2>"$WORK/py.out" &&
    ok "the registry records the baseline version of the verdict" || bad "registry record" "$WORK/py.out"

# A second version (the fleet's kernel update merged in) takes over.
"${B[@]}" learn --eventlog "$WORK/kernel-update.log" --name fleet --out "$WORK/fleet-ku.json" >/dev/null
"${B[@]}" merge --name fleet --out "$WORK/fleet2.json" "$WORK/fleet.json" "$WORK/fleet-ku.json" >/dev/null
expect_exit "add the merged baseline" 0 "${B[@]}" add --registry "$DB" "$WORK/fleet2.json"
expect_grep "... as version 2" "$WORK/out" '^added: fleet@2$'
expect_exit "attest: compliant against fleet@2" 0 "${A[@]}" || true
expect_grep "... the latest version decides" "$WORK/out" '^appraisal: compliant \(baseline fleet@2\)$'

# Pinned: fleet@1 after fleet@2 rolls back; NAME alone follows the latest again.
expect_exit "pin fleet@1 on the device (a rollback)" 0 "${B[@]}" assign --registry "$DB" --device "${DEV:0:12}" fleet@1
expect_grep "... says it is pinned" "$WORK/out" "^device $DEV: fleet@1 \(pinned\)$"
expect_exit "attest: appraised against the pinned fleet@1" 0 "${A[@]}" || true
expect_grep "... the pinned version decides, not the latest" "$WORK/out" '^appraisal: compliant \(baseline fleet@1\)$'
expect_exit "pin a version that does not exist (1)" 1 "${B[@]}" assign --registry "$DB" --device "$DEV" fleet@3 || true
expect_grep "... refused by name" "$WORK/err" 'no baseline fleet@3'
expect_exit "a version that is not a number (2)" 2 "${B[@]}" assign --registry "$DB" --device "$DEV" fleet@two || true
expect_grep "... says what a version is" "$WORK/err" "'fleet@two': the version after '@' must be a number"
expect_grep "... with assign's usage" "$WORK/err" '^usage: verifier baseline assign --registry FILE'
expect_exit "assign to neither a device nor a label (2)" 2 "${B[@]}" assign --registry "$DB" fleet || true
expect_grep "... says what assign takes" "$WORK/err" '^verifier: baseline: assign takes --device ID or --label LABEL'
expect_grep "... with assign's usage, not every verb's" "$WORK/err" '^usage: verifier baseline assign --registry FILE'
if grep -q 'baseline learn' "$WORK/err"; then bad "... learn's usage is not among them" "$WORK/err"
else ok "... learn's usage is not among them"; fi
expect_exit "version 0 (2)" 2 "${B[@]}" assign --registry "$DB" --device "$DEV" fleet@0 || true
expect_exit "list: versions and assignments" 0 "${B[@]}" list --registry "$DB"
expect_grep "... every version, with when it was added (ISO 8601) and a summary" "$WORK/out" \
    '^fleet@1  added [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z  sha256, [0-9]+ rule\(s\), [0-9]+ application\(s\)'
expect_grep "... fleet@2 too" "$WORK/out" '^fleet@2  added '
expect_grep "... the device's pinned assignment" "$WORK/out" "^device $DEV: fleet@1 \(pinned\)  assigned "
"${B[@]}" list --json --registry "$DB" >"$WORK/list.json" 2>"$WORK/err"
/usr/bin/python3 -c "
import json, sys
j = json.load(open('$WORK/list.json'))
f = [b for b in j['baselines'] if b['name'] == 'fleet'][0]
assert [v['version'] for v in f['versions']] == [1, 2] and f['latest'] == 2, f
assert f['versions'][0]['added_at'].endswith('Z') and 'application' in f['versions'][0]['summary'], f
a = j['assignments']
assert a == [dict(a[0], kind='device', target='$DEV', name='fleet', version=1, resolves_to=1)], a" 2>"$WORK/py.out" &&
    ok "list --json: versions and the pinned assignment" || bad "list --json" "$WORK/py.out"
expect_exit "show fleet@1" 0 "${B[@]}" show --registry "$DB" fleet@1
expect_grep "... its version and the latest" "$WORK/out" '^fleet@1  added .*  \(latest fleet@2\)$'
expect_grep "... its body" "$WORK/out" '"tpa_baseline": 1'
expect_grep "... its assignments" "$WORK/out" "^device $DEV: fleet@1 \(pinned\)"
"${B[@]}" show --json --registry "$DB" fleet >"$WORK/show.json" 2>"$WORK/err"
/usr/bin/python3 -c "
import json
j = json.load(open('$WORK/show.json'))
assert j['version'] == 2 and j['latest'] == 2 and j['body']['name'] == 'fleet', j.keys()
assert j['assignments'][0]['version'] == 1, j['assignments']" 2>"$WORK/py.out" &&
    ok "show --json: the latest body and the assignments" || bad "show --json" "$WORK/py.out"
expect_exit "show a version that does not exist (1)" 1 "${B[@]}" show --registry "$DB" fleet@9 || true
expect_grep "... named" "$WORK/err" 'no baseline fleet@9'
expect_exit "baseline list --help: stdout, exit 0" 0 "${B[@]}" list --help
expect_grep "... usage lines" "$WORK/out" '^usage: verifier baseline list --registry FILE'
expect_exit "follow the latest again" 0 "${B[@]}" assign --registry "$DB" --device "$DEV" fleet
expect_exit "attest: compliant against fleet@2 again" 0 "${A[@]}" || true
expect_grep "... the latest decides again" "$WORK/out" '^appraisal: compliant \(baseline fleet@2\)$'

# By label: the device's own assignment removed, its group's applies.
python_warn="b = json.load(open('$WORK/fleet.json')); b['name'] = 'lab'; b['rules']['known-events']['events'] = b['rules']['known-events']['events'][1:]; json.dump(b, open('$WORK/lab.json', 'w'))"
/usr/bin/python3 -c "import json; $python_warn"
"${B[@]}" add --registry "$DB" "$WORK/lab.json" >/dev/null
expect_exit "remove the device's assignment" 0 "${B[@]}" assign --registry "$DB" --device "$DEV" -
expect_exit "label the device" 0 "${V[@]}" devices label --registry "$DB" "$DEV" lab-machines
expect_exit "assign a baseline to the label" 0 "${B[@]}" assign --registry "$DB" --label lab-machines lab
if grep -q warning "$WORK/err"; then bad "... a label a device has: no warning" "$WORK/err"
else ok "... a label a device has: no warning"; fi
expect_exit "assign to a label no device has (a typo): still assigned, exit 0" 0 \
    "${B[@]}" assign --registry "$DB" --label lab-machnes lab
expect_grep "... warns, naming the labels in use" "$WORK/err" \
    "^verifier: warning: no device has label 'lab-machnes' \(labels in use: lab-machines\)$"
expect_grep "... and assigns" "$WORK/out" '^label lab-machnes: lab$'
expect_exit "remove the typo'd assignment" 0 "${B[@]}" assign --registry "$DB" --label lab-machnes -
expect_exit "attest: an unknown event only fails a warning rule: WARNING, exit 0" 0 "${A[@]}" || true
expect_grep "... verdict WARNING" "$WORK/out" '^verdict: WARNING$'
expect_grep "... the unknown event named" "$WORK/out" '^  FAIL known-events \(warning\): event [0-9]+ \(PCR [0-9]+, EV_[A-Z_0-9]+, [0-9a-f]{16}\.\.\.\) is not in the baseline$'
expect_grep "... by the label's baseline" "$WORK/out" '^appraisal: warning \(baseline lab@1\)$'
expect_exit "baseline appraise of the same boot against lab: warning, exit 8" 8 "${B[@]}" appraise \
    --baseline "$WORK/lab.json" --eventlog "$WORK/boot.log" || true
expect_grep "... outcome warning" "$WORK/out" '^outcome: warning \(baseline lab\)$'
expect_exit "list the baselines" 0 "${B[@]}" list --registry "$DB"
expect_grep "... every version of every name" "$WORK/out" '^fleet@2 '
expect_exit "devices show names the label" 0 "${V[@]}" devices show --json --registry "$DB" "$DEV"
expect_grep "... and the last outcome" "$WORK/out" '"last_outcome": "warning"'
"$SIM" extend "$WORK/tpm" "12:sha256=$(printf '%064x' 5)"
expect_exit "a quoted PCR that moved without a logged event: non-compliant (1)" 1 "${A[@]}" || true
expect_grep "... the log does not replay, naming the PCR" "$WORK/out" '^  FAIL eventlog.replay: sha256 PCR 12: the log has no event for it, yet it is not at its reset value'
expect_grep "... and the boot is not appraised" "$WORK/out" '^appraisal: not-appraised'

# ---- the kernel allowed before first boot: no outage (issue 14) ----
# A baseline learned from the good boot alone; the next kernel allowed from
# its image file (and its initrd) before the device ever boots it; then the
# device reboots into it and stays compliant, on a real swtpm through the
# real verifier. The allowance expired, or the wrong image allowed: not.
EFI=$ROOT/tests/data/efi
reboot_into() { # SCENARIO: a power cycle (PCRs reset), then that boot
    "$SIM" stop "$WORK/tpm"
    TCTI=$("$SIM" start "$WORK/tpm")
    "$BIN/tpa-bootsim" --scenario "$SCEN/$1.json" --log "$WORK/boot.log" --tcti "$TCTI" >/dev/null
}
"${B[@]}" learn --eventlog "$WORK/good.log" --name early --out "$WORK/early.json" >/dev/null
expect_exit "a baseline learned from the good boot only" 0 "${B[@]}" add --registry "$DB" "$WORK/early.json"
expect_exit "assigned to the device" 0 "${B[@]}" assign --registry "$DB" --device "$DEV" early
reboot_into good
expect_exit "attest the good boot: compliant against early@1" 0 "${A[@]}" || true
expect_grep "... by early@1" "$WORK/out" '^appraisal: compliant \(baseline early@1\)$'
expect_exit "allow: an expiry in the past is refused (2)" 2 "${B[@]}" allow --registry "$DB" early \
    --file "$EFI/vmlinuz-6.1.0-15-amd64" --expires 2020-01-01
expect_grep "... by name" "$WORK/err" 'is not in the future'
expect_exit "allow: a file that is not a PE image, as a kernel (2)" 2 "${B[@]}" allow --registry "$DB" \
    early --kind kernel --file "$EFI/initrd.img-6.1.0-15-amd64"
expect_grep "... naming the file and why" "$WORK/err" 'initrd.img-6.1.0-15-amd64: 46 bytes: too short for a DOS header'
expect_exit "allow: a pinned version cannot be the base (2)" 2 "${B[@]}" allow --registry "$DB" early@1 \
    --file "$EFI/vmlinuz-6.1.0-15-amd64"
expect_exit "allow the next kernel and its initrd from their files, before any device boots them" 0 \
    "${B[@]}" allow --registry "$DB" early --file "$EFI/vmlinuz-6.1.0-15-amd64" \
    --file "$EFI/initrd.img-6.1.0-15-amd64" --expires 2099-01-01 --note "Debian 12 point release"
expect_grep "... a new version" "$WORK/out" '^added: early@2$'
expect_grep "... the kernel's Authenticode digest on PCR 4 (pesign's)" "$WORK/out" \
    '^  PCR 4 application 9d8132c3b51137cfb7c628a1f7fe3b4ede75df98d49babca610439911b15e285  /boot/vmlinuz-6.1.0-15-amd64$'
expect_grep "... the file GRUB reads on PCR 9" "$WORK/out" "^  PCR 9 $(sha256sum "$EFI/vmlinuz-6.1.0-15-amd64" | cut -c1-64)  /boot/vmlinuz-6.1.0-15-amd64$"
expect_grep "... GRUB's commands for that version on PCR 8" "$WORK/out" '^  PCR 8 [0-9a-f]{64}  initrd /boot/initrd.img-6.1.0-15-amd64$'
expect_grep "... until its expiry" "$WORK/out" '^allowed: kernel vmlinuz-6.1.0-15-amd64 until 2099-01-01T00:00:00Z$'
reboot_into kernel-update
expect_exit "the device reboots into the new kernel: compliant, no outage" 0 "${A[@]}" || true
expect_grep "... against early@2" "$WORK/out" '^appraisal: compliant \(baseline early@2\)$'
"${B[@]}" show --json --registry "$DB" early >"$WORK/early2.json" 2>"$WORK/err"
/usr/bin/python3 -c "
import json
j = json.load(open('$WORK/early2.json'))['body']
for a in j['rules']['boot-applications']['allowances']:
    a['expires'] = '2020-01-01T00:00:00Z'
json.dump(j, open('$WORK/early-expired.json', 'w'))"
expect_exit "the same allowance, expired" 0 "${B[@]}" add --registry "$DB" "$WORK/early-expired.json"
expect_exit "after the expiry: non-compliant (1)" 1 "${A[@]}" || true
expect_grep "... naming the expiry" "$WORK/out" \
    '^  FAIL boot-applications .*application .boot.vmlinuz-6.1.0-15-amd64 \([0-9a-f]{16}\.\.\.\): allowed until 2020-01-01T00:00:00Z \(kernel vmlinuz-6.1.0-15-amd64\), expired'
"${B[@]}" show --json --registry "$DB" early@1 >"$WORK/early1.json" 2>"$WORK/err"
/usr/bin/python3 -c "
import json
json.dump(json.load(open('$WORK/early1.json'))['body'], open('$WORK/early1-body.json', 'w'))"
expect_exit "allow by mistake another build of the kernel (same name, other bytes)" 0 "${B[@]}" allow \
    --in "$WORK/early1-body.json" --out "$WORK/early-mistake.json" \
    --file "$EFI/other/vmlinuz-6.1.0-15-amd64" --file "$EFI/initrd.img-6.1.0-15-amd64"
"${B[@]}" add --registry "$DB" "$WORK/early-mistake.json" >/dev/null
expect_exit "the wrong image allowed: still non-compliant (1)" 1 "${A[@]}" || true
expect_grep "... the kernel that booted is not among those allowed" "$WORK/out" \
    '^  FAIL boot-applications .*application .boot.vmlinuz-6.1.0-15-amd64 \([0-9a-f]{16}\.\.\.\) is not among the 3 allowed'
expect_exit "pin early@2 again (a rollback to the good allowance)" 0 "${B[@]}" assign --registry "$DB" \
    --device "$DEV" early@2
expect_exit "compliant again against the pinned early@2" 0 "${A[@]}" || true
expect_grep "... by early@2" "$WORK/out" '^appraisal: compliant \(baseline early@2\)$'
# Offline, from a package: an unpacked one and a .deb (dpkg-deb builds it).
mkdir -p "$WORK/pkg/boot" "$WORK/pkg/DEBIAN"
cp "$EFI/vmlinuz-6.1.0-15-amd64" "$WORK/pkg/boot/"
printf 'Package: linux-image-tpa-test\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n' \
    >"$WORK/pkg/DEBIAN/control"
dpkg-deb --build "$WORK/pkg" "$WORK/kernel.deb" >/dev/null 2>&1 || bad "dpkg-deb --build"
for p in "$WORK/pkg" "$WORK/kernel.deb"; do
    expect_exit "allow --package ${p##*/}" 0 "${B[@]}" allow --in "$WORK/early1-body.json" \
        --out "$WORK/from-pkg.json" --package "$p" --expires 2099-01-01
    expect_grep "... finds the kernel at its path on the device" "$WORK/out" \
        '^  PCR 4 application 9d8132c3b51137cfb7c628a1f7fe3b4ede75df98d49babca610439911b15e285  /boot/vmlinuz-6.1.0-15-amd64$'
done
/usr/bin/python3 - "$ROOT/docs/baseline.schema.json" "$WORK" >"$WORK/schema.out" 2>&1 <<'PY' && ok "baselines with allowances validate against the schema too" || bad "JSON Schema (allowances)" "$WORK/schema.out"
import json, sys, jsonschema
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
for f in ["early-mistake", "from-pkg", "early-expired"]:
    b = json.load(open("%s/%s.json" % (sys.argv[2], f)))
    assert b["rules"]["boot-applications"]["allowances"], f
    errs = list(v.iter_errors(b))
    assert not errs, (f, [e.message for e in errs])
print("ok")
PY
cp "$EFI/vmlinuz-6.1.0-15-amd64" "$WORK/kernel-new.efi"
expect_exit "allow a kernel whose name gives no version" 0 "${B[@]}" allow --in "$WORK/early1-body.json" \
    --out "$WORK/x.json" --kind kernel --file "$WORK/kernel-new.efi"
expect_grep "... warns that GRUB's commands for it are not allowed" "$WORK/err" \
    "^verifier: warning: kernel-new.efi: no GRUB command allowed for it"
expect_exit "... --path gives its version" 0 "${B[@]}" allow --in "$WORK/early1-body.json" \
    --out "$WORK/x.json" --kind kernel --file "$WORK/kernel-new.efi" --path /boot/vmlinuz-6.1.0-15-amd64
expect_grep "... and the commands follow from it" "$WORK/out" '^  PCR 8 [0-9a-f]{64}  echo Loading Linux 6.1.0-15-amd64 \.\.\.$'
expect_exit "allow --package: nothing bootable in it (2)" 2 "${B[@]}" allow --in "$WORK/early1-body.json" \
    --out "$WORK/x.json" --package "$WORK/pkg/DEBIAN"
expect_grep "... says so" "$WORK/err" 'no boot image in it'

summary
