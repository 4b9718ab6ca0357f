#!/usr/bin/env python3
"""`sovgw scan` on PDFs written by real PDF writers (ReportLab, cairo), made
at test time: page text in the standard fonts, compressed or not; a TrueType
subset with its own encoding and ToUnicode map; cairo's order (the page
before its fonts) and its CID fonts; the document information dictionary;
an image, an encrypted and a truncated file (uninspectable, said why); a PDF
in base64 in a Bedrock Converse request; stdin cut at arbitrary points.

Before the PDF decoder every PDF was one UNINSPECTABLE finding ("content-type
application/pdf not inspectable", "base64 PDF document") and nothing else:
each case below fails on that behaviour.

Needs Debian's python3-reportlab, python3-cairo and fonts-dejavu-core
(scripts/deps.sh test); the script re-executes itself with /usr/bin/python3
when the python3 that runs it lacks the first two. pdftotext (poppler-utils),
when present, double-checks that each generated PDF holds the text the case
means it to (an oracle for the generator, not for sovgw)."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import SOVGW, Runner, TempDir, check, eq, need_modules, sanitizer_report  # noqa: E402


need_modules("cairo", "reportlab")  # (Debian's python3-cairo, python3-reportlab)
import cairo  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import getSampleStyleSheet  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer  # noqa: E402

DEJAVU = "/usr/share/fonts/truetype/dejavu"
SANS_TTF = os.path.join(DEJAVU, "DejaVuSans.ttf")
SERIF_TTF = os.path.join(DEJAVU, "DejaVuSerif.ttf")

EMAIL = "jane.doe@example-corp.de"
EMAIL2 = "juergen.weiss@kanzlei-weiss.de"
SSN = "536-22-1847"
CARD = "4111 1111 1111 1111"
IBAN = "DE89 3704 0044 0532 0130 00"

# what every PDF was before the decoder: one refusal of the whole document
BLANKET = ("content-type application/pdf not inspectable", "PDF document", "base64 PDF document")


# --------------------------------------------------------------------------
# sovgw scan

def scan(*args, input=None):
    p = subprocess.run([SOVGW, "scan", *args], input=input, capture_output=True, timeout=60)
    rep = sanitizer_report(p.stderr.decode("utf-8", "replace"))
    check(not rep, f"sanitizer report in sovgw scan stderr:\n{rep}")
    check(p.returncode in (0, 1), f"sovgw scan {' '.join(args)}: exit {p.returncode}, "
                                  f"stderr {p.stderr.decode('utf-8', 'replace')[-2000:]!r}")
    return p


def jsonl(out):
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def scan_pdf(path, *extra, input=None):
    """Scans a file (or stdin with extra args); returns (exit code, findings)."""
    p = scan("--format", "jsonl", *extra, path, input=input)
    return p.returncode, jsonl(p.stdout)


def brief(fs):
    """The findings as (type, decoders, reason or excerpt), for messages."""
    return [(f.get("type"), f.get("decoders"), f.get("reason") or f.get("excerpt")) for f in fs]


def layers(f):
    return f.get("decoders", "").split(">")


def expect_found(rc, fs, want, what, allowed=(), in_path="pdf"):
    """Exit 1; the types found are exactly want (plus any of allowed), none
    UNINSPECTABLE; every finding went through the PDF decoder (named in its
    path unless in_path is None)."""
    eq(rc, 1, f"{what}: exit code (findings {brief(fs)})")
    got = {f["type"] for f in fs}
    check(set(want) <= got and got <= set(want) | set(allowed),
          f"{what}: types {sorted(got)}, want {sorted(want)}; findings {brief(fs)}")
    for f in fs:
        if in_path:
            check(in_path in layers(f), f"{what}: decoder path without {in_path}: {f}")
        for k in ("path", "type", "category", "start", "end", "decoders", "confidence", "excerpt"):
            check(k in f, f"{what}: field {k} missing in {f}")


def uninspectable(fs):
    return [f for f in fs if f["type"] == "UNINSPECTABLE"]


def why(f):
    return (f.get("reason") or "") + " " + (f.get("excerpt") or "")


def never_in_clear(p, values, what):
    out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    for v in values:
        check(v not in out and v.replace(" ", "") not in out, f"{what}: {v!r} in clear in the output")


# --------------------------------------------------------------------------
# generators: every PDF is written here, by ReportLab or cairo

def pdftext(path, password=None):
    """pdftotext's text of path, or None when poppler-utils is not there."""
    if not shutil.which("pdftotext"):
        return None
    args = ["pdftotext", "-q", "-enc", "UTF-8"] + (["-upw", password] if password else []) + [path, "-"]
    r = subprocess.run(args, capture_output=True, timeout=30)
    return r.stdout.decode("utf-8", "replace") if r.returncode == 0 else ""


