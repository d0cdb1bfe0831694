#!/usr/bin/env bash
# The operator surface a user's mistake could break: --version on both
# programs; every admin command given a misspelt --registry exits non-zero
# naming the path and creates no file (before, it silently made a new, empty
# registry); `token verify` reading a real token from --token-file, @FILE and
# standard input, bounded, one trailing newline trimmed, anything else
# refused naming where it came from.
# usage: test_cli.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_cli.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: command line (--version, typo'd registry, token files)"
V=(${VALGRIND:-} "$BIN/verifier")
C=(${VGC:-} "$BIN/attest_client")
VERSION=$(sed -n 's/^#define TPA_VERSION "\(.*\)"$/\1/p' "$ROOT/include/tpa/version.h")
[ -n "$VERSION" ] || bad "TPA_VERSION not found in include/tpa/version.h"

# ---- --version ----
expect_exit "verifier --version" 0 "${V[@]}" --version
[ "$(cat "$WORK/out")" = "verifier $VERSION" ] && ok "... prints 'verifier $VERSION'" ||
    bad "... prints 'verifier $VERSION'" "$WORK/out"
expect_exit "verifier version" 0 "${V[@]}" version
[ "$(cat "$WORK/out")" = "verifier $VERSION" ] && ok "... the same" || bad "... the same" "$WORK/out"
expect_exit "attest_client --version" 0 "${C[@]}" --version
[ "$(cat "$WORK/out")" = "attest_client $VERSION" ] && ok "... prints 'attest_client $VERSION'" ||
    bad "... prints 'attest_client $VERSION'" "$WORK/out"
expect_exit "verifier --help lists --version" 0 "${V[@]}" --help
expect_grep "... as a usage line" "$WORK/out" '^       verifier --version$'
expect_exit "attest_client --help lists --version" 0 "${C[@]}" --help
expect_grep "... as a usage line" "$WORK/out" '^       attest_client --version$'

# ---- a real registry and a real token ----
serve_one_device
A=("${C[@]}" attest --verifier "$TARGET" --ca "$CA" --tcti "$TCTI" --ak-file "$WORK/ak.bin"
   --eventlog "$WORK/good.log")
# A token to act on needs a baseline: learnt from the first attestation.
"${A[@]}" >/dev/null 2>&1 || true
"$BIN/verifier" baseline learn --registry "$DB" --device "$DEV" --name fleet --out "$WORK/fleet.json" >/dev/null
"$BIN/verifier" baseline add --registry "$DB" "$WORK/fleet.json" >/dev/null
"$BIN/verifier" baseline assign --registry "$DB" --device "$DEV" fleet >/dev/null
"${A[@]}" --token-out "$WORK/token" >"$WORK/attest.out" 2>&1 || true
[ -s "$WORK/token" ] && ok "attest wrote a token" || bad "attest wrote a token" "$WORK/attest.out"
stop_verifiers
[ -f "$DB" ] && ok "serve created the registry" || bad "serve created the registry"

# ---- a typo'd registry: refused, named, not created ----
TYPO=$WORK/regsitry.db
typo() { # NAME CMD...: CMD (with $TYPO in it) exits non-zero naming it; no file
    local name=$1 got
    shift
    set +e
    timeout --kill-after=5 120 "$@" >"$WORK/out" 2>"$WORK/err"
    got=$?
    set -e
    if [ "$got" -ne 0 ]; then ok "$name: exits $got"; else bad "$name: exits 0" "$WORK/err"; fi
    if grep -qF "registry $TYPO does not exist (verifier serve --registry creates one)" \
        "$WORK/err"; then ok "$name: names the path"; else bad "$name: names the path" "$WORK/err"; fi
    if [ -e "$TYPO" ] || [ -e "$TYPO-wal" ] || [ -e "$TYPO-shm" ]; then
        bad "$name: created $TYPO"; rm -f "$TYPO" "$TYPO-wal" "$TYPO-shm"
    else ok "$name: no file created"; fi
}
typo "devices list" "${V[@]}" devices list --registry "$TYPO"
typo "devices list --json" "${V[@]}" devices list --json --registry "$TYPO"
typo "devices show" "${V[@]}" devices show --registry "$TYPO" "$DEV"
typo "devices revoke" "${V[@]}" devices revoke --registry "$TYPO" "$DEV"
typo "devices label" "${V[@]}" devices label --registry "$TYPO" "$DEV" lab
typo "baseline list" "${V[@]}" baseline list --registry "$TYPO"
typo "baseline add" "${V[@]}" baseline add --registry "$TYPO" \
    "$ROOT/tests/data/baselines/evidence-only.json"
typo "baseline learn --registry" "${V[@]}" baseline learn --registry "$TYPO" --device "$DEV"
typo "audit verify" "${V[@]}" audit verify --registry "$TYPO"
typo "audit sign" "${V[@]}" audit sign --registry "$TYPO" --token-key "$KEY"
typo "audit export" "${V[@]}" audit export --registry "$TYPO"
typo "sqlite:PATH form" "${V[@]}" devices list --registry "sqlite:$TYPO"
# The real one still opens (the admin commands were not just broken).
expect_exit "devices list on the real registry" 0 "${V[@]}" devices list --registry "$DB"
expect_grep "... lists the device" "$WORK/out" "$DEV"
expect_exit "audit verify on the real registry" 0 "${V[@]}" audit verify --registry "$DB"

