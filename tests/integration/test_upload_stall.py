#!/usr/bin/env python3
"""A request body the upstream is slow to take. While the upstream does not
read, the gateway stops reading the client (backpressure), so the body's
stall timer must blame the right side:
- an upstream that reads the body slowly but steadily (~1.25 MiB/s with the
  system's receive buffer, several idle timeouts in all) gets every byte,
  and the client its answer;
- an upstream that stops reading is the upstream's failure: 504
  "upstream stopped reading the request body", not 408 "request body
  stalled" (which says the client stalled), after one to two timeouts;
- a client that stops sending its body is still the client's: 408.
Over HTTP/1.1 and over h2c (prior knowledge) from the client, to an HTTP/1.1
origin in the clear and over TLS; and to an h2 origin over TLS (python3-h2)
that takes the body as slowly by opening its flow-control window, or never
opens it."""

import hashlib
import os
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import (CA, AcceptLoop, Gateway, Runner, TempDir, check, eq, need_h2,  # noqa: E402
                 pattern_chunk, policy)

UP = "up.test.example"
H2UP = "h2.test.example"
TLSUP = "tls.test.example"
IDLE_MS = 1000


class BodyUpstream(AcceptLoop):
    """An origin that reads one request per connection: its head, then its
    Content-Length body at `rate` bytes/s (0: it reads none of it and holds
    the connection for `hold` seconds), and answers 200 with the body's
    length and md5. Records what it saw."""

    def __init__(self, rate, hold=12.0, leaf=None):
        super().__init__()
        self.rate = rate
        self.hold = hold
        self.ctx = None
        if leaf:  # HTTP/1.1 over TLS (no ALPN h2)
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(*leaf)
        self.seen = []  # (body bytes read, closed by the peer before the end)

    def _conn(self, c):
        got, cut = 0, False
        try:
            if self.ctx:
                c = self.ctx.wrap_socket(c, server_side=True)
            c.settimeout(self.hold + 5)
            buf = b""
            while b"\r\n\r\n" not in buf:
                b = c.recv(4096)
                if not b:
                    return
                buf += b
            head, rest = buf.split(b"\r\n\r\n", 1)
            n = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    n = int(v)
            if self.rate == 0:
                self.stop.wait(self.hold)
                return
            h = hashlib.md5(rest)
            got = len(rest)
            step = max(1, self.rate // 20)
            t0 = time.monotonic()
            while got < n:
                b = c.recv(min(step, n - got))
                if not b:
                    cut = True
                    return
                h.update(b)
                got += len(b)
                # paced: never ahead of rate, never a whole second idle
                ahead = got / self.rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(min(ahead, 0.2))
            body = b'{"len": %d, "md5": "%s"}' % (got, h.hexdigest().encode())
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                      b"Connection: close\r\n\r\n%s" % (len(body), body))
            time.sleep(0.2)
        except (OSError, ssl.SSLError):
            cut = True
        finally:
            self.seen.append((got, cut))
            c.close()


class H2BodyUpstream(AcceptLoop):
    """An h2 origin over TLS (ALPN h2) that takes request bodies through its
    flow-control window: at `rate` bytes/s (it acknowledges DATA no faster),
    or never (rate 0: the window closes after the first 64 KiB and the
    connection is held for `hold` seconds). Answers 200 with the body's
    length and md5 when the stream ends."""

    def __init__(self, leaf, rate, hold=12.0):
        super().__init__()
        self.rate = rate
        self.hold = hold
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(*leaf)
        self.ctx.set_alpn_protocols(["h2"])
        self.seen = []

    def _conn(self, raw):
        import h2.config
        import h2.connection
        import h2.events
        streams = {}  # id -> [md5, bytes]
        try:
            c = self.ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        t0 = time.monotonic()
        got_total = 0
        try:
            c.settimeout(0.2)
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
            conn.initiate_connection()
            c.sendall(conn.data_to_send())
            end = time.monotonic() + self.hold + 30
            while time.monotonic() < end and not self.stop.is_set():
                try:
                    b = c.recv(65536)
                except socket.timeout:
                    continue
                if not b:
                    break
                for ev in conn.receive_data(b):
                    if isinstance(ev, h2.events.RequestReceived):
                        streams[ev.stream_id] = [hashlib.md5(), 0]
                        if self.rate == 0:
                            t0 = time.monotonic()
                    elif isinstance(ev, h2.events.DataReceived):
                        st = streams.setdefault(ev.stream_id, [hashlib.md5(), 0])
                        st[0].update(ev.data)
                        st[1] += len(ev.data)
                        if self.rate:
                            got_total += len(ev.data)
                            ahead = got_total / self.rate - (time.monotonic() - t0)
                            if ahead > 0:
                                time.sleep(min(ahead, 0.2))
                            conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded):
                        h, n = streams.pop(ev.stream_id)
                        self.seen.append(n)
                        body = b'{"len": %d, "md5": "%s"}' % (n, h.hexdigest().encode())
                        conn.send_headers(ev.stream_id, [(":status", "200"),
                                                         ("content-length", str(len(body)))])
                        conn.send_data(ev.stream_id, body, end_stream=True)
                    elif isinstance(ev, h2.events.ConnectionTerminated):
                        return
                out = conn.data_to_send()
                if out:
                    c.sendall(out)
                if self.rate == 0 and time.monotonic() - t0 > self.hold:
                    break
        except (OSError, ssl.SSLError):
            pass
        finally:
            for h, n in streams.values():
                self.seen.append(n)
            c.close()


