#!/usr/bin/env python3
"""Word and Excel 97-2003 files (.doc, .xls: OLE2 compound files) from real
writers, made at test time: LibreOffice (headless) converts flat ODF
documents that the test writes (body text, a table, a footnote, a comment,
a header and footer, an image; two sheets with a comment and a formula);
xlwt (Python) and SheetJS (npm `xlsx`) write workbooks. `sovgw scan` reads
them by path, sniffed without a name, cut, and inside a Bedrock Converse
request that the AWS SDK for JavaScript sends to a local endpoint on
127.0.0.1 (the document's bytes in base64 in JSON).

Before the OLE decoder every such file was one UNINSPECTABLE finding
("content-type application/msword not inspectable", "OLE document") and
nothing else: each case below fails on that behaviour.

Needs LibreOffice (libreoffice-writer-nogui, libreoffice-calc-nogui),
python3-xlwt and node/npm (scripts/deps.sh test)."""

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import Runner, TempDir, Upstream, check, eq, need_modules, npm_project, scan_jsonl  # noqa: E402

need_modules("xlwt")  # (Debian's python3-xlwt)
import xlwt  # noqa: E402

ROWS = 300  # paragraphs (Word) and rows (Excel), each with an address of its own domain
SSN = "536-22-1847"
CARD = "5500 0055 5555 5559"
IBAN = "GB82 WEST 1234 5698 7654 32"
BLANKET = ("content-type application/msword not inspectable", "content-type application/vnd.ms-excel not inspectable",
           "OLE document", "base64 OLE document")


def scan(*args, input=None):
    return scan_jsonl(*args, input=input, timeout=60)


def brief(fs):
    return [(f["type"], f["decoders"], f.get("reason") or f.get("excerpt")) for f in fs][:12]


def domains(fs):
    return sorted({f["excerpt"].split("@", 1)[1] for f in fs if f["type"] == "EMAIL"})


def kinds(fs, t):
    return sorted(f["excerpt"] for f in fs if f["type"] == t)


def no_blanket(fs, what):
    bad = [f for f in fs if f["type"] == "UNINSPECTABLE" and f.get("reason") in BLANKET]
    eq(bad, [], f"{what}: not refused whole")


# --------------------------------------------------------------------------
# writers

NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
      'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
      'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
      'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
      'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
      'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
      'xmlns:dc="http://purl.org/dc/elements/1.1/" '
      'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.2"')

# a 1×1 PNG, red
PNG_B64 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")


def fodt(pii=True, image=False):
    """A flat ODF text document: ROWS paragraphs, and with pii a table (SSN),
    a footnote (a card), a comment (an IBAN), a header (an address) and a
    footer; with image a picture among them."""
    body = "".join(f"<text:p>Paragraph {i}: customer{i}@branch{i}.corp-mail.de ordered item {i * 7}.</text:p>"
                   if pii else f"<text:p>Paragraph {i}: the order of item {i * 7} was shipped on time.</text:p>"
                   for i in range(ROWS))
    extra = ""
    header = "<style:header><text:p>Quarterly review</text:p></style:header>"
    if pii:
        header = ("<style:header><text:p>Contact hr@corp-header.de</text:p></style:header>"
                  "<style:footer><text:p>Footer note: internal</text:p></style:footer>")
        extra = ("<text:p>Intro<text:note text:note-class=\"footnote\"><text:note-citation>1</text:note-citation>"
                 f"<text:note-body><text:p>Footnote: card {CARD}</text:p></text:note-body></text:note> here.</text:p>"
                 "<text:p>Commented<office:annotation><dc:creator>Rev</dc:creator>"
                 f"<text:p>Comment: IBAN {IBAN}</text:p></office:annotation> text.</text:p>"
                 "<table:table table:name=\"T\"><table:table-column table:number-columns-repeated=\"2\"/>"
                 "<table:table-row><table:table-cell><text:p>SSN</text:p></table:table-cell>"
                 f"<table:table-cell><text:p>{SSN}</text:p></table:table-cell></table:table-row></table:table>"
                 "<text:p>Unicode: Grüße, Łódź, Ελλάδα, 日本語 — “quotes”.</text:p>")
    if image:
        extra += ("<text:p><draw:frame svg:width=\"1cm\" svg:height=\"1cm\"><draw:image><office:binary-data>"
                  f"{PNG_B64}</office:binary-data></draw:image></draw:frame></text:p>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><office:document {NS} '
            'office:mimetype="application/vnd.oasis.opendocument.text">'
            '<office:meta><dc:title>Audit</dc:title></office:meta>'
            f'<office:master-styles><style:master-page style:name="Standard">{header}</style:master-page>'
            f'</office:master-styles><office:body><office:text>{extra}{body}</office:text></office:body>'
            '</office:document>')


