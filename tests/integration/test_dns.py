#!/usr/bin/env python3
"""Name resolution through a real DNS server (a small UDP responder on
127.0.0.1, named with --dns-server): the gateway resolves names itself,
decides again on the addresses it got (the private-range guard holds unless a
CIDR rule allows them), connects only to an allowed one, and a nameserver
that never answers fails the request within the --dns-timeout-ms bound."""

import json
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import Gateway, Runner, TempDir, Upstream, check, curl_status, eq, policy  # noqa: E402

NAME_LOCAL = "app.dns.test"       # A 127.0.0.1
NAME_MISSING = "missing.dns.test"  # NXDOMAIN


class DnsServer:
    """Answers A queries from a table (NXDOMAIN otherwise, no AAAA records);
    with answer=False it reads queries and never replies. Counts queries."""

    def __init__(self, table, answer=True):
        self.table = table
        self.answer = answer
        self.queries = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop = True
        self.t.join(5)
        self.sock.close()

    def loop(self):
        while not self.stop:
            try:
                q, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(q) < 12:
                continue
            qid, _flags, qd = struct.unpack(">HHH", q[:6])
            # the question: labels, then QTYPE and QCLASS
            off, labels = 12, []
            while off < len(q) and q[off] != 0:
                n = q[off]
                labels.append(q[off + 1:off + 1 + n].decode("ascii", "replace"))
                off += 1 + n
            off += 1
            if off + 4 > len(q) or qd != 1:
                continue
            qtype = struct.unpack(">H", q[off:off + 2])[0]
            question = q[12:off + 4]
            name = ".".join(labels).lower()
            self.queries.append((name, qtype))
            if not self.answer:
                continue
            addr = self.table.get(name)
            rcode = 0 if addr else 3
            answers = b""
            if addr and qtype == 1:
                answers = (b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) +
                           socket.inet_aton(addr))
            hdr = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, 1 if answers else 0, 0, 0)
            self.sock.sendto(hdr + question + answers, peer)


def t_guard_after_resolution(gw, up, dns, tmp):
    """The name is allowed, but it resolves to loopback: refused (403) with
    nothing reaching the upstream, after a real DNS query."""
    before = up.request_lines()
    code, body, r = curl_status("-x", gw.proxy_url, f"http://{NAME_LOCAL}:{up.port}/")
    eq(code, 403, f"status ({r.stderr.strip()})")
    doc = json.loads(body)
    check("private" in doc.get("reason", "") or "loopback" in doc.get("reason", ""),
          f"reason names the private range: {doc}")
    check((NAME_LOCAL, 1) in dns.queries, f"the gateway asked the nameserver: {dns.queries}")
    eq(up.request_lines(), before, "nothing reached the upstream")


def t_cidr_allows_resolved(gw2, up, dns, tmp):
    """With the rule also naming 127.0.0.0/8 the resolved address is used: 200."""
    code, body, r = curl_status("-x", gw2.proxy_url, f"http://{NAME_LOCAL}:{up.port}/")
    eq(code, 200, f"status ({r.stderr.strip()})")
    eq(body, b"hello from upstream\n", "body from the upstream")


def t_nxdomain(gw2, up, dns, tmp):
    code, body, r = curl_status("-x", gw2.proxy_url, f"http://{NAME_MISSING}:{up.port}/")
    eq(code, 502, f"status ({r.stderr.strip()})")
    doc = json.loads(body)
    check("resolution" in doc.get("error", "") or "DNS" in doc.get("reason", ""),
          f"error names name resolution: {doc}")


def t_silent_nameserver(tmp, up):
    """A nameserver that never answers: the request fails (502) once the two
    attempts of --dns-timeout-ms have passed, not after resolv.conf's
    defaults, and the gateway keeps serving."""
    with DnsServer({}, answer=False) as mute:
        pol = policy([("any-dns-test", {"host": ["*.dns.test"]}, "allow")])
        args = ["--workers", "1", "--dns-server", f"127.0.0.1:{mute.port}",
                "--dns-timeout-ms", "300"]
        with Gateway(pol, args=args, tmp=tmp) as gw:
            t0 = time.monotonic()
            code, body, r = curl_status("-x", gw.proxy_url, "--max-time", "20",
                                        f"http://{NAME_LOCAL}:{up.port}/")
            took = time.monotonic() - t0
            eq(code, 502, f"status ({r.stderr.strip()})")
            check(took < 10, f"failed within the configured bound (took {took:.1f} s)")
            check(len(mute.queries) >= 1, "the query reached the silent nameserver")
            code, _, _ = curl_status("-x", gw.proxy_url, "--max-time", "20",
                                     f"http://{NAME_LOCAL}:{up.port}/")
            eq(code, 502, "and again (no stuck state)")


def t_bad_flag(tmp, up):
    from sgw import SOVGW
    import subprocess
    r = subprocess.run([SOVGW, "run", "--dns-server", "dns.example:53"], capture_output=True,
                       timeout=20)
    eq(r.returncode, 2, "a nameserver that is not an IP literal is a usage error")
    check(b"dns-server" in r.stderr and b"IP:PORT" in r.stderr, f"clear error: {r.stderr!r}")


def main():
    r = Runner("dns")
    tmp = TempDir()
    try:
        with Upstream() as up, DnsServer({NAME_LOCAL: "127.0.0.1"}) as dns:
            base = ["--workers", "1", "--dns-server", f"127.0.0.1:{dns.port}",
                    "--dns-timeout-ms", "2000"]
            pol = policy([("any-dns-test", {"host": ["*.dns.test"]}, "allow")])
            with Gateway(pol, args=base, tmp=tmp) as gw:
                r.run("allowed name resolving to loopback is refused after DNS",
                      t_guard_after_resolution, gw, up, dns, tmp)
            # the guard is lifted only by the matching allow rule naming a
            # CIDR that holds the address
            pol2 = policy([("lab", {"host": ["*.dns.test"], "cidr": ["127.0.0.0/8"]}, "allow")])
            with Gateway(pol2, args=base, tmp=tmp) as gw2:
                r.run("a CIDR rule lets the resolved address through",
                      t_cidr_allows_resolved, gw2, up, dns, tmp)
                r.run("NXDOMAIN is a 502 with a JSON reason", t_nxdomain, gw2, up, dns, tmp)
            r.run("a silent nameserver fails within --dns-timeout-ms", t_silent_nameserver, tmp, up)
            r.run("--dns-server must be an IP literal", t_bad_flag, tmp, up)
    except Exception as e:
        r.fail("gateway lifecycle", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
