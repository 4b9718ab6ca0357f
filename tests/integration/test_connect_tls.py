#!/usr/bin/env python3
"""CONNECT tunnels to a TLS upstream (curl verifies end to end), CONNECT
denials, and https:// absolute-form requests where sovgw itself is the TLS
client (verified against --upstream-ca: a foreign or mismatched cert → 502)."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import (CA, Gateway, Runner, TempDir, Upstream, check, curl_status, eq, md5,  # noqa: E402
                 parse_responses, pattern_md5, policy, raw_exchange, wait_until)

SECURE = "secure.test.example"
ROGUE = "rogue.test.example"      # served with a cert from a CA sovgw does not trust
WRONG = "wrongname.example"       # served with a cert that does not name it
DENIED = "denied.test.example"


def t_connect_ok(gw, ctx):
    up, ca = ctx["up"], ctx["ca"]
    url = f"https://{SECURE}:{up.port}/echo"
    code, body, r = curl_status("-x", gw.proxy_url, "--cacert", ca.cert, url)
    eq(code, 200, f"status via CONNECT ({r.stderr.strip()})")
    doc = json.loads(body)
    eq(doc["method"], "GET", "method at upstream")
    n = 4 * 1024 * 1024 + 3
    code, body, r = curl_status("-x", gw.proxy_url, "--cacert", ca.cert,
                                f"https://{SECURE}:{up.port}/bytes?n={n}")
    eq(code, 200, "large body status")
    eq(md5(body), pattern_md5(n), "large body md5 through the tunnel")
    # curl -v shows the proxy's CONNECT answer: 200 with the decision header
    r = curl_status("-x", gw.proxy_url, "--cacert", ca.cert, "-v", url)[2]
    check("HTTP/1.1 200" in r.stderr, "no 200 for CONNECT in curl -v")
    check("x-sovgw-decision: allow; rule=allow-secure" in r.stderr.lower(),
          "CONNECT 200 lacks x-sovgw-decision")


def t_connect_denied(gw, ctx):
    up = ctx["up"]
    before = up.accepted()
    data = raw_exchange(gw.port, f"CONNECT {DENIED}:{up.port} HTTP/1.1\r\nHost: {DENIED}:{up.port}\r\n\r\n"
                        .encode(), timeout=5)
    rs = parse_responses(data)
    eq(rs[0].status, 403, "CONNECT to a denied host")
    eq(rs[0].header("x-sovgw-decision"), "deny; rule=default", "decision header")
    doc = rs[0].json()
    check(doc.get("rule") == "default" and doc.get("reason"), f"403 body {doc}")
    # allowed name, port not in the rule
    data = raw_exchange(gw.port, f"CONNECT {SECURE}:{up.port + 1} HTTP/1.1\r\nHost: {SECURE}:{up.port + 1}\r\n\r\n"
                        .encode(), timeout=5)
    eq(parse_responses(data)[0].status, 403, "CONNECT allowed host, other port")
    # loopback literal without a pin
    data = raw_exchange(gw.port, f"CONNECT 127.0.0.1:{up.port} HTTP/1.1\r\nHost: 127.0.0.1:{up.port}\r\n\r\n"
                        .encode(), timeout=5)
    eq(parse_responses(data)[0].status, 403, "CONNECT 127.0.0.1 unpinned")
    # curl sees the refusal as a failed tunnel
    code, body, r = curl_status("-x", gw.proxy_url, "--cacert", ctx["ca"].cert,
                                f"https://{DENIED}:{up.port}/")
    check(r.returncode != 0 and "403" in r.stderr, f"curl: rc={r.returncode} {r.stderr.strip()!r}")
    eq(up.accepted(), before, "connections the upstream accepted for denied CONNECTs")


def t_connect_malformed(gw, ctx):
    up = ctx["up"]
    for target in (f"{SECURE}", f"{SECURE}:0", f"{SECURE}:99999", f"{SECURE}:{up.port}/path",
                   f"http://{SECURE}:{up.port}"):
        data = raw_exchange(gw.port, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode(),
                            timeout=5)
        st = parse_responses(data)[0].status if data else None
        check(st == 400, f"CONNECT {target!r}: status {st} (want 400)")


def t_https_absolute(gw, ctx):
    up = ctx["up"]
    st, hs, body = gw.request("GET", f"https://{SECURE}:{up.port}/echo")
    eq(st, 200, f"https absolute-form via sovgw's TLS client: {body[:200]!r}")
    eq(json.loads(body)["path"], "/echo", "path at upstream")
    eq(hs.get("x-sovgw-decision"), "allow; rule=allow-secure", "decision header")


def t_https_unverified(gw, ctx):
    rogue, up = ctx["rogue"], ctx["up"]
    before = rogue.count()
    st, hs, body = gw.request("GET", f"https://{ROGUE}:{rogue.port}/echo")
    eq(st, 502, f"upstream cert from an untrusted CA: {body[:200]!r}")
    eq(rogue.count(), before, "requests sent to the unverified upstream")
    before = up.count()
    st, hs, body = gw.request("GET", f"https://{WRONG}:{up.port}/echo")
    eq(st, 502, f"upstream cert for another name: {body[:200]!r}")
    eq(up.count(), before, "requests sent to the mismatched upstream")


def t_connect_logged(gw, ctx):
    up = ctx["up"]
    n0 = len(gw.decisions())
    code, body, r = curl_status("-x", gw.proxy_url, "--cacert", ctx["ca"].cert,
                                f"https://{SECURE}:{up.port}/bytes?n=100000")
    eq(code, 200, "tunnelled request")
    data = raw_exchange(gw.port, f"CONNECT {DENIED}:{up.port} HTTP/1.1\r\nHost: {DENIED}:{up.port}\r\n\r\n"
                        .encode(), timeout=5)
    eq(parse_responses(data)[0].status, 403, "denied CONNECT")
    wait_until(lambda: len(gw.decisions()) >= n0 + 2, 5, "2 decision lines for 2 CONNECTs")
    ds = gw.decisions()[n0:]
    eq(len(ds), 2, "decision lines")
    allow = [d for d in ds if d["verdict"] == "allow"]
    deny = [d for d in ds if d["verdict"] == "deny"]
    eq((len(allow), len(deny)), (1, 1), "allow/deny lines")
    eq((allow[0]["method"], allow[0]["host"], int(allow[0]["port"])), ("CONNECT", SECURE, up.port),
       "allowed CONNECT line")
    check(int(allow[0]["bytes_out"]) + int(allow[0]["bytes_in"]) >= 100000,
          f"tunnel byte counts miss the 100000-byte body: {allow[0]}")
    eq((deny[0]["method"], deny[0]["host"], int(deny[0]["status"])), ("CONNECT", DENIED, 403),
       "denied CONNECT line")


def main():
    r = Runner("connect_tls")
    tmp = TempDir()
    try:
        ca = CA(tmp.join("ca"))
        other = CA(tmp.join("other"), name="untrusted-ca")
        leaf = ca.leaf([SECURE, "localhost"])
        rleaf = other.leaf([ROGUE])
        with Upstream(tls=leaf) as up, Upstream(tls=rleaf) as rogue:
            pol = policy([
                ("allow-secure", {"host": [SECURE], "port": [up.port]}, "allow"),
                ("allow-rogue", {"host": [ROGUE], "port": [rogue.port]}, "allow"),
                ("allow-wrong", {"host": [WRONG], "port": [up.port]}, "allow"),
                ("allow-local", {"host": ["127.0.0.1"]}, "allow"),
            ])
            args = ["--workers", "2", "--upstream-ca", ca.cert,
                    "--resolve", f"{SECURE}:{up.port}:127.0.0.1",
                    "--resolve", f"{WRONG}:{up.port}:127.0.0.1",
                    "--resolve", f"{DENIED}:{up.port}:127.0.0.1",
                    "--resolve", f"{ROGUE}:{rogue.port}:127.0.0.1"]
            ctx = {"up": up, "rogue": rogue, "ca": ca}
            with Gateway(pol, args=args, tmp=tmp) as gw:
                r.run("CONNECT to an allowed TLS upstream: 200, bytes intact", t_connect_ok, gw, ctx)
                r.run("CONNECT denied: 403, upstream untouched", t_connect_denied, gw, ctx)
                r.run("CONNECT with a malformed authority: 400", t_connect_malformed, gw, ctx)
                r.run("CONNECT decisions logged (tunnel byte counts)", t_connect_logged, gw, ctx)
                r.run("https:// absolute-form verified with --upstream-ca", t_https_absolute, gw, ctx)
                r.run("https:// upstream that does not verify: 502", t_https_unverified, gw, ctx)
    except Exception as e:
        r.fail("gateway lifecycle", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
