#!/usr/bin/env bash
# The Secure Boot reference bundle end to end: `verifier secureboot-ref
# build` from Microsoft's real published list makes the committed bundle,
# `show` reads it and refuses a broken one naming the field; `serve
# --secureboot-ref` refuses to start on a broken bundle, says its age, and
# a bundle older than --secureboot-ref-max-age is a warning in /readyz and
# the log; SIGHUP takes a new bundle or, broken, keeps the one it had.
# usage: test_secureboot_ref.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_secureboot_ref.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: the Secure Boot reference bundle (build, show, serve, /readyz)"
V=(${VALGRIND:-} "$BIN/verifier")
D=$ROOT/tests/data/secureboot
REF=$ROOT/packaging/secureboot-ref.json
SRC=$("$BIN/verifier" secureboot-ref show --json "$REF" |
      /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["source"])')

# ---- build and show ----
expect_exit "build from Microsoft's list and certificates" 0 "${V[@]}" secureboot-ref build \
    --list "$D/dbx_info_msft_latest.json" --certs "$D/certs" --source "$SRC" --date 2026-07-15 \
    "$WORK/ref.json" || true
cmp -s "$WORK/ref.json" "$REF" && ok "... the same bytes as packaging/secureboot-ref.json" ||
    bad "the built bundle differs from the committed one (make secureboot-ref)"
[ "$(stat -c %a "$WORK/ref.json")" = 644 ] && ok "... mode 0644" || bad "mode $(stat -c %a "$WORK/ref.json")"
expect_exit "show: valid" 0 "${V[@]}" secureboot-ref show "$WORK/ref.json" || true
expect_grep "... 443 x64 revocations" "$WORK/out" '^revoked images x64: 443$'
expect_grep "... the Windows PCA 2011 revoked" "$WORK/out" '^ca: db Microsoft Windows Production PCA 2011 2011 \(revoked\)$'
expect_grep "... the 2023 KEK" "$WORK/out" '^ca: KEK Microsoft Corporation KEK 2K CA 2023 2023$'
sed 's/"version": 1,/"version": 2,/' "$REF" >"$WORK/v2.json"
expect_exit "show: a newer version refused (1)" 1 "${V[@]}" secureboot-ref show "$WORK/v2.json" || true
expect_grep "... naming it" "$WORK/err" 'bundle.version: 2 is newer than this verifier reads \(1\)'
sed '0,/"added": "2018-04-01"/s//"added": "2018-04-31"/' "$REF" >"$WORK/baddate.json"
expect_exit "show: an impossible date refused (1)" 1 "${V[@]}" secureboot-ref show "$WORK/baddate.json" || true
expect_grep "... naming the entry" "$WORK/err" 'revoked_images\.x64\[0\]\.added: a date YYYY-MM-DD is required'
expect_exit "show: a missing file (2)" 2 "${V[@]}" secureboot-ref show "$WORK/none.json" || true
expect_exit "build without --date (2)" 2 "${V[@]}" secureboot-ref build --list "$D/dbx_info_msft_latest.json" \
    --certs "$D/certs" --source x "$WORK/x.json" || true
mkdir -p "$WORK/certs-short"
cp "$D/certs/"kek-* "$WORK/certs-short/"
expect_exit "build without the revoked certificate the list names (1)" 1 "${V[@]}" secureboot-ref build \
    --list "$D/dbx_info_msft_latest.json" --certs "$WORK/certs-short" --source x --date 2026-07-15 \
    "$WORK/x.json" || true
expect_grep "... naming it" "$WORK/err" 'MicWinProPCA2011_2011-10-19.der is not among the certificates given'
[ ! -e "$WORK/x.json" ] && ok "... nothing written" || bad "a refused build wrote its OUT"

# ---- serve ----
expect_exit "serve: a broken bundle, the verifier does not start (2)" 2 "$BIN/verifier" serve \
    --listen 127.0.0.1:0 --insecure --secureboot-ref "$WORK/v2.json" || true
expect_grep "... naming the file and field" "$WORK/err" "secureboot-ref: .*v2.json: .*bundle.version"
expect_exit "serve: --secureboot-ref-max-age 0 refused (2)" 2 "$BIN/verifier" serve \
    --listen 127.0.0.1:0 --insecure --secureboot-ref "$REF" --secureboot-ref-max-age 0 || true

cp "$REF" "$WORK/live.json"
CONF=$WORK/serve.conf
conf() {
    cat >"$CONF" <<EOC
insecure = true
http-listen-plain = 127.0.0.1:0
secureboot-ref = $1
secureboot-ref-max-age = $2
EOC
}
conf "$WORK/live.json" 3650
start_verifier v --config "$CONF"
for _ in $(seq 1500); do grep -q '^http health listening' "$WORK/v.out" && break; sleep 0.02; done
PP=$(sed -n 's/^http health listening on port \([0-9]*\) .*/\1/p' "$WORK/v.out")
expect_grep "serve says the bundle it read" "$WORK/v.err" 'secureboot-ref .*live.json: data of 2026-07-15 .*443 x64 revocations'
readyz() { curl -sS --max-time 10 -o "$WORK/body" -w '%{http_code}' "http://127.0.0.1:$PP/readyz" || true; }
[ "$(readyz)" = 200 ] && [ "$(cat "$WORK/body")" = ready ] &&
    ok "/readyz: 200 ready, the bundle within its age" || bad "/readyz within age: $(cat "$WORK/body")"

