#!/usr/bin/env bash
# One help style for every command and verb of both programs (issue 14,
# item 8), and man pages that name every option the programs' help names.
#
# The commands come from each program's own --help (its usage lines), each
# command's verbs from the command's usage lines, so a new command or verb is
# checked without touching this file. For each: --help exits 0 on stdout,
# starts "usage: PROG CMD [VERB]", a blank line follows the usage lines,
# then a description, a blank line and the options, two spaces in, their
# text at column 24 (an option too long for that alone on its line, its text
# on the next); a wrong option exits 2 with "PROG: CMD: " and the usage lines
# on stderr and nothing on stdout.
#
# HELP_COMMANDS="serve token ..." limits the style checks to those commands
# (of either program); the man page check always covers every option.
# usage: test_help.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: test_help.sh BUILD_DIR}
. "$(dirname "$0")/lib.sh"

echo "integration: --help style and man pages"
MAN=$ROOT/man
: >"$WORK/options"

# style_check PROG WHAT FILE: the help text in FILE, of "PROG WHAT".
style_check() {
    /usr/bin/python3 - "$1 $2" "$3" >"$WORK/style.out" 2>&1 <<'PY'
import re, sys
what, path = sys.argv[1], sys.argv[2]
lines = open(path).read().split("\n")
problems = []
if not lines[0].startswith("usage: " + what):
    problems.append("first line is not 'usage: %s ...': %r" % (what, lines[0]))
i = 1
while i < len(lines) and lines[i].startswith("       "):
    # A form's continuation is indented; the program's name does not lead it.
    if re.match(r"       %s {2,}" % re.escape(what.split()[0]), lines[i]):
        problems.append("a continuation line led by the program's name: %r" % lines[i])
    i += 1
if i >= len(lines) or lines[i] != "":
    problems.append("no blank line after the usage lines")
# An option's argument: a placeholder in capitals (FILE, SEQ|TIME, CLAIM=ANSWER), or the
# words it may be, lower case, "|" between them (lines|json).
ARG = r"(?:[A-Z][A-Z0-9:_|.=-]*|[a-z0-9]+(?:\|[a-z0-9]+)+)"
opts = [n for n, l in enumerate(lines) if re.match(r"  -", l)]
if not opts:
    problems.append("no options at two spaces")
for n in opts:
    l = lines[n]
    if re.fullmatch(r"  -\S+(?: %s)?" % ARG, l):
        # Alone on its line: its text follows at column 24.
        if n + 1 >= len(lines) or not re.match(r" {24}\S", lines[n + 1]):
            problems.append("option alone on its line without text at column 24: %r" % l)
        continue
    m = re.match(r"  (-\S+(?: %s)?)( +)\S" % ARG, l)
    if not m or len("  " + m.group(1) + m.group(2)) != 24:
        problems.append("option text not at column 24: %r" % l)
for n in range(opts[0] if opts else len(lines), len(lines)):
    l = lines[n]
    if l and not re.match(r"  -", l) and not re.match(r" {24}\S", l):
        problems.append("line among the options neither an option nor at column 24: %r" % l)
        break
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
}

# check_one PROG CMD [VERB]: the help and a wrong option of one command or verb.
check_one() {
    local prog=$1 cmd=$2 what="$2${3:+ $3}"
    local run=("$BIN/$prog" $what)
    expect_exit "$prog $what --help: exit 0" 0 "${run[@]}" --help || true
    cp "$WORK/out" "$WORK/help.txt"
    if [ -s "$WORK/err" ]; then bad "... nothing on stderr" "$WORK/err"; fi
    if style_check "$prog" "$what" "$WORK/help.txt"; then ok "... in the style"
    else bad "... in the style" "$WORK/style.out"; fi
    grep -oE '^  --[a-z0-9-]+' "$WORK/help.txt" | sed "s/^  /$prog /" >>"$WORK/options" || true
    expect_exit "$prog $what --no-such-option: usage (2)" 2 "${run[@]}" --no-such-option || true
    expect_grep "... says '$prog: $cmd: ' on stderr" "$WORK/err" "^$prog: $cmd: "
    expect_grep "... with the usage lines" "$WORK/err" "^usage: $prog $what"
    if [ -s "$WORK/out" ]; then bad "... nothing on stdout" "$WORK/out"; else ok "... nothing on stdout"; fi
}

