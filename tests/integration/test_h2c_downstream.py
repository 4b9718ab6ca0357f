#!/usr/bin/env python3
"""Downstream HTTP/2 cleartext with prior knowledge: a client that opens with
the HTTP/2 preface gets an HTTP/2 session on the proxy listener; each stream
is one proxied request (:authority = target host:port, :scheme http/https).

Real clients: nghttp (prior knowledge), h2load (many concurrent streams) and
python3-h2 for frame-level cases: GET/POST through an HTTP/1.1 upstream and a
TLS h2 upstream (nghttpd) with bodies intact, policy denial (403 JSON, nothing
upstream), bad request heads (400/431/501, connection-specific fields reset),
rapid reset (GOAWAY, gateway healthy, nothing upstream), a reader that stops
reading a large response (gateway RSS bounded, then every byte arrives), and
SIGTERM drain (GOAWAY, the in-flight stream completes)."""

import json
import os
import re
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import need_h2  # noqa: E402

need_h2()
import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.events  # noqa: E402
import h2.settings  # noqa: E402
from sgw import (CA, CLEAN_ENV, Gateway, Nghttpd, Runner, TempDir, Upstream, check, eq,  # noqa: E402
                 md5, pattern_chunk, pattern_md5, policy, resolve_args, sanitizer_report,
                 wait_until)

# Under ASan, freed memory sits in a quarantine (256 MB by default): keep it
# small so that the RSS bounds below measure the gateway, not the sanitizer.
_asan = CLEAN_ENV.get("ASAN_OPTIONS", "")
CLEAN_ENV["ASAN_OPTIONS"] = (_asan + ":" if _asan else "") + "quarantine_size_mb=8"

UP = "up.test.example"
H2 = "h2.test.example"
DENIED = "denied.test.example"
BIG = 64 * 1024 * 1024
RSS_BOUND_KB = 64 * 1024


