#!/usr/bin/env python3
"""A short mixed-traffic soak: 16 client threads for ~8 s send a seeded random
mix of allowed and denied requests, bodies, malformed requests, CONNECT
tunnels and clients that vanish mid-request or mid-response. Afterwards the
gateway still serves, client connections drain to 0, every decision is both
logged and counted in the metrics, and (at exit) no sanitizer report."""

import hashlib
import http.client
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import (Gateway, Runner, TempDir, Upstream, check, eq, pattern_md5, policy,  # noqa: E402
                 wait_until)

UP = "up.test.example"
DENIED = "denied.test.example"
THREADS = 16
DURATION = 8.0
SEED = int(os.environ.get("SGW_SOAK_SEED", "20261126"))


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.errors = []

    def add(self, k, err=None):
        with self.lock:
            self.counts[k] = self.counts.get(k, 0) + 1
            if err and len(self.errors) < 20:
                self.errors.append(f"{k}: {err}")


def one(gw, up, rng, st):
    a = f"{UP}:{up.port}"
    kind = rng.choice(["get", "get", "bytes", "post", "chunked", "denied", "malformed",
                       "abort_body", "abort_response", "connect", "connect_denied"])
    if kind in ("get", "bytes", "post", "denied"):
        c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=15)
        try:
            if kind == "get":
                c.request("GET", f"http://{a}/echo")
                r = c.getresponse()
                r.read()
                ok = r.status == 200
            elif kind == "bytes":
                n = rng.randrange(1, 3 << 20)
                c.request("GET", f"http://{a}/bytes?n={n}")
                r = c.getresponse()
                ok = r.status == 200 and hashlib.md5(r.read()).hexdigest() == pattern_md5(n)
            elif kind == "post":
                body = rng.randbytes(rng.randrange(0, 200000))
                c.request("POST", f"http://{a}/echo", body=body)
                r = c.getresponse()
                import json
                ok = r.status == 200 and json.loads(r.read())["body_md5"] == hashlib.md5(body).hexdigest()
            else:
                c.request("GET", f"http://{DENIED}:{up.port}/x")
                r = c.getresponse()
                r.read()
                ok = r.status == 403
            st.add(kind, None if ok else f"status {r.status}")
            if not ok:
                st.add("failed", f"{kind} status {r.status}")
        finally:
            c.close()
        return
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=15)
    try:
        if kind == "chunked":
            s.sendall(f"POST http://{a}/echo HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding: chunked\r\n"
                      f"Connection: close\r\n\r\n".encode())
            for _ in range(rng.randrange(1, 20)):
                part = rng.randbytes(rng.randrange(1, 5000))
                s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            s.sendall(b"0\r\n\r\n")
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
            ok = data.startswith(b"HTTP/1.1 200")
        elif kind == "malformed":
            s.sendall(rng.choice([
                f"POST http://{a}/echo HTTP/1.1\r\nHost: {a}\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                f"GET http://{a}/echo HTTP/1.1\r\nHost: {a}\r\nX: a\r\n b\r\n\r\n",
                f"GET http://{a}/echo HTTP/1.1\nHost: {a}\n\n",
                "\x00\x01\x02garbage\r\n\r\n",
            ]).encode("latin-1"))
            data = s.recv(4096)
            ok = data.startswith(b"HTTP/1.1 4")
        elif kind == "abort_body":
            s.sendall(f"POST http://{a}/echo HTTP/1.1\r\nHost: {a}\r\nContent-Length: 100000\r\n\r\n"
                      .encode() + b"x" * rng.randrange(0, 50000))
            ok = True
        elif kind == "abort_response":
            s.sendall(f"GET http://{a}/bytes?n=20000000 HTTP/1.1\r\nHost: {a}\r\n\r\n".encode())
            s.recv(rng.randrange(1, 65536))
            ok = True
        else:  # connect / connect_denied: a plain-HTTP request through the tunnel
            host = UP if kind == "connect" else DENIED
            s.sendall(f"CONNECT {host}:{up.port} HTTP/1.1\r\nHost: {host}:{up.port}\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                b = s.recv(1)
                if not b:
                    break
                head += b
            if kind == "connect_denied":
                ok = head.startswith(b"HTTP/1.1 403")
            else:
                ok = head.startswith(b"HTTP/1.1 200")
                if ok:
                    s.sendall(f"GET /echo HTTP/1.1\r\nHost: {host}:{up.port}\r\nConnection: close\r\n\r\n"
                              .encode())
                    data = b""
                    while True:
                        b = s.recv(65536)
                        if not b:
                            break
                        data += b
                    ok = data.startswith(b"HTTP/1.1 200")
        st.add(kind, None if ok else "unexpected answer")
        if not ok:
            st.add("failed", kind)
    finally:
        s.close()


def t_soak(gw, up):
    st = Stats()
    deadline = time.monotonic() + DURATION

    def worker(i):
        rng = random.Random(SEED * 100 + i)
        n = 0
        while time.monotonic() < deadline and n < 2000:
            n += 1
            try:
                one(gw, up, rng, st)
            except Exception as e:  # counted; the assertions below decide
                st.add("exception", repr(e))
                st.add("failed", repr(e))
    ths = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(THREADS)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(DURATION + 60)
    print(f"# seed {SEED}: {sorted(st.counts.items())}")
    check(not any(t.is_alive() for t in ths), "client threads still running")
    check(gw.alive(), "gateway died during the soak")
    eq(st.counts.get("failed", 0), 0, f"failed operations (first: {st.errors[:5]})")
    check(sum(st.counts.values()) >= 100, f"too little traffic: {st.counts}")
    # still serving, connections drained, logs and metrics agree
    st_code, _, _ = gw.request("GET", f"http://{UP}:{up.port}/echo")
    eq(st_code, 200, "request after the soak")
    wait_until(lambda: gw.metrics().get("sovgw_active_connections") == 0, 20,
               "client connections to drain to 0")

    def agree():
        m = gw.metrics()
        return int(m.get("sovgw_requests_total")) == len(gw.decisions()) and m
    wait_until(agree, 10, "decision log lines == sovgw_requests_total")


def main():
    r = Runner("soak")
    tmp = TempDir()
    try:
        with Upstream() as up:
            pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
            args = ["--workers", "2", "--resolve", f"{UP}:{up.port}:127.0.0.1",
                    "--resolve", f"{DENIED}:{up.port}:127.0.0.1", "--max-body", "1MiB",
                    "--header-timeout-ms", "5000", "--idle-timeout-ms", "5000"]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                r.run(f"{THREADS} clients, {DURATION:.0f} s of mixed traffic", t_soak, gw, up)
    except Exception as e:
        r.fail("gateway lifecycle", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
