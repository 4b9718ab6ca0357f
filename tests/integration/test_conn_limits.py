#!/usr/bin/env python3
"""Connection-level behaviour: hop-by-hop and Connection-listed headers are not
forwarded, Upgrade never reaches the upstream, --max-connections answers 503
and recovers, --idle-timeout-ms closes an idle keep-alive client (and only an idle one: a
client that keeps sending requests stays open past many idle timeouts),
--header-timeout-ms closes a client that sends nothing."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import (Gateway, Runner, TempDir, Upstream, check, eq, parse_responses, policy,  # noqa: E402
                 raw_exchange, read_one_response, wait_until)

UP = "up.test.example"
MAX_CONN = 4


def closes_within(s, bound):
    """True when the peer closes s (EOF or reset) within bound seconds."""
    s.settimeout(bound)
    try:
        return s.recv(4096) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def t_hop_by_hop(gw, up):
    a = f"{UP}:{up.port}"
    data = raw_exchange(gw.port, (
        f"GET http://{a}/echo HTTP/1.1\r\nHost: {a}\r\n"
        "Connection: close, X-Secret-Hop\r\nX-Secret-Hop: 1\r\n"
        "Proxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Connection: keep-alive\r\n"
        "Keep-Alive: timeout=5\r\nTE: trailers\r\nX-End-To-End: kept\r\n\r\n").encode())
    r = parse_responses(data)[0]
    eq(r.status, 200, "status")
    got = {k.lower(): v for k, v in r.json()["headers"]}
    for h in ("x-secret-hop", "proxy-authorization", "proxy-connection", "keep-alive"):
        check(h not in got, f"hop-by-hop header {h!r} reached the upstream: {got}")
    eq(got.get("x-end-to-end"), "kept", "end-to-end header")


def t_upgrade(gw, up):
    a = f"{UP}:{up.port}"
    n0 = len(up.requests)
    for up_hdr in ("Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                   "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n",
                   "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"):
        data = raw_exchange(gw.port, f"GET http://{a}/echo HTTP/1.1\r\nHost: {a}\r\n{up_hdr}"
                            f"\r\n".encode(), timeout=3)
        st = parse_responses(data)[0].status if data else None
        check(st is not None and st != 101, f"upgrade answered {st}")
    for req in up.requests[n0:]:
        hs = {k.lower() for k in req["headers"]}
        check("upgrade" not in hs and "http2-settings" not in hs,
              f"Upgrade reached the upstream: {req['headers']}")


def t_max_connections(gw, up):
    a = f"{UP}:{up.port}"
    wait_until(lambda: gw.metrics().get("sovgw_active_connections") == 0, 5,
               "no client connections before the test")
    held = [socket.create_connection(("127.0.0.1", gw.port), timeout=5) for _ in range(MAX_CONN)]
    try:
        wait_until(lambda: gw.metrics().get("sovgw_active_connections") >= MAX_CONN, 5,
                   f"{MAX_CONN} connections counted")
        data = raw_exchange(gw.port, f"GET http://{a}/echo HTTP/1.1\r\nHost: {a}\r\n\r\n".encode(),
                            timeout=5)
        check(data == b"" or data.startswith(b"HTTP/1.1 503"),
              f"connection over --max-connections: {data[:120]!r}")
        check(gw.alive(), "gateway died")
    finally:
        for s in held:
            s.close()
    wait_until(lambda: gw.metrics().get("sovgw_active_connections") == 0, 5,
               "held connections released")
    data = raw_exchange(gw.port, f"GET http://{a}/echo HTTP/1.1\r\nHost: {a}\r\nConnection: close"
                        f"\r\n\r\n".encode(), timeout=5)
    eq(parse_responses(data)[0].status, 200, "served again below the limit")


def t_idle_timeout(gw, up):
    a = f"{UP}:{up.port}"
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        s.sendall(f"GET http://{a}/echo HTTP/1.1\r\nHost: {a}\r\n\r\n".encode())
        eq(read_one_response(s).status, 200, "first request")
        t0 = time.monotonic()
        check(closes_within(s, 8), "idle keep-alive connection open 8 s with --idle-timeout-ms 1000")
        check(time.monotonic() - t0 >= 0.5, "closed long before --idle-timeout-ms")


def t_idle_timeout_renewed(gw, up):
    """Each request renews the idle deadline: the timers are re-armed lazily
    (proxy/deadline.c), so the timer fires at the first deadline, finds it
    renewed and waits for the rest; it must neither close the connection
    early nor forget to close it."""
    a = f"{UP}:{up.port}"
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        t_start = time.monotonic()
        for i in range(8):  # 8 x 0.4 s: over three idle timeouts of 1 s
            s.sendall(f"GET http://{a}/echo HTTP/1.1\r\nHost: {a}\r\n\r\n".encode())
            eq(read_one_response(s).status, 200, f"request {i + 1} on the kept-alive connection")
            time.sleep(0.4)
        check(time.monotonic() - t_start > 3.0, "the requests spanned three idle timeouts")
        s.sendall(f"GET http://{a}/echo HTTP/1.1\r\nHost: {a}\r\n\r\n".encode())
        eq(read_one_response(s).status, 200, "last request")
        t0 = time.monotonic()
        check(closes_within(s, 8), "connection open 8 s after its last request")
        check(time.monotonic() - t0 >= 0.5, "closed long before --idle-timeout-ms after the last request")


def t_header_timeout_silent(gw, up):
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        check(closes_within(s, 8), "silent connection open 8 s with --header-timeout-ms 1500")


def main():
    r = Runner("conn_limits")
    tmp = TempDir()
    try:
        with Upstream() as up:
            pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
            args = ["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1",
                    "--max-connections", str(MAX_CONN), "--idle-timeout-ms", "1000",
                    "--header-timeout-ms", "1500"]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                r.run("hop-by-hop and Connection-listed headers not forwarded", t_hop_by_hop, gw, up)
                r.run("Upgrade (h2c, websocket) never reaches the upstream, no 101", t_upgrade, gw, up)
                r.run("--max-connections: over the limit refused, served again below", t_max_connections,
                      gw, up)
                r.run("--idle-timeout-ms closes an idle keep-alive client", t_idle_timeout, gw, up)
                r.run("requests every 0.4 s keep a connection past three idle timeouts",
                      t_idle_timeout_renewed, gw, up)
                r.run("--header-timeout-ms closes a client that sends nothing",
                      t_header_timeout_silent, gw, up)
    except Exception as e:
        r.fail("gateway lifecycle", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
