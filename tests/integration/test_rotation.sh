#!/usr/bin/env bash
# Token key rotation without an outage, with real parts: a serving verifier
# (swtpm, gRPC over loopback, a registry), a relying party that pinned the
# JWKS before `keys rotate`, and docs/examples/policy_engine.py fetching
# from the pinned verifier address. A rotation publishes the next key
# first; it signs only after `keys activate` or its delay; a retired key
# stays published until its last token has expired, then goes; a second
# rotation right after never drops a key whose tokens are still valid.
# usage: test_rotation.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_rotation.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: token key rotation (next, active, retired; a pinned JWKS; re-fetch)"
SCEN=$ROOT/simulator/scenarios
V=(${VGC:-} "$BIN/verifier")    # keys fetch, token verify: clients
C=(${VGC:-} "$BIN/attest_client")
POLICY=$ROOT/docs/examples/policy_engine.py
TTL=20                                  # token lifetime: short, so that keys go
start_swtpm "$WORK/tpm"
"$BIN/tpa-bootsim" --scenario "$SCEN/good.json" --log "$WORK/good.log" --tcti "$TCTI" >/dev/null
mkdir -p "$WORK/ekca"
cp "$WORK/tpm/ca/swtpm-localca-rootca-cert.pem" "$WORK/tpm/ca/issuercert.pem" "$WORK/ekca/"
"$BIN/verifier" baseline learn --eventlog "$WORK/good.log" --name fleet --out "$WORK/fleet.json" >/dev/null
KEY=$WORK/token-keys.json
start_verifier v --insecure --registry "$WORK/registry.db" --ek-ca "$WORK/ekca" \
    --baseline "$WORK/fleet.json" --token-key "$KEY" --token-ttl "$TTL"
VP=$VPID
TARGET=127.0.0.1:$PORT
A=("${C[@]}" attest --verifier "$TARGET" --insecure --tcti "$TCTI" --ak-file "$WORK/ak.bin"
   --eventlog "$WORK/good.log" --auto-enroll)
[ "$(stat -c %a "$KEY")" = 600 ] && ok "the key set is created with mode 0600" || bad "key set mode"

kid_of() { /usr/bin/python3 -c 'import jwt,sys; print(jwt.get_unverified_header(open(sys.argv[1]).read().strip())["kid"])' "$1"; }
kids() { /usr/bin/python3 -c 'import json,sys; print(" ".join(k["kid"] for k in json.load(open(sys.argv[1]))["keys"]))' "$1"; }
state_of() { # KID: its state in keys list --json
    "$BIN/verifier" keys list --token-key "$KEY" --json |
        /usr/bin/python3 -c 'import json,sys; print([k["state"] for k in json.load(sys.stdin)["keys"] if k["kid"]==sys.argv[1]][0])' "$1"
}
sighup() { # N: waits for the verifier's Nth reload
    kill -HUP "$VP"
    for _ in $(seq 1 600); do [ "$(grep -c 'SIGHUP: token key id' "$WORK/v.err")" -ge "$1" ] && return 0; sleep 0.05; done
    bad "SIGHUP $1: no reload said" "$WORK/v.err"
}
in_list() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- a relying party pins the JWKS ----
expect_exit "a first token" 0 "${A[@]}" --token-out "$WORK/t0"
K0=$(kid_of "$WORK/t0")
expect_exit "the relying party fetches the JWKS and pins it" 0 "${V[@]}" keys fetch --verifier "$TARGET" --insecure
cp "$WORK/out" "$WORK/pinned.json"
grep -q '"tpa_refresh_after":"[0-9-]*T[0-9:]*Z"' "$WORK/pinned.json" &&
    ok "... it says when to fetch it again (tpa_refresh_after)" || bad "no tpa_refresh_after" "$WORK/pinned.json"
expect_exit "... and the pinned JWKS accepts the token" 0 /usr/bin/python3 "$POLICY" "$WORK/pinned.json" "$WORK/t0"