# The words after "PROG " (and after "PROG CMD ") on the usage lines of a
# help text: the commands (the verbs), "a|b" split, options and operands not.
words() { # FILE PREFIX
    sed -nE "s/^(usage: |       )$2 ([a-z][a-z|-]*)( .*)?$/\2/p" "$1" | tr '|' '\n' | awk '!seen[$0]++'
}

wanted() { [ -z "${HELP_COMMANDS:-}" ] || [[ " $HELP_COMMANDS " == *" $1 "* ]]; }

for prog in verifier attest_client; do
    expect_exit "$prog --help: exit 0" 0 "$BIN/$prog" --help || true
    cp "$WORK/out" "$WORK/top.txt"
    if style_check "$prog" "" "$WORK/top.txt"; then ok "... in the style"
    else bad "... in the style" "$WORK/style.out"; fi
    grep -oE '^  --[a-z0-9-]+' "$WORK/top.txt" | sed "s/^  /$prog /" >>"$WORK/options" || true
    mapfile -t CMDS < <(words "$WORK/top.txt" "$prog")
    [ "${#CMDS[@]}" -ge 3 ] && ok "... lists its commands (${CMDS[*]})" ||
        bad "... lists its commands" "$WORK/top.txt"
    expect_exit "$prog no-such-command: usage (2)" 2 "$BIN/$prog" no-such-command || true
    expect_grep "... with the usage lines on stderr" "$WORK/err" "^usage: $prog "
    for cmd in "${CMDS[@]}"; do
        "$BIN/$prog" "$cmd" --help >"$WORK/cmd.txt" 2>/dev/null || true
        grep -oE '^  --[a-z0-9-]+' "$WORK/cmd.txt" | sed "s/^  /$prog /" >>"$WORK/options" || true
        mapfile -t VERBS < <(words "$WORK/cmd.txt" "$prog $cmd")
        for verb in "${VERBS[@]}"; do
            "$BIN/$prog" "$cmd" "$verb" --help 2>/dev/null |
                grep -oE '^  --[a-z0-9-]+' | sed "s/^  /$prog /" >>"$WORK/options" || true
        done
        wanted "$cmd" || continue
        check_one "$prog" "$cmd"
        for verb in "${VERBS[@]}"; do check_one "$prog" "$cmd" "$verb"; done
    done
done

# ---- man pages: they exist, groff finds nothing to warn about, and every
# option the help names is in its program's page ----
for page in verifier.8 attest_client.8 tpm-attest.7; do
    if [ -f "$MAN/$page" ]; then ok "man/$page exists"; else bad "man/$page exists"; continue; fi
    if groff -man -ww -z "$MAN/$page" >"$WORK/groff.out" 2>&1 && [ ! -s "$WORK/groff.out" ]; then
        ok "... groff -man -ww: no warnings"
    else
        bad "... groff -man -ww: no warnings" "$WORK/groff.out"
    fi
done
sort -u "$WORK/options" >"$WORK/options.u"
missing=()
while read -r prog opt; do
    [ -f "$MAN/$prog.8" ] || continue
    # In the page an option is \-\-name (or --name), set in bold or not.
    sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$MAN/$prog.8" >"$WORK/page.txt"
    grep -qE -- "(^|[^a-z0-9-])$opt([^a-z0-9-]|$)" "$WORK/page.txt" || missing+=("$prog $opt")
done <"$WORK/options.u"
if [ "${#missing[@]}" -eq 0 ]; then
    ok "every option of the help ($(wc -l <"$WORK/options.u")) is in the man pages"
else
    printf '%s\n' "${missing[@]}" >"$WORK/missing"
    bad "options in the help but not in the man pages: ${#missing[@]}" "$WORK/missing"
    echo "       missing: ${missing[*]}"
fi

summary
