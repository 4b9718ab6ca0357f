#!/usr/bin/env python3
"""Tables from real writers: a column's name is the context of every value
under it. A bare 9-digit number under "ssn" and a date under "date of
birth" are findings only with their context words; in a table those are in
the header, rows away.

Made at test time: LibreOffice (headless) converts a CSV file to xlsx, ods
and xls, and a flat ODF text document with a table to docx and odt;
SheetJS (npm `xlsx`) writes xlsx with shared strings and with inline
strings, dates as Excel stores them (serial day numbers in a date format);
an HTML page has a table. `sovgw scan` reads them, and Bedrock Converse
requests that the AWS SDK for JavaScript sends with the xlsx and with a
CSV file as document blocks to a local endpoint on 127.0.0.1.

Before the table rule, the xlsx files gave nothing at all (the header's
words and the strings are in xl/sharedStrings.xml, the dates are numbers),
and the other formats a value or two in the rows right under the header:
each case below fails on that behaviour. The control tables (the same
values under other column names) must stay clean.

Needs LibreOffice (libreoffice-calc-nogui, libreoffice-writer-nogui) and
node/npm (scripts/deps.sh test)."""

import datetime
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import Runner, TempDir, Upstream, aws_cli_request, check, eq, npm_project, scan_jsonl  # noqa: E402

ROWS = 60
THUMB = "zip entry of type image/png"  # (an OpenDocument file's thumbnail: an image, reported)


def people():
    base = datetime.date(1950, 1, 1)
    return [(f"Person {i}", (base + datetime.timedelta(days=97 * i + 11)).isoformat(), 536221800 + i)
            for i in range(ROWS)]


def scan(*args, input=None):
    return scan_jsonl(*args, input=input, timeout=120)


def count(fs):
    """{type: findings} without the thumbnail's report"""
    c = {}
    for f in fs:
        if f["type"] == "UNINSPECTABLE" and f.get("reason") == THUMB:
            continue
        c[f["type"]] = c.get(f["type"], 0) + 1
    return c


def brief(fs):
    return [(f["type"], f["decoders"], f.get("reason") or f.get("excerpt")) for f in fs][:10]


