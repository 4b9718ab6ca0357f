#!/usr/bin/env python3
"""Signals while writes are queued. SIGHUP (policy reload) several
times during a large download read steadily by the client, and during a
pipelined burst of POSTs: every byte arrives intact, the gateway stays up.
SIGTERM while an HTTP/2 (h2c) client does not read its response and an
HTTP/1.1 client is mid-upload: the gateway exits 0 within the drain timeout
(plus a margin), with no sanitizer report."""

import json
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import need_h2  # noqa: E402

need_h2()
import h2.config  # noqa: E402
import h2.connection  # noqa: E402
from sgw import (Gateway, Runner, TempDir, Upstream, check, eq, md5,  # noqa: E402
                 parse_responses, pattern_bytes, pattern_md5, policy, sanitizer_report)

UP = "up.test.example"


def gw_args(up, *extra):
    return ["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1", *extra]


def pol(up):
    return policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])


def t_sighup_during_download(gw, up):
    n = 24 * 1024 * 1024
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    s.settimeout(10)
    s.connect(("127.0.0.1", gw.port))
    with s:
        s.sendall(b"GET http://%s:%d/bytes?n=%d HTTP/1.1\r\nHost: %s:%d\r\nConnection: close"
                  b"\r\n\r\n" % (UP.encode(), up.port, n, UP.encode(), up.port))
        got = bytearray()
        hups = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60:
            b = s.recv(1 << 16)
            if not b:
                break
            got += b
            if hups < 4 and len(got) > (hups + 1) * (4 << 20):
                os.kill(gw.pid, signal.SIGHUP)
                hups += 1
                time.sleep(0.2)  # let the reload land while output is queued
    eq(hups, 4, "SIGHUPs sent during the download")
    rs = parse_responses(bytes(got))
    eq(len(rs), 1, "responses")
    eq(len(rs[0].body), n, "body length")
    eq(md5(rs[0].body), pattern_md5(n), "body md5")
    check(gw.alive(), "gateway died on SIGHUP")


def t_sighup_during_pipelined_posts(gw, up):
    host = b"%s:%d" % (UP.encode(), up.port)
    bodies = [pattern_bytes(200 * 1024 + i, offset=i) for i in range(6)]
    data = bytearray()
    for i, b in enumerate(bodies):
        last = b"Connection: close\r\n" if i == len(bodies) - 1 else b""
        data += (b"POST http://%s/echo/%d HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n%s\r\n" %
                 (host, i, host, len(b), last)) + b
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
        half = len(data) // 2
        s.sendall(data[:half])
        os.kill(gw.pid, signal.SIGHUP)
        s.sendall(data[half:])
        out = bytearray()
        s.settimeout(20)
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            out += b
    rs = parse_responses(bytes(out))
    eq(len(rs), len(bodies), "responses")
    for i, (r, b) in enumerate(zip(rs, bodies)):
        eq(r.status, 200, f"POST {i} status")
        d = json.loads(r.body)
        check(d["path"].endswith(f"/echo/{i}"), f"response {i} answers {d['path']}")
        eq(d["body_md5"], md5(b), f"POST {i} body md5 at the upstream")
    check(gw.alive(), "gateway died on SIGHUP")


def t_sigterm_h2_nonreader_and_upload(tmp, up):
    gw = Gateway(pol(up), args=gw_args(up, "--drain-timeout-ms", "2000",
                                       "--idle-timeout-ms", "60000"), tmp=tmp)
    gw.start()
    socks = []
    try:
        # h2c client that asks for 64 MiB and never reads
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        s.settimeout(10)
        s.connect(("127.0.0.1", gw.port))
        socks.append(s)
        c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                 header_encoding="utf-8"))
        c.initiate_connection()
        c.increment_flow_control_window(32 << 20)
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, [(":method", "GET"), (":authority", f"{UP}:{up.port}"),
                             (":scheme", "http"), (":path", f"/bytes?n={64 << 20}")],
                       end_stream=True)
        c.increment_flow_control_window(32 << 20, stream_id=sid)
        s.sendall(c.data_to_send())
        # HTTP/1.1 client mid-upload (half of a 4 MiB body sent)
        u = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        socks.append(u)
        n = 4 << 20
        u.sendall(b"POST http://%s:%d/echo HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: %d\r\n\r\n"
                  % (UP.encode(), up.port, UP.encode(), up.port, n))
        u.sendall(pattern_bytes(n // 2))
        time.sleep(1.0)
        t0 = time.monotonic()
        rc = gw.stop(timeout=12)
        took = time.monotonic() - t0
        eq(rc, 0, f"exit status after SIGTERM ({took:.1f}s)")
        check(took < 10, f"exit took {took:.1f}s with --drain-timeout-ms 2000")
    finally:
        for s in socks:
            s.close()
        if gw.proc and gw.proc.poll() is None:
            gw._kill()
    rep = sanitizer_report(gw.stderr())
    check(not rep, f"sanitizer report: {rep}")


def main():
    r = Runner("signals_queued", budget=200)
    tmp = TempDir()
    try:
        with Upstream() as up:
            with Gateway(pol(up), args=gw_args(up), tmp=tmp) as gw:
                r.run("SIGHUP x4 during a 24 MiB download", t_sighup_during_download, gw, up)
                r.run("SIGHUP during pipelined POSTs", t_sighup_during_pipelined_posts, gw, up)
            r.run("SIGTERM with an h2c non-reader and an h1 upload in flight",
                  t_sigterm_h2_nonreader_and_upload, tmp, up)
    except Exception as e:  # noqa: BLE001
        r.fail("setup", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