hup() { sighup "$VPID" "$WORK/v.err"; }
# The bundle's data is of 2026-07-15: a maximum age a day shorter than its
# age makes it old.
AGE=$(( ($(date +%s) - $(date -d 2026-07-15 +%s)) / 86400 ))
conf "$WORK/live.json" $((AGE - 1))
hup
expect_grep "SIGHUP: a maximum age under the bundle's: reloaded" "$WORK/v.err" 'SIGHUP: reloaded: .*Secure Boot reference .*live.json'
expect_grep "... the log warns, naming its age" "$WORK/v.err" "live.json: its data of 2026-07-15 is $AGE days old, over the maximum of $((AGE - 1))"
code=$(readyz)
[ "$code" = 200 ] && grep -qx "warning: the Secure Boot reference bundle is $AGE days old (its data of 2026-07-15; the maximum is $((AGE - 1)) days)" "$WORK/body" &&
    head -1 "$WORK/body" | grep -qx ready &&
    ok "/readyz: still 200 ready, with the warning" || bad "/readyz old bundle: $code $(cat "$WORK/body")"

conf "$WORK/v2.json" 3650
hup
expect_grep "SIGHUP with a broken bundle: nothing reloaded" "$WORK/v.err" 'SIGHUP: nothing reloaded'
[ "$(readyz)" = 200 ] && grep -q "warning: the Secure Boot reference bundle is $AGE days old" "$WORK/body" &&
    ok "... the bundle and maximum it had kept" || bad "after a refused SIGHUP: $(cat "$WORK/body")"
conf "$WORK/live.json" 3650
hup
[ "$(readyz)" = 200 ] && [ "$(cat "$WORK/body")" = ready ] &&
    ok "SIGHUP with the maximum raised: ready, no warning" || bad "/readyz: $(cat "$WORK/body")"

