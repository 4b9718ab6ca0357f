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
        with Nghttpd(tmp.join("htdocs"), tls=leaf, workdir=tmp.path, extra=["--echo-upload"]) as ng:
            pol = policy([("allow-h2", {"host": [H2], "port": [ng.port]}, "allow")])
            args = ["--workers", str(WORKERS), "--upstream-ca", ca.cert,
                    "--resolve", f"{H2}:{ng.port}:127.0.0.1"]
            with Gateway(pol, args=args, tmp=tmp) as gw:
                r.run(f"{N} parallel requests over an h2 upstream: bodies intact, multiplexed",
                      t_parallel, gw, ng, tmp, files)
                r.run("POST bodies through the h2 upstream", t_post, gw, ng, tmp, files)
                r.run("upstream 404 passes through", t_missing, gw, ng, tmp, files)
    except Exception as e:
        r.fail("gateway lifecycle", e)
    finally:
        tmp.cleanup()
    r.done()


if __name__ == "__main__":
    main()
