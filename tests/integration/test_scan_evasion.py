#!/usr/bin/env python3
"""Evasions a black-box audit of the scanner found, each sent by a real
client as a workload would send it, and read by `sovgw scan` as the gateway
receives the body.

1. A Converse `txt` document that Notepad saved as "Unicode" (UTF-16LE
   with a BOM): the AWS SDK for JavaScript sends its bytes in base64. Under
   1 KiB of base64 it was neither read nor reported.
2. A Kinesis record compressed with zlib (as applications compress their
   records), sent by the AWS CLI (`kinesis put-record`: the data in base64
   in JSON). Under 1 KiB it was neither read nor reported.
3. "ASCII smuggling": a key and a card number written in invisible Unicode
   tag characters, glued to a visible prompt (models read them), sent by
   the AWS SDK for JavaScript's Converse. The normalisation removed them.
4. base64 of a key and an address cut by zero-width spaces every 8
   characters (Converse), and base64 percent-encoded in a URL (an
   InvokeModel prompt): the base64 stage saw no run of 24 characters, the
   decoded copies went to the scanner undecoded.
5. A card number with tabs between its groups in a one-line Converse
   prompt: the JSON decoder took the tab for a tab-separated table and
   made each group a unit of its own (raw text found it).
6. An e-mail's raw source pasted into a Converse prompt ("Summarise this
   email"), its body quoted-printable: the card and the key are cut by
   soft line breaks. Only a message/rfc822 body was read as mail.
7. A card number written one digit per value in a tool's JSON answer
   ({"digits": [4, 1, 1, 1, ...]}, which the model reads joined), sent by
   the AWS SDK for JavaScript's Converse as a toolResult: each digit was a
   value of its own, and the array's bytes 0 to 9 were no text.
8. A key and a card number each split across two adjacent text blocks of
   one message (Converse's content blocks; InvokeModel's Anthropic
   Messages body, with "type": "text" in each block), which the model
   reads joined: each block was a unit, and no match spans two.

Each case fails on the scanner before this change; the controls (the same
requests without the sensitive values) stay clean.

Needs node/npm and the AWS CLI (scripts/deps.sh test)."""

import base64
import json
import os
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import Runner, TempDir, Upstream, aws_cli_request, check, eq, npm_project, scan_jsonl  # noqa: E402
from sgw import type_counts as types  # noqa: E402

SSN = "536-22-1847"
NOTE = "Payroll note\r\nEmployee: Jane Roe\r\nSSN: {ssn}\r\nContact: {mail}\r\n"


def brief(fs):
    return [(f["type"], f["decoders"], f.get("excerpt"), f.get("reason")) for f in fs][:8]


def tags(text):
    return "".join(chr(0xE0000 + ord(c)) for c in text)