class H2Client:
    """A python3-h2 client connection to the gateway (prior knowledge).
    Outbound header validation is off so that tests can send what a hostile
    client would."""

    def __init__(self, port, window=None, auto_ack=True, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                        validate_outbound_headers=False,
                                        normalize_outbound_headers=False,
                                        validate_inbound_headers=False)
        self.c = h2.connection.H2Connection(cfg)
        self.c.initiate_connection()
        if window is not None:
            self.c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.flush()
        self.auto_ack = auto_ack
        self.streams = {}
        self.goaway = None
        self.closed = False

    def flush(self):
        data = self.c.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, method, authority, path, headers=(), body=None, scheme="http", end=True):
        sid = self.c.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", scheme), (":path", path)]
        if authority is not None:
            hdrs.insert(1, (":authority", authority))
        hdrs += list(headers)
        self.streams[sid] = {"headers": None, "data": bytearray(), "ended": False,
                             "reset": None}
        self.c.send_headers(sid, hdrs, end_stream=(body is None and end))
        self.flush()
        if body is not None:
            self.send_body(sid, body, end=end)
        return sid

    def send_body(self, sid, body, end=True):
        off = 0
        st = self.streams[sid]
        while off < len(body):
            if st["reset"] is not None or st["ended"] or self.closed:
                return  # answered (or reset) before the whole body went out
            win = min(self.c.local_flow_control_window(sid), self.c.max_outbound_frame_size)
            if win <= 0:
                self.pump(1.0)
                continue
            chunk = body[off:off + win]
            self.c.send_data(sid, chunk)
            off += len(chunk)
            self.flush()
        if end:
            self.c.end_stream(sid)
            self.flush()

    def pump(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return False
        except OSError:
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        for ev in self.c.receive_data(data):
            st = self.streams.get(getattr(ev, "stream_id", None))
            if isinstance(ev, h2.events.ResponseReceived):
                st["headers"] = dict(ev.headers)
            elif isinstance(ev, h2.events.DataReceived):
                if st is not None:
                    st["data"] += ev.data
                if self.auto_ack:
                    self.c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                st["ended"] = True
            elif isinstance(ev, h2.events.StreamReset):
                if st is not None:
                    st["reset"] = ev.error_code
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.goaway = ev
        try:
            self.flush()
        except OSError:
            self.closed = True
        return True

    def wait(self, pred, timeout, what):
        end = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > end:
                raise AssertionError(f"timeout waiting for {what}")
            if self.closed:
                if pred():
                    break
                raise AssertionError(f"connection closed waiting for {what}")
            self.pump(0.2)

    def response(self, sid, timeout=15):
        st = self.streams[sid]
        self.wait(lambda: st["ended"] or st["reset"] is not None, timeout, f"stream {sid}")
        return st

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def decisions(gw):
    return gw.log_lines()


def nghttp_cmd(gw, authority, path, extra=()):
    return ["nghttp", "-H", f":authority: {authority}", *extra,
            f"http://127.0.0.1:{gw.port}{path}"]


def nghttp(gw, authority, path, extra=(), timeout=30):
    return subprocess.run(nghttp_cmd(gw, authority, path, extra), capture_output=True,
                          timeout=timeout, env=CLEAN_ENV)


def status(st):
    """":status" of a stream's response, or "reset <code>" / "none"."""
    if st["headers"] is not None:
        return st["headers"].get(":status")
    return f"reset {st['reset']}" if st["reset"] is not None else "none"

def still_serves(gw, up, path, after):
    """One fresh HTTP/2 connection gets a 200 from the upstream: the gateway
    survived what the test just did to it."""
    c = H2Client(gw.port)
    try:
        st = c.response(c.request("GET", f"{UP}:{up.port}", path))
    finally:
        c.close()
    eq(status(st), "200", f"gateway answers after {after}")



# ------------------------------------------------------------------ cases

def t_get_h1(gw, up, tmp):
    c = H2Client(gw.port)
    try:
        sid = c.request("GET", f"{UP}:{up.port}", "/hello?x=1", headers=[("user-agent", "t")])
        st = c.response(sid)
    finally:
        c.close()
    eq(st["headers"].get(":status"), "200", "status")
    eq(bytes(st["data"]), b"hello from upstream\n", "body")
    eq(st["headers"].get("x-upstream"), "itest", "upstream header forwarded")
    check(st["headers"].get("x-sovgw-decision", "").startswith("allow; rule=allow-up"),
          f"decision header: {st['headers']}")
    for k in ("connection", "keep-alive", "transfer-encoding"):
        check(k not in st["headers"], f"connection-specific field {k} forwarded into h2")
    c = H2Client(gw.port)
    try:
        sh = c.response(c.request("HEAD", f"{UP}:{up.port}", "/hello?head=1"))
    finally:
        c.close()
    eq((status(sh), sh["headers"].get("content-length"), bytes(sh["data"])), ("200", "20", b""),
       "HEAD: the length of the body it would have, no DATA")
    got = [r for r in up.requests if r["path"] == "/hello?x=1"]
    eq(len(got), 1, "upstream saw the request once")
    host = {k.lower(): v for k, v in got[0]["headers"].items()}.get("host")
    eq(host, f"{UP}:{up.port}", "Host from :authority")
    wait_until(lambda: any(d.get("path") == "/hello?x=1" for d in decisions(gw)), 5,
               "decision log line")
    d = [d for d in decisions(gw) if d.get("path") == "/hello?x=1"][0]
    eq((d["proto"], d["verdict"], d["status"], d["host"], d["rule"]),
       ("h2", "allow", 200, UP, "allow-up"), "decision log fields")


def t_nghttp_get(gw, up, tmp):
    r = nghttp(gw, f"{UP}:{up.port}", "/chunked")
    eq(r.returncode, 0, f"nghttp exit ({r.stderr[-500:]!r})")
    eq(r.stdout, b"hello chunked world" + pattern_chunk(0, 10000), "re-framed chunked body")


def t_post_bodies(gw, up, tmp):
    """Content-Length body, and a body without a length (chunked toward h1),
    both larger than the stream window (flow control must reopen it)."""
    c = H2Client(gw.port)
    try:
        body = os.urandom(700 * 1024)
        s1 = c.request("POST", f"{UP}:{up.port}", "/echo/cl",
                       headers=[("content-length", str(len(body)))], body=body)
        s2 = c.request("POST", f"{UP}:{up.port}", "/echo/nocl", body=body[:300000])
        r1, r2 = c.response(s1, 30), c.response(s2, 30)
    finally:
        c.close()
    eq(r1["headers"].get(":status"), "200", "status with content-length")
    eq(r2["headers"].get(":status"), "200", "status without content-length")
    d1, d2 = json.loads(bytes(r1["data"])), json.loads(bytes(r2["data"]))
    eq((d1["body_len"], d1["body_md5"]), (len(body), md5(body)), "body with content-length")
    eq((d2["body_len"], d2["body_md5"]), (300000, md5(body[:300000])), "body without length")


def t_denied(gw, up, tmp):
    before = up.request_lines()
    c = H2Client(gw.port)
    try:
        s1 = c.request("GET", f"{DENIED}:{up.port}", "/secret")
        s2 = c.request("POST", f"{DENIED}:{up.port}", "/upload", body=b"x" * 100000)
        s3 = c.request("GET", "127.0.0.1:%d" % up.port, "/private")
        r1, r2, r3 = c.response(s1), c.response(s2), c.response(s3)
        # The connection is still usable after denials.
        s4 = c.request("GET", f"{UP}:{up.port}", "/after-deny")
        r4 = c.response(s4)
    finally:
        c.close()
    for r, rule in ((r1, "deny-denied"), (r2, "deny-denied")):
        eq(r["headers"].get(":status"), "403", "denied status")
        eq(r["headers"].get("content-type"), "application/json", "denied content-type")
        eq(r["headers"].get("x-sovgw-decision"), f"deny; rule={rule}", "decision header")
        doc = json.loads(bytes(r["data"]))
        eq(doc["rule"], rule, "JSON rule")
        check(doc["error"] and "reason" in doc, f"JSON body {doc}")
    eq(r3["headers"].get(":status"), "403", "loopback target refused (private-range guard)")
    eq(r4["headers"].get(":status"), "200", "allowed after denials on the same connection")
    eq(up.request_lines() - before, 1, "only the allowed request reached the upstream")


def t_bad_heads(gw, up, tmp):
    before = up.request_lines()
    c = H2Client(gw.port)
    try:
        s_noauth = c.request("GET", None, "/x")
        s_conn = c.request("GET", f"{UP}:{up.port}", "/x", headers=[("connection", "close")])
        s_connect = c.request("CONNECT", f"{UP}:{up.port}", "/")
        s_scheme = c.request("GET", f"{UP}:{up.port}", "/x", scheme="ftp")
        s_userinfo = c.request("GET", f"u@{UP}:{up.port}", "/x")
        big = [(f"x-h{i}", "v" * 200) for i in range(600)]
        s_big = c.request("GET", f"{UP}:{up.port}", "/x", headers=big)
        # HPACK bomb: one 4000-byte field indexed once, then referenced 2000
        # times (a few KiB on the wire, 8 MB decoded).
        s_bomb = c.request("GET", f"{UP}:{up.port}", "/x", headers=[("x-bomb", "b" * 4000)] * 2000)
        res = {k: c.response(s) for k, s in (("noauth", s_noauth), ("conn", s_conn),
                                              ("connect", s_connect), ("scheme", s_scheme),
                                              ("userinfo", s_userinfo), ("big", s_big),
                                              ("bomb", s_bomb))}
        s_ok = c.request("GET", f"{UP}:{up.port}", "/still-ok")
        ok = c.response(s_ok)
    finally:
        c.close()
    # nghttp2 itself resets it (PROTOCOL_ERROR), or the gateway answers 400.
    check(status(res["noauth"]) in ("400", "reset 1"), f"missing :authority: {status(res['noauth'])}")
    check(res["conn"]["reset"] is not None,
          f"connection field must reset the stream (RFC 9113 8.2.2): {res['conn']}")
    eq(status(res["scheme"]), "400", "unsupported :scheme")
    eq(status(res["userinfo"]), "400", "userinfo in :authority")
    eq(status(res["big"]), "431", "header list beyond max-head")
    eq(status(res["bomb"]), "431", "HPACK bomb")
    check(rss_kb(gw.pid) < 256 * 1024, f"gateway RSS {rss_kb(gw.pid)} KiB after the HPACK bomb")
    connect = res["connect"]
    check(status(connect) == "400" or connect["reset"] is not None,
          f"CONNECT with :scheme and :path refused: {status(connect)}")
    eq(status(ok), "200", "connection still usable")
    eq(up.request_lines() - before, 1, "no refused request reached the upstream")


def connect_stream(c, authority):
    sid = c.c.get_next_available_stream_id()
    c.streams[sid] = {"headers": None, "data": bytearray(), "ended": False, "reset": None}
    c.c.send_headers(sid, [(":method", "CONNECT"), (":authority", authority)])
    c.flush()
    return sid


def t_connect_tunnel(gw, up, tmp):
    """CONNECT over HTTP/2 (RFC 9113 8.5): 200 on the stream, then an
    HTTP/1.1 exchange with the upstream carried in DATA frames both ways; the
    client's END_STREAM half-closes toward the upstream. A denied CONNECT is
    a 403 and opens nothing; a CONNECT without a port is refused."""
    c = H2Client(gw.port)
    try:
        sid = connect_stream(c, f"{UP}:{up.port}")
        st = c.streams[sid]
        c.wait(lambda: st["headers"] is not None or st["reset"] is not None, 10, "CONNECT answer")
        eq(status(st), "200", "CONNECT status")
        check(st["headers"].get("x-sovgw-decision", "").startswith("allow; rule=allow-up"),
              f"decision header {st['headers']}")
        req = (f"GET /through-h2-tunnel HTTP/1.1\r\nHost: {UP}:{up.port}\r\n"
               "Connection: close\r\n\r\n").encode()
        c.c.send_data(sid, req, end_stream=True)
        c.flush()
        c.wait(lambda: st["ended"] or st["reset"] is not None, 15, "tunnel end")
        before = up.request_lines()
        sd = connect_stream(c, f"{DENIED}:{up.port}")
        sn = connect_stream(c, UP)
        rd, rn = c.response(sd), c.response(sn)
    finally:
        c.close()
    data = bytes(st["data"])
    check(data.startswith(b"HTTP/1.1 200"), f"upstream answer through the tunnel: {data[:80]!r}")
    check(data.endswith(b"hello from upstream\n"), f"body through the tunnel: {data[-60:]!r}")
    check(st["reset"] is None, f"tunnel stream reset {st['reset']}")
    eq(status(rd), "403", "denied CONNECT")
    check(status(rn) == "400" or rn["reset"] is not None, f"CONNECT without a port: {status(rn)}")
    eq(up.request_lines() - before, 0, "denied/refused CONNECT reached the upstream")
    got = [r for r in up.requests if r["path"] == "/through-h2-tunnel"]
    eq(len(got), 1, "upstream saw the tunnelled request")
    wait_until(lambda: any(d.get("method") == "CONNECT" and d.get("verdict") == "allow"
                           for d in decisions(gw)), 5, "decision log line of the tunnel")
    d = [d for d in decisions(gw) if d.get("method") == "CONNECT" and d.get("verdict") == "allow"][0]
    eq((d["proto"], d["host"], d["port"]), ("h2", UP, up.port), "tunnel log fields")
    check(d["bytes_in"] >= len(req) and d["bytes_out"] >= len(data),
          f"tunnel byte counts {d['bytes_in']}/{d['bytes_out']}")


def t_connect_bulk(gw, up, tmp):
    """8 MB down and 2 MB up through one CONNECT stream, the client reading
    slowly at first: flow control both ways, every byte intact."""
    n, body = 8 << 20, os.urandom(2 << 20)
    c = H2Client(gw.port, auto_ack=False, timeout=30)
    try:
        sid = connect_stream(c, f"{UP}:{up.port}")
        st = c.streams[sid]
        c.wait(lambda: st["headers"] is not None or st["reset"] is not None, 10, "CONNECT answer")
        eq(status(st), "200", "CONNECT status")
        req = (f"POST /echo/up HTTP/1.1\r\nHost: {UP}:{up.port}\r\nContent-Length: {len(body)}"
               "\r\n\r\n").encode() + body
        req += f"GET /bytes?n={n} HTTP/1.1\r\nHost: {UP}:{up.port}\r\nConnection: close\r\n\r\n".encode()
        c.send_body(sid, req, end=True)
        for _ in range(10):  # window closed: the gateway must hold back, not buffer 8 MB
            c.pump(0.2)
        c.c.acknowledge_received_data(len(st["data"]), sid)
        c.auto_ack = True
        c.flush()
        c.wait(lambda: st["ended"] or st["reset"] is not None, 120, "tunnel end")
    finally:
        c.close()
    data = bytes(st["data"])
    check(st["reset"] is None, f"tunnel stream reset {st['reset']}")
    head1, rest = data.split(b"\r\n\r\n", 1)
    cl = int(re.search(rb"(?i)content-length: *(\d+)", head1).group(1))
    doc = json.loads(rest[:cl])
    eq((doc["body_len"], doc["body_md5"]), (len(body), md5(body)), "2 MB up through the tunnel")
    head2, down = rest[cl:].split(b"\r\n\r\n", 1)
    check(head2.startswith(b"HTTP/1.1 200"), f"second answer {head2[:40]!r}")
    eq((len(down), md5(down)), (n, pattern_md5(n)), "8 MB down through the tunnel")


def t_connect_tls(gw, upt, ca):
    """https through CONNECT over HTTP/2: a TLS client (verifying the origin's
    certificate) runs inside the stream's DATA frames."""
    import ssl
    ctx = ssl.create_default_context(cafile=ca.cert)
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, outg, server_hostname=UP)
    c = H2Client(gw.port)
    try:
        sid = connect_stream(c, f"{UP}:{upt.port}")
        st = c.streams[sid]
        c.wait(lambda: st["headers"] is not None or st["reset"] is not None, 10, "CONNECT answer")
        eq(status(st), "200", "CONNECT status")
        fed = 0

        def step():
            nonlocal fed
            out = outg.read()
            if out:
                c.c.send_data(sid, out)
                c.flush()
            c.pump(0.2)
            if len(st["data"]) > fed:
                inc.write(bytes(st["data"][fed:]))
                fed = len(st["data"])
        end = time.monotonic() + 15
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                check(time.monotonic() < end and st["reset"] is None, "TLS handshake in the tunnel")
                step()
        tls.write(f"GET /tls-in-h2 HTTP/1.1\r\nHost: {UP}:{upt.port}\r\nConnection: close\r\n\r\n"
                  .encode())
        plain = b""
        while not plain.endswith(b"hello from upstream\n"):
            check(time.monotonic() < end and st["reset"] is None, f"TLS answer: {plain[:80]!r}")
            step()
            try:
                plain += tls.read(65536)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                break
    finally:
        c.close()
    check(plain.startswith(b"HTTP/1.1 200"), f"answer over TLS in the tunnel: {plain[:80]!r}")
    check(plain.endswith(b"hello from upstream\n"), f"body over TLS in the tunnel: {plain[-40:]!r}")
    eq(len([r for r in upt.requests if r["path"] == "/tls-in-h2"]), 1, "TLS origin saw the request")


