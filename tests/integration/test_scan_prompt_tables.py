#!/usr/bin/env python3
"""Tables pasted into prompts, and markdown files: a column's name is the
context of every value under it, in a model's prompt or a knowledge
base's document as in a spreadsheet.

A bare 9-digit number under "SSN" and a date under "Date of birth" are
findings only with their context words. In a prompt that holds a table,
those are in the header line, rows away: before the prompt-table rule a
60-row table gave the first row's SSN and no birth date at all. Each case
below fails on that behaviour; the control tables (the same values under
other names) must stay clean. Comma-separated lines are a table from their
first row's end on.

Made at test time: markdown-table (npm) writes the GFM table an application
or a model makes of rows; LibreOffice (headless) exports a workbook as
tab-separated text, what a spreadsheet gives when its cells are copied, as
CSV, and as an HTML page, which a server on 127.0.0.1 serves to an agent's
fetch (its tool result), and which turndown (npm) turns into markdown with
the table kept as HTML.
The AWS SDK for JavaScript sends them in Bedrock Converse and InvokeModel
requests to a local endpoint on 127.0.0.1, and the AWS CLI uploads a
markdown file (`s3api put-object`, text/markdown) there; `sovgw scan`
reads each request's body as the gateway receives it, and the file.

A report rendered by Jinja2 (python3-jinja2) as markdown with an HTML
table, blank lines between its rows, is scanned as a .md file and as an S3
PutObject body; a fragment it renders (a div, the table indented inside)
is pasted into prompts.

Needs node/npm, LibreOffice (libreoffice-calc-nogui) and python3-jinja2
(scripts/deps.sh test)."""

import csv
import datetime
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import Runner, TempDir, Upstream, aws_cli_request, check, eq, need_modules, npm_project, scan_jsonl  # noqa: E402
from sgw import type_counts as count  # noqa: E402

ROWS = 60
PII = {"US_SOCIAL_SECURITY_NUMBER": ROWS, "DATE_OF_BIRTH": ROWS}


def people():
    base = datetime.date(1950, 1, 1)
    return [(f"Person {i}", str(536221800 + i), (base + datetime.timedelta(days=97 * i + 11)).isoformat())
            for i in range(ROWS)]


def brief(fs):
    return [(f["type"], f["decoders"], f.get("excerpt")) for f in fs][:10]