# ---- keys rotate + SIGHUP: the next key is published, the old one still signs ----
expect_exit "keys rotate (the default delay)" 0 "$BIN/verifier" keys rotate --token-key "$KEY"
expect_grep "... names the next key and when it signs" "$WORK/out" '^next key [A-Za-z0-9_-]{43} is published; it signs from [0-9-]+T[0-9:]+Z'
K1=$(sed -n 's/^next key \([A-Za-z0-9_-]*\) is published.*/\1/p' "$WORK/out")
[ "$(state_of "$K1")" = next ] && ok "keys list: the new key is next" || bad "keys list: $K1 not next"
sighup 1
expect_grep "SIGHUP: the verifier still signs with the old key" "$WORK/v.err" "SIGHUP: token key id\" kid=$K0"
expect_exit "a token after rotate + SIGHUP" 0 "${A[@]}" --token-out "$WORK/t1"
[ "$(kid_of "$WORK/t1")" = "$K0" ] && ok "... is signed by the old key" ||
    bad "... signed by $(kid_of "$WORK/t1"), not the old key $K0"
expect_exit "... and the JWKS pinned before the rotation accepts it" 0 /usr/bin/python3 "$POLICY" \
    "$WORK/pinned.json" "$WORK/t1"
"${V[@]}" keys fetch --verifier "$TARGET" --insecure >"$WORK/fresh1.json"
in_list "$K1" "$(kids "$WORK/fresh1.json")" && in_list "$K0" "$(kids "$WORK/fresh1.json")" &&
    ok "a fresh fetch already holds the next key (and the active one)" ||
    bad "fresh JWKS after rotate: $(kids "$WORK/fresh1.json")"
expect_exit "keys jwks prints what the verifier publishes" 0 "$BIN/verifier" keys jwks --token-key "$KEY"
[ "$(kids "$WORK/out")" = "$(kids "$WORK/fresh1.json")" ] && ok "... the same keys" ||
    bad "keys jwks: $(kids "$WORK/out"), GetVerificationKeys: $(kids "$WORK/fresh1.json")"
expect_exit "a second keys rotate with a next key pending is refused (1)" 1 "$BIN/verifier" keys rotate \
    --token-key "$KEY" || true
expect_grep "... naming the pending key and --replace-next" "$WORK/err" "key $K1 is next already .*--replace-next"

# ---- keys activate: new tokens are signed by the new key ----
expect_exit "keys activate" 0 "$BIN/verifier" keys activate --token-key "$KEY" -- "$K1"
expect_grep "... says the old key stays published, and until when" "$WORK/out" "^retired key $K0 stays published until [0-9-]+T[0-9:]+Z"
sighup 2
expect_grep "SIGHUP: the verifier takes the new key" "$WORK/v.err" "SIGHUP: token key id\" kid=$K1 previous=$K0\$"
"${V[@]}" keys fetch --verifier "$TARGET" --insecure >"$WORK/fresh2.json"
in_list "$K0" "$(kids "$WORK/fresh2.json")" && ok "the retired key is still published" ||
    bad "retired key gone at once: $(kids "$WORK/fresh2.json")"
expect_exit "... and its token still checks with a fresh JWKS" 0 "${V[@]}" token verify \
    --jwks "$WORK/fresh2.json" "$(cat "$WORK/t1")"
expect_exit "a token after keys activate" 0 "${A[@]}" --token-out "$WORK/t2"
[ "$(kid_of "$WORK/t2")" = "$K1" ] && ok "... is signed by the new key" ||
    bad "... signed by $(kid_of "$WORK/t2"), not $K1"