def t_multiplex_h2load(gw, up, tmp):
    n = 400
    r = subprocess.run(["h2load", "-n", str(n), "-c", "4", "-m", "50",
                        "-H", f":authority: {UP}:{up.port}",
                        f"http://127.0.0.1:{gw.port}/multi"],
                       capture_output=True, text=True, timeout=60, env=CLEAN_ENV)
    eq(r.returncode, 0, f"h2load exit ({r.stderr[-300:]})")
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored", r.stdout)
    check(m, f"h2load output: {r.stdout[-800:]}")
    eq((int(m.group(4)), int(m.group(5)), int(m.group(6))), (n, 0, 0),
       "h2load succeeded/failed/errored")
    m2 = re.search(r"status codes: (\d+) 2xx", r.stdout)
    eq(int(m2.group(1)), n, "2xx responses")


def t_concurrent_streams_one_conn(gw, up, tmp):
    """Many streams in flight at once on one connection, slow upstream."""
    c = H2Client(gw.port)
    try:
        sids = [c.request("GET", f"{UP}:{up.port}", f"/slow?ms=300&i={i}") for i in range(40)]
        t0 = time.monotonic()
        res = [c.response(s, 30) for s in sids]
        took = time.monotonic() - t0
    finally:
        c.close()
    eq([r["headers"].get(":status") for r in res], ["200"] * 40, "all streams")
    eq({bytes(r["data"]) for r in res}, {b"slow done\n"}, "bodies")
    print(f"# 40 streams x 300 ms upstream on one h2 connection: {took:.2f} s")


