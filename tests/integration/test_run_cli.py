#!/usr/bin/env python3
"""`sovgw run` as an operator starts it: a --config file instead of flags (and
flags overriding it), the embedded default policy compiled into ./var/store
(fail closed for unknown hosts), the decision log on stdout, several
listeners (IPv4 and IPv6), and start-up errors exiting 2 with a clear line."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import (Gateway, Runner, TempDir, Upstream, check, eq, free_port, policy,  # noqa: E402
                 port_open, sovgw, wait_until)

UP = "up.test.example"


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def t_config_file(tmp, up):
    pfile = tmp.write("cfg-policy.yaml", policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")]))
    log = tmp.join("cfg-decisions.log")
    cfg = tmp.write("sovgw.yaml", "\n".join([
        f"policy: {pfile}",
        "workers: 1",
        f"resolve: [\"{UP}:{up.port}:127.0.0.1\"]",
        f"log-file: {log}",
        "max-body: 1KiB",
        "",
    ]))
    # Gateway adds --listen/--admin/--log-file flags; the file supplies the rest
    gw = Gateway(args=["--config", cfg], tmp=tmp)
    with gw:
        st, hs, body = gw.request("GET", f"http://{UP}:{up.port}/echo")
        eq(st, 200, "allowed by the policy named in the config file (pinned by its resolve)")
        st, hs, body = gw.request("POST", f"http://{UP}:{up.port}/echo", body=b"x" * 2000)
        eq(st, 413, "max-body from the config file")
    # a flag overrides the file
    gw = Gateway(args=["--config", cfg, "--max-body", "4KiB"], tmp=tmp)
    with gw:
        st, _, _ = gw.request("POST", f"http://{UP}:{up.port}/echo", body=b"x" * 2000)
        eq(st, 200, "--max-body on the command line overrides the file")


def t_config_errors(tmp, up):
    bad = tmp.write("bad.yaml", "workers: 1\nlisten: [127.0.0.1:0]\nnot-a-key: 3\n")
    res = sovgw("run", "--config", bad, timeout=20)
    eq(res.returncode, 2, "unknown key in the config file")
    check(f"{bad}:3:" in res.stderr, f"error not located at {bad}:3: {res.stderr!r}")
    for args in (["--workers", "0"], ["--listen", "localhost:3128"], ["--no-such-flag"],
                 ["--max-body", "8MB"], ["--policy", "a.yaml", "--store", "b"]):
        res = sovgw("run", "--admin", "off", *args, timeout=20)
        eq(res.returncode, 2, f"sovgw run {' '.join(args)}")
        check(res.stderr.strip(), f"no error message for {args}")
    res = sovgw("help", "run")
    eq(res.returncode, 0, "sovgw help run")
    check("--max-body" in res.stdout, "help run lists --max-body")
    res = sovgw("--version")
    eq(res.returncode, 0, "--version")
    check(res.stdout.startswith("sovgw "), f"--version: {res.stdout!r}")


def t_default_policy(tmp, up):
    work = TempDir()
    try:
        gw = Gateway(args=["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1"], tmp=work)
        with gw:
            check(os.path.isdir(work.join("var", "store")), "./var/store not created")
            st, hs, body = gw.request("GET", f"http://{UP}:{up.port}/echo")
            eq(st, 403, "an unknown host under the embedded default policy")
            check(gw.metrics().get("sovgw_policy_version") >= 1, "policy version")
    finally:
        work.cleanup()
    eq(up.count(), 0, "requests the upstream received under the default policy")


def t_log_stdout(tmp, up):
    pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
    gw = Gateway(pol, args=["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1",
                            "--log-file", "-"], tmp=tmp)
    with gw:
        st, _, _ = gw.request("GET", f"http://{UP}:{up.port}/echo?stdout=1")
        eq(st, 200, "status")

        def logged():
            for line in gw.stdout().splitlines():
                if line.startswith("{"):
                    d = json.loads(line)
                    if d.get("path") == "/echo?stdout=1":
                        return d
            return None
        d = wait_until(logged, 5, "the decision line on stdout")
        eq(d["verdict"], "allow", "verdict on stdout")


def t_multi_listen(tmp, up):
    pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
    p2 = free_port()
    extra = ["--listen", f"127.0.0.1:{p2}"]
    p6 = None
    if have_ipv6_loopback():
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
            p6 = s.getsockname()[1]
        extra += ["--listen", f"[::1]:{p6}"]
    gw = Gateway(pol, args=["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1", *extra], tmp=tmp)
    with gw:
        for host, port in [("127.0.0.1", gw.port), ("127.0.0.1", p2)] + ([("::1", p6)] if p6 else []):
            import http.client
            c = http.client.HTTPConnection(host, port, timeout=10)
            try:
                c.request("GET", f"http://{UP}:{up.port}/echo")
                eq(c.getresponse().status, 200, f"via listener {host}:{port}")
            finally:
                c.close()
    check(not port_open(p2), "second listener still open after exit")


SECRET = "sk-itest-9f8e7d6c5b4a3210-SECRET"


def t_secrets_not_logged(tmp, up):
    """Credentials in headers never reach the decision log or the diagnostic
    log, even at --log-level debug, for allowed, denied and malformed requests."""
    pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
    gw = Gateway(pol, args=["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1",
                            "--log-level", "debug"], tmp=tmp)
    a = f"{UP}:{up.port}"
    with gw:
        hdrs = {"Authorization": f"Bearer {SECRET}", "Proxy-Authorization": f"Basic {SECRET}",
                "Cookie": f"session={SECRET}", "X-Api-Key": SECRET}
        st, _, _ = gw.request("GET", f"http://{a}/echo", headers=hdrs)
        eq(st, 200, "allowed")
        st, _, _ = gw.request("GET", f"http://denied.test.example:{up.port}/x", headers=hdrs)
        eq(st, 403, "denied")
        raw_bad = (f"GET http://{a}/echo HTTP/1.1\r\nHost: {a}\r\nAuthorization: Bearer {SECRET}\r\n"
                   f"X-Bad: a\r\n b\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
            s.sendall(raw_bad)
            s.recv(4096)
        wait_until(lambda: len(gw.decisions()) >= 2, 5, "decision lines")
        time.sleep(0.3)
        with open(gw.log_path, "rb") as f:
            declog = f.read().decode("utf-8", "replace")
        check(SECRET not in declog, "a credential reached the decision log")
        check(SECRET not in gw.stderr(), "a credential reached the diagnostic log (stderr)")
        check(SECRET not in gw.stdout(), "a credential reached stdout")


def main():
    r = Runner("run_cli")
    tmp = TempDir()
    try:
        with Upstream() as up:
            r.run("embedded default policy into ./var/store, fail closed", t_default_policy, tmp, up)
            r.run("--config file, and flags overriding it", t_config_file, tmp, up)
            r.run("start-up errors exit 2 with a message", t_config_errors, tmp, up)
            r.run("--log-file - writes decisions to stdout", t_log_stdout, tmp, up)
            r.run("several --listen addresses (IPv4 and IPv6)", t_multi_listen, tmp, up)
            r.run("credentials never logged, even at debug level", t_secrets_not_logged, tmp, up)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