def fods(pii=True):
    """A flat ODF spreadsheet: a sheet of ROWS addresses and numbers, and with
    pii a second sheet with an SSN, a card as a number, a comment (a card)."""
    def cell(v):
        if isinstance(v, str):
            return f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'
        return f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>'
    rows = "".join("<table:table-row>" + cell(f"user{i}@branch{i}.corp-mail.de" if pii else f"order {i}")
                   + cell(1000 + i) + "</table:table-row>" for i in range(ROWS))
    second = ""
    if pii:
        second = ('<table:table table:name="Secrets"><table:table-row>' + cell("SSN")
                  + f'<table:table-cell office:value-type="string"><text:p>{SSN}</text:p><office:annotation>'
                  f'<dc:creator>A</dc:creator><text:p>Comment: card {CARD}</text:p></office:annotation>'
                  '</table:table-cell></table:table-row><table:table-row>' + cell("card") + cell(4111111111111111)
                  + '</table:table-row></table:table>')
    return (f'<?xml version="1.0" encoding="UTF-8"?><office:document {NS} '
            'office:mimetype="application/vnd.oasis.opendocument.spreadsheet"><office:body><office:spreadsheet>'
            f'<table:table table:name="Customers">{rows}</table:table>{second}'
            '</office:spreadsheet></office:body></office:document>')