def t_h2_upstream(gw, ng, files):
    c = H2Client(gw.port)
    try:
        sids = [(i, c.request("GET", f"{H2}:{ng.port}", f"/f{i}", scheme="https"))
                for i in range(len(files))]
        body = os.urandom(200 * 1024)
        spost = c.request("POST", f"{H2}:{ng.port}", "/echo", scheme="https",
                          headers=[("content-length", str(len(body)))], body=body)
        for i, sid in sids:
            st = c.response(sid, 30)
            eq(st["headers"].get(":status"), "200", f"/f{i} status")
            eq(md5(bytes(st["data"])), files[i], f"/f{i} body")
        st = c.response(spost, 30)
        eq(st["headers"].get(":status"), "200", "POST through the h2 upstream")
        eq(md5(bytes(st["data"])), md5(body), "echoed body")
    finally:
        c.close()


def t_too_many_streams(gw, up, tmp):
    """120 streams sent before the gateway's SETTINGS arrived: at most 100
    (SETTINGS_MAX_CONCURRENT_STREAMS) are served, the others refused."""
    c = H2Client(gw.port)
    try:
        sids = [c.request("GET", f"{UP}:{up.port}", f"/slow?ms=400&many={i}") for i in range(120)]
        res = [c.response(s, 30) for s in sids]
    finally:
        c.close()
    ok = sum(1 for r in res if status(r) == "200")
    refused = sum(1 for r in res if r["reset"] == 7)  # REFUSED_STREAM
    check(ok <= 100, f"{ok} streams served over the limit of 100")
    check(ok >= 1 and ok + refused == 120,
          f"served {ok}, refused {refused}: {[status(r) for r in res][:130]}")
    served = sum(1 for r in up.requests if "many=" in r["path"])
    eq(served, ok, "upstream saw only the served streams")