def oracle(path, *texts, password=None):
    """The generator's own check: the PDF holds these texts (by pdftotext)."""
    got = pdftext(path, password)
    if got is None:
        return
    flat = " ".join(got.split())
    for t in texts:
        check(" ".join(t.split()) in flat, f"generator: {os.path.basename(path)} lacks {t!r} "
                                           f"(pdftotext: {flat[:300]!r})")


def read(path):
    with open(path, "rb") as f:
        return f.read()


INTAKE = ["Patient intake form", "Name: Jane Doe", f"E-mail: {EMAIL}", f"SSN: {SSN}"]


def rl_intake(path, compress):
    """ReportLab, Helvetica (a standard font, WinAnsiEncoding, nothing
    embedded); compressed, its content stream is ASCII85 over Flate."""
    c = canvas.Canvas(path, pagesize=A4, pageCompression=compress, invariant=1)
    c.setTitle("Intake")
    c.setFont("Helvetica", 12)
    y = 760
    for line in INTAKE:
        c.drawString(72, y, line)
        y -= 18
    c.showPage()
    c.save()
    data = read(path)
    if compress:
        check(b"/ASCII85Decode /FlateDecode" in data and EMAIL.encode() not in data,
              "generator: compressed ReportLab content stream")
    else:
        check(EMAIL.encode() in data, "generator: uncompressed ReportLab content stream")
    oracle(path, *INTAKE)
    return data


TTF_LINES = ["Grüße aus München!", "Frau Claire Weber, née le 12/03/1980 à Lyon.",
             f"Zahlung per card {CARD}, bitte."]


def rl_ttf(path):
    """ReportLab with DejaVu Sans embedded: a TrueType subset whose codes
    ReportLab assigns itself (ü, ß, é, à get 0x80, 0x81, ...), with a
    ToUnicode CMap to read them back."""
    pdfmetrics.registerFont(TTFont("DejaVuSans", SANS_TTF))
    c = canvas.Canvas(path, pagesize=A4, invariant=1)
    c.setFont("DejaVuSans", 12)
    y = 760
    for line in TTF_LINES:
        c.drawString(72, y, line)
        y -= 18
    c.showPage()
    c.save()
    data = read(path)
    check(b"/FontFile2" in data and b"/ToUnicode" in data and b"DejaVuSans" in data,
          "generator: DejaVu Sans subset with a ToUnicode map")
    oracle(path, *TTF_LINES)
    return data


CAIRO_LINES = [("DejaVu Sans", f"Kontakt: {EMAIL}"),
               ("DejaVu Serif", f"Bankverbindung: IBAN {IBAN}"),
               # Cyrillic is outside WinAnsi: cairo puts it in a CID font
               # (Identity-H, two-byte glyph ids) beside the Latin subset
               ("DejaVu Serif", "Иван Петров, роден на 12.03.1980 в София")]