def head_for(port, n, scheme="http", host=UP):
    return (b"POST %s://%s:%d/upload HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: %d\r\n"
            b"Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n" %
            (scheme.encode(), host.encode(), port, host.encode(), port, n))


def h1_upload(gw, port, body, send_all=True, timeout=30, scheme="http", host=UP):
    """Sends the head and (a thread) the body; returns (status line, response
    bytes, seconds until the response or close). send_all=False sends the
    first 64 KiB only and then nothing."""
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=timeout)
    out = bytearray()
    t0 = time.monotonic()

    def sender():
        try:
            s.sendall(head_for(port, len(body), scheme, host))
            s.sendall(body if send_all else body[:65536])
        except OSError:
            pass  # the gateway answered and closed mid-body

    th = threading.Thread(target=sender, daemon=True)
    th.start()
    deadline = t0 + timeout
    try:
        while time.monotonic() < deadline:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                b = s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not b:
                break
            out += b
            if b"\r\n\r\n" in out:
                head = bytes(out).split(b"\r\n\r\n", 1)[0]
                clen = [int(v) for k, _, v in (x.partition(b":") for x in head.split(b"\r\n")[1:])
                        if k.strip().lower() == b"content-length"]
                if clen and len(out) >= len(head) + 4 + clen[0]:
                    break
    finally:
        took = time.monotonic() - t0
        s.close()
        th.join(5)
    line = bytes(out).split(b"\r\n", 1)[0].decode(errors="replace")
    return line, bytes(out), took


def last_decision(gw, path="/upload"):
    ds = [d for d in gw.decisions() if str(d.get("path", "")).startswith(path)]
    check(ds, f"no decision logged for {path}")
    return ds[-1]


def whole_body(seed, scheme="http", host=UP):
    """A check: an 8 MiB upload to a slow upstream gets 200 and the upstream
    the whole body (its md5 in the answer), over the idle timeout's span."""
    def t(gw, up):
        n = 8 * 1024 * 1024
        body = pattern_chunk(seed, n)
        line, data, took = h1_upload(gw, up.port, body, scheme=scheme, host=host)
        check(line.startswith("HTTP/1.1 200"), f"slow {host} upstream: got {line!r} after {took:.1f}s "
              f"(upstream read {up.seen})")
        want = b'{"len": %d, "md5": "%s"}' % (n, hashlib.md5(body).hexdigest().encode())
        check(data.endswith(want), f"upstream did not get the whole body intact: {data[-120:]!r}")
        check(took > 3 * IDLE_MS / 1000, f"the upload took {took:.1f}s: not slower than the idle timeout")
    return t


def upstream_cut(seed, scheme="http", host=UP):
    """A check: a 32 MiB upload to an upstream that takes none of it is cut
    with 504 'upstream stopped reading the request body' within about two
    idle timeouts."""
    def t(gw, up):
        body = pattern_chunk(seed, 32 * 1024 * 1024)
        line, data, took = h1_upload(gw, up.port, body, scheme=scheme, host=host)
        d = last_decision(gw)
        eq(d.get("status"), 504, f"status logged for a {host} upstream that stopped reading ({d})")
        check("upstream stopped reading the request body" in str(d.get("reason")),
              f"reason logged: {d.get('reason')!r}")
        # the client usually reads the answer; it may instead see a reset when
        # the gateway closes with the client's unread body bytes queued
        check(line in ("", ) or line.startswith("HTTP/1.1 504"), f"client got {line!r}")
        print(f"# client saw {line!r} after {took:.1f}s")
        check(took < 4 * IDLE_MS / 1000 + 2, f"cut after {took:.1f}s: later than about two timeouts")
    return t


def t_h1_stopped_client(gw, up):
    body = pattern_chunk(3, 4 * 1024 * 1024)
    line, data, took = h1_upload(gw, up.port, body, send_all=False)
    d = last_decision(gw)
    eq(d.get("status"), 408, f"status logged for a client that stopped sending ({d})")
    check("request body stalled" in str(d.get("reason")), f"reason logged: {d.get('reason')!r}")
    check(line.startswith("HTTP/1.1 408"), f"client got {line!r}")


