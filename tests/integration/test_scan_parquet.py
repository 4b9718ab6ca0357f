#!/usr/bin/env python3
"""Apache Parquet files as S3 takes them, from real writers and the real AWS
SDK: parquet-wasm (arrow-rs in WebAssembly: dictionary pages, page
statistics, the Arrow schema in the footer) writes a table that apache-arrow
built, in each codec; parquetjs-lite (pure JS: v1 data pages, PLAIN values,
optional and repeated columns) writes another; the AWS SDK for JavaScript
puts each with PutObject (application/vnd.apache.parquet) to a local
receiver on 127.0.0.1, as the file's bytes and as a stream that the SDK
frames aws-chunked with a trailing checksum. `sovgw scan` reads the captured
bodies with the request's headers, a cut file and a directory of files by
path. Every address written is found, each with a domain of its own (the
masked excerpt keeps the domain), and so are a card number in an int64
column and a birth date in a date column (numbers are read once the
footer gives their columns' types); a page in a codec not told apart (LZ4_RAW)
and a cut file are uninspectable; a clean table (dictionary indices,
statistics, the footer's ARROW:schema) gives nothing at all."""

import base64
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import SOVGW, Runner, TempDir, Upstream, check, eq, npm_project  # noqa: E402

PARQUET = "application/vnd.apache.parquet"
CODECS = ("SNAPPY", "GZIP", "ZSTD", "BROTLI", "UNCOMPRESSED")
ROWS = 200        # parquet-wasm's table: an address in every 10th row
LITE_ROWS = 30    # parquetjs-lite's: in rows i % 3 != 0, an SSN in row 7
WASM_DOMAINS = sorted(f"branch{i}.corp-mail.de" for i in range(0, ROWS, 10))
LITE_DOMAINS = sorted(f"branch{i}.corp-mail.de" for i in range(LITE_ROWS) if i % 3)


def scan(*args, input=None):
    return subprocess.run([SOVGW, "scan", "--format", "jsonl", *args], input=input, capture_output=True,
                          timeout=60)


def findings(p):
    return [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]


def scan_request(h, body):
    """The captured body scanned as the gateway would: the request's content
    type, and its content coding (aws-chunked) when it has one."""
    args = ["--content-type", h["content-type"]]
    if h.get("content-encoding"):
        args += ["--content-encoding", h["content-encoding"]]
    return scan(*args, "-", input=body)


def domains(fs):
    """The distinct domains of the addresses found (the excerpt masks the
    local part only)."""
    return sorted({f["excerpt"].split("@", 1)[1] for f in fs if f["type"] == "EMAIL"})


def wasm_types(path):
    """What parquet-wasm's table holds: addresses, a card number in an int64
    column, a birth date in a date column (read with the footer's types), a
    passport number in a string column (under the column's name)."""
    return [(t, path) for t in ("CREDIT_DEBIT_CARD_NUMBER", "DATE_OF_BIRTH", "EMAIL", "PASSPORT_NUMBER")]


def numbers(fs):
    """The masked card numbers and birth dates found."""
    return sorted((f["type"], f["excerpt"]) for f in fs if f["type"] in ("CREDIT_DEBIT_CARD_NUMBER", "DATE_OF_BIRTH"))


WASM_NUMBERS = [("CREDIT_DEBIT_CARD_NUMBER", "4111********1111"), ("DATE_OF_BIRTH", "19******12")]
LITE_NUMBERS = [("CREDIT_DEBIT_CARD_NUMBER", "5500********5559"), ("DATE_OF_BIRTH", "19******30")]


def show(p):
    out = p.stdout.decode()
    return f"exit {p.returncode}, {len(out.splitlines())} lines: {out[:600]!r} stderr {p.stderr[-300:]!r}"


_puts = {}


def put(sdk, writer, codecs, rows, data="pii", body="bytes"):
    """PutObject requests by the AWS SDK, one per codec, each with a file the
    writer made: {codec: (headers, body)}. Made once per argument set."""
    key = (writer, codecs, rows, data, body)
    if key in _puts:
        return _puts[key]
    with Upstream(keep_bodies=True) as up:
        p = subprocess.run(["node", "put_parquet.mjs", f"http://127.0.0.1:{up.port}", writer, ",".join(codecs),
                            str(rows), data, body], cwd=sdk, capture_output=True, text=True, timeout=60)
        eq(up.count(), len(codecs), f"one PutObject per codec by put_parquet.mjs {key} (stderr {p.stderr[-400:]!r})")
        reqs = list(up.requests)
    out = {}
    for codec, req in zip(codecs, reqs):
        h = {k.lower(): v for k, v in req["headers"].items()}
        eq((req["method"], req["path"].split("?")[0], h.get("content-type")),
           ("PUT", "/lake/sales/part-0000.parquet", PARQUET), f"the PutObject request ({codec})")
        if body == "bytes":
            eq(h.get("content-encoding"), None, f"the file sent as it is ({codec})")
            check(req["body"][:4] == b"PAR1" and req["body"][-4:] == b"PAR1",
                  f"a Parquet file in the body ({codec}: {req['body'][:8]!r}…{req['body'][-8:]!r})")
        out[codec] = (h, req["body"])
    _puts[key] = out
    return out


