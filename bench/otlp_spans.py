#!/usr/bin/env python3
"""An OTLP ExportTraceServiceRequest (protobuf) of N spans shaped as
OpenTelemetry's SDKs write them: random trace, span and parent ids,
fixed64 timestamps, a few string attributes; no personal data. For timing
the protobuf decoder and for checking that random ids give no finding:

    python3 bench/otlp_spans.py SEED N > spans.bin
    sovgw scan --content-type application/x-protobuf - < spans.bin   # exit 0
"""
import random
import struct
import sys


def varint(v):
    """Protobuf's base-128 varint (also used by the fuzz seeds and the scan tests)."""
    out = b""
    while True:
        b, v = v & 0x7f, v >> 7
        if not v:
            return out + bytes([b])
        out += bytes([b | 0x80])


def ld(n, payload):
    """A length-delimited field n."""
    return varint(n << 3 | 2) + varint(len(payload)) + payload


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    rng = random.Random(seed)
    attrs = b"".join(ld(9, ld(1, k) + ld(2, ld(1, v))) for k, v in
                     [(b"http.method", b"POST"), (b"http.route", b"/api/orders/{id}"), (b"http.status_code", b"200")])
    spans = []
    for _ in range(count):
        tid, sid, pid = (bytes(rng.getrandbits(8) for _ in range(k)) for k in (16, 8, 8))
        t0 = 1732752000000000000 + rng.getrandbits(40)
        spans.append(ld(2, ld(1, tid) + ld(2, sid) + ld(4, pid) + ld(5, b"POST /api/orders") + varint(6 << 3)
                         + varint(2) + b"\x39" + struct.pack("<Q", t0) + b"\x41"
                         + struct.pack("<Q", t0 + rng.getrandbits(30)) + attrs))
    resource = ld(1, ld(1, ld(1, b"service.name") + ld(2, ld(1, b"orders"))))
    body = ld(1, resource + ld(2, ld(1, ld(1, b"tracer")) + b"".join(spans)))
    sys.stdout.buffer.write(body)


if __name__ == "__main__":
    main()