# ---- attestations' tokens say what PCR 7 holds ----
# The simulated good boot (simulator/scenarios/good.json) has its own keys,
# none of Microsoft's, and a dbx of two simulated images: nothing of the
# bundle's. The Secure Boot scenarios (simulator/scenarios/secureboot) boot
# with Microsoft's real certificates and the bundle's real revocations.
# Each is booted into a swtpm of its own, enrolled and attested against a
# verifier with a registry and the bundle; its token's tpa.secureboot must
# be what the scenario expects, and devices summary counts the fleet.
"$ROOT/scripts/demo-certs.sh" "$WORK/certs" >/dev/null
mkdir -p "$WORK/ekca"
NAMES=(good)
SCEN=("$ROOT/simulator/scenarios/good.json")
for f in "$ROOT"/simulator/scenarios/secureboot/*.json; do
    NAMES+=("$(basename "$f" .json)")
    SCEN+=("$f")
done
declare -A TCTIS=()
for k in "${!NAMES[@]}"; do boot_scenario "${NAMES[$k]}" "${SCEN[$k]}"; done
start_verifier w --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$WORK/reg.db" --ek-ca "$WORK/ekca" --token-key "$WORK/token.jwk" \
    --secureboot-ref "$REF" --http-listen-plain 127.0.0.1:0
C=(${VGC:-} "$BIN/attest_client")
for k in "${!NAMES[@]}"; do
    n=${NAMES[$k]}
    CL=(--verifier "127.0.0.1:$PORT" --ca "$WORK/certs/ca.pem" --tcti "${TCTIS[$n]}"
        --ak-file "$WORK/ak-$n.bin")
    "${C[@]}" enroll "${CL[@]}" >"$WORK/$n.enroll" 2>&1 || bad "$n: enroll" "$WORK/$n.enroll"
    rm -f "$WORK/$n.token"
    "${C[@]}" attest "${CL[@]}" --eventlog "$WORK/$n.log" --token-out "$WORK/$n.token" \
        >"$WORK/$n.att" 2>&1 || true
    if [ "$n" = good ]; then
        want='{"ca_2011_only": false, "ca_2023_ready": false, "dbx_current": false, "dbx_missing": 20, "revoked_component_booted": false, "test_platform_key": false}'
    else
        want=$(/usr/bin/python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["expect"]["secureboot"], sort_keys=True))' "${SCEN[$k]}")
    fi
    got=$(/usr/bin/python3 - "$WORK/$n.token" 2>&1 <<'PY' || true
import base64, json, sys
p = open(sys.argv[1]).read().strip().split(".")[1]
c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
print(json.dumps(c["submods"]["TPM_DEVICE"].get("tpa.secureboot"), sort_keys=True))
PY
)
    [ "$got" = "$want" ] && ok "$n: the token's tpa.secureboot is what the boot holds: $got" ||
        { echo "expected $want" >"$WORK/$n.cmp"; echo "got      $got" >>"$WORK/$n.cmp";
          bad "$n: tpa.secureboot" "$WORK/$n.cmp"; }
done
expect_grep "the client prints the verdict's Secure Boot hygiene" "$WORK/test-pk.att" \
    '^secure boot hygiene: test_platform_key yes \(PK "DO NOT TRUST - AMI Test PK" is a test key'
expect_grep "... each claim" "$WORK/stale-dbx.att" \
    '^secure boot hygiene: dbx_current no \(12 of the 293 revocations of x64 are not in dbx'
expect_grep "... a PK the log was edited to hide is no evidence, not a clean PK" "$WORK/test-pk-hidden.att" \
    '^secure boot hygiene: test_platform_key unknown \(PK was not measured as the log shows it \(1 event\(s\) do not hash'
expect_exit "devices summary" 0 "${V[@]}" devices summary --registry "$WORK/reg.db" || true
expect_grep "... counts the fleet by its Secure Boot hygiene" "$WORK/out" \
    '^Secure Boot \(7 of 7 devices. last tokens say it\): dbx not current 3, not 2023-ready 2, 2011 CAs only 1, test platform key 1, revoked component booted 1; 1 answers unknown$'
expect_exit "devices summary --json" 0 "${V[@]}" devices summary --json --registry "$WORK/reg.db" || true
/usr/bin/python3 - "$WORK/out" >"$WORK/sum.txt" 2>&1 <<'PY' &&
import json, sys
sb = json.load(open(sys.argv[1]))["secureboot"]
assert sb["devices"] == 7 and sb["without"] == 0, sb
assert sb["dbx_current"] == {"true": 4, "false": 3, "unknown": 0}, sb
assert sb["ca_2023_ready"] == {"true": 5, "false": 2, "unknown": 0}, sb
assert sb["test_platform_key"] == {"true": 1, "false": 5, "unknown": 1}, sb
assert sb["revoked_component_booted"]["true"] == 1, sb
PY
    ok "... and as JSON" || bad "devices summary --json" "$WORK/sum.txt"
# Which devices: the rollout's list.
expect_exit "devices list --secureboot ca_2023_ready=no" 0 "${V[@]}" devices list --json \
    --secureboot ca_2023_ready=no --registry "$WORK/reg.db" || true
n=$(/usr/bin/python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/out" 2>&1 || true)
[ "$n" = 2 ] && ok "... the two devices not 2023-ready" || bad "devices list --secureboot ca_2023_ready=no: $n" "$WORK/out"
expect_exit "devices list --secureboot test_platform_key=unknown" 0 "${V[@]}" devices list --json \
    --secureboot test_platform_key=unknown --registry "$WORK/reg.db" || true
n=$(/usr/bin/python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/out" 2>&1 || true)
[ "$n" = 1 ] && ok "... the one whose PK is no evidence" || bad "test_platform_key=unknown: $n" "$WORK/out"
expect_exit "devices list --secureboot with an unknown claim (2)" 2 "${V[@]}" devices list \
    --secureboot dbx_fresh=no --registry "$WORK/reg.db" || true
expect_grep "... naming the claims" "$WORK/err" "--secureboot: 'dbx_fresh=no' is not CLAIM=ANSWER with CLAIM dbx_current"
expect_exit "devices list --secureboot with an answer not yes, no or unknown (2)" 2 "${V[@]}" devices list \
    --secureboot dbx_current=maybe --registry "$WORK/reg.db" || true
for _ in $(seq 1500); do grep -q '^http health listening' "$WORK/w.out" && break; sleep 0.02; done
WP=$(sed -n 's/^http health listening on port \([0-9]*\) .*/\1/p' "$WORK/w.out")
curl -sS --max-time 10 "http://127.0.0.1:$WP/metrics" >"$WORK/metrics" 2>&1 || true
for m in 'claim="dbx_current",answer="no"} 3' 'claim="ca_2023_ready",answer="no"} 2' \
         'claim="ca_2011_only",answer="yes"} 1' 'claim="test_platform_key",answer="yes"} 1' \
         'claim="revoked_component_booted",answer="yes"} 1' 'claim="dbx_current",answer="unknown"} 0' \
         'claim="test_platform_key",answer="unknown"} 1'; do
    grep -qF "tpa_devices_secureboot{$m" "$WORK/metrics" && ok "/metrics: tpa_devices_secureboot{$m" ||
        bad "/metrics: no tpa_devices_secureboot{$m" "$WORK/metrics"
done
summary
