#!/usr/bin/env bash
# The verifier's log, as an operator ships it: a real verifier serving a
# swtpm-enrolled device that attests with the real client. Text: every line
# has a time and a level, and a device hint built to forge a field and a
# line stays one value; JSON (--log-format, and log_format = in the
# configuration file): every line one object with time, level and msg, the
# attest line with its device; under systemd (JOURNAL_STREAM naming the
# log's file) the <N> priority prefix and no time; a bad format refused.
# usage: test_logs.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_logs.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: the verifier's log (text, json, journal)"
C=(${VGC:-} "$BIN/attest_client")
PY=/usr/bin/python3
# A hint that would, printed raw, end the line and add a level and a field.
HOSTILE=$'it-logs" level=err forged=1\nlevel=err msg="forged'

# attest LOG: one attestation with the hostile hint, then waits for the
# verifier's line about it in LOG (it is written before the reply; this is
# for valgrind's slowness).
attest() {
    expect_exit "an attest ($(basename "$1"))" 0 "${C[@]}" attest --verifier "$TARGET" --ca "$CA" \
        --tcti "$TCTI" --ak-file "$WORK/ak.bin" --device-hint "$HOSTILE" || true
    for _ in $(seq 1 500); do grep -q 'attest compliant' "$1" && break; sleep 0.02; done
}

# restart NAME ARGS...: the verifier v stopped, NAME started on the same
# registry and token key set.
restart() {
    local name=$1
    shift
    kill -TERM "$VPID"
    wait "$VPID" || bad "verifier ${VERIFIER_NAME[$VPID]}: exit $? on SIGTERM" \
        "$WORK/${VERIFIER_NAME[$VPID]}.err"
    start_verifier "$name" --cert "$WORK/certs/server.pem" --key "$WORK/certs/server.key" \
        --registry "$DB" --ek-ca "$WORK/ekca" --token-key "$KEY" \
        --baseline "$ROOT/tests/data/baselines/evidence-only.json" "$@"
    TARGET=127.0.0.1:$PORT
}

# ---- text (the default) ----
serve_one_device
restart t
attest "$WORK/t.err"
$PY - "$WORK/t.err" "$HOSTILE" <<'PY' | checker_lines
import re, sys
lines = open(sys.argv[1], encoding="ascii").read().split("\n")
assert lines.pop() == "", "the log ends with a newline"
hostile = sys.argv[2]
pair = re.compile(r'([a-z0-9_]+)=("(?:[^"\\]|\\.)*"|[^ "=\\]+)(?: |$)')

def fields(line):
    """logfmt pairs; None if the line is not made only of them."""
    out, pos = [], 0
    while pos < len(line):
        m = pair.match(line, pos)
        if not m:
            return None
        v = m.group(2)
        if v.startswith('"'):
            v = re.sub(r'\\(x[0-9a-f]{2}|.)', lambda e: {"n": "\n", "r": "\r", "t": "\t"}.get(
                e.group(1), chr(int(e.group(1)[1:], 16)) if e.group(1)[0] == "x" and len(e.group(1)) == 3
                else e.group(1)), v[1:-1])
        out.append((m.group(1), v))
        pos = m.end()
    return out

ts = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
levels = {"err", "warning", "notice", "info", "debug"}
bad = [l for l in lines if not (fields(l) and [k for k, _ in fields(l)[:3]] == ["time", "level", "msg"]
                                and ts.match(fields(l)[0][1]) and fields(l)[1][1] in levels)]
print(("bad\t" if bad or not lines else "ok\t") +
      "text: each of the %d lines is logfmt: time (ISO, ms, Z), level, msg first" % len(lines))
for l in bad[:5]:
    print("|\t" + l)
att = [dict(fields(l)) for l in lines if fields(l) and dict(fields(l)).get("msg") == "attest compliant"]
print(("ok\t" if len(att) == 1 else "bad\t") + "text: one attest line")
a = att[0] if att else {}
print(("ok\t" if a.get("level") == "info" and re.fullmatch("[0-9a-f]{16}", a.get("device", "")) and
       re.fullmatch("[0-9a-f]{16}", a.get("ak", "")) and a.get("outcome") == "compliant" else "bad\t") +
      "... info, with device, ak and outcome fields")
print(("ok\t" if a.get("device_hint") == hostile else "bad\t") +
      "... the hostile device hint read back whole as the device_hint value")
forged = [l for l in lines if "forged" in l and not l.startswith("time=")] + \
         [l for l in lines if fields(l) and "forged" in dict(fields(l))]