expect_exit "the pinned JWKS refuses it (1)" 1 /usr/bin/python3 "$POLICY" "$WORK/pinned.json" "$WORK/t2" || true
expect_grep "... as an unknown kid" "$WORK/out" "^deny: no key '$K1' in the verifier's JWKS$"
# The cache's tpa_refresh_after is set here, so that the hour's turn cannot
# change what is tested.
refresh_at() { # IN OUT ISO
    /usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["tpa_refresh_after"]=sys.argv[3]; open(sys.argv[2],"w").write(json.dumps(j))' "$@"
}
refresh_at "$WORK/pinned.json" "$WORK/cache.json" 2999-01-01T00:00:00Z
expect_exit "policy_engine --verifier: a cache fetched just now is not fetched again (1)" 1 \
    /usr/bin/python3 "$POLICY" --verifier "$TARGET" --insecure "$WORK/cache.json" "$WORK/t2" || true
expect_grep "... it says so (rate limit)" "$WORK/out" "^deny: no key '$K1' .*at most once per 60 s"
expect_exit "policy_engine --verifier re-fetches on the unknown kid and grants" 0 \
    /usr/bin/python3 "$POLICY" --verifier "$TARGET" --insecure --min-refetch 0 "$WORK/cache.json" "$WORK/t2"
expect_grep "... from the pinned verifier" "$WORK/out" "^grant: device .*fetched again from $TARGET"
in_list "$K1" "$(kids "$WORK/cache.json")" && ok "... and keeps the new JWKS in its cache" ||
    bad "cache after re-fetch: $(kids "$WORK/cache.json")"
refresh_at "$WORK/cache.json" "$WORK/cache.json" 2999-01-01T00:00:00Z
expect_exit "... the cache then serves without a fetch (an unreachable address)" 0 /usr/bin/python3 \
    "$POLICY" --verifier 127.0.0.1:1 --insecure "$WORK/cache.json" "$WORK/t2"
refresh_at "$WORK/pinned.json" "$WORK/cache2.json" 2000-01-01T00:00:00Z
expect_exit "a cache past its tpa_refresh_after is fetched again, rate limit or not" 0 \
    /usr/bin/python3 "$POLICY" --verifier "$TARGET" --insecure "$WORK/cache2.json" "$WORK/t2"
expect_exit "policy_engine --verifier with an unreachable verifier and no cache (2)" 2 \
    /usr/bin/python3 "$POLICY" --verifier 127.0.0.1:1 --insecure "$WORK/nocache.json" "$WORK/t2" || true
expect_grep "... denies, saying why" "$WORK/out" '^deny: no JWKS from 127.0.0.1:1'
# A token naming a made-up kid and a key URL (jku, x5u): the engine asks the
# pinned verifier once, never the URL.
/usr/bin/python3 - "$WORK/lure" >"$WORK/lure.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(5)
open(sys.argv[1] + ".port", "w").write(str(s.getsockname()[1]))
s.settimeout(30)
try:
    s.accept()
    open(sys.argv[1] + ".called", "w").write("called")
except socket.timeout:
    pass
PY
LURE=$!
for _ in $(seq 1 100); do [ -s "$WORK/lure.port" ] && break; sleep 0.05; done
/usr/bin/python3 - "$WORK/t2" "http://127.0.0.1:$(cat "$WORK/lure.port")/jwks.json" >"$WORK/t-jku" <<'PY'
import base64, json, sys
h, p, s = open(sys.argv[1]).read().strip().split(".")
hdr = {"alg": "ES256", "kid": "made-up-kid", "jku": sys.argv[2], "x5u": sys.argv[2]}
print(base64.urlsafe_b64encode(json.dumps(hdr).encode()).rstrip(b"=").decode() + "." + p + "." + s)
PY
refresh_at "$WORK/cache.json" "$WORK/cache.json" 2999-01-01T00:00:00Z
touch -d '-2 minutes' "$WORK/cache.json"
expect_exit "a token with a made-up kid and a jku is denied (1)" 1 /usr/bin/python3 "$POLICY" \
    --verifier "$TARGET" --insecure "$WORK/cache.json" "$WORK/t-jku" || true
