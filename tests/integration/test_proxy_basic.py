#!/usr/bin/env python3
"""Basic flows of `sovgw run` against real local servers and clients.

Starts, on 127.0.0.1 free ports: a plain HTTP/1.1 origin, a TLS HTTP/1.1
origin (certificate from a throw-away CA), nghttpd (TLS + h2) when installed,
and sovgw itself with a temporary policy and --resolve pins. Prints one line
per check and exits non-zero on the first failed assertion. Everything it
starts is stopped in `finally`."""
import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

SOVGW = os.environ.get("SOVGW", "build/sovgw")
WAIT = 10.0


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        raise SystemExit(1)
    print("ok:", what, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Origin(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []  # (path, client port, headers) of every request that reached an origin
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def _record(self):
        with Origin.lock:
            Origin.seen.append((self.path, self.client_address[1], dict(self.headers)))

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                line = self.rfile.readline(100).strip()
                n = int(line.split(b";")[0], 16)
                if n == 0:
                    while self.rfile.readline(1000) not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.read(2)
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n else b""

    def _send(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self._record()
        if self.path.startswith("/big"):
            n = int(self.path.split("=", 1)[1])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = b"x" * 65536
            while n > 0:
                k = min(n, len(chunk))
                self.wfile.write(chunk[:k])
                n -= k
            return
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"one,", b"two,", b"three"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path == "/headers":
            self._send(200, json.dumps(dict(self.headers)).encode(), "application/json")
            return
        self._send(200, b"hello " + self.path.encode())

    do_HEAD = do_GET

    def do_POST(self):
        self._record()
        body = self._body()
        self._send(200, body, "application/octet-stream")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def start_origin(ctx=None):
    srv = Server(("127.0.0.1", 0), Origin)
    if ctx:
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv


CLOSE_BODY = 16 * 1024 * 1024


def start_close_origin():
    """Origin that answers with Connection: close, 5 MiB (EOF-delimited for
    /eof, Content-Length for /cl), then FIN (graceful), as slow as the reader."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)

    def handle(c):
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d:
                c.close()
                return
            buf += d
        body = bytes(range(256)) * (CLOSE_BODY // 256)
        if b"/cl" in buf.split(b"\r\n")[0]:
            head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        else:
            head = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
        try:
            c.sendall(head + body)
            c.shutdown(socket.SHUT_WR)
            c.settimeout(20)
            while c.recv(65536):
                pass
        except OSError:
            pass
        c.close()

    def loop():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return srv


def make_pki(d):
    def run(*a):
        subprocess.run(a, check=True, capture_output=True, cwd=d, timeout=60)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
        "-out", "ca.pem", "-days", "2", "-subj", "/CN=sovgw test ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out",
        "leaf.csr", "-subj", "/CN=example.com")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:example.com,DNS:*.example.com\n"
                "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "ext.cnf")


def raw(port, data, timeout=5.0, until_close=True):
    """Sends data, returns everything received until close (or timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        end = time.time() + timeout
        while time.time() < end:
            try:
                x = s.recv(65536)
            except socket.timeout:
                break
            if not x:
                break
            out += x
            if not until_close and b"\r\n\r\n" in out:
                break
        return out
    finally:
        s.close()


def read_response(f):
    """Reads one HTTP/1.1 response (CL or chunked body) from a file object."""
    status = f.readline()
    headers = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b"", b"\n"):
            break
        k, v = line.decode().split(":", 1)
        headers[k.strip().lower()] = v.strip()
    body = b""
    if headers.get("transfer-encoding") == "chunked":
        while True:
            n = int(f.readline().strip(), 16)
            if n == 0:
                f.readline()
                break
            body += f.read(n)
            f.readline()
    elif "content-length" in headers:
        body = f.read(int(headers["content-length"]))
    return status.decode().strip(), headers, body


def curl(*args, timeout=20):
    p = subprocess.run(["curl", "-sS", "--max-time", "15"] + list(args), capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def start_sgw(tmp, name, args, procs):
    """Starts sovgw with args (listening on port 0), returns (proc, [ports])."""
    err_path = os.path.join(tmp, name + ".stderr")
    errf = open(err_path, "wb")
    p = subprocess.Popen([SOVGW, "run"] + args, cwd=tmp, stdout=subprocess.DEVNULL, stderr=errf)
    procs.append(p)
    ports = []
    end = time.time() + WAIT
    while time.time() < end and not ports:
        time.sleep(0.1)
        if p.poll() is not None:
            break
        with open(err_path, "rb") as f:
            for line in f.read().decode(errors="replace").splitlines():
                if "listening on " in line:
                    ports.append(line.split("listening on ", 1)[1].split()[0])
    errf.close()
    return p, ports


def main():
    tmp = tempfile.mkdtemp(prefix="sgw-basic-")
    procs = []
    servers = []
    try:
        make_pki(tmp)
        ca = os.path.join(tmp, "ca.pem")
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(os.path.join(tmp, "leaf.pem"), os.path.join(tmp, "leaf.key"))
        plain = start_origin()
        tls = start_origin(sctx)
        servers += [plain, tls]
        p_plain = plain.server_address[1]
        p_tls = tls.server_address[1]
        closed_port = free_port()
        close_origin = start_close_origin()
        p_close = close_origin.getsockname()[1]

        www = os.path.join(tmp, "www")
        os.mkdir(www)
        with open(os.path.join(www, "h2.bin"), "wb") as f:
            f.write(b"h" * (3 * 1024 * 1024 + 17))
        p_h2 = None
        if shutil.which("nghttpd"):
            p_h2 = free_port()
            procs.append(subprocess.Popen(
                ["nghttpd", str(p_h2), os.path.join(tmp, "leaf.key"),
                 os.path.join(tmp, "leaf.pem"), "-d", www, "--address=127.0.0.1"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        policy = os.path.join(tmp, "policy.yaml")
        allow_policy = ("version: 1\ndefaults: { action: deny }\nrules:\n"
                        "  - id: allow-example\n    match:\n"
                        "      host: [example.com, \"*.example.com\", badcert.test, localhost]\n"
                        "    action: allow\n")
        with open(policy, "w") as f:
            f.write(allow_policy)
        declog = os.path.join(tmp, "decisions.jsonl")
        errlog = open(os.path.join(tmp, "stderr.txt"), "wb")
        args = [SOVGW, "run", "--policy", policy, "--listen", "127.0.0.1:0", "--admin", "off",
                "--workers", "2", "--log-file", declog, "--upstream-ca", ca,
                "--resolve", "example.com:%d:127.0.0.1" % p_plain,
                "--resolve", "example.com:%d:127.0.0.1" % p_tls,
                "--resolve", "badcert.test:%d:127.0.0.1" % p_tls,
                "--resolve", "denied.org:%d:127.0.0.1" % p_plain,
                "--resolve", "close.example.com:%d:127.0.0.1" % p_close,
                "--resolve", "refused.example.com:%d:127.0.0.1" % closed_port,
                "--max-request-line", "1024", "--max-head", "4096", "--max-headers", "20",
                "--header-timeout-ms", "1500"]
        if p_h2:
            args += ["--resolve", "h2.example.com:%d:127.0.0.1" % p_h2]
        sgw = subprocess.Popen(args, cwd=tmp, stdout=subprocess.DEVNULL, stderr=errlog)
        procs.append(sgw)
        port = None
        end = time.time() + WAIT
        while time.time() < end and port is None:
            time.sleep(0.1)
            with open(os.path.join(tmp, "stderr.txt"), "rb") as f:
                for line in f.read().decode(errors="replace").splitlines():
                    if "listening on 127.0.0.1:" in line:
                        port = int(line.rsplit(":", 1)[1].split()[0])
            check(sgw.poll() is None or port is not None, "sovgw is running")
        check(port is not None, "sovgw reports its listening port")
        proxy = "http://127.0.0.1:%d" % port

        # 1. allowed absolute-form GET
        rc, out, err = curl("-i", "-x", proxy, "http://example.com:%d/a?b=1" % p_plain)
        check(rc == 0 and out.startswith(b"HTTP/1.1 200"), "allowed GET answers 200")
        check(b"hello /a?b=1" in out, "origin body forwarded with path and query")
        check(b"x-sovgw-decision: allow; rule=allow-example" in out, "decision header on allow")

        # 2. denied: 403 JSON, nothing upstream
        before = len(Origin.seen)
        rc, out, err = curl("-i", "-x", proxy, "http://denied.org:%d/secret" % p_plain)
        check(out.startswith(b"HTTP/1.1 403"), "denied host answers 403")
        head, _, body = out.partition(b"\r\n\r\n")
        check(b"content-type: application/json" in head.lower(), "403 is JSON")
        j = json.loads(body)
        check(j["rule"] == "default" and j["error"] and "reason" in j, "403 body names rule")
        check(b"x-sovgw-decision: deny; rule=default" in head, "decision header on deny")
        check(len(Origin.seen) == before and not any(p == "/secret" for p, _, _ in Origin.seen),
              "nothing of a denied request reached the origin")

        # 3. hop-by-hop removed, Via added
        rc, out, err = curl("-x", proxy, "-H", "Connection: keep-alive, X-Hop",
                            "-H", "X-Hop: 1", "-H", "X-Keep: 2", "-H", "TE: trailers",
                            "http://example.com:%d/headers" % p_plain)
        hdrs = {k.lower(): v for k, v in json.loads(out).items()}
        check("x-hop" not in hdrs and "te" not in hdrs and "proxy-connection" not in hdrs,
              "hop-by-hop headers (and those named by Connection) removed")
        check(hdrs.get("x-keep") == "2" and hdrs.get("via") == "1.1 sovgw", "end-to-end kept, Via added")

        # 4. client errors
        r = raw(port, b"GET /x HTTP/1.1\r\nHost: example.com\r\n\r\n")
        check(r.startswith(b"HTTP/1.1 400") and b"origin-form" in r, "origin-form is 400")
        r = raw(port, b"POST http://example.com/ HTTP/1.1\r\nHost: example.com\r\n"
                      b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        check(r.startswith(b"HTTP/1.1 400"), "CL+TE is 400")
        r = raw(port, b"GET http://example.com/" + b"a" * 2000 + b" HTTP/1.1\r\nHost: example.com\r\n\r\n")
        check(r.startswith(b"HTTP/1.1 414"), "request line over the limit is 414")
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(30))
        r = raw(port, b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n" + many + b"\r\n")
        check(r.startswith(b"HTTP/1.1 431"), "too many header fields is 431")
        r = raw(port, b"GET http://example.com:%d/ HTTP/1.1\r\nHost: example.com:%d\r\n" % (p_plain, p_plain),
                timeout=6)
        check(r.startswith(b"HTTP/1.1 408"), "incomplete head times out with 408")

        # 5. request bodies: CL and chunked, re-framed upstream
        payload = os.urandom(300000)
        pf = os.path.join(tmp, "payload.bin")
        with open(pf, "wb") as f:
            f.write(payload)
        rc, out, err = curl("-x", proxy, "--data-binary", "@" + pf,
                            "http://example.com:%d/echo" % p_plain)
        check(out == payload, "Content-Length body forwarded intact (300 kB)")
        rc, out, err = curl("-x", proxy, "-H", "Transfer-Encoding: chunked", "--data-binary",
                            "@" + pf, "http://example.com:%d/echo" % p_plain)
        check(out == payload, "chunked body decoded and re-chunked intact")
        rc, out, err = curl("-x", proxy, "-H", "Expect: 100-continue", "--data-binary", "@" + pf,
                            "http://example.com:%d/echo" % p_plain)
        check(out == payload, "Expect: 100-continue upload")

        # 6. chunked response, large response
        rc, out, err = curl("-x", proxy, "http://example.com:%d/chunked" % p_plain)
        check(out == b"one,two,three", "chunked response forwarded")
        rc, out, err = curl("-x", proxy, "-o", "/dev/null", "-w", "%{size_download}",
                            "http://example.com:%d/big?n=5000000" % p_plain)
        check(out == b"5000000", "5 MB response streamed")

        # 6b. upstream closes right after a large body while the client is still
        # slow: everything it sent is delivered before the response ends
        for path in (b"/eof", b"/cl"):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # before connect
            s.settimeout(10)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET http://close.example.com:%d%s HTTP/1.1\r\nHost: close.example.com:%d\r\n"
                      b"Connection: close\r\n\r\n" % (p_close, path, p_close))
            time.sleep(1.0)  # the gateway's buffers fill, it stops reading the upstream
            parts = []
            while True:
                d = s.recv(1 << 20)
                if not d:
                    break
                parts.append(d)
            s.close()
            data = b"".join(parts)
            head, _, body = data.partition(b"\r\n\r\n")
            if b"transfer-encoding: chunked" in head.lower():
                dec, i = [], 0
                while True:
                    j = body.index(b"\r\n", i)
                    n = int(body[i:j], 16)
                    if n == 0:
                        break
                    dec.append(body[j + 2:j + 2 + n])
                    i = j + 2 + n + 2
                body = b"".join(dec)
            check(head.startswith(b"HTTP/1.1 200") and len(body) == CLOSE_BODY and
                  body == bytes(range(256)) * (CLOSE_BODY // 256),
                  "slow client gets all of a %s body the upstream sent before closing (%d bytes)"
                  % (path.decode(), len(body)))

        # 7. keep-alive + pipelining on one client connection, upstream reuse
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        f = s.makefile("rb")
        n0 = len(Origin.seen)
        req = b"GET http://example.com:%d/p%%d HTTP/1.1\r\nHost: example.com:%d\r\n\r\n" % (p_plain, p_plain)
        s.sendall((req % 1) + (req % 2) + (req % 3))
        got = [read_response(f) for _ in range(3)]
        check([g[2] for g in got] == [b"hello /p1", b"hello /p2", b"hello /p3"],
              "three pipelined requests answered in order")
        s.sendall(req % 4)
        st, h, b = read_response(f)
        check(b == b"hello /p4", "keep-alive connection serves a 4th request")
        s.close()
        ports = {cp for _, cp, _ in Origin.seen[n0:]}
        check(len(Origin.seen) - n0 == 4 and len(ports) == 1, "one pooled upstream connection reused")

        # 7b. half-close: requests pipelined before the client's EOF are all answered
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall((req % 5) + (req % 6))
        s.shutdown(socket.SHUT_WR)
        f = s.makefile("rb")
        got = [read_response(f) for _ in range(2)]
        rest = f.read()
        s.close()
        check([g[2] for g in got] == [b"hello /p5", b"hello /p6"] and rest == b"",
              "requests sent before a half-close are answered, then the connection closes")

        # 8. CONNECT tunnel to the TLS origin (end-to-end verification by curl)
        rc, out, err = curl("-x", proxy, "--cacert", ca, "--resolve",
                            "example.com:%d:127.0.0.1" % p_tls, "https://example.com:%d/t" % p_tls)
        check(rc == 0 and out == b"hello /t", "CONNECT tunnel to a TLS origin")
        r = raw(port, b"CONNECT denied.org:443 HTTP/1.1\r\nHost: denied.org:443\r\n\r\n")
        check(r.startswith(b"HTTP/1.1 403"), "CONNECT to a denied host is 403")

        # 9. https absolute-form: TLS upstream verified by the gateway
        r = raw(port, b"GET https://example.com:%d/tls HTTP/1.1\r\nHost: example.com:%d\r\n"
                      b"Connection: close\r\n\r\n" % (p_tls, p_tls))
        check(r.startswith(b"HTTP/1.1 200") and r.endswith(b"hello /tls"), "https upstream (TLS, h1)")
        r = raw(port, b"GET https://badcert.test:%d/x HTTP/1.1\r\nHost: badcert.test:%d\r\n"
                      b"Connection: close\r\n\r\n" % (p_tls, p_tls))
        check(r.startswith(b"HTTP/1.1 502") and b"verif" in r, "certificate name mismatch is 502")
        if p_h2:
            rc, out, err = curl("-x", proxy, "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                "--cacert", ca, "--resolve", "h2.example.com:%d:127.0.0.1" % p_h2,
                                "https://h2.example.com:%d/h2.bin" % p_h2)
            check(out.startswith(b"200"), "CONNECT + h2 origin via curl")
            r = raw(port, b"GET https://h2.example.com:%d/h2.bin HTTP/1.1\r\nHost: h2.example.com:%d\r\n"
                          b"Connection: close\r\n\r\n" % (p_h2, p_h2), timeout=10)
            head, _, body = r.partition(b"\r\n\r\n")
            check(head.startswith(b"HTTP/1.1 200") and len(body) == 3 * 1024 * 1024 + 17,
                  "https upstream over HTTP/2 (3 MB through flow control)")
        else:
            print("skip: nghttpd not installed")

        # 10. upstream failures
        rc, out, err = curl("-i", "-x", proxy, "http://refused.example.com:%d/" % closed_port)
        check(out.startswith(b"HTTP/1.1 502"), "connection refused upstream is 502")

        # 10b. a name resolved by the gateway itself (evdns, /etc/hosts) is decided
        # again on its address: localhost is allowed by name, refused as loopback
        before = len(Origin.seen)
        rc, out, err = curl("-i", "-x", proxy, "http://localhost:%d/resolved" % p_plain)
        check(out.startswith(b"HTTP/1.1 403") and b"private" in out and len(Origin.seen) == before,
              "resolved loopback address refused by the per-address decision")

        # 11. decision log
        with open(declog) as f:
            recs = [json.loads(x) for x in f if x.strip()]
        check(any(r["verdict"] == "deny" and r["host"] == "denied.org" for r in recs),
              "decision log records the denial")
        check(any(r["proto"] == "connect" and r["verdict"] == "allow" for r in recs),
              "decision log records the tunnel")

        # 12. SIGHUP recompiles the policy
        with open(policy, "w") as f:
            f.write("version: 1\ndefaults: { action: deny }\nrules:\n"
                    "  - id: only-other\n    match: { host: [other.example.net] }\n    action: allow\n")
        sgw.send_signal(signal.SIGHUP)
        ok = False
        end = time.time() + WAIT
        while time.time() < end and not ok:
            time.sleep(0.2)
            rc, out, err = curl("-i", "-x", proxy, "http://example.com:%d/" % p_plain)
            ok = out.startswith(b"HTTP/1.1 403")
        check(ok, "SIGHUP reload: example.com now denied")

        # 13. a second gateway: connection limit, pool idle expiry, IPv6 listener
        v6 = socket.has_ipv6
        try:
            socket.create_server(("::1", 0), family=socket.AF_INET6).close()
        except OSError:
            v6 = False
        args2 = ["--policy", os.path.join(tmp, "policy2.yaml"), "--listen", "127.0.0.1:0",
                 "--admin", "off", "--workers", "1", "--log-file", os.path.join(tmp, "d2.jsonl"),
                 "--max-connections", "2", "--pool-idle-ms", "300",
                 "--resolve", "example.com:%d:127.0.0.1" % p_plain]
        if v6:
            args2 += ["--listen", "[::1]:0"]
        with open(os.path.join(tmp, "policy2.yaml"), "w") as f:
            f.write(allow_policy)
        os.makedirs(os.path.join(tmp, "second"), exist_ok=True)
        sgw2, ports2 = start_sgw(os.path.join(tmp, "second"), "sgw2", args2, procs)
        check(len(ports2) == (2 if v6 else 1), "second gateway listening on %s" % ports2)
        port2 = int(ports2[0].rsplit(":", 1)[1])
        url = "http://example.com:%d/pool" % p_plain
        n0 = len(Origin.seen)
        rc, out, err = curl("-x", "http://127.0.0.1:%d" % port2, url)
        time.sleep(1.0)  # longer than --pool-idle-ms
        rc, out2, err = curl("-x", "http://127.0.0.1:%d" % port2, url)
        ports_seen = [cp for _, cp, _ in Origin.seen[n0:]]
        check(out == out2 == b"hello /pool" and len(ports_seen) == 2 and ports_seen[0] != ports_seen[1],
              "idle pooled upstream connection expires after --pool-idle-ms")
        time.sleep(0.5)  # let the gateway see the curl connections above close
        held = []
        for _ in range(2):
            held.append(socket.create_connection(("127.0.0.1", port2)))
            time.sleep(0.2)
        r = raw(port2, b"GET http://example.com:%d/ HTTP/1.1\r\nHost: example.com:%d\r\n\r\n"
                % (p_plain, p_plain))
        check(r.startswith(b"HTTP/1.1 503") and b"application/json" in r,
              "connection over --max-connections gets 503 (got %r)" % r[:60])
        for h in held:
            h.close()
        time.sleep(0.2)
        if v6:
            rc, out, err = curl("-x", "http://%s" % ports2[1], url)
            check(out == b"hello /pool", "IPv6 listener [::1] serves")
        sgw2.send_signal(signal.SIGTERM)
        check(sgw2.wait(timeout=20) == 0, "second gateway exits 0")

        # 14. SIGTERM: clean exit
        sgw.send_signal(signal.SIGTERM)
        try:
            code = sgw.wait(timeout=20)
        except subprocess.TimeoutExpired:
            code = None
        check(code == 0, "SIGTERM drains and exits 0")
        print("all basic proxy checks passed")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for s in servers:
            s.shutdown()
        try:
            close_origin.close()
        except NameError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