print(("bad\t" if forged else "ok\t") + "... it started no line and made no field of its own")
for l in forged[:3]:
    print("|\t" + l)
PY
expect_grep "text: serving said at notice, with the port" "$WORK/t.err" \
    '^time=[^ ]+ level=notice msg=serving version=[^ ]+ port=[0-9]+ transport=tls log_format=text$'

# ---- json, from the configuration file; a SIGHUP said too ----
printf 'log_format = json\n' >"$WORK/v.conf"
restart j --config "$WORK/v.conf"
attest "$WORK/j.err"
kill -HUP "$VPID"
for _ in $(seq 1 500); do grep -q 'SIGHUP: reloaded' "$WORK/j.err" && break; sleep 0.02; done
$PY - "$WORK/j.err" "$HOSTILE" <<'PY' | checker_lines
import json, re, sys
lines = open(sys.argv[1], encoding="ascii").read().split("\n")
assert lines.pop() == "", "the log ends with a newline"
objs, bad = [], []
for l in lines:
    try:
        o = json.loads(l)
        assert list(o)[:3] == ["time", "level", "msg"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["time"])
        assert o["level"] in ("err", "warning", "notice", "info", "debug")
        objs.append(o)
    except Exception:
        bad.append(l)
print(("bad\t" if bad or not lines else "ok\t") +
      "json: each of the %d lines one object with time, level and msg first" % len(lines))
for l in bad[:5]:
    print("|\t" + l)
att = [o for o in objs if o["msg"] == "attest compliant"]
print(("ok\t" if len(att) == 1 and re.fullmatch("[0-9a-f]{16}", att[0].get("device", "")) else "bad\t") +
      "json: the attest line has the device field")
print(("ok\t" if att and att[0].get("device_hint") == sys.argv[2] and "forged" not in att[0] else "bad\t") +
      "... and the hostile hint as its device_hint, nothing forged")
hup = [o for o in objs if o["msg"].startswith("SIGHUP: reloaded")]
print(("ok\t" if hup and hup[0]["level"] == "notice" else "bad\t") + "json: SIGHUP: reloaded, at notice")
PY

# ---- the journal: JOURNAL_STREAM names the log file, as systemd does ----
: >"$WORK/js.err"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/js.err")
export JOURNAL_STREAM
restart js
unset JOURNAL_STREAM
attest "$WORK/js.err"
kill -HUP "$VPID"
for _ in $(seq 1 500); do grep -q 'SIGHUP: reloaded' "$WORK/js.err" && break; sleep 0.02; done
# (start_verifier's 2> truncates the file JOURNAL_STREAM names: same inode.)
if grep -vqE '^<[3-7]>level=(err|warning|notice|info|debug) msg=' "$WORK/js.err"; then
    bad "journal: every line starts <N>level=... msg=" "$WORK/js.err"
else ok "journal: every line starts <N>level=... msg="; fi
grep -q 'time=' "$WORK/js.err" && bad "journal: no time field (the journal stamps it)" "$WORK/js.err" ||
    ok "journal: no time field (the journal stamps it)"
expect_grep "journal: the attest at <6> (info)" "$WORK/js.err" '^<6>level=info msg="attest compliant" device=[0-9a-f]{16} '
expect_grep "journal: SIGHUP: reloaded at <5> (notice)" "$WORK/js.err" '^<5>level=notice msg="SIGHUP: reloaded: '
# Another file's dev:ino: plain lines, stamped.
: >"$WORK/other"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/other")
export JOURNAL_STREAM
restart nj --log-format text
unset JOURNAL_STREAM
# "listening on" (stdout) comes before the log's "serving" line (stderr).
for _ in $(seq 400); do grep -q 'msg=serving' "$WORK/nj.err" && break; sleep 0.05; done
expect_grep "JOURNAL_STREAM of another file: lines keep their time, no prefix" "$WORK/nj.err" \
    '^time=[^ ]+ level=notice msg=serving '

# ---- a bad format: refused, named ----
expect_exit "--log-format xml: refused (2)" 2 "$BIN/verifier" serve --listen 127.0.0.1:0 --insecure \
    --log-format xml || true
expect_grep "... naming it" "$WORK/err" "^verifier: --log-format: log format 'xml': expected text or json$"
printf 'log_format = JSON\n' >"$WORK/bad.conf"
expect_exit "log_format = JSON in the configuration: refused (2)" 2 "$BIN/verifier" serve \
    --config "$WORK/bad.conf" --listen 127.0.0.1:0 --insecure || true
expect_grep "... naming the file and line" "$WORK/err" "bad.conf:1: .*log format 'JSON': expected text or json"

summary
