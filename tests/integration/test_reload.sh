#!/usr/bin/env bash
# SIGHUP reloads of `verifier serve` a user's mistake could break: a
# configuration file with an error, or a --baseline that does not parse,
# keeps the verifier serving with the settings it had, says why (file and
# line), and applies none of the rest (the token lifetime in the same file
# stays); a fixed one applies whole: a new baseline changes the verdict of
# the next attestation, a new --ek-ca lets a TPM whose EK chains only to the
# new CA enroll, the new token lifetime is in the next token; a changed
# --listen is said to need a restart and kept. Then reloads while
# attestations are in flight: every one answered, the verifier stops cleanly
# (run under ASan by `make asan`).
# usage: test_reload.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_reload.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: SIGHUP reloads (configuration, baseline, EK CAs, token keys)"
V=(${VALGRIND:-} "$BIN/verifier")
C=(${VGC:-} "$BIN/attest_client")
PY=/usr/bin/python3
"$ROOT/scripts/demo-certs.sh" "$WORK/certs" >/dev/null
CA=$WORK/certs/ca.pem
start_swtpm "$WORK/tpm"
TCTI_A=$TCTI
start_swtpm "$WORK/tpm-b"
TCTI_B=$TCTI
mkdir -p "$WORK/ekca-a" "$WORK/ekca-ab"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca-a/"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/ekca-ab/a-root.pem"
cp "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca-ab/a-issuer.pem"
cp "$WORK/tpm-b/ca/swtpm-localca-rootca-cert.pem" "$WORK/ekca-ab/b-root.pem"
cp "$WORK/tpm-b/ca/issuercert.pem" "$WORK/ekca-ab/b-issuer.pem"
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/good.json" --log "$WORK/good.log" >/dev/null
"$BIN/verifier" baseline learn --eventlog "$WORK/good.log" --name strict --out "$WORK/strict.json" \
    >/dev/null
BL=$WORK/baseline.json
cp "$ROOT/tests/data/baselines/evidence-only.json" "$BL"
CONF=$WORK/serve.conf
DB=$WORK/registry.db
# conf TTL EKCA [LISTEN]: the configuration file serve reads, again on SIGHUP.
conf() {
    cat >"$CONF" <<EOC
# serve, reloaded on SIGHUP
listen = ${3:-127.0.0.1:0}
cert = ${SRV_CERT:-$WORK/certs/server.pem}
key = ${SRV_KEY:-$WORK/certs/server.key}
registry = $DB
ek-ca = $2
baseline = $BL
token-key = $WORK/token.jwk
token-ttl = $1
EOC
}
conf 300 "$WORK/ekca-a"
rm -f "$WORK/v.out"
${VALGRIND:-} "$BIN/verifier" serve --config "$CONF" >"$WORK/v.out" 2>"$WORK/v.err" &
VPID=$!
VERIFIER_PIDS+=("$VPID")
VERIFIER_NAME[$VPID]=v
wait_listening "$WORK/v.out" "$VPID" 1500 || { cat "$WORK/v.err" >&2; exit 1; }
TARGET=127.0.0.1:$PORT

# hup: SIGHUP, then waits for serve's answer to it; its lines in $WORK/hup.
hup() {
    local before
    before=$(wc -l <"$WORK/v.err")
    sighup "$VPID" "$WORK/v.err"
    tail -n +"$((before + 1))" "$WORK/v.err" >"$WORK/hup"
}
# attest TCTI AK: one attestation; its exit status in $ATT, the token's
# lifetime (exp - iat) in $TTL.
attest() {
    set +e
    "${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$1" --ak-file "$2" >"$WORK/att.out" 2>&1
    ATT=$?
    set -e
    TTL=$($PY - "$WORK/att.out" <<'PY' 2>/dev/null || echo none
import base64, json, sys
tok = [l.split(" ", 1)[1] for l in open(sys.argv[1]).read().splitlines() if l.startswith("token: ")][0]
p = tok.split(".")[1]
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
print(c["exp"] - c["iat"])
PY
)
}

expect_exit "TPM A enrolls (its CA in --ek-ca)" 0 "${C[@]}" enroll --verifier "$TARGET" --ca "$CA" \
    --tcti "$TCTI_A" --ak-file "$WORK/ak-a.bin" || true
attest "$TCTI_A" "$WORK/ak-a.bin"
[ "$ATT" = 0 ] && ok "... attests compliant (evidence-only baseline)" || bad "... attests compliant (exit $ATT)" "$WORK/att.out"
[ "$TTL" = 300 ] && ok "... a token for 300 s (token-ttl)" || bad "... a token for 300 s (got $TTL)" "$WORK/att.out"
expect_exit "TPM B, whose CA is not trusted, is refused (5)" 5 "${C[@]}" enroll --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_B" --ak-file "$WORK/ak-b.bin" || true

