#!/usr/bin/python3
"""Checks for test_eventlog_corpus.sh (standard library only).

  eventlog_corpus.py list EXPECTED_JSON
      one line per log: FILE <tab> EXPECT (accept, reject or no-crash)
  eventlog_corpus.py check EXPECTED_JSON DATA_DIR RESULTS_DIR
      RESULTS_DIR/<n>.{rc,out,err} hold `eventlog show --json` of the n-th log
      (0-based, the order of `list`), <n>.t2rc and <n>.t2out the live
      tpm2_eventlog run (absent if tpm2_eventlog is missing). Prints, per check,
      "ok<TAB>NAME" or "bad<TAB>NAME" followed by "|<TAB>EVIDENCE" lines, and
      "note<TAB>TEXT" lines for information.
"""
import json
import os
import re
import sys

HEX = re.compile(r"^[0-9a-f]+$")


def load_json(path):
    with open(path) as f:
        return json.load(f)


def read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except FileNotFoundError:
        return None


def yaml_pcrs(text):
    """The pcrs: section of tpm2_eventlog output: {bank: {"idx": "hex"}}. The
    values are read as text (YAML 1.1 would turn 0x... into integers)."""
    out, bank, inside = {}, None, False
    for line in text.splitlines():
        if line.startswith("pcrs:"):
            inside = True
            continue
        if not inside:
            continue
        if line.strip() and not line.startswith(" "):
            inside = False
            continue
        m = re.match(r"^  ([A-Za-z0-9_]+):\s*$", line)
        if m:
            bank = m.group(1).lower()
            out.setdefault(bank, {})
            continue
        m = re.match(r"^    (\d+)\s*:\s*(?:0x)?([0-9a-fA-F]+)\s*$", line)
        if m and bank is not None:
            out[bank][str(int(m.group(1)))] = m.group(2).lower()
    return out


def reset_value(idx, nbytes):
    return ("ff" if 17 <= int(idx) <= 22 else "00") * nbytes


class Checks:
    def __init__(self):
        self.lines = []

    def ok(self, name):
        self.lines.append(f"ok\t{name}")

    def bad(self, name, evidence=()):
        self.lines.append(f"bad\t{name}")
        ev = list(evidence)
        for e in ev[:12]:
            self.lines.append(f"|\t{e}")
        if len(ev) > 12:
            self.lines.append(f"|\t... and {len(ev) - 12} more")

    def note(self, text):
        self.lines.append(f"note\t{text}")

    def result(self, name, evidence):
        if evidence:
            self.bad(name, evidence)
        else:
            self.ok(name)


def our_value(js, bank, idx, nbytes):
    """Our replayed value; a PCR without events has its reset value."""
    v = js.get("pcrs", {}).get(bank, {}).get(idx)
    return v if v is not None else reset_value(idx, nbytes)


