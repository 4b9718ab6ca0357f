#!/usr/bin/env python3
"""Writes the seed corpora of the classifiers decoder fuzz targets
(fuzz/corpus/fuzz_classifiers_{json,decode,cbor,eventstream,multipart,xml,zip,...}/).
Deterministic; run from anywhere: python3 fuzz/corpus/make_seeds.py"""
import base64
import binascii
import bz2
import gzip
import lzma
import hashlib
import json
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- JSON: first byte = split seed, bit 0 = NDJSON ----
JSON = [
    b'{"messages":[{"role":"user","content":[{"text":"card 4111 1111 1111 1111"}]}]}',
    b'{"a":"\\u0041KIA\\ud83d\\ude00\\n\\t\\"","b":[1,-2.5e10,true,false,null]}',
    b'[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
    b'{"data":"QUtJQUlPU0ZPRE5ON0VYQU1QTEUgYW5kIG1vcmUgdGV4dA=="}',
    b'{"x":"\xef\xbc\x94\xef\xbc\x91\xe2\x80\x8b11"}',
    b'{"a":1}\n{"b":"two"}\n',
    b'{"a":"x",}',
    b'{"k":"\\ud800"}',
]


def seeds_json():
    # a zip in base64 (a Converse document block), stored and deflated
    z = zip_entry("word/document.xml", b"<w:document><w:p><w:r><w:t>AKIA5ZK6</w:t></w:r><w:r><w:t>SXQ7BR2LMNOP"
                  b"</w:t></w:r></w:p></w:document>", 8) + zip_entry("a.txt", b"mail bob@corp-mail.de")
    JSON.append(json.dumps({"document": {"format": "docx", "source": {"bytes": base64.b64encode(z).decode()}}})
                .encode())
    # gzip in base64 (a CloudWatch Logs subscription event)
    ev = gzip.compress(b'{"logEvents":[{"message":"user bob@corp-mail.de card 4111 1111 1111 1111"}]}', mtime=0)
    JSON.append(json.dumps({"awslogs": {"data": base64.b64encode(ev).decode()}}).encode())
    # long strings of letters other than ASCII (the block finder's path)
    JSON.append(b'{"m":"\xc3\xa9a' + "\u00e9\u4e2d\u0416".encode() * 100 + "\U0001f600\u00e9".encode() + b'"}')
    # arrays of numbers that are byte lists (a Buffer, signed bytes), cut by
    # other values, nested
    JSON.append(json.dumps({"type": "Buffer", "data": list(b"AKIAIOSFODNN7EXAMPLE"),
                            "k": [[48, -126, 1, 10, 2, 1, 0, 48, 13], -1, 65, 66, 67, 68, 69, 70, 71, 72, 1e3, "x",
                                  300, {"z": [1, 2, 3]}]}).encode())
    # values whose keys name a secret, beside keys that name none
    JSON.append(json.dumps({"password": "Zk3q9XbT2mLp", "headers": {"Authorization": "Bearer Zk3q9XbT2mLp8RvW5nJc"},
                            "passwords": ["Ab3dE5gH7jK9", "changeme"], "NextToken": "AAAAZk3q9XbT2mLp",
                            "SecretId": "prod/db", "max_tokens": 4096, "SecretString": "Zk3q9XbT2mLp8RvW"}).encode())
    # Kinesis PutRecords: a KPL aggregated record, and a protobuf message,
    # in base64
    rec = pb_len(1, b"order-7") + pb_varint(2 << 3) + pb_varint(700) + pb_len(3, b"bob.smith@corp-mail.de")
    agg = pb_len(1, b"pk") + pb_len(3, pb_varint(1 << 3) + pb_varint(0) + pb_len(3, rec))
    kpl = b"\xf3\x89\x9a\xc2" + agg + hashlib.md5(agg).digest()
    JSON.append(json.dumps({"Records": [{"Data": base64.b64encode(kpl).decode(), "PartitionKey": "pk"},
                                        {"Data": base64.b64encode(pb_len(1, rec) * 3).decode(), "PartitionKey": "b"}]})
                .encode())
    for i, body in enumerate(JSON):
        flag = 1 if body.startswith(b'{"a":1}\n') else 0
        write("fuzz_classifiers_json", "seed%02d" % i, bytes([(i * 16) | flag]) + body)
    # a CSV table in base64 (a Converse `csv` document): read as a table
    table = base64.b64encode(b"name,ssn\nAnn,536221847\nBo,536221848\nCy,1\n").decode()
    write("fuzz_classifiers_json", "seed-b64-csv",
          b"\x00" + json.dumps({"document": {"format": "csv", "source": {"bytes": table}}}).encode())
    # tables pasted in prompts: markdown rows, tab-separated lines (CRLF, as
    # a spreadsheet copies them), an indenting tab, a first cell too long
    # to name a column (a split bug the fuzzer found)
    write("fuzz_classifiers_json", "seed-tables", b"\x00" + json.dumps(
        {"t": "See:\n| Name | SSN |\n|---|---|\n| Al | 536221847 |\nok",
         "u": ["Name\tSSN\r\nAl\t536221847\r\n", "x\n\ty\tz\n|a|b|"]}).encode())
    write("fuzz_classifiers_json", "seed-csv", b"\x00" + json.dumps(
        {"t": "Data:\nName,SSN,Date of birth\nAl,536221847,1985-03-12\r\nBo,\"Smith, B\",1985-03-13\n\nok",
         "u": ["k,v\n9,1\n3,4\n5\n", "a,b,c\n1,2,3\n4,5\n|x|y|\n|1|2|"]}).encode())
    write("fuzz_classifiers_json", "seed-md-bare", b"\x00" + json.dumps(
        {"t": "Name | SSN\n:--- | ---:\nAl | 536221847\n\n1. x:\n  | a | ssn |\n  |---|---|\n  | Bo | 2 |\nok",
         "u": ["a | b\n---\n1 | 2", "Staff 2026,,\nname,ssn\nAl,1"]}).encode())
    write("fuzz_classifiers_json", "seed-html", b"\x00" + json.dumps(
        {"t": "Page:\n<!DOCTYPE html>\n<html><body><table><tr><th>Name</th><th>SSN</th></tr>"
              "<tr><td>Al</td><td>536221847</td></tr></table></body></html>",
         "u": ["<header>x</header>", "<ta", "<table\n<td>1</td>"]}).encode())
    # an indented tag (a pretty-printed fragment), a tab escape after spaces,
    # white space too long, white space at a string's end
    write("fuzz_classifiers_json", "seed-seam", b"\x00" + json.dumps(
        {"content": [{"text": "card 4111 11"}, {"type": "text", "text": "11 1111 1111 \\u0040 jo"},
                     {"text": "e@example.com" + "x" * 70}, {"text": {"v": "a"}}, {"text": "b"}],
         "d": [0, 7, 8, 0, 5, 1, 1, 2, 0]}).encode())
    write("fuzz_classifiers_json", "seed-html-indent", b"\x00" + json.dumps(
        {"t": "<div class=\"w\">\n  <table>\n    <tr><th>SSN</th></tr>\n    <tr><td>536221847</td></tr>\n  </table>\n</div>",
         "u": ["\t\t<TABLE><tr><td>k</td></tr>", "  \t<table>", " " * 33 + "<table>", "a\n   ", "  <ta"]}).encode())
    # a header's CRLF split between its '\r' and '\n' escapes: the '\r'
    # had left the stage, and only the stage's part was looked at
    write("fuzz_classifiers_json", "regress-csv-crlf", base64.b64decode(
        "AHsidCI6ICJEYXRhOlxuTmFtZSxTU04sRGEyXHJcbkJvLFwiU21pdGgsIEJcIiwxOTg1XG4iLHRleHQvcGxhaTJ8Il19"))
    write("fuzz_classifiers_json", "regress-long-first-cell",
          b'\x00["Nam' + b"U" * 83 + b'e\\ttent"ty\xff\xff\xff\xff\xff\\t*me\\tS|b|"+')
    # a byte list that is a unit's first bytes, after a unit cut in two
    # that ended with a letter: its first token was taken as glued to it
    write("fuzz_classifiers_json", "regress-list-prev", base64.b64decode(
        "sHsidHlwZSI6ICJCdWZmZXIiLCAiZGF0YSI6IFs2NSwgNzUsIDczLCI2NSwgNzMsIDc5LCA4MywgNzAsIDc5LCA2OCwgNzgsIDc4LCA1NSwg"
        "NjksIDgwLCA2NSwgNzcsIDgwLCA3NiwgNjldLCAiayI6IFtbNDgsIC0xMjYsIAYAeyJ6IjogWzEsIDIsIDNdfV19"))
    # ... and one whose run began at a piece's start after a piece that ended
    # with no byte of the alphabet (the byte before was an older piece's)
    write("fuzz_classifiers_json", "regress-list-last", base64.b64decode(
        "lpB7ImF3c2xvZ3MiOiB7ImRhdGEiOiAiSDRzsHsidHlwZSI6ICJCdWZmZXIiLCAiZGF0YSI6IFs2NSwgNzUsIDczLCA2NSwgNzMs"
        "IDc5LDcxLCA3MiwgMTAwMC4wLCAieCIsIDMwMCxgeyJ6IjogWzEsIDIsIDNdfV19//8gIlVFc0RC////////////////////////"
        "///////////////////////3////////////////////////////////////////////22TTcNf/////////////////////////"
        "////////////////AP///////////////////////////////8h6cFJJRkZ0aTIsIDNdfV19////////////////////////////"
        "////////////QlH3/0FBQUFJ/////w=="))