def cairo_two_fonts(path):
    """pycairo's PDFSurface: the page's content stream is written before the
    fonts it uses (they are subset when the surface finishes)."""
    s = cairo.PDFSurface(path, 595, 842)
    ctx = cairo.Context(s)
    y = 72
    for face, text in CAIRO_LINES:
        ctx.select_font_face(face)
        ctx.set_font_size(12)
        ctx.move_to(72, y)
        ctx.show_text(text)
        y += 24
    ctx.show_page()
    s.finish()
    data = read(path)
    check(b"DejaVuSans" in data and b"DejaVuSerif" in data,
          "generator: cairo used DejaVu Sans and DejaVu Serif (fonts-dejavu-core)")
    check(b"/Identity-H" in data, "generator: cairo wrote a CID font for the Cyrillic")
    content = None
    for m in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", m.end())
        try:
            body = zlib.decompress(data[m.end():end])
        except zlib.error:
            continue
        if b"Tj" in body or b"TJ" in body:
            content = m.start()
            break
    check(content is not None and content < data.find(b"/FontFile2"),
          "generator: cairo wrote the page content before the fonts")
    oracle(path, *(t for _, t in CAIRO_LINES))
    return data


META_TEXT = "The tenant agrees to the terms set out below."


def rl_metadata(path):
    """Document information in PDFDocEncoding literals (ReportLab): the page
    says nothing, the author and the subject hold addresses."""
    c = canvas.Canvas(path, pagesize=A4, invariant=1)
    c.setTitle("Mietvertrag")
    c.setAuthor(f"Jane Doe <{EMAIL}>")
    c.setSubject(f"Rückfragen bitte an {EMAIL2}")
    c.setFont("Helvetica", 12)
    c.drawString(72, 760, META_TEXT)
    c.showPage()
    c.save()
    data = read(path)
    check(b"/Author (Jane Doe" in data and b"R\\374ckfragen" in data, "generator: ReportLab info literals")
    oracle(path, META_TEXT)
    return data


def cairo_metadata(path):
    """The same from cairo: a non-ASCII author goes in UTF-16BE, in hex."""
    s = cairo.PDFSurface(path, 595, 842)
    s.set_metadata(cairo.PDFMetadata.TITLE, "Mietvertrag")
    s.set_metadata(cairo.PDFMetadata.AUTHOR, f"Jürgen Weiß <{EMAIL2}>")
    ctx = cairo.Context(s)
    ctx.select_font_face("DejaVu Sans")
    ctx.set_font_size(12)
    ctx.move_to(72, 72)
    ctx.show_text(META_TEXT)
    ctx.show_page()
    s.finish()
    data = read(path)
    check(b"/Author <FEFF" in data, "generator: cairo author in UTF-16BE hex")
    oracle(path, META_TEXT)
    return data


PROSE = [
    "Quarterly planning notes",
    "The team met on the third floor to talk about the move to the new office. Everyone agreed "
    "that the kitchen should stay where it is and that the meeting rooms need better lighting.",
    "We discussed the garden on the roof. The plants did well over the summer, and the volunteers "
    "would like some help with watering while they are away on holiday.",
    "Finally, the group reviewed the reading list for the autumn. Suggestions included a history of "
    "cartography, a novel about lighthouse keepers and a short guide to bread baking.",
    "Next steps: collect feedback from the wider group, draft a floor plan and share it before the "
    "end of the month. Thanks to everyone who joined.",
]


def rl_clean(path):
    """ReportLab's platypus: paragraphs of plain prose over two pages."""
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(path, pagesize=A4, title="Planning notes", author="Operations team",
                            subject="Office move", invariant=1)
    story = [Paragraph(PROSE[0], styles["Title"])]
    for _ in range(4):
        for para in PROSE[1:]:
            story += [Paragraph(para, styles["BodyText"]), Spacer(1, 12)]
    doc.build(story)
    data = read(path)
    check(re.search(rb"/Count [2-9]", data), "generator: two pages of prose or more")
    oracle(path, PROSE[0], PROSE[1])
    return data


IMAGE_TEXT = f"Signed form attached below. Questions to {EMAIL}"


