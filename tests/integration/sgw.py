"""sgw.py -- harness for sovgw's integration tests (python3 stdlib only).

Every test_*.py imports this module. It provides:
  * free ports, a temp dir per test, a CA and leaf certificates (openssl CLI);
  * local upstreams: an HTTP/1.1 server (plain or TLS) with /echo, /bytes,
    /chunked, /slow, /status, and nghttpd for HTTP/2 (h2c or TLS + ALPN h2);
  * Gateway: starts `$SOVGW run` on free ports, waits for /readyz, exposes the
    proxy/admin URLs, the decision log and the metrics, and on exit stops it
    with SIGTERM and fails when it crashed or a sanitizer reported an error;
  * clients: curl through the proxy, raw sockets, an HTTP/1.x response reader;
  * Runner: `ok - name` / `not ok - name: why` lines, exit status 1 on failure.

Every wait is bounded. Servers bind 127.0.0.1 only, on ports chosen at run time.
"""

import contextlib
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

SRC = os.environ.get("SGW_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SOVGW = os.path.abspath(os.environ.get("SOVGW") or os.path.join(SRC, "build", "itest", "sovgw"))
KEEP = os.environ.get("SGW_KEEP") == "1"  # keep temp dirs for post-mortem

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

# Clients must never pick up a proxy from the environment of the runner.
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}


def need_modules(*names):
    """Makes Debian's python3 modules importable (python3-h2, reportlab,
    avro…): ctest may run a python3 without them, so the script re-executes
    itself with /usr/bin/python3 (call it before importing them)."""
    try:
        for name in names:
            __import__(name)
    except ImportError:
        if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != \
                os.path.realpath("/usr/bin/python3"):
            os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
        raise


def need_h2():
    """need_modules for python3-h2."""
    need_modules("h2.connection")


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    """Raises TestFailure(msg) when cond is false (works under python -O)."""
    if not cond:
        raise TestFailure(msg)


def eq(got, want, what):
    if got != want:
        raise TestFailure(f"{what}: got {got!r}, want {want!r}")


# Waits are for events that normally take milliseconds; a sanitizer build on
# a loaded 2-CPU machine (other tests, benchmarks) can be many times slower,
# so every wait_until budget is multiplied by this (SGW_WAIT_SCALE, default
# 3). A longer budget only delays a failure; a passing check returns as soon
# as its condition holds.
WAIT_SCALE = float(os.environ.get("SGW_WAIT_SCALE", "3"))