# ---- CBOR ----
def cbor_head(major, n):
    if n < 24:
        return bytes([(major << 5) | n])
    if n < 256:
        return bytes([(major << 5) | 24, n])
    if n < 65536:
        return bytes([(major << 5) | 25]) + struct.pack(">H", n)
    if n < 2**32:
        return bytes([(major << 5) | 26]) + struct.pack(">I", n)
    return bytes([(major << 5) | 27]) + struct.pack(">Q", n)


def ctext(s):
    b = s.encode()
    return cbor_head(3, len(b)) + b


def cmap(pairs):
    out = cbor_head(5, len(pairs))
    for k, v in pairs:
        out += ctext(k) + v
    return out


CBOR = [
    cmap([("modelId", ctext("anthropic.claude")),
          ("messages", cbor_head(4, 1) + cmap([("role", ctext("user")),
                                               ("text", ctext("email a@b.com"))]))]),
    # indefinite map and indefinite text string
    b"\xbf" + ctext("k") + b"\x7f" + ctext("abc") + ctext("def") + b"\xff" + b"\xff",
    # integers, negative, float, tag, simple values
    cmap([("n", cbor_head(0, 4111111111111111)), ("m", cbor_head(1, 5)),
          ("f", b"\xfb" + struct.pack(">d", 1.5)), ("t", b"\xc1" + cbor_head(0, 1700000000)),
          ("s", b"\xf5\xf6")]),
    # byte string with text, byte string with a PNG
    cmap([("b", cbor_head(2, 11) + b"hello world"),
          ("p", cbor_head(2, 12) + b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d")]),
    b"\xd9\xd9\xf7" + cmap([("x", ctext("self-described"))]),
    b"\x9f" * 40 + b"\xff" * 40,
    b"\xa1\x61",  # truncated
    b"\x1c",  # reserved additional information
]


def seeds_cbor():
    # a docx-like zip in a byte string (Smithy RPC v2 CBOR)
    z = zip_entry("word/document.xml", b"<w:document><w:p><w:r><w:t>AKIA5ZK6</w:t></w:r><w:r><w:t>SXQ7BR2LMNOP"
                  b"</w:t></w:r></w:p></w:document>", 8)
    CBOR.append(cbor_head(5, 2) + ctext("document") + cbor_head(2, len(z)) + z + ctext("z") + ctext("after"))
    for i, body in enumerate(CBOR):
        write("fuzz_classifiers_cbor", "seed%02d" % i, bytes([i * 37 & 255]) + body)


# ---- AWS event-stream ----
def es_header(name, typ, value):
    n = name.encode()
    out = bytes([len(n)]) + n + bytes([typ])
    if typ in (6, 7):
        out += struct.pack(">H", len(value)) + value
    else:
        out += value
    return out


def es_message(headers, payload):
    h = b"".join(headers)
    total = 12 + len(h) + len(payload) + 4
    prelude = struct.pack(">II", total, len(h))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xffffffff)
    msg = prelude + h + payload
    return msg + struct.pack(">I", binascii.crc32(msg) & 0xffffffff)


def seeds_eventstream():
    std = [es_header(":event-type", 7, b"chunk"), es_header(":content-type", 7, b"application/json"),
           es_header(":message-type", 7, b"event")]
    m1 = es_message(std, b'{"bytes":"eyJ0eXBlIjoiY29udGVudF9ibG9ja19kZWx0YSIsInRleHQiOiJjYXJkIDQxMTEifQ=="}')
    m2 = es_message([es_header("x-custom", 7, b"secret header value"),
                     es_header("flag", 0, b""), es_header("n", 4, b"\x00\x00\x00\x07"),
                     es_header("id", 9, b"\x01" * 16), es_header("blob", 6, b"bytes!")],
                    b'{"text":"hello"}')
    m3 = es_message([], b"")
    bad = bytearray(m1)
    bad[-1] ^= 0xff
    seeds = [m1, m1 + m2, m3, bytes(bad), m1[:20], es_message(std, b"not json")]
    for i, s in enumerate(seeds):
        write("fuzz_classifiers_eventstream", "seed%02d" % i, bytes([(i * 29 & 254) | (i != 3)]) + s)
    write("fuzz_classifiers_eventstream", "regress-escape-tail", base64.b64decode(
        "VgAAAKsAAABLg9vp9gs6ZXZlbnQtdHlwZQcABWNodW5rDTpjb250bmUteXR0cGUHABBhcHBsaWNhcGlvbi9qc29u"
        "DTptZXNzYWdlLXR5cGUHAAVldmVudHsiYnl0ZXMiOiJleUowZVhCbElqb2lZMjl1ZEdWdWRGOWliRzllWEJsSWpv"
        "aVkyOXVkR1Z1ZEY5aWJHOWphWnhZayUxOXhNVEVpZlE9PSJ9xtA1nQ=="))
    # a message with an Avro payload cut in its payload: the payload's
    # decoder must end (and report) at every split (30cf677)
    write("fuzz_classifiers_eventstream", "regress-cut-avro", base64.b64decode(
        "VgAAAKsAAABLg9vp9gs6ZXZlbnQtdHlwZQcABWNodW5rDTpjb250ZW50LXR5cGUHABBhcHBsaWNhdGlvbi9hdnJv"
        "DTptZXNzYWdlLXR5cGUHAAVldmVudE9iagF7ImJ5dGVzIjoiZSP///92bmQ5lzGXapdhl5eXl5eXl5eXl5eXl5eX"
        "l0prSURReE1URWlmUT09In3G0DOd"))
    return seeds


# ---- multipart ----
def seeds_multipart():
    B = b"XyZ"
    parts = [
        b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue a\r\n"
        b"--XyZ\r\nContent-Disposition: form-data; name=\"j\"\r\nContent-Type: application/json\r\n\r\n"
        b"{\"email\":\"a@b.com\"}\r\n--XyZ--\r\n",
        b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.png\"\r\n"
        b"Content-Type: image/png\r\n\r\n\x89PNG....\r\n--XyZ--",
        b"--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"Y2FyZCA0MTExIDExMTEgMTExMSAxMTEx\r\n--XyZ--\r\n",
        b"--XyZ\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"a=40b.com=\r\n more\r\n--XyZ--\r\n",
        b"preamble\r\n--XyZ\r\n\r\nx\r\n--XyZ--\r\n",
        b"--XyZ\nContent-Disposition: form-data; name=\"a\"\n\nlf only\n--XyZ--\n",
        b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
        b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n--XyZ-\r\n--XyZ--\r\n",
    ]
    for i, s in enumerate(parts):
        write("fuzz_classifiers_multipart", "seed%02d" % i, bytes([i * 31 & 255]) + s)
    return parts


# ---- whole chain: byte 0 = type (low nibble) / encoding (high nibble) ----
def seeds_message():
    """Mail: a QP body, a multipart with preamble and epilogue, encoded
    words, a forwarded message (byte 0: the way in, see the target)."""
    msgs = [
        b"From: Jane <jane@corp.example>\r\nTo: bank@partner.example\r\nSubject: =?utf-8?Q?Zahlung_f=C3=BCr?=\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nIBAN DE8937040044=\r\n0532013000 gr=C3=BC=C3=9Fe\r\n",
        b"MIME-Version: 1.0\nContent-Type: multipart/mixed;\n boundary=\"b1\"\n\npreamble\n"
        b"--b1  \nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
        b"Y2FyZCA0MTExIDExMTEgMTExMSAxMTEx\n--b1\nContent-Type: message/rfc822\n\n"
        b"From: x@y.example\nSubject: =?utf-8?B?Sm9obiBTbWl0aA==?=\n\nfwd body\n"
        b"--b1\nContent-Type: multipart/alternative; boundary=b2\n\n--b2\nContent-Type: text/html\n\n<p>hi</p>\n"
        b"--b2--\n--b1--\nepilogue\n",
        b"Return-Path: <a@b.example>\nMIME-Version: 1.0\nContent-Type: text/csv; charset=iso-8859-1\n"
        b"Content-Disposition: attachment; filename=\"m\xfcller.csv\"\n\nname;iban\nM\xfcller;DE89370400440532013000\n",
    ]
    msgs.append(b"From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8; format=flowed; "
                b"delsp=no\r\n\r\nIBAN DE89 3704 0044 \r\n0532 0130 00 thanks \nnext\r\n-- \r\nJane\r\n")
    msgs.append(b"From jane@corp.example Mon Nov 25 10:00:00 2024\nFrom: jane@corp.example\nSubject: one\n\n"
                b"body one\n>From here\n\nFrom bob@x.example Tue Nov 26 10:00:00 2024\r\nSubject: two\n"
                b"Content-Transfer-Encoding: quoted-printable\n\n4111 1111 =\n1111 1111\n")
    for i, m in enumerate(msgs):
        for way in range(4):
            write("fuzz_classifiers_message", "seed%d%d" % (i, way), bytes([(i * 64 + way * 4) & 0xfc | way]) + m)
    jp = "山田太郎様 メール taro.yamada@example.co.jp 電話 03-1234-5678".encode("iso2022_jp")
    write("fuzz_classifiers_message", "seed-jp", b"\x00From: a@b.example\r\nMIME-Version: 1.0\r\n"
          b"Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n"
          b"Content-Transfer-Encoding: 7bit\r\n\r\n" + jp + b"\r\n")
    write("fuzz_classifiers_message", "seed-vcard", b"\x02BEGIN:VCARD\r\nVERSION:3.0\r\nEMAIL;TYPE=WORK:jane.doe\r\n"
          b" @corp.example\r\nTEL:+49 30 1234\n\t5678\r\nEND:VCARD\r\n")
    write("fuzz_classifiers_message", "seed-ical", b"\x06BEGIN:VCALENDAR\nATTENDEE:mailto:bob@x.ex\n ample\n\nX\r")


def seeds_decode(es, mp):
    T = {"none": 0, "json": 1, "form": 4, "multipart": 5, "cbor": 7, "es": 8, "chunked": 9,
         "text": 10, "utf16": 11, "octet": 12}
    E = {"none": 0, "gzip": 1, "deflate": 2, "br": 3, "zstd": 4, "aws-chunked": 6, "snappy": 12}
    body = JSON[0]
    chunk = (b"%x;chunk-signature=" % len(body)) + b"a" * 64 + b"\r\n" + body + b"\r\n" + \
        b"0;chunk-signature=" + b"b" * 64 + b"\r\n\r\n"
    seeds = [
        (T["json"], E["none"], body),
        (T["json"], E["gzip"], gzip.compress(body, mtime=0)),
        (T["json"], E["deflate"], zlib.compress(body)),
        (T["none"], E["none"], gzip.compress(body, mtime=0)),
        (T["form"], E["none"], b"Action=Send&To=a%40b.com&Msg=hi+there"),
        (T["multipart"], E["none"], mp[0]),
        (T["cbor"], E["none"], CBOR[0]),
        (T["es"], E["none"], es[1]),
        (T["chunked"], E["none"], chunk),
        (T["json"], E["aws-chunked"], chunk),
        (T["utf16"], E["none"], "\ufeffcard 4111".encode("utf-16-le")),
        (T["octet"], E["none"], b"plain text body"),
        (T["text"], E["none"], b"\xef\xbc\x94\xef\xbc\x91 QUtJQUlPU0ZPRE5ON0VYQU1QTEUgYW5kIG1vcmUgdGV4dA=="),
        # gzip inside the declared gzip
        (T["json"], E["gzip"], gzip.compress(gzip.compress(body, mtime=0), mtime=0)),
        # snappy (Prometheus remote write): the body as a literal, then
        # 8 bytes of it again, copied from 16 back
        (T["text"], E["snappy"], pb_varint(len(body) + 8) + bytes([60 << 2, len(body) - 1]) + body
         + bytes([(8 - 1) << 2 | 2, 16, 0])),
        # markdown tables in raw text: one after prose, a pipe mid-line,
        # CRLF rows, another table after a line that is no row
        (T["text"], E["none"], b"# Staff\n\n| Name | SSN |\n|---|---|\n| Al | 536221847 |\r\n"
         b"\nSee a || b.\n|k|\n|v|\n"),
        # indented under a list item (and four spaces: code)
        (T["text"], E["none"], b"1. x\n   | k | ssn |\n   |---|---|\n   | a | 1 |\n2. y\n    | c | d |\n |e|\n"),
    ]
    for i, (t, e, b) in enumerate(seeds):
        write("fuzz_classifiers_decode", "seed%02d" % i, bytes([(e << 4) | t, i * 13 & 255]) + b)
    # regressions found by this target: output before a zstd / br error
    # depended on the input split
    write("fuzz_classifiers_decode", "regress-zstd-split", base64.b64decode(
        "xTkotS/9AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAAAAAAAAOAAAAABCWmgAAAAAAAAAAAAAAAAAAAAAAAAAAHvPz8/PLDbPNzIJaDVlO2MvAAAAAG50ZQlo"
        "iBo4ZSRtJsU4"))
    write("fuzz_classifiers_decode", "regress-br-split", base64.b64decode("NQEAABAJAABP"))
    # a legacy zstd v0.5 magic: libzstd decodes it, with other streaming rules
    write("fuzz_classifiers_decode", "regress-zstd-legacy", base64.b64decode("xTkoJbUv/R4AAAB0"))
    # an escape's lookback after a base64-alphabet run in a unit that came in
    # one call was stale (the run's text had kept no tail): found by this
    # target and by the text and event-stream ones
    write("fuzz_classifiers_decode", "regress-escape-tail", base64.b64decode(
        "AQB7ImFwcGxpY2F0aW9uL2pzb25saW5lc21lc3M9YSU0MGIwYi5jb20mTXNnPWhpLnIiLCJjb250ZW50IjpbeyJ0"
        "A2V4dCI6ImNhcmQgNDExMSAxMTExIDExMTEgMTE6MTEifV19XX0="))


# ---- text pipeline: byte 0 = type (low 3 bits) and split seed ----
def seeds_text():
    secret = "AKIAIOSFODNN7EXAMPLE card 4111 1111 1111 1111 a@b.com"
    b64 = base64.b64encode(secret.encode()).decode()
    seeds = [
        (0, ("plain " + b64 + " tail, " + base64.b64encode(b64.encode()).decode()).encode()),
        (0, "\uff14\uff11\u200b11 \u00a0x\u00ad y \u0664\u0661".encode()),
        (0, b'{"k":"\\u0041KIA","n":[1,2]} and more'),
        (1, ("\ufeff" + secret).encode("utf-16-le")),
        (3, secret.encode("utf-16-be")),
        (2, "\ud83d\ude00 x".encode("utf-16-le", "surrogatepass") + b"\x00\xd8\x00\xd8"),
        (4, b"Action=Send&To=a%40b.com&Msg=hi+there&bad=%zz%4&lonely"),
        (0, ("-".join([b64] * 5) + "\r\n" + b64).encode()),
        (0, base64.b64encode(b"%PDF-1.4 binary\x00\x01\x02 stuff").decode().encode()),
        (6, base64.urlsafe_b64encode(secret.encode()).rstrip(b"=")),
        # escapes: percent (one and two levels), references, cut ones, many
        (0, b"mail john%40example.com %2541KIA %EF%BC%A0 50%ZZ end %25"),
        (5, b"x &#52;111 &#x34;1 a&commat;b&period;c Tom &amp; Jerry &nbsp; &#1114112; &bogus; &#"),
        (0, b"%41" * 1500 + b" tail " + b"c" * 100 + b"&#65;"),
        (0, b"hex 0x" + secret.encode().hex().upper().encode() + b" and " + secret.encode().hex().encode()),
        # homoglyphs: Cyrillic and Greek letters in Latin words, and alone
        (0, "key \u0410\u041a\u0406\u04105ZK6 \u0458\u043ehn@x.io \u041c\u043e\u0441\u043a\u0432\u0430 "
            "\u0391\u039a\u0399\u03917 5\u043a\u0433".encode()),
        # backslash escapes in text, cut and not, and a card with dots
        (0, b"k \\x41\\x4bIA7 j\\u0040x.io C:\\xampp \\ud83d\\u0041 4111.1111.1111.1111 end \\u00"),
        # NFKC letters and digits, every script's digits, and their neighbours
        (0, "\U0001d400\U0001d40a\u00b9\u2079\u2089\u2460\u24ea\u24b6\u24e9 \u0e54\u0e5a\u07c0\U0001e959"
            "\U0001fbf9\u4e2d\uac00 \U0001d6a3\U0001d6a4".encode()),
        # long runs (past the 8 KiB hold): wrapped base64 and an `xxd -p`
        # hex dump of text, each with a token on a line after the block
        (0, (base64.encodebytes(b"lorem ipsum dolor " * 360).decode() + "AKIAIOSFODNN7EXAMPLE\nend").encode()),
        (0, ("\n".join((b"lorem ipsum " * 400).hex()[i:i + 60] for i in range(0, 9600, 60))
             + "\nAKIAIOSFODNN7EXAMPLE").encode()),
        # addresses with an internationalised domain, German words around them
        (0, "Grüße an bob@müller.de, jürgen@bücher-öffnen.de x@\u0219t.ro Łódź schön %41 a@".encode()
            + b"b" * 70 + "ü".encode()),
        # runs of Cyrillic, Greek, CJK and Hangul letters, Latin ones next to them
        (0, "Москва7 αβγ 中文А Москва 中。あ ру́сский 한국어 日本語のテキスト %41 Привет bob@пример.рф".encode()),
        # binary formats in hex: an Ed25519-shaped PKCS#8 key (synthetic
        # bytes), gzip'd text, a PNG's start, a hash that begins as gzip
        (0, ("{\"k\":\"302e020100300506032b657004220420" + bytes(range(7, 39)).hex() + "\"} 0x"
             + gzip.compress(b"AKIAIOSFODNN7EXAMPLE", mtime=0).hex().upper()
             + " 89504e470d0a1a0a0000000d4948445200 1f8b00" + "5a" * 20).encode()),
        # byte lists: "0x" tokens over lines, hex with ':', signed decimal,
        # one cut short by a long word, a table of numbers
        (0, ("k = {" + ", ".join("0x%02x" % c for c in b"AKIAIOSFODNN7EXAMPLE") + "};\n"
             + ":".join("%02x" % c for c in b"bob@example.com") + " j="
             + str([c if c < 128 else c - 256 for c in bytes([48, 46, 2, 1, 0, 48, 5, 6, 3, 43, 101, 112, 4, 34,
                                                               4, 32]) + bytes(range(200, 232))])
             + " 41 4b 49 41 49 4f 53 46 4f 44 4e 4e 37deadbeef 45 58 " + "10, 20, 30, 40, 50, 60, 70, 80, 90 "
             ).encode()),
        # base32: upper, lower, unpadded, wrapped; capitals in prose
        (0, ("k " + base64.b32encode(secret.encode()).decode() + " l "
             + base64.b32encode(b"mail zoe@example.com").decode().lower().rstrip("=") + "\n"
             + base64.b32encode(b"please write to anna@example.org today").decode()[:40] + "\n"
             + base64.b32encode(b"please write to anna@example.org today").decode()[40:]
             + " HTTPSWWWEXAMPLECOMANDSOMEMORECAPS").encode()),
        # \u{…}, \U…, octal and %u escapes, cut and not
        (0, b"k \\u{41}\\u{4B}IA j\\U0001F600 bob\\100x.io %u0040 C:\\2019\\101 \\u{} \\u{1234567 %u12 \\3"),
        # charsets through iconv (types 8..15): a context word in the script,
        # a card and a mail address, a byte the charset lacks, a cut character
        (8, "個人番号 4111 1111 1111 1111 mail a@b.com ".encode("shift_jis") + b"\xa0 \x8c"),
        (9, "Kontakt: anna@example.org, +AEA-x.io +ZeVnLIqe- AKIA".encode("ascii")),
        (10, "個人番号 a@b.com 4111 1111 1111 1111".encode("iso2022_jp") + b"\x1b$B\x30"),
        (11, "Паспорт 4510 123456, почта иван@пример.рф, a@b.com".encode("cp1251")),
        (12, json.dumps({"t": "身份证 11010519491231002X a@b.com"}, ensure_ascii=False).encode("gb18030")),
        (13, "CARD 4111 1111 1111 1111 MAIL A@B.COM".encode("cp037")),
        (14, "주민등록번호 800101-1234567 a@b.com".encode("euc_kr")),
        (15, "身分證 A123456789 a@b.com".encode("big5")),
    ]
    for i, (t, body) in enumerate(seeds):
        # bits 4..7 seed the splits, bits 0..3 pick the type
        write("fuzz_classifiers_text", "seed%02d" % i, bytes([((i * 16) & 0xf0) | t]) + body)
    # an HTML block in raw text (a table a converter kept as HTML), a '<'
    # that begins none, a tag's prefix at the end
    write("fuzz_classifiers_text", "seed-html-block",
          b"\x00# Staff\n\n<table>\n<tr><th>Name</th><th>SSN</th></tr>\n<tr><td>Al</td><td>536221847</td></tr>\n"
          b"</table>\n \n| k |\n| v |\na <b\n  <TABLE\n<td>1</td>\n\n<ta")
    # zlib data and UTF-16 text (with and without a BOM) in base64 runs; a
    # path whose base64 decodes to FF FE (no UTF-16); the header of zlib
    # before what does not inflate
    z16 = "mail bob@corp-mail.de now".encode("utf-16-le")
    write("fuzz_classifiers_text", "seed-b64-zlib-utf16",
          b"\x00a " + base64.b64encode(zlib.compress(b"mail bob@corp-mail.de now")) + b" b "
          + base64.b64encode(b"\xff\xfe" + z16) + b" c " + base64.b64encode(z16) + b" d //6vri//h/eakcr81t/wj7x83p2k4/x "
          + base64.b64encode(b"\x78\x9c\xff\xff\xff\xff\x07" + bytes(range(40))))
    # percent-encoding three, four and five levels deep; "%2525" before no
    # hex digit; one cut at the end
    write("fuzz_classifiers_text", "seed-pct-levels",
          b"\x00k %252541KIA %25252541KIA %2525252541 %2525zz bob%252540corp-mail.de %252")
    # base64 cut by zero-width characters (one, and three in a row), and
    # percent-encoded and as character references: the copies' base64 pass
    zb = base64.b64encode(b"mail bob@example.com key AKIAIOSFODNN7EXAMPLE").decode()
    zw = "\u200b".join(zb[i:i + 8] for i in range(0, len(zb), 8))
    zw3 = "\u200b\ufeff\u2060".join(zb[i:i + 5] for i in range(0, len(zb), 5))
    write("fuzz_classifiers_text", "seed-zw-b64",
          b"\x00decode: " + zw.encode() + b" x " + zw3.encode() + b" " +
          "".join("%%%02X" % ord(c) for c in zb[:40]).encode() + b" " +
          "".join("&#%d;" % ord(c) for c in zb[:30]).encode() + b" ab\xe2\x80\x8bcd \xe2\x80")
    write("fuzz_classifiers_json", "seed-zw-b64",
          b'{"p":"' + "\\u200b".join(zb[i:i + 8] for i in range(0, len(zb), 8)).encode() + b'"}')
    # quoted-printable: soft line breaks (LF, CRLF) in a card and a key,
    # runs of "=HH", weak ones (code, a vCard), lower case, a cut "="
    write("fuzz_classifiers_text", "seed-qp",
          b"\x00card 4111 1111 11=\r\n11 1111 key AKIA2E3AYF3B=\nQ44C7XQZ k =41=4B=49=41 Gr=C3=BC=C3=9Fe "
          b"x=0A TYPE=CELL:1 a=3d=3d b=00 ZGVw=\nbG95IHdpdGgga2V5IEFLSUEy ==\n end =")
    # tag characters (ASCII smuggling) glued to text, a cancel tag, a cut one
    tag = lambda t: "".join(chr(0xE0000 + ord(c)) for c in t).encode()
    write("fuzz_classifiers_text", "seed-tags",
          b"\x00Summarise this" + tag("AKIA2E3AYF3BQ44C7XQZ") + b"please " + tag("4111 1111") + "\U000E007F".encode()
          + b"1111 \xf3\xa0\x81")
    # blank lines inside a table, a tag and a comment do not end the block
    write("fuzz_classifiers_text", "seed-html-table-blank",
          b"\x00<table>\n<tr><th>Name</th><th>SSN</th></tr>\n  \n\n<tr><td\n\n>Al</td><td>536221847</td></tr>"
          b"<!--\n\n-->\n</table>\n\n| k |\n| v |\n<table><tr><td>x\n\n")
    write("fuzz_classifiers_text", "regress-escape-tail", base64.b64decode(
        "AHsiayEhISEhISEhISEhISEhISEhISEhISEhISEhISEhISEhISEhISEhISEhISEhISEhISEhISchISEhISEhISEh"
        "ISEhISEhISEhISEhISEhISEhISEhISEhIWxQVTBaUFJFNU9OMFZZUVUxUVRFVWdZMkZ5WkNBME1URXhJREV4TVRF"
        "Z01URXhNU0F4TVRFeElHTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1NTU1N"
        "TU1NTU1NTU1NTU1NTU1NTVBtYWlsJGpvaG4lNDBlMzEzMTIwMzEzMTMxMzEyMDMhJjEzMTMxIjV9nzNvcmUxMjAl"
        "QiVDQTAgNTAlWlohZW5kICUyNQ=="))


def seeds_stream():
    """fuzz_classifiers_stream: byte 0 = type (low 3 bits) and cuts (the rest)."""
    b64 = base64.b64encode(b"please write to anna@example.net today").decode()
    seeds = [
        (0, "\ufeffmail\u00a0mary@example.org card 4111\u200b 1111 1111 1111 "
            "\uff14\uff11\uff11\uff11 1111 1111 1111\n".encode()),
        (0, ("blob " + b64 + " x john%40example.com key \u0410KIA5ZK6SXQ7BR2LMNOP "
             "k \\x41\\x4bIA5ZK6SXQ7BR2LMNOP 4111.1111.1111.1111\n").encode()),
        (1, json.dumps({"messages": [{"role": "user", "content": [
            {"text": "SSN 536-22-1234, mail " + b64 + " and bob%40example.com"}]}]}).encode()),
        (2, b'{"a":"4111 1111 1111 1111"}\n{"b":"x&#64;example.com y"}\n'),
        (3, b"To=a%40b.com&Msg=card+4111+1111+1111+1111"),
        (0, ("x " + base64.b64encode(("lorem ipsum %d " * 700 % tuple(range(700))).encode()
                                     + b" mail zoe@example.com").decode() + " y\n").encode()),
        # byte lists in text and in a JSON string (line ends as escapes)
        (0, ("key {" + ",\n  ".join("0x%02X" % c for c in b"AKIAIOSFODNN7EXAMPLE") + "} mail "
             + " ".join("%02x" % c for c in b"zoe@example.com") + "\n").encode()),
        (1, json.dumps({"code": "byte k[] = {" + ",\n ".join(str(c) for c in b"card 4111 1111 1111 1111")
                        + "};"}).encode()),
        # JSON arrays of numbers: a Buffer, signed bytes, one cut by a value
        (1, json.dumps({"b": {"type": "Buffer", "data": list(b"mail zoe@example.com")},
                        "s": [-61, -87, 72, 105, 32, 116, 104, 101, 114, 101], "m": [65, 66, 67, 68, 69, 70, 71, 72,
                                                                                   1.5, [1, 2], "x", 300]}).encode()),
        # an HTML block in raw text: the findings after it keep their offsets
        (0, b"mail al@example.org\n<table><tr><th>SSN</th></tr><tr><td>536221847</td></tr>\n</table>\n\n"
            b"bob@example.com <ta"),
        # values split across adjacent text blocks (seams), a digit list
        (1, json.dumps({"messages": [{"role": "user", "content": [
            {"text": "card 4111 11"}, {"type": "text", "text": "11 1111 1111 write to jo"},
            {"text": "e@example.com and ann@example.org"}, {"text": "thanks AKIAIOSF"},
            {"image": {"format": "png"}}, {"text": "ODNN7EXAMPLE"}]}],
            "digits": [4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}).encode()),
    ]
    for i, (t, body) in enumerate(seeds):
        write("fuzz_classifiers_stream", "seed%02d" % i, bytes([((i * 40) & 0xf8) | t]) + body)


# ---- XML: first byte = split seed, bits 0-1 = the way in ----
XML = [
    b'<?xml version="1.0" encoding="UTF-8"?><k><![CDATA[AKIA]]><![CDATA[IOSFODNN7EXAMPLF]]></k>',
    b'<r><e id="john&#64;example.com" n=\'x\'/><a>AKIA<!-- c -->IOSF<?pi x?>ODNN7EXAMPLF</a></r>',
    b'<a>&#65;&#x4B;&lt;&gt;&amp;&apos;&quot;&foo; 1 < 2 ]]> <![CDATA[x]]]></a>',
    b'<!DOCTYPE a [<!ENTITY k "AKIAIOSF">]><a>&k;</a>',
    b'<!DOCTYPE note SYSTEM "n.dtd"><note><ssn>536-22-8451</ssn></note>',
    b'<?xml version="1.0" encoding="UTF-7"?><a>+AEE-</a>',
    b'<a <b c="d>x<!-- y -',
    b'<?xml version="1.0"?><a>' + b'<!--' + b'c' * 4200 + b'-->x</a>',
    b'<w:document><w:body><w:p><w:r><w:t>AKIA</w:t></w:r><w:r><w:t>IOSF</w:t></w:r></w:p></w:body></w:document>',
    b'<!DOCTYPE html><html><body><p>key AKIA<span class=x></span>IOSF<!-- c --><b>ODNN</b>7</p>'
    b'<script>if (a<b && c) {}</script><td>4111 &nbsp;1111</td></body></html>',
]


def seeds_xml():
    for i, body in enumerate(XML):
        way = 1 if (body.startswith(b'<?xml') or body.startswith(b'<!DOCTYPE html')) and i % 2 == 0 else 0
        if body.startswith(b'<!DOCTYPE html') and i % 2:
            way = 3  # declared text/html
        write("fuzz_classifiers_xml", "seed%02d" % i, bytes([(i * 16) | way]) + body)
    # UTF-16 (big-endian, with a BOM) for the charset=utf-16 way
    u16 = '<a>card 4111 1111 1111 1111</a>'.encode('utf-16-be')
    write("fuzz_classifiers_xml", "seed%02d" % len(XML), bytes([2]) + b'\xfe\xff' + u16)
    # key and name attributes that name an element's value, end tags after it
    write("fuzz_classifiers_xml", "seed%02d" % (len(XML) + 1), bytes([0x51]) +
          b'<configuration><add key="ApiKey" value="Zk3q9XbT2m&amp;Lp8RvW"/><entry key="db.password">'
          b'Zk3q9XbT2mLp</entry><property name=\'pwd\' value=\'Ab3dE5gH7jK9\' / ></configuration>')


# ---- zip: first byte = split seed, bits 0-1 = the way in ----
def zip_entry(name, data, method=0, flags=0, desc=0):
    c = data
    if method == 8:
        co = zlib.compressobj(9, zlib.DEFLATED, -15)
        c = co.compress(data) + co.flush()
    if desc:
        flags |= 8
    h = b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", 20, flags, method, 0, 0, 0, 0 if desc else len(c),
                                     0 if desc else len(data), len(name), 0)
    out = h + name.encode() + c
    if desc:
        out += (b"PK\x07\x08" if desc == 2 else b"") + struct.pack("<III", zlib.crc32(data), len(c), len(data))
    return out


def seeds_zip():
    import io
    import zipfile
    docx = io.BytesIO()
    def info(name, method=zipfile.ZIP_DEFLATED):
        i = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # deterministic
        i.compress_type = method
        return i
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr(info("[Content_Types].xml"), '<?xml version="1.0"?><Types/>')
        z.writestr(info("word/document.xml"), "<w:document><w:body><w:p><w:r><w:t>key AKIA5ZK6</w:t></w:r>"
                   "<w:r><w:t>SXQ7BR2LMNOP</w:t></w:r></w:p></w:body></w:document>")
        z.writestr(info("word/media/image1.png"), b"\x89PNG\r\n\x1a\n" + bytes(40))
        z.writestr(info("notes.txt", zipfile.ZIP_STORED), "ssn 536-22-8451")
    inner = zip_entry("x.txt", b"card 4111 1111 1111 1111", 8)
    seeds = [
        docx.getvalue(),
        zip_entry("a.txt", b"hello a@b.com") + zip_entry("d.xml", b"<k>AKIA</k>", 8, 0, 2)
        + zip_entry("n.md", b"mail c@d.io", 8, 0, 1) + b"PK\x05\x06 comment",
        zip_entry("in.docx", inner, 8) + zip_entry("dir/", b""),
        zip_entry("s.txt", b"secret", 0, 1),
        zip_entry("b.bin", bytes(200000), 8),
        # stored, size in a signed data descriptor only (a streaming writer)
        zip_entry("s.txt", b"x PK\x07\x08abcdefghijkl mail c@d.io", 0, 0, 2) + zip_entry("t.txt", b"after"),
    ]
    for i, body in enumerate(seeds):
        write("fuzz_classifiers_zip", "seed%02d" % i, bytes([(i * 16) | (i % 3)]) + body)


# ---- tar: first byte = split seed, bits 0-1 = the way in (tar, gzip, sniffed) ----
def seeds_tar():
    import io
    import tarfile

    def pack(fmt, entries):
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
            for name, data, typ in entries:
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.type = len(data), 0, typ  # deterministic
                t.addfile(info, io.BytesIO(data) if data else None)
        return b.getvalue()
    R, D = tarfile.REGTYPE, tarfile.DIRTYPE
    long = "src/" + "pkg/" * 30 + "config.json"
    entries = [("a.txt", b"hello a@b.com", R), ("dir", b"", D), (long, b'{"k":"AKIA5ZK6SXQ7BR2LMNOP"}', R),
               ("notes-\u00e9.csv", b"name,mail\nBob,bob@corp-mail.de\n", R),
               ("in.zip", zip_entry("x.txt", b"card 4111 1111 1111 1111", 8), R)]
    seeds = [pack(tarfile.PAX_FORMAT, entries), pack(tarfile.GNU_FORMAT, entries),
             pack(tarfile.USTAR_FORMAT, [e for e in entries if len(e[0]) < 100])]
    gz = [gzip.compress(x, mtime=0) for x in seeds]
    for i, body in enumerate(seeds):
        write("fuzz_classifiers_tar", "seed%02d" % i, bytes([(i * 16) | (0 if i != 2 else 2)]) + body)
        write("fuzz_classifiers_tar", "seed%02d_gz" % i, bytes([(i * 16) | 1]) + gz[i])
        # .tar.xz and .tar.bz2, sniffed
        write("fuzz_classifiers_tar", "seed%02d_xz" % i, bytes([(i * 16) | 2]) + lzma.compress(body))
        write("fuzz_classifiers_tar", "seed%02d_bz2" % i, bytes([(i * 16) | 2]) + bz2.compress(body))


# ---- protobuf: first byte = split seed, bits 0-1 = the way in (protobuf, gRPC, grpc-web, sniffed) ----
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from otlp_spans import ld as pb_len, varint as pb_varint  # noqa: E402


def seeds_protobuf():
    # an OTLP logs request as OpenTelemetry's exporter writes it
    kv = lambda k, v: pb_len(1, pb_len(1, k) + pb_len(2, pb_len(1, v)))  # noqa: E731
    rec = (b"\x09" + struct.pack("<Q", 1732752000000000000) + pb_len(3, b"ERROR")
           + pb_len(5, pb_len(1, b"payment failed for card 4111 1111 1111 1111, customer asked to call back"))
           + pb_len(6, kv(b"user.email", b"bob.smith@corp-mail.de")) + pb_len(9, bytes(range(16)))
           + pb_varint(4 << 3) + pb_varint(4111111111111111))
    otlp = pb_len(1, pb_len(1, kv(b"service.name", b"checkout")) + pb_len(2, pb_len(1, pb_len(1, b"payments"))
                                                                          + pb_len(2, rec)))
    frame = lambda flag, m: bytes([flag]) + struct.pack(">I", len(m)) + m  # noqa: E731
    z = gzip.compress(otlp, mtime=0)
    # a message over the 64 KiB hold: judged by its start, read as a stream
    big = pb_len(1, b"".join(pb_len(2, pb_len(1, b"record %d by u%d@corp.example" % (i, i))) for i in range(2100)))
    seeds = [(0, otlp), (1, frame(0, otlp) + frame(1, z) + frame(1, zlib.compress(otlp))), (2, frame(0, otlp) + frame(0x80, b"grpc-status: 0\r\n")),
             (0, pb_len(4, b"\x89PNG\r\n\x1a\n" + bytes(8)) + pb_len(7, z)), (0, big)]
    # a KPL aggregated record (Kinesis Producer Library), sniffed
    agg = pb_len(1, b"pk") + pb_len(3, pb_varint(1 << 3) + pb_varint(0) + pb_len(3, b'{"user":"bob@corp-mail.de"}'))
    seeds.append((3, b"\xf3\x89\x9a\xc2" + agg + hashlib.md5(agg).digest()))
    for i, (way, body) in enumerate(seeds):
        write("fuzz_classifiers_protobuf", "seed%02d" % i, bytes([(i * 16) | way]) + body)


# ---- x509: first byte = split seed, bits 0-1 = the way in (DER declared,
# sniffed, PEM in text, base64 in JSON). Fixed objects made once with the
# openssl command line: a certificate with an email in its subject and
# every kind of alternative name, a request, a CRL ----
X509_CERT = ("MIICITCCAcigAwIBAgIUVAbW9DCCDayJkr+t8LeUVae7GMswCgYIKoZIzj0EAwIwNTESMBAGA1UEAwwJQm9iIFNtaXRoMR8w"
             "HQYJKoZIhvcNAQkBFhBib2JAY29ycC1tYWlsLmRlMB4XDTI2MTEyNzA5MjcxOFoXDTM2MTEyNDA5MjcxOFowNTESMBAGA1UE"
             "AwwJQm9iIFNtaXRoMR8wHQYJKoZIhvcNAQkBFhBib2JAY29ycC1tYWlsLmRlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"
             "Tyz9GSjsp43WYVJ3u2yYsdNEkAav65jEBbVRd8C6vmIQoARPia9Ss/XnL8Csepy9VexF8g98YYdkdJ0GpSQBPqOBtTCBsjCB"
             "kAYDVR0RBIGIMIGFgRFhbGljZUBleGFtcGxlLm9yZ4IJaC5leGFtcGxlhwQKAQIDhxAAAAAAAAAAAAAAAAAAAAABoCEGCisG"
             "AQQBgjcUAgOgEwwRamFuZUBjb3JwLW1haWwuZGWGE2h0dHBzOi8veC5leGFtcGxlL2GkFTATMREwDwYDVQQDDAhEaXIgTmFt"
             "ZTAdBgNVHQ4EFgQUZQ2OFU0egu45x2Q5Qk8ypw/wrIQwCgYIKoZIzj0EAwIDRwAwRAIgWkvfTMWqfbNte+Qz814c/ojnrFfv"
             "xISmjBP80XxNIUICICxRNsvQSvuiW1B3DvG1Ggh402COLRAKKCIjz+i+qJGb")
X509_CSR = ("MIIBEDCBtgIBADAvMQwwCgYDVQQDDANCb2IxHzAdBgkqhkiG9w0BCQEWEGJvYkBjb3JwLW1haWwuZGUwWTATBgcqhkjOPQIB"
            "BggqhkjOPQMBBwNCAASOfkFEzvttactWp3e4VilcFb9G3vygQLKFCPP5mKy4FqI2JJRrqL4PuI2TOAnKzokRu6wPuesvNt5N"
            "aG9G/E2JoCUwIwYJKoZIhvcNAQkOMRYwFDASBgNVHREECzAJgQdhQGIub3JnMAoGCCqGSM49BAMCA0kAMEYCIQDSLm3yPccJ"
            "fgUQgcWNDFEvQT4Z5cv9NVy8omSeW6O4PQIhAPrKqn1c20w1HFjhXUmZRS+mEnHSlm4V6/REKyenjhjH")
X509_CRL = ("MIHPMHcCAQEwCgYIKoZIzj0EAwIwODEQMA4GA1UEAwwHVGVzdCBDQTEkMCIGCSqGSIb3DQEJARYVY2EtYWRtaW5AY29ycC1t"
            "YWlsLmRlFw0yNjExMjcwOTI3MjJaFw0zNjExMjQwOTI3MjJaoA4wDDAKBgNVHRQEAwIBATAKBggqhkjOPQQDAgNIADBFAiA+"
            "zo2i39vClmzdJpDVifYEDnrNdtmiMTtEPkpWlZbVUwIhAJrPdhha/kmtu2I3OmWUdEQ7WtfVkdmYdFDQeRVgZbWZ")


def tlv(tag, content):
    n = len(content)
    ln = bytes([n]) if n < 128 else b"\x81" + bytes([n]) if n < 256 else b"\x82" + n.to_bytes(2, "big")
    return bytes([tag]) + ln + content


def seeds_x509():
    cert, csr, crl = (base64.b64decode(x) for x in (X509_CERT, X509_CSR, X509_CRL))
    # a .p7b certificate list around the certificate (PKCS#7 signed data, no content)
    p7_signed, p7_data = b"\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", b"\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01"
    signed = tlv(0x30, b"\x02\x01\x01" + tlv(0x31, b"") + tlv(0x30, tlv(0x06, p7_data)) + tlv(0xa0, cert)
                 + tlv(0x31, b""))
    p7b = tlv(0x30, tlv(0x06, p7_signed) + tlv(0xa0, signed))
    seeds = [cert, csr, crl, cert + cert, cert[:300], b"\x30\x82\x07\xcc\x30\x82" + bytes(range(256)) * 3, p7b]
    # private keys, reported by their structure (synthetic: any 32 bytes are
    # an Ed25519 key, 1..32 a P-256 scalar): PKCS#8 Ed25519, SEC1 P-256,
    # encrypted PKCS#8 (PBES2, its parameters not read), OpenSSH's magic
    d = bytes(range(1, 33))
    ed = tlv(0x30, b"\x02\x01\x00" + tlv(0x30, tlv(0x06, b"\x2b\x65\x70")) + tlv(0x04, tlv(0x04, d)))
    sec1 = tlv(0x30, b"\x02\x01\x01" + tlv(0x04, d) + tlv(0xa0, tlv(0x06, bytes.fromhex("2a8648ce3d030107"))))
    pbes2 = bytes.fromhex("2a864886f70d01050d")
    enc = tlv(0x30, tlv(0x30, tlv(0x06, pbes2) + tlv(0x30, b"")) + tlv(0x04, bytes(range(48))))
    seeds += [ed, sec1, enc, b"openssh-key-v1\x00" + bytes(range(64)), ed + cert]
    for i, der in enumerate(seeds):
        for way in range(4):
            write("fuzz_classifiers_x509", "seed%02d_%d" % (i, way), bytes([(i * 16) | way]) + der)


# ---- PDF: first byte = split seed, bits 0-1 = the way in (PDF, sniffed, PDF, deflate'd PDF) ----
def seeds_pdf():
    import base64

    def obj(num, d, data=None, direct=True):
        if data is None:
            return b"%d 0 obj\n%s\nendobj\n" % (num, d)
        length = b"%d" % len(data) if direct else b"99 0 R"
        return b"%d 0 obj\n<< %s /Length %s >>\nstream\r\n" % (num, d, length) + data + b"\nendstream\nendobj\n"
    page = b"BT /F1 12 Tf 72 700 Td (Mail a@b.com) Tj [(SSN 536-)-20(22-1847)-400(ok)] TJ (n\\351e \\(x\\)) ' ET"
    simple = (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
              + obj(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Resources << /Font << /F1 5 0 R >> >> >>")
              + obj(3, b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>") + obj(4, b"", page)
              + obj(5, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
              + obj(6, b"<< /Author (Jane \\(Doe\\)) /Title <FEFF00410020D83DDE00> >>")
              + b"xref\n0 7\n0000000000 65535 f \ntrailer\n<< /Root 1 0 R /Info 6 0 R >>\nstartxref\n9\n%%EOF\n")
    cid = b"BT /f-0-0 1 Tf 12 0 0 -12 50 100 Tm <00250026002700280029> Tj [<002A>-100<0025>] TJ ET"
    cmap = (b"/CIDInit /ProcSet findresource begin begincmap 1 begincodespacerange <0000> <ffff> endcodespacerange\n"
            b"2 beginbfchar <0025> <0031> <0026> <0032> endbfchar\n"
            b"2 beginbfrange <0027> <0029> <0033> <002A> <002A> [<00660069>] endbfrange endcmap end")
    cairo = (b"%PDF-1.5\n" + obj(4, b"/Filter /FlateDecode", zlib.compress(cid), False) + obj(99, b"200")
             + obj(3, b"<< /Font << /f-0-0 7 0 R >> >>")
             + obj(2, b"<< /Type /Page /Parent 1 0 R /Resources 3 0 R /Contents [4 0 R] >>")
             + obj(8, b"", cmap, False) + obj(7, b"<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /ToUnicode 8 0 R >>"))
    objstm = b"10 0 11 30 << /Font << /F1 12 0 R >> >> << /Type /Annot /Contents (call +49 30 1234567) >>"
    mixed = (b"%PDF-1.5\n" + obj(9, b"/Type /ObjStm /N 2 /First 10 /Filter [/FlateDecode]", zlib.compress(objstm))
             + obj(13, b"/Resources 10 0 R", b"BT /F1 9 Tf (x@y.de) Tj ET BI /W 2 /H 1 /BPC 8 ID \x01\xff EI")
             + b"% note: iban DE89 3704 0044 0532 0130 00\n"
             + obj(14, b"/Type /XObject /Subtype /Image /Width 1 /Height 1 /BitsPerComponent 8", b"\xff\x00\x10")
             + obj(15, b"/Type /EmbeddedFile /Subtype /text#2Fcsv", b"name,mail\nbob,bob@z.io\n", False)
             + obj(16, b"/Type /Metadata /Subtype /XML", b"<x:xmpmeta><dc:creator>bob@z.io</dc:creator></x:xmpmeta>"))
    # reportlab's filters: ASCII85 then Flate; ASCIIHex; an encrypted one
    a85 = base64.a85encode(zlib.compress(page)) + b"~>"
    filters = (b"%PDF-1.4\n" + obj(4, b"/Filter [/ASCII85Decode /FlateDecode]", a85)
               + obj(5, b"/Filter /ASCIIHexDecode", page.hex().encode() + b">", False)
               + obj(6, b"/Filter /LZWDecode", b"\x80\x0b\x60"))
    enc = b"%PDF-1.4\n" + obj(1, b"<< /Title (\x8a\x17x) >>") + b"trailer\n<< /Encrypt 5 0 R >>\n%%EOF\n"
    for i, (way, body) in enumerate([(0, simple), (1, simple), (0, cairo), (2, mixed), (1, filters), (0, enc),
                                     (0, cairo[: len(cairo) // 2])]):
        write("fuzz_classifiers_pdf", "seed%02d" % i, bytes([(i * 16) | way]) + body)
    write("fuzz_classifiers_pdf", "seed_deflate", bytes([0x73]) + zlib.compress(simple))


# ---- Parquet: first byte = split seed, bit 0 = sniffed. (writer_* in the
# corpus are files by parquet-wasm 0.6.1 (arrow-rs) and parquetjs-lite,
# kept as they are: snappy, gzip, zstd, uncompressed, LZ4) ----
def seeds_parquet():
    class TW:
        def __init__(self):
            self.b, self.last = bytearray(), [0]

        def varint(self, v):
            while v >= 0x80:
                self.b.append((v & 0x7f) | 0x80)
                v >>= 7
            self.b.append(v)

        def field(self, fid, typ):
            self.b.append(((fid - self.last[-1]) << 4) | typ)
            self.last[-1] = fid

        def i32(self, fid, v):
            self.field(fid, 5)
            self.varint(((v << 1) ^ (v >> 31)) & 0xffffffff)

        def bin(self, fid, s):
            self.field(fid, 8)
            self.varint(len(s))
            self.b += s

        def begin(self, fid):
            self.field(fid, 12)
            self.last.append(0)

        def end(self):
            self.b.append(0)
            if len(self.last) > 1:
                self.last.pop()
            else:
                self.last[0] = 0

    def plain(vals):
        return b"".join(struct.pack("<I", len(v)) + v for v in vals)

    def page(w, typ, data, usize, enc=0, stats=None, lv=0):
        w.i32(1, typ)
        w.i32(2, usize)
        w.i32(3, len(data))
        w.begin({0: 5, 2: 7, 3: 8}[typ])
        w.i32(1, 2)
        if typ == 0:
            w.i32(2, enc)
            w.i32(3, 3)
            w.i32(4, 3)
            if stats:
                w.begin(5)
                w.bin(1, stats[0])
                w.bin(2, stats[1])
                w.end()
        elif typ == 2:
            w.i32(2, 0)
        else:
            w.i32(2, 0)
            w.i32(3, 2)
            w.i32(4, enc)
            w.i32(5, lv)
            w.i32(6, 0)
        w.end()
        w.end()
        w.b += data

    vals = plain([b"alice@corp-mail.de", b"SSN 536-22-1847"])
    w = TW()
    w.b += b"PAR1"
    page(w, 2, vals, len(vals))
    page(w, 0, b"\x02\x00\x00\x00\x03\x00\x02\x01", 8, enc=8, stats=(b"zed", b"alice@corp-mail.de"))
    w.i32(1, 6)
    w.bin(3, b"email")
    w.end()
    page(w, 0, bytes([len(vals), (len(vals) - 1) << 2]) + vals, len(vals))  # snappy, one literal
    page(w, 0, gzip.compress(vals, mtime=0), len(vals))
    page(w, 3, b"\x02\x01" + gzip.compress(vals, mtime=0), len(vals) + 2, lv=2)
    page(w, 0, bytes(range(10)), 100)  # a codec not told apart
    w.i32(1, 2)
    w.field(5, 9)
    w.b.append(0x1c)
    w.last.append(0)
    w.bin(1, b"ARROW:schema")
    w.bin(2, b"/////3ABAAAQAAAAAAAKAAwA")
    w.end()
    w.bin(6, b"parquet-rs version 51.0.0")
    w.end()
    body = bytes(w.b) + struct.pack("<I", 40) + b"PAR1"
    for i, (way, data) in enumerate([(0, body), (1, body), (0, body[: len(body) // 2])]):
        write("fuzz_classifiers_parquet", "seed%02d" % i, bytes([(i * 16) | way]) + data)


# ---- Avro: first byte = split seed, bit 0 = sniffed. (writer_* in the
# corpus are files by python3-avro 1.11: null, deflate, bzip2, snappy,
# zstandard, kept as they are) ----
def seeds_avro():
    def long_(v):
        z, out = (v << 1) ^ (v >> 63), bytearray()
        z &= (1 << 64) - 1
        while z >= 0x80:
            out.append((z & 0x7f) | 0x80)
            z >>= 7
        out.append(z)
        return bytes(out)

    def str_(s):
        return long_(len(s)) + s
    schema = json.dumps({"type": "record", "name": "C", "namespace": "x.y", "fields": [
        {"name": "id", "type": "long"}, {"name": "email", "type": ["null", "string"]},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "string"}},
        {"name": "tier", "type": {"type": "enum", "name": "T", "symbols": ["GOLD", "SILVER"]}},
        {"name": "next", "type": ["null", "C"]}]}).encode()
    sync = bytes(range(16))

    def head(codec):
        return (b"Obj\x01" + long_(2) + str_(b"avro.schema") + str_(schema) + str_(b"avro.codec") + str_(codec)
                + long_(0) + sync)
    obj = (long_(7) + long_(1) + str_(b"bob@corp-mail.de") + long_(-1) + long_(2) + str_(b"t") + long_(0)
           + long_(1) + str_(b"ssn") + str_(b"536-22-1847") + long_(0) + long_(1) + long_(1)
           + long_(8) + long_(0) + long_(0) + long_(0) + long_(0) + long_(0))
    objs = obj + obj
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    defl = raw.compress(objs) + raw.flush()
    files = [(0, head(b"null") + long_(2) + long_(len(objs)) + objs + sync),
             (1, head(b"deflate") + long_(2) + long_(len(defl)) + defl + sync + long_(2) + long_(len(defl)) + defl + sync),
             (0, head(b"bzip2") + long_(2) + long_(len(bz2.compress(objs))) + bz2.compress(objs) + sync),
             (0, head(b"xz") + long_(2) + long_(len(lzma.compress(objs))) + lzma.compress(objs) + sync)]
    for i, (way, data) in enumerate(files):
        write("fuzz_classifiers_avro", "seed%02d" % i, bytes([(i * 16) | way]) + data)


# ---- OLE2 compound files: first byte = split seed, bit 0 = sniffed.
# (writer_* in the corpus are files by LibreOffice 7.4 (.doc, .xls), xlwt
# 1.3 and SheetJS 0.18 (.xls), kept as they are) ----
def cfb(entries, mini):
    """A version 3 compound file: entries[0] the root; each entry (name,
    type, child, left, right, data); streams under 4,096 bytes in the mini
    stream when mini."""
    fat, secs = [0xFFFFFFFD], []
    ndir = (len(entries) + 3) // 4
    dir0 = len(fat)
    for k in range(ndir):
        fat.append(len(fat) + 1 if k + 1 < ndir else 0xFFFFFFFE)
        secs.append(b"")
    mfat_sec = len(fat)
    fat.append(0xFFFFFFFE)
    secs.append(b"")
    ms, mfat, starts = bytearray(), [], {}

    def put(data):
        start = len(fat)
        k = max(1, (len(data) + 511) // 512)
        for j in range(k):
            fat.append(len(fat) + 1 if j + 1 < k else 0xFFFFFFFE)
            secs.append(data[512 * j:512 * j + 512])
        return start
    for i, (name, typ, child, left, right, data) in enumerate(entries):
        if typ != 2:
            continue
        if mini and len(data) < 4096:
            starts[i] = len(ms) // 64
            k = max(1, (len(data) + 63) // 64)
            for j in range(k):
                mfat.append(len(mfat) + 1 if j + 1 < k else 0xFFFFFFFE)
            ms += data + bytes(64 * k - len(data))
        else:
            starts[i] = put(data)
    ms_start = put(bytes(ms)) if ms else 0xFFFFFFFE
    secs[mfat_sec - 1] = struct.pack("<128I", *(mfat + [0xFFFFFFFF] * (128 - len(mfat))))
    d = bytearray()
    for i, (name, typ, child, left, right, data) in enumerate(entries):
        e = bytearray(128)
        nm = name.encode("utf-16-le")
        e[0:len(nm)] = nm
        struct.pack_into("<HBB", e, 64, len(nm) + 2, typ, 1)
        struct.pack_into("<III", e, 68, left & 0xFFFFFFFF, right & 0xFFFFFFFF, child & 0xFFFFFFFF)
        struct.pack_into("<II", e, 116, ms_start if i == 0 else starts.get(i, 0), len(ms) if i == 0 else len(data))
        d += e
    d += bytes(128 * (4 * ndir - len(entries)))
    for k in range(ndir):
        secs[dir0 - 1 + k] = bytes(d[512 * k:512 * k + 512])
    head = bytearray(512)
    head[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", head, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIII", head, 44, 1, dir0, 0, 4096 if mini else 0)
    struct.pack_into("<IIII", head, 60, mfat_sec, 1, 0xFFFFFFFE, 0)
    struct.pack_into("<109I", head, 76, 0, *([0xFFFFFFFF] * 108))
    fatsec = struct.pack("<128I", *(fat + [0xFFFFFFFF] * (128 - len(fat))))
    return bytes(head) + fatsec + b"".join(s + bytes(512 - len(s)) for s in secs)


def seeds_ole():
    doc = bytearray(2048)
    struct.pack_into("<HH", doc, 0, 0xA5EC, 0xC1)
    struct.pack_into("<H", doc, 10, 0x0200)
    struct.pack_into("<H", doc, 32, 14)
    struct.pack_into("<H", doc, 62, 22)
    struct.pack_into("<H", doc, 152, 93)
    a = b"Name: Jane\x1fRoe, SSN\x13 536-22-1847\x15\r\x07\x07"
    doc[1024:1024 + len(a)] = a
    u = "mail a@z.de \u65e5\r".encode("utf-16-le")
    doc[1200:1200 + len(u)] = u
    cps = [0, len(a), len(a) + len(u) // 2]
    plc = struct.pack("<3I", *cps) + struct.pack("<HIH", 0, 2048 | 0x40000000, 0) + struct.pack("<HIH", 0, 1200, 0)
    tbl = b"\x01\x02\x00\x00\x00\x02" + struct.pack("<I", len(plc)) + plc
    struct.pack_into("<II", doc, 154 + 33 * 8, 0, len(tbl))
    summary = b"\x05\x00\x00\x00Author Jane Roe\x00\x01\x02Title Q3 audit\x00"

    def rec(i, body):
        return struct.pack("<HH", i, len(body)) + body
    wb = (rec(0x0809, struct.pack("<HH", 0x600, 5) + bytes(12)) + rec(0x0085, bytes(6) + b"\x05\x00Staff")
          + rec(0x00FC, struct.pack("<II", 3, 3) + b"\x03\x00\x00SSN\x09\x00\x00x@c")
          + rec(0x003C, b"\x01" + "orp.de".encode("utf-16-le") + b"\x05\x00\x00stale") + rec(0x000A, b"")
          + rec(0x0809, struct.pack("<HH", 0x600, 0x10) + bytes(12))
          + rec(0x00FD, struct.pack("<HHHI", 0, 0, 0, 0)) + rec(0x0203, struct.pack("<HHHd", 0, 1, 0, 536221847.0))
          + rec(0x027E, struct.pack("<HHHI", 1, 0, 0, 42 << 2 | 2))
          + rec(0x00BD, struct.pack("<HHHIHIH", 2, 0, 0, 150 << 2 | 3, 0, 7 << 2 | 2, 1))
          + rec(0x0006, struct.pack("<HHH8sHI", 3, 0, 0, b"\x00" * 6 + b"\xff\xff", 0, 0) + b"\x02\x00\x17\x00")
          + rec(0x0207, b"\x0b\x00\x00calc@corp.d") + rec(0x0204, struct.pack("<HHHH", 4, 0, 0, 4) + b"\x00note")
          + rec(0x01B6, bytes(10) + struct.pack("<H", 11) + bytes(6)) + rec(0x003C, b"\x00call 555-01")
          + rec(0x0014, b"\x0d\x00\x00&CConfidential") + rec(0x000A, b""))
    word = [("Root Entry", 5, 1, -1, -1, b""), ("WordDocument", 2, -1, -1, 2, bytes(doc)),
            ("1Table", 2, -1, -1, 3, tbl), ("\x05SummaryInformation", 2, -1, -1, 4, summary),
            ("ObjectPool", 1, 5, -1, -1, b""), ("_1", 1, 6, -1, -1, b""),
            ("\x01Ole10Native", 2, -1, -1, -1, struct.pack("<IH", 50, 2) + b"n.txt\0C:\\n.txt\0"
             + struct.pack("<II", 0x30000, 4) + b"t.x\0" + struct.pack("<I", 12) + b"078-05-1120\n")]
    book = [("Root Entry", 5, 1, -1, -1, b""), ("Workbook", 2, -1, -1, -1, wb)]
    files = [(1, cfb(word, 1)), (0, cfb(word, 0)), (1, cfb(book, 1)), (0, cfb(book, 0)), (0, cfb(book, 1)[:1536])]
    for i, (way, data) in enumerate(files):
        write("fuzz_classifiers_ole", "seed%02d" % i, bytes([(i * 16) | way]) + data)


# ---- CSV: first byte = split seed, bit 0 = TSV ----
def seeds_csv():
    files = [(0, b'name,ssn,"dob"\r\n"Roe, Jane",536221847,1985-03-12\r\n\r\n"say ""hi""",,"a\nb",extra\nlast,1'),
             (1, b"id\tphone\tmail\n1\t+49 30 1234567\tbob@corp.de\n2\t\t\n"),
             (0, b"Name;IBAN\nJane;DE89 3704 0044 0532 0130 00\n\"unterminated;x"),
             (0, b"notes\n" + b"plain words and c2VjcmV0IG1haWwgYm9iQGNvcnAuZGU= base64\n" * 3),
             (0, b"a|b\n1|2\n" + b"x" * 300 + b"|\"q\"\"\"|\n"),
             (0, b"Staff 2026,,\n,,\nname,ssn,dob\nAl,536221847,1985-03-12\n"),
             (0, b",Title,\nAl,536221847\nBo,2\n")]
    for i, (way, data) in enumerate(files):
        write("fuzz_classifiers_csv", "seed%02d" % i, bytes([(i * 16) | way]) + data)


def seeds_xlsx():
    sheet = (b'<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
             b'<c r="C1" t="inlineStr"><is><t>ssn</t></is></c></row><row r="2"><c r="A2" t="s"><v>2</v></c>'
             b'<c r="B2" s="1"><v>31118</v></c><c r="C2"><v>536221847</v></c><c r="D2" t="str"><f>A1</f>'
             b'<v>x</v></c></row></sheetData></worksheet>')
    sst = (b'<sst count="3"><si><t>name</t></si><si><r><t>date of</t></r><r><t xml:space="preserve"> birth</t>'
           b'</r></si><si><t>Jane &amp; &#x4A;o</t><rPh><t>jo</t></rPh></si></sst>')
    styles = (b'<styleSheet><numFmts><numFmt numFmtId="164" formatCode="[Red]d\\-mmm\\-yyyy"/></numFmts>'
              b'<cellXfs><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="14"/></cellXfs></styleSheet>')
    ods = (b'<office:document-content><office:body><table:table><table:table-row><table:table-cell>'
           b'<text:p>dob</text:p></table:table-cell></table:table-row><table:table-row>'
           b'<table:table-cell table:number-columns-repeated="3"><text:p>1985-03-12</text:p>'
           b'</table:table-cell></table:table-row></table:table></office:body></office:document-content>')
    files = [(0, sheet + b"\n--\n" + sst + b"\n--\n" + styles),
             (3, sheet + b"\n--\n" + sst + b"\n--\n" + styles),
             (1, sheet + b"\n--\n" + b"<sst><si>text outside</si></sst>" + b"\n--\n" + styles),
             (2, b"<html><table><tr><th>SSN</th></tr><tr><td>536221847</td></tr></table></html>"),
             (4, ods)]
    for i, (way, data) in enumerate(files):
        write("fuzz_classifiers_xlsx", "seed%02d" % i, bytes([(i * 16) | way]) + data)
    # regression: text in a table but in no cell, then the table's end (the
    # context event went out before or after the held text by the split)
    write("fuzz_classifiers_xlsx", "regress-table-end",
          base64.b64decode("ITx3b3Jrc2hlZXQ+PHNoZWV0RGF0YT50bDwvdGFibGU+PmIBPT4KLS0KCi0tCg=="))


def main():
    seeds_x509()
    seeds_zip()
    seeds_tar()
    seeds_pdf()
    seeds_parquet()
    seeds_avro()
    seeds_ole()
    seeds_csv()
    seeds_xlsx()
    seeds_protobuf()
    seeds_xml()
    seeds_stream()
    seeds_text()
    seeds_json()
    seeds_cbor()
    es = seeds_eventstream()
    mp = seeds_multipart()
    seeds_message()
    seeds_decode(es, mp)


if __name__ == "__main__":
    main()