def cairo_image(path):
    """cairo: a raster image painted on the page (an image XObject), and a
    line of text beside it."""
    img = cairo.ImageSurface(cairo.FORMAT_RGB24, 120, 80)
    ic = cairo.Context(img)
    grad = cairo.LinearGradient(0, 0, 120, 80)
    grad.add_color_stop_rgb(0, 0.9, 0.2, 0.1)
    grad.add_color_stop_rgb(1, 0.1, 0.3, 0.9)
    ic.set_source(grad)
    ic.paint()
    ic.set_source_rgb(1, 1, 1)
    ic.arc(60, 40, 25, 0, 6.283)
    ic.fill()
    img.flush()
    s = cairo.PDFSurface(path, 595, 842)
    ctx = cairo.Context(s)
    ctx.select_font_face("DejaVu Sans")
    ctx.set_font_size(12)
    ctx.move_to(72, 72)
    ctx.show_text(IMAGE_TEXT)
    ctx.set_source_surface(img, 72, 120)
    ctx.rectangle(72, 120, 120, 80)
    ctx.fill()
    ctx.show_page()
    s.finish()
    data = read(path)
    check(b"/Subtype /Image" in data, "generator: cairo wrote an image XObject")
    oracle(path, IMAGE_TEXT)
    return data


def rl_encrypted(path):
    """ReportLab's standard security handler, user password "secret"."""
    c = canvas.Canvas(path, pagesize=A4, encrypt="secret", invariant=1)
    c.setFont("Helvetica", 12)
    y = 760
    for line in INTAKE:
        c.drawString(72, y, line)
        y -= 18
    c.showPage()
    c.save()
    data = read(path)
    check(b"/Encrypt" in data and b"/Filter /Standard" in data, "generator: encrypted ReportLab PDF")
    oracle(path, *INTAKE, password="secret")
    return data