def t_rapid_reset(gw, up, tmp):
    before = up.request_lines()
    c = H2Client(gw.port)
    try:
        for i in range(3000):
            sid = c.c.get_next_available_stream_id()
            c.c.send_headers(sid, [(":method", "GET"), (":authority", f"{UP}:{up.port}"),
                                   (":scheme", "http"), (":path", f"/rr{i}")])
            c.c.reset_stream(sid, 8)  # CANCEL
            if i % 100 == 99:
                try:
                    c.flush()
                except OSError:
                    break
        try:
            c.flush()
        except OSError:
            pass
        end = time.monotonic() + 10
        while c.goaway is None and not c.closed and time.monotonic() < end:
            c.pump(0.2)
    finally:
        c.close()
    check(c.goaway is not None, "no GOAWAY after 3000 HEADERS+RST_STREAM pairs")
    check(c.goaway.error_code != 0, f"GOAWAY error code {c.goaway.error_code}")
    # Healthy afterwards, and the reset streams cost no upstream request.
    still_serves(gw, up, "/after-rr", "the rapid reset")
    sent = up.request_lines() - before
    check(sent <= 50, f"{sent} reset streams reached the upstream")
    st, _, _ = gw.admin_get("/healthz")
    eq(st, 200, "/healthz")


def t_made_you_reset(gw, up, tmp):
    """Resets the client provokes from the gateway (a connection-specific
    field in each request: a stream error, RST_STREAM(PROTOCOL_ERROR) from the
    gateway; CVE-2025-8671 and the catalogue's "server errors provoked")
    count like resets it receives: GOAWAY(ENHANCE_YOUR_CALM) after the burst,
    nothing reaches the upstream, the gateway stays healthy."""
    before = up.request_lines()
    c = H2Client(gw.port)
    try:
        raw = b""
        for i in range(2500):
            sid = c.c.get_next_available_stream_id()
            c.c.send_headers(sid, [(":method", "GET"), (":authority", f"{UP}:{up.port}"),
                                   (":scheme", "http"), (":path", f"/myr{i}"),
                                   ("connection", "x")], end_stream=True)
            raw += c.c.data_to_send()
            if i % 100 == 99:
                try:
                    c.sock.sendall(raw)
                except OSError:
                    break
                raw = b""
        end = time.monotonic() + 10
        while c.goaway is None and not c.closed and time.monotonic() < end:
            try:
                c.pump(0.2)
            except Exception:  # h2 state machine upset by its own raw frames
                break
    finally:
        c.close()
    check(c.goaway is not None and c.goaway.error_code == 11,
          f"GOAWAY(ENHANCE_YOUR_CALM) expected, got {c.goaway and c.goaway.error_code}")
    check(up.request_lines() - before <= 50, "provoked-reset streams reached the upstream")
    still_serves(gw, up, "/after-myr", "the provoked resets")