# ---- token verify: TOKEN, --token-file, @FILE, - ----
expect_exit "keys jwks" 0 "${V[@]}" keys jwks --token-key "$KEY"
cp "$WORK/out" "$WORK/jwks.json"
TV=("${V[@]}" token verify --jwks "$WORK/jwks.json")
TOKEN=$(cat "$WORK/token")
expect_exit "token verify TOKEN" 0 "${TV[@]}" "$TOKEN"
cp "$WORK/out" "$WORK/claims.inline"
printf '%s' "$TOKEN" >"$WORK/token.bare"
printf '%s\n' "$TOKEN" >"$WORK/token.nl"
for f in token.bare token.nl; do
    expect_exit "token verify --token-file ($f)" 0 "${TV[@]}" --token-file "$WORK/$f"
    cmp -s "$WORK/out" "$WORK/claims.inline" && ok "... the same claims" || bad "... the same claims" "$WORK/out"
    expect_exit "token verify @FILE ($f)" 0 "${TV[@]}" "@$WORK/$f"
    cmp -s "$WORK/out" "$WORK/claims.inline" && ok "... the same claims" || bad "... the same claims" "$WORK/out"
    expect_exit "token verify - ($f on stdin)" 0 sh -c '"$@" - <"$0"' "$WORK/$f" "${TV[@]}"
    cmp -s "$WORK/out" "$WORK/claims.inline" && ok "... the same claims" || bad "... the same claims" "$WORK/out"
done
# Refusals, each naming where the token came from.
printf '%s\n\n' "$TOKEN" >"$WORK/token.2nl"
expect_exit "two trailing newlines: refused (2)" 2 "${TV[@]}" --token-file "$WORK/token.2nl" || true
expect_grep "... naming the file and the byte" "$WORK/err" "token from $WORK/token.2nl: byte [0-9]+ is not printable \(0x0a\)"
printf '%s\r\n' "$TOKEN" >"$WORK/token.crlf"
expect_exit "CRLF: refused (2)" 2 "${TV[@]}" --token-file "$WORK/token.crlf" || true
expect_grep "... naming the byte" "$WORK/err" "not printable \(0x0d\)"
printf ' %s' "$TOKEN" >"$WORK/token.sp"
expect_exit "a leading space: refused (2)" 2 "${TV[@]}" "@$WORK/token.sp" || true
expect_grep "... naming byte 0" "$WORK/err" "token from $WORK/token.sp: byte 0 is not printable \(0x20\)"
printf '%s' "${TOKEN:0:20}" >"$WORK/token.nul"; printf '\0' >>"$WORK/token.nul"
expect_exit "a NUL: refused (2)" 2 "${TV[@]}" --token-file "$WORK/token.nul" || true
expect_grep "... naming the byte" "$WORK/err" "byte 20 is not printable \(0x00\)"
expect_exit "non-printable on stdin: refused (2)" 2 sh -c '"$@" - <"$0"' "$WORK/token.crlf" "${TV[@]}" || true
expect_grep "... naming standard input" "$WORK/err" "token from standard input: byte"
head -c 16385 /dev/zero | tr '\0' A >"$WORK/token.big"
expect_exit "16385 bytes: refused (2)" 2 "${TV[@]}" --token-file "$WORK/token.big" || true
expect_grep "... as too large" "$WORK/err" "larger than 16384 bytes"
head -c 16384 /dev/zero | tr '\0' A >"$WORK/token.max"
expect_exit "16384 bytes: read, then not a valid token (1)" 1 "${TV[@]}" --token-file "$WORK/token.max" || true
: >"$WORK/token.empty"
expect_exit "an empty file: refused (2)" 2 "${TV[@]}" --token-file "$WORK/token.empty" || true
expect_grep "... as empty" "$WORK/err" "token from $WORK/token.empty: empty"
printf '\n' >"$WORK/token.onlynl"
expect_exit "only a newline on stdin: refused (2)" 2 sh -c '"$@" - <"$0"' "$WORK/token.onlynl" "${TV[@]}" || true
expect_grep "... as empty" "$WORK/err" "token from standard input: empty"
expect_exit "a missing file: refused (2)" 2 "${TV[@]}" --token-file "$WORK/no-such-token" || true
expect_grep "... naming it" "$WORK/err" "token file $WORK/no-such-token: No such file"
expect_exit "--token-file and a TOKEN: usage (2)" 2 "${TV[@]}" --token-file "$WORK/token.bare" "$TOKEN" || true
expect_exit "neither: usage (2)" 2 "${TV[@]}" || true
# A tampered token from a file is still checked, not just read.
python3 -c 'import sys; t=open(sys.argv[1]).read().strip(); h,p,s=t.split("."); print(".".join([h,p,s[:-2]+("AA" if s[-2:]!="AA" else "BB")]))' \
    "$WORK/token.bare" >"$WORK/token.bad"
expect_exit "a tampered token file: not valid (1)" 1 "${TV[@]}" --token-file "$WORK/token.bad" || true
expect_grep "... token not valid" "$WORK/err" "token not valid"

summary