def wait_until(pred, timeout, what, interval=0.05):
    """Polls pred() until it is truthy or timeout x WAIT_SCALE seconds pass
    (then fails)."""
    timeout *= WAIT_SCALE
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TestFailure(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------
# ports, temp dirs, files

def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago (bind 0, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    """n distinct TCP ports that were free on 127.0.0.1 a moment ago (all
    bound at once, so two of them can never be the same)."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class TempDir:
    """A private temp dir, removed on exit unless SGW_KEEP=1."""

    def __init__(self, prefix="sgw-itest-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def join(self, *p):
        return os.path.join(self.path, *p)

    def write(self, name, data, mode=0o644):
        p = self.join(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        os.chmod(p, mode)
        return p

    def cleanup(self):
        if KEEP:
            print(f"# kept {self.path}")
        else:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


def _pattern_slow(n, offset=0):
    return bytes(((i * 7 + (i >> 8)) & 0xFF) for i in range(offset, offset + n))


# period: byte i + 65536 equals byte i (65536 * 7 and 65536 / 256 are both
# multiples of 256)
_PATTERN_BLOCK = _pattern_slow(1 << 16)


def pattern_bytes(n, offset=0):
    """Deterministic body bytes: byte i is (i * 7 + i // 256) & 0xff. Built
    from slices of one period: a byte-by-byte loop took ~0.6 s per 5 MB,
    longer than the 1 s idle timeouts some tests run with on a busy host."""
    return pattern_chunk(offset, n)


def pattern_chunk(offset, n):
    """n pattern bytes starting at offset (fast: slices of a 64 KiB period)."""
    out = bytearray()
    while n > 0:
        o = offset & 0xFFFF
        take = min(n, 0x10000 - o)
        out += _PATTERN_BLOCK[o:o + take]
        offset += take
        n -= take
    return bytes(out)


def pattern_md5(n):
    h = hashlib.md5()
    off = 0
    while off < n:
        take = min(1 << 20, n - off)
        h.update(pattern_chunk(off, take))
        off += take
    return h.hexdigest()


def md5(b):
    return hashlib.md5(b).hexdigest()


# --------------------------------------------------------------------------
# certificates (openssl CLI)

def _openssl(*args, cwd=None):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise TestFailure(f"openssl {' '.join(args)} failed: {r.stderr.strip()}")
    return r


class CA:
    """A throw-away CA in dir; leaf() mints server certificates signed by it."""

    def __init__(self, dirpath, name="sovgw-itest-ca"):
        self.dir = dirpath
        os.makedirs(dirpath, exist_ok=True)
        self.key = os.path.join(dirpath, f"{name}.key")
        self.cert = os.path.join(dirpath, f"{name}.pem")
        self.name = name
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2",
                 "-subj", f"/CN={name}",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self._serial = 1

    def leaf(self, names, stem=None):
        """Returns (cert_path, key_path) for a leaf valid for the DNS names/IPs."""
        stem = stem or re.sub(r"[^a-z0-9.-]", "_", names[0].lower())
        key = os.path.join(self.dir, f"{stem}.key")
        csr = os.path.join(self.dir, f"{stem}.csr")
        crt = os.path.join(self.dir, f"{stem}.pem")
        ext = os.path.join(self.dir, f"{stem}.ext")
        sans = ",".join((f"IP:{n}" if re.fullmatch(r"[0-9.]+|[0-9a-f:]+:[0-9a-f:]*", n)
                         else f"DNS:{n}") for n in names)
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n"
                    f"subjectAltName={sans}\n")
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={names[0]}")
        self._serial += 1
        _openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
                 "-set_serial", str(self._serial), "-days", "2", "-extfile", ext, "-out", crt)
        return crt, key


# --------------------------------------------------------------------------
# HTTP/1.1 upstream

def read_chunked(rfile, limit=64 << 20):
    """Reads a chunked body from a file-like object; returns (body, trailers)."""
    body = bytearray()
    while True:
        line = rfile.readline(1024)
        if not line.endswith(b"\n"):
            raise ValueError("bad chunk size line")
        size_s = line.split(b";", 1)[0].strip()
        if not re.fullmatch(rb"[0-9A-Fa-f]{1,8}", size_s):
            raise ValueError("bad chunk size")
        size = int(size_s, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise ValueError("chunked body too large")
        body += rfile.read(size)
        if rfile.read(2) != b"\r\n":
            raise ValueError("missing CRLF after chunk")
    trailers = []
    while True:
        line = rfile.readline(8192)
        if line in (b"\r\n", b"\n", b""):
            break
        trailers.append(line.decode("latin-1").rstrip("\r\n"))
    return bytes(body), trailers


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # head and body go out in separate writes: without TCP_NODELAY, Nagle plus
    # the peer's delayed ACK adds 40 ms to every response
    disable_nagle_algorithm = True
    server_version = "sgw-itest-upstream"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        pass

    def parse_request(self):
        # Counts every request line that arrived, even one whose head or body
        # turns out broken: "the upstream saw nothing" means this did not move.
        self.server.count_line()
        return super().parse_request()

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                raise ValueError("unsupported transfer-encoding")
            body, _ = read_chunked(self.rfile)
            return body
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        return self.rfile.read(int(cl))

    def _send(self, code, body, ctype="application/octet-stream", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        srv = self.server
        try:
            body = self._read_body()
        except (ValueError, OSError) as e:
            srv.record(self, None, error=str(e))
            self.close_connection = True
            self._send(400, b"bad body\n", "text/plain")
            return
        srv.record(self, body)
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        p = u.path
        if p == "/echo" or p.startswith("/echo/"):
            doc = {"method": self.command, "path": self.path,
                   "headers": [[k, v] for k, v in self.headers.items()],
                   "body_len": len(body), "body_md5": md5(body),
                   "body": body.decode("latin-1")}
            self._send(200, json.dumps(doc).encode(), "application/json")
        elif p == "/bytes":
            n = int(q.get("n", "0"))
            chunk = int(q.get("chunk", str(1 << 16)))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            off = n if self.command == "HEAD" else 0
            try:
                while off < n:
                    take = min(chunk, n - off)
                    self.wfile.write(pattern_chunk(off, take))
                    off += take
            except OSError:
                self.close_connection = True
        elif p == "/chunked":
            parts = [b"hello ", b"chunked ", b"world", pattern_chunk(0, 10000)]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command == "HEAD":
                return
            for part in parts:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif p == "/slow":
            time.sleep(int(q.get("ms", "1000")) / 1000.0)
            self._send(200, b"slow done\n", "text/plain")
        elif p == "/status":
            code = int(q.get("code", "200"))
            self._send(code, f"status {code}\n".encode(), "text/plain")
        else:
            self._send(200, b"hello from upstream\n", "text/plain",
                       extra=[("X-Upstream", "itest")])

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _handle


class Upstream(http.server.ThreadingHTTPServer):
    """HTTP/1.1 upstream on 127.0.0.1:free port, served from a daemon thread.

    .requests: what it received (dicts: method, path, headers, body_len, error;
    body with keep_bodies);
    .count(): number of requests received; tls=(cert, key) serves HTTPS."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, tls=None, keep_bodies=False):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.port = self.server_address[1]
        self.lock = threading.Lock()
        self.requests = []
        self.keep_bodies = keep_bodies  # .requests[i]["body"]: the bytes, for tests that read them
        self.accepts = 0  # TCP connections accepted (a tunnel without a request counts)
        self.lines = 0    # request lines received (complete or not)
        self.ctx = None
        if tls:
            self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ctx.load_cert_chain(tls[0], tls[1])
            self.ctx.set_alpn_protocols(["http/1.1"])
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)

    def get_request(self):
        sock, addr = self.socket.accept()
        with self.lock:
            self.accepts += 1
        if self.ctx:
            # The handshake runs on first read, in the handler's thread.
            sock = self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        pass  # clients hanging up mid-response are part of several tests

    def record(self, h, body, error=None):
        with self.lock:
            self.requests.append({"method": h.command, "path": h.path,
                                  "headers": dict(h.headers.items()),
                                  "body_len": None if body is None else len(body),
                                  "body": body if self.keep_bodies else None,
                                  "error": error})

    def count(self):
        with self.lock:
            return len(self.requests)

    def accepted(self):
        with self.lock:
            return self.accepts

    def count_line(self):
        with self.lock:
            self.lines += 1

    def request_lines(self):
        with self.lock:
            return self.lines

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


class AcceptLoop:
    """A listener on 127.0.0.1 (self.port) that hands each connection to
    self._conn(sock) on a thread of its own; a context manager. Subclasses
    write _conn (this one closes at once); self.stop is set on exit."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _conn(self, c):
        c.close()  # subclasses answer; the base only accepts

    def _loop(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


class RawUpstream(AcceptLoop):
    """A scripted origin: for each connection it reads one request head and
    answers with respond(head_bytes) -> bytes (or None: say nothing), then
    closes after `linger` seconds. For malformed-response tests."""

    def __init__(self, respond, linger=0.5):
        super().__init__()
        self.respond = respond
        self.linger = linger
        self.heads = []

    def _conn(self, c):
        try:
            c.settimeout(5)
            buf = b""
            while b"\r\n\r\n" not in buf and len(buf) < 65536:
                b = c.recv(65536)
                if not b:
                    return
                buf += b
            self.heads.append(buf)
            out = self.respond(buf)
            if out:
                c.sendall(out)
            time.sleep(self.linger)
        except OSError:
            pass
        finally:
            c.close()


class Nghttpd:
    """nghttpd serving htdocs: h2c (tls=None) or TLS with ALPN h2 (tls=(cert,key))."""

    def __init__(self, htdocs, tls=None, workdir=None, extra=()):
        self.port = free_port()
        cmd = ["nghttpd", "-d", htdocs, *extra]
        if tls:
            cmd += [str(self.port), tls[1], tls[0]]
        else:
            cmd += ["--no-tls", str(self.port)]
        self.log = open(os.path.join(workdir or htdocs, f"nghttpd-{self.port}.log"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=CLEAN_ENV)
        try:
            wait_until(lambda: self.proc.poll() is not None or port_open(self.port), 10,
                       "nghttpd to listen")
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise TestFailure(f"nghttpd exited: {self.log.read()[-2000:]}")
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def established_to(port):
    """Number of established TCP connections whose peer is 127.0.0.1:port
    (seen from the client side, i.e. connections made to that server)."""
    r = subprocess.run(["ss", "-Htn", "state", "established", f"( dport = :{port} )"],
                       capture_output=True, text=True, timeout=10)
    return len([ln for ln in r.stdout.splitlines() if ln.strip()])


# --------------------------------------------------------------------------
# the gateway

def npm_project(src, probe):
    """The npm project in tests/integration/<src> (package.json,
    package-lock.json and its scripts) installed once per build tree
    (SGW_BUILD): its directory, or None with the reason printed. `probe` is
    a path under node_modules that the install makes. Tests never fake a
    client that is missing."""
    here = os.path.dirname(os.path.abspath(__file__))
    base = os.environ.get("SGW_BUILD") or tempfile.gettempdir()
    d = os.path.join(base, src)
    os.makedirs(d, exist_ok=True)
    # package-lock.json pins the whole tree: an install resolving "latest"
    # failed CI once while the registry was mid-publish (client-s3 asked for
    # an @aws-sdk/core it did not serve yet); a second try covers a blip
    for f in os.listdir(os.path.join(here, src)):
        shutil.copyfile(os.path.join(here, src, f), os.path.join(d, f))
    # installed again when the lock file changed since (a dependency added)
    stamp = os.path.join(d, "node_modules", ".sgw-installed-lock")
    with open(os.path.join(d, "package-lock.json"), "rb") as f:
        lock = f.read()
    try:
        with open(stamp, "rb") as f:
            current = f.read() == lock
    except OSError:
        current = False
    if not current or not os.path.isdir(os.path.join(d, "node_modules", probe)):
        for attempt in (1, 2):
            p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                               cwd=d, capture_output=True, text=True, timeout=240)
            if p.returncode == 0:
                break
            print(f"# npm install failed (attempt {attempt}): {p.stderr.strip()[-500:]}")
            if attempt == 1:
                time.sleep(15)
        else:
            return None
        with open(stamp, "wb") as f:
            f.write(lock)
    return d


def sovgw(*args, timeout=60, cwd=None, input=None):
    """Runs the sovgw binary to completion; returns CompletedProcess (text)."""
    return subprocess.run([SOVGW, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, input=input, env=CLEAN_ENV)


def type_counts(fs):
    """{type: how many findings} of scan_jsonl's findings"""
    c = {}
    for f in fs:
        c[f["type"]] = c.get(f["type"], 0) + 1
    return c


def scan_jsonl(*args, input=None, timeout=60):
    """`sovgw scan --format jsonl ARGS` (input: bytes for "-"): its exit
    status and findings. A sanitizer report, or an exit status other than
    0 (clean) or 1 (found), fails the test."""
    p = subprocess.run([SOVGW, "scan", "--format", "jsonl", *args], input=input, capture_output=True,
                       timeout=timeout)
    rep = sanitizer_report(p.stderr.decode("utf-8", "replace"))
    check(not rep, f"sanitizer report in sovgw scan stderr:\n{rep}")
    check(p.returncode in (0, 1), f"sovgw scan {' '.join(args)}: exit {p.returncode}, stderr {p.stderr[-1500:]!r}")
    return p.returncode, [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]


def aws_cli_request(t, *args):
    """The request the AWS CLI (Debian's awscli, /usr/bin/aws) makes for
    `aws ARGS` to a local endpoint, with AWS's documented example keys and
    no configuration of the user's: (content type or "", body). t: a
    TempDir (the CLI's HOME)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": t.path, "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
           "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": "", "AWS_CONFIG_FILE": t.join("none"),
           "AWS_SHARED_CREDENTIALS_FILE": t.join("none")}
    with Upstream(keep_bodies=True) as up:
        p = subprocess.run(["/usr/bin/aws", "--region", "eu-central-1", "--endpoint-url", f"http://127.0.0.1:{up.port}",
                            "--cli-connect-timeout", "5", "--cli-read-timeout", "10", *args],
                           env=env, capture_output=True, text=True, timeout=60)
        eq(up.count(), 1, f"aws {' '.join(args[:2])}: one request ({p.stderr[-300:]!r})")
        req = up.requests[0]
    h = {k.lower(): v for k, v in req["headers"].items()}
    return h.get("content-type", ""), req["body"]


def sanitizer_report(text):
    for m in SANITIZER_MARKERS:
        i = text.find(m)
        if i >= 0:
            return text[max(0, i - 200):i + 3000]
    return None


def parse_metrics(text):
    """Prometheus text -> list of (name, labels dict, float value)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$', line)
        if not m:
            raise TestFailure(f"malformed metrics line: {line!r}")
        labels = {}
        if m.group(3):
            for lm in re.finditer(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3)):
                labels[lm.group(1)] = lm.group(2)
        out.append((m.group(1), labels, float(m.group(4))))
    return out


class Metrics:
    def __init__(self, text):
        self.text = text
        self.samples = parse_metrics(text)

    def get(self, name, **labels):
        """Sum of the samples of name whose labels include the given ones."""
        return sum(v for n, ls, v in self.samples
                   if n == name and all(ls.get(k) == str(w) for k, w in labels.items()))

    def has(self, name):
        return any(n == name for n, _, _ in self.samples)


class Gateway:
    """`sovgw run` on free ports, as a context manager.

    Gateway(policy_yaml, args=[...]) or Gateway(store=DIR, args=[...]).
    Stops it with SIGTERM on exit and fails if it did not exit 0 within 10 s,
    or if stderr carries a sanitizer report."""

    _seq = 0

    def __init__(self, policy=None, args=(), store=None, tmp=None, ready_timeout=10,
                 admin=True, expect_exit=0):
        self.own_tmp = tmp is None
        self.tmp = tmp or TempDir()
        self.args = list(args)
        self.policy_path = None
        self.store = store
        self.ready_timeout = ready_timeout
        self.with_admin = admin
        self.expect_exit = expect_exit
        if policy is not None:
            self.policy_path = self.tmp.write(f"policy-{Gateway._seq + 1}.yaml", policy)
        Gateway._seq += 1
        self.log_path = self.tmp.join(f"decisions-{Gateway._seq}.log")
        self.proc = None
        self.returncode = None

    # -- lifecycle
    def start(self):
        last = None
        for _ in range(3):  # a free port can be taken between probe and bind: retry
            self.port, self.admin_port = free_ports(2)
            cmd = [SOVGW, "run"]
            if self.policy_path:
                cmd += ["--policy", self.policy_path]
            if self.store:
                cmd += ["--store", self.store]
            cmd += ["--listen", f"127.0.0.1:{self.port}"]
            cmd += ["--admin", f"127.0.0.1:{self.admin_port}" if self.with_admin else "off"]
            cmd += ["--log-file", self.log_path, *self.args]
            self.cmd = cmd
            self.stdout_path = self.tmp.join(f"sovgw-{self.port}.out")
            self.stderr_path = self.tmp.join(f"sovgw-{self.port}.err")
            with open(self.stdout_path, "wb") as o, open(self.stderr_path, "wb") as e:
                self.proc = subprocess.Popen(cmd, stdout=o, stderr=e, cwd=self.tmp.path,
                                             env=CLEAN_ENV)
            self.pid = self.proc.pid
            try:
                self._wait_ready()
                return self
            except TestFailure as ex:
                last = ex
                err = self.stderr()
                self._kill()
                if "in use" not in err.lower():
                    raise
        raise last

    def _wait_ready(self):
        def ready():
            if self.proc.poll() is not None:
                return "dead"
            if not self.with_admin:
                return port_open(self.port) and "up"
            try:
                st, _, _ = self.admin_get("/readyz", timeout=1)
                return st == 200 and "up"
            except OSError:
                return False
        st = wait_until(ready, self.ready_timeout, "sovgw to become ready (/readyz 200)")
        if st == "dead":
            raise TestFailure(f"sovgw exited with {self.proc.returncode} before ready: "
                              f"cmd={' '.join(self.cmd)}\nstderr:\n{self.stderr()[-3000:]}")

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig, waits up to timeout; returns the exit code (kills on timeout)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill()
                self.returncode = "timeout"
                return self.returncode
        self.returncode = self.proc.returncode
        return self.returncode

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self._kill()
            if self.own_tmp:
                self.tmp.cleanup()
            raise

    def __exit__(self, exc_type, exc, tb):
        try:
            rc = self.stop() if self.returncode is None else self.returncode
            rep = sanitizer_report(self.stderr())
            if rep:
                raise TestFailure(f"sanitizer report in sovgw stderr:\n{rep}")
            if exc_type is not None:
                return False  # the test's own failure is the one to report
            if self.expect_exit is not None and rc != self.expect_exit:
                raise TestFailure(f"sovgw exit status {rc} (want {self.expect_exit}); "
                                  f"stderr:\n{self.stderr()[-3000:]}")
            if rc is not None and isinstance(rc, int) and rc < 0:
                raise TestFailure(f"sovgw died by signal {-rc}; stderr:\n{self.stderr()[-3000:]}")
        finally:
            if self.own_tmp:
                self.tmp.cleanup()

    # -- observation
    @property
    def proxy_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self):
        return f"http://127.0.0.1:{self.admin_port}"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, AttributeError):
            return ""

    def stdout(self):
        try:
            with open(self.stdout_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, AttributeError):
            return ""

    def log_lines(self):
        """Every JSON object line of the decision log (non-JSON lines skipped).

        A worker writes the lines of one event-loop pass at the end of that
        pass, a moment after the responses of the pass went out: read until
        two reads 30 ms apart agree (at most ~1 s)."""
        prev = None
        for _ in range(30):
            cur = self._read_log_lines()
            if prev is not None and len(cur) == len(prev):
                return cur
            prev = cur
            time.sleep(0.03)
        return prev

    def _read_log_lines(self):
        out = []
        try:
            with open(self.log_path, "rb") as f:
                for line in f:
                    line = line.strip()
                    if line.startswith(b"{"):
                        try:
                            out.append(json.loads(line))
                        except ValueError:
                            pass
        except FileNotFoundError:
            pass
        return out

    def decisions(self):
        return [d for d in self.log_lines() if "verdict" in d]

    def admin_get(self, path, timeout=5):
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()

    def metrics(self):
        st, _, body = self.admin_get("/metrics")
        if st != 200:
            raise TestFailure(f"/metrics answered {st}")
        return Metrics(body.decode())

    def rss_kb(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise TestFailure("no VmRSS")

    # -- requests through the proxy
    def request(self, method, url, headers=None, body=None, timeout=10):
        """One request through the proxy with http.client (absolute-form).
        Returns (status, headers dict lower-cased, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, url, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()

    def curl(self, *args, timeout=30):
        return curl("-x", self.proxy_url, *args, timeout=timeout)


# --------------------------------------------------------------------------
# clients

def curl(*args, timeout=30):
    """curl -sS ARGS; returns CompletedProcess with bytes stdout, text stderr."""
    r = subprocess.run(["curl", "-sS", "--max-time", str(timeout), *args],
                       capture_output=True, timeout=timeout + 10, env=CLEAN_ENV)
    r.stderr = r.stderr.decode("utf-8", "replace")
    return r


def curl_status(*args, timeout=30):
    """Runs curl and returns (http_code int, body bytes, CompletedProcess)."""
    r = curl("-o", "-", "-w", "\n%{http_code}", *args, timeout=timeout)
    body, _, code = r.stdout.rpartition(b"\n")
    try:
        return int(code), body, r
    except ValueError:
        return 0, body, r


def raw_exchange(port, data, timeout=5, host="127.0.0.1", shut_write=False, max_bytes=64 << 20):
    """Sends data on a fresh connection and reads until the peer closes or
    timeout passes with nothing more to read. Returns the bytes received."""
    s = socket.create_connection((host, port), timeout=timeout)
    out = bytearray()
    try:
        s.sendall(data)
        if shut_write:
            s.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(out) < max_bytes:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            out += b
    finally:
        s.close()
    return bytes(out)


class Response:
    def __init__(self, status, reason, headers, body, version):
        self.status, self.reason, self.headers, self.body, self.version = (
            status, reason, headers, body, version)

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.reason} body={self.body[:120]!r}>"


def parse_responses(data, head_requests=0):
    """Splits a byte stream into HTTP/1.x responses (Content-Length, chunked or
    until EOF). Raises TestFailure on garbage."""
    out = []
    i = 0
    while i < len(data):
        end = data.find(b"\r\n\r\n", i)
        if end < 0:
            raise TestFailure(f"incomplete response head at {i}: {data[i:i+200]!r}")
        head = data[i:end].decode("latin-1").split("\r\n")
        m = re.match(r"^HTTP/(1\.[01]) (\d{3})(?: (.*))?$", head[0])
        if not m:
            raise TestFailure(f"bad status line {head[0]!r}")
        headers = []
        for ln in head[1:]:
            k, _, v = ln.partition(":")
            headers.append((k.strip(), v.strip()))
        status = int(m.group(2))
        i = end + 4
        hd = {k.lower(): v for k, v in headers}
        if 100 <= status < 200 or status in (204, 304):
            body = b""
        elif "transfer-encoding" in hd:
            body = bytearray()
            while True:
                le = data.find(b"\r\n", i)
                if le < 0:
                    raise TestFailure("truncated chunked response")
                size = int(data[i:le].split(b";")[0], 16)
                i = le + 2
                if size == 0:
                    while True:
                        le = data.find(b"\r\n", i)
                        if le < 0:
                            raise TestFailure("truncated trailers")
                        line = data[i:le]
                        i = le + 2
                        if not line:
                            break
                    break
                body += data[i:i + size]
                i += size + 2
            body = bytes(body)
        elif "content-length" in hd:
            n = int(hd["content-length"])
            body = data[i:i + n]
            if len(body) != n:
                raise TestFailure(f"truncated body: {len(body)} of {n}")
            i += n
        else:
            body = data[i:]
            i = len(data)
        out.append(Response(status, m.group(3) or "", headers, body, m.group(1)))
    return out


def read_one_response(sock, timeout=10):
    """Reads exactly one HTTP/1.x response (head + CL/chunked body) from sock."""
    sock.settimeout(timeout)
    buf = bytearray()
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline:
            raise TestFailure("timeout reading response head")
        b = sock.recv(65536)
        if not b:
            raise TestFailure(f"connection closed before a full head: {bytes(buf)!r}")
        buf += b
    while True:
        try:
            rs = parse_responses(bytes(buf))
            if rs and "content-length" not in {k.lower() for k, _ in rs[0].headers} and \
                    "transfer-encoding" not in {k.lower() for k, _ in rs[0].headers} and \
                    rs[0].status not in (204, 304) and rs[0].status >= 200:
                raise TestFailure("need EOF")
            return rs[0]
        except TestFailure:
            if time.monotonic() > deadline:
                raise
            b = sock.recv(65536)
            if not b:
                return parse_responses(bytes(buf))[0]
            buf += b


# --------------------------------------------------------------------------
# policies

def policy(rules, default="deny"):
    """YAML text for a policy; rules is a list of (id, match dict, action)."""
    lines = ["version: 1", f"defaults: {{ action: {default} }}", "rules:"]
    for rid, match, action in rules:
        lines.append(f"  - id: {rid}")
        lines.append(f"    match: {json.dumps(match)}")
        lines.append(f"    action: {action}")
    if not rules:
        lines.pop()  # an empty rules list is an error: no key = default action only
    return "\n".join(lines) + "\n"


def resolve_args(names, port, addr="127.0.0.1"):
    out = []
    for n in names:
        out += ["--resolve", f"{n}:{port}:{addr}"]
    return out


# --------------------------------------------------------------------------
# runner

class Runner:
    """Collects named checks; prints TAP-like lines; main() exit status."""

    def __init__(self, name, budget=60):
        self.name = name
        self.failed = []
        self.passed = 0
        self.start = time.monotonic()
        self.budget = budget
        if not os.access(SOVGW, os.X_OK):
            print(f"not ok - setup: sovgw binary not found at {SOVGW} (set SOVGW)")
            sys.exit(1)

    def run(self, name, fn, *args):
        t0 = time.monotonic()
        try:
            fn(*args)
        except TestFailure as e:
            self.failed.append(name)
            print(f"not ok - {name}: {e}")
        except Exception as e:  # a crash of the test itself is a failure too
            self.failed.append(name)
            print(f"not ok - {name}: {type(e).__name__}: {e}")
            traceback.print_exc(file=sys.stdout)
        else:
            self.passed += 1
            print(f"ok - {name} ({time.monotonic() - t0:.1f}s)")
        sys.stdout.flush()

    def fail(self, name, exc):
        """Records a failure that happened outside run() (setup or teardown)."""
        self.failed.append(name)
        print(f"not ok - {name}: {type(exc).__name__}: {exc}")
        sys.stdout.flush()

    def done(self):
        total = time.monotonic() - self.start
        print(f"# {self.name}: {self.passed} passed, {len(self.failed)} failed in {total:.1f}s")
        sys.exit(1 if self.failed else 0)


@contextlib.contextmanager
def connected(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        yield s
    finally:
        s.close()
