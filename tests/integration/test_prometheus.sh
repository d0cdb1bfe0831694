#!/usr/bin/env bash
# Prometheus scraping the verifier's plain /metrics, end to end (issue 15,
# item 8): Debian's prometheus runs packaging/examples/prometheus/prometheus.yml
# itself (filled in by sed) with the example rules, on loopback, its
# storage here, scraping every second a real verifier to which the real
# client attests a swtpm device. The test counts what it made (K compliant
# attestations, one without a baseline, one refused) and waits until
# Prometheus' query API says the same numbers; up{job=...} is 1 while the
# verifier runs, 0 once it is gone, and the example's TpaVerifierDown alert
# is then pending. promtool checks the config and the rules, and runs the
# rules' own unit tests. Nothing is timed but the waits (30 s each): it is
# in the valgrind list (about 45 s there).
# usage: test_prometheus.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_prometheus.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: Prometheus scraping /metrics (prometheus, promtool, swtpm)"
PROM=/usr/bin/prometheus
PROMTOOL=/usr/bin/promtool
[ -x "$PROM" ] && [ -x "$PROMTOOL" ] || { bad "prometheus and promtool installed (scripts/deps.sh)"; summary; exit 1; }
EX=$ROOT/packaging/examples/prometheus
JOB=tpm-attest-verifier
K=3

expect_exit "promtool check rules: the example rules" 0 "$PROMTOOL" check rules "$EX/tpm-attest.rules.yml" || true
expect_exit "promtool test rules: the rules' unit tests pass" 0 "$PROMTOOL" test rules "$EX/tpm-attest.rules.test.yml" || true

"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
C=(${VGC:-} "$BIN/attest_client")
start_swtpm "$WORK/tpm"
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/good.json" --log "$WORK/good.log" \
    --tcti "$TCTI" >/dev/null
mkdir -p "$WORK/ekca"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
DB=$WORK/registry.db
start_verifier v --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --registry "$DB" --ek-ca "$WORK/ekca" --token-key "$WORK/token.jwk" \
    --http-listen-plain 127.0.0.1:0
TARGET=127.0.0.1:$PORT
for _ in $(seq 1500); do grep -q '^http health listening' "$WORK/v.out" && break; sleep 0.02; done
PP=$(sed -n 's/^http health listening on port \([0-9]*\) .*/\1/p' "$WORK/v.out")
[ -n "$PP" ] && ok "the verifier's plain listener says its port" || bad "the plain listener's port" "$WORK/v.out"

# ---- Prometheus on the example file ----
P=$WORK/prom
mkdir -p "$P/data"
# fill_config PORT: every ${TPA_...} must be one the test knows.
fill_config() {
    sed -e "s|\${TPA_SCRAPE_INTERVAL}|1s|g" \
        -e "s|\${TPA_RULES}|$EX/tpm-attest.rules.yml|g" \
        -e "s|\${TPA_METRICS}|127.0.0.1:$PP|g" \
        "$EX/prometheus.yml" >"$P/prometheus.yml"
    ! grep -nE '\$\{TPA_[A-Z_]+\}' "$P/prometheus.yml"
}
fill_config >"$WORK/fill.out" || bad "every \${TPA_...} of the example filled in" "$WORK/fill.out"
expect_exit "promtool check config: the example, filled in" 0 "$PROMTOOL" check config "$P/prometheus.yml" || true

# A port taken between free_port and Prometheus' bind: another, again.
started=
for _ in 1 2 3; do
    WP=$(free_port)
    start_extra prometheus "$PROM" --config.file="$P/prometheus.yml" --storage.tsdb.path="$P/data" \
        --web.listen-address="127.0.0.1:$WP"
    PPID_=$XPID
    for _ in $(seq 300); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$WP/-/ready")" = 200 ] &&
            { started=1; break; }
        kill -0 "$PPID_" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$started" ] && break
    grep -q 'address already in use' "$WORK/prometheus.err" || break
    stop_extras
