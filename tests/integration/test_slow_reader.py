#!/usr/bin/env python3
"""Backpressure: a client that reads 64 KiB of a 200 MB response and stalls
must not make sovgw buffer the response (RSS stays bounded); when it resumes
reading, every byte arrives intact. HTTP/1.1 upstream, CONNECT tunnel, and an
h2 upstream (nghttpd over TLS: the h2 flow-control window must follow the
client)."""

import hashlib
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import (CA, Gateway, Nghttpd, Runner, TempDir, Upstream, check, eq, md5,  # noqa: E402
                 pattern_chunk, pattern_md5, policy, read_one_response)

UP = "up.test.example"
H2 = "h2.test.example"
SIZE = 200 * 1024 * 1024
RSS_BOUND_KB = 64 * 1024
STALL_S = 4.0


class Plain:
    def __init__(self, h):
        self.h, self.n = h, 0

    def feed(self, b):
        self.n += len(b)
        self.h.update(b)


class Dechunker(Plain):
    """Incremental chunked decoder (the proxy may re-frame an h2 body)."""

    def __init__(self, h):
        super().__init__(h)
        self.buf = b""
        self.left = 0      # data bytes left in the current chunk
        self.crlf = False  # expecting the CRLF after a chunk
        self.done = False  # last chunk seen (trailers are ignored)

    def feed(self, b):
        if self.done:
            return
        self.buf += b
        while self.buf:
            if self.left:
                take = self.buf[:self.left]
                super().feed(take)
                self.left -= len(take)
                self.buf = self.buf[len(take):]
                if not self.left:
                    self.crlf = True
                continue
            if self.crlf:
                if len(self.buf) < 2:
                    return
                check(self.buf[:2] == b"\r\n", "bad chunk framing from the proxy")
                self.buf = self.buf[2:]
                self.crlf = False
                continue
            i = self.buf.find(b"\r\n")
            if i < 0:
                return
            size = int(self.buf[:i].split(b";")[0], 16)
            self.buf = self.buf[i + 2:]
            if size == 0:
                self.buf = b""
                self.done = True
                return
            self.left = size


def t_slow_reader(gw, up, via_connect=False, h2=None):
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
        if h2:
            # https absolute-form: sovgw is the TLS + h2 client of nghttpd
            s.sendall(f"GET https://{H2}:{h2.port}/big HTTP/1.1\r\nHost: {H2}:{h2.port}\r\n"
                      f"Connection: close\r\n\r\n".encode())
        elif via_connect:
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
        head = bytes(got[:head_end]).lower()
        sink = Dechunker(h) if b"transfer-encoding: chunked" in head else Plain(h)
        sink.feed(bytes(got[head_end + 4:]))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            b = s.recv(1 << 20)
            if not b:
                break
            sink.feed(b)
        body_n = sink.n
        eq(body_n, SIZE, "body bytes received after resuming")
        eq(h.hexdigest(), ZEROS_MD5 if h2 else pattern_md5(SIZE), "body md5")
    finally:
        s.close()
    check(gw.alive(), "gateway died")


UPLOAD = 48 * 1024 * 1024


class SlowSink:
    """An origin that reads a request head, stalls, then drains the
    Content-Length body and answers with its length and md5."""

    def __init__(self, stall):
        self.stall = stall
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(30)
        self.port = self.sock.getsockname()[1]
        self.result = {}
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            c, _ = self.sock.accept()
        except OSError:
            return
        with c:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            c.settimeout(60)
            buf = b""
            while b"\r\n\r\n" not in buf:
                b = c.recv(65536)
                if not b:
                    return
                buf += b
            head, _, rest = buf.partition(b"\r\n\r\n")
            n = None
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    n = int(v)
            self.result["head"] = head
            time.sleep(self.stall)  # the stall: sovgw must stop reading the client
            h = hashlib.md5(rest)
            got = len(rest)
            while n is not None and got < n:
                b = c.recv(1 << 20)
                if not b:
                    break
                got += len(b)
                h.update(b)
            self.result.update(len=got, md5=h.hexdigest())
            body = f'{{"len": {got}}}'.encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                      % (len(body), body))

    def close(self):
        self.sock.close()


