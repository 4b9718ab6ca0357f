#!/usr/bin/env python3
"""Forward proxying of plain HTTP/1.1 through sovgw with real curl and a real
upstream: allow/deny, private-range refusal, pins, bodies, keep-alive,
pipelining, the decision log and metrics."""

import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import (Gateway, Runner, TempDir, Upstream, check, connected, curl_status, eq,  # noqa: E402
                 md5, parse_responses, pattern_chunk, pattern_md5, policy, raw_exchange,
                 read_one_response, wait_until)

UP = "up.test.example"
DENIED = "denied.test.example"
CT = "ct.test.example"


def decision_header(headers):
    return headers.get("x-sovgw-decision", "")


def curl_headers(r_stdout_headers):
    hs = {}
    for line in r_stdout_headers.decode("latin-1").split("\r\n"):
        k, sep, v = line.partition(":")
        if sep:
            hs[k.strip().lower()] = v.strip()
    return hs


def t_allowed_get(gw, up, tmp):
    n = 3 * 1024 * 1024 + 17
    hfile = tmp.join("h1.txt")
    code, body, r = curl_status("-x", gw.proxy_url, "-D", hfile,
                                f"http://{UP}:{up.port}/bytes?n={n}")
    eq(code, 200, f"status ({r.stderr.strip()})")
    eq(len(body), n, "body length")
    eq(md5(body), pattern_md5(n), "body md5")
    hs = curl_headers(open(hfile, "rb").read())
    eq(hs.get("x-sovgw-decision"), "allow; rule=allow-up", "x-sovgw-decision")
    # request and response headers pass both ways
    code, body, r = curl_status("-x", gw.proxy_url, "-D", hfile, "-H", "X-Itest: abc 123",
                                f"http://{UP}:{up.port}/echo?q=1")
    eq(code, 200, "echo status")
    doc = json.loads(body)
    got = {k.lower(): v for k, v in doc["headers"]}
    eq(got.get("x-itest"), "abc 123", "request header at the upstream")
    eq(got.get("host"), f"{UP}:{up.port}", "Host at the upstream")
    eq(doc["path"], "/echo?q=1", "origin-form path at the upstream")
    check("proxy-connection" not in got, "Proxy-Connection forwarded upstream")
    code, body, r = curl_status("-x", gw.proxy_url, "-D", hfile, f"http://{UP}:{up.port}/")
    hs = curl_headers(open(hfile, "rb").read())
    eq(hs.get("x-upstream"), "itest", "upstream response header")
    eq(body, b"hello from upstream\n", "body")


def t_denied(gw, up, tmp):
    before = up.accepted()
    hfile = tmp.join("h2.txt")
    code, body, r = curl_status("-x", gw.proxy_url, "-D", hfile,
                                f"http://{DENIED}:{up.port}/echo")
    eq(code, 403, "status")
    doc = json.loads(body)
    for k in ("error", "rule", "reason"):
        check(k in doc, f"403 JSON body lacks {k!r}: {doc}")
    eq(doc["rule"], "default", "rule in body")
    hs = curl_headers(open(hfile, "rb").read())
    eq(hs.get("x-sovgw-decision"), "deny; rule=default", "x-sovgw-decision")
    check(hs.get("content-type", "").startswith("application/json"),
          f"content-type {hs.get('content-type')!r}")
    # an allowed host on a port the rule does not name is denied too
    code, _, _ = curl_status("-x", gw.proxy_url, f"http://{UP}:{up.port + 1}/")
    eq(code, 403, "allowed host, other port")
    eq(up.accepted(), before, "connections the upstream accepted for denied requests")


def t_private_refused(gw, up, tmp):
    before = up.accepted()
    for url in (f"http://127.0.0.1:{up.port}/echo", f"http://localhost:{up.port}/echo",
                f"http://[::1]:{up.port}/echo", f"http://2130706433:{up.port}/echo"):
        code, body, r = curl_status("-x", gw.proxy_url, "-g", url)
        check(code in (400, 403), f"{url}: status {code} (want 403): {body[:200]!r}")
        if code == 403:
            doc = json.loads(body)
            check(doc.get("reason"), f"{url}: no reason in {doc}")
    eq(up.accepted(), before, "connections the upstream accepted for private destinations")


