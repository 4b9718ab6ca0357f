#!/usr/bin/env python3
"""What the client gets when the upstream misbehaves: refused connection → 502,
no response head within --upstream-timeout-ms → 504, malformed or ambiguous
response framing → 502 (never relayed), plus Expect: 100-continue and a
client that never finishes its head (--header-timeout-ms)."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import (Gateway, RawUpstream, Runner, TempDir, Upstream, check, curl_status, eq,  # noqa: E402
                 free_port, md5, pattern_chunk, policy)

UP = "up.test.example"
CLOSED = "closed.test.example"
RAW = "raw.test.example"

BAD_RESPONSES = [
    ("CL and TE together",
     b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("differing duplicate Content-Length",
     b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
    ("invalid status line", b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok"),
    ("not HTTP at all", b"SSH-2.0-OpenSSH_9.2\r\n\r\n"),
    ("obs-fold in a response header",
     b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok"),
    ("invalid chunk size in the response",
     b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
    ("connection closed before any response", None),
]
MID_BODY = {"invalid chunk size in the response"}


def t_refused(gw, ctx):
    code, body, r = curl_status("-x", gw.proxy_url, f"http://{CLOSED}:{ctx['closed_port']}/")
    eq(code, 502, f"status for a refused upstream connection: {body[:200]!r}")


def t_timeout(gw, ctx):
    up = ctx["up"]
    code, body, r = curl_status("-x", gw.proxy_url, f"http://{UP}:{up.port}/slow?ms=6000")
    eq(code, 504, f"status for an upstream slower than --upstream-timeout-ms: {body[:200]!r}")
    # a fast request on the same gateway is still served
    code, body, r = curl_status("-x", gw.proxy_url, f"http://{UP}:{up.port}/status?code=201")
    eq(code, 201, "fast request after a timeout")


def make_bad_response(gw, ctx, idx):
    def run():
        ctx["script"][0] = BAD_RESPONSES[idx][1]
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        try:
            a = f"{RAW}:{ctx['raw'].port}"
            s.sendall(f"GET http://{a}/x HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                b = s.recv(65536)
                if not b:
                    break
                data += b
        finally:
            s.close()
        name = BAD_RESPONSES[idx][0]
        if name in MID_BODY:
            # The head was valid and may already be on its way: the client must
            # then see an aborted response (closed before the final chunk).
            check(data.startswith(b"HTTP/1.1 502") or
                  (not data.endswith(b"0\r\n\r\n") and b"hello" not in data),
                  f"want a 502 or an aborted response, got {data[:200]!r}")
        else:
            check(data.startswith(b"HTTP/1.1 502"), f"want a 502, got {data[:200]!r}")
        check(gw.alive(), "gateway died")
    return run


def t_expect_continue(gw, ctx):
    up = ctx["up"]
    body = pattern_chunk(5, 200 * 1024)
    f = ctx["tmp"].write("expect.bin", body)
    code, out, r = curl_status("-x", gw.proxy_url, "-H", "Expect: 100-continue",
                               "--data-binary", f"@{f}", f"http://{UP}:{up.port}/echo")
    eq(code, 200, f"status ({r.stderr.strip()})")
    doc = json.loads(out)
    eq(doc["body_md5"], md5(body), "body md5 at the upstream with Expect: 100-continue")


def t_header_timeout(gw, ctx):
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    try:
        s.sendall(f"GET http://{UP}:{ctx['up'].port}/ HTTP/1.1\r\nHost: ".encode())
        t0 = time.monotonic()
        data = b""
        while time.monotonic() - t0 < 8:
            try:
                b = s.recv(4096)
            except (socket.timeout, ConnectionResetError):
                break
            if not b:
                break
            data += b
        check(time.monotonic() - t0 < 8, "an unfinished head held the connection for 8 s "
              "with --header-timeout-ms 1000")
        check(data == b"" or data.startswith(b"HTTP/1.1 408"), f"unexpected answer {data[:100]!r}")
    finally:
        s.close()


def main():
    r = Runner("upstream_errors")
    tmp = TempDir()
    script = [None]
    try:
        with Upstream() as up, RawUpstream(lambda head: script[0]) as raw:
            closed_port = free_port()  # nothing listens there
            pol = policy([
                ("allow-up", {"host": [UP], "port": [up.port]}, "allow"),
                ("allow-closed", {"host": [CLOSED]}, "allow"),
                ("allow-raw", {"host": [RAW], "port": [raw.port]}, "allow"),
            ])
            args = ["--workers", "1", "--upstream-timeout-ms", "1500", "--header-timeout-ms", "1000",
                    "--resolve", f"{UP}:{up.port}:127.0.0.1",
                    "--resolve", f"{CLOSED}:{closed_port}:127.0.0.1",
                    "--resolve", f"{RAW}:{raw.port}:127.0.0.1"]
            ctx = {"up": up, "raw": raw, "closed_port": closed_port, "script": script, "tmp": tmp}
            with Gateway(pol, args=args, tmp=tmp) as gw:
                r.run("refused upstream connection: 502", t_refused, gw, ctx)
                r.run("upstream slower than --upstream-timeout-ms: 504", t_timeout, gw, ctx)
                for i, (name, _) in enumerate(BAD_RESPONSES):
                    r.run(f"upstream response: {name} → 502", make_bad_response(gw, ctx, i))
                r.run("Expect: 100-continue body forwarded intact", t_expect_continue, gw, ctx)
                r.run("unfinished request head closed by --header-timeout-ms", t_header_timeout,
                      gw, ctx)
    except Exception as e:
        r.fail("gateway lifecycle", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
