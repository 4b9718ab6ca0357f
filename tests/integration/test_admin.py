#!/usr/bin/env python3
"""The admin endpoint: /healthz, /readyz, /metrics (Prometheus text format),
404/405 for anything else, and the live gauges move with real connections."""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import Gateway, Runner, TempDir, Upstream, check, eq, policy, wait_until  # noqa: E402

UP = "up.test.example"
REQUIRED = {
    "sovgw_requests_total": "counter",
    "sovgw_request_duration_seconds": "histogram",
    "sovgw_bytes_in_total": "counter",
    "sovgw_bytes_out_total": "counter",
    "sovgw_active_connections": "gauge",
    "sovgw_policy_version": "gauge",
    "sovgw_upstream_connections": "gauge",
    "sovgw_up": "gauge",
}


def t_health(gw):
    st, hs, body = gw.admin_get("/healthz")
    eq(st, 200, "/healthz status")
    st, hs, body = gw.admin_get("/readyz")
    eq(st, 200, "/readyz status")


def t_unknown(gw):
    st, _, _ = gw.admin_get("/nope")
    eq(st, 404, "/nope status")
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", gw.admin_port, timeout=5)
    try:
        c.request("POST", "/metrics", body=b"x")
        eq(c.getresponse().status, 405, "POST /metrics status")
    finally:
        c.close()


def t_metrics_format(gw, up):
    # one allowed and one denied request so that labelled series exist
    st, _, _ = gw.request("GET", f"http://{UP}:{up.port}/")
    eq(st, 200, "allowed request")
    st, _, _ = gw.request("GET", f"http://denied.test.example:{up.port}/")
    eq(st, 403, "denied request")
    st, hs, body = gw.admin_get("/metrics")
    eq(st, 200, "/metrics status")
    check(hs.get("content-type", "").startswith("text/plain"),
          f"content-type {hs.get('content-type')!r}")
    text = body.decode()
    check(text.endswith("\n"), "exposition does not end with a newline")
    types = {}
    helps = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            check(name not in types, f"duplicate TYPE for {name}")
            types[name] = typ
        elif line.startswith("# HELP "):
            helps.add(line.split(" ", 3)[2])
    for name, typ in REQUIRED.items():
        eq(types.get(name), typ, f"TYPE of {name}")
        check(name in helps, f"no HELP for {name}")
    m = gw.metrics()  # parses every sample line strictly
    for n, labels, v in m.samples:
        base = n
        for suf in ("_bucket", "_sum", "_count"):
            if n.endswith(suf) and n[:-len(suf)] in types:
                base = n[:-len(suf)]
        check(base in types, f"sample {n} has no TYPE line")
        check(v >= 0, f"negative value {n}{labels}={v}")
    eq(m.get("sovgw_requests_total", verdict="allow", rule="allow-up"), 1, "allow-up counter")
    eq(m.get("sovgw_requests_total", verdict="deny", rule="default"), 1, "deny counter")
    check(m.get("sovgw_policy_version") >= 1, "policy version < 1")
    eq(m.get("sovgw_up"), 1, "sovgw_up")
    # histogram: cumulative buckets, +Inf == _count
    buckets = sorted(((float(ls["le"]), v) for n, ls, v in m.samples
                      if n == "sovgw_request_duration_seconds_bucket"), key=lambda x: x[0])
    check(len(buckets) >= 3, f"too few buckets: {buckets}")
    check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), f"buckets not cumulative: {buckets}")
    eq(buckets[-1][0], float("inf"), "last bucket le")
    eq(buckets[-1][1], m.get("sovgw_request_duration_seconds_count"), "+Inf bucket vs _count")
    eq(m.get("sovgw_request_duration_seconds_count"), 2, "histogram count")


def t_active_connections(gw):
    # The earlier checks' client connections are closed on the client side,
    # but on a loaded machine the gateway may not have seen every close yet:
    # a base taken then would drop under the clients counted below.
    wait_until(lambda: gw.metrics().get("sovgw_active_connections") == 0, 5,
               "connections of the earlier checks to be closed")
    base = 0
    socks = [socket.create_connection(("127.0.0.1", gw.port), timeout=5) for _ in range(5)]
    try:
        wait_until(lambda: gw.metrics().get("sovgw_active_connections") >= base + 5, 5,
                   "sovgw_active_connections to count 5 idle clients")
    finally:
        for s in socks:
            s.close()
    wait_until(lambda: gw.metrics().get("sovgw_active_connections") <= base, 5,
               "sovgw_active_connections to drop back after the clients closed")


def main():
    r = Runner("admin")
    tmp = TempDir()
    try:
        with Upstream() as up:
            pol = policy([("allow-up", {"host": [UP], "port": [up.port]}, "allow")])
            args = ["--workers", "2", "--resolve", f"{UP}:{up.port}:127.0.0.1",
                    "--resolve", f"denied.test.example:{up.port}:127.0.0.1"]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                r.run("/healthz and /readyz answer 200", t_health, gw)
                r.run("unknown path 404, POST 405", t_unknown, gw)
                r.run("/metrics is valid Prometheus text with the required series",
                      t_metrics_format, gw, up)
                r.run("sovgw_active_connections follows clients", t_active_connections, gw)
    except Exception as e:
        r.fail("gateway lifecycle", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
