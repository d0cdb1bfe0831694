#!/usr/bin/env bash
# Measured boot end to end: tpa-bootsim writes a scenario's event log and
# extends the same digests into swtpm; attest_client sends the log with the
# quote over TLS; the verifier replays it against the quoted PCRs and reads
# the trusted-launch state from it. Every scenario gets the verdict its file's
# "expect" states (simulator/scenarios/README.md).
# usage: test_measured_boot.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_measured_boot.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: measured boot (tpa-bootsim, swtpm, TLS)"
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
start_swtpm "$WORK/tpm"
C=(${VGC:-} "$BIN/attest_client")
# The client reads each scenario's log and efivars by the same paths: under
# valgrind for the first, while the verifier judges every one under it.
CFIRST=(${VALGRIND:-} "$BIN/attest_client")
SCEN=$ROOT/simulator/scenarios
# The golden baseline: learned from the good scenario's log, written without
# a TPM (the simulator is deterministic).
"$BIN/tpa-bootsim" --scenario "$SCEN/good.json" --log "$WORK/golden.log" >/dev/null
"$BIN/verifier" baseline learn --eventlog "$WORK/golden.log" --name sim-good \
    --out "$WORK/golden.json" >"$WORK/learn.out" 2>&1 || bad "learning the golden baseline" "$WORK/learn.out"
start_verifier v --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --baseline "$WORK/golden.json"
TARGET=127.0.0.1:$PORT

# efivarfs look-alikes: 4 bytes of attributes, then the value.
mkefivars() { # DIR SECUREBOOT
    mkdir -p "$1"
    { printf '\x06\x00\x00\x00'; printf "\\x$(printf %02x "$2")"; } \
        >"$1/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
    printf '\x06\x00\x00\x00\x00' >"$1/SetupMode-8be4df61-93ca-11d2-aa0d-00e098032b8c"
}
mkefivars "$WORK/efi-on" 1
mkefivars "$WORK/efi-off" 0

# boot NAME: a fresh boot (PCRs reset) of simulator/scenarios/NAME.json.
boot() {
    "$SIM" stop "$WORK/tpm"
    TCTI=$("$SIM" start "$WORK/tpm")
    if ! "$BIN/tpa-bootsim" --scenario "$SCEN/$1.json" --log "$WORK/$1.log" \
        --tcti "$TCTI" >"$WORK/bootsim.out" 2>&1; then
        bad "$1: tpa-bootsim" "$WORK/bootsim.out"
        return 1
    fi
}

# attest NAME EXPECTED_EXIT EFIVARS: the client with the scenario's log.
attest() {
    expect_exit "$1: attest exits $2" "$2" "${C[@]}" attest --verifier "$TARGET" --ca "$CA" \
        --tcti "$TCTI" --eventlog "$WORK/$1.log" --efivars "$3" --device-hint "$1"
}

# ---- every scenario, checked against the "expect" of its file: the
# outcome, the failing rules and evidence checks, the PCRs that differ from
# good's, lines of the verdict and values of the state (README.md there) ----
PY=/usr/bin/python3
SCENARIOS=$ROOT/tests/integration/scenarios.py
"$BIN/verifier" eventlog show --json "$WORK/golden.log" >"$WORK/golden.show.json"
mapfile -t ROWS < <("$PY" "$SCENARIOS" list "$SCEN" || echo "bad	listing the scenarios")
[ "${#ROWS[@]}" -gt 1 ] || bad "the scenarios state their expectations"
for row in "${ROWS[@]}"; do
    IFS=$'\t' read -r name efi _ <<<"$row"
    [ "$name" != bad ] || { bad "$efi"; continue; }
    boot "$name" || continue
    # The exit status is the checker's to judge, against the printed verdict.
    set +e
    timeout --kill-after=5 120 "${CFIRST[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" \
        --eventlog "$WORK/$name.log" --efivars "$WORK/$efi" --device-hint "$name" \
        >"$WORK/$name.out" 2>"$WORK/$name.err"
    echo $? >"$WORK/$name.rc"
    CFIRST=("${C[@]}")
    "$BIN/verifier" eventlog show --json "$WORK/$name.log" >"$WORK/$name.show.json" 2>/dev/null
    set -e
    checker_lines < <("$PY" "$SCENARIOS" attested "$SCEN/$name.json" "$WORK/$name.out" "$WORK/$name.rc" \
        "$WORK/$name.show.json" "$WORK/golden.show.json" || echo "bad	$name: checker failed")
done

# The state as the log shows it (checked data only).
state() { # LOG PYTHON-EXPRESSION-ON-s -> prints the value
    "$BIN/verifier" eventlog show --json "$1" | /usr/bin/python3 -c "
import json, sys
s = json.load(sys.stdin)['state']
print($2)"
}
check_state() { # NAME LOG EXPR EXPECTED
    local got
    got=$(state "$2" "$3" 2>&1) || true
    [ "$got" = "$4" ] && ok "$1" || bad "$1 (got '$got', expected '$4')"
}
G=$WORK/good.log
check_state "good: firmware version" "$G" "s['firmware_version']" "EDK II 2023.05-tpa (OVMF)"
check_state "good: PK/KEK/db certificates by subject" "$G" \
    "[c['subject'] for k in ('pk','kek','db') for c in s[k]['certificates']]" \
    "['tpa-sim Platform Key', 'tpa-sim KEK CA 2023', 'tpa-sim UEFI CA 2023', 'tpa-sim Windows Production PCA 2023']"
