#!/usr/bin/env python3
"""SIGTERM: stop accepting at once, finish in-flight requests within the drain
deadline, exit 0; past the deadline the process still exits promptly; a
second signal during the drain changes nothing."""

import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import (Gateway, Runner, TempDir, Upstream, check, eq, policy, port_open,  # noqa: E402
                 read_one_response, wait_until)

UP = "up.test.example"


def start_request(gw, up, ms):
    """Sends a /slow request on a raw socket; returns (socket, thread, result dict)."""
    res = {}
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=30)
    s.sendall(f"GET http://{UP}:{up.port}/slow?ms={ms} HTTP/1.1\r\nHost: {UP}:{up.port}\r\n\r\n"
              .encode())

    def reader():
        try:
            res["resp"] = read_one_response(s, timeout=30)
        except Exception as e:  # the outcome is checked by the test
            res["error"] = repr(e)
        res["t"] = time.monotonic()
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    return s, th, res


def t_drain(tmp, up):
    pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
    args = ["--workers", "2", "--resolve", f"{UP}:{up.port}:127.0.0.1", "--drain-timeout-ms", "8000"]
    with Gateway(pol, args=args, tmp=tmp) as gw:
        idle = socket.create_connection(("127.0.0.1", gw.port), timeout=5)  # idle keep-alive client
        n0 = up.count()
        s, th, res = start_request(gw, up, 2000)
        wait_until(lambda: up.count() > n0, 5, "the slow request to reach the upstream")
        t0 = time.monotonic()
        os.kill(gw.pid, signal.SIGTERM)
        wait_until(lambda: not port_open(gw.port), 2, "the listener to stop accepting")
        check(gw.alive(), "exited before the in-flight request completed")
        th.join(15)
        s.close()
        check("resp" in res, f"in-flight request failed: {res.get('error')}")
        eq(res["resp"].status, 200, "in-flight status")
        eq(res["resp"].body, b"slow done\n", "in-flight body")
        # No second signal: the process must leave by itself once the in-flight
        # request is done (the idle keep-alive client is not in flight).
        t_done = time.monotonic()
        try:
            rc = gw.proc.wait(12)
        except Exception:
            rc = "still running 12 s after the in-flight request completed"
        gw.returncode = rc
        eq(rc, 0, "exit status after draining")
        took = time.monotonic() - t_done
        check(took < 5.0, f"exited {took:.1f}s after the last in-flight request completed "
              f"(an idle keep-alive client held the drain open)")
        # the idle keep-alive client was closed, not left hanging
        idle.settimeout(2)
        try:
            eq(idle.recv(1), b"", "idle client connection not closed")
        except (ConnectionResetError, socket.timeout) as e:
            check(isinstance(e, ConnectionResetError), "idle client connection still open")
        idle.close()


def t_deadline(tmp, up):
    pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
    args = ["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1", "--drain-timeout-ms", "1000"]
    gw = Gateway(pol, args=args, tmp=tmp, expect_exit=None)
    with gw:
        n0 = up.count()
        s, th, res = start_request(gw, up, 20000)
        wait_until(lambda: up.count() > n0, 5, "the slow request to reach the upstream")
        t0 = time.monotonic()
        os.kill(gw.pid, signal.SIGTERM)
        rc = gw.stop(timeout=8)
        took = time.monotonic() - t0
        check(rc != "timeout", "still running 8 s after SIGTERM with a 1 s drain deadline")
        check(isinstance(rc, int) and rc >= 0, f"killed by a signal: {rc}")
        check(took < 6, f"took {took:.1f}s to exit with a 1 s drain deadline")
        th.join(5)
        s.close()
        check("resp" not in res or res["resp"].status != 200,
              "a 20 s request completed within a 1 s drain deadline")


def t_second_signal(tmp, up):
    """A second SIGTERM (or SIGINT) during the drain changes nothing: the
    in-flight request still completes and the exit status is 0; the drain
    deadline is what bounds the exit."""
    pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
    args = ["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1", "--drain-timeout-ms", "8000"]
    with Gateway(pol, args=args, tmp=tmp) as gw:
        n0 = up.count()
        s, th, res = start_request(gw, up, 1500)
        wait_until(lambda: up.count() > n0, 5, "the slow request to reach the upstream")
        os.kill(gw.pid, signal.SIGTERM)
        wait_until(lambda: not port_open(gw.port), 2, "the listener to stop accepting")
        os.kill(gw.pid, signal.SIGTERM)
        os.kill(gw.pid, signal.SIGINT)
        th.join(15)
        s.close()
        check("resp" in res, f"in-flight request failed: {res.get('error')}")
        eq(res["resp"].status, 200, "in-flight status after a second signal")
        try:
            rc = gw.proc.wait(12)
        except Exception:
            rc = "still running"
        gw.returncode = rc
        eq(rc, 0, "exit status after a second signal")


def main():
    r = Runner("sigterm")
    tmp = TempDir()
    try:
        with Upstream() as up:
            r.run("SIGTERM drains an in-flight request and exits 0", t_drain, tmp, up)
            r.run("SIGTERM past the drain deadline still exits promptly", t_deadline, tmp, up)
            r.run("a second SIGTERM/SIGINT during the drain changes nothing", t_second_signal, tmp, up)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
