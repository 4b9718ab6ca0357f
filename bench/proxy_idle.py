#!/usr/bin/env python3
"""bench/proxy_idle.py: hold N idle keep-alive connections to a proxy.

usage: proxy_idle.py PORT N TARGET HOSTHDR READY_FILE [h2]
Each connection sends one GET TARGET (absolute-form for forward proxies, "/"
for reverse proxies), reads the complete response, then stays open and idle.
With "h2": each connection sends the HTTP/2 client preface and an empty
SETTINGS frame, waits for the server's SETTINGS and its ACK of ours, sends
its own ACK, then stays open and idle (TARGET and HOSTHDR are unused).
Writes "<held> <failed>" to READY_FILE when done, then sleeps until killed
(bounded: exits by itself after 120 s)."""
import selectors
import socket
import sys
import time

port, n, target, hosthdr, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
H2 = len(sys.argv) > 6 and sys.argv[6] == "h2"
req = f"GET {target} HTTP/1.1\r\nHost: {hosthdr}\r\n\r\n".encode()
SETTINGS_ACK = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"
if H2:
    req = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def h2_done(buf):
    """Both the server's SETTINGS and its ACK of ours arrived?"""
    off, settings, ack = 0, False, False
    while off + 9 <= len(buf):
        ln = int.from_bytes(buf[off:off + 3], "big")
        typ, flags = buf[off + 3], buf[off + 4]
        if off + 9 + ln > len(buf):
            break
        if typ == 4:
            if flags & 1:
                ack = True
            else:
                settings = True
        off += 9 + ln
    return settings and ack


def complete(s, buf):
    if not H2:
        return b"\r\n\r\n" in buf  # small fixed responses: the head is enough
    if h2_done(buf):
        s.sendall(SETTINGS_ACK)
        return True
    return False
sel = selectors.DefaultSelector()
socks, failed, ok = [], 0, 0
pending = {}
deadline = time.monotonic() + 60
for i in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(req)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        pending[s] = b""
        socks.append(s)
    except OSError:
        failed += 1
    # read answers as we go so that the proxy's queues stay short
    for key, _ in sel.select(timeout=0):
        s = key.fileobj
        try:
            b = s.recv(65536)
        except OSError:
            b = b""
        if not b:
            sel.unregister(s)
            pending.pop(s, None)
            failed += 1
            continue
        pending[s] += b
        if complete(s, pending[s]):
            sel.unregister(s)
            pending.pop(s)
            ok += 1
while pending and time.monotonic() < deadline:
    for key, _ in sel.select(timeout=1):
        s = key.fileobj
        try:
            b = s.recv(65536)
        except OSError:
            b = b""
        if not b:
            sel.unregister(s)
            pending.pop(s, None)
            failed += 1
            continue
        pending[s] += b
        if complete(s, pending[s]):
            sel.unregister(s)
            pending.pop(s)
            ok += 1
failed += len(pending)
with open(ready, "w") as f:
    f.write(f"{ok} {failed}\n")
time.sleep(120)
