#!/usr/bin/python3
"""Checks the boot simulator's scenarios against the "expect" each file
states (simulator/scenarios/README.md), for test_measured_boot.sh and
test_baselines.sh (standard library only).

  scenarios.py list SCEN_DIR
      one line per scenario, sorted: NAME <tab> efi-on|efi-off (its Secure
      Boot, for the client's efivars) <tab> evidence-ok|evidence-fails (no
      evidence check is expected to fail, so the log alone decides)
  scenarios.py attested SCEN_FILE OUT RC SHOW GOOD_SHOW
      OUT and RC: attest_client's output and exit status for the scenario's
      boot; SHOW and GOOD_SHOW: `verifier eventlog show --json` of its log and
      of good.json's (SHOW may be empty: a log that does not parse); the
      client's stderr, OUT with .err for .out, is shown if its exit is wrong
  scenarios.py appraised SCEN_FILE JSON
      JSON: `verifier baseline appraise --json` of the scenario's log
Prints, per check, "ok<TAB>NAME" or "bad<TAB>NAME" followed by
"|<TAB>EVIDENCE" lines. Outcomes and rules are compared by name, never by
exit status.
"""
import json
import os
import re
import sys

EXPECT_KEYS = {"outcome", "failed", "checks_failed", "pcrs", "verdict", "state"}
OUTCOMES = {"compliant", "warning", "non-compliant", "not-appraised", "no-baseline"}


def load(path):
    with open(path) as f:
        return json.load(f)


def expectation(path):
    """The scenario's "expect", checked as strictly as tpa-bootsim checks
    the rest of the file: a misspelt key must not pass silently."""
    name = os.path.basename(path)[:-len(".json")]
    e = load(path).get("expect")
    if not isinstance(e, dict):
        raise ValueError(f"{name}: no \"expect\" object")
    unknown = set(e) - EXPECT_KEYS
    if unknown:
        raise ValueError(f"{name}: expect: unknown key(s) {sorted(unknown)}")
    if e.get("outcome") not in OUTCOMES:
        raise ValueError(f"{name}: expect.outcome: one of {sorted(OUTCOMES)}")
    for k in ("failed", "checks_failed", "verdict"):
        v = e.get(k, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ValueError(f"{name}: expect.{k}: a list of strings")
    if "failed" not in e:
        raise ValueError(f"{name}: expect.failed: required (the failing rules, [] for none)")
    return name, e


class Checks:
    def __init__(self, name):
        self.name = name
        self.lines = []

    def same(self, what, got, want, evidence=()):
        if got == want:
            self.lines.append(f"ok\t{self.name}: {what} {json.dumps(want)}")
        else:
            self.lines.append(f"bad\t{self.name}: {what} {json.dumps(got)}, "
                              f"expected {json.dumps(want)}")
            for e in list(evidence)[:20]:
                self.lines.append(f"|\t{e}")

    def grep(self, pattern, lines):
        if any(re.search(pattern, ln) for ln in lines):
            self.lines.append(f"ok\t{self.name}: the verdict says /{pattern}/")
        else:
            self.lines.append(f"bad\t{self.name}: the verdict does not say /{pattern}/")
            for e in lines[:20]:
                self.lines.append(f"|\t{e}")


def state_value(state, path):
    v = state
    for part in path.split("."):
        if not isinstance(v, dict) or part not in v:
            return "(absent)"
        v = v[part]
    return v


def changed_pcrs(show, good):
    """The sha256 PCRs the log replays to another value than good.json's."""
    a = show.get("pcrs", {}).get("sha256", {})
    b = good.get("pcrs", {}).get("sha256", {})
    return sorted(int(i) for i, v in a.items() if b.get(i) != v)


def cmd_list(scen_dir):
    for f in sorted(os.listdir(scen_dir)):
        if not f.endswith(".json"):
            continue
        path = os.path.join(scen_dir, f)
        name, e = expectation(path)
        sb = "efi-on" if load(path).get("secure_boot") else "efi-off"
        ev = "evidence-fails" if e.get("checks_failed") else "evidence-ok"
        print(f"{name}\t{sb}\t{ev}")


def cmd_attested(path, out_path, rc_path, show_path, good_path):
    name, e = expectation(path)
    c = Checks(name)
    with open(out_path) as f:
        out = f.read().splitlines()
    with open(rc_path) as f:
        rc = int(f.read().strip())
    err_path = out_path[:-len(".out")] + ".err" if out_path.endswith(".out") else ""
    outcome = [m.group(1) for m in (re.match(r"^appraisal: (\S+)", ln) for ln in out) if m]
    outcome = outcome[0] if len(outcome) == 1 else outcome
    rules = [m.group(1) for m in
             (re.match(r"^  FAIL ([a-z0-9-]+) \((?:critical|warning)\): ", ln) for ln in out) if m]
    checks = [m.group(1) for m in
              (re.match(r"^  FAIL ([a-z0-9_.]+): ", ln) for ln in out) if m]
    c.same("outcome", outcome, e["outcome"], out)
    c.same("failed rules", rules, e["failed"], out)
    c.same("failed evidence checks", checks, e.get("checks_failed", []), out)
    # The exit status has to agree with the verdict the client printed: 0
    # when it passes (a warning passes), 1 (TPA_EXIT_NO) when it does not.
    want = 0 if outcome in ("compliant", "warning") else 1
    c.same(f"attest's exit status for its {json.dumps(outcome)} verdict", rc, want,
           open(err_path).read().splitlines() if os.path.exists(err_path) else ())
    for p in e.get("verdict", []):
        c.grep(p, out)
    try:
        show = load(show_path)
    except ValueError:
        show = {}  # a log that does not parse
    if "pcrs" in e:
        c.same("PCRs differing from good's", changed_pcrs(show, load(good_path)), e["pcrs"])
    for k, v in sorted(e.get("state", {}).items()):
        c.same(f"state.{k}", state_value(show.get("state", {}), k), v)
    print("\n".join(c.lines))


def cmd_appraised(path, json_path):
    name, e = expectation(path)
    c = Checks(name + " (appraised offline)")
    try:
        a = load(json_path)
    except (OSError, ValueError) as err:
        print(f"bad\t{c.name}: no JSON from baseline appraise\n|\t{err}")
        return
    rules = [r["rule"] for r in a.get("rules", []) if r.get("status") == "fail"]
    c.same("outcome", a.get("outcome"), e["outcome"])
    c.same("failed rules", rules, e["failed"])
    print("\n".join(c.lines))


def main(argv):
    try:
        if len(argv) == 3 and argv[1] == "list":
            cmd_list(argv[2])
        elif len(argv) == 7 and argv[1] == "attested":
            cmd_attested(*argv[2:])
        elif len(argv) == 4 and argv[1] == "appraised":
            cmd_appraised(*argv[2:])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (OSError, ValueError) as err:
        print(f"bad\tscenario expectations: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