def soffice(t, sources, fmt, ext):
    """LibreOffice converts the files {name: text} (written as name.ext) to
    fmt in one run; returns {name: path}."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    paths = [t.write(f"src/{name}.{ext}", text) for name, text in sources.items()]
    p = subprocess.run([exe, f"-env:UserInstallation=file://{t.join('lo-profile')}", "--headless",
                        "--convert-to", fmt, "--outdir", t.join(f"out-{fmt}"), *paths],
                       capture_output=True, text=True, timeout=240)
    out = {}
    for name in sources:
        path = t.join(f"out-{fmt}", f"{name}.{fmt}")
        check(os.path.exists(path), f"LibreOffice wrote {name}.{fmt} (exit {p.returncode}, {p.stderr[-500:]!r})")
        out[name] = path
    return out


NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
      'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
      'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.2"')


def fodt(head):
    """A flat ODF text with a table: a header (name, head), a passport
    number a row, and a paragraph after it."""
    def cell(v):
        return f"<table:table-cell><text:p>{v}</text:p></table:table-cell>"
    rows = "".join(f"<table:table-row>{cell(f'Person {i}')}{cell(f'C{i:02d}X{i:02d}T47')}</table:table-row>"
                   for i in range(ROWS))
    return (f'<?xml version="1.0" encoding="UTF-8"?><office:document {NS} '
            'office:mimetype="application/vnd.oasis.opendocument.text"><office:body><office:text>'
            '<text:p>Travel list</text:p><table:table table:name="T">'
            '<table:table-column table:number-columns-repeated="2"/>'
            f'<table:table-row>{cell("Name")}{cell(head)}</table:table-row>{rows}</table:table>'
            '<text:p>Booked 2024-05-01, reference 123456789.</text:p></office:text></office:body></office:document>')


def main():
    r = Runner("scan_tables")
    if not (shutil.which("soffice") or shutil.which("libreoffice")):
        print("not ok - LibreOffice missing (scripts/deps.sh test installs libreoffice-calc-nogui)")
        return 1
    t = TempDir()
    rows = people()
    csv_pii = "name,date of birth,ssn\n" + "".join(f"{n},{d},{s}\n" for n, d, s in rows)
    csv_clean = "name,shipped,order number\n" + "".join(f"{n},{d},{s}\n" for n, d, s in rows)
    want = {"DATE_OF_BIRTH": ROWS, "US_SOCIAL_SECURITY_NUMBER": ROWS}
    books = {fmt: soffice(t, {"pii": csv_pii, "clean": csv_clean}, fmt, "csv") for fmt in ("xlsx", "ods", "xls")}

    def libreoffice_books():
        # case 1: every birth date and every bare SSN, in each format; the
        # same values under other names give nothing
        for fmt, paths in books.items():
            code, fs = scan(paths["pii"])
            eq((code, count(fs)), (1, want), f"LibreOffice {fmt}: every row ({brief(fs)})")
            eq({f["decoders"] for f in fs if f["type"] != "UNINSPECTABLE"}, {"ole" if fmt == "xls" else "zip"},
               f"LibreOffice {fmt}: read by its decoder")
            code, fs = scan(paths["clean"])
            eq(count(fs), {}, f"LibreOffice {fmt}, the control table: clean ({brief(fs)})")
    r.run("xlsx, ods and xls by LibreOffice: a date of birth and an SSN column", libreoffice_books)

    sdk = npm_project("aws_sdk_js", "xlsx")
    if sdk is None:
        print("not ok - could not install the AWS SDK and SheetJS from npm")
        return 1

    def sheetjs_book(name, head, opts):
        table = [["name", *head]] + [[n, d, s] for n, d, s in rows]
        path = t.join(name)
        p = subprocess.run(["node", "make_sheet.mjs", path, json.dumps(table), "People", json.dumps(opts)], cwd=sdk,
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0 and os.path.exists(path), f"SheetJS wrote {name} ({p.stderr[-400:]!r})")
        return path

    def sheetjs():
        # case 2: SheetJS's xlsx, shared strings and inline strings; the
        # dates as Excel stores them (serial days in format 14)
        for sst in (True, False):
            opts = {"bookType": "xlsx", "bookSST": sst, "dates": [1]}
            code, fs = scan(sheetjs_book(f"js-{sst}.xlsx", ["date of birth", "ssn"], opts))
            eq((code, count(fs)), (1, want), f"SheetJS xlsx (shared strings {sst}): every row ({brief(fs)})")
            dobs = sorted(f["excerpt"] for f in fs if f["type"] == "DATE_OF_BIRTH")
            eq(dobs[:2], sorted(f"{d[:2]}******{d[-2:]}" for _, d, _ in rows)[:2], "the dates shown as dates")
            code, fs = scan(sheetjs_book(f"js-clean-{sst}.xlsx", ["shipped", "order number"], opts))
            eq((code, count(fs)), (0, {}), f"SheetJS xlsx (shared strings {sst}), the control table")
    r.run("xlsx by SheetJS: shared and inline strings, dates", sheetjs)

    def documents():
        # case 3: a table in a Word and an OpenDocument text: a passport
        # number needs its context word, the column's name; after the
        # table the column's name is no context any more
        docs = {fmt: soffice(t, {"pii": fodt("Passport number"), "clean": fodt("Booking code")}, fmt, "fodt")
                for fmt in ("docx", "odt")}
        for fmt, paths in docs.items():
            code, fs = scan(paths["pii"])
            eq((code, count(fs)), (1, {"PASSPORT_NUMBER": ROWS}), f"LibreOffice {fmt}: every row ({brief(fs)})")
            code, fs = scan(paths["clean"])
            eq(count(fs), {}, f"LibreOffice {fmt}, the control table ({brief(fs)})")
    r.run("docx and odt by LibreOffice: a passport column", documents)

    def html():
        # case 4: an HTML table (an export, a saved page)
        for head, expect in (("SSN", {"US_SOCIAL_SECURITY_NUMBER": ROWS}), ("Order", {})):
            page = ("<html><body><h1>Staff</h1><table><thead><tr><th>Name</th><th>" + head + "</th></tr></thead><tbody>"
                    + "".join(f"<tr><td>{n}</td><td>{s}</td></tr>" for n, _, s in rows) + "</tbody></table></body></html>")
            code, fs = scan(t.write(f"staff-{head}.html", page))
            eq(count(fs), expect, f"HTML table under {head} ({brief(fs)})")
    r.run("an HTML table", html)

    def title_rows():
        # case 5: a title row above the header, as sheets are often laid
        # out ("Staff 2026" in A1): the header is the row after it. A CSV
        # file with it (LibreOffice's export writes the title's row with
        # empty cells), LibreOffice's xlsx and ods of that file, SheetJS's
        # xlsx (A1 alone in its row), an HTML table with a caption row
        # (colspan); and a table of one column (its name, then values),
        # whose first row is no title. Before: nothing in all of them but
        # the one-column table (the title named the first column).
        title = "Staff 2026 (confidential),,\n"
        sources = {"titled": title + csv_pii, "titled-clean": title + csv_clean}
        csvs = {k: t.write(f"titled/{k}.csv", v) for k, v in sources.items()}
        paths = [(csvs["titled"], csvs["titled-clean"], "csv")]
        for fmt in ("xlsx", "ods"):
            out = soffice(t, sources, fmt, "csv")
            paths.append((out["titled"], out["titled-clean"], fmt))
        for pii, clean, fmt in paths:
            code, fs = scan(pii)
            eq((code, count(fs)), (1, want), f"{fmt} with a title row: every row ({brief(fs)})")
            code, fs = scan(clean)
            eq(count(fs), {}, f"{fmt} with a title row, the control table ({brief(fs)})")
        table = [["Staff 2026"], ["name", "date of birth", "ssn"]] + [[n, d, s] for n, d, s in rows]
        path = t.join("js-titled.xlsx")
        p = subprocess.run(["node", "make_sheet.mjs", path, json.dumps(table), "People",
                            json.dumps({"bookType": "xlsx", "bookSST": True, "dates": []})], cwd=sdk,
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, f"SheetJS wrote the titled book ({p.stderr[-400:]!r})")
        code, fs = scan(path)
        eq(count(fs), want, f"SheetJS xlsx with a title row ({brief(fs)})")
        page = ("<table><tr><th colspan='2'>Staff 2026</th></tr><tr><th>Name</th><th>SSN</th></tr>"
                + "".join(f"<tr><td>{n}</td><td>{s}</td></tr>" for n, _, s in rows) + "</table>")
        code, fs = scan(t.write("titled.html", page))
        eq(count(fs), {"US_SOCIAL_SECURITY_NUMBER": ROWS}, f"HTML table with a caption row ({brief(fs)})")
        code, fs = scan(t.write("one-column.csv", "ssn\n" + "".join(f"{s}\n" for _, _, s in rows)))
        eq(count(fs), {"US_SOCIAL_SECURITY_NUMBER": ROWS}, f"one column: its name is no title ({brief(fs)})")
    r.run("a title row above the header (CSV, xlsx, ods, HTML)", title_rows)

    def converse_body(path, fmt):
        # the body the AWS SDK's Converse sends with the file as a document
        # block of this format (its bytes in base64 in JSON)
        with Upstream(keep_bodies=True) as up:
            p = subprocess.run(["node", "converse_doc.mjs", f"http://127.0.0.1:{up.port}", path, fmt], cwd=sdk,
                               capture_output=True, text=True, timeout=60)
            eq(up.count(), 1, f"one Converse request ({p.stderr[-400:]!r})")
            body = up.requests[0]["body"]
        check(f'"format":"{fmt}"'.encode() in body, f"a {fmt} document block ({body[:200]!r})")
        return body

    def converse():
        # case 5: Bedrock Converse with the xlsx as a document block: the
        # body gives what the file gave
        body = converse_body(books["xlsx"]["pii"], "xlsx")
        code, fs = scan("--content-type", "application/json", "-", input=body)
        eq((code, count(fs)), (1, want), f"the xlsx in Converse ({brief(fs)})")
        eq({f["decoders"] for f in fs}, {"json"}, "found under json")
    r.run("Bedrock Converse with an xlsx document (AWS SDK for JavaScript)", converse)

    def converse_csv():
        # case 6: Converse with a `csv` document: its base64 decodes to a
        # table, read as CSV (every row under its column's name); the
        # control table stays clean
        for name, text, expect in (("people.csv", csv_pii, want), ("orders.csv", csv_clean, {})):
            body = converse_body(t.write(f"conv/{name}", text), "csv")
            code, fs = scan("--content-type", "application/json", "-", input=body)
            eq(count(fs), expect, f"{name} in Converse ({brief(fs)})")
    r.run("Bedrock Converse with a csv document: read as a table", converse_csv)

    def untyped():
        # case 7: a CSV without its type: S3 PutObject by the AWS CLI with
        # no --content-type (the SDKs send none or binary/octet-stream), and
        # the file on stdin: sniffed as a table
        path = t.write("export/people-data", csv_pii)
        ct, body = aws_cli_request(t, "s3api", "put-object", "--bucket", "lake", "--key", "export/people-data",
                                   "--body", path)
        code, fs = scan(*(["--content-type", ct] if ct else []), "-", input=body)
        eq((code, count(fs)), (1, want), f"PutObject with content type {ct!r} ({brief(fs)})")
        code, fs = scan("-", input=csv_clean.encode())
        eq((code, count(fs)), (0, {}), "the control table on stdin")
    r.run("a CSV without its type (S3 PutObject by the AWS CLI, stdin): sniffed as a table", untyped)
    t.cleanup()
    r.done()


if __name__ == "__main__":
    sys.exit(main())