def soffice(t, fmt, sources):
    """LibreOffice converts the flat ODF files {name: xml} to fmt (doc, xls)
    in one run; returns {name: bytes}."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    paths = [t.write(f"src/{name}.{'fodt' if fmt == 'doc' else 'fods'}", xml) for name, xml in sources.items()]
    p = subprocess.run([exe, f"-env:UserInstallation=file://{t.join('lo-profile')}", "--headless",
                        "--convert-to", fmt, "--outdir", t.join("out"), *paths],
                       capture_output=True, text=True, timeout=180)
    out = {}
    for name in sources:
        path = t.join("out", f"{name}.{fmt}")
        check(os.path.exists(path), f"LibreOffice wrote {name}.{fmt} (exit {p.returncode}, {p.stderr[-500:]!r})")
        with open(path, "rb") as f:
            out[name] = f.read()
        check(out[name][:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", f"{name}.{fmt} is a compound file")
    return out


def main():
    r = Runner("scan_office")
    if not (shutil.which("soffice") or shutil.which("libreoffice")):
        print("not ok - LibreOffice missing (scripts/deps.sh test installs libreoffice-writer-nogui)")
        return 1
    t = TempDir()
    docs = soffice(t, "doc", {"pii": fodt(), "image": fodt(image=True), "clean": fodt(pii=False)})
    books = soffice(t, "xls", {"pii": fods(), "clean": fods(pii=False)})
    want_domains = sorted(f"branch{i}.corp-mail.de" for i in range(ROWS))

    def word():
        # case 1: every address in the body, and the SSN in the table, the
        # card in the footnote, the IBAN in the comment, the header's address
        code, fs = scan(t.write("report.doc", docs["pii"]))
        no_blanket(fs, "report.doc")
        eq((code, sorted({(f["type"], f["decoders"]) for f in fs})),
           (1, [("CREDIT_DEBIT_CARD_NUMBER", "ole"), ("EMAIL", "ole"), ("INTERNATIONAL_BANK_ACCOUNT_NUMBER", "ole"),
                ("US_SOCIAL_SECURITY_NUMBER", "ole")]), f"report.doc: what it holds, nothing uninspectable "
                                                        f"({brief(fs)})")
        eq(domains(fs), sorted(want_domains + ["corp-header.de"]), "report.doc: every address (body and header)")
        eq((kinds(fs, "US_SOCIAL_SECURITY_NUMBER"), kinds(fs, "CREDIT_DEBIT_CARD_NUMBER"),
            len(kinds(fs, "INTERNATIONAL_BANK_ACCOUNT_NUMBER"))), (["53*******47"], ["5500***********5559"], 1),
           "report.doc: the table's SSN, the footnote's card, the comment's IBAN")
    r.run("a Word document by LibreOffice: body, table, footnote, comment, header", word)

    def word_image():
        # case 2: the same with a picture: its text read, the image reported
        # once (a fail-closed policy can deny it)
        code, fs = scan(t.write("with-image.doc", docs["image"]))
        bad = [f.get("reason") for f in fs if f["type"] == "UNINSPECTABLE"]
        eq((code, bad), (1, ["image in an Office document"]), f"with-image.doc: the image reported ({brief(fs)})")
        eq(domains(fs), sorted(want_domains + ["corp-header.de"]), "with-image.doc: the text read anyway")
    r.run("a Word document with an image: the image reported, the text read", word_image)

    def excel():
        # case 3: both sheets: every address, the SSN, the card written as a
        # number (read as its digits) and the one in the cell's comment
        code, fs = scan(t.write("book.xls", books["pii"]))
        no_blanket(fs, "book.xls")
        eq((code, sorted({(f["type"], f["decoders"]) for f in fs})),
           (1, [("CREDIT_DEBIT_CARD_NUMBER", "ole"), ("EMAIL", "ole"), ("US_SOCIAL_SECURITY_NUMBER", "ole")]),
           f"book.xls: what it holds ({brief(fs)})")
        eq(domains(fs), want_domains, "book.xls: every address")
        eq((kinds(fs, "US_SOCIAL_SECURITY_NUMBER"), kinds(fs, "CREDIT_DEBIT_CARD_NUMBER")),
           (["53*******47"], ["4111********1111", "5500***********5559"]),
           "book.xls: the SSN, the number cell's card, the comment's card")
    r.run("an Excel workbook by LibreOffice: two sheets, a number, a comment", excel)

    def clean():
        # case 4: documents without personal data give nothing at all, and
        # nothing uninspectable: a fail-closed policy must not deny every
        # .doc and .xls (styles, fonts, property sets, margins are no data)
        for name, data in (("clean.doc", docs["clean"]), ("clean.xls", books["clean"])):
            code, fs = scan(t.write(name, data))
            eq((code, brief(fs)), (0, []), f"{name}: clean")
    r.run("clean documents by LibreOffice give nothing", clean)

    def xlwt_book():
        # case 5: xlwt's BIFF8 (shared strings, numbers), clean and not
        for pii in (True, False):
            wb = xlwt.Workbook()
            ws = wb.add_sheet("People")
            rows = [["name", "ssn", "card", "email"]] + [
                [f"Person {i}", SSN if pii and i == 3 else f"id-{i}", 4111111111111111 if pii and i == 5 else i,
                 f"p{i}@xl{i}.corp-mail.de" if pii else f"team {i}"] for i in range(50)]
            for y, row in enumerate(rows):
                for x, v in enumerate(row):
                    ws.write(y, x, v)
            # a shared string longer than a record (8,224 bytes): it goes on
            # in CONTINUE records, and past the decoder's 4 KiB buffer
            ws.write(len(rows), 0, "lorem ipsum " * 900 + ("tail@long-string.de" if pii else "end"))
            path = t.join(f"xlwt-{pii}.xls")
            wb.save(path)
            code, fs = scan(path)
            if not pii:
                eq((code, brief(fs)), (0, []), "xlwt, clean")
                continue
            eq(sorted({f["type"] for f in fs}), ["CREDIT_DEBIT_CARD_NUMBER", "EMAIL", "US_SOCIAL_SECURITY_NUMBER"],
               f"xlwt: what it holds ({brief(fs)})")
            eq(domains(fs), sorted([f"xl{i}.corp-mail.de" for i in range(50)] + ["long-string.de"]),
               "xlwt: every address, the one after 10,800 characters of a string too")
    r.run("workbooks by xlwt", xlwt_book)

    sdk = npm_project("aws_sdk_js", "xlsx")
    if sdk is None:
        print("not ok - could not install the AWS SDK and SheetJS from npm")
        return 1

    def sheetjs():
        # case 6: SheetJS's BIFF8 (its own compound file writer)
        rows = [["name", "ssn", "email"]] + [[f"P{i}", SSN if i == 2 else f"x{i}", f"s{i}@js{i}.corp-mail.de"]
                                              for i in range(40)]
        path = t.join("sheetjs.xls")
        p = subprocess.run(["node", "make_sheet.mjs", path, json.dumps(rows), "People"], cwd=sdk,
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0 and os.path.exists(path), f"SheetJS wrote the workbook ({p.stderr[-400:]!r})")
        code, fs = scan(path)
        eq(sorted({f["type"] for f in fs}), ["EMAIL", "US_SOCIAL_SECURITY_NUMBER"], f"SheetJS: ({brief(fs)})")
        eq(domains(fs), sorted(f"js{i}.corp-mail.de" for i in range(40)), "SheetJS: every address")
    r.run("a workbook by SheetJS", sheetjs)

    def converse():
        # case 7: Bedrock Converse with the document in a `document` block
        # (format doc, xls): the AWS SDK sends its bytes in base64 in JSON;
        # the body gives what the file gave, found under json
        for name, data, fmt in (("report.doc", docs["pii"], "doc"), ("book.xls", books["pii"], "xls")):
            path = t.write(f"conv/{name}", data)
            with Upstream(keep_bodies=True) as up:
                p = subprocess.run(["node", "converse_doc.mjs", f"http://127.0.0.1:{up.port}", path, fmt], cwd=sdk,
                                   capture_output=True, text=True, timeout=60)
                eq(up.count(), 1, f"one Converse request ({p.stderr[-400:]!r})")
                req = up.requests[0]
            h = {k.lower(): v for k, v in req["headers"].items()}
            eq((req["method"], h.get("content-type")), ("POST", "application/json"), f"{name}: the Converse request")
            check(b'"document"' in req["body"] and f'"format":"{fmt}"'.encode() in req["body"],
                  f"{name}: a document block ({req['body'][:200]!r})")
            code, fs = scan("--content-type", "application/json", "-", input=req["body"])
            _, direct = scan(path)
            no_blanket(fs, f"{name} in Converse")
            eq((code, sorted({f["decoders"] for f in fs})), (1, ["json"]), f"{name} in Converse ({brief(fs)})")
            eq(sorted((f["type"], f["excerpt"]) for f in fs), sorted((f["type"], f["excerpt"]) for f in direct),
               f"{name} in Converse: the findings of the file")
    r.run("Bedrock Converse with a .doc and an .xls document (AWS SDK for JavaScript)", converse)

    def sniffed_and_cut():
        # case 8: without a name the compound file is sniffed by its
        # signature; cut, it is uninspectable, said why (its tables reach
        # past the end); a directory gives each file's findings
        data = docs["pii"]
        code, fs = scan("-", input=data)
        eq((code, domains(fs)), (1, sorted(want_domains + ["corp-header.de"])), "stdin, sniffed")
        eq({f["decoders"] for f in fs}, {"ole"}, "stdin: read by the OLE decoder")
        for n in (len(data) // 2, 600, len(data) - 512):
            code, fs = scan("--content-type", "application/msword", "-", input=data[:n])
            bad = [f.get("reason", "") for f in fs if f["type"] == "UNINSPECTABLE"]
            check(code == 1 and len(bad) >= 1 and all("OLE document" in b for b in bad),
                  f"cut after {n} of {len(data)} bytes: uninspectable, said why ({brief(fs)})")
        d = t.join("dir")
        os.makedirs(d)
        # (a name is no proof: an `.xls` a web application exports is often
        # HTML, a `.msg` may be a Tcl message catalog, a `.doc` plain text;
        # they are read as what they are, not refused as broken Office files)
        for name, blob in (("a.doc", docs["pii"]), ("b.xls", books["pii"]), ("noname", books["pii"]),
                           ("c.doc", docs["clean"]), ("export.xls", b"<html><body><table><tr><td>web@export.de"
                                                                    b"</td></tr></table></body></html>"),
                           ("de.msg", "::msgcat::mcset de Hello Hallo\n"), ("notes.doc", b"Call hr@notes.de\n")):
            with open(os.path.join(d, name), "wb") as f:
                f.write(blob if isinstance(blob, bytes) else blob.encode())
        code, fs = scan(d)
        per = {}
        for f in fs:
            per.setdefault(os.path.basename(f["path"]), set()).add(f["type"])
        eq(per, {"a.doc": {"CREDIT_DEBIT_CARD_NUMBER", "EMAIL", "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
                           "US_SOCIAL_SECURITY_NUMBER"},
                 "b.xls": {"CREDIT_DEBIT_CARD_NUMBER", "EMAIL", "US_SOCIAL_SECURITY_NUMBER"},
                 "noname": {"CREDIT_DEBIT_CARD_NUMBER", "EMAIL", "US_SOCIAL_SECURITY_NUMBER"},
                 "export.xls": {"EMAIL"}, "notes.doc": {"EMAIL"}},
           "a directory: each file's findings, none for the clean one and the message catalog")
    r.run("sniffed from stdin, cut files, a directory", sniffed_and_cut)
    t.cleanup()
    r.done()


if __name__ == "__main__":
    sys.exit(main())
