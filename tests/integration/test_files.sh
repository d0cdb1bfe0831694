#!/usr/bin/env bash
# Least privilege on files (issue 12): every file the agent or the verifier
# writes is created beside its name (O_EXCL|O_NOFOLLOW, random name) and
# renamed over it, with a tight mode; a link planted at any of those paths
# is replaced, never followed; the registry's directory and files are
# private; the agent unit's root step copies the event log without following
# anything the agent's user can plant. Real binaries, swtpm, TLS.
# usage: test_files.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_files.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: files (links planted, modes, the agent unit's copy)"
"$ROOT/scripts/demo-certs.sh" "$WORK/certs"
CA=$WORK/certs/ca.pem
C=(${VGC:-} "$BIN/attest_client")
V=(${VALGRIND:-} "$BIN/verifier")
start_swtpm "$WORK/tpm"
"$BIN/tpa-bootsim" --scenario "$ROOT/simulator/scenarios/good.json" --log "$WORK/good.log" \
    --tcti "$TCTI" >/dev/null
mkdir -p "$WORK/files" "$WORK/ekca"
mkdir -m 0700 "$WORK/new"     # as systemd's StateDirectory= (0700) makes it
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
O=$WORK/files
victim() { printf 'precious\n' >"$WORK/victim"; chmod 0644 "$WORK/victim"; }
untouched() { # NAME
    if [ "$(cat "$WORK/victim")" = precious ] && [ "$(stat -c %a "$WORK/victim")" = 644 ]; then
        ok "$1: the file a planted link named is untouched"
    else
        bad "$1: the victim was written or chmod-ed"
    fi
}
regular() { # NAME PATH MODE
    if [ -f "$2" ] && [ ! -L "$2" ] && [ "$(stat -c %a "$2")" = "$3" ]; then ok "$1: a regular file, mode $3"
    else bad "$1: $(ls -l "$2" 2>&1)"; fi
}

# ---- the verifier's files ----
victim
ln -s "$WORK/victim" "$O/jwk.json"
ln -s "$WORK/victim" "$O/jwk.json.tmp"
"$BIN/verifier" baseline learn --eventlog "$WORK/good.log" --name fleet --out "$WORK/fleet.json" >/dev/null
start_verifier v --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
    --baseline "$WORK/fleet.json" --public-jwk-out "$O/jwk.json" --registry "$WORK/new/registry.db" \
    --ek-ca "$WORK/ekca"
TARGET=127.0.0.1:$PORT
untouched "--public-jwk-out over a link"
regular "--public-jwk-out" "$O/jwk.json" 644
grep -q '"kty"' "$O/jwk.json" && ok "... holding the JWK" || bad "jwk content"
regular "the registry" "$WORK/new/registry.db" 600
for f in "$WORK/new/registry.db-wal" "$WORK/new/registry.db-shm"; do
    [ -e "$f" ] && regular "$(basename "$f")" "$f" 600
done
expect_exit "a registry in a directory that does not exist is refused, not made (a typo) (2)" 2 \
    "${V[@]}" devices list --registry "$WORK/typo/registry.db" || true
[ ! -e "$WORK/typo" ] && ok "... and nothing is created" || bad "a directory was created for a typo"
ln -s "$WORK/victim" "$O/fleet2.json"
expect_exit "baseline learn --out over a link" 0 "${V[@]}" baseline learn --eventlog "$WORK/good.log" \
    --name fleet --out "$O/fleet2.json"
untouched "baseline learn --out"
regular "baseline learn --out" "$O/fleet2.json" 644
ln -s "$WORK/victim" "$O/token-key.jwk"
expect_exit "a token key path that is a link is refused (2)" 2 "${V[@]}" serve --listen 127.0.0.1:0 \
    --insecure --token-key "$O/token-key.jwk" || true
untouched "--token-key"
ln -s "$WORK/victim" "$O/reg-link.db"
expect_exit "a registry path that is a link is refused" 2 "${V[@]}" devices list --registry "$O/reg-link.db" || true
untouched "--registry"