def t_settings_and_crumbs(gw, up, tmp):
    """A SETTINGS frame with 100 entries ends the connection (at most 32);
    100,000 cookie crumbs are counted one by one (431), whatever the window."""
    import struct
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    try:
        entries = b"".join(struct.pack(">HI", 4, 65535) for _ in range(100))
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + struct.pack(">I", len(entries))[1:] +
                  bytes([4, 0]) + struct.pack(">I", 0) + entries)
        got = read_until_closed(s)
    except OSError:
        got = b""
    finally:
        s.close()
    check(b"\x07\x00\x00\x00\x00\x00" in got, f"GOAWAY after 100 SETTINGS entries: {got[:120]!r}")
    c = H2Client(gw.port, window=0)
    try:
        crumbs = [("cookie", f"c{i % 10}=1") for i in range(100000)]
        st = c.streams[c.request("GET", f"{UP}:{up.port}", "/crumbs", headers=crumbs)]
        # The window is 0: the answer's HEADERS arrive, its DATA cannot.
        c.wait(lambda: st["headers"] is not None or st["reset"] is not None or
               c.goaway is not None, 30, "answer to the crumbs")
    finally:
        c.close()
    check(status(st) in ("431", "reset 1", "reset 11") or c.goaway is not None,
          f"100,000 cookie crumbs: {status(st)}")


def read_until_closed(s, timeout=5):
    """What the peer sends until it closes (or goes quiet for timeout s)."""
    got = b""
    s.settimeout(timeout)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except OSError:
        pass
    return got


def raw_flood(gw, frames, count):
    """Opens an h2 connection, sends frames (bytes, repeated count times in
    batches) and returns the GOAWAY error code seen, or "closed"/None."""
    import struct
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    got = b""
    try:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        try:
            for off in range(0, count, 500):
                s.sendall(frames * min(500, count - off))
        except OSError:
            pass
        got = read_until_closed(s)
    finally:
        s.close()
    off = 0
    while off + 9 <= len(got):  # find GOAWAY (type 7) among the frames received
        ln = int.from_bytes(got[off:off + 3], "big")
        if got[off + 3] == 7 and off + 9 + 8 <= len(got):
            return struct.unpack(">I", got[off + 13:off + 17])[0]
        off += 9 + ln
    return "closed"


def t_empty_frame_floods(gw, up, tmp):
    """Catalogue cases 6, 14, 15: zero-length CONTINUATION frames and empty
    DATA frames without END_STREAM end the session (GOAWAY); PRIORITY frames
    are dropped by nghttp2 (no state kept); the gateway keeps serving."""
    import hpack
    import struct
    block = hpack.Encoder().encode([(":method", "POST"), (":scheme", "http"),
                                    (":authority", f"{UP}:{up.port}"), (":path", "/flood")])
    headers_open = struct.pack(">I", len(block))[1:] + bytes([1, 0x4]) + struct.pack(">I", 1) + block
    headers_nohdr_end = struct.pack(">I", len(block))[1:] + bytes([1, 0]) + struct.pack(">I", 1) + block
    empty_cont = b"\x00\x00\x00\x09\x00" + struct.pack(">I", 1)
    empty_data = b"\x00\x00\x00\x00\x00" + struct.pack(">I", 1)
    priority = b"\x00\x00\x05\x02\x00" + struct.pack(">I", 3) + struct.pack(">IB", 0, 15)
    cont = raw_flood(gw, headers_nohdr_end + empty_cont * 20, 1)
    check(cont not in (None,), f"CONTINUATION flood: {cont}")
    check(cont != 0, f"CONTINUATION flood ended with NO_ERROR {cont}")
    data = raw_flood(gw, headers_open + empty_data * 5000, 1)
    eq(data, 11, "empty DATA flood: GOAWAY(ENHANCE_YOUR_CALM)")
    # With SETTINGS_NO_RFC7540_PRIORITIES nghttp2 drops PRIORITY frames
    # before any callback (no state, parsing only); a GOAWAY is fine too.
    base = rss_kb(gw.pid)
    prio = raw_flood(gw, priority, 20000)
    check(prio in (11, "closed"), f"PRIORITY flood: {prio}")
    check(rss_kb(gw.pid) - base < 16 * 1024, "RSS after a PRIORITY flood")
    still_serves(gw, up, "/after-floods", "the floods")