def t_private_forms(gw, up, tmp):
    """A rule allowing every host on up2's port: only the private-range guard
    stands between these spellings of loopback and the upstream."""
    up2 = tmp.up2
    before = up2.accepted()
    p = up2.port
    for host in ("127.1", "0x7f000001", "2130706433", "0177.0.0.1", "127.0.0.01", "[::1]",
                 "[::ffff:127.0.0.1]", "[0:0:0:0:0:0:0:1]", "localhost.", "LocalHost", "0.0.0.0",
                 "10.0.0.1", "169.254.169.254", "[fe80::1]"):
        try:
            st, _, body = gw.request("GET", f"http://{host}:{p}/echo", headers={"Host": f"{host}:{p}"},
                                     timeout=15)
        except OSError as e:
            st, body = None, repr(e).encode()
        # 400/403 refuse it; a 502 is acceptable only when the spelling was
        # taken as a name that did not resolve (nothing was connected)
        check(st in (400, 403) or (st == 502 and b"resolution" in body),
              f"{host}: status {st} (want a refusal): {body[:200]!r}")
    eq(up2.accepted(), before, "connections that reached the loopback upstream")


def t_connect_to(gw, up, tmp):
    before = up.count()
    code, body, r = curl_status("-x", gw.proxy_url, f"http://{CT}/echo")
    eq(code, 200, f"status ({body[:200]!r})")
    doc = json.loads(body)
    got = {k.lower(): v for k, v in doc["headers"]}
    eq(got.get("host"), CT, "Host at the upstream (unchanged by --connect-to)")
    eq(up.count(), before + 1, "upstream requests")


def t_post_content_length(gw, up, tmp):
    n = 300 * 1024 + 5
    f = tmp.write("post.bin", pattern_chunk(3, n))
    code, body, r = curl_status("-x", gw.proxy_url, "--data-binary", f"@{f}",
                                "-H", "Content-Type: application/octet-stream",
                                f"http://{UP}:{up.port}/echo")
    eq(code, 200, f"status ({r.stderr.strip()})")
    doc = json.loads(body)
    eq(doc["method"], "POST", "method")
    eq(doc["body_len"], n, "body length at upstream")
    eq(doc["body_md5"], md5(pattern_chunk(3, n)), "body md5 at upstream")


def t_post_chunked(gw, up, tmp):
    n = 200 * 1024 + 11
    f = tmp.write("post2.bin", pattern_chunk(9, n))
    code, body, r = curl_status("-x", gw.proxy_url, "--data-binary", f"@{f}",
                                "-H", "Transfer-Encoding: chunked",
                                f"http://{UP}:{up.port}/echo")
    eq(code, 200, f"status ({r.stderr.strip()})")
    doc = json.loads(body)
    eq(doc["body_len"], n, "body length at upstream")
    eq(doc["body_md5"], md5(pattern_chunk(9, n)), "body md5 at upstream")
    # empty chunked body
    code, body, r = curl_status("-x", gw.proxy_url, "--data-binary", "",
                                "-H", "Transfer-Encoding: chunked",
                                f"http://{UP}:{up.port}/echo")
    eq(code, 200, "empty chunked status")
    eq(json.loads(body)["body_len"], 0, "empty chunked body length")


def t_chunked_response(gw, up, tmp):
    code, body, r = curl_status("-x", gw.proxy_url, f"http://{UP}:{up.port}/chunked")
    eq(code, 200, "status")
    eq(body, b"hello chunked world" + pattern_chunk(0, 10000), "chunked response body")
    code, body, r = curl_status("-x", gw.proxy_url, f"http://{UP}:{up.port}/status?code=404")
    eq(code, 404, "upstream 404 passed through")


def t_keepalive(gw, up, tmp):
    r = gw.curl("-v", "-o", "/dev/null", "-o", "/dev/null",
                f"http://{UP}:{up.port}/echo", f"http://{UP}:{up.port}/bytes?n=1000")
    eq(r.returncode, 0, f"curl exit ({r.stderr[-500:]})")
    check("Re-using existing connection" in r.stderr,
          "curl did not reuse the proxy connection:\n" + r.stderr[-1500:])


