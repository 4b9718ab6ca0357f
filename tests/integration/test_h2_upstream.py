#!/usr/bin/env python3
"""HTTP/2 upstream: sovgw speaks h2 (ALPN) to nghttpd for https:// absolute-form
requests. 50 parallel curl requests all succeed with the right bodies, and are
multiplexed over a few upstream connections (not one per request)."""

import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import (CA, CLEAN_ENV, Gateway, Nghttpd, Runner, TempDir, check, eq,  # noqa: E402
                 established_to, md5, policy)

H2 = "h2.test.example"
N = 50
WORKERS = 2
BIG = 8 * 1024 * 1024
ABORTS = 24


def curl_burst(gw, port, tmp, paths, post=None):
    """One curl process, --parallel, one group per path; returns (codes, files)."""
    args = ["curl", "-sS", "--no-progress-meter", "--parallel", "--parallel-max", str(N),
            "--max-time", "30"]
    outs = []
    for i, p in enumerate(paths):
        if i:
            args.append("--next")
        out = tmp.join(f"out-{i}")
        outs.append(out)
        args += ["--request-target", f"https://{H2}:{port}{p}", "-H", f"Host: {H2}:{port}",
                 "-o", out, "-w", "%{http_code}\\n"]
        if post:
            args += ["--data-binary", f"@{post}", "-H", "Content-Type: application/octet-stream"]
        args.append(f"{gw.proxy_url}/")
    r = subprocess.run(args, capture_output=True, text=True, timeout=60, env=CLEAN_ENV)
    codes = [ln.strip() for ln in r.stdout.splitlines() if ln.strip()]
    return codes, outs, r


def t_parallel(gw, ng, tmp, files):
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(established_to(ng.port))
            time.sleep(0.02)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        codes, outs, r = curl_burst(gw, ng.port, tmp, [f"/f{i}" for i in range(N)])
    finally:
        stop.set()
        th.join(5)
    eq(codes, ["200"] * N, f"status codes ({r.stderr.strip()[-500:]})")
    for i, out in enumerate(outs):
        with open(out, "rb") as f:
            eq(md5(f.read()), files[i], f"md5 of /f{i}")
    after = established_to(ng.port)
    peak = max(samples + [after])
    check(peak >= 1, "never saw an upstream connection to nghttpd")
    check(peak <= 2 * WORKERS, f"{peak} upstream connections for {N} parallel requests "
          f"(want <= {2 * WORKERS}: h2 multiplexing)")
    m = gw.metrics()
    up_conns = m.get("sovgw_upstream_connections")
    check(1 <= up_conns <= 2 * WORKERS,
          f"sovgw_upstream_connections = {up_conns} after the burst (pooled h2: 1..{2 * WORKERS})")


def t_post(gw, ng, tmp, files):
    body = os.urandom(300 * 1024)
    p = tmp.write("post.bin", body)
    codes, outs, r = curl_burst(gw, ng.port, tmp, ["/echo"] * 5, post=p)
    eq(codes, ["200"] * 5, f"status codes ({r.stderr.strip()[-500:]})")
    for out in outs:
        with open(out, "rb") as f:
            eq(md5(f.read()), md5(body), "echoed POST body through the h2 upstream")


def t_missing(gw, ng, tmp, files):
    codes, outs, r = curl_burst(gw, ng.port, tmp, ["/nope"])
    eq(codes, ["404"], "upstream 404 passed through")


def t_aborted_streams(gw, ng, tmp, files):
    """Clients that vanish mid-download must not leak the shared h2
    connection's flow-control window: later requests still complete."""
    import socket
    a = f"{H2}:{ng.port}"
    socks = []
    try:
        # Small receive buffers and no reading: the proxy holds DATA it cannot
        # pass on; then every client vanishes at once.
        for i in range(ABORTS):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(10)
            s.connect(("127.0.0.1", gw.port))
            s.sendall(f"GET https://{a}/big HTTP/1.1\r\nHost: {a}\r\n\r\n".encode())
            socks.append(s)
        for s in socks:
            check(s.recv(1024).startswith(b"HTTP/1.1 200"), "aborted download did not start")
        time.sleep(0.5)
    finally:
        for s in socks:
            s.close()
    codes, outs, r = curl_burst(gw, ng.port, tmp, [f"/f{i}" for i in range(10)] + ["/big"] * 2)
    eq(codes, ["200"] * 12, f"requests after {ABORTS} aborted downloads ({r.stderr.strip()[-300:]})")
    for i in range(10):
        with open(outs[i], "rb") as f:
            eq(md5(f.read()), files[i], f"md5 of /f{i}")
    eq(os.path.getsize(outs[10]), BIG, "size of /big")


def main():
    r = Runner("h2_upstream")
    tmp = TempDir()
    try:
        ca = CA(tmp.join("ca"))
        leaf = ca.leaf([H2])
        os.makedirs(tmp.join("htdocs"))
        files = []
        for i in range(N):
            data = os.urandom(64 * 1024 + i * 4099)
            tmp.write(f"htdocs/f{i}", data)
            files.append(md5(data))
        with open(tmp.join("htdocs", "big"), "wb") as f:
            f.write(os.urandom(BIG))
        with Nghttpd(tmp.join("htdocs"), tls=leaf, workdir=tmp.path, extra=["--echo-upload"]) as ng:
            pol = policy([("allow-h2", {"host": [H2], "port": [ng.port]}, "allow")])
            args = ["--workers", str(WORKERS), "--upstream-ca", ca.cert,
                    "--resolve", f"{H2}:{ng.port}:127.0.0.1"]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                r.run(f"{N} parallel requests over an h2 upstream: bodies intact, multiplexed",
                      t_parallel, gw, ng, tmp, files)
                r.run("POST bodies through the h2 upstream", t_post, gw, ng, tmp, files)
                r.run("upstream 404 passes through", t_missing, gw, ng, tmp, files)
                r.run("aborted downloads do not stall the shared h2 connection", t_aborted_streams,
                      gw, ng, tmp, files)
    except Exception as e:
        r.fail("gateway lifecycle", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
