#!/usr/bin/env python3
"""HTTP/2 stream timers (px_deadline on each stream's request, whose
struct comes from a per-worker cache in release builds). Streams waiting on a
slow upstream get their 504 from the upstream timer; streams the client
resets while their timers are pending leave nothing behind, and the next
streams (reusing the released structs) time out as well; an ordinary
request on the same connection still works afterwards."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import need_h2  # noqa: E402

need_h2()
import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.events  # noqa: E402
from sgw import Gateway, Runner, TempDir, Upstream, check, eq, policy  # noqa: E402

UP = "up.test.example"
UPSTREAM_TIMEOUT_MS = 800


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.c = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.c.initiate_connection()
        self.flush()
        self.st = {}

    def flush(self):
        d = self.c.data_to_send()
        if d:
            self.sock.sendall(d)

    def get(self, path, authority):
        sid = self.c.get_next_available_stream_id()
        self.c.send_headers(sid, [(":method", "GET"), (":authority", authority),
                                  (":scheme", "http"), (":path", path)], end_stream=True)
        self.st[sid] = {"status": None, "data": b"", "ended": False, "reset": None}
        self.flush()
        return sid

    def reset(self, sid):
        self.c.reset_stream(sid)
        self.st[sid]["reset"] = "by client"
        self.flush()

    def pump_until(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while not pred() and time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                continue
            if not data:
                break
            for ev in self.c.receive_data(data):
                s = self.st.get(getattr(ev, "stream_id", None))
                if s is None:
                    continue
                if isinstance(ev, h2.events.ResponseReceived):
                    s["status"] = dict(ev.headers).get(":status")
                elif isinstance(ev, h2.events.DataReceived):
                    s["data"] += ev.data
                    self.c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    s["ended"] = True
                elif isinstance(ev, h2.events.StreamReset):
                    s["reset"] = ev.error_code
            self.flush()
        return pred()


def t_stream_timers(gw, up):
    auth = f"{UP}:{up.port}"
    cl = Client(gw.port)
    try:
        for rnd in range(3):
            sids = [cl.get("/slow?ms=4000", auth) for _ in range(12)]
            for sid in sids[::2]:
                cl.reset(sid)  # its timer is pending: released before it fires
            keep = sids[1::2]
            t0 = time.monotonic()
            ok = cl.pump_until(lambda: all(cl.st[s]["ended"] or cl.st[s]["reset"] is not None
                                           for s in keep), 15)
            took = time.monotonic() - t0
            check(ok, f"round {rnd}: streams still open {took:.1f}s after sending with "
                  f"--upstream-timeout-ms {UPSTREAM_TIMEOUT_MS}: "
                  f"{[(s, cl.st[s]['status']) for s in keep if not cl.st[s]['ended']]}")
            for s in keep:
                eq(cl.st[s]["status"], "504", f"round {rnd} stream {s} status")
        sid = cl.get("/", auth)
        check(cl.pump_until(lambda: cl.st[sid]["ended"], 10), "plain GET after the timeouts")
        eq(cl.st[sid]["status"], "200", "plain GET status")
        eq(cl.st[sid]["data"], b"hello from upstream\n", "plain GET body")
    finally:
        cl.sock.close()
    check(gw.alive(), "gateway died")


def main():
    r = Runner("h2_stream_timers", budget=120)
    tmp = TempDir()
    try:
        with Upstream() as up:
            pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
            args = ["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1",
                    "--upstream-timeout-ms", str(UPSTREAM_TIMEOUT_MS)]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                r.run("h2c stream timers: reset while pending, reused structs, 504s",
                      t_stream_timers, gw, up)
    except Exception as e:  # noqa: BLE001
        r.fail("setup", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
