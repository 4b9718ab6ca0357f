#!/usr/bin/env python3
"""Hot policy reload: `sovgw policy compile` into the store of a running
gateway under traffic, 5 times; the always-allowed host never fails, the
flipping host's verdict follows each compile, the logged policy_version and
the sovgw_policy_version gauge rise.
SIGHUP with --policy recompiles the file and reopens the decision log."""

import http.client
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import (Gateway, Runner, TempDir, Upstream, check, eq, policy, sovgw,  # noqa: E402
                 wait_until)

STABLE = "stable.test.example"
FLIP_A = "a.test.example"
FLIP_B = "b.test.example"
MIN_REQUESTS = 500
TIME_BOUND = 40.0


def pol(up, allow_a):
    return policy([
        ("stable", {"host": [STABLE], "port": [up.port]}, "allow"),
        ("flip", {"host": [FLIP_A if allow_a else FLIP_B], "port": [up.port]}, "allow"),
    ])


def status(gw, host, up):
    st, hs, _ = gw.request("GET", f"http://{host}:{up.port}/")
    return st


def logged_version(gw, host):
    """Newest policy_version in the decision log for requests to host."""
    vs = [int(d.get("policy_version", 0)) for d in gw.decisions() if d.get("host") == host]
    return max(vs) if vs else 0


def t_reload_under_traffic(tmp, up, use_metric=False):
    """use_metric: also require the sovgw_policy_version gauge to follow."""
    store = tmp.join("store")
    res = sovgw("policy", "compile", tmp.write("p0.yaml", pol(up, True)), "--store", store)
    eq(res.returncode, 0, f"initial compile: {res.stderr.strip()}")
    args = ["--workers", "2"] + sum((["--resolve", f"{h}:{up.port}:127.0.0.1"]
                                     for h in (STABLE, FLIP_A, FLIP_B)), [])
    with Gateway(store=store, args=args, tmp=tmp) as gw:
        eq((status(gw, FLIP_A, up), status(gw, FLIP_B, up)), (200, 403), "initial verdicts")
        stop = threading.Event()
        stats = {"ok": 0, "fail": []}

        def traffic():
            deadline = time.monotonic() + TIME_BOUND
            c = None
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    if c is None:
                        c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=10)
                    c.request("GET", f"http://{STABLE}:{up.port}/echo")
                    resp = c.getresponse()
                    resp.read()
                    if resp.status == 200:
                        stats["ok"] += 1
                    else:
                        stats["fail"].append(resp.status)
                    if resp.getheader("connection", "").lower() == "close":
                        c.close()
                        c = None
                except (OSError, http.client.HTTPException) as e:
                    stats["fail"].append(repr(e))
                    if c:
                        c.close()
                    c = None
            if c:
                c.close()

        th = threading.Thread(target=traffic, daemon=True)
        th.start()
        try:
            v0 = logged_version(gw, FLIP_A)
            m0 = gw.metrics().get("sovgw_policy_version")
            allow_a = True
            for i in range(5):
                allow_a = not allow_a
                res = sovgw("policy", "compile", tmp.write(f"p{i + 1}.yaml", pol(up, allow_a)),
                            "--store", store)
                eq(res.returncode, 0, f"compile {i + 1}: {res.stderr.strip()}")
                want = (200, 403) if allow_a else (403, 200)
                wait_until(lambda: (status(gw, FLIP_A, up), status(gw, FLIP_B, up)) == want, 5,
                           f"verdicts {want} after compile {i + 1}")
                v = logged_version(gw, FLIP_A)
                check(v > v0, f"logged policy_version did not increase after compile {i + 1}: {v}")
                v0 = v
                if use_metric:
                    m = gw.metrics().get("sovgw_policy_version")
                    check(m > m0, f"sovgw_policy_version gauge did not increase after compile "
                          f"{i + 1}: {m} (decision log says {v})")
                    m0 = m
                time.sleep(0.2)
            wait_until(lambda: stats["ok"] >= MIN_REQUESTS or not th.is_alive(), TIME_BOUND,
                       f"{MIN_REQUESTS} requests on the stable host")
        finally:
            stop.set()
            th.join(15)
        check(stats["ok"] >= MIN_REQUESTS, f"only {stats['ok']} requests in {TIME_BOUND}s")
        eq(stats["fail"][:5], [], f"failed requests on the always-allowed host "
           f"({len(stats['fail'])} of {stats['ok'] + len(stats['fail'])})")
        vs = {d.get("policy_version") for d in gw.decisions() if d.get("host") == STABLE}
        check(len(vs) >= 2, f"decision log shows one policy version only: {vs}")


def t_sighup(tmp, up):
    pfile = tmp.write("hup.yaml", pol(up, True))
    args = ["--workers", "1"] + sum((["--resolve", f"{h}:{up.port}:127.0.0.1"]
                                     for h in (STABLE, FLIP_A, FLIP_B)), [])
    gw = Gateway(args=args, tmp=tmp)
    gw.policy_path = pfile
    with gw:
        eq(status(gw, FLIP_A, up), 200, "a allowed before SIGHUP")
        v0 = gw.metrics().get("sovgw_policy_version")
        tmp.write("hup.yaml", pol(up, False))
        rotated = gw.log_path + ".1"
        os.rename(gw.log_path, rotated)
        os.kill(gw.pid, signal.SIGHUP)
        wait_until(lambda: status(gw, FLIP_A, up) == 403, 5, "a denied after SIGHUP")
        eq(status(gw, FLIP_B, up), 200, "b allowed after SIGHUP")
        check(gw.metrics().get("sovgw_policy_version") > v0, "policy version after SIGHUP")
        wait_until(lambda: os.path.exists(gw.log_path) and gw.decisions(), 5,
                   "decision log reopened at its path after SIGHUP")
        # a broken policy on SIGHUP keeps the running one
        tmp.write("hup.yaml", "version: 1\nrules: [ {id: x, action: permit} ]\n")
        os.kill(gw.pid, signal.SIGHUP)
        time.sleep(0.5)
        check(gw.alive(), "gateway died on a bad policy at SIGHUP")
        eq((status(gw, FLIP_A, up), status(gw, FLIP_B, up)), (403, 200),
           "verdicts after a failed reload")


def main():
    r = Runner("reload")
    tmp = TempDir()
    try:
        with Upstream() as up:
            r.run("5 compiles into a running gateway's store under traffic",
                  t_reload_under_traffic, tmp, up, True)
            r.run("SIGHUP recompiles --policy and reopens the log", t_sighup, tmp, up)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
