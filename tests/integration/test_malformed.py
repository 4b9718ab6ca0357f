#!/usr/bin/env python3
"""Smuggling and malformed-request vectors on a raw socket: each gets the right
4xx, the connection is closed after a framing error, and the upstream sees
nothing. A valid request between the vectors proves the upstream is reachable
(so "the upstream saw nothing" is not vacuous)."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import Gateway, Runner, TempDir, Upstream, check, eq, policy  # noqa: E402

UP = "up.test.example"
MAX_LINE = 4096
MAX_HEAD = 16384
MAX_HEADERS = 40
MAX_BODY = 4096


def exchange(port, data, timeout=5):
    """Sends data, returns (bytes received, closed_by_peer)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = bytearray()
    closed = False
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the proxy may answer and close before it read everything
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not b:
                closed = True
                break
            out += b
    finally:
        s.close()
    return bytes(out), closed


def status_of(data):
    if not data.startswith(b"HTTP/1.1 ") and not data.startswith(b"HTTP/1.0 "):
        return None
    try:
        return int(data[9:12])
    except ValueError:
        return None


def vectors(port):
    a = f"{UP}:{port}"
    t = f"http://{a}"
    big_path = "/" + "a" * (MAX_LINE + 100)
    many = "".join(f"X-H{i}: v\r\n" for i in range(MAX_HEADERS + 5))
    fat = "".join(f"X-Fat{i}: {'b' * 1000}\r\n" for i in range((MAX_HEAD // 1000) + 2))
    return [
        # (name, raw request, acceptable statuses)
        ("CL + TE (CL.TE smuggle)",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nContent-Length: 50\r\nTransfer-Encoding: chunked\r\n\r\n"
         f"0\r\n\r\nGET {t}/smuggled HTTP/1.1\r\nHost: {a}\r\n\r\n", {400}),
        ("TE + CL (TE.CL smuggle)",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
         f"5c\r\nGET {t}/smuggled HTTP/1.1\r\nHost: {a}\r\n\r\n0\r\n\r\n", {400}),
        ("duplicate differing Content-Length",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
         {400}),
        ("Content-Length list with differing values",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nContent-Length: 4, 5\r\n\r\nabcde", {400}),
        ("Content-Length with plus sign",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nContent-Length: +4\r\n\r\nabcd", {400}),
        ("empty Content-Length",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nContent-Length: \r\n\r\nabcd", {400}),
        ("Content-Length overflow",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nContent-Length: 99999999999999999999999\r\n\r\n",
         {400, 413}),
        ("obs-fold header",
         f"GET {t}/echo HTTP/1.1\r\nHost: {a}\r\nX-A: a\r\n b\r\n\r\n", {400}),
        ("obs-fold Transfer-Encoding",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
         {400}),
        ("bare LF line endings",
         f"GET {t}/echo HTTP/1.1\nHost: {a}\n\n", {400}),
        ("bare CR in a header",
         f"GET {t}/echo HTTP/1.1\r\nHost: {a}\r\nX-A: a\rb\r\n\r\n", {400}),
        ("NUL in a header value",
         f"GET {t}/echo HTTP/1.1\r\nHost: {a}\r\nX-A: a\x00b\r\n\r\n", {400}),
        ("whitespace before colon",
         f"GET {t}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", {400}),
        ("empty header name",
         f"GET {t}/echo HTTP/1.1\r\nHost: {a}\r\n: x\r\n\r\n", {400}),
        ("Transfer-Encoding other than chunked",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding: gzip\r\n\r\nxx", {400, 501}),
        ("Transfer-Encoding chunked not last",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
         {400, 501}),
        ("Transfer-Encoding xchunked",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
         {400, 501}),
        ("invalid chunk size",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
         {400}),
        ("chunk size overflow",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding: chunked\r\n\r\n"
         f"fffffffffffffffffff1\r\nhello\r\n0\r\n\r\n", {400, 413}),
        ("chunk data without CRLF",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
         {400}),
        ("bare LF after chunk data (http-garden T13)",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n",
         {400}),
        ("bare LF after a chunk size",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
         {400}),
        ("two Transfer-Encoding: chunked fields",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
         f"0\r\n\r\n", {400, 501}),
        ("negative Content-Length",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nContent-Length: -1\r\n\r\n", {400}),
        ("Content-Length with inner space",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nContent-Length: 1 0\r\n\r\n0123456789", {400}),
        ("non-token character in a header name",
         f"GET {t}/echo HTTP/1.1\r\nHost: {a}\r\nX-Foo]: a\r\n\r\n", {400}),
        ("double space in the request line",
         f"GET  {t}/echo HTTP/1.1\r\nHost: {a}\r\n\r\n", {400}),
        ("userinfo naming the allowed host before the real one",
         f"GET http://{a}@evil.example/echo HTTP/1.1\r\nHost: evil.example\r\n\r\n", {400, 403}),
        ("backslash authority confusion",
         f"GET http://evil.example\\@{a}/echo HTTP/1.1\r\nHost: {a}\r\n\r\n", {400, 403}),
        ("absolute-form target without a host",
         f"GET http:///echo HTTP/1.1\r\nHost: {a}\r\n\r\n", {400}),
        ("unknown scheme",
         f"GET ftp://{a}/echo HTTP/1.1\r\nHost: {a}\r\n\r\n", {400, 403, 501}),
        ("duplicate Host",
         f"GET {t}/echo HTTP/1.1\r\nHost: {a}\r\nHost: evil.example\r\n\r\n", {400}),
        ("Host disagrees with the absolute-form target",
         f"GET {t}/echo HTTP/1.1\r\nHost: evil.example\r\n\r\n", {400}),
        ("NUL in the target host",
         f"GET http://{UP}\x00.evil.example:{port}/echo HTTP/1.1\r\nHost: {a}\r\n\r\n", {400}),
        ("unsupported HTTP version",
         f"GET {t}/echo HTTP/1.2\r\nHost: {a}\r\n\r\n", {400, 505}),
        # The exact HTTP/2 preface starts an h2c session (test_h2c_downstream);
        # anything else with that request line is a bad HTTP/1.1 request.
        ("PRI request line that is not the HTTP/2 preface",
         "PRI * HTTP/2.0\r\n\r\nXY\r\n\r\n", {400, 505}),
        ("garbage request line",
         "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", {400}),
        ("request line over --max-request-line",
         f"GET {t}{big_path} HTTP/1.1\r\nHost: {a}\r\n\r\n", {414}),
        ("head over --max-head",
         f"GET {t}/echo HTTP/1.1\r\nHost: {a}\r\n{fat}\r\n", {431}),
        ("more headers than --max-headers",
         f"GET {t}/echo HTTP/1.1\r\nHost: {a}\r\n{many}\r\n", {431}),
        ("Content-Length body over --max-body",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n"
         + "x" * (MAX_BODY + 1), {413}),
        ("chunked body over --max-body",
         f"POST {t}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding: chunked\r\n\r\n"
         + "".join(f"400\r\n{'y' * 1024}\r\n" for _ in range(MAX_BODY // 1024 + 1)) + "0\r\n\r\n",
         {413}),
    ]


def valid_request(gw, up, body=b"ok"):
    a = f"{UP}:{up.port}"
    req = (f"POST http://{a}/echo HTTP/1.1\r\nHost: {a}\r\nContent-Length: {len(body)}\r\n"
           f"Connection: close\r\n\r\n").encode() + body
    data, _ = exchange(gw.port, req)
    return status_of(data)


def make_vector_check(gw, up, raw, allowed):
    def run():
        before = up.request_lines()
        data, closed = exchange(gw.port, raw.encode("latin-1"))
        st = status_of(data)
        check(st in allowed, f"status {st} (want {sorted(allowed)}); got {data[:160]!r}")
        check(closed, "connection not closed after the error response")
        # An early upstream connect without bytes is allowed (head-phase verdict
        # was allow); not one byte of the request may have reached it.
        eq(up.request_lines(), before, "request lines the upstream received")
        check(gw.alive(), "gateway died")
    return run


def t_bounds_below(gw, up):
    """Just under each limit is served (the limits are not off by a lot)."""
    a = f"{UP}:{up.port}"
    path = "/echo?" + "a" * (MAX_LINE - len(f"GET http://{a}/echo? HTTP/1.1\r\n") - 2)
    data, _ = exchange(gw.port, f"GET http://{a}{path} HTTP/1.1\r\nHost: {a}\r\n"
                       f"Connection: close\r\n\r\n".encode())
    eq(status_of(data), 200, f"request line of {MAX_LINE - 2} bytes")
    hdrs = "".join(f"X-H{i}: v\r\n" for i in range(MAX_HEADERS - 3))
    data, _ = exchange(gw.port, f"GET http://{a}/echo HTTP/1.1\r\nHost: {a}\r\n{hdrs}"
                       f"Connection: close\r\n\r\n".encode())
    eq(status_of(data), 200, f"{MAX_HEADERS - 1} header fields")
    eq(valid_request(gw, up, b"z" * MAX_BODY), 200, f"body of exactly --max-body ({MAX_BODY})")


def t_smuggled_not_forwarded(gw, up):
    """After the CL.TE vectors the upstream never saw /smuggled."""
    paths = [r["path"] for r in up.requests]
    check(not any("smuggled" in p for p in paths), f"smuggled request reached upstream: {paths}")


def main():
    r = Runner("malformed")
    tmp = TempDir()
    try:
        with Upstream() as up:
            pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
            args = ["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1",
                    "--max-request-line", str(MAX_LINE), "--max-head", str(MAX_HEAD),
                    "--max-headers", str(MAX_HEADERS), "--max-body", str(MAX_BODY)]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                r.run("valid request reaches the upstream", lambda: eq(valid_request(gw, up), 200,
                                                                        "status"))
                for name, raw, allowed in vectors(up.port):
                    r.run(name, make_vector_check(gw, up, raw, allowed))
                r.run("just under the limits is served", t_bounds_below, gw, up)
                r.run("smuggled requests never reached the upstream", t_smuggled_not_forwarded,
                      gw, up)
                r.run("valid request still served after all vectors",
                      lambda: eq(valid_request(gw, up), 200, "status"))
    except Exception as e:
        r.fail("gateway lifecycle", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