# ---- the agent's files ----
for f in token token.tmp ak.bin ak.bin.tmp; do ln -s "$WORK/victim" "$O/$f"; done
expect_exit "an AK file that is a link is refused, not read (2)" 2 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI" --ak-file "$O/ak.bin" --eventlog "$WORK/good.log" --token-out "$O/token" || true
expect_grep "... named as a link" "$WORK/err" 'ak.bin: is a symbolic link'
rm "$O/ak.bin"
ln -s "$WORK/victim" "$O/ak.bin"
rm "$O/ak.bin"
expect_exit "enroll: the AK file written past planted links" 0 "${C[@]}" enroll --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI" --ak-file "$O/ak.bin" || true
expect_exit "attest: the token written past planted links" 0 "${C[@]}" attest --verifier "$TARGET" \
    --ca "$CA" --tcti "$TCTI" --ak-file "$O/ak.bin" --eventlog "$WORK/good.log" --token-out "$O/token" || true
untouched "--token-out and --ak-file"
regular "--token-out" "$O/token" 600
regular "--ak-file" "$O/ak.bin" 600
ls "$O"/token.tmp-* "$O"/ak.bin.tmp-* >/dev/null 2>&1 && bad "a temporary file was left" || ok "no temporary file left"
cat >"$WORK/agent.conf" <<CONF
verifier = $TARGET
ca = $CA
tcti = $TCTI
ak_file = $O/ak.bin
eventlog = $WORK/good.log
token_out = $O/run-token
status_file = $O/status.json
CONF
ln -s "$WORK/victim" "$O/status.json"
ln -s "$WORK/victim" "$O/run-token"
"${C[@]}" run --config "$WORK/agent.conf" >"$WORK/run.out" 2>&1 &
apid=$!
for _ in $(seq 100); do [ -f "$O/status.json" ] && [ ! -L "$O/status.json" ] && break; sleep 0.1; done
kill -TERM "$apid"; wait "$apid" || true
untouched "run: --status-file and token_out"
regular "the status file" "$O/status.json" 640
regular "the run token" "$O/run-token" 600

# ---- the agent unit's root step ----
# Its ExecStartPre, as systemd would run it ($$ is one $), with /run and
# the firmware's log moved under $WORK and the agent's group one that exists.
pre=$(sed -n 's/^ExecStartPre=+\/bin\/sh -c //p' "$ROOT/packaging/systemd/attest-client.service")
pre=${pre#\'}; pre=${pre%\'}; pre=${pre//\$\$/\$}
pre=${pre//\/run\/attest-client-eventlog/$WORK/run/attest-client-eventlog}
pre=${pre//\/sys\/kernel\/security\/tpm0\/binary_bios_measurements/$WORK/good.log}
pre=${pre//attest-client \"/nogroup \"}
mkdir -p "$WORK/run/attest-client"
chmod 0777 "$WORK/run/attest-client"                  # the agent's own, writable by it
ln -s "$WORK/victim" "$WORK/run/attest-client/eventlog"   # what it could plant there
victim
if sh -c "$pre" 2>"$WORK/pre.err"; then ok "the unit's ExecStartPre runs"; else bad "ExecStartPre" "$WORK/pre.err"; fi
untouched "ExecStartPre (link in the agent's directory)"
regular "the copied event log" "$WORK/run/attest-client-eventlog/eventlog" 440
cmp -s "$WORK/good.log" "$WORK/run/attest-client-eventlog/eventlog" && ok "... a copy of the firmware's log" ||
    bad "event log copy differs"
[ "$(stat -c '%U %a' "$WORK/run/attest-client-eventlog")" = "root 755" ] && ok "... in a directory only root writes" ||
    bad "copy dir: $(stat -c '%U %a' "$WORK/run/attest-client-eventlog")"
ln -sf "$WORK/victim" "$WORK/run/attest-client-eventlog/eventlog"
sh -c "$pre" 2>"$WORK/pre.err" || bad "ExecStartPre (2)" "$WORK/pre.err"
untouched "ExecStartPre run again over a link at the copy's name"
regular "the copy, again" "$WORK/run/attest-client-eventlog/eventlog" 440
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify "$ROOT/packaging/systemd/attest-client.service" >"$WORK/sa.out" 2>&1 || true
    grep -qi 'ExecStartPre\|Invalid\|Failed to parse' "$WORK/sa.out" && bad "systemd-analyze verify" "$WORK/sa.out" ||
        ok "systemd-analyze verify finds nothing wrong with the unit's lines"
fi

summary