def t_slow_reader(gw, up, tmp):
    """The client's stream window stays closed: the gateway stops reading the
    upstream (bounded RSS); then the client reads and every byte arrives."""
    c = H2Client(gw.port, auto_ack=False, timeout=30)
    try:
        base = rss_kb(gw.pid)
        sid = c.request("GET", f"{UP}:{up.port}", f"/bytes?n={BIG}")
        st = c.streams[sid]
        c.wait(lambda: st["headers"] is not None, 10, "response head")
        end = time.monotonic() + 3
        while time.monotonic() < end:
            c.pump(0.2)
        grown = rss_kb(gw.pid) - base
        check(grown < RSS_BOUND_KB, f"gateway RSS grew {grown} KiB while the client stalled")
        check(len(st["data"]) < BIG // 4, f"{len(st['data'])} bytes arrived without window")
        got = len(st["data"])
        c.c.acknowledge_received_data(got, sid)
        c.auto_ack = True
        c.flush()
        c.wait(lambda: st["ended"] or st["reset"] is not None, 120, "the whole body")
    finally:
        c.close()
    eq(len(st["data"]), BIG, "body length after resuming")
    eq(md5(bytes(st["data"])), pattern_md5(BIG), "body content after resuming")


def t_ping_flood(gw, up, tmp):
    """A client that sends PINGs (34 MB of them) and never reads: the gateway
    stops reading once its output for that client is full (TCP pushes back
    on the sender) or ends the connection (nghttp2's outbound-ACK bound); its
    memory stays bounded and it keeps serving others."""
    base = rss_kb(gw.pid)
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    total, sent, outcome = 2000, 0, "all sent"
    try:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        ping = b"\x00\x00\x08\x06\x00\x00\x00\x00\x00" + b"12345678"
        s.settimeout(3)
        try:
            for _ in range(total):
                s.sendall(ping * 1000)
                sent += 1
        except socket.timeout:
            outcome = "blocked"
        except OSError:
            outcome = "closed"
        grown = rss_kb(gw.pid) - base
    finally:
        s.close()
    check(outcome != "all sent", f"{total * 1000} PINGs taken from a client that never reads")
    check(grown < 32 * 1024, f"gateway RSS grew {grown} KiB under a PING flood ({outcome} after "
          f"{sent * 1000} PINGs)")
    still_serves(gw, up, "/after-ping", "the PING flood")


def t_idle_timeout(tmp, up, pol):
    """A connection without streams gets GOAWAY and is closed after
    idle-timeout-ms; a stream whose client keeps its window closed is reset
    after idle-timeout-ms, and the connection's other streams still work."""
    with Gateway(pol, args=["--workers", "1", "--idle-timeout-ms", "1500"]
                 + resolve_args([UP], up.port), tmp=tmp) as gw:
        c = H2Client(gw.port)
        try:
            t0 = time.monotonic()
            c.wait(lambda: c.goaway is not None or c.closed, 10, "GOAWAY on an idle connection")
            took = time.monotonic() - t0
        finally:
            c.close()
        check(c.goaway is not None, "GOAWAY before closing an idle connection")
        check(took >= 1.0, f"idle connection closed after {took:.2f} s (idle-timeout 1.5 s)")
        c = H2Client(gw.port, window=0, auto_ack=False)
        try:
            sid = c.request("GET", f"{UP}:{up.port}", f"/bytes?n={4 << 20}")
            st = c.streams[sid]
            c.wait(lambda: st["reset"] is not None, 15, "reset of the stalled stream")
            c.c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65535})
            c.auto_ack = True
            c.flush()
            st2 = c.response(c.request("GET", f"{UP}:{up.port}", "/after-stall"))
        finally:
            c.close()
        check(st["reset"] is not None and len(st["data"]) == 0,
              f"stalled stream: reset {st['reset']}, {len(st['data'])} bytes")
        eq(status(st2), "200", "another stream on the same connection after the reset")


def t_chaos(gw, up, ng):
    """Streams cut at every stage (before the decision, while the upstream is
    connecting or answering, mid-body, mid-response), and connections dropped
    with streams open, toward the HTTP/1.1 and the TLS h2 upstream: the
    gateway (ASan build in CI) keeps serving and reports no sanitizer error."""
    import random
    rnd = random.Random(1234)
    targets = [(f"{UP}:{up.port}", "http", "/slow?ms=200"), (f"{UP}:{up.port}", "http", f"/bytes?n={1 << 20}"),
               (f"{UP}:{up.port}", "http", "/echo"), (f"{H2}:{ng.port}", "https", "/f7"),
               (f"{H2}:{ng.port}", "https", "/echo")]
    for round_ in range(6):
        c = H2Client(gw.port, timeout=10)
        try:
            sids = []
            for i in range(30):
                auth, scheme, path = rnd.choice(targets)
                body = os.urandom(rnd.choice([0, 1000, 100000])) if "echo" in path else None
                if rnd.random() < 0.15:
                    sid = connect_stream(c, f"{UP}:{up.port}")
                    if rnd.random() < 0.5:
                        c.c.send_data(sid, f"GET /bytes?n={1 << 20} HTTP/1.1\r\nHost: x\r\n\r\n"
                                      .encode(), end_stream=rnd.random() < 0.5)
                        c.flush()
                    sids.append(sid)
                    continue
                sid = c.request("POST" if body else "GET", auth, f"{path}{'&' if '?' in path else '?'}c={round_}.{i}",
                                scheme=scheme, body=body[:50000] if body else None,
                                end=not body or rnd.random() < 0.5)
                sids.append(sid)
                if rnd.random() < 0.3:
                    c.c.reset_stream(sid, 8)
                    c.flush()
            end = time.monotonic() + rnd.choice([0.05, 0.3, 1.0])
            while time.monotonic() < end and not c.closed:
                c.pump(0.05)
                for sid in sids:
                    st = c.streams[sid]
                    if not st["ended"] and st["reset"] is None and rnd.random() < 0.05:
                        try:
                            c.c.reset_stream(sid, 8)
                            c.flush()
                        except Exception:
                            pass
        finally:
            c.close()  # drops whatever is still open
    time.sleep(0.5)
    c = H2Client(gw.port)
    try:
        st = c.response(c.request("GET", f"{UP}:{up.port}", "/after-chaos"))
        st2 = c.response(c.request("GET", f"{H2}:{ng.port}", "/f0", scheme="https"))
    finally:
        c.close()
    eq((status(st), status(st2)), ("200", "200"), "gateway serves after the chaos rounds")
    check(not sanitizer_report(gw.stderr()), f"sanitizer report: {sanitizer_report(gw.stderr())}")