def t_pipelined(gw, up, tmp):
    a = f"{UP}:{up.port}"
    reqs = b"".join([
        f"GET http://{a}/echo/1 HTTP/1.1\r\nHost: {a}\r\n\r\n".encode(),
        f"POST http://{a}/echo/2 HTTP/1.1\r\nHost: {a}\r\nContent-Length: 5\r\n\r\nhello".encode(),
        f"GET http://{a}/status?code=404 HTTP/1.1\r\nHost: {a}\r\n\r\n".encode(),
        f"POST http://{a}/echo/4 HTTP/1.1\r\nHost: {a}\r\nTransfer-Encoding: chunked\r\n\r\n"
        f"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n".encode(),
        f"GET http://{a}/echo/5 HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n\r\n".encode(),
    ])
    data = raw_exchange(gw.port, reqs, timeout=10)
    rs = parse_responses(data)
    eq([x.status for x in rs], [200, 200, 404, 200, 200], "statuses in order")
    eq([rs[i].json()["path"] for i in (0, 1, 3, 4)], ["/echo/1", "/echo/2", "/echo/4", "/echo/5"],
       "paths in order")
    eq(rs[1].json()["body"], "hello", "2nd response body")
    eq(rs[3].json()["body"], "abcde", "4th response body (chunked)")
    # A deny in a pipeline: answered in order; when the 403 says
    # "connection: close" nothing after it may be answered (or forwarded).
    before = up.request_lines()
    reqs = (f"GET http://{a}/echo/6 HTTP/1.1\r\nHost: {a}\r\n\r\n"
            f"GET http://{DENIED}:{up.port}/echo/7 HTTP/1.1\r\nHost: {DENIED}:{up.port}\r\n\r\n"
            f"GET http://{a}/echo/8 HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\n\r\n").encode()
    rs = parse_responses(raw_exchange(gw.port, reqs, timeout=10))
    eq([x.status for x in rs[:2]], [200, 403], "allowed then denied, in order")
    if (rs[1].header("connection") or "").lower() == "close":
        eq(len(rs), 2, "responses after a 403 with connection: close")
        eq(up.request_lines(), before + 1, "requests forwarded after a closing 403")
    else:
        eq([x.status for x in rs], [200, 403, 200], "statuses with a keep-alive 403")
        eq(up.request_lines(), before + 2, "requests forwarded")


def t_decision_log_and_metrics(gw, up, tmp):
    wait_until(lambda: gw.decisions(), 5, "decision log lines from earlier checks")
    m0 = gw.metrics()
    n0 = len(gw.decisions())
    for i in range(3):
        code, _, _ = curl_status("-x", gw.proxy_url, f"http://{UP}:{up.port}/bytes?n=1000&i={i}")
        eq(code, 200, "allowed")
    for i in range(2):
        code, _, _ = curl_status("-x", gw.proxy_url, f"http://{DENIED}:{up.port}/x?i={i}")
        eq(code, 403, "denied")
    wait_until(lambda: len(gw.decisions()) >= n0 + 5, 5, "5 new decision lines")
    ds = gw.decisions()[n0:]
    eq(len(ds), 5, "decision lines for 5 requests")
    required = ("time", "client", "method", "host", "port", "path", "verdict",
                "reason", "status", "bytes_in", "bytes_out", "policy_version")
    for d in ds:
        for k in required:
            check(k in d, f"decision line lacks {k!r}: {d}")
        # the rule id is logged as "rule" (same key as the 403 body) or "rule_id"
        check("rule" in d or "rule_id" in d, f"decision line lacks the rule id: {d}")
        d["rule_id"] = d.get("rule_id", d.get("rule"))
        check(any(k.endswith("_ms") for k in d), f"no duration field in {d}")
    allow = [d for d in ds if d["verdict"] == "allow"]
    deny = [d for d in ds if d["verdict"] == "deny"]
    eq(len(allow), 3, "allow lines")
    eq(len(deny), 2, "deny lines")
    for d in allow:
        eq((d["host"], int(d["port"]), d["rule_id"], int(d["status"]), d["method"]),
           (UP, up.port, "allow-up", 200, "GET"), "allow line")
        check(d["path"].startswith("/bytes?n=1000"), f"path {d['path']!r}")
        check(int(d["bytes_out"]) >= 1000 or int(d["bytes_in"]) >= 1000,
              f"byte counts do not cover the 1000-byte body: {d}")
        check(d["client"].startswith("127.0.0.1"), f"client {d['client']!r}")
    for d in deny:
        eq((d["host"], d["rule_id"], int(d["status"])), (DENIED, "default", 403), "deny line")
    m1 = gw.metrics()
    eq(m1.get("sovgw_requests_total", verdict="allow") -
       m0.get("sovgw_requests_total", verdict="allow"), 3, "allow counter delta")
    eq(m1.get("sovgw_requests_total", verdict="deny") -
       m0.get("sovgw_requests_total", verdict="deny"), 2, "deny counter delta")
    eq(m1.get("sovgw_requests_total", verdict="allow", rule="allow-up") -
       m0.get("sovgw_requests_total", verdict="allow", rule="allow-up"), 3, "allow-up delta")
    check(m1.get("sovgw_bytes_out_total") + m1.get("sovgw_bytes_in_total") >=
          m0.get("sovgw_bytes_out_total") + m0.get("sovgw_bytes_in_total") + 3000,
          "byte counters did not move by the 3000 bytes served")
    eq(m1.get("sovgw_request_duration_seconds_count") -
       m0.get("sovgw_request_duration_seconds_count"), 5, "duration histogram count delta")
    # the same request once more than there are workers (one per core by
    # default): whichever workers take them, one takes two, and its second
    # is answered by its decision cache
    n = (os.cpu_count() or 2) + 1
    for _ in range(n):
        code, _, _ = curl_status("-x", gw.proxy_url, f"http://{DENIED}:{up.port}/same")
        eq(code, 403, "denied again")
    m2 = gw.metrics()
    hits = m2.get("sovgw_decision_cache_hits_total") - m1.get("sovgw_decision_cache_hits_total")
    misses = (m2.get("sovgw_decision_cache_misses_total") -
              m1.get("sovgw_decision_cache_misses_total"))
    check(hits >= 1 and hits + misses >= n,
          f"decision cache counters moved by {hits} hits and {misses} misses for {n} requests")


