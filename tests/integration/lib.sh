# Helpers for the integration tests: sourced, not run.
# Every test run gets its own directory, swtpm instance and verifier, all
# torn down by the EXIT trap.

: "${BUILD:?BUILD must name the build directory}"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case $BUILD in /*) BIN=$BUILD ;; *) BIN=$ROOT/$BUILD ;; esac
SIM=$ROOT/simulator/tpa-swtpm
. "$ROOT/scripts/common.sh"
export TPA_PCR_EXTEND=$BIN/tpa-pcr-extend
WORK=$(mktemp -d /tmp/tpa-it-XXXXXX)
PASSED=0
FAILED=0
VERIFIER_PIDS=()
declare -A VERIFIER_NAME=()  # pid -> name (its output in $WORK/NAME.out, .err)
SWTPM_DIRS=()
# VALGRIND (make valgrind-check) runs the verifier a test serves with under
# valgrind. A client's run costs 3-5 s there, most of it valgrind
# translating gRPC, OpenSSL and tpm2-tss, and most tests run the same client
# paths again and again: VGC, the prefix for a test's client runs
# (attest_client, and the verifier's subcommands that call a verifier), is
# VALGRIND only in the tests VALGRIND_CLIENTS names, the ones that cover
# the clients' paths; elsewhere the clients run plain while the verifier
# they call stays under valgrind. Unset, every test's clients run under it.
TEST_NAME=$(basename "$0" .sh)
TEST_NAME=${TEST_NAME#test_}
if [ -z "${VALGRIND_CLIENTS+set}" ] || [[ " $VALGRIND_CLIENTS " == *" $TEST_NAME "* ]]; then
    VGC=${VALGRIND:-}
else
    VGC=
fi

cleanup() {
    local p d
    for p in "${VERIFIER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${VERIFIER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    for d in "${SWTPM_DIRS[@]}"; do "$SIM" stop "$d" || true; done
    # TPA_KEEP=1: the directory is left for a look at what failed.
    if [ -n "${TPA_KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "  ok   $1"; }
bad() { FAILED=$((FAILED + 1)); echo "  FAIL $1"; [ -n "${2:-}" ] && { sed 's/^/       | /' "$2" | head -20 || true; }; return 0; }

# expect_exit NAME CODE CMD...: runs CMD, output in $WORK/out, $WORK/err.
expect_exit() {
    local name=$1 want=$2 got
    shift 2
    set +e
    # No command may hang the suite.
    timeout --kill-after=5 120 "$@" >"$WORK/out" 2>"$WORK/err"
    got=$?
    set -e
    if [ "$got" -eq "$want" ]; then ok "$name"; else
        bad "$name (exit $got, expected $want)" "$WORK/err"; return 1; fi
}

# expect_grep NAME FILE PATTERN
expect_grep() {
    if grep -qE -- "$3" "$2"; then ok "$1"; else bad "$1 (no /$3/)" "$2"; fi
}

# checker_lines: counts a checker's "ok<TAB>NAME" and "bad<TAB>NAME" lines
# from stdin, printing its "|<TAB>EVIDENCE" lines under them.
checker_lines() {
    local kind text
    while IFS=$'\t' read -r kind text; do
        case $kind in
            ok) ok "$text" ;;
            bad) bad "$text" ;;
            '|') echo "       | $text" ;;
            *) bad "checker output: $kind $text" ;;
        esac
    done
}

start_swtpm() { # DIR: sets TCTI
    SWTPM_DIRS+=("$1")
    TCTI=$("$SIM" start "$1")
}

# start_verifier NAME ARGS... : starts in the background; sets PORT and VPID.
start_verifier() {
    local name=$1
    shift
    rm -f "$WORK/$name.out"   # see wait_listening
    # Its gate's socket directory in WORK (TMPDIR): one the test kills
    # with SIGKILL cannot remove it, and WORK goes at the end.
    TMPDIR=$WORK ${VALGRIND:-} "$BIN/verifier" serve --listen 127.0.0.1:0 "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.err" &
    VPID=$!
    VERIFIER_PIDS+=("$VPID")
    VERIFIER_NAME[$VPID]=$name
    # Long enough for a verifier under valgrind.
    wait_listening "$WORK/$name.out" "$VPID" 1500 || { cat "$WORK/$name.err" >&2; return 1; }
}

# sighup PID ERRFILE: SIGHUP to a serve, then waits (up to 60 s) for its
# answer to it: one more "SIGHUP: reloaded" or "nothing reloaded" in ERRFILE.
sighup() {
    local n
    n=$(grep -cE 'SIGHUP: (reloaded|nothing reloaded)' "$2" || true)
    kill -HUP "$1"
    for _ in $(seq 1 1200); do
        [ "$(grep -cE 'SIGHUP: (reloaded|nothing reloaded)' "$2" || true)" -gt "$n" ] && break
        sleep 0.05
    done
}

# Every verifier still running stops on SIGTERM and exits 0: a valgrind
# error (exit 99), a sanitizer's report or a crash at shutdown fails here.
stop_verifiers() {
    local p n rc
    for p in "${VERIFIER_PIDS[@]}"; do
        n=${VERIFIER_NAME[$p]:-verifier}
        kill -0 "$p" 2>/dev/null || continue
        kill -TERM "$p" 2>/dev/null || continue
        set +e
        wait "$p"
        rc=$?
        set -e
        [ "$rc" -eq 0 ] && ok "verifier $n: stopped cleanly" ||
            bad "verifier $n: exit $rc on SIGTERM" "$WORK/$n.err"
    done
}

summary() {
    stop_verifiers
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

# serve_one_device: a CA, a swtpm booted through simulator/scenarios/good.json
# (its log in $WORK/good.log), a verifier with a registry, its EK CAs and a
# token key, and that TPM enrolled. Sets CA, TCTI, DB, KEY, TARGET and DEV;
# C is the client command.
serve_one_device() {
    "$ROOT/scripts/demo-certs.sh" "$WORK/certs" >/dev/null
    CA=$WORK/certs/ca.pem
    start_swtpm "$WORK/tpm"
    "$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/good.json" --log "$WORK/good.log" \
        --tcti "$TCTI" >/dev/null
    mkdir -p "$WORK/ekca"
    cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
    DB=${REGISTRY:-$WORK/registry.db}
    KEY=$WORK/token.jwk
    start_verifier v --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
        --registry "$DB" --ek-ca "$WORK/ekca" --token-key "$KEY"
    TARGET=127.0.0.1:$PORT
    "${C[@]}" enroll --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin" \
        >"$WORK/enroll.out" 2>&1 || bad "enroll" "$WORK/enroll.out"
    DEV=$(sed -n 's/^enrolled: device //p' "$WORK/enroll.out")
    [ -n "$DEV" ] && ok "a device enrolled" || bad "a device enrolled" "$WORK/enroll.out"
}

# boot_scenario NAME FILE: a swtpm of its own booted through the scenario
# FILE (TCTIS[NAME], which the caller declares with declare -A), its log in
# $WORK/NAME.log, its EK CA certificates in $WORK/ekca.
boot_scenario() {
    start_swtpm "$WORK/tpm-$1"
    TCTIS[$1]=$TCTI
    mkdir -p "$WORK/ekca"
    cp "$WORK/tpm-$1/ca/swtpm-localca-rootca-cert.pem" "$WORK/ekca/root-$1.pem"
    cp "$WORK/tpm-$1/ca/issuercert.pem" "$WORK/ekca/issuer-$1.pem"
    "$BIN/tpa-bootsim" --scenario "$2" --log "$WORK/$1.log" --tcti "$TCTI" \
        >"$WORK/$1.sim" 2>&1 || bad "$1: tpa-bootsim" "$WORK/$1.sim"
}

# fleet_devices N: N swtpm devices booted through simulator/scenarios/
# good.json (logs $WORK/goodK.log), their EK CAs in $WORK/ekca, DEVS the
# tpa-fleet --device of each (AK files $WORK/akK.bin, made by enrolling),
# and $WORK/fleet.json a baseline learnt from the first's log.
fleet_devices() {
    local d
    mkdir -p "$WORK/ekca"
    DEVS=()
    for d in $(seq 1 "$1"); do
        start_swtpm "$WORK/tpm$d"
        "$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/good.json" --log "$WORK/good$d.log" \
            --tcti "$TCTI" >/dev/null
        cp "$WORK/tpm$d/ca/swtpm-localca-rootca-cert.pem" "$WORK/ekca/root$d.pem"
        cp "$WORK/tpm$d/ca/issuercert.pem" "$WORK/ekca/issuer$d.pem"
        DEVS+=("$TCTI,$WORK/ak$d.bin,$WORK/good$d.log")
    done
    "$BIN/verifier" baseline learn --eventlog "$WORK/good1.log" --name fleet --out "$WORK/fleet.json" >/dev/null
}

# nginx_main NGDIR: NGDIR/nginx.conf, a main file of the test's around
# NGDIR/site.conf and any NGDIR/extra*.conf (in the foreground, its paths in
# NGDIR; as root the workers run as root: nobody cannot enter $WORK).
# NGINX_WORKERS, NGINX_LOG_LEVEL and NGINX_ACCESS_LOG change its defaults.
nginx_main() {
    local t
    mkdir -p "$1/tmp"
    {
        echo "daemon off;"
        [ "$(id -u)" -ne 0 ] || echo "user root;"
        echo "worker_processes ${NGINX_WORKERS:-1};"
        echo "pid $1/nginx.pid;"
        echo "error_log $1/error.log ${NGINX_LOG_LEVEL:-info};"
        echo "events { worker_connections 1024; }"
        echo "http {"
        echo "    access_log ${NGINX_ACCESS_LOG:-$1/access.log};"
        echo "    client_body_temp_path $1/tmp/body;"
        for t in proxy fastcgi uwsgi scgi; do echo "    ${t}_temp_path $1/tmp/$t;"; done
        echo "    include $1/site.conf;"
        echo "    include $1/extra*.conf;"
        echo "}"
    } >"$1/nginx.conf"
}

# ---- other servers a test runs (nginx, Prometheus) ----
# start_extra NAME CMD...: CMD in the background, its output in
# $WORK/NAME.out and $WORK/NAME.err; sets XPID. Each is stopped by its pid
# on any exit, before the verifiers (stop_extras below), so none outlives
# a failed test holding its port.
declare -A EXTRA_PID=()  # name -> pid
start_extra() {
    local name=$1
    shift
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    XPID=$!
    EXTRA_PID[$name]=$XPID
}

# stop_extra NAME: SIGTERM to it, and whether it exited 0 (a server that
# crashed or refused its configuration does not).
stop_extra() {
    local name=$1 p=${EXTRA_PID[$1]:-} rc
    [ -n "$p" ] || return 0
    unset "EXTRA_PID[$name]"
    kill -TERM "$p" 2>/dev/null || true
    set +e
    wait "$p"
    rc=$?
    set -e
    [ "$rc" -eq 0 ] && ok "$name: stopped cleanly" || bad "$name: exit $rc on SIGTERM" "$WORK/$name.err"
}

stop_extras() {
    local p
    for p in "${EXTRA_PID[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${EXTRA_PID[@]}"; do wait "$p" 2>/dev/null || true; done
    EXTRA_PID=()
}
# ---- a PostgreSQL server of the test's own (scripts/common.sh) ----
# start_postgres: in $WORK/pg, its log $WORK/postgres.log; sets PG_SOCK,
# PG_URI and PG_PID. pg_run starts it again after stop_postgres.
start_postgres() { pg_start "$WORK/pg" "$WORK/postgres.log"; }
pg_run() { pg_up "$WORK/pg" "$WORK/postgres.log"; }
stop_postgres() { pg_down; }
trap 'stop_postgres; stop_extras; cleanup' EXIT

# free_port: a loopback TCP port free a moment ago. Another process may
# take it before the caller binds it: the caller retries on "in use".
free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
