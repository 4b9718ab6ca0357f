#!/usr/bin/env python3
"""An HTTP/2 (h2c) client that reads a large response slowly but without
ever stopping, with flow-control windows wide enough that the gateway's
output to it stays full, gets every byte although the download lasts
several idle timeouts: the "client stopped reading" and "response stalled"
timers are for a client that does not read, not for one that reads slowly
(h2d_flush's own writes that drain the output resume paused streams; bytes
written count as progress). A client that really stops reading is still
cut.

A reader slower than the socket's send buffer per idle timeout takes bytes
for longer than the timeout without the gateway writing any (the kernel
reports the socket writable again only once much of its send buffer has
drained, and a loopback send buffer grows to megabytes when the client's
receive buffer is left to grow): the timers then count the bytes it took
from the send queue (px_tx_taken), so it is not cut either. The second
case (~1.25 MiB/s with the system's receive buffer) was cut after about
3.9 MiB before they did."""

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
import h2.settings  # noqa: E402
from sgw import (Gateway, Runner, TempDir, Upstream, check, eq, md5,  # noqa: E402
                 pattern_md5, policy)

UP = "up.test.example"
IDLE_MS = 1000
WINDOW = 64 << 20


class SlowH2:
    def __init__(self, port, rcvbuf=16384):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        self.sock = s
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.c = h2.connection.H2Connection(cfg)
        self.c.local_settings = h2.settings.Settings(
            client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW - 1,
                                         h2.settings.SettingCodes.MAX_FRAME_SIZE: 16384})
        self.c.initiate_connection()
        self.c.increment_flow_control_window(WINDOW - 65535)
        self.flush()
        self.data = bytearray()
        self.status = None
        self.ended = False
        self.reset = None
        self.closed = False

    def flush(self):
        d = self.c.data_to_send()
        if d:
            self.sock.sendall(d)

    def get(self, authority, path):
        sid = self.c.get_next_available_stream_id()
        self.c.send_headers(sid, [(":method", "GET"), (":authority", authority),
                                  (":scheme", "http"), (":path", path)], end_stream=True)
        self.flush()
        return sid

    def read_some(self, n, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(n)
        except socket.timeout:
            return True
        except OSError:
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        for ev in self.c.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                self.status = dict(ev.headers).get(":status")
            elif isinstance(ev, h2.events.DataReceived):
                self.data += ev.data
                self.c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                self.ended = True
            elif isinstance(ev, h2.events.StreamReset):
                self.reset = ev.error_code
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.closed = True
        try:
            self.flush()
        except OSError:
            self.closed = True
        return True


def t_slow_steady(gw, up, n=8 * 1024 * 1024, pause=0.01, chunk=16384, rcvbuf=16384):
    """~1.5 MiB/s (16 KiB per 10 ms, a 16 KiB receive buffer) by default"""
    cl = SlowH2(gw.port, rcvbuf)
    cl.get(f"{UP}:{up.port}", f"/bytes?n={n}")
    t0 = time.monotonic()
    while not cl.ended and not cl.closed and cl.reset is None and time.monotonic() - t0 < 60:
        if not cl.read_some(chunk, 5):
            break
        time.sleep(pause)  # never a pause near the idle timeout
    took = time.monotonic() - t0
    cl.sock.close()
    why = gw.stderr().splitlines()[-3:]
    check(cl.ended, f"stream not complete after {took:.1f}s of steady reading: "
          f"{len(cl.data)} of {n} bytes, closed={cl.closed}, reset={cl.reset}; gateway: {why}")
    eq(len(cl.data), n, "body length")
    eq(md5(bytes(cl.data)), pattern_md5(n), "body md5")
    check(took > 2 * IDLE_MS / 1000.0, f"took {took:.1f}s only: not a slow reader")


def t_stopped_cut(gw, up):
    cl = SlowH2(gw.port)
    cl.get(f"{UP}:{up.port}", f"/bytes?n={256 << 20}")
    cl.read_some(4096, 5)
    time.sleep(2.0 + 3 * IDLE_MS / 1000.0)
    t0 = time.monotonic()
    while not cl.closed and cl.reset is None and time.monotonic() - t0 < 20:
        if not cl.read_some(1 << 20, 5):
            break
    cl.sock.close()
    check(cl.closed or cl.reset is not None,
          f"a client that stopped reading was not cut ({len(cl.data)} bytes)")
    check(not cl.ended, "the whole 256 MiB reached a client that stopped reading")


def main():
    r = Runner("h2c_slow_reader", budget=200)
    tmp = TempDir()
    try:
        with Upstream() as up:
            pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
            args = ["--workers", "1", "--resolve", f"{UP}:{up.port}:127.0.0.1",
                    "--idle-timeout-ms", str(IDLE_MS)]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                r.run("h2c steady reader (~1.5 MiB/s) past several idle timeouts",
                      t_slow_steady, gw, up)
                r.run("h2c reader at ~1.25 MiB/s with the system's receive buffer (sender's buffer grows)",
                      t_slow_steady, gw, up, 8 * 1024 * 1024, 0.05, 65536, 0)
                r.run("h2c reader that stops is cut", t_stopped_cut, gw, up)
    except Exception as e:  # noqa: BLE001
        r.fail("setup", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