expect_grep "... after one fetch from the pinned verifier" "$WORK/out" "^deny: no key 'made-up-kid' .*fetched again from $TARGET"
[ "$(( $(date +%s) - $(stat -c %Y "$WORK/cache.json") ))" -lt 60 ] && ok "... whose answer is cached" ||
    bad "the cache was not refreshed"
kill "$LURE" 2>/dev/null || true
wait "$LURE" 2>/dev/null || true
[ ! -e "$WORK/lure.called" ] && ok "... and the URL in the token is never fetched" ||
    bad "policy_engine.py connected to the token's jku"

# ---- a second rotation right after: nothing whose tokens are valid goes ----
expect_exit "keys rotate right after the activation" 0 "$BIN/verifier" keys rotate --token-key "$KEY"
expect_grep "... keeps the retired key, saying until when" "$WORK/out" "^retired key $K0 stays published until "
K2=$(sed -n 's/^next key \([A-Za-z0-9_-]*\) is published.*/\1/p' "$WORK/out")
L=$("$BIN/verifier" keys jwks --token-key "$KEY" >"$WORK/j3.json" && kids "$WORK/j3.json")
in_list "$K0" "$L" && in_list "$K1" "$L" && in_list "$K2" "$L" &&
    ok "... all three keys are published (retired, active, next)" || bad "after a second rotation: $L"

# ---- the delay passing: the next key signs at its time, without a SIGHUP ----
# Long enough for the SIGHUP to be taken first, under valgrind too.
DELAY=${VALGRIND:+15s}
DELAY=${DELAY:-4s}
expect_exit "keys rotate --replace-next --activate-after $DELAY" 0 "$BIN/verifier" keys rotate \
    --token-key "$KEY" --replace-next --activate-after "$DELAY"
expect_grep "... warns that relying parties may not hold it yet" "$WORK/out" '^warning: relying parties re-fetch'
K3=$(sed -n 's/^next key \([A-Za-z0-9_-]*\) is published.*/\1/p' "$WORK/out")
L=$("$BIN/verifier" keys jwks --token-key "$KEY" >"$WORK/j4.json" && kids "$WORK/j4.json")
! in_list "$K2" "$L" && in_list "$K3" "$L" && ok "... the replaced next key is no longer published" ||
    bad "after --replace-next: $L"
sighup 3
for _ in $(seq 1 600); do grep -q "token key signs from now .* kid=$K3" "$WORK/v.err" && break; sleep 0.05; done
expect_grep "the verifier says the next key signs at its time (no SIGHUP)" "$WORK/v.err" "level=notice msg=\"token key signs from now .* kid=$K3\$"
expect_exit "a token after the delay" 0 "${A[@]}" --token-out "$WORK/t3"
[ "$(kid_of "$WORK/t3")" = "$K3" ] && ok "... is signed by the key whose time came" ||
    bad "... signed by $(kid_of "$WORK/t3"), not $K3"
[ "$(state_of "$K1")" = retired ] && ok "keys list: the key it replaced is retired" || bad "keys list: $K1 not retired"

# ---- the retired key goes once its last token has expired ----
UNTIL=$("$BIN/verifier" keys list --token-key "$KEY" --json | /usr/bin/python3 -c \
    'import json,sys; print([k["published_until"] for k in json.load(sys.stdin)["keys"] if k["kid"]==sys.argv[1]][0])' "$K0")
EXP1=$(/usr/bin/python3 -c 'import jwt,sys; print(jwt.decode(open(sys.argv[1]).read().strip(), options={"verify_signature": False})["exp"])' "$WORK/t1")
[ "$(date -d "$UNTIL" +%s)" -ge $((EXP1 + 60)) ] &&
    ok "the retired key is published until its last token's exp + the clock skew" ||
    bad "published until $UNTIL, its token expires $EXP1"
