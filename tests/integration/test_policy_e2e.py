#!/usr/bin/env python3
"""Policy semantics seen through the proxy: wildcard hosts, host case and
trailing dot, port ranges, methods, path prefixes (and non-canonical paths that
must not match an allow prefix), rule order, and a cidr rule that lets a name
resolved by the gateway itself reach loopback without a pin."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import Gateway, Runner, TempDir, Upstream, check, eq, policy  # noqa: E402

WILD = "wild.test.example"


def expect(gw, up, method, host, path, want, rule=None, port=None, body=None):
    port = port or up.port
    n0 = up.count()
    st, hs, data = gw.request(method, f"http://{host}:{port}{path}", body=body,
                              headers={"Host": f"{host}:{port}"})
    eq(st, want, f"{method} {host}:{port}{path}")
    if rule:
        verdict = "deny" if want == 403 else "allow"
        eq(hs.get("x-sovgw-decision"), f"{verdict}; rule={rule}", f"decision for {host}{path}")
    if want == 403:
        eq(up.count(), n0, f"upstream reached by a denied {method} {host}{path}")


def t_wildcard(gw, up):
    expect(gw, up, "GET", f"a.{WILD}", "/echo", 200, "wild")
    expect(gw, up, "GET", f"x.y.{WILD}", "/echo", 200, "wild")
    expect(gw, up, "GET", WILD, "/echo", 403, "default")
    expect(gw, up, "GET", f"a{WILD}", "/echo", 403)


def t_host_case(gw, up):
    expect(gw, up, "GET", f"A.WILD.Test.Example", "/echo", 200, "wild")
    expect(gw, up, "GET", f"b.{WILD}.", "/echo", 200, "wild")


def t_port_range(gw, up):
    expect(gw, up, "GET", "range.test.example", "/echo", 200, "range")
    expect(gw, up, "GET", "range.test.example", "/echo", 403, port=up.port + 2)


def t_method(gw, up):
    expect(gw, up, "GET", "m.test.example", "/echo", 200, "get-only")
    expect(gw, up, "POST", "m.test.example", "/echo", 403, "default", body=b"x")
    expect(gw, up, "DELETE", "m.test.example", "/echo", 403, "default")


def t_path(gw, up):
    expect(gw, up, "GET", "p.test.example", "/v1/echo", 200, "v1")
    expect(gw, up, "GET", "p.test.example", "/v1/echo?x=/v2/", 200, "v1")
    expect(gw, up, "GET", "p.test.example", "/v2/echo", 403, "default")
    expect(gw, up, "GET", "p.test.example", "/V1/echo", 403, "default")
    expect(gw, up, "GET", "p.test.example", "/v1", 403, "default")
    for evil in ("/v1/../v2/echo", "/v1/%2e%2e/v2/echo", "/v1/%2E%2E/v2/echo", "/v1/..%2fv2/echo",
                 "/v1/./echo", "/v1/%2fecho", "/v1\\..\\v2"):
        st, hs, _ = gw.request("GET", f"http://p.test.example:{up.port}{evil}",
                               headers={"Host": f"p.test.example:{up.port}"})
        check(st in (400, 403), f"non-canonical path {evil!r} answered {st}")


def t_order(gw, up):
    expect(gw, up, "GET", "p.test.example", "/v1/admin/x", 403, "no-admin")
    expect(gw, up, "GET", "p.test.example", "/v1/administrator", 403, "no-admin")
    expect(gw, up, "GET", "p.test.example", "/v1/adm", 200, "v1")


def t_cidr_unpinned(gw, up):
    # localhost is resolved by the gateway itself (no pin); the rule's cidr
    # names loopback explicitly, so it may connect
    expect(gw, up, "GET", "localhost", "/echo", 200, "local-cidr")
    # same name, port not in that rule: private guard applies → 403
    expect(gw, up, "GET", "localhost", "/echo", 403, port=up.port + 2)


def main():
    r = Runner("policy_e2e")
    tmp = TempDir()
    try:
        with Upstream() as up:
            p = up.port
            pol = policy([
                ("wild", {"host": [f"*.{WILD}"], "port": [p]}, "allow"),
                ("range", {"host": ["range.test.example"], "port": [f"{p - 1}-{p + 1}"]}, "allow"),
                ("get-only", {"host": ["m.test.example"], "method": ["GET"]}, "allow"),
                ("no-admin", {"host": ["p.test.example"], "path": ["/v1/admin"]}, "deny"),
                ("v1", {"host": ["p.test.example"], "path": ["/v1/"]}, "allow"),
                ("local-cidr", {"host": ["localhost"], "port": [p], "cidr": ["127.0.0.0/8", "::1"]},
                 "allow"),
            ])
            args = ["--workers", "1",
                    "--resolve", f"*.{WILD}:{p}:127.0.0.1", "--resolve", f"{WILD}:{p}:127.0.0.1",
                    "--resolve", f"a{WILD}:{p}:127.0.0.1",
                    "--resolve", f"range.test.example:*:127.0.0.1",
                    "--resolve", f"m.test.example:{p}:127.0.0.1",
                    "--resolve", f"p.test.example:{p}:127.0.0.1"]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                r.run("wildcard host matches subdomains, not the apex", t_wildcard, gw, up)
                r.run("host case and trailing dot", t_host_case, gw, up)
                r.run("port range", t_port_range, gw, up)
                r.run("method list", t_method, gw, up)
                r.run("path prefix; non-canonical paths never match an allow", t_path, gw, up)
                r.run("rule order: a deny before an allow wins", t_order, gw, up)
                r.run("cidr rule lets a gateway-resolved name reach loopback", t_cidr_unpinned, gw, up)
    except Exception as e:
        r.fail("gateway lifecycle", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