def t_slow_upstream_upload(gw, sink):
    base = gw.rss_kb()
    a = f"{UP}:{sink.port}"
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=60)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sent = [0]
    err = []

    def push():
        try:
            s.sendall(f"POST http://{a}/upload HTTP/1.1\r\nHost: {a}\r\nContent-Length: {UPLOAD}\r\n"
                      f"Connection: close\r\n\r\n".encode())
            off = 0
            while off < UPLOAD:
                chunk = pattern_chunk(off, min(1 << 20, UPLOAD - off))
                s.sendall(chunk)
                off += len(chunk)
                sent[0] = off
        except OSError as e:
            err.append(repr(e))
    th = threading.Thread(target=push, daemon=True)
    th.start()
    peak = base
    t_end = time.monotonic() + STALL_S
    while time.monotonic() < t_end:
        peak = max(peak, gw.rss_kb())
        time.sleep(0.1)
    stalled_at = sent[0]
    check(peak - base < RSS_BOUND_KB,
          f"RSS grew by {(peak - base) // 1024} MiB while the upstream did not read "
          f"(client had pushed {stalled_at >> 20} MiB): the upload is buffered, not back-pressured")
    check(stalled_at < UPLOAD, "the whole upload was accepted while the upstream read nothing")
    th.join(60)
    check(not err, f"client send failed: {err}")
    resp = read_one_response(s, timeout=60)
    s.close()
    eq(resp.status, 200, "upload status")
    eq(sink.result.get("len"), UPLOAD, "bytes the upstream received")
    eq(sink.result.get("md5"), md5(pattern_chunk(0, UPLOAD)), "upload md5 at the upstream")


def zeros_md5(n):
    h = hashlib.md5()
    block = bytes(1 << 20)
    while n > 0:
        h.update(block[:min(n, len(block))])
        n -= len(block)
    return h.hexdigest()


ZEROS_MD5 = zeros_md5(SIZE)


def main():
    r = Runner("slow_reader")
    tmp = TempDir()
    try:
        ca = CA(tmp.join("ca"))
        leaf = ca.leaf([H2])
        os.makedirs(tmp.join("htdocs"))
        with open(tmp.join("htdocs", "big"), "wb") as f:
            f.truncate(SIZE)  # sparse: 200 MB of zeros without writing them
        with Upstream() as up, Nghttpd(tmp.join("htdocs"), tls=leaf, workdir=tmp.path) as ng:
            pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow"),
                          ("allow-h2", {"host": [H2], "port": [ng.port]}, "allow")])
            args = ["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1",
                    "--resolve", f"{H2}:{ng.port}:127.0.0.1", "--upstream-ca", ca.cert,
                    "--idle-timeout-ms", "60000"]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                r.run("stalled reader of a 200 MB response: bounded RSS, all bytes delivered",
                      t_slow_reader, gw, up)
                r.run("same through a CONNECT tunnel", t_slow_reader, gw, up, True)
                r.run("same from an h2 upstream (flow control follows the client)",
                      t_slow_reader, gw, up, False, ng)
            sink = SlowSink(STALL_S + 1)
            try:
                pol2 = policy([("allow-sink", {"host": [UP], "port": [sink.port]}, "allow")])
                args2 = ["--workers", "1", "--resolve", f"{UP}:{sink.port}:127.0.0.1",
                         "--max-body", "64MiB"]
                with Gateway(pol2, args=args2, tmp=tmp) as gw2:
                    r.run("upstream that stalls reading a 48 MB upload: bounded RSS, body intact",
                          t_slow_upstream_upload, gw2, sink)
            finally:
                sink.close()
    except Exception as e:
        r.fail("gateway lifecycle", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