def t_sigterm_drain(tmp, up, pol):
    """nghttp holds one slow stream; SIGTERM: GOAWAY, the stream completes,
    the gateway exits 0 once it is done."""
    with Gateway(pol, args=["--workers", "1", "--drain-timeout-ms", "10000"]
                 + resolve_args([UP], up.port), tmp=tmp) as gw:
        path = "/slow?ms=1500&drain=1"
        p = subprocess.Popen(nghttp_cmd(gw, f"{UP}:{up.port}", path, ["-v"]),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=CLEAN_ENV)
        try:
            wait_until(lambda: any(r["path"] == path for r in up.requests), 10,
                       "the slow request upstream")
            gw.proc.send_signal(15)
            out, err = p.communicate(timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        text = out.decode("latin-1")
        eq(p.returncode, 0, f"nghttp exit ({err[-300:]!r})")
        check("recv GOAWAY frame" in text, f"GOAWAY on SIGTERM: {text[-800:]}")
        check(":status: 200" in text and "slow done" in text,
              f"in-flight stream completes during drain: {text[-800:]}")
        # Its last stream done, the gateway exits by itself (a second signal
        # would cut the drain short).
        try:
            gw.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        check(gw.proc.poll() is not None, "gateway still running after its last stream ended")
        eq(gw.stop(timeout=5), 0, "exit status after the drain")


def main():
    run = Runner("test_h2c_downstream", budget=240)
    tmp = TempDir()
    try:
        pol = policy([("deny-denied", {"host": DENIED}, "deny"),
                      ("allow-up", {"host": UP}, "allow"),
                      ("allow-h2", {"host": H2}, "allow")])
        ca = CA(tmp.join("ca"))
        leaf = ca.leaf([H2])
        os.makedirs(tmp.join("htdocs"))
        files = []
        for i in range(8):
            data = os.urandom(1000 + i * 37000)
            files.append(md5(data))
            tmp.write(f"htdocs/f{i}", data)
        leaf_up = ca.leaf([UP])
        with Upstream() as up, Upstream(tls=leaf_up) as upt, \
                Nghttpd(tmp.join("htdocs"), tls=leaf, workdir=tmp.path,
                        extra=["--echo-upload"]) as ng:
            args = ["--workers", "2", "--upstream-ca", ca.cert] + \
                resolve_args([UP, DENIED], up.port) + resolve_args([H2], ng.port) + \
                resolve_args([UP], upt.port)
            with Gateway(pol, args=args, tmp=tmp) as gw:
                run.run("GET through an HTTP/1.1 upstream, decision log", t_get_h1, gw, up, tmp)
                run.run("nghttp prior knowledge, chunked upstream body", t_nghttp_get, gw, up, tmp)
                run.run("POST bodies larger than the window", t_post_bodies, gw, up, tmp)
                run.run("denied: 403 JSON, nothing upstream", t_denied, gw, up, tmp)
                run.run("bad request heads", t_bad_heads, gw, up, tmp)
                run.run("CONNECT over HTTP/2", t_connect_tunnel, gw, up, tmp)
                run.run("CONNECT over HTTP/2: 8 MB down, 2 MB up", t_connect_bulk, gw, up, tmp)
                run.run("CONNECT over HTTP/2: TLS to the origin inside the stream",
                        t_connect_tls, gw, upt, ca)
                run.run("h2load: 400 requests, 4 connections x 50 streams", t_multiplex_h2load,
                        gw, up, tmp)
                run.run("40 concurrent streams on one connection", t_concurrent_streams_one_conn,
                        gw, up, tmp)
                run.run("TLS h2 upstream (nghttpd)", t_h2_upstream, gw, ng, files)
                run.run("more streams than SETTINGS_MAX_CONCURRENT_STREAMS", t_too_many_streams,
                        gw, up, tmp)
                run.run("rapid reset: GOAWAY, gateway healthy", t_rapid_reset, gw, up, tmp)
                run.run("provoked resets (MadeYouReset): GOAWAY", t_made_you_reset, gw, up, tmp)
                run.run("SETTINGS with 100 entries; 100,000 cookie crumbs", t_settings_and_crumbs,
                        gw, up, tmp)
                run.run("empty CONTINUATION, empty DATA and PRIORITY floods", t_empty_frame_floods,
                        gw, up, tmp)
                run.run("slow reader: bounded RSS, then the whole body", t_slow_reader,
                        gw, up, tmp)
                run.run("PING flood from a client that does not read", t_ping_flood, gw, up, tmp)
                run.run("chaos: streams and connections cut at every stage", t_chaos, gw, up, ng)
            run.run("idle connection GOAWAY, zero-window stream reset", t_idle_timeout,
                    tmp, up, pol)
            run.run("SIGTERM: GOAWAY, in-flight stream completes", t_sigterm_drain, tmp, up, pol)
    except Exception as e:
        run.fail("setup", e)
    finally:
        tmp.cleanup()
    run.done()


if __name__ == "__main__":
    main()