def h2_upload(gw, port, body, timeout=30):
    """One POST over h2c prior knowledge; returns (:status or None, reset
    error code or None, seconds)."""
    import h2.config
    import h2.connection
    import h2.events
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=timeout)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"),
                            (":authority", f"{UP}:{port}"), (":path", "/upload"),
                            ("content-length", str(len(body)))])
    s.sendall(conn.data_to_send())
    t0 = time.monotonic()
    sent, status, reset = 0, None, None
    ended = False
    try:
        while time.monotonic() - t0 < timeout and status is None and reset is None:
            while sent < len(body):
                room = min(conn.local_flow_control_window(sid), conn.max_outbound_frame_size,
                           len(body) - sent)
                if room <= 0:
                    break
                conn.send_data(sid, body[sent:sent + room], end_stream=sent + room == len(body))
                sent += room
            out = conn.data_to_send()
            if out:
                s.sendall(out)
            s.settimeout(0.2)
            try:
                b = s.recv(65536)
            except socket.timeout:
                continue
            if not b:
                break
            for ev in conn.receive_data(b):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    status = int(dict(ev.headers)[b":status"])
                elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
                    reset = ev.error_code
                elif isinstance(ev, h2.events.StreamEnded):
                    ended = True
            out = conn.data_to_send()
            if out:
                s.sendall(out)
    finally:
        s.close()
    del ended
    return status, reset, time.monotonic() - t0


def t_h2_stopped_upstream(gw, up):
    body = pattern_chunk(11, 32 * 1024 * 1024)
    status, reset, took = h2_upload(gw, up.port, body)
    d = last_decision(gw)
    eq(d.get("status"), 504, f"status logged for an upstream that stopped reading, h2c ({d})")
    check("upstream stopped reading the request body" in str(d.get("reason")),
          f"reason logged: {d.get('reason')!r}")
    check(status in (None, 504), f"h2c client got :status {status}")
    print(f"# h2c client saw :status {status}, reset {reset} after {took:.1f}s")
    check(took < 4 * IDLE_MS / 1000 + 2, f"cut after {took:.1f}s: later than about two timeouts")


def t_h2_slow_upstream(gw, up):
    n = 8 * 1024 * 1024
    body = pattern_chunk(13, n)
    status, reset, took = h2_upload(gw, up.port, body)
    eq(status, 200, f"h2c upload to a slow upstream (reset {reset}, upstream read {up.seen})")
    eq(up.seen[-1][0] if up.seen else 0, n, "body bytes the upstream read")


def main():
    need_h2()
    r = Runner("upload_stall", budget=240)
    tmp = TempDir()
    try:
        ca = CA(tmp.join("ca"))
        leaf = ca.leaf([H2UP])
        tleaf = ca.leaf([TLSUP])
        with BodyUpstream(rate=1310720) as slow, BodyUpstream(rate=0) as stopped, \
                BodyUpstream(rate=1 << 30) as fast, H2BodyUpstream(leaf, rate=1310720) as h2slow, \
                H2BodyUpstream(leaf, rate=0) as h2stopped, BodyUpstream(1310720, leaf=tleaf) as tslow, \
                BodyUpstream(0, leaf=tleaf) as tstopped:
            pol = policy([("allow-up", {"host": [UP, H2UP, TLSUP]}, "allow")])
            args = ["--workers", "1", "--idle-timeout-ms", str(IDLE_MS), "--upstream-ca", ca.cert]
            for u in (slow, stopped, fast):
                args += ["--resolve", f"{UP}:{u.port}:127.0.0.1"]
            for u in (h2slow, h2stopped):
                args += ["--resolve", f"{H2UP}:{u.port}:127.0.0.1"]
            for u in (tslow, tstopped):
                args += ["--resolve", f"{TLSUP}:{u.port}:127.0.0.1"]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                for name, fn, up in [
                        ("slow upstream (~1.25 MiB/s) takes an 8 MiB body, HTTP/1.1", whole_body(5), slow),
                        ("upstream that stops reading the body: 504, HTTP/1.1", upstream_cut(9), stopped),
                        ("client that stops sending its body: 408, HTTP/1.1", t_h1_stopped_client, fast),
                        ("upstream that stops reading the body: 504, h2c", t_h2_stopped_upstream, stopped),
                        ("slow upstream (~1.25 MiB/s) takes an 8 MiB body, h2c", t_h2_slow_upstream, slow),
                        ("slow h2 upstream (window opened at ~1.25 MiB/s) takes an 8 MiB body",
                         whole_body(17, "https", H2UP), h2slow),
                        ("h2 upstream that never opens its window: 504", upstream_cut(19, "https", H2UP),
                         h2stopped),
                        ("slow HTTP/1.1 upstream over TLS (~1.25 MiB/s) takes an 8 MiB body",
                         whole_body(23, "https", TLSUP), tslow),
                        ("HTTP/1.1 upstream over TLS that stops reading the body: 504",
                         upstream_cut(29, "https", TLSUP), tstopped)]:
                    r.run(name, fn, gw, up)
    except Exception as e:  # noqa: BLE001
        r.fail("setup", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