done
if [ -n "$started" ]; then
    ok "Prometheus ready on 127.0.0.1:$WP (pid $PPID_)"
else
    bad "Prometheus starts" "$WORK/prometheus.err"
    summary
    exit 1
fi

# prom_value QUERY: the value of the query's one sample ("" for none; a
# query of more than one series is an error, said on stderr).
prom_value() {
    curl -s --max-time 5 -G "http://127.0.0.1:$WP/api/v1/query" --data-urlencode "query=$1" |
        /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["status"] == "success", r
res = r["data"]["result"]
if len(res) > 1:
    sys.exit("more than one series: %r" % res)
if res:
    v = float(res[0]["value"][1])
    print(int(v) if v == int(v) else v)
'
}

# wait_value NAME QUERY WANT: polls every 0.5 s until QUERY's value is WANT
# (30 s at most, scrapes being a second apart).
wait_value() {
    local name=$1 q=$2 want=$3 got= i
    for ((i = 0; i < 60; i++)); do
        got=$(prom_value "$q" 2>"$WORK/prom.err" || true)
        [ "$got" = "$want" ] && { ok "$name: $q == $want"; return 0; }
        sleep 0.5
    done
    echo "last value: '$got'" >>"$WORK/prom.err"
    bad "$name: $q == $want" "$WORK/prom.err"
}

wait_value "the verifier scraped" "up{job=\"$JOB\"}" 1
wait_value "... nothing attested yet" "sum(tpa_attestations_total{job=\"$JOB\"})" 0

# ---- what the test makes: 1 no-baseline, K compliant, 1 refused ----
A=("${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin"
   --eventlog "$WORK/good.log")
"${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" >"$WORK/enroll.out" 2>&1 ||
    bad "enroll" "$WORK/enroll.out"
DEV=$(sed -n 's/^enrolled: device //p' "$WORK/enroll.out")
expect_exit "attest without a baseline: not compliant (1)" 1 "${A[@]}" || true
"$BIN/verifier" baseline learn --registry "$DB" --device "$DEV" --name fleet --out "$WORK/fleet.json" >/dev/null
"$BIN/verifier" baseline add --registry "$DB" "$WORK/fleet.json" >/dev/null
"$BIN/verifier" baseline assign --registry "$DB" --device "$DEV" fleet >/dev/null
for i in $(seq "$K"); do
    expect_exit "attest $i of $K: compliant" 0 "${A[@]}" || true
done
wait_value "K compliant counted" "tpa_attestations_total{job=\"$JOB\",outcome=\"compliant\"}" "$K"
wait_value "... one without a baseline" "tpa_attestations_total{job=\"$JOB\",outcome=\"no-baseline\"}" 1
wait_value "... the device compliant" "tpa_devices{job=\"$JOB\",state=\"compliant\"}" 1
wait_value "... the example's recording rule: none active and not compliant" \
    "tpa:devices_not_compliant{job=\"$JOB\"}" 0
"$BIN/verifier" devices revoke --registry "$DB" "$DEV" >/dev/null
expect_exit "revoked: attest refused (5)" 5 "${A[@]}" || true
wait_value "... refused counted" "tpa_attestations_total{job=\"$JOB\",outcome=\"refused\"}" 1
wait_value "... every attestation the test made" "sum(tpa_attestations_total{job=\"$JOB\"})" $((K + 2))
wait_value "... the device revoked" "tpa_devices{job=\"$JOB\",state=\"revoked\"}" 1
wait_value "... up still" "up{job=\"$JOB\"}" 1

# ---- the verifier gone: up 0, the example's alert pending ----
stop_verifiers
wait_value "the verifier stopped: up" "up{job=\"$JOB\"}" 0
wait_value "... TpaVerifierDown pending (for: 2m)" \
    "count(ALERTS{alertname=\"TpaVerifierDown\",alertstate=\"pending\",job=\"$JOB\"})" 1

stop_extra prometheus
summary
