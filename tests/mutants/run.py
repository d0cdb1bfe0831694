#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""make mutants: mutation testing of the security checks (issue 19).

Each mutant of tests/mutants/list is one small deliberate bug in a check
of lib/: the exact text it changes (found exactly once in its file), what
it becomes, and the tests that must catch it. For each: the change is
made, the tree rebuilt (make all tests), the tests run, the file put back
as it was. A mutant is killed when one of its tests fails; one that
survives fails the target. Prints a table and the kill ratio.

usage: tests/mutants/run.py [--build=DIR] [NAME_SUBSTRING...]
"""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIST = os.path.join(ROOT, "tests", "mutants", "list")


def parse(path):
    """The mutants of the list: dicts of name, why, file, tests, old, new."""
    muts, cur, part = [], None, None
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if part in ("old", "new"):
            if line in ("--- new", "--- end"):
                part = None if line == "--- end" else "new"
                if line == "--- new":
                    cur["new"] = []
                continue
            cur[part].append(line)
            continue
        if not line or line.startswith("# "):
            continue
        m = re.match(r"^## ([a-z0-9_.-]+): (.+)$", line)
        if m:
            cur = {"name": m.group(1), "why": m.group(2), "line": n}
            muts.append(cur)
        elif cur is None:
            sys.exit("%s:%d: a mutant starts with '## NAME: what it breaks'" % (path, n))
        elif line.startswith("file: "):
            cur["file"] = line[6:]
        elif line.startswith("tests: "):
            cur["tests"] = line[7:].split()
        elif line == "--- old":
            cur["old"], part = [], "old"
        else:
            sys.exit("%s:%d: not understood: %s" % (path, n, line))
    for m in muts:
        for k in ("file", "tests", "old", "new"):
            if k not in m:
                sys.exit("%s:%d: mutant %s has no %s" % (path, m["line"], m["name"], k))
        m["old"] = "\n".join(m["old"]) + "\n"
        m["new"] = "\n".join(m["new"]) + "\n"
        diff = sum(1 for a, b in zip(m["old"].split("\n"), m["new"].split("\n")) if a != b)
        if m["old"].count("\n") != m["new"].count("\n") or diff != 1:
            sys.exit("%s:%d: mutant %s must change exactly one line" % (path, m["line"], m["name"]))
    return muts


def run(cmd, env=None, timeout=1800):
    e = dict(os.environ)
    e.update(env or {})
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=e, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return -1, "timed out"


def test_cmd(build, t):
    kind, _, name = t.partition(":")
    if kind == "unit":
        return [os.path.join(build, "tests", "unit", name)], None
    if kind == "it":
        return ["./tests/run.sh", build], {"TEST_ONLY": name, "TEST_JOBS": "1"}
    sys.exit("a test is unit:NAME or it:NAME, not %s" % t)


def main():
    args = sys.argv[1:]
    build = "build"
    if args and args[0].startswith("--build="):
        build = args.pop(0)[len("--build="):]
    muts = parse(LIST)
    if args:
        muts = [m for m in muts if any(a in m["name"] for a in args)]
    rc, out = run(["git", "status", "--porcelain", "--untracked-files=no"])
    if rc != 0 or out.strip():
        sys.exit("mutants: the tree has changes; commit or stash them first:\n" + out)
    make = ["make", "-j%d" % (os.cpu_count() or 2), "BUILD=" + build, "all", "tests"]
    rc, out = run(make)
    if rc != 0:
        sys.exit("mutants: the tree does not build as it is:\n" + out[-2000:])
    rows, t0 = [], time.time()
    for m in muts:
        path = os.path.join(ROOT, m["file"])
        orig = open(path, encoding="utf-8").read()
        if orig.count(m["old"]) != 1:
            rows.append((m, "NOT APPLIED", "its text is in %s %d times"
                         % (m["file"], orig.count(m["old"]))))
            continue
        try:
            open(path, "w", encoding="utf-8").write(orig.replace(m["old"], m["new"]))
            rc, out = run(make)
            if rc != 0:
                rows.append((m, "NOT BUILT", out.strip().splitlines()[-1][:80]))
                continue
            by = None
            for t in m["tests"]:
                cmd, env = test_cmd(build, t)
                rc, _ = run(cmd, env)
                if rc != 0:
                    by = t
                    break
            rows.append((m, "killed" if by else "SURVIVED", by or "every test passed"))
        finally:
            open(path, "w", encoding="utf-8").write(orig)
            os.utime(path)
    run(make)
    print("%-34s %-11s %-22s %s" % ("mutant", "result", "by", "what it breaks"))
    for m, res, by in rows:
        print("%-34s %-11s %-22s %s (%s)" % (m["name"], res, by[:22], m["why"], m["file"]))
    killed = sum(1 for _, r, _ in rows if r == "killed")
    print("kill ratio: %d of %d (%.0f %%) in %.0f s" % (killed, len(rows),
          100.0 * killed / len(rows) if rows else 0, time.time() - t0))
    return 0 if rows and killed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
