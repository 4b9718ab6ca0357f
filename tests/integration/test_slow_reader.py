#!/usr/bin/env python3
"""Backpressure: a client that reads 64 KiB of a 200 MB response and stalls
must not make sovgw buffer the response (RSS stays bounded); when it resumes
reading, every byte arrives intact."""

import hashlib
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import (Gateway, Runner, TempDir, Upstream, check, eq,  # noqa: E402
                 pattern_md5, policy)

UP = "up.test.example"
SIZE = 200 * 1024 * 1024
RSS_BOUND_KB = 64 * 1024
STALL_S = 4.0


def t_slow_reader(gw, up, via_connect=False):
    # warm up (pools, TLS contexts, allocator arenas) before the baseline
    for _ in range(3):
        st, _, _ = gw.request("GET", f"http://{UP}:{up.port}/bytes?n=1000000")
        eq(st, 200, "warm-up")
    base = gw.rss_kb()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.settimeout(15)
    s.connect(("127.0.0.1", gw.port))
    try:
        if via_connect:
            s.sendall(f"CONNECT {UP}:{up.port} HTTP/1.1\r\nHost: {UP}:{up.port}\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                b = s.recv(1)
                check(b, "closed during CONNECT")
                head += b
            check(head.startswith(b"HTTP/1.1 200"), f"CONNECT: {head[:60]!r}")
            s.sendall(f"GET /bytes?n={SIZE} HTTP/1.1\r\nHost: {UP}:{up.port}\r\n"
                      f"Connection: close\r\n\r\n".encode())
        else:
            s.sendall(f"GET http://{UP}:{up.port}/bytes?n={SIZE} HTTP/1.1\r\nHost: {UP}:{up.port}\r\n"
                      f"Connection: close\r\n\r\n".encode())
        got = bytearray()
        while len(got) < 64 * 1024:
            b = s.recv(64 * 1024 - len(got))
            check(b, "closed early")
            got += b
        peak = base
        t_end = time.monotonic() + STALL_S
        while time.monotonic() < t_end:
            peak = max(peak, gw.rss_kb())
            time.sleep(0.1)
        check(peak - base < RSS_BOUND_KB,
              f"RSS grew by {(peak - base) // 1024} MiB while the client stalled "
              f"(bound {RSS_BOUND_KB // 1024} MiB): the response is buffered, not back-pressured")
        # resume: read everything fast
        h = hashlib.md5()
        head_end = got.find(b"\r\n\r\n")
        check(head_end > 0, "no response head in the first 64 KiB")
        check(got.startswith(b"HTTP/1.1 200"), f"status: {bytes(got[:40])!r}")
        body_n = len(got) - head_end - 4
        h.update(got[head_end + 4:])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            b = s.recv(1 << 20)
            if not b:
                break
            body_n += len(b)
            h.update(b)
        eq(body_n, SIZE, "body bytes received after resuming")
        eq(h.hexdigest(), pattern_md5(SIZE), "body md5")
    finally:
        s.close()
    check(gw.alive(), "gateway died")


def main():
    r = Runner("slow_reader")
    tmp = TempDir()
    try:
        with Upstream() as up:
            pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
            args = ["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1",
                    "--idle-timeout-ms", "60000"]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                r.run("stalled reader of a 200 MB response: bounded RSS, all bytes delivered",
                      t_slow_reader, gw, up)
                r.run("same through a CONNECT tunnel", t_slow_reader, gw, up, True)
    except Exception as e:
        r.fail("gateway lifecycle", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
