#!/usr/bin/env python3
"""Real AWS clients through sovgw, the way a workload in the data centre uses
it: the AWS CLI (Debian's awscli v2, HTTPS_PROXY) and the AWS SDK for
JavaScript v3 from npm (an https-proxy-agent), each doing CONNECT to a
regional endpoint with TLS end to end and the client verifying the endpoint.

The "AWS endpoints" are a local TLS server answering S3 ListBuckets; sovgw pins
the AWS names to it with --connect-to, so the client still sends the real AWS
host names (CONNECT target, SNI, Host) and sovgw decides on them:
eu-central-1 is allowed, us-east-1 is not, and a denied call never reaches
the endpoint."""

import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import CA, Gateway, Runner, TempDir, check, eq, free_port, npm_project  # noqa: E402

EU = "s3.eu-central-1.amazonaws.com"
US = "s3.us-east-1.amazonaws.com"

LIST_BUCKETS = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
                b'<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                b"<Owner><ID>itest</ID><DisplayName>itest</DisplayName></Owner>"
                b"<Buckets><Bucket><Name>sovgw-itest-bucket</Name>"
                b"<CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets>"
                b"</ListAllMyBucketsResult>")


class FakeS3(http.server.ThreadingHTTPServer):
    """TLS server that answers GET / with a ListBuckets document and records
    (host header, authorization scope) of every request."""

    daemon_threads = True

    def __init__(self, cert, key):
        self.requests = []
        self.lock = threading.Lock()

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(h):
                with self.lock:
                    self.requests.append((h.headers.get("Host", ""),
                                          h.headers.get("Authorization", "")))
                h.send_response(200)
                h.send_header("Content-Type", "application/xml")
                h.send_header("Content-Length", str(len(LIST_BUCKETS)))
                h.end_headers()
                h.wfile.write(LIST_BUCKETS)

        super().__init__(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.shutdown()
        self.server_close()


def aws_bin():
    # Debian's awscli v2 first: a pip-installed v1 on PATH may differ.
    for p in ("/usr/bin/aws", shutil.which("aws")):
        if p and os.access(p, os.X_OK):
            return p
    return None


def aws(tmp, ca, proxy_url, region, endpoint, *args):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": tmp.path,
        "HTTPS_PROXY": proxy_url,
        "NO_PROXY": "",
        "AWS_CA_BUNDLE": ca.cert,
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_CONFIG_FILE": os.path.join(tmp.path, "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp.path, "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
    }
    cmd = [aws_bin(), "--region", region, "--endpoint-url", endpoint,
           "--cli-connect-timeout", "5", "--cli-read-timeout", "10", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def sdk_dir():
    """The JS SDK installed from npm once per build tree, or None."""
    return npm_project("aws_sdk_js", os.path.join("@aws-sdk", "client-s3"))


def sdk_list(d, ca, proxy_url, region, endpoint):
    env = {"PATH": "/usr/bin:/bin", "HOME": d, "NODE_EXTRA_CA_CERTS": ca.cert,
           "AWS_EC2_METADATA_DISABLED": "true"}
    p = subprocess.run(["node", "list_buckets.mjs", proxy_url, region, endpoint], cwd=d,
                       env=env, capture_output=True, text=True, timeout=60)
    try:
        doc = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        doc = {"crash": p.stderr.strip()[-400:]}
    return p.returncode, doc


def main():
    r = Runner("aws_clients")
    if aws_bin() is None or shutil.which("node") is None or shutil.which("npm") is None:
        # scripts/deps.sh test installs awscli and node; without them this
        # test cannot say anything, and saying "passed" would be a lie.
        print("not ok - awscli, node or npm missing (scripts/deps.sh test installs them)")
        return 1
    sdk = sdk_dir()
    if sdk is None:
        print("not ok - could not install the AWS SDK for JavaScript from npm")
        return 1
    with TempDir() as tmp:
        ca = CA(tmp.join("ca"))
        cert, key = ca.leaf([EU, US])
        s3 = FakeS3(cert, key)
        policy = f"""version: 1
defaults: {{ action: deny }}
rules:
  - id: s3-eu
    match: {{ host: ["*.eu-central-1.amazonaws.com"], port: [{s3.port}] }}
    action: allow
"""
        pins = ["--connect-to", f"{EU}:{s3.port}:127.0.0.1:{s3.port}",
                "--connect-to", f"{US}:{s3.port}:127.0.0.1:{s3.port}"]
        try:
            with Gateway(policy, args=pins) as gw:
                def allowed():
                    p = aws(tmp, ca, gw.proxy_url, "eu-central-1", f"https://{EU}:{s3.port}",
                            "s3api", "list-buckets", "--query", "Buckets[].Name",
                            "--output", "text")
                    eq(p.returncode, 0, f"aws s3api list-buckets rc (stderr: {p.stderr.strip()})")
                    eq(p.stdout.strip(), "sovgw-itest-bucket", "bucket list parsed by the CLI")
                    host, auth = s3.requests[-1]
                    eq(host, f"{EU}:{s3.port}", "Host at the endpoint is the AWS name")
                    check("/eu-central-1/s3/aws4_request" in auth,
                          f"SigV4 scope names the region: {auth[:80]!r}")
                    lines = [d for d in gw.log_lines() if d.get("host") == EU]
                    check(lines and lines[-1].get("verdict") == "allow"
                          and lines[-1].get("rule") == "s3-eu",
                          f"decision log records the allowed CONNECT: {lines[-1:]}")
                r.run("eu-central-1 allowed: list-buckets through the tunnel", allowed)

                def denied():
                    before = s3.count()
                    p = aws(tmp, ca, gw.proxy_url, "us-east-1", f"https://{US}:{s3.port}",
                            "s3api", "list-buckets")
                    check(p.returncode != 0, "a denied region must fail the CLI call")
                    check("403" in p.stderr or "proxy" in p.stderr.lower(),
                          f"the CLI reports the proxy refusal: {p.stderr.strip()[-300:]!r}")
                    eq(s3.count(), before, "requests reaching the endpoint after a denial")
                    lines = [d for d in gw.log_lines() if d.get("host") == US]
                    check(lines and lines[-1].get("verdict") == "deny",
                          f"decision log records the denial: {lines[-1:]}")
                r.run("us-east-1 denied: nothing reaches the endpoint", denied)

                def sdk_allowed():
                    rc, doc = sdk_list(sdk, ca, gw.proxy_url, "eu-central-1",
                                       f"https://{EU}:{s3.port}")
                    eq(rc, 0, f"JS SDK ListBuckets rc ({doc})")
                    eq(doc.get("buckets"), ["sovgw-itest-bucket"], "bucket list parsed by the SDK")
                    host, auth = s3.requests[-1]
                    eq(host, f"{EU}:{s3.port}", "Host at the endpoint is the AWS name")
                    check("/eu-central-1/s3/aws4_request" in auth, f"SigV4 scope: {auth[:80]!r}")
                r.run("JS SDK v3, eu-central-1 allowed", sdk_allowed)

                def sdk_denied():
                    before = s3.count()
                    rc, doc = sdk_list(sdk, ca, gw.proxy_url, "us-east-1", f"https://{US}:{s3.port}")
                    # https-proxy-agent hands the proxy's CONNECT answer to the SDK,
                    # which reports its status (the JSON body is no S3 XML).
                    check(rc == 1 and doc.get("status") == 403,
                          f"the SDK call fails with the proxy refusal (403): {doc}")
                    eq(s3.count(), before, "requests reaching the endpoint after a denial")
                r.run("JS SDK v3, us-east-1 denied", sdk_denied)
        finally:
            s3.close()
    r.done()


if __name__ == "__main__":
    sys.exit(main())