def cut_in_content(data):
    """The bytes of a ReportLab PDF up to the middle of its (compressed)
    page content stream."""
    at = data.find(b"/Filter [ /ASCII85Decode /FlateDecode ]")
    check(at > 0, "generator: compressed content stream to cut")
    start = data.index(b"stream", at) + len(b"stream")
    start += 2 if data[start:start + 2] == b"\r\n" else 1
    end = data.index(b"endstream", start)
    return data[:start + (end - start) // 2]


def feed_in_pieces(args, data):
    """Runs sovgw scan ARGS with data written to its stdin in pieces of
    varied sizes, a pause after each, so that its reads end at many points
    (in the content stream, the fonts, the cross-reference table)."""
    p = subprocess.Popen([SOVGW, "scan", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    sizes = [1, 2, 3, 7, 13, 64, 255, 1, 5, 100, 31, 2, 509]
    i = k = 0
    try:
        while i < len(data):
            n = sizes[k % len(sizes)]
            k += 1
            p.stdin.write(data[i:i + n])
            p.stdin.flush()
            i += n
            time.sleep(0.001)
    except BrokenPipeError:
        pass
    out, err = p.communicate(timeout=60)
    rep = sanitizer_report(err.decode("utf-8", "replace"))
    check(not rep, f"sanitizer report in sovgw scan stderr:\n{rep}")
    check(p.returncode in (0, 1), f"stdin in pieces: exit {p.returncode}, stderr {err[-2000:]!r}")
    return p.returncode, jsonl(out), k


def same(fs):
    """Findings without their path, in order: what must not depend on how
    the bytes arrived."""
    return sorted(tuple(sorted((k, json.dumps(v)) for k, v in f.items() if k != "path")) for f in fs)


# --------------------------------------------------------------------------

def main():
    r = Runner("scan_pdf")
    with TempDir() as tmp:
        pdfs = {}

        def rl_standard_font(compress):
            name = f"intake-c{compress}.pdf"
            pdfs[name] = rl_intake(tmp.join(name), compress)
            p = scan("--format", "jsonl", tmp.join(name))
            fs = jsonl(p.stdout)
            expect_found(p.returncode, fs, ["EMAIL", "US_SOCIAL_SECURITY_NUMBER"], name)
            never_in_clear(p, [EMAIL, SSN], name)
        r.run("1a. ReportLab, Helvetica, pageCompression=0: EMAIL and SSN through pdf",
              rl_standard_font, 0)
        r.run("1b. ReportLab, Helvetica, pageCompression=1 (ASCII85 + Flate): EMAIL and SSN through pdf",
              rl_standard_font, 1)

        def truetype_subset():
            rl_ttf(tmp.join("ttf.pdf"))
            rc, fs = scan_pdf(tmp.join("ttf.pdf"))
            # the card's digits keep their ASCII codes in ReportLab's
            # subset; "née le" (the birth date's context word) is read
            # only through the ToUnicode map: é is code 0x82 there
            expect_found(rc, fs, ["CREDIT_DEBIT_CARD_NUMBER", "DATE_OF_BIRTH"], "ttf.pdf")
        r.run("2. ReportLab, DejaVu Sans subset (own encoding + ToUnicode), non-ASCII text: card and birth date",
              truetype_subset)

        cairo_fs = {}

        def cairo_fonts():
            pdfs["cairo.pdf"] = cairo_two_fonts(tmp.join("cairo.pdf"))
            rc, fs = scan_pdf(tmp.join("cairo.pdf"))
            cairo_fs["file"] = (rc, fs)
            expect_found(rc, fs, ["EMAIL", "INTERNATIONAL_BANK_ACCOUNT_NUMBER"], "cairo.pdf",
                         allowed=["DATE_OF_BIRTH"])
        r.run("3. cairo, content before fonts, DejaVu Sans + Serif: EMAIL and IBAN", cairo_fonts)

        def cairo_cid():
            if "file" not in cairo_fs:
                pdfs["cairo.pdf"] = cairo_two_fonts(tmp.join("cairo.pdf"))
                cairo_fs["file"] = scan_pdf(tmp.join("cairo.pdf"))
            rc, fs = cairo_fs["file"]
            # "роден" is in the Identity-H font (glyph ids), the date in the
            # Latin subset beside it: both fonts in one line, in order
            check("DATE_OF_BIRTH" in {f["type"] for f in fs},
                  f"cairo.pdf: DATE_OF_BIRTH (Cyrillic context word in a CID font) not found: {brief(fs)}")
            expect_found(rc, fs, ["DATE_OF_BIRTH"], "cairo.pdf",
                         allowed=["EMAIL", "INTERNATIONAL_BANK_ACCOUNT_NUMBER"])
        r.run("3b. cairo CID font (Identity-H, ToUnicode): Cyrillic context word gives DATE_OF_BIRTH",
              cairo_cid)

        def metadata():
            for name, gen in [("meta-reportlab.pdf", rl_metadata), ("meta-cairo.pdf", cairo_metadata)]:
                gen(tmp.join(name))
                rc, fs = scan_pdf(tmp.join(name))
                expect_found(rc, fs, ["EMAIL"], name)
                domains = sorted(f["excerpt"].split("@")[-1] for f in fs)
                want = ["example-corp.de", "kanzlei-weiss.de"] if "reportlab" in name else ["kanzlei-weiss.de"]
                eq(domains, want, f"{name}: addresses found in the document information")
        r.run("4. document information (ReportLab literals, cairo UTF-16BE hex): EMAIL, page clean",
              metadata)

        def clean():
            rl_clean(tmp.join("clean.pdf"))
            p = scan("--format", "jsonl", tmp.join("clean.pdf"))
            eq((p.returncode, brief(jsonl(p.stdout))), (0, []), "clean.pdf: exit code and findings")
            eq(p.stdout, b"", "clean.pdf: no output")
        r.run("5. clean prose (ReportLab platypus, two pages): exit 0, no finding at all", clean)

        def image():
            cairo_image(tmp.join("image.pdf"))
            rc, fs = scan_pdf(tmp.join("image.pdf"))
            eq(rc, 1, f"image.pdf: exit code ({brief(fs)})")
            un = uninspectable(fs)
            check(un and all("image" in why(f).lower() for f in un),
                  f"image.pdf: want an UNINSPECTABLE finding about the image: {brief(fs)}")
            found = [f for f in fs if f["type"] != "UNINSPECTABLE"]
            eq(sorted({f["type"] for f in found}), ["EMAIL"], f"image.pdf: types beside the image ({brief(fs)})")
            check(all("pdf" in layers(f) for f in found), f"image.pdf: decoder path without pdf: {fs}")
        r.run("6. cairo, an image on the page: UNINSPECTABLE about the image, EMAIL still found", image)

        def bedrock():
            data = pdfs.get("intake-c1.pdf") or rl_intake(tmp.join("intake-c1.pdf"), 1)
            body = json.dumps({"modelId": "anthropic.claude-3-haiku", "messages": [{"role": "user", "content": [
                {"text": "Summarise"},
                {"document": {"format": "pdf", "name": "report",
                              "source": {"bytes": base64.b64encode(data).decode()}}}]}]})
            rc, fs = scan_pdf("-", "--content-type", "application/json", input=body.encode())
            for f in fs:
                # base64 is no decoder of the path: a value decoded from it
                # is a copy, flagged "encoded" (as a .tar.gz in base64 is)
                check(layers(f)[0] == "json" and ("base64" in layers(f) or f.get("encoded") is True),
                      f"Converse body: want json, then base64 (or \"encoded\": true): {f}")
            # the decoders inside a base64 run are not named in the path
            # (as a .tar.gz's gzip>tar are not); the types come from the
            # PDF's page only (before, the run was "base64 PDF document")
            expect_found(rc, fs, ["EMAIL", "US_SOCIAL_SECURITY_NUMBER"], "Converse body", in_path=None)
        r.run("7. Bedrock Converse body, a PDF document in base64: EMAIL and SSN through json, base64, pdf",
              bedrock)

        def encrypted():
            rl_encrypted(tmp.join("secret.pdf"))
            rc, fs = scan_pdf(tmp.join("secret.pdf"))
            eq(rc, 1, f"secret.pdf: exit code ({brief(fs)})")
            eq(sorted({f["type"] for f in fs}), ["UNINSPECTABLE"], f"secret.pdf: types ({brief(fs)})")
            check(any("encrypted" in why(f).lower() for f in fs),
                  f"secret.pdf: want an UNINSPECTABLE saying encrypted: {brief(fs)}")
        r.run("8. ReportLab, encrypted (user password): UNINSPECTABLE, encrypted", encrypted)

        def truncated():
            data = pdfs.get("intake-c1.pdf") or rl_intake(tmp.join("intake-c1.pdf"), 1)
            cut = tmp.write("cut.pdf", cut_in_content(data))
            rc, fs = scan_pdf(cut)
            eq(rc, 1, f"cut.pdf: exit code ({brief(fs)})")
            un = uninspectable(fs)
            check(un, f"cut.pdf: want an UNINSPECTABLE finding: {brief(fs)}")
            # the decoder's own report, not the blanket refusal of every PDF
            check(all(f.get("reason") not in BLANKET for f in un),
                  f"cut.pdf: the blanket refusal, not the decoder's: {brief(fs)}")
        r.run("9. compressed PDF cut inside its content stream: UNINSPECTABLE", truncated)

        def stdin_split():
            data = pdfs.get("cairo.pdf") or cairo_two_fonts(tmp.join("cairo.pdf"))
            rc, fs = cairo_fs.get("file") or scan_pdf(tmp.join("cairo.pdf"))
            expect_found(rc, fs, ["EMAIL", "INTERNATIONAL_BANK_ACCOUNT_NUMBER"], "cairo.pdf from the file",
                         allowed=["DATE_OF_BIRTH"])
            args = ["--format", "jsonl", "--content-type", "application/pdf", "-"]
            rc1, fs1 = scan_pdf("-", "--content-type", "application/pdf", input=data)
            eq((rc1, same(fs1)), (rc, same(fs)), "stdin in one write vs the file")
            rc2, fs2, n = feed_in_pieces(args, data)
            eq((rc2, same(fs2)), (rc, same(fs)), f"stdin in {n} pieces vs the file")
            check(all(f["path"] == "-" for f in fs1 + fs2), f"path - on stdin: {fs1 + fs2}")
        r.run("10. cairo PDF on stdin (--content-type application/pdf), whole and in pieces: same findings",
              stdin_split)
    r.done()


if __name__ == "__main__":
    main()
