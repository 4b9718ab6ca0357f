#!/usr/bin/env python3
"""Telemetry as AWS takes it, from real clients (npm) posting to a local
receiver on 127.0.0.1, the captured bodies read by `sovgw scan`:
OpenTelemetry's JS log exporter and trace exporter (OTLP/HTTP protobuf, plain and
gzip'd, as CloudWatch Logs' and X-Ray's OTLP endpoints take it; the log
record's body and attributes are strings in nested messages; spans carry
random ids), the same request in gRPC frames, a Prometheus remote-write client (protobuf in snappy, as
Amazon Managed Service for Prometheus takes it), and Kinesis PutRecords by
the AWS SDK for JavaScript with records aggregated as the Kinesis Producer
Library does (a protobuf in base64), and Bedrock Runtime's Converse by the
same SDK with a PDF that jsPDF made in a `document` block (base64 in JSON).
Clean telemetry must give nothing: no finding and nothing uninspectable."""

import base64
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import SOVGW, Runner, Upstream, check, eq, npm_project  # noqa: E402

CARD = "4111 1111 1111 1111"
EMAIL = "bob.smith@corp-mail.de"


def scan(*args, input=None):
    return subprocess.run([SOVGW, "scan", "--format", "jsonl", *args], input=input, capture_output=True,
                          timeout=60)


def found(p):
    return sorted((f["type"], f["decoders"]) for f in
                  (json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()))


def post(d, script, *args):
    """One request by a real client script: (content type, content encoding, body)."""
    with Upstream(keep_bodies=True) as up:
        p = subprocess.run(["node", script, f"http://127.0.0.1:{up.port}/v1/receive", *args], cwd=d,
                           capture_output=True, text=True, timeout=60)
        eq(up.count(), 1, f"one request by {script} (stderr {p.stderr[-400:]!r})")
        req = up.requests[0]
    h = {k.lower(): v for k, v in req["headers"].items()}
    return h.get("content-type"), h.get("content-encoding"), req["body"]


def export(d, body, email, compression=""):
    """One OTLP export by OpenTelemetry's exporter."""
    return post(d, "send_logs.mjs", body, email, compression)