def t_http10_and_head(gw, up, tmp):
    with connected(gw.port) as s:
        s.sendall(f"HEAD http://{UP}:{up.port}/bytes?n=5000 HTTP/1.1\r\nHost: {UP}:{up.port}\r\n\r\n"
                  .encode())
        s.settimeout(5)
        head = b""
        while b"\r\n\r\n" not in head:
            b = s.recv(4096)
            check(b, "closed before HEAD response")
            head += b
        check(head.startswith(b"HTTP/1.1 200"), f"HEAD status: {head[:60]!r}")
        eq(head.split(b"\r\n\r\n", 1)[1], b"", "HEAD response carries no body")
        # the same connection still works after a HEAD (no body was expected)
        s.sendall(f"GET http://{UP}:{up.port}/echo HTTP/1.1\r\nHost: {UP}:{up.port}\r\n\r\n".encode())
        r = read_one_response(s)
        eq(r.status, 200, "GET after HEAD")
    data = raw_exchange(gw.port, f"GET http://{UP}:{up.port}/echo HTTP/1.0\r\n\r\n".encode())
    rs = parse_responses(data)
    eq(len(rs), 1, "HTTP/1.0 responses")
    eq(rs[0].status, 200, "HTTP/1.0 status")


def main():
    r = Runner("forward")
    tmp = TempDir()
    try:
        with Upstream() as up, Upstream() as up2:
            tmp.up2 = up2
            pol = policy([
                ("allow-up", {"host": [UP], "port": [up.port]}, "allow"),
                ("allow-ct", {"host": [CT], "port": [80]}, "allow"),
                ("allow-local-names", {"host": ["localhost", "127.0.0.1"]}, "allow"),
                ("any-host-on-up2", {"port": [up2.port]}, "allow"),
            ])
            args = ["--workers", "2",
                    "--resolve", f"{UP}:{up.port}:127.0.0.1",
                    "--resolve", f"{DENIED}:{up.port}:127.0.0.1",
                    "--connect-to", f"{CT}:80:127.0.0.1:{up.port}"]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                for name, fn in [("allowed GET: 200, body intact, headers", t_allowed_get),
                                 ("denied host: 403 JSON + header, upstream untouched", t_denied),
                                 ("private destinations refused without a pin", t_private_refused),
                                 ("spellings of loopback/private refused (any-host rule)",
                                  t_private_forms),
                                 ("--connect-to keeps the Host header", t_connect_to),
                                 ("POST with Content-Length echoed intact", t_post_content_length),
                                 ("POST with chunked body echoed intact", t_post_chunked),
                                 ("chunked response and upstream status", t_chunked_response),
                                 ("keep-alive: curl reuses the connection", t_keepalive),
                                 ("pipelined requests answered in order", t_pipelined),
                                 ("HEAD and HTTP/1.0", t_http10_and_head),
                                 ("decision log lines and metrics counters", t_decision_log_and_metrics)]:
                    r.run(name, fn, gw, up, tmp)
    except Exception as e:
        r.fail("gateway lifecycle", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