for _ in $(seq 1 1200); do
    in_list "$K0" "$("${V[@]}" keys fetch --verifier "$TARGET" --insecure >"$WORK/j5.json" && kids "$WORK/j5.json")" || break
    sleep 0.1
done
GONE=$(date +%s)
! in_list "$K0" "$(kids "$WORK/j5.json")" && ok "the serving verifier drops it from the JWKS (no SIGHUP)" ||
    bad "still published: $(kids "$WORK/j5.json")"
[ "$GONE" -ge "$(date -d "$UNTIL" +%s)" ] && ok "... not before its time" || bad "dropped at $GONE, before $UNTIL"
in_list "$K1" "$(kids "$WORK/j5.json")" && in_list "$K3" "$(kids "$WORK/j5.json")" &&
    ok "... and keeps the keys whose tokens may be valid" || bad "after the drop: $(kids "$WORK/j5.json")"
expect_exit "keys rotate then writes the set without it" 0 "$BIN/verifier" keys rotate --token-key "$KEY"
! grep -q "$K0" "$KEY" && ok "... the key is gone from the file" || bad "$K0 still in the key set"
[ "$(stat -c %a "$KEY")" = 600 ] && ok "... which stays mode 0600" || bad "key set mode after rotate"

# ---- refusals ----
chmod 644 "$KEY"
expect_exit "serve with a --token-ttl above the key set's is refused (2)" 2 ${VALGRIND:-} "$BIN/verifier" serve \
    --listen 127.0.0.1:0 --insecure --token-key "$KEY" --token-ttl 7200 || true
expect_grep "... naming both and the fix" "$WORK/err" "--token-ttl 7200 is above the token TTL of the key set .*\($TTL s\).*keys rotate --token-ttl 7200"
expect_grep "... and a key set open to others is warned about" "$WORK/err" "warning: the token key set .* is open to others \(mode 644\)"
chmod 600 "$KEY"
# Two writers at once would lose a key: the second waits for the first.
flock "$KEY.lock" -c "touch '$WORK/locked'; sleep 4" &
LOCKER=$!
for _ in $(seq 1 100); do [ -e "$WORK/locked" ] && break; sleep 0.05; done
expect_exit "keys rotate waits while another holds the key set's lock" 124 timeout 2 "$BIN/verifier" \
    keys rotate --token-key "$KEY" --replace-next || true
wait "$LOCKER"
expect_exit "... and goes on once it is free" 0 "$BIN/verifier" keys rotate --token-key "$KEY" --replace-next
expect_exit "keys activate (the next key of the last rotate)" 0 "$BIN/verifier" keys activate --token-key "$KEY"
expect_exit "keys activate with no next key is refused (1)" 1 "$BIN/verifier" keys activate --token-key "$KEY" || true
expect_grep "... saying so" "$WORK/err" 'no next key'
expect_exit "keys rotate --activate-after 5x is a usage error (2)" 2 "$BIN/verifier" keys rotate \
    --token-key "$KEY" --activate-after 5x || true
expect_grep "... naming the option" "$WORK/err" "^verifier: keys: --activate-after: not a duration"
expect_grep "... with rotate's usage" "$WORK/err" "^usage: verifier keys rotate --token-key FILE"
expect_exit "keys list of a missing file (2)" 2 "$BIN/verifier" keys list --token-key "$WORK/none.json" || true
printf '{"tpa_token_keys": 1, "token_ttl_s": 60, "keys": []}\n' >"$WORK/empty.json"
expect_exit "a key set without keys is refused (2)" 2 "$BIN/verifier" keys list --token-key "$WORK/empty.json" || true
expect_grep "... naming what is wrong" "$WORK/err" 'keys is not an array of 1\.\.8 keys'
expect_exit "keys --help (0)" 0 "$BIN/verifier" keys rotate --help
expect_grep "... documents --activate-after" "$WORK/out" '^  --activate-after DURATION'
summary