# ---- a configuration with an error: nothing changes ----
conf soon "$WORK/ekca-ab"
LINE=$(grep -n '^token-ttl' "$CONF" | cut -d: -f1)
hup
expect_grep "a broken configuration: the error named by file and line" "$WORK/hup" \
    "level=err msg=\"$CONF:$LINE: token-ttl: 'soon' is not in "
expect_grep "... nothing reloaded" "$WORK/hup" 'SIGHUP: nothing reloaded: serving with the settings it had'
kill -0 "$VPID" && ok "... still serving" || bad "... still serving" "$WORK/v.err"
attest "$TCTI_A" "$WORK/ak-a.bin"
[ "$ATT" = 0 ] && [ "$TTL" = 300 ] && ok "... with the old settings (compliant, 300 s)" ||
    bad "... with the old settings (exit $ATT, ttl $TTL)" "$WORK/att.out"
conf 600 "$WORK/ekca-ab"
echo "no-such-option = 1" >>"$CONF"
hup
expect_grep "an unknown key: named by file and line" "$WORK/hup" \
    "level=err msg=\"$CONF:$(wc -l <"$CONF"): unknown key 'no-such-option'"
expect_grep "... nothing reloaded" "$WORK/hup" 'SIGHUP: nothing reloaded'

# ---- a baseline that does not parse: the old one stays, and the rest too ----
conf 600 "$WORK/ekca-ab"
cp "$BL" "$WORK/bl.good"
printf '{ "tpa_baseline": 1, "name": ' >"$BL"
hup
expect_grep "a broken --baseline: named" "$WORK/hup" 'level=err msg="--baseline: .*baseline\.json'
expect_grep "... nothing reloaded" "$WORK/hup" 'SIGHUP: nothing reloaded'
attest "$TCTI_A" "$WORK/ak-a.bin"
[ "$ATT" = 0 ] && [ "$TTL" = 300 ] && ok "... the old baseline and token lifetime kept" ||
    bad "... the old baseline and token lifetime kept (exit $ATT, ttl $TTL)" "$WORK/att.out"
expect_exit "... and the old EK CAs: TPM B still refused (5)" 5 "${C[@]}" enroll --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_B" --ak-file "$WORK/ak-b.bin" || true
conf 600 "$WORK/no-such-dir"
cp "$WORK/bl.good" "$BL"
hup
expect_grep "a missing --ek-ca: named" "$WORK/hup" "level=err msg=\"--ek-ca: .*no-such-dir"
expect_grep "... nothing reloaded" "$WORK/hup" 'SIGHUP: nothing reloaded'

# ---- a token lifetime above the key set's: refused, with the fix named ----
# (a retired key would leave the JWKS before its last token expired)
conf 600 "$WORK/ekca-ab"
cp "$WORK/strict.json" "$BL"
hup
expect_grep "a token-ttl above the key set's: named, with the fix" "$WORK/hup" \
    'token-ttl 600 is above the token TTL of the key set .* verifier keys rotate --token-ttl 600'
expect_grep "... nothing reloaded" "$WORK/hup" 'SIGHUP: nothing reloaded'
expect_exit "... keys rotate --token-ttl 600 raises it" 0 "$BIN/verifier" keys rotate \
    --token-key "$WORK/token.jwk" --token-ttl 600 --activate-after 1h || true

# ---- fixed: all of it applies ----
hup
expect_grep "a fixed configuration: reloaded" "$WORK/hup" \
    "SIGHUP: reloaded: token TTL 600 s, .*baseline $BL, .*EK CAs $WORK/ekca-ab"
grep -q 'changed .*needs a restart' "$WORK/hup" && bad "... nothing said to need a restart" "$WORK/hup" ||
    ok "... nothing said to need a restart"
attest "$TCTI_A" "$WORK/ak-a.bin"
[ "$ATT" = 1 ] && ok "... the new baseline decides the next verdict (non-compliant, 1)" ||
    bad "... the new baseline decides the next verdict (exit $ATT)" "$WORK/att.out"
expect_grep "... naming it" "$WORK/att.out" 'appraisal: non-compliant \(baseline strict@'
[ "$TTL" = 600 ] && ok "... a token for 600 s" || bad "... a token for 600 s (got $TTL)" "$WORK/att.out"
expect_exit "... TPM B, whose CA --ek-ca now holds, enrolls" 0 "${C[@]}" enroll --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI_B" --ak-file "$WORK/ak-b.bin" || true

