#!/usr/bin/env python3
"""The write side (px_tx) and the lazy timers (px_deadline) on real
traffic: pipelined requests with bodies sent in one packet come back intact
and in order; Expect: 100-continue (waiting and not waiting for the 100);
keep-alive POSTs of a few MiB over one pooled upstream connection; a CONNECT
whose first tunnel bytes arrive in the same packet as its head (detach with
bytes queued both ways); a client that reads slowly but steadily for several
idle timeouts gets every byte (the stall timer re-arms on progress), while a
client that stops reading is cut after about the idle timeout (it fires);
SIGTERM with a response queued to a client that does not read exits within
the drain timeout."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import (Gateway, Runner, TempDir, Upstream, check, eq, md5,  # noqa: E402
                 parse_responses, pattern_bytes, pattern_chunk, pattern_md5, policy)

UP = "up.test.example"
IDLE_MS = 1000


def recv_until_close(s, timeout, max_bytes=64 << 20):
    out = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(out) < max_bytes:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            b = s.recv(1 << 16)
        except socket.timeout:
            continue
        if not b:
            return bytes(out), True
        out += b
    return bytes(out), False


def echo_doc(resp, what):
    eq(resp.status, 200, f"{what}: status")
    return json.loads(resp.body)


def post_cl(path, body, extra=b""):
    return (b"POST http://%s%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n%s\r\n" %
            (UP.encode(), path, UP.encode(), len(body), extra)) + body


def chunked(body, piece):
    out = bytearray()
    for i in range(0, len(body), piece):
        p = body[i:i + piece]
        out += b"%x\r\n%s\r\n" % (len(p), p)
    return bytes(out + b"0\r\n\r\n")


def t_pipelined_bodies(gw, up, tmp):
    port = up.port
    host = b"%s:%d" % (UP.encode(), port)
    b1 = pattern_bytes(300 * 1024 + 7)
    b2 = pattern_bytes(70 * 1024 + 3, offset=11)
    b3 = pattern_bytes(5)
    reqs = (b"POST http://%s/echo/1 HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n" %
            (host, host, len(b1)) + b1 +
            b"POST http://%s/echo/2 HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n" %
            (host, host) + chunked(b2, 1000) +
            b"GET http://%s/echo/3 HTTP/1.1\r\nHost: %s\r\n\r\n" % (host, host) +
            b"POST http://%s/echo/4 HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n" % (host, host, len(b3)) + b3)
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
        s.sendall(reqs)
        data, closed = recv_until_close(s, 20)
    check(closed, f"connection not closed after Connection: close ({len(data)} bytes)")
    rs = parse_responses(data)
    eq(len(rs), 4, "responses")
    for i, (r, body) in enumerate(zip(rs, [b1, b2, b"", b3]), 1):
        d = echo_doc(r, f"request {i}")
        check(d["path"].endswith(f"/echo/{i}"), f"response {i} answers {d['path']}")
        eq(d["body_len"], len(body), f"request {i} body length at the upstream")
        eq(d["body_md5"], md5(body), f"request {i} body md5 at the upstream")


def expect_exchange(gw, up, wait_for_100, n):
    body = pattern_bytes(n, offset=3)
    host = b"%s:%d" % (UP.encode(), up.port)
    head = (b"POST http://%s/echo/x HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n\r\n" % (host, host, n))
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
        s.sendall(head)
        got = bytearray()
        if wait_for_100:
            deadline = time.monotonic() + 10
            while b"\r\n\r\n" not in got and time.monotonic() < deadline:
                s.settimeout(max(0.05, deadline - time.monotonic()))
                b = s.recv(4096)
                if not b:
                    break
                got += b
            check(got.startswith(b"HTTP/1.1 100 Continue\r\n"),
                  f"no 100 Continue before the body: {bytes(got[:200])!r}")
        s.sendall(body)
        data, closed = recv_until_close(s, 20)
        got += data
    check(closed, "connection not closed after Connection: close")
    data = bytes(got)
    check(data.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"),
          f"interim response missing or mangled: {data[:120]!r}")
    rs = parse_responses(data[len(b"HTTP/1.1 100 Continue\r\n\r\n"):])
    eq(len(rs), 1, "final responses after the 100")
    d = echo_doc(rs[0], "expect")
    eq(d["body_len"], n, "body length at the upstream")
    eq(d["body_md5"], md5(body), "body md5 at the upstream")


def t_expect_continue(gw, up, tmp):
    expect_exchange(gw, up, True, 2 * 1024 * 1024 + 1)
    expect_exchange(gw, up, False, 200 * 1024 + 9)


def t_keepalive_big_posts(gw, up, tmp):
    host = b"%s:%d" % (UP.encode(), up.port)
    # bodies made first: building 5 MiB between two requests took longer
    # than the 1 s idle timeout on a loaded machine (the gateway then rightly
    # closed the idle keep-alive connection)
    bodies = [pattern_chunk(i, n) for i, n in enumerate([3 * 1024 * 1024 + 1, 1, 5 * 1024 * 1024 + 77])]
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
        buf = bytearray()
        for i, body in enumerate(bodies):
            n = len(body)
            s.sendall(b"POST http://%s/echo/k HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
                      % (host, host, n) + body)
            deadline = time.monotonic() + 20
            r = None
            while time.monotonic() < deadline:
                try:
                    rs = parse_responses(bytes(buf))
                    if rs and rs[0].status == 200 and len(rs[0].body) and \
                            rs[0].body.endswith(b"}"):
                        r = rs[0]
                        break
                except AssertionError:
                    pass
                s.settimeout(max(0.05, deadline - time.monotonic()))
                try:
                    b = s.recv(1 << 20)
                except socket.timeout:
                    continue
                if not b:
                    break
                buf += b
            check(r is not None, f"no complete response to POST {i} ({len(buf)} bytes)")
            raw = bytes(buf)
            end = raw.find(b"\r\n\r\n") + 4
            clen = int([v for k, v in r.headers if k.lower() == "content-length"][0])
            buf = bytearray(raw[end + clen:])
            d = echo_doc(r, f"POST {i}")
            eq(d["body_len"], n, f"POST {i} body length at the upstream")
            eq(d["body_md5"], md5(body), f"POST {i} body md5 at the upstream")
        eq(len(buf), 0, "bytes after the last response")


def t_connect_with_early_bytes(gw, up, tmp):
    req = (b"CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (UP.encode(), up.port, UP.encode(),
                                                           up.port) +
           b"GET /bytes?n=1000000 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" %
           UP.encode())
    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
        s.sendall(req)
        data, closed = recv_until_close(s, 20)
    check(data.startswith(b"HTTP/1.1 200 Connection Established\r\n"),
          f"CONNECT answer: {data[:120]!r}")
    end = data.find(b"\r\n\r\n") + 4
    rs = parse_responses(data[end:])
    eq(len(rs), 1, "tunneled responses")
    eq(rs[0].status, 200, "tunneled status")
    eq(len(rs[0].body), 1000000, "tunneled body length")
    eq(md5(rs[0].body), pattern_md5(1000000), "tunneled body md5")


def small_rcvbuf_conn(port, rcvbuf=8192):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    return s


def t_slow_steady_reader(gw, up, tmp, n=3 * 1024 * 1024, pause=0.03, chunk=16384, rcvbuf=8192):
    s = small_rcvbuf_conn(gw.port, rcvbuf)
    with s:
        s.sendall(b"GET http://%s:%d/bytes?n=%d HTTP/1.1\r\nHost: %s:%d\r\nConnection: close"
                  b"\r\n\r\n" % (UP.encode(), up.port, n, UP.encode(), up.port))
        got = bytearray()
        t0 = time.monotonic()
        # ~0.5 MiB/s by default: about six idle timeouts to take it all,
        # never a second without reading
        while time.monotonic() - t0 < 40:
            s.settimeout(5)
            try:
                b = s.recv(chunk)
            except socket.timeout:
                break
            if not b:
                break
            got += b
            time.sleep(pause)
        took = time.monotonic() - t0
    rs = parse_responses(bytes(got))
    eq(len(rs), 1, "responses")
    eq(len(rs[0].body), n, f"body length after {took:.1f}s of steady reading")
    eq(md5(rs[0].body), pattern_md5(n), "body md5")
    check(took > 2 * IDLE_MS / 1000.0, f"the read took {took:.1f}s only: not a slow reader")


def t_stopped_reader_cut(gw, up, tmp):
    """Reads for a while, then stops: cut after about the idle timeout."""
    s = small_rcvbuf_conn(gw.port)
    with s:
        s.sendall(b"GET http://%s:%d/bytes?n=%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" %
                  (UP.encode(), up.port, 64 << 20, UP.encode(), up.port))
        # read steadily for a while first: the stall deadline moves later
        # several times (the lazily re-armed timer fires early and re-arms)
        t1 = time.monotonic()
        while time.monotonic() - t1 < 2.5:
            s.settimeout(5)
            check(len(s.recv(16384)) > 0, "response ended early")
            time.sleep(0.02)
        t0 = time.monotonic()
        time.sleep(2.0 + 3 * IDLE_MS / 1000.0)  # not reading: the stall timer must fire
        # now drain: the connection must end (cut) rather than deliver 64 MiB
        total = 0
        closed = False
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            s.settimeout(5)
            try:
                b = s.recv(1 << 20)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not b:
                closed = True
                break
            total += len(b)
        check(closed, f"a client that stopped reading for {time.monotonic() - t0:.0f}s "
              f"was not cut (read {total} bytes afterwards)")
        check(total < (64 << 20), "the whole response was delivered to a stalled client")


def t_sigterm_queued(tmp, up):
    pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
    args = ["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1",
            "--drain-timeout-ms", "1500", "--idle-timeout-ms", "60000"]
    gw = Gateway(pol, args=args, tmp=tmp)
    gw.start()
    try:
        s = small_rcvbuf_conn(gw.port)
        s.sendall(b"GET http://%s:%d/bytes?n=%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" %
                  (UP.encode(), up.port, 32 << 20, UP.encode(), up.port))
        time.sleep(0.5)
        s.recv(100)
        s2 = small_rcvbuf_conn(gw.port)  # an idle keep-alive one too
        time.sleep(0.3)
        t0 = time.monotonic()
        rc = gw.stop(timeout=10)
        took = time.monotonic() - t0
        eq(rc, 0, f"exit status after SIGTERM with a queued response ({took:.1f}s)")
        s.close()
        s2.close()
    finally:
        if gw.proc and gw.proc.poll() is None:
            gw._kill()
    err = gw.stderr()
    check("AddressSanitizer" not in err and "runtime error" not in err,
          f"sanitizer report: {err[-2000:]}")


def main():
    r = Runner("write_paths", budget=240)
    tmp = TempDir()
    try:
        with Upstream() as up:
            pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
            args = ["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1",
                    "--idle-timeout-ms", str(IDLE_MS)]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                for name, fn in [
                        ("pipelined CL/chunked/bodiless/CL requests in one packet", t_pipelined_bodies),
                        ("Expect: 100-continue, waiting and not waiting", t_expect_continue),
                        ("keep-alive POSTs of MiBs over one pooled upstream", t_keepalive_big_posts),
                        ("CONNECT with tunnel bytes in the head's packet", t_connect_with_early_bytes),
                        ("slow steady reader past several idle timeouts", t_slow_steady_reader),
                        ("a reader that stops is cut by the stall timer", t_stopped_reader_cut)]:
                    r.run(name, fn, gw, up, tmp)
                # the system's receive buffer lets the gateway's send buffer grow
                # to megabytes: the socket is reported writable again only
                # after more than a timeout's reading, so its progress shows
                # in the send queue (px_tx_taken)
                r.run("slow steady reader (~1.25 MiB/s) with the system's receive buffer",
                      t_slow_steady_reader, gw, up, tmp, 8 * 1024 * 1024, 0.05, 65536, 0)
            r.run("SIGTERM with a response queued to a non-reader", t_sigterm_queued, tmp, up)
    except Exception as e:  # noqa: BLE001
        r.fail("setup", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