def main():
    need_modules("jinja2")
    r = Runner("scan_prompt_tables")
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        print("not ok - LibreOffice missing (scripts/deps.sh test installs libreoffice-calc-nogui)")
        return 1
    sdk = npm_project("aws_sdk_js", "turndown")
    if sdk is None:
        print("not ok - could not install the AWS SDK and markdown-table from npm")
        return 1
    t = TempDir("sgw-prompt-tables-")
    rows = people()
    heads = {"pii": ["Name", "SSN", "Date of birth"], "clean": ["Name", "Order", "Shipped"]}

    def markdown(kind, opts=None):
        src = t.write(f"{kind}.rows.json", json.dumps([heads[kind]] + [list(x) for x in rows]))
        out = t.join(f"{kind}-{bool(opts)}.md")
        p = subprocess.run(["node", "make_markdown.mjs", src, out] + ([json.dumps(opts)] if opts else []), cwd=sdk,
                           capture_output=True, text=True, timeout=60)
        eq(p.returncode, 0, f"markdown-table ({p.stderr[-300:]!r})")
        with open(out) as f:
            return f.read()

    def export(kind, sep, table):
        # a workbook exported as text (filter options: the separator, '"',
        # UTF-8): tab-separated, as a spreadsheet's copied cells are, or
        # comma-separated, as a CSV file is
        d = t.join(f"lo-{kind}-{sep}")
        os.makedirs(d, exist_ok=True)
        with open(t.join(f"lo-{kind}-{sep}/{kind}.csv"), "w", newline="") as f:
            csv.writer(f).writerows(table)
        p = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{t.join('lo-profile')}",
                            "--convert-to", f"txt:Text - txt - csv (StarCalc):{sep},34,76", "--outdir", d,
                            t.join(f"lo-{kind}-{sep}/{kind}.csv")], capture_output=True, text=True, timeout=180)
        path = os.path.join(d, f"{kind}.txt")
        check(os.path.exists(path), f"LibreOffice's export ({p.stderr[-300:]!r})")
        with open(path, newline="") as f:
            return f.read()

    def tsv(kind):
        text = export(kind, 9, [heads[kind]] + [list(x) for x in rows])
        check(text.count("\t") == 2 * (ROWS + 1), f"tab-separated ({text[:80]!r})")
        return text

    def body(mode, *texts):
        paths = [t.write(f"prompt-{mode}-{i}.txt", x) for i, x in enumerate(texts)]
        with Upstream(keep_bodies=True) as up:
            p = subprocess.run(["node", "prompt_text.mjs", f"http://127.0.0.1:{up.port}", mode] + paths, cwd=sdk,
                               capture_output=True, text=True, timeout=60)
            eq(up.count(), 1, f"one {mode} request ({p.stderr[-400:]!r})")
            return up.requests[0]["body"]

    def scan(data):
        return scan_jsonl("--content-type", "application/json", "-", input=data, timeout=120)

    md = {k: markdown(k) for k in heads}
    tabs = {k: tsv(k) for k in heads}

    def md_converse():
        # case 1: Converse, a markdown table after a line of prose, and
        # prose after it
        for kind, want in (("pii", PII), ("clean", {})):
            data = body("converse", "Please check these records:\n\n" + md[kind] + "\nWhich are duplicates?")
            check(b"| Person 59" in data.replace(b"\\n", b"\n"), f"the table in the body ({data[:160]!r})")
            code, fs = scan(data)
            eq(count(fs), want, f"{kind}: every row ({brief(fs)})")
            if want:
                eq(code, 1, "exit 1: found")
                eq({f["decoders"] for f in fs}, {"json"}, "found under json")
    r.run("Converse: a markdown table (markdown-table) after prose", md_converse)

    def md_invoke():
        # case 2: InvokeModel with an Anthropic Messages body, the table a
        # content block of its own (the string begins with it)
        for kind, want in (("pii", PII), ("clean", {})):
            code, fs = scan(body("invoke", "Here is the export.", md[kind]))
            eq(count(fs), want, f"{kind}: every row ({brief(fs)})")
    r.run("InvokeModel: a markdown table as a content block of its own", md_invoke)

    def tsv_converse():
        # case 3: tab-separated lines (CRLF, as LibreOffice and Excel write
        # them) after prose, and as a block of their own
        for kind, want in (("pii", PII), ("clean", {})):
            code, fs = scan(body("converse", "Pasted from the sheet:\n" + tabs[kind]))
            eq(count(fs), want, f"{kind} after prose ({brief(fs)})")
            code, fs = scan(body("converse", tabs[kind]))
            eq(count(fs), want, f"{kind} as a block ({brief(fs)})")
        # the sheet's range copied with its title row above the header
        text = export("titled", 9, [["Staff 2026", "", ""]] + [heads["pii"]] + [list(x) for x in rows])
        check(text.startswith("Staff 2026\t\t"), f"the title's row ({text[:40]!r})")
        code, fs = scan(body("converse", "From the sheet:\n" + text))
        eq(count(fs), PII, f"under a title row ({brief(fs)})")
    r.run("Converse: tab-separated lines exported by LibreOffice", tsv_converse)

    def prose_after():
        # case 4: the table's names end with it: a number in the prose
        # after the table is not under "SSN"; one with its own word is
        pii = md["pii"]
        code, fs = scan(body("converse", pii + "\nTicket 536221799 is open.\nMy ssn is 536221798."))
        eq(count(fs), {"US_SOCIAL_SECURITY_NUMBER": ROWS + 1, "DATE_OF_BIRTH": ROWS},
           f"the rows and the SSN with its word, not the ticket ({brief(fs)})")
    r.run("prose after a table: no column's name", prose_after)

    def markdown_file():
        # case 5: a knowledge base's markdown file (Bedrock Knowledge Bases
        # ingest .md from S3): read as raw text, its table names its cells;
        # findings keep the file's own offsets. The AWS CLI uploads it as
        # text/markdown, and the body gives the same.
        doc = "# Staff\n\nUpdated monthly.\n\n" + md["pii"] + "\nQuestions to hr@corp.example.\n"
        path = t.write("kb/staff.md", doc)
        raw = doc.encode()
        code, fs = scan_jsonl(path, timeout=120)
        want = dict(PII, EMAIL=1)
        eq(count(fs), want, f"every row ({brief(fs)})")
        ssn = [f for f in fs if f["type"] == "US_SOCIAL_SECURITY_NUMBER"]
        eq(sorted(raw[f["start"]:f["end"]].decode() for f in ssn), sorted(s for _, s, _ in rows),
           "each SSN's span is its digits in the file")
        code, fs = scan_jsonl(t.write("kb/orders.md", "# Orders\n\n" + md["clean"]), timeout=120)
        eq(count(fs), {}, f"the control table ({brief(fs)})")
        # the table indented under a list item
        nested = "".join(f"   {line}\n" for line in md["pii"].splitlines())
        code, fs = scan_jsonl(t.write("kb/nested.md", "# Staff\n\n1. Current staff:\n" + nested + "2. Former staff: none.\n"),
                              timeout=120)
        eq(count(fs), PII, f"an indented table ({brief(fs)})")
        ct, body = aws_cli_request(t, "s3api", "put-object", "--bucket", "kb", "--key", "docs/staff.md",
                                   "--content-type", "text/markdown", "--body", path)
        eq(ct, "text/markdown", "sent as text/markdown")
        eq(body, raw, "the file is the body")
        code, fs = scan_jsonl("--content-type", "text/markdown", "-", input=body, timeout=120)
        eq(count(fs), want, f"the body, as text/markdown ({brief(fs)})")
    r.run("a markdown file (S3 PutObject by the AWS CLI, sovgw scan): raw text's tables", markdown_file)

    def csv_converse():
        # case 6: comma-separated lines (LibreOffice's CSV export; names
        # with a comma are quoted) after prose, and as a block of their
        # own. The table is known at the end of its first row, which goes
        # out as prose: its values have the header's words within reach
        # (the birth date past the SSN: a number of nine digits is no year
        # between the word and the date)
        for kind, want in (("pii", PII), ("clean", {})):
            text = export(kind, 44, [heads[kind]] + [[f"{n[7:]}, {n[:6]}", s, d] for n, s, d in rows])
            check(text.count('"') == 2 * ROWS and text.count(",") == 3 * ROWS + 2, f"quoted names ({text[:80]!r})")
            code, fs = scan(body("converse", "Customer list attached:\n" + text + "\nAny duplicates?"))
            eq(count(fs), want, f"{kind} after prose ({brief(fs)})")
            code, fs = scan(body("converse", text))
            eq(count(fs), want, f"{kind} as a block ({brief(fs)})")
        # a wide export (an HR system's: eight columns, a header of 81
        # bytes); its start dates are under no birth word
        wide = [["Employee ID", "First name", "Last name", "Department", "Office", "Start date", "SSN",
                 "Date of birth"]] + [[f"E{1000 + i}", n[7:], "Person", "Finance", "Berlin", f"20{10 + i % 10}-01-0{1 + i % 9}",
                                       s, d] for i, (n, s, d) in enumerate(rows)]
        text = export("wide", 44, wide)
        code, fs = scan(body("converse", "HR export:\n" + text))
        # (its first row, prose: the start date's year stands between the
        # birth-date word and the birth date)
        eq(count(fs), {"US_SOCIAL_SECURITY_NUMBER": ROWS, "DATE_OF_BIRTH": ROWS - 1}, f"a wide table ({brief(fs)})")
    r.run("Converse: comma-separated lines exported by LibreOffice", csv_converse)

    def md_bare():
        # case 7: markdown-table without the outer pipes ("Name | SSN",
        # "--- | ---", "Person 0 | 536221800"): the table is known at its
        # delimiter row's end, before any row; the same for an indented one
        for kind, want in (("pii", PII), ("clean", {})):
            text = markdown(kind, {"delimiterStart": False, "delimiterEnd": False})
            check(text.splitlines()[2].startswith("Person 0 ") and "|" in text.splitlines()[2], f"no outer pipes ({text[:80]!r})")
            code, fs = scan(body("converse", "Check these:\n" + text + "\nThanks"))
            eq(count(fs), want, f"{kind}: every row ({brief(fs)})")
            # and the usual table indented under a list item, as a model
            # nests one in a numbered answer
            nested = "".join(f"   {line}\n" for line in md[kind].splitlines())
            code, fs = scan(body("converse", "1. The staff:\n" + nested + "2. The next step."))
            eq(count(fs), want, f"{kind}, indented: every row ({brief(fs)})")
    r.run("Converse: markdown tables without outer pipes, and indented (markdown-table)", md_bare)

    def html_page(kind):
        # LibreOffice's HTML export of the sheet: a page with a table, the
        # header row's cells as the data's (td)
        path = t.join(f"pages/{kind}.html")
        if not os.path.exists(path):
            src = t.write(f"lo-html/{kind}.csv", "".join(",".join(x) + "\n" for x in [heads[kind]] + [list(y) for y in rows]))
            p = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{t.join('lo-profile')}",
                                "--convert-to", "html", "--outdir", os.path.dirname(path), src],
                               capture_output=True, text=True, timeout=180)
            check(os.path.exists(path), f"LibreOffice's HTML export ({p.stderr[-300:]!r})")
        return path

    def html_tool_result():
        # case 8: an agent's tool result, a web page with a table: the
        # page is LibreOffice's HTML export of the sheet (its header row
        # cells as the data's), served on 127.0.0.1 and fetched by the
        # agent's script, which sends it back in Converse's toolResult. In
        # the JSON string the page is read as HTML: each cell under its
        # column's name, as in an .html file
        pages = os.path.dirname(html_page("pii"))
        html_page("clean")

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass
        site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=pages))
        threading.Thread(target=site.serve_forever, daemon=True).start()
        try:
            for kind, want in (("pii", PII), ("clean", {})):
                url = f"http://127.0.0.1:{site.server_address[1]}/{kind}.html"
                with Upstream(keep_bodies=True) as up:
                    p = subprocess.run(["node", "tool_result.mjs", f"http://127.0.0.1:{up.port}", url], cwd=sdk,
                                       capture_output=True, text=True, timeout=60)
                    eq(up.count(), 1, f"one Converse request ({p.stderr[-400:]!r})")
                    data = up.requests[0]["body"]
                msg = json.loads(data)["messages"]
                page = msg[2]["content"][0]["toolResult"]["content"][0]["text"]
                check(page.startswith("<!DOCTYPE html>") and "<td" in page, f"the page in the toolResult ({page[:60]!r})")
                code, fs = scan(data)
                # (the page's address, 127.0.0.1, in the question and the
                # toolUse's input)
                eq(count(fs), dict(want, IP_ADDRESS=2), f"{kind}: every row ({brief(fs)})")
                eq(code, 1, "exit 1: found")
        finally:
            site.shutdown()
            site.server_close()
    r.run("Converse: a fetched page with a table (LibreOffice's HTML) in a toolResult", html_tool_result)

    def md_file(name, doc, want):
        # a markdown file with an HTML table and an address after it, as
        # `sovgw scan` reads it and as the body of the AWS CLI's
        # put-object (text/markdown): the table's values (want), their
        # findings inside the table, the address at its own offsets
        path = t.write(f"kb/{name}.md", doc)
        raw = doc.encode()
        block = (raw.index(b"\n<table") + 1, raw.index(b"</table>") + len(b"</table>"))
        code, fs = scan_jsonl(path, timeout=120)
        eq(count(fs), dict(want, EMAIL=1), f"{name}: the .md file ({brief(fs)})")
        eq(code, 1, f"{name}: exit 1 (the address at least)")
        mail = [f for f in fs if f["type"] == "EMAIL"][0]
        eq(raw[mail["start"]:mail["end"]], b"hr@corp.example", f"{name}: the address after the table: its own offsets")
        check(all(block[0] <= f["start"] < f["end"] <= block[1] for f in fs if f["type"] != "EMAIL"),
              f"{name}: the table's findings lie in the table {block} ({[(f['start'], f['end']) for f in fs][:5]})")
        ct, data = aws_cli_request(t, "s3api", "put-object", "--bucket", "kb", "--key", f"docs/{name}.md",
                                   "--content-type", "text/markdown", "--body", path)
        eq(ct, "text/markdown", "sent as text/markdown")
        eq(data, raw, "the file is the body")
        code, fs = scan_jsonl("--content-type", "text/markdown", "-", input=data, timeout=120)
        eq(count(fs), dict(want, EMAIL=1), f"{name}: the PutObject body ({brief(fs)})")

    def html_block_markdown():
        # case 9: the page turned into markdown by turndown, its table kept
        # as HTML (an agent's fetch tool, a knowledge base's pipeline). In
        # a .md file (sovgw scan, and the AWS CLI's put-object body,
        # text/markdown) the HTML block is read as HTML up to its blank
        # line: the findings in it lie in the block, those after it keep
        # the file's own offsets. Pasted into a Converse prompt after
        # prose, the table's line begins HTML in the JSON string
        for kind, want in (("pii", PII), ("clean", {})):
            md_path = t.join(f"kb/{kind}-page.md")
            p = subprocess.run(["node", "page_markdown.mjs", html_page(kind), md_path], cwd=sdk,
                               capture_output=True, text=True, timeout=60)
            eq(p.returncode, 0, f"turndown ({p.stderr[-300:]!r})")
            with open(md_path) as f:
                page_md = f.read()
            check("\n<table" in page_md and "Person 59" in page_md, f"the table kept as HTML ({page_md[:80]!r})")
            doc = "# Staff\n\nFrom the intranet:\n\n" + page_md + "\nQuestions to hr@corp.example.\n"
            md_file(f"{kind}-staff", doc, want)
            code, fs = scan(body("converse", doc))
            eq(count(fs), dict(want, EMAIL=1), f"{kind}: in a Converse prompt ({brief(fs)})")
    r.run("a page as markdown with its table kept as HTML (turndown): a .md file, S3 PutObject, a Converse prompt",
          html_block_markdown)

    def template_report():
        # case 10: a report that Jinja2 renders as markdown with its table
        # in HTML (markdown tables hold no header groups); the loop's tags
        # leave lines of white space between the rows, blank lines that
        # end a markdown HTML block. Inside a table they do not end it:
        # every row is read under its column's name, and the address
        # after the table keeps its offsets. Scanned as a .md file and as
        # the AWS CLI's put-object body (text/markdown)
        import jinja2
        tpl = jinja2.Environment(autoescape=True).from_string(
            "# Payroll report\n\nPrepared for {{ team }}.\n\n"
            "<table>\n  <thead>\n    <tr>{% for h in heads %}<th>{{ h }}</th>{% endfor %}</tr>\n  </thead>\n"
            "  <tbody>\n  {% for name, a, b in rows %}\n    <tr>\n      <td>{{ name }}</td>\n"
            "      <td>{{ a }}</td>\n      <td>{{ b }}</td>\n    </tr>\n  {% endfor %}\n  </tbody>\n</table>\n\n"
            "Questions to hr@corp.example.\n")
        for kind, want in (("pii", PII), ("clean", {})):
            doc = tpl.render(team="Finance", heads=heads[kind], rows=rows)
            check("\n  \n" in doc and doc.count("<tr>") == ROWS + 1, f"blank lines between the rows ({doc[:160]!r})")
            md_file(f"{kind}-report", doc, want)
    r.run("a Jinja2 report in markdown, its HTML table with blank lines between the rows: .md file, S3 PutObject",
          template_report)

    def template_fragment():
        # case 11: a web application's partial (an htmx fragment that a
        # Jinja2 template renders: a div, the table indented inside it),
        # which an agent fetched, pasted into a Converse prompt and an
        # InvokeModel body after a question. The table's line is indented:
        # it begins HTML after its white space, and every row is read
        # under its column's name
        import jinja2
        tpl = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(
            "<div id=\"staff\" class=\"card\" hx-swap-oob=\"true\">\n  <h2>Team</h2>\n  <table class=\"table\">\n"
            "    <thead>\n      <tr>{% for h in heads %}<th>{{ h }}</th>{% endfor %}</tr>\n    </thead>\n    <tbody>\n"
            "    {% for name, a, b in rows %}\n      <tr><td>{{ name }}</td><td>{{ a }}</td><td>{{ b }}</td></tr>\n"
            "    {% endfor %}\n    </tbody>\n  </table>\n</div>\n")
        for kind, want in (("pii", PII), ("clean", {})):
            frag = tpl.render(heads=heads[kind], rows=rows)
            check(frag.startswith("<div") and "\n  <table" in frag, f"an indented table in a div ({frag[:120]!r})")
            for mode in ("converse", "invoke"):
                code, fs = scan(body(mode, "What changed in this fragment since last week?\n\n" + frag))
                eq(count(fs), want, f"{kind}, {mode}: every row ({brief(fs)})")
                eq(code, 1 if want else 0, "exit code")
    r.run("an htmx fragment from Jinja2 (a div, the table indented) in Converse and InvokeModel prompts",
          template_fragment)

    t.cleanup()
    r.done()


if __name__ == "__main__":
    sys.exit(main())