def compare_values(js, want, exclude=None, label="paired"):
    """want: {bank: {idx: hex}}. Returns (compared, evidence)."""
    exclude = exclude or {}
    n, ev = 0, []
    banks = js.get("banks", [])
    for bank, vals in want.items():
        for idx, hexv in sorted(vals.items(), key=lambda kv: int(kv[0])):
            if idx in exclude.get(bank, {}):
                continue
            n += 1
            if bank not in banks:
                ev.append(f"{bank}:{idx}: bank not in the log's banks {banks}")
                continue
            if bank not in js.get("pcrs", {}) and js.get("events"):
                ev.append(f"{bank}:{idx}: bank {bank} not replayed (no pcrs.{bank}), {label} {hexv.lower()}")
                continue
            got = our_value(js, bank, idx, len(hexv) // 2)
            if got != hexv.lower():
                ev.append(f"{bank}:{idx}: ours {got} != {label} {hexv.lower()}")
    return n, ev


def check_tool(c, name, js, tool_pcrs, allowed):
    n, nallowed, ev = 0, 0, []
    for bank, vals in tool_pcrs.items():
        for idx, hexv in sorted(vals.items(), key=lambda kv: int(kv[0])):
            got = js.get("pcrs", {}).get(bank, {}).get(idx)
            if idx in allowed.get(bank, {}):
                nallowed += 1
                continue
            n += 1
            if got is None:
                ev.append(f"{bank}:{idx}: missing in ours, tpm2_eventlog {hexv}")
            elif got != hexv:
                ev.append(f"{bank}:{idx}: ours {got} != tpm2_eventlog {hexv}")
    if n == 0 and nallowed == 0:
        return None
    c.result(f"{name} ({n} values, {nallowed} allowed differences)", ev)
    return True


def check_log(c, i, e, data_dir, res):
    f = e["file"]
    path = os.path.join(data_dir, f)
    rc_text = read(os.path.join(res, f"{i}.rc"))
    rc = int(rc_text.strip()) if rc_text and rc_text.strip().lstrip("-").isdigit() else None
    out = read(os.path.join(res, f"{i}.out")) or ""
    err = read(os.path.join(res, f"{i}.err")) or ""
    err_lines = err.rstrip("\n").split("\n") if err.strip() else []
    err_ev = [f"stderr: {l}" for l in err_lines[:3]]
    why = {124: " (timeout)", 137: " (killed)", 134: " (abort)", 139: " (SIGSEGV)"}.get(rc, "")
    expect = e["expect"]

    js = None
    if rc == 0:
        try:
            js = json.loads(out)
            if not isinstance(js, dict):
                js = None
        except ValueError:
            js = None

    # a. exit status
    if expect == "accept":
        name = f"{f}: parses (exit 0, JSON on stdout)"
        if rc != 0:
            c.bad(name, [f"exit {rc}{why}"] + err_ev)
            return
        if js is None:
            c.bad(name, ["stdout is not a JSON object", f"stdout starts: {out[:120]!r}"])
            return
        c.ok(name)
    elif expect == "reject":
        name = f"{f}: rejected (exit 2, one-line error naming the offset)"
        ev = []
        if rc != 2:
            ev.append(f"exit {rc}{why}, expected 2")
        elif len(err_lines) != 1:
            ev.append(f"{len(err_lines)} lines on stderr, expected 1")
        elif "offset" not in err_lines[0]:
            ev.append("the error does not contain the word 'offset'")
        c.result(name, ev + (err_ev if ev else []))
        return
    else:  # no-crash
        name = f"{f}: no crash (exit 0 with JSON, or 2 with a one-line error)"
        ev = []
        if rc == 0:
            if js is None:
                ev.append("exit 0 but stdout is not a JSON object")
            else:
                c.note(f"{f}: accepted (format {js.get('format')}, banks {js.get('banks')})")
        elif rc == 2:
            if len(err_lines) != 1:
                ev.append(f"exit 2 with {len(err_lines)} lines on stderr, expected 1")
            else:
                c.note(f"{f}: rejected: {err_lines[0]}")
        else:
            ev.append(f"exit {rc}{why}")
        c.result(name, ev + (err_ev if ev else []))
        return

    # b. format, banks, events; Secure Boot
    ev = []
    if js.get("format") != e["format"]:
        ev.append(f"format {js.get('format')!r}, expected {e['format']!r}")
    if js.get("banks") != e["banks"]:
        ev.append(f"banks {js.get('banks')!r}, expected {e['banks']!r}")
    events = js.get("events")
    if not isinstance(events, list):
        ev.append("no events list")
    else:
        if len(events) != e["events"]:
            ev.append(f"{len(events)} events, expected {e['events']}")
        last = -1
        for k, x in enumerate(events):
            if not isinstance(x, dict) or x.get("number") != k:
                ev.append(f"event {k}: number {x.get('number') if isinstance(x, dict) else x!r}")
                break
            off = x.get("offset")
            if not isinstance(off, int) or off <= last or (k == 0 and off != 0):
                ev.append(f"event {k}: offset {off!r} (previous {last})")
                break
            last = off
    pcrs = js.get("pcrs")
    if not isinstance(pcrs, dict):
        ev.append("no pcrs object")
    else:
        for bank, vals in pcrs.items():
            for idx, v in (vals.items() if isinstance(vals, dict) else []):
                if not (idx.isdigit() and str(int(idx)) == idx and isinstance(v, str) and HEX.match(v)):
                    ev.append(f"pcrs.{bank}.{idx} = {v!r}: key not decimal or value not lower-case hex")
                    break
    c.result(f"{f}: format {e['format']}, banks {','.join(e['banks'])}, {e['events']} events", ev)
    sb = js.get("secure_boot")
    c.result(f"{f}: secure_boot {e['secure_boot']}",
             [] if sb == e["secure_boot"] else [f"secure_boot {sb!r}, expected {e['secure_boot']!r}"])

    # c. paired (and documented) PCR values
    want_sources = []
    if e.get("paired_pcrs"):
        paired = load_json(os.path.join(os.path.dirname(path), e["paired_pcrs"]))["pcrs"]
        n, ev1 = compare_values(js, paired, e.get("excluded_pcrs", {}), "paired")
        nex = sum(len(v) for v in e.get("excluded_pcrs", {}).values())
        want_sources.append((f"{n} paired, {nex} excluded", ev1))
    if e.get("documented_pcrs"):
        n, ev2 = compare_values(js, e["documented_pcrs"], None, "SOURCES.md")
        want_sources.append((f"{n} documented", ev2))
    if want_sources:
        c.result(f"{f}: PCR values equal the replay ({'; '.join(s for s, _ in want_sources)})",
                 [x for _, evs in want_sources for x in evs])

    # d. tpm2_eventlog agreement: saved 5.4 YAML, then a live run
    allowed = e.get("tpm2_eventlog_allowed_diffs", {})
    if e.get("tpm2_eventlog_yaml"):
        y = read(os.path.join(os.path.dirname(path), e["tpm2_eventlog_yaml"]))
        check_tool(c, f"{f}: pcrs agree with saved tpm2_eventlog 5.4 YAML", js, yaml_pcrs(y), allowed)
    t2rc = read(os.path.join(res, f"{i}.t2rc"))
    if t2rc is not None:
        t2rc = t2rc.strip()
        if t2rc != "0":
            c.note(f"{f}: live tpm2_eventlog exit {t2rc}: not compared")
        else:
            t2 = read(os.path.join(res, f"{i}.t2out")) or ""
            if check_tool(c, f"{f}: pcrs agree with live tpm2_eventlog", js, yaml_pcrs(t2), allowed) is None:
                c.note(f"{f}: live tpm2_eventlog lists no PCR values: nothing to compare")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "list":
        for e in load_json(sys.argv[2])["logs"]:
            print(f"{e['file']}\t{e['expect']}")
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "check":
        exp, data_dir, res = sys.argv[2:5]
        c = Checks()
        for i, e in enumerate(load_json(exp)["logs"]):
            try:
                check_log(c, i, e, data_dir, res)
            except Exception as x:  # a bug here must show up as a failure
                c.bad(f"{e['file']}: checker error", [repr(x)])
        print("\n".join(c.lines))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