check_state "good: dbx hashes" "$G" "len(s['dbx']['sha256'])" "2"
check_state "good: the authorities that verified the boot" "$G" \
    "[a['subject'] for a in s['authorities']]" "['tpa-sim UEFI CA 2023', 'tpa-sim Debian Secure Boot CA']"
check_state "good: boot applications and their paths" "$G" \
    "[a['path'] for a in s['boot_applications']]" \
    "['\\\\EFI\\\\debian\\\\shimx64.efi', '\\\\EFI\\\\debian\\\\grubx64.efi', '\\\\boot\\\\vmlinuz-6.1.0-13-amd64']"
check_state "good: the kernel" "$G" "s['kernel']" "/boot/vmlinuz-6.1.0-13-amd64"
check_state "good: the kernel command line" "$G" "s['kernel_cmdline']" \
    "/boot/vmlinuz-6.1.0-13-amd64 root=UUID=0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0 ro quiet"
check_state "good: no UEFI debug mode" "$G" "s['uefi_debug_mode']" "False"
check_state "good: separators on PCRs 0-7" "$G" "s['separators']" "[0, 1, 2, 3, 4, 5, 6, 7]"
check_state "good: Exit Boot Services, nothing after" "$G" \
    "(s['exit_boot_services'], s['events_after_exit_boot_services'])" "(True, 1)"

# The client's word against the log: the log decides, the verdict says so.
cp "$WORK/good.log" "$WORK/good-liar.log"
boot good
attest good-liar 1 "$WORK/efi-off" || true
expect_grep "a client that misreports Secure Boot is a finding" "$WORK/out" 'FAIL client.secure_boot: the device reports Secure Boot disabled, its event log shows enabled'
expect_grep "... and the log still decides" "$WORK/out" '^secure boot: enabled'

# A log that does not parse: the offline command says where, too.
expect_exit "truncated: eventlog show exits 2" 2 "$BIN/verifier" eventlog show "$WORK/truncated.log" || true
expect_grep "truncated: eventlog show names the offset" "$WORK/err" 'offset [0-9]+: '

# ---- a Fedora/RHEL GRUB (linuxefi/initrdefi), against its own baseline (against
# the linux one it fails for its initrdefi line only, as its file expects) ----
"$BIN/tpa-bootsim" --scenario "$SCEN/linuxefi.json" --log "$WORK/linuxefi-golden.log" >/dev/null
"$BIN/verifier" baseline learn --eventlog "$WORK/linuxefi-golden.log" --name sim-linuxefi \
    --out "$WORK/linuxefi.json" >"$WORK/learn.out" 2>&1 || bad "learning the linuxefi baseline" "$WORK/learn.out"
start_verifier v-linuxefi --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --baseline "$WORK/linuxefi.json"
boot linuxefi
expect_exit "linuxefi: a linuxefi GRUB's boot is compliant with its baseline" 0 "${C[@]}" attest \
    --verifier "127.0.0.1:$PORT" --ca "$CA" --tcti "$TCTI" --eventlog "$WORK/linuxefi.log" \
    --efivars "$WORK/efi-on" || true
expect_grep "linuxefi: the verdict carries the command line of the linuxefi boot" "$WORK/out" \
    '^kernel command line: /boot/vmlinuz-6.1.0-13-amd64 root=UUID=.* ro quiet$'

# ---- the client's own failures ----
expect_exit "an unreadable --eventlog is a usage error (2)" 2 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI" --eventlog "$WORK/none.log" || true
expect_exit "--no-eventlog: no log to judge the boot by: non-compliant (1)" 1 "${C[@]}" attest \
    --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --no-eventlog --efivars "$WORK/none" || true
expect_grep "--no-eventlog: no measured boot" "$WORK/out" '^measured boot: no$'
expect_grep "--no-eventlog: the baseline's rules fail, they do not pass" "$WORK/out" \
    'FAIL secure-boot \(critical\): no event log: the boot cannot be judged'

# ---- a verifier without a baseline: never a silent pass ----
start_verifier v-none --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key"
boot good
expect_exit "no baseline: the good boot is not compliant (1)" 1 "${C[@]}" attest \
    --verifier "127.0.0.1:$PORT" --ca "$CA" --tcti "$TCTI" --eventlog "$WORK/good.log" \
    --efivars "$WORK/efi-on" || true
expect_grep "no baseline: said so" "$WORK/out" '^appraisal: no-baseline$'
expect_grep "no baseline: every evidence check still passed" "$WORK/out" 'ok +eventlog.replay'
expect_exit "a malformed --baseline is a configuration error (2)" 2 "$BIN/verifier" serve \
    --listen 127.0.0.1:0 --insecure --baseline "$WORK/learn.out" || true
expect_grep "... naming the file" "$WORK/err" 'learn.out'


summary
