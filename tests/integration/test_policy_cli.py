#!/usr/bin/env python3
"""`sovgw policy check|compile` offline, and `sovgw run --store` on a compiled
store: exit codes 0/1/2, errors located as FILE:LINE:COL, a failed compile
leaves the previous policy in force."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import Gateway, Runner, TempDir, Upstream, check, eq, policy, sovgw  # noqa: E402

UP = "up.test.example"

GOOD = """version: 1
defaults: { action: deny }
rules:
  - id: allow-example
    match: { host: [example.com, "*.example.org"], port: [80, 443, "8000-8100"], method: [GET, POST], path: [/v1/] }
    action: allow
  - id: allow-net
    match: { cidr: [10.0.0.0/8] }
    action: allow
"""

# (name, yaml, line of the error)
BAD = [
    ("YAML syntax error", "version: 1\ndefaults: { action: deny }\nrules:\n  - id: x\n    match: { host: [a.example\n    action: allow\n", None),
    ("unknown action", "version: 1\ndefaults: { action: deny }\nrules:\n  - id: x\n    match: { host: [a.example] }\n    action: permit\n", 6),
    ("unknown match key", "version: 1\ndefaults: { action: deny }\nrules:\n  - id: x\n    match: { hots: [a.example] }\n    action: allow\n", 5),
    ("port out of range", "version: 1\ndefaults: { action: deny }\nrules:\n  - id: x\n    match: { port: [70000] }\n    action: allow\n", 5),
    ("bad port range", "version: 1\ndefaults: { action: deny }\nrules:\n  - id: x\n    match: { port: [\"9000-8000\"] }\n    action: allow\n", 5),
    ("bad cidr", "version: 1\ndefaults: { action: deny }\nrules:\n  - id: x\n    match: { cidr: [10.0.0.0/33] }\n    action: allow\n", 5),
    ("duplicate rule id", "version: 1\ndefaults: { action: deny }\nrules:\n  - id: x\n    action: allow\n  - id: x\n    action: deny\n", 6),
    ("missing version", "defaults: { action: deny }\nrules: []\n", None),
    ("unsupported version", "version: 99\ndefaults: { action: deny }\nrules: []\n", 1),
]


def t_check_good(tmp):
    p = tmp.write("good.yaml", GOOD)
    res = sovgw("policy", "check", p)
    eq(res.returncode, 0, f"exit status (stderr: {res.stderr.strip()})")


def make_bad(tmp, i, yaml, line):
    def run():
        p = tmp.write(f"bad{i}.yaml", yaml)
        res = sovgw("policy", "check", p)
        eq(res.returncode, 1, f"exit status (stderr: {res.stderr.strip()})")
        pat = re.escape(p) + r":(\d+):(\d+): \S"
        m = re.search(pat, res.stderr + res.stdout)
        check(m, f"no '{p}:LINE:COL: message' in output: {res.stderr.strip()!r}")
        if line is not None:
            eq(int(m.group(1)), line, f"error line in {m.group(0)!r}")
        check(int(m.group(2)) >= 1, "column < 1")
    return run


def t_usage(tmp):
    eq(sovgw("policy").returncode, 2, "`sovgw policy` without a subcommand")
    eq(sovgw("policy", "check").returncode, 2, "`policy check` without a file")
    eq(sovgw("policy", "frobnicate", "x").returncode, 2, "unknown subcommand")
    res = sovgw("policy", "compile", tmp.write("g2.yaml", GOOD))
    eq(res.returncode, 2, "`policy compile` without --store")
    missing = tmp.join("does-not-exist.yaml")
    res = sovgw("policy", "check", missing)
    check(res.returncode in (1, 2), f"missing file: exit {res.returncode}")
    check("does-not-exist.yaml" in res.stderr, f"missing file not named: {res.stderr!r}")


def t_compile_and_run(tmp):
    store = tmp.join("store")
    with Upstream() as up:
        good = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
        res = sovgw("policy", "compile", tmp.write("p1.yaml", good), "--store", store)
        eq(res.returncode, 0, f"compile exit (stderr: {res.stderr.strip()})")
        check(os.path.isdir(store) and os.listdir(store), "store dir empty after compile")
        # a bad compile into the same store fails and changes nothing
        res = sovgw("policy", "compile", tmp.write("p2.yaml", BAD[1][1]), "--store", store)
        eq(res.returncode, 1, "bad compile exit")
        args = ["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1",
                "--resolve", f"other.test.example:{up.port}:127.0.0.1"]
        with Gateway(store=store, args=args, tmp=tmp) as gw:
            st, hs, body = gw.request("GET", f"http://{UP}:{up.port}/echo")
            eq(st, 200, "allowed by the compiled store")
            eq(hs.get("x-sovgw-decision"), "allow; rule=allow-up", "decision header")
            st, hs, body = gw.request("GET", f"http://other.test.example:{up.port}/echo")
            eq(st, 403, "denied by the compiled store")


def t_run_missing_store(tmp):
    res = sovgw("run", "--store", tmp.join("no-such-store"), "--listen", "127.0.0.1:0",
                "--admin", "off", timeout=20)
    eq(res.returncode, 2, f"run with a missing store (stderr {res.stderr.strip()!r})")
    res = sovgw("run", "--policy", tmp.write("badrun.yaml", BAD[1][1]), "--listen",
                "127.0.0.1:0", "--admin", "off", timeout=20)
    eq(res.returncode, 2, f"run with a bad policy (stderr {res.stderr.strip()!r})")
    check("badrun.yaml:6:" in res.stderr, f"bad policy error not located: {res.stderr!r}")


def main():
    r = Runner("policy_cli")
    tmp = TempDir()
    try:
        r.run("check: good policy exits 0", t_check_good, tmp)
        for i, (name, yaml, line) in enumerate(BAD):
            r.run(f"check: {name} exits 1 with FILE:LINE:COL", make_bad(tmp, i, yaml, line))
        r.run("usage errors exit 2", t_usage, tmp)
        r.run("compile then run --store; a failed compile keeps the old policy",
              t_compile_and_run, tmp)
        r.run("run refuses a missing store and a bad policy", t_run_missing_store, tmp)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