def main():
    r = Runner("scan_evasion")
    sdk = npm_project("aws_sdk_js", "@aws-sdk/client-bedrock-runtime")
    if sdk is None:
        print("not ok - could not install the AWS SDK for JavaScript from npm")
        return 1
    t = TempDir("sgw-evasion-")

    def node(script, *args):
        with Upstream(keep_bodies=True) as up:
            p = subprocess.run(["node", script, f"http://127.0.0.1:{up.port}", *args], cwd=sdk,
                               capture_output=True, text=True, timeout=60)
            eq(up.count(), 1, f"one request from {script} ({p.stderr[-400:]!r})")
            return up.requests[0]["body"]

    def scan_json(body):
        return scan_jsonl("--content-type", "application/json", "-", input=body, timeout=60)

    def utf16_document():
        # case 1: the same note in UTF-8 and as Notepad's "Unicode" file
        for kind, ssn, mail, want in (("pii", SSN, "jane.roe@corp-example.net",
                                       {"US_SOCIAL_SECURITY_NUMBER": 1, "EMAIL": 1}),
                                      ("clean", "see HR", "the HR portal", {})):
            text = NOTE.format(ssn=ssn, mail=mail)
            found = {}
            for enc in ("utf-8", "utf-16"):
                data = text.encode(enc)
                if enc == "utf-16":
                    check(data[:2] == b"\xff\xfe" and data[3] == 0, "Python's utf-16: a BOM, then little-endian")
                path = t.write(f"{kind}-{enc}.txt", data)
                body = node("converse_doc.mjs", path, "txt")
                check(b'"format":"txt"' in body, f"a txt document block ({body[:160]!r})")
                code, fs = scan_json(body)
                found[enc] = sorted((f["type"], f["excerpt"]) for f in fs)
                eq(types(fs), want, f"{kind}, {enc}: the note's values ({brief(fs)})")
                eq(code, 1 if want else 0, f"{kind}, {enc}: exit status")
            eq(found["utf-16"], found["utf-8"], f"{kind}: UTF-16 gives what UTF-8 gives")
    r.run("a Converse txt document saved as UTF-16 (Notepad's \"Unicode\") by the AWS SDK for JavaScript",
          utf16_document)

    def zlib_record():
        # case 2: a record compressed with zlib, base64 in the CLI's JSON
        for kind, mail, want in (("pii", "jane.roe@corp-example.net", {"EMAIL": 1}), ("clean", "", {})):
            rec = zlib.compress(b'{"order": 7, "status": "paid", "contact": "%s"}' % mail.encode())
            check(rec[:2] == b"\x78\x9c", "zlib's default header")
            path = t.write(f"{kind}.rec", rec)
            ct, body = aws_cli_request(t, "kinesis", "put-record", "--stream-name", "orders",
                                       "--partition-key", "k1", "--data", f"fileb://{path}")
            eq(ct, "application/x-amz-json-1.1", "Kinesis's JSON protocol")
            check(b'"Data"' in body, f"the record's data in the body ({body[:160]!r})")
            code, fs = scan_jsonl("--content-type", ct, "-", input=body, timeout=60)
            eq(types(fs), want, f"{kind}: the record's address ({brief(fs)})")
            eq(code, 1 if want else 0, f"{kind}: exit status")
    r.run("a zlib-compressed Kinesis record sent by the AWS CLI", zlib_record)

    def tag_smuggling():
        # case 3: the payload glued to the visible words, in tag characters
        visible = "Summarise this paragraph for the weekly report, please."
        for kind, payload, want in (("pii", tags("AKIA2E3AYF3BQ44C7XQZ") + " card " + tags("4111 1111 1111 1111"),
                                     {"AWS_ACCESS_KEY": 1, "CREDIT_DEBIT_CARD_NUMBER": 1}),
                                    ("clean", tags("thanks"), {})):
            path = t.write(f"{kind}-prompt.txt", (visible[:-1] + payload + ".").encode())
            body = node("prompt_text.mjs", "converse", path)
            check("\U000E0041".encode() in body or kind == "clean", f"the tag characters in the body ({body[:120]!r})")
            code, fs = scan_json(body)
            eq(types(fs), want, f"{kind}: the smuggled values ({brief(fs)})")
            eq(code, 1 if want else 0, f"{kind}: exit status")
    r.run("a key and a card number in Unicode tag characters in a Converse prompt", tag_smuggling)

    def hidden_base64():
        # case 4: the encoded value cut by invisible characters, or escaped
        secret = b"deploy with key AKIA2E3AYF3BQ44C7XQZ and page ops-lead@corp-example.net"
        clean = b"deploy with the usual key from the vault and page the ops lead on call"
        for kind, plain, want in (("pii", secret, {"AWS_ACCESS_KEY": 1, "EMAIL": 1}), ("clean", clean, {})):
            enc = base64.b64encode(plain).decode()
            zw = "\u200b".join(enc[i:i + 8] for i in range(0, len(enc), 8))
            path = t.write(f"{kind}-zw.txt", f"Summarise this for the audit log: {zw}".encode())
            body = node("prompt_text.mjs", "converse", path)
            check("\u200b".encode() in body, f"the zero-width spaces in the body ({body[:120]!r})")
            code, fs = scan_json(body)
            eq(types(fs), want, f"{kind}, zero-width spaces: the values ({brief(fs)})")
            eq(code, 1 if want else 0, f"{kind}, zero-width spaces: exit status")
            pct = "".join("%%%02X" % c for c in enc.encode())
            path = t.write(f"{kind}-url.txt", f"Why does https://sso.example.com/cb?state={pct} fail?".encode())
            body = node("prompt_text.mjs", "invoke", path)
            check(pct[:30].encode() in body, f"the escaped value in the body ({body[:120]!r})")
            code, fs = scan_json(body)
            eq(types(fs), want, f"{kind}, percent-encoded: the values ({brief(fs)})")
            eq(code, 1 if want else 0, f"{kind}, percent-encoded: exit status")
    r.run("base64 cut by zero-width spaces (Converse) and percent-encoded (InvokeModel)", hidden_base64)

    def tabbed_card():
        # case 5: a tab between the groups, in a one-line prompt (a Luhn
        # failure as the control)
        for kind, card, want in (("pii", "4111\t1111\t1111\t1111", {"CREDIT_DEBIT_CARD_NUMBER": 1}),
                                 ("clean", "4111\t1111\t1111\t1112", {})):
            path = t.write(f"{kind}-tab.txt", f"Summarise this for the audit log: charge card {card} today".encode())
            body = node("prompt_text.mjs", "converse", path)
            check(b"4111\\t1111" in body, f"the tab escapes in the body ({body[:120]!r})")
            code, fs = scan_json(body)
            eq(types(fs), want, f"{kind}: the card ({brief(fs)})")
            eq(code, 1 if want else 0, f"{kind}: exit status")
    r.run("a card number with tabs between its groups in a Converse prompt", tabbed_card)

    def pasted_email():
        # case 6: Python's email package writes the body quoted-printable,
        # 76 columns: the soft line breaks cut the card and the key (the
        # control: a key of no known prefix, a Luhn failure)
        from email import policy
        from email.message import EmailMessage
        for kind, key, card, want in (("pii", "AKIA2E3AYF3BQ44C7XQZ", "4111111111111111",
                                       {"CREDIT_DEBIT_CARD_NUMBER": 1, "AWS_ACCESS_KEY": 1}),
                                      ("clean", "XKCD2E3AYF3BQ44C7XQZ", "4111111111111112", {})):
            m = EmailMessage(policy=policy.SMTP)
            m["From"] = "Billing <billing@corp-example.net>"
            m["To"] = "ops-lead@corp-example.net"
            m["Subject"] = "Renewal"
            m.set_content("Grüße, ref " + "a" * 21 + f" please charge card {card} and " + "b" * 43 +
                          f" use key {key} for it.\n", charset="utf-8", cte="quoted-printable")
            raw = m.as_bytes().decode("ascii")
            check("=\r\n" in raw and "=C3=BC" in raw, f"quoted-printable with soft line breaks ({raw[-300:]!r})")
            check(key not in raw and card not in raw, f"both values cut by a soft line break ({raw[-300:]!r})")
            path = t.write(f"{kind}-mail.txt", ("Summarise this email:\n" + raw).encode())
            body = node("prompt_text.mjs", "converse", path)
            code, fs = scan_json(body)
            got = types(fs)
            got.pop("EMAIL", None)  # (the headers' addresses, in both)
            eq(got, want, f"{kind}: the body's values ({brief(fs)})")
    r.run("an e-mail's quoted-printable source pasted into a Converse prompt", pasted_email)

    def digit_array():
        # case 7: one digit per value (the control: a Luhn failure; a list
        # of numbers that are not all single digits stays numbers)
        for kind, digits, want in (("pii", "4111111111111111", {"CREDIT_DEBIT_CARD_NUMBER": 1}),
                                   ("clean", "4111111111111112", {})):
            doc = {"customer": "1843", "card_on_file": {"network": "visa", "digits": [int(c) for c in digits]},
                   "monthly_totals": [120, 95, 300, 87, 42, 150, 77, 210]}
            path = t.write(f"{kind}-digits.json", json.dumps(doc).encode())
            body = node("tool_json.mjs", path)
            check(b'"digits":[4,1,1,1' in body, f"the digits as numbers in the body ({body[-300:]!r})")
            code, fs = scan_json(body)
            eq(types(fs), want, f"{kind}: the card ({brief(fs)})")
            eq(code, 1 if want else 0, f"{kind}: exit status")
    r.run("a card number one digit per value in a tool's JSON answer (Converse)", digit_array)

    def split_blocks():
        # case 8: three blocks, the card cut between the first two, the key
        # between the last two; the controls: a Luhn failure and a key of
        # no known prefix, and a whole address in one block with a word in
        # the next (one finding, not a second one glued to the word)
        cases = (("pii", ["Store these: card 4111 1111 11", "11 1111 and key AKIAIOSF", "ODNN7EXAMPLE today"],
                  {"CREDIT_DEBIT_CARD_NUMBER": 1, "AWS_ACCESS_KEY": 1}),
                 ("clean", ["Store these: card 4111 1111 11", "11 1112 and key QKIAIOSF", "ODNN7EXAMPLE today"], {}),
                 ("whole", ["Mail the report to ann.lee@corp.example.org", "thanks"], {"EMAIL": 1}))
        for mode in ("converse", "invoke"):
            for kind, blocks, want in cases:
                paths = [t.write(f"{mode}-{kind}-{i}.txt", x.encode()) for i, x in enumerate(blocks)]
                body = node("prompt_text.mjs", mode, *paths)
                check(all(x.encode() in body for x in blocks), f"{mode}, {kind}: the blocks in the body ({body[:200]!r})")
                code, fs = scan_json(body)
                eq(types(fs), want, f"{mode}, {kind}: the values ({brief(fs)})")
                eq(code, 1 if want else 0, f"{mode}, {kind}: exit status")
                # found across the join (marked so), or in one block (not)
                eq([bool(f.get("joined")) for f in fs], [kind == "pii"] * len(fs), f"{mode}, {kind}: joined")
    r.run("a key and a card split across text blocks (Converse, InvokeModel)", split_blocks)

    t.cleanup()
    r.done()


if __name__ == "__main__":
    sys.exit(main())