# ---- what needs a restart: said, and kept ----
conf 600 "$WORK/ekca-ab" 127.0.0.1:1
hup
expect_grep "a changed --listen: needs a restart" "$WORK/hup" \
    'SIGHUP: --listen changed \(127\.0\.0\.1:0 to 127\.0\.0\.1:1\): needs a restart; still 127\.0\.0\.1:0'
expect_grep "... the rest reloaded" "$WORK/hup" 'SIGHUP: reloaded: '
attest "$TCTI_A" "$WORK/ak-a.bin"
[ "$ATT" = 1 ] && ok "... still serving where it listened" || bad "... still serving (exit $ATT)" "$WORK/att.out"

# ---- the TLS files: a renewed certificate from another CA, without a restart ----
"$ROOT/scripts/demo-certs.sh" "$WORK/certs2" >/dev/null
OLD_CA=$CA
expect_exit "a client trusting only the new CA: unreachable before (4)" 4 "${C[@]}" attest \
    --verifier "$TARGET" --ca "$WORK/certs2/ca.pem" --tcti "$TCTI_A" --ak-file "$WORK/ak-a.bin" || true
SRV_CERT=$WORK/certs2/server.pem SRV_KEY=$WORK/certs/server.key conf 600 "$WORK/ekca-ab"
hup
expect_grep "a certificate and key that do not match: named" "$WORK/hup" \
    "--cert $WORK/certs2/server.pem and --key $WORK/certs/server.key do not match"
expect_grep "... nothing reloaded" "$WORK/hup" 'SIGHUP: nothing reloaded'
SRV_CERT=$WORK/certs2/server.pem SRV_KEY=$WORK/certs2/server.key conf 600 "$WORK/ekca-ab"
hup
expect_grep "the new certificate and key: read again" "$WORK/hup" \
    "SIGHUP: TLS: --cert $WORK/certs2/server.pem, --key $WORK/certs2/server.key read again"
CA=$WORK/certs2/ca.pem
attest "$TCTI_A" "$WORK/ak-a.bin"
[ "$ATT" = 1 ] && ok "... a client trusting the new CA gets its verdict" ||
    bad "... a client trusting the new CA (exit $ATT)" "$WORK/att.out"
expect_exit "... one trusting only the old CA: refused at the handshake (4)" 4 "${C[@]}" attest \
    --verifier "$TARGET" --ca "$OLD_CA" --tcti "$TCTI_A" --ak-file "$WORK/ak-a.bin" || true
conf 600 "$WORK/ekca-ab"
hup
CA=$OLD_CA
attest "$TCTI_A" "$WORK/ak-a.bin"
[ "$ATT" = 1 ] && ok "... and back to the first certificate" ||
    bad "... back to the first certificate (exit $ATT)" "$WORK/att.out"

# ---- reloads while attestations are in flight ----
conf 300 "$WORK/ekca-ab"
pids=()
for i in 1 2 3 4; do
    (
        t=$TCTI_A
        ak=$WORK/ak-a.bin
        [ $((i % 2)) = 0 ] && { t=$TCTI_B; ak=$WORK/ak-b.bin; }
        for j in 1 2 3; do
            set +e
            # A long deadline: under valgrind, four clients and the
            # verifier share the machine's cores.
            "${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$t" --ak-file "$ak" \
                --timeout 60000 >"$WORK/fl-$i-$j.out" 2>&1
            echo $? >"$WORK/fl-$i-$j.rc"
            set -e
        done
    ) &
    pids+=($!)
done
for b in evidence-only strict evidence-only strict; do
    if [ "$b" = strict ]; then cp "$WORK/strict.json" "$BL"; else cp "$WORK/bl.good" "$BL"; fi
    hup
    grep -q 'SIGHUP: reloaded' "$WORK/hup" || bad "a reload in flight ($b)" "$WORK/hup"
done
for p in "${pids[@]}"; do wait "$p" || true; done
answered=1
for f in "$WORK"/fl-*.rc; do
    case $(cat "$f") in 0|1) ;; *) answered=0; bad "an attestation during reloads: exit $(cat "$f")" "${f%.rc}.out" ;; esac
done
[ "$answered" = 1 ] && ok "12 attestations during 4 reloads: each answered with a verdict" || true
kill -0 "$VPID" && ok "... the verifier still serving" || bad "... the verifier still serving" "$WORK/v.err"
stop_verifiers
summary