def main():
    r = Runner("scan_parquet")
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("not ok - node or npm missing (scripts/deps.sh test installs them)")
        return 1
    sdk = npm_project("aws_sdk_js", "parquet-wasm")
    if sdk is None or not os.path.isdir(os.path.join(sdk, "node_modules", "parquetjs-lite")):
        print("not ok - could not install the AWS SDK, apache-arrow, parquet-wasm and parquetjs-lite from npm")
        return 1

    def wasm_files():
        return put(sdk, "wasm", CODECS + ("LZ4_RAW",), ROWS)

    def wasm_codecs():
        # case 1: every address in the table found in the pages, whatever
        # the codec: the dictionary page holds each value once, the page
        # statistics (min, max) and the footer's row-group statistics a few
        # again, so the count is at least the rows with an address and the
        # set of domains is exactly the written one
        files = wasm_files()
        for codec in CODECS:
            h, body = files[codec]
            p = scan_request(h, body)
            fs = findings(p)
            eq((p.returncode, sorted({(f["type"], f["decoders"]) for f in fs})), (1, wasm_types("parquet")),
               f"{codec}: the addresses, the card number and the birth date, read by the Parquet decoder "
               f"({show(p)})")
            eq(domains(fs), WASM_DOMAINS, f"{codec}: every address written found")
            eq(numbers(fs), WASM_NUMBERS, f"{codec}: the int64 card number and the date column's birth date")
            check(len(fs) >= len(WASM_DOMAINS), f"{codec}: {len(fs)} findings for {len(WASM_DOMAINS)} addresses")
    r.run("parquet-wasm's file in SNAPPY, GZIP, ZSTD, BROTLI and uncompressed, put by the AWS SDK", wasm_codecs)

    def wasm_aws_chunked():
        # case 1 again, the body a stream: the SDK frames it aws-chunked
        # (content-encoding aws-chunked, a CRC32 trailer); the content type
        # stays Parquet's, the scan is given both
        plain = wasm_files()
        files = put(sdk, "wasm", CODECS, ROWS, "pii", "stream")
        for codec in CODECS:
            h, body = files[codec]
            eq((h.get("content-encoding"), h.get("x-amz-decoded-content-length"), h.get("x-amz-trailer")),
               ("aws-chunked", str(len(plain[codec][1])), "x-amz-checksum-crc32"), f"{codec}: aws-chunked framing")
            check(body.split(b"\r\n", 2)[1].startswith(b"PAR1"), f"{codec}: the file in the chunks ({body[:16]!r})")
            p = scan_request(h, body)
            fs = findings(p)
            eq((p.returncode, sorted({(f["type"], f["decoders"]) for f in fs})),
               (1, wasm_types("aws-chunked>parquet")), f"{codec} in aws-chunked: what the file holds ({show(p)})")
            eq(domains(fs), WASM_DOMAINS, f"{codec} in aws-chunked: every address written found")
    r.run("the same files streamed, framed aws-chunked by the AWS SDK", wasm_aws_chunked)

    def lz4():
        # case 2: LZ4_RAW is not told apart from other bytes: the page is
        # uninspectable (the statistics in its header are still read)
        h, body = wasm_files()["LZ4_RAW"]
        p = scan_request(h, body)
        fs = findings(p)
        bad = [f for f in fs if f["type"] == "UNINSPECTABLE"]
        eq(p.returncode, 1, f"LZ4_RAW: exit status ({show(p)})")
        eq(len(bad), 1, f"LZ4_RAW: one uninspectable report ({show(p)})")
        eq(bad[0]["decoders"], "parquet", "LZ4_RAW: reported by the Parquet decoder")
        check("codec" in bad[0].get("reason", ""), f"LZ4_RAW: the reason names the codec ({bad[0]!r})")
        eq(sorted({f["type"] for f in fs}), ["EMAIL", "UNINSPECTABLE"], "LZ4_RAW: nothing but the report and "
           "the addresses in the pages' statistics")
    r.run("a file in LZ4_RAW is uninspectable (codec)", lz4)

    def clean():
        # case 3: no address, names, words and numbers: dictionary indices,
        # int64 and double pages, statistics and the footer (the Arrow
        # schema in base64, parquet-rs's created_by) give nothing, and
        # nothing is uninspectable: a fail-closed policy must not deny every
        # upload to the lake
        for writer, codecs, rows in (("wasm", CODECS, ROWS), ("lite", ("SNAPPY", "GZIP", "UNCOMPRESSED"), LITE_ROWS)):
            files = put(sdk, writer, codecs, rows, "clean")
            for codec in codecs:
                h, body = files[codec]
                if writer == "wasm":
                    check(b"ARROW:schema" in body, f"{codec}: the Arrow schema in the footer")
                p = scan_request(h, body)
                eq((p.returncode, p.stdout), (0, b""), f"a clean table by {writer} in {codec} ({show(p)})")
    r.run("clean tables by parquet-wasm and parquetjs-lite give nothing", clean)

    def cut():
        # case 4: the SNAPPY file cut in the middle, scanned from a path
        # (.parquet): what came before is read, then the cut is reported;
        # other cut points too (in the magic, a page, the footer)
        _, body = wasm_files()["SNAPPY"]
        with TempDir() as t:
            for n in (len(body) // 2, 2, 100, len(body) // 4, 3 * len(body) // 4, len(body) - 6, len(body) - 1):
                path = t.write("part-0000.parquet", body[:n])
                p = scan(path)
                fs = findings(p)
                bad = [f for f in fs if f["type"] == "UNINSPECTABLE"]
                eq((p.returncode, [(f["decoders"], f.get("reason")) for f in bad]),
                   (1, [("parquet", "truncated Parquet file")]),
                   f"the file cut after {n} of {len(body)} bytes ({show(p)})")
                eq(fs[-1]["type"], "UNINSPECTABLE", f"cut after {n}: the cut reported last")
    r.run("a cut file is uninspectable (truncated)", cut)

    def lite():
        # case 5: parquetjs-lite's v1 pages: PLAIN values after the
        # definition levels of optional columns, a repeated column's
        # repetition levels; an address in two rows of three, an SSN in one
        files = put(sdk, "lite", ("SNAPPY", "GZIP", "UNCOMPRESSED"), LITE_ROWS)
        for codec, (h, body) in files.items():
            p = scan_request(h, body)
            fs = findings(p)
            eq((p.returncode, sorted({(f["type"], f["decoders"]) for f in fs})),
               (1, [("CREDIT_DEBIT_CARD_NUMBER", "parquet"), ("DATE_OF_BIRTH", "parquet"), ("EMAIL", "parquet"),
                    ("US_SOCIAL_SECURITY_NUMBER", "parquet")]),
               f"parquetjs-lite, {codec}: addresses, the SSN, the INT64 card number, the DATE birth date ({show(p)})")
            eq(numbers(fs), LITE_NUMBERS, f"parquetjs-lite, {codec}: the card number and the birth date")
            eq(domains(fs), LITE_DOMAINS, f"parquetjs-lite, {codec}: every address written found")
            eq(sorted({f["excerpt"] for f in fs if f["type"] == "US_SOCIAL_SECURITY_NUMBER"}), ["53*******47", "53*****48"],
               f"parquetjs-lite, {codec}: the SSN, and the bare one under the column's name")
    r.run("parquetjs-lite's file (optional, repeated columns) in SNAPPY, GZIP, uncompressed", lite)

    def directory():
        # case 6: a lake's directory scanned by path: a .parquet name as
        # Spark writes them, and the same file with no extension (sniffed by
        # its magic); each gives what the PutObject body gave
        h, body = wasm_files()["SNAPPY"]
        with TempDir() as t:
            names = [os.path.join("lake", "sales", "part-00000-5b1f0c2e-c000.snappy.parquet"),
                     os.path.join("lake", "sales", "part-00001")]
            for name in names:
                t.write(name, body)
            p = scan(t.join("lake"))
            fs = findings(p)
            eq(p.returncode, 1, f"the directory's exit status ({show(p)})")
            want = sorted((f["type"], f["decoders"], f["start"], f["end"], f["excerpt"])
                          for f in findings(scan_request(h, body)))
            for name in names:
                mine = [f for f in fs if f["path"] == t.join(name)]
                eq((sorted({(f["type"], f["decoders"]) for f in mine}), domains(mine)),
                   (wasm_types("parquet"), WASM_DOMAINS), f"{name}: every address, read as Parquet ({show(p)})")
                eq(sorted((f["type"], f["decoders"], f["start"], f["end"], f["excerpt"]) for f in mine), want,
                   f"{name}: the findings of the PutObject body")
            eq(len(fs), 2 * len(want), "nothing else in the directory")
    r.run("a directory of Parquet files scanned by path (name, magic)", directory)

    def base64_json():
        # case 7: the file in base64 in a JSON value (a Lambda event, a
        # Firehose record): read by the Parquet decoder as in the body, not
        # taken for another format (its value once collided with the
        # OpenSSH key's: reported as a private key, nothing read)
        for codec in ("SNAPPY", "UNCOMPRESSED"):
            _, body = wasm_files()[codec]
            doc = json.dumps({"records": [{"recordId": "1", "data": base64.b64encode(body).decode()}]})
            p = scan("--content-type", "application/json", "-", input=doc.encode())
            fs = findings(p)
            eq((p.returncode, sorted({(f["type"], f["decoders"]) for f in fs})), (1, wasm_types("json")),
               f"{codec} in base64: what the file holds ({show(p)})")
            eq(domains(fs), WASM_DOMAINS, f"{codec} in base64: every address written found")
    r.run("a Parquet file in base64 in JSON is read as Parquet", base64_json)
    r.done()


if __name__ == "__main__":
    sys.exit(main())