def main():
    r = Runner("scan_telemetry")
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("not ok - node or npm missing (scripts/deps.sh test installs them)")
        return 1
    d = npm_project("telemetry_js", "prometheus-remote-write")
    if d is None:
        print("not ok - could not install OpenTelemetry's JS exporter and a remote-write client from npm")
        return 1
    record = f"payment failed for card {CARD}, customer asked to call back"
    want = [("CREDIT_DEBIT_CARD_NUMBER", "protobuf"), ("EMAIL", "protobuf")]

    def otlp_http():
        ct, ce, body = export(d, record, EMAIL)
        eq((ct, ce), ("application/x-protobuf", None), "the exporter's headers")
        check(record.encode() in body, "the record's body is a string in the request")
        p = scan("--content-type", ct, "-", input=body)
        eq((p.returncode, found(p)), (1, want), f"findings in the OTLP request ({p.stderr!r})")
        # gzip'd, as the exporter sends it with compression: 'gzip'
        ct, ce, body = export(d, record, EMAIL, "gzip")
        eq((ct, ce), ("application/x-protobuf", "gzip"), "the exporter's headers with gzip")
        p = scan("--content-type", ct, "--content-encoding", ce, "-", input=body)
        eq(found(p), [(t, "gzip>protobuf") for t, _ in want], "findings in the gzip'd request")
    r.run("OTLP/HTTP protobuf from OpenTelemetry's exporter, plain and gzip", otlp_http)

    def otlp_grpc():
        # OTLP/gRPC carries the same message in gRPC's frames (a flag, a
        # 4-byte length); a compressed frame is gzip
        _, _, body = export(d, record, EMAIL)
        plain = b"\x00" + struct.pack(">I", len(body)) + body
        z = gzip.compress(body)
        packed = b"\x01" + struct.pack(">I", len(z)) + z
        for name, data in [("plain frame", plain), ("compressed frame", packed), ("two frames", plain + packed)]:
            p = scan("--content-type", "application/grpc", "-", input=data)
            got = found(p)
            eq(sorted(set(got)), [(t, "grpc>protobuf") for t, _ in want], f"findings in a {name}")
            eq(len(got), 4 if name == "two frames" else 2, f"one finding per value and frame ({name})")
        # a frame cut short is refused, not passed
        p = scan("--content-type", "application/grpc", "-", input=plain[:-5])
        check(("UNINSPECTABLE", "grpc>protobuf") in found(p), f"a cut frame: {p.stdout!r}")
    r.run("the same request in gRPC frames", otlp_grpc)

    def clean_log():
        # trace ids, timestamps and the resource's strings are no finding,
        # and nothing in a clean request is uninspectable: a fail-closed
        # policy must not deny every log export
        _, _, body = export(d, "order 1843 shipped to the warehouse", "n/a")
        p = scan("--content-type", "application/x-protobuf", "-", input=body)
        eq((p.returncode, p.stdout), (0, b""), "a clean log export")
    r.run("a clean log export passes clean", clean_log)

    def many_spans():
        # 5,000 spans the SDK made, ids random: one trace id in 65,536
        # begins with gzip's magic bytes, and one did make a request of
        # spans uninspectable ("malformed gzip stream") before ids were
        # told from embedded data (24 bytes at least); others held "6::"
        # and "::1", reported as IPv6 addresses, and later, one batch in
        # 70, "7::e4" or "P@x.vi" (a CI run failed so; runs of raw bytes
        # now need 10 characters, and the validators refuse what random
        # ids make: none in 1 GB of them). Three batches, nothing found
        for _ in range(3):
            ct, ce, body = post(d, "send_traces.mjs", "5000")
            eq(ct, "application/x-protobuf", "the trace exporter's type")
            check(len(body) > 500000, f"5,000 spans in one request ({len(body)} bytes)")
            p = scan("--content-type", ct, "-", input=body)
            eq((p.returncode, p.stdout), (0, b""), "5,000 spans without personal data")
    r.run("5,000 spans with random ids pass clean", many_spans)

    def remote_write():
        # Prometheus remote write: a WriteRequest in snappy's block format;
        # a user's address in a label. 3,000 series make ~250 KB of
        # protobuf: snappy's copies across its 64 KiB blocks, the series
        # message over the protobuf hold
        for n in (1, 3000):
            ct, ce, body = post(d, "send_metrics.mjs", str(n), EMAIL)
            eq((ct, ce), ("application/x-protobuf", "snappy"), "remote write's headers")
            p = scan("--content-type", ct, "--content-encoding", ce, "-", input=body)
            eq((p.returncode, found(p)), (1, [("EMAIL", "snappy>protobuf")]), f"{n} series ({p.stderr!r})")
        ct, ce, body = post(d, "send_metrics.mjs", "3000", "")
        p = scan("--content-type", ct, "--content-encoding", ce, "-", input=body)
        eq((p.returncode, p.stdout), (0, b""), "clean metrics")
        # cut short: refused
        p = scan("--content-type", ct, "--content-encoding", ce, "-", input=body[:len(body) // 2])
        eq([f.get("reason") for f in map(json.loads, p.stdout.decode().splitlines())],
           ["truncated snappy data"], "a cut body")
    r.run("Prometheus remote write (protobuf in snappy) from a remote-write client", remote_write)

    def kinesis_aggregated():
        # the Kinesis Producer Library packs user records into one Kinesis
        # record (magic, an AggregatedRecord protobuf, its MD5); in base64
        # in PutRecords it was "base64 data that is no text" (or, under
        # 1 KiB, passed unread). AWS Labs' aggregator and the AWS SDK for
        # JavaScript v3 make the request
        sdk = npm_project("aws_sdk_js", os.path.join("aws-kinesis-agg"))
        check(sdk is not None, "the AWS SDK for JavaScript and aws-kinesis-agg installed from npm")
        for n in (3, 200):
            ct, ce, body = post(sdk, "put_records.mjs", str(n), EMAIL)
            eq(ct, "application/x-amz-json-1.1", "PutRecords' type")
            doc = json.loads(body)
            check(base64.b64decode(doc["Records"][0]["Data"])[:4] == b"\xf3\x89\x9a\xc2",
                  "the record is a KPL aggregated record")
            p = scan("--content-type", ct, "-", input=body)
            eq((p.returncode, found(p)), (1, [("EMAIL", "json")]), f"{n} user records ({p.stderr!r})")
            ct, ce, body = post(sdk, "put_records.mjs", str(n), "")
            p = scan("--content-type", ct, "-", input=body)
            eq((p.returncode, p.stdout), (0, b""), f"{n} user records without personal data")
    r.run("Kinesis records aggregated as the KPL does, put by the AWS SDK", kinesis_aggregated)

    def converse(text, author="", compress=""):
        """Bedrock Converse by the AWS SDK, a PDF by jsPDF in the message:
        (content type, body, the PDF as the request carries it)."""
        sdk = npm_project("aws_sdk_js", os.path.join("@aws-sdk", "client-bedrock-runtime"))
        check(sdk is not None, "the AWS SDK's Bedrock Runtime client and jsPDF installed from npm")
        ct, ce, body = post(sdk, "converse_pdf.mjs", text, author, compress)
        eq((ct, ce), ("application/json", None), "Converse's headers")
        # the SDK put the document's bytes in base64 where Bedrock takes them
        b64 = json.loads(body)["messages"][0]["content"][1]["document"]["source"]["bytes"]
        check(b64.startswith("JVBER"), f"the document is a PDF in base64 ({b64[:20]!r})")
        return ct, body, base64.b64decode(b64)

    def converse_pdf():
        # a patient's address and SSN on the page of a PDF that jsPDF made,
        # sent as a Converse `document` block (base64 in JSON): with plain
        # streams, and deflated, where the text is in a FlateDecode stream
        # only and nothing but the PDF reader finds it; then an address in
        # the document's Author property
        page = "Patient intake: mail anna.meier@klinik-nord.de, SSN 536-22-1847"
        for compress in ("", "compress"):
            ct, body, pdf = converse(page, "", compress)
            if compress:
                check(b"FlateDecode" in pdf and b"klinik-nord" not in pdf, "jsPDF deflated the page")
            p = scan("--content-type", ct, "-", input=body)
            got = [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
            eq((p.returncode, sorted(f["type"] for f in got)), (1, ["EMAIL", "US_SOCIAL_SECURITY_NUMBER"]),
               f"findings in the Converse request, streams {compress or 'plain'} ({p.stdout!r} {p.stderr!r})")
            check(all(f["decoders"].startswith("json") and f.get("encoded") is True for f in got),
                  f"found in the base64 in the JSON: {got!r}")
        ct, body, _ = converse("Visit notes, no identifiers", "anna.meier@klinik-nord.de", "compress")
        p = scan("--content-type", ct, "-", input=body)
        eq((p.returncode, found(p)), (1, [("EMAIL", "json")]), f"an address as the PDF's Author ({p.stderr!r})")
    r.run("Bedrock Converse with a PDF by jsPDF (page, Author), sent by the AWS SDK", converse_pdf)

    def converse_clean_pdf():
        # jsPDF's own strings (Producer, dates, the trailer's random ID), its
        # fonts and a title and author are no finding, and nothing is
        # uninspectable: a fail-closed policy must not deny every document
        for compress in ("", "compress"):
            ct, body, _ = converse("Order 1843 shipped to the warehouse on Tuesday", "Intake desk", compress)
            p = scan("--content-type", ct, "-", input=body)
            eq((p.returncode, p.stdout), (0, b""), f"a clean PDF in Converse, streams {compress or 'plain'}")
    r.run("a clean PDF by jsPDF in a Converse request passes clean", converse_clean_pdf)
    r.done()


if __name__ == "__main__":
    main()
