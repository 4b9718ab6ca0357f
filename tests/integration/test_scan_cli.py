#!/usr/bin/env python3
"""`sovgw scan` and `sovgw policy fingerprint` as a policy author uses them:
exit codes, jsonl fields, decoded offsets, stdin with a content encoding,
directories, custom dictionaries and exact-data fingerprints from a policy,
and that no output ever carries a matched value in clear."""

import base64
import datetime
import gzip
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sgw import SOVGW, Runner, TempDir, check, eq, need_modules  # noqa: E402

need_modules("avro.datafile")  # (Debian's python3-avro: Avro files written at test time)

CARD = "4111 1111 1111 1111"
EMAIL = "bob.smith@corp-mail.de"
BODY = json.dumps({"messages": [{"role": "user", "content": [
    {"text": f"My card is {CARD} and mail {EMAIL}, thanks"}]}]})


def scan(*args, input=None):
    return subprocess.run([SOVGW, "scan", *args], input=input, capture_output=True, timeout=60)


def jsonl(out):
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def main():
    r = Runner("scan_cli")
    with TempDir() as tmp:
        body = tmp.write("prompt.json", BODY)
        clean = tmp.write("clean.json", json.dumps({"text": "the weather is nice today"}))

        def findings_and_codes():
            p = scan("--format", "jsonl", body)
            eq(p.returncode, 1, f"exit code with findings (stderr {p.stderr!r})")
            fs = jsonl(p.stdout)
            types = sorted(f["type"] for f in fs)
            eq(types, ["CREDIT_DEBIT_CARD_NUMBER", "EMAIL"], "finding types")
            for f in fs:
                for k in ("path", "type", "category", "start", "end", "decoders", "confidence",
                          "excerpt"):
                    check(k in f, f"field {k} missing in {f}")
                eq(f["decoders"], "json", "decoder path")
            card = next(f for f in fs if f["type"] == "CREDIT_DEBIT_CARD_NUMBER")
            eq(card["category"], "FINANCIAL", "card category")
            # offsets are in the decoded stream: JSON keys and string values in
            # document order (keys are scanned too: a value can hide in a key)
            decoded = ("messages" + "role" + "user" + "content" + "text"
                       + f"My card is {CARD} and mail {EMAIL}, thanks")
            eq(decoded[card["start"]:card["end"]], CARD, "card span in the decoded stream")
            p = scan(clean)
            eq(p.returncode, 0, "exit code when clean")
            eq(p.stdout, b"", "no output when clean")
        r.run("findings, fields, offsets, exit codes 0/1", findings_and_codes)

        def never_in_clear():
            for fmt in ("text", "jsonl"):
                p = scan("--format", fmt, body)
                out = p.stdout.decode() + p.stderr.decode()
                check(CARD not in out and CARD.replace(" ", "") not in out,
                      f"card number in clear in {fmt} output")
                check(EMAIL not in out, f"email in clear in {fmt} output")
        r.run("matched values never printed in clear", never_in_clear)

        def stdin_gzip():
            p = scan("--format", "jsonl", "--content-type", "application/json",
                     "--content-encoding", "gzip", "-", input=gzip.compress(BODY.encode()))
            eq(p.returncode, 1, "exit code for gzip'd stdin")
            fs = jsonl(p.stdout)
            eq(sorted(f["type"] for f in fs), ["CREDIT_DEBIT_CARD_NUMBER", "EMAIL"], "types")
            check(all(f["decoders"] == "gzip>json" and f["path"] == "-" for f in fs),
                  f"decoder path gzip>json on stdin: {fs}")
        r.run("stdin with --content-encoding gzip", stdin_gzip)

        def nested_gzip():
            # a gzip inside the declared gzip (catalogue 4.1 case 6) is
            # decoded, up to three layers; a fourth is a bomb (exit 1,
            # UNINSPECTABLE), never a pass
            twice = gzip.compress(gzip.compress(BODY.encode()))
            p = scan("--format", "jsonl", "--content-type", "application/json",
                     "--content-encoding", "gzip", "-", input=twice)
            eq(p.returncode, 1, "exit code for gzip in gzip")
            fs = jsonl(p.stdout)
            eq(sorted({f["type"] for f in fs}), ["CREDIT_DEBIT_CARD_NUMBER", "EMAIL"], "types in gzip in gzip")
            check(all(f["decoders"] == "gzip>gzip>json" for f in fs), f"decoder path: {fs}")
            four = gzip.compress(gzip.compress(twice))
            p = scan("--format", "jsonl", "--content-type", "application/json",
                     "--content-encoding", "gzip", "-", input=four)
            eq(p.returncode, 1, "exit code for four layers")
            fs = jsonl(p.stdout)
            eq([(f["type"], f.get("reason")) for f in fs],
               [("UNINSPECTABLE", "too many nested compression layers")], "four layers")
        r.run("gzip inside a declared gzip", nested_gzip)

        def directories():
            d = tmp.join("tree", "a", "b")
            os.makedirs(d)
            tmp.write("tree/a/b/deep.json", BODY)
            tmp.write("tree/a/ok.txt", "nothing to see")
            with open(tmp.join("tree", "a", "zipped.json.gz"), "wb") as f:
                f.write(gzip.compress(BODY.encode()))
            p = scan("--format", "jsonl", tmp.join("tree"))
            eq(p.returncode, 1, "exit code for a tree with findings")
            paths = sorted({os.path.relpath(f["path"], tmp.path) for f in jsonl(p.stdout)})
            eq(paths, ["tree/a/b/deep.json", "tree/a/zipped.json.gz"], "files with findings")
            # a FIFO in a tree (no writer) made the walk hang for ever: it is
            # skipped and said; named on the command line, a pipe is read
            os.mkfifo(tmp.join("tree", "a", "pipe"))
            p = scan("--format", "jsonl", tmp.join("tree"))
            eq(p.returncode, 1, f"exit code for a tree with a FIFO ({p.stderr!r})")
            eq(sorted({os.path.relpath(f["path"], tmp.path) for f in jsonl(p.stdout)}),
               ["tree/a/b/deep.json", "tree/a/zipped.json.gz"], "files with findings beside a FIFO")
            check(b"pipe: skipped: not a regular file" in p.stderr, f"FIFO said ({p.stderr!r})")
            rd, wr = os.pipe()
            os.write(wr, BODY.encode())
            os.close(wr)
            p = subprocess.run([SOVGW, "scan", f"/dev/fd/{rd}"], pass_fds=(rd,), capture_output=True,
                               timeout=60)
            os.close(rd)
            eq(p.returncode, 1, f"a pipe named on the command line is read ({p.stderr!r})")
        r.run("directories recursively, .gz guessed, FIFOs skipped", directories)

        def errors():
            p = scan(tmp.join("missing.json"))
            eq(p.returncode, 2, "missing file")
            check(b"missing.json" in p.stderr, f"error names the path: {p.stderr!r}")
            eq(scan("--format", "xml", body).returncode, 2, "bad --format")
            eq(scan("--packs", "pii-mars", body).returncode, 2, "unknown pack")
            eq(scan("--no-such-flag", body).returncode, 2, "unknown flag")
        r.run("errors exit 2 with a message", errors)

        def packs():
            p = scan("--format", "jsonl", "--packs", "secrets", body)
            eq(p.returncode, 0, f"only secrets: card/email not reported ({p.stdout!r})")
        r.run("--packs selects the packs", packs)

        def time_limit():
            # a body built to be slow (a "password=" every 9 bytes: each one a
            # value to check), with a card at its end: without a limit the card
            # is found; with 5 ms the body is reported uninspectable once, and
            # the rest of it, the card too, is not looked at
            slow = tmp.write("slow.json", json.dumps({"messages": [{"role": "user", "content":
                             "password=" * 300000 + f" card {CARD}"}]}))
            p = scan("--format", "jsonl", slow)
            eq(p.returncode, 1, f"no limit: exit 1 ({p.stderr!r})")
            eq([f["type"] for f in jsonl(p.stdout)], ["CREDIT_DEBIT_CARD_NUMBER"], "no limit: the card")
            p = scan("--format", "jsonl", "--time-limit", "5", slow)
            eq(p.returncode, 1, f"5 ms: exit 1 ({p.stderr!r})")
            fs = jsonl(p.stdout)
            eq([(f["type"], f.get("reason")) for f in fs],
               [("UNINSPECTABLE", "inspection time limit exceeded")], "5 ms: uninspectable, once")
            check(0 < fs[0]["start"] < len("password=") * 300000, f"stopped inside the body: {fs[0]}")
            # a generous limit changes nothing, on this body and a small one
            p = scan("--format", "jsonl", "--time-limit", "600000", slow, body)
            eq(sorted(f["type"] for f in jsonl(p.stdout)),
               ["CREDIT_DEBIT_CARD_NUMBER", "CREDIT_DEBIT_CARD_NUMBER", "EMAIL"], "600 s: as without")
            for bad in ("0", "-5", "abc", "5ms", "3600001", ""):
                p = scan("--time-limit", bad, body)
                eq(p.returncode, 2, f"--time-limit {bad!r}: exit 2")
                check(b"--time-limit must be" in p.stderr, f"--time-limit {bad!r}: message {p.stderr!r}")
            eq(scan(body, "--time-limit").returncode, 2, "--time-limit without a value")
        r.run("--time-limit reports a body that takes too long as uninspectable", time_limit)

        def utf16_text_file():
            # a .txt file is declared text/plain; UTF-16 in it (with or without
            # a BOM) must be decoded, not scanned as bytes with NULs between
            # the digits (it was reported clean, exit 0)
            text = f"contact {EMAIL}, card {CARD}"
            for name, data in [("le-bom.txt", b"\xff\xfe" + text.encode("utf-16-le")),
                               ("be-bom.txt", b"\xfe\xff" + text.encode("utf-16-be")),
                               ("le.txt", text.encode("utf-16-le"))]:
                f = tmp.write(name, data)
                p = scan("--format", "jsonl", f)
                eq(p.returncode, 1, f"exit code for UTF-16 text in {name}")
                fs = jsonl(p.stdout)
                eq(sorted(x["type"] for x in fs), ["CREDIT_DEBIT_CARD_NUMBER", "EMAIL"], f"types in {name}")
                check(all(x["decoders"] == "utf16" for x in fs), f"decoder path utf16 in {name}: {fs}")
        r.run("UTF-16 in a .txt file (declared text/plain)", utf16_text_file)

        def escaped_values():
            # percent-encoding and HTML character references inside JSON and
            # text (reliability catalogue 4.1 cases 19 and 24) were scanned
            # as they are: an e-mail written john%40example.com passed clean
            cases = [
                ("pct.json", json.dumps({"prompt": "mail " + EMAIL.replace("@", "%40") + " now"}),
                 ["EMAIL"]),
                ("double.json", json.dumps({"q": "key %2541KIA5ZK6SXQ7BR2LMNOP"}), ["AWS_ACCESS_KEY"]),
                ("refs.html", "<td>" + EMAIL.replace("@", "&commat;") + "</td> card &#52;" + CARD[1:],
                 ["CREDIT_DEBIT_CARD_NUMBER", "EMAIL"]),
                ("glued.txt", "card %20" + CARD,
                 ["CREDIT_DEBIT_CARD_NUMBER"]),
                # homoglyphs (catalogue 4.1 case 25): a Cyrillic A in AKIA,
                # Cyrillic o and e in an address
                ("homoglyph.json", json.dumps({"p": "key \u0410KIA5ZK6SXQ7BR2LMNOP and b\u043eb@\u0435xample.com"},
                                              ensure_ascii=False), ["AWS_ACCESS_KEY", "EMAIL"]),
                # hex (catalogue 4.1 case 18)
                ("hex.json", json.dumps({"blob": "0x" + ("mail " + EMAIL).encode().hex().upper()}), ["EMAIL"]),
                # backslash escapes in text (cases 18, 21) and a card with dots (26)
                ("bslash.txt", "key \\x41\\x4bIA5ZK6SXQ7BR2LMNOP, mail bob\\u0040corp-mail.de",
                 ["AWS_ACCESS_KEY", "EMAIL"]),
                ("dots.txt", "card " + CARD.replace(" ", "."), ["CREDIT_DEBIT_CARD_NUMBER"]),
                ("lines.txt", "card:\n" + CARD.replace(" ", "\n") + "\n", ["CREDIT_DEBIT_CARD_NUMBER"]),
                # NFKC's letters and every script's digits (case 25)
                ("math.txt", "key \U0001d400\U0001d40a\U0001d408\U0001d4005ZK6SXQ7BR2LMNOP and card "
                 + CARD.translate({ord(d): 0xe50 + int(d) for d in "0123456789"}),
                 ["AWS_ACCESS_KEY", "CREDIT_DEBIT_CARD_NUMBER"]),
                # those letters as surrogate pairs written into text (case 21)
                ("pairs.txt", "key \\uD835\\uDC00\\uD835\\uDC0A\\uD835\\uDC08\\uD835\\uDC005ZK6SXQ7BR2LMNOP",
                 ["AWS_ACCESS_KEY"]),
                # XML (case 24): a key cut into CDATA sections, one cut by a
                # comment, an address in a character reference in an attribute
                ("cdata.xml", "<?xml version=\"1.0\"?><r><k><![CDATA[AKIA5ZK6]]><![CDATA[SXQ7BR2LMNOP]]></k>"
                 "<e v=\"bob&#64;corp-mail.de\"/></r>", ["AWS_ACCESS_KEY", "EMAIL"]),
                ("comment.xml", "<r><c>4111 1111<!-- x --> 1111 1111</c></r>", ["CREDIT_DEBIT_CARD_NUMBER"]),
                # HTML: a span or a comment inside a word, as a browser shows it
                ("page.html", "<html><body><p>key AKIA5ZK6<span></span>SXQ7<!-- x -->BR2LMNOP</p>"
                 "<p>card 4111 <b>1111</b> 1111 1111</p></body></html>",
                 ["AWS_ACCESS_KEY", "CREDIT_DEBIT_CARD_NUMBER"]),
                # en dashes and minus signs between the groups of a number, a
                # small commercial at and an ideographic full stop in an address
                ("dashes.txt", "card " + CARD.replace(" ", "\u2013") + " ssn 536\u221222\u22128451",
                 ["CREDIT_DEBIT_CARD_NUMBER", "US_SOCIAL_SECURITY_NUMBER"]),
                ("small.txt", "mail bob.smith\ufe6bcorp-mail\u3002de", ["EMAIL"]),
                # context words with accented letters, written in capitals
                # (a form's header): "né le", "födelsedatum" were matched in
                # lower case only
                ("dob.txt", "N\u00c9 LE 12/03/1980", ["DATE_OF_BIRTH"]),
                ("dob.json", json.dumps({"F\u00d6DELSEDATUM": "1980-03-12"}), ["DATE_OF_BIRTH"]),
                # overlong UTF-8 (case 27): C1 80 is '@' to a lenient reader
                ("overlong.txt", b"mail bob\xc1\x80corp-mail.de", ["EMAIL"]),
            ]
            for name, text, want in cases:
                f = tmp.write(name, text if isinstance(text, bytes) else text.encode())
                p = scan("--format", "jsonl", f)
                eq(p.returncode, 1, f"exit code for {name} ({p.stdout!r})")
                eq(sorted({x["type"] for x in jsonl(p.stdout)}), want, f"types in {name}")
            # double percent-encoding is read and flagged (catalogue 4.1 case
            # 19): a sign of evasion a policy author can see; one level is not
            flags = {}
            for name in ("double.json", "pct.json"):
                fs = jsonl(scan("--format", "jsonl", tmp.join(name)).stdout)
                flags[name] = [(x["type"], x.get("encoded", False), x.get("double_encoded", False)) for x in fs]
            eq(flags, {"double.json": [("AWS_ACCESS_KEY", True, True)], "pct.json": [("EMAIL", True, False)]},
               "double_encoded flag")
            # XML the scanner cannot read as its consumer would: refused
            for name, text, why in [
                    ("dtd.xml", "<!DOCTYPE a [<!ENTITY k \"AKIA5ZK6\">]><a>&k;SXQ7BR2LMNOP</a>",
                     "XML DTD with an internal subset not inspectable"),
                    ("utf7.xml", "<?xml version=\"1.0\" encoding=\"UTF-7\"?><a>+AEEASwBJ-</a>",
                     "XML encoding utf-7 not inspectable")]:
                p = scan("--format", "jsonl", tmp.write(name, text.encode()))
                eq(p.returncode, 1, f"exit code for {name} ({p.stdout!r})")
                eq([(x["type"], x.get("reason")) for x in jsonl(p.stdout)], [("UNINSPECTABLE", why)],
                   f"finding in {name}")
            # no valid escape: nothing found, no copy
            f = tmp.write("plain.json", json.dumps({"p": "growth 18.80% and R&D at 100%ZZ"}))
            eq(scan("--format", "jsonl", f).returncode, 0, "a bare % or & is not an escape")
        r.run("percent-encoded, HTML-escaped, hex-encoded, homoglyph and XML values", escaped_values)

        def opaque_base64():
            # base64 of bytes that are no text and no known format (an
            # encrypted blob: catalogue 4.1 case 40) cannot be seen into: it
            # is reported, so that a policy can deny it; a short one (a
            # signature, a nonce) and a DNA sequence are not
            blob = base64.b64encode(bytes((i * 73 + (i >> 3) * 151 + 128) & 0xff
                                          for i in range(3000))).decode()
            f = tmp.write("blob.json", json.dumps({"messages": [{"content": [{"text": blob}]}]}))
            p = scan("--format", "jsonl", f)
            eq(p.returncode, 1, f"exit code for an opaque blob ({p.stdout!r})")
            fs = jsonl(p.stdout)
            eq([(x["type"], x.get("reason")) for x in fs],
               [("UNINSPECTABLE", "base64 data that is no text (1 KiB or more)")], "finding")
            short = base64.b64encode(bytes(range(128, 256)) * 2).decode()
            dna = "".join("ACGT"[(i * 7 + i // 3) % 4] for i in range(4000))
            f = tmp.write("fine.json", json.dumps({"sig": short, "seq": dna}))
            p = scan("--format", "jsonl", f)
            eq((p.returncode, p.stdout), (0, b""), "a short blob and a DNA sequence are fine")
            # a binary file with no type: the reason says so (it read
            # "content-type (none) not inspectable")
            p = scan("--format", "jsonl", tmp.write("blob.dat", bytes(range(256)) * 4))
            eq([(x["type"], x.get("reason")) for x in jsonl(p.stdout)],
               [("UNINSPECTABLE", "binary content without a content-type not inspectable")],
               "binary file without a type")
        r.run("base64 that is no text is reported uninspectable", opaque_base64)

        def certificates():
            # A PEM certificate is base64 of DER, no text: every certificate
            # of 1 KiB or more was reported uninspectable, so a policy that
            # denies what it cannot see denied ACM ImportCertificate and CA
            # bundles. Now the names in it are read (made with the openssl
            # command line, RSA: 1 KiB and more, padded base64 or not)
            def mk(name, subj, san=None, req=False):
                out = os.path.join(tmp.path, name)
                cmd = ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", os.devnull,
                       "-subj", subj, "-out", out] + ([] if req else ["-x509", "-days", "2"])
                if san:
                    cmd += ["-addext", f"subjectAltName={san}"]
                subprocess.run(cmd, check=True, capture_output=True, timeout=60)
                return out
            plain = [mk(f"host{i}.pem", f"/CN=host{i}.example/O=Example") for i in range(4)]
            bundle = tmp.write("bundle.pem", b"".join(open(f, "rb").read() for f in plain))
            acm = tmp.write("import.json", json.dumps({
                "Certificate": base64.b64encode(open(plain[0], "rb").read()).decode(),
                "CertificateChain": base64.b64encode(open(bundle, "rb").read()).decode()}))
            for f in plain + [bundle]:
                p = scan("--format", "jsonl", f)
                eq((p.returncode, p.stdout), (0, b""), f"a certificate without personal data: {f}")
            p = scan("--format", "jsonl", "--content-type", "application/x-amz-json-1.1", acm)
            eq((p.returncode, p.stdout), (0, b""), "ACM ImportCertificate body")
            person = mk("person.pem", f"/CN=Bob Smith/emailAddress={EMAIL}",
                        "email:alice@example.org,IP:10.1.2.3,"
                        "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:jane@corp-mail.de")
            csr = mk("person.csr", f"/CN=Bob Smith/emailAddress={EMAIL}", req=True)
            der = os.path.join(tmp.path, "person.der")
            subprocess.run(["openssl", "x509", "-in", person, "-outform", "der", "-out", der],
                           check=True, timeout=60)
            p7b = os.path.join(tmp.path, "chain.p7b")
            subprocess.run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", plain[0], "-certfile", person,
                            "-out", p7b], check=True, timeout=60)
            want = ["EMAIL", "EMAIL", "EMAIL", "EMAIL", "IP_ADDRESS"]  # subject, 3 names, issuer
            for f, ct, n in [(person, None, want), (csr, None, ["EMAIL"]), (p7b, None, want),
                             (der, None, want), (der, "application/pkix-cert", want)]:
                p = scan("--format", "jsonl", *(["--content-type", ct] if ct else []), f)
                eq(p.returncode, 1, f"exit code for {f} ({p.stdout!r})")
                fs = jsonl(p.stdout)
                eq(sorted(x["type"] for x in fs), n, f"types in {f} ({ct})")
                if f == der:
                    eq({x["decoders"] for x in fs}, {"x509"}, "decoder path of DER")
                for x in fs:
                    check(all(v not in x["excerpt"] for v in (EMAIL, "alice@", "jane@", "10.1.2.3")),
                          f"excerpt masked: {x['excerpt']!r}")
            # what an extension of its own carries is looked at too (a
            # certificate is no envelope for a key): found, in PEM and DER
            ext = os.path.join(tmp.path, "ext.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", os.devnull,
                            "-subj", "/CN=h.example", "-days", "2", "-out", ext, "-addext",
                            "1.2.3.4.5=ASN1:UTF8String:key AKIA5ZK6SXQ7BR2LMNOP"],
                           check=True, capture_output=True, timeout=60)
            p = scan("--format", "jsonl", ext)
            eq([x["type"] for x in jsonl(p.stdout)], ["AWS_ACCESS_KEY"], "a key in an extension")
            # ... and in the bytes of a field that is no text (the serial number)
            ser = os.path.join(tmp.path, "serial.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", os.devnull,
                            "-subj", "/CN=h.example", "-days", "2", "-out", ser,
                            "-set_serial", "0x" + b"AKIA5ZK6SXQ7BR2LMNOP".hex()],
                           check=True, capture_output=True, timeout=60)
            p = scan("--format", "jsonl", ser)
            eq([x["type"] for x in jsonl(p.stdout)], ["AWS_ACCESS_KEY"], "a key as the serial number")
            # DER that is no certificate: reported, declared, sniffed or in base64
            junk = b"\x30\x82\x07\xcc\x30\x82\x07\x00" + bytes(
                (i * 73 + (i >> 3) * 151 + 128) & 0xff for i in range(2000))
            f = tmp.write("junk.der", junk)
            g = tmp.write("junk.json", json.dumps({"c": base64.b64encode(junk).decode()}))
            for args in [(f,), ("--content-type", "application/pkix-cert", f), (g,)]:
                p = scan("--format", "jsonl", *args)
                eq([(x["type"], x.get("reason")) for x in jsonl(p.stdout)],
                   [("UNINSPECTABLE", "DER data that is no certificate")], f"finding for {args}")
        r.run("certificates: their names are read, other DER is reported", certificates)

        def private_keys():
            # A private key without its PEM lines (a JSON field, a base64
            # file, a DER or PKCS#12 file) passed clean when short (EC,
            # Ed25519) and was merely uninspectable when long (RSA); it is a
            # PRIVATE_KEY secret now (keys made with openssl and ssh-keygen)
            def sh(*cmd):
                subprocess.run(cmd, check=True, capture_output=True, timeout=60)
            keys = {}
            for name, alg in [("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                              ("ec", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                              ("ed", ["-algorithm", "ED25519"])]:
                keys[name] = os.path.join(tmp.path, name + ".pem")
                sh("openssl", "genpkey", *alg, "-out", keys[name])
            enc = os.path.join(tmp.path, "enc.pem")
            sh("openssl", "pkcs8", "-topk8", "-in", keys["ec"], "-v2", "aes-256-cbc", "-passout", "pass:x",
               "-out", enc)
            keys["enc"] = enc
            trad = os.path.join(tmp.path, "trad.pem")
            sh("openssl", "pkey", "-in", keys["rsa"], "-traditional", "-out", trad)
            keys["trad"] = trad
            cert = os.path.join(tmp.path, "kc.pem")
            sh("openssl", "req", "-x509", "-key", keys["ec"], "-subj", "/CN=k.example", "-days", "2",
               "-out", cert)
            p12 = os.path.join(tmp.path, "k.p12")
            sh("openssl", "pkcs12", "-export", "-in", cert, "-inkey", keys["ec"], "-passout", "pass:x",
               "-out", p12)
            ssh = os.path.join(tmp.path, "id_ed25519")
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ssh)
            keys["ssh"] = ssh
            reasons = {"rsa": "PKCS#8 private key in DER", "ec": "PKCS#8 private key in DER",
                       "ed": "PKCS#8 private key in DER", "enc": "encrypted PKCS#8 private key in DER",
                       "trad": "RSA private key in DER", "ssh": "OpenSSH private key"}
            for name, f in keys.items():
                pem = open(f).read()
                body = "".join(l for l in pem.splitlines() if not l.startswith("-----"))
                # the PEM file: its header's finding, none more
                p = scan("--format", "jsonl", f)
                eq([(x["type"], x["start"]) for x in jsonl(p.stdout)], [("PRIVATE_KEY", 0)], f"PEM {name}")
                # its body alone, in JSON (7-byte pieces from standard input too)
                js = tmp.write(name + ".json", json.dumps({"deploy": {"key": body}}))
                for args, inp in [((js,), None), (("-",), open(js, "rb").read())]:
                    p = scan("--format", "jsonl", "--content-type", "application/json", *args, input=inp)
                    eq(p.returncode, 1, f"exit code for {name} in JSON")
                    eq([(x["type"], x["category"], x.get("reason")) for x in jsonl(p.stdout)],
                       [("PRIVATE_KEY", "SECRET", reasons[name])], f"{name} key in JSON")
                # its bytes in hex: a JSON field, and `xxd -p`'s 60-digit
                # lines in a text file (an Ed25519 key in hex passed clean)
                hx = base64.b64decode(body).hex()
                for label, data, ct in [("hexjson", json.dumps({"key": hx}), "application/json"),
                                        ("xxd", "".join(hx[i:i + 60].upper() + "\n"
                                                        for i in range(0, len(hx), 60)), "text/plain")]:
                    hf = tmp.write(f"{name}-{label}.txt", data)
                    p = scan("--format", "jsonl", "--content-type", ct, hf)
                    eq([(x["type"], x.get("reason")) for x in jsonl(p.stdout)],
                       [("PRIVATE_KEY", reasons[name])], f"{name} key, {label}")
                # not a secret without the secrets pack, but never clean
                p = scan("--format", "jsonl", "--packs", "pii-core", js)
                eq([(x["type"], x.get("reason")) for x in jsonl(p.stdout)],
                   [("UNINSPECTABLE", reasons[name])], f"{name} key, pii-core only")
            der = os.path.join(tmp.path, "ec.der")
            sh("openssl", "pkey", "-in", keys["ec"], "-outform", "der", "-out", der)
            for f, ct, why in [(der, None, "EC private key in DER"),  # (pkey writes SEC1)
                               (der, "application/pkcs8", "EC private key in DER"),
                               (p12, None, "PKCS#12 key store in DER"),
                               (p12, "application/x-pkcs12", "PKCS#12 key store in DER")]:
                p = scan("--format", "jsonl", *(["--content-type", ct] if ct else []), f)
                eq([(x["type"], x["decoders"], x.get("reason")) for x in jsonl(p.stdout)],
                   [("PRIVATE_KEY", "x509", why)], f"{f} ({ct})")
            # random bytes in base64 are no key
            rnd = tmp.write("rnd.json", json.dumps({"k": base64.b64encode(bytes(
                (i * 73 + (i >> 3) * 151 + 128) & 0xff for i in range(180))).decode()}))
            p = scan("--format", "jsonl", rnd)
            eq((p.returncode, p.stdout), (0, b""), "random base64")
        r.run("private keys without PEM lines are found by their structure", private_keys)

        def vendor_tokens():
            # One token of each vendor type the secrets pack knows, in a
            # JSON prompt as a model's user would paste it, fed on standard
            # input: each found with its type, none as another, and the
            # excerpt never holding the token
            import random
            import string
            rnd = random.Random(7)

            def tok(n, alpha=string.ascii_letters + string.digits):
                return "".join(rnd.choice(alpha) for _ in range(n))
            hexd = "0123456789abcdef"

            def guid():
                return "-".join(tok(k, hexd) for k in (8, 4, 4, 4, 12))
            want = {
                "SHOPIFY_TOKEN": "shpat_" + tok(32, hexd), "DATABRICKS_TOKEN": "dapi" + tok(32, hexd),
                "DIGITALOCEAN_TOKEN": "dop_v1_" + tok(64, hexd), "DOPPLER_TOKEN": "dp.pt." + tok(43),
                "PYPI_TOKEN": "pypi-AgEIcHlwaS5vcmc" + tok(70), "RUBYGEMS_TOKEN": "rubygems_" + tok(48, hexd),
                "POSTMAN_TOKEN": "PMAK-" + tok(24, hexd) + "-" + tok(34, hexd),
                "PULUMI_TOKEN": "pul-" + tok(40, hexd), "NEWRELIC_KEY": "NRAK-" + tok(27, string.ascii_uppercase),
                "GRAFANA_TOKEN": "glsa_" + tok(32) + "_" + tok(8, hexd), "LINEAR_API_KEY": "lin_api_" + tok(40),
                "HASHICORP_TOKEN": "hvs." + tok(95), "ATLASSIAN_API_TOKEN": "ATATT3" + tok(177) + "=" + tok(8, hexd),
                "SQUARE_TOKEN": "sq0csp-" + tok(43), "DYNATRACE_TOKEN": "dt0c01." + tok(24) + "." + tok(64),
                "AGE_SECRET_KEY": "AGE-SECRET-KEY-1" + tok(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"),
                "ONEPASSWORD_TOKEN": "ops_eyJ" + tok(300), "FLYIO_TOKEN": "fo1_" + tok(43),
                "PLANETSCALE_TOKEN": "pscale_tkn_" + tok(40), "ALIBABA_ACCESS_KEY": "LTAI" + tok(20),
                "AZURE_AD_CLIENT_SECRET": tok(3) + "8Q~" + tok(34), "GOOGLE_OAUTH_CLIENT_SECRET": "GOCSPX-" + tok(28),
                "SENTRY_TOKEN": "sntryu_" + tok(64, hexd), "PREFECT_API_KEY": "pnu_" + tok(36),
                "HEROKU_API_KEY": "HRKU-AA" + tok(58), "GROQ_API_KEY": "gsk_" + tok(52),
                "REPLICATE_API_TOKEN": "r8_" + tok(37), "PERPLEXITY_API_KEY": "pplx-" + tok(48),
                "XAI_API_KEY": "xai-" + tok(80), "GITLAB_TOKEN": "glptt-" + tok(40, hexd),
                "AWS_BEDROCK_API_KEY": "ABSK" + tok(120),
                "DISCORD_WEBHOOK": "https://discord.com/api/webhooks/" + tok(18, string.digits) + "/" + tok(68),
                "MICROSOFT_TEAMS_WEBHOOK": "https://contoso.webhook.office.com/webhookb2/" + guid() + "@" + guid() +
                                           "/IncomingWebhook/" + tok(32, hexd) + "/" + guid(),
                "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjE" + tok(600, string.ascii_letters + string.digits + "+/"),
                "AZURE_SAS_TOKEN": "https://acct.blob.core.windows.net/c/q3.pdf?sv=2022-11-02&sp=r&spr=https&sig="
                                   + tok(43, string.ascii_letters + string.digits + "+/")
                                   .replace("+", "%2B").replace("/", "%2F") + "%3D",
            }
            for t, v in want.items():
                body = json.dumps({"messages": [{"role": "user", "content": [
                    {"text": f"why does this fail? export KEY={v} then the call returns 401"}]}]}).encode()
                p = scan("--format", "jsonl", "--content-type", "application/json", "-", input=body)
                fs = jsonl(p.stdout)
                eq((p.returncode, [x["type"] for x in fs]), (1, [t]), f"{t} in a prompt")
                check(all(v not in x["excerpt"] for x in fs), f"{t}: excerpt holds the token")
            # placeholders of the right shape are no tokens
            for v in ["gsk_" + "X" * 52, "r8_" + "0" * 37, "lin_api_" + "x" * 40]:
                p = scan("--format", "jsonl", "-", input=f"key {v} here".encode())
                eq((p.returncode, p.stdout), (0, b""), f"placeholder {v[:8]}")
        r.run("vendor tokens of every provider the secrets pack knows", vendor_tokens)

        def byte_lists():
            # A value written one byte per number, as code prints bytes: a
            # C array, a Java one (signed), a Python list in a prompt, hex
            # pairs with ':' as openssl and Wireshark print them, JSON
            # arrays of numbers. Before, all of them passed clean
            key = "AKIAZ5K3TQ7WMXJ2LBPQ"
            c_src = ("#include <stdint.h>\n/* test credentials */\nstatic const uint8_t token[] = {\n    " +
                     ",\n    ".join(", ".join("0x%02x" % b for b in key.encode()[i:i + 8])
                                    for i in range(0, len(key), 8)) + "\n};\n")
            der = os.path.join(tmp.path, "list-key.der")
            subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-outform", "DER", "-out", der],
                           check=True, capture_output=True, timeout=60)
            raw = open(der, "rb").read()
            java = ("class K {\n  static final byte[] KEY = {" +
                    ", ".join(str(b - 256 if b > 127 else b) for b in raw) + "};\n}\n")
            prompt = json.dumps({"messages": [{"role": "user", "content": [
                {"text": "what does this decode to? data = " + str(list(b"write to anna.berg@example.org"))}]}]})
            colons = "payload:\n    " + ":".join("%02x" % b for b in b"card 4111 1111 1111 1111") + "\n"
            # a Buffer through JSON.stringify (Node), and a key's bytes as a
            # JSON array of signed bytes
            node_buf = json.dumps({"event": "upload", "body": {"type": "Buffer", "data": list(key.encode())}})
            key_arr = json.dumps({"k": [b - 256 if b > 127 else b for b in raw]})
            cases = [("token.c", c_src, None, "AWS_ACCESS_KEY"), ("K.java", java, None, "PRIVATE_KEY"),
                     ("prompt.json", prompt, "application/json", "EMAIL"),
                     ("dump.txt", colons, None, "CREDIT_DEBIT_CARD_NUMBER"),
                     ("buffer.json", node_buf, "application/json", "AWS_ACCESS_KEY"),
                     ("key.json", key_arr, "application/json", "PRIVATE_KEY")]
            for name, body, ct, typ in cases:
                f = tmp.write(name, body.encode())
                for args, inp in [((f,), None), (("-",), body.encode())]:
                    p = scan("--format", "jsonl", *(["--content-type", ct] if ct else []), *args, input=inp)
                    fs = jsonl(p.stdout)
                    eq((p.returncode, [x["type"] for x in fs]), (1, [typ]), f"{name} ({args[0]})")
                    check(all(x.get("encoded") for x in fs), f"{name}: finding not marked encoded")
            # base32 (RFC 4648), as `base32` writes it: wrapped at 76
            b32 = base64.b32encode(("export AWS_ACCESS_KEY_ID=" + key + " then retry the upload").encode()).decode()
            f = tmp.write("b32.txt", "".join(b32[i:i + 76] + "\n" for i in range(0, len(b32), 76)).encode())
            p = scan("--format", "jsonl", f)
            eq((p.returncode, [x["type"] for x in jsonl(p.stdout)]), (1, ["AWS_ACCESS_KEY"]), "base32")
            # numbers that are no text stay clean: a CSV of measurements
            csv = "t,a,b,c\n" + "".join("%d, %d, %d, %d\n" % (i, i * 7 % 200, i * 13 % 250, i % 9)
                                          for i in range(200))
            p = scan("--format", "jsonl", tmp.write("m.csv", csv.encode()))
            eq((p.returncode, p.stdout), (0, b""), "a table of numbers")
        r.run("byte lists in code and dumps, and base32, are decoded", byte_lists)

        def idn_addresses():
            # An address with an internationalised domain (bob@müller.de)
            # was not found at all (the patterns are ASCII, as RFC 5321 is);
            # now through an ASCII copy, with the original's span. German
            # text around an address makes no copy and no finding
            # A local part with letters of Latin, Greek or Cyrillic (RFC 6531:
            # josé@, иван@) was missed when such a letter stood before the
            # '@', and cut at its first one otherwise; now found whole
            addrs = ("bob@müller.de", "jürgen@bücher-öffnen.de", "josé@example.com", "иван@example.com",
                     "Ζωή@example.gr")
            body = ("Grüße, schreib an bob@müller.de oder jürgen@bücher-öffnen.de. Danke, Jürgen\n"
                    "Auch josé@example.com (Madrid), иван@example.com und Ζωή@example.gr.\n")
            f = tmp.write("idn.txt", body.encode())
            p = scan("--format", "jsonl", f)
            eq(p.returncode, 1, f"exit code ({p.stdout!r})")
            raw = body.encode()
            want = [(raw.index(a.encode()), raw.index(a.encode()) + len(a.encode())) for a in addrs]
            eq([(x["type"], x["start"], x["end"]) for x in jsonl(p.stdout)],
               [("EMAIL", a, b) for a, b in want], "IDN addresses and their spans")
            eq([x["excerpt"] for x in jsonl(p.stdout)][2:],
               ["j***@example.com", "и***@example.com", "Ζ***@example.gr"], "excerpts keep whole letters")
            f = tmp.write("de.txt", "Grüße aus Köln, schön wär's, Jürgen Müller\n".encode())
            p = scan("--format", "jsonl", f)
            eq((p.returncode, p.stdout), (0, b""), "German text")
        r.run("addresses with an internationalised domain", idn_addresses)

        def ordinary_files_clean():
            # What an assistant's prompts and a policy author's trees are full
            # of was reported: assignments in code (pwd = os.getcwd()) as
            # GENERIC_SECRET, columns of figures as cards, NIRs and phone
            # numbers, versions as IP addresses, systemd units as e-mail
            # addresses, an INI file (untyped, "[section]") as malformed JSON
            code = tmp.write("app.py", (
                "import os\n\ndef login(self, credentials):\n"
                "    pwd = os.getcwd()\n    self.password = self.distribution.password\n"
                "    token = line[start:pos]\n    password = credentials\n"
                "    api_key = os.environ.get('OPENAI_API_KEY')\n"
                "    client.publish('pkg', {'token': 'myregistrytoken'})\n"
                "    url = 'http://user:pass@localhost/repo.git'\n"
                "    # see Git 1.6.5.5 and linux-2.6.16.60; +35236450.6\n").encode())
            table = tmp.write("table.txt", (
                "  0 5 10 15 20 25 30 35 40 45\n  50 55 59 64 69 74 79 84 89 94\n"
                "  5226 5259 5293 5326 5360 5394 5428 5462 5496 5531\n"
                "  11906 11959 12014 12068 12122 12177 12231 12286 12341 12396\n"
                "  870 882 894 906 918 930 942 954 967 979 992 1004 1017 1030\n").encode())
            log = tmp.write("term.log", (
                "Created symlink /etc/systemd/system/getty.target.wants/getty@tty1.service\n"
                "Setting up dpkg (1.4.1.2) ...\n").encode())
            ini = tmp.write("EXTERNALLY-MANAGED", b"[externally-managed]\nError=use apt install python3-xyz\n")
            p = scan("--format", "jsonl", code, table, log, ini)
            eq((p.returncode, jsonl(p.stdout)), (0, []), "code, tables, logs and an INI file scan clean")
            # ... while a config file's secret, a literal in code, and an
            # address next to its word still are found
            env = tmp.write("prod.env", b"DB_PASSWORD=s3cr3t!Kx9qLm\n")
            lit = tmp.write("proxy.py", b"handler = ProxyHandler(passwd='geheim$parole')\n")
            dns = tmp.write("resolv.conf", b"nameserver 8.8.8.8\n")
            sh = tmp.write("deploy.sh", (
                "#!/bin/sh\nexport OPENAI_KEY=Zk3q9XbT2mLp8RvW5nJcQ7\nexport S3_KEY=uploads/2024/r-7f3a9c.pdf\n"
                "curl -fsS -u deploy:S3cr3t-Pa55 https://ci.internal/hook\ncurl -u \"$USER:$TOKEN\" https://ci/x\n"
                "docker run -u 1000:1000 img && mysqldump -uroot -pK9x!mQ2zL app > app.sql && mysql -u root -p\n"
                ).encode())
            p = scan("--format", "jsonl", env, lit, dns, sh)
            eq(p.returncode, 1, "exit code")
            eq([(os.path.basename(x["path"]), x["type"]) for x in jsonl(p.stdout)],
               [("prod.env", "GENERIC_SECRET"), ("proxy.py", "GENERIC_SECRET"), ("resolv.conf", "IP_ADDRESS")] +
               [("deploy.sh", "GENERIC_SECRET")] * 3,
               "secrets in config and literals, an address with its word, passwords on command lines")
            eq([x["excerpt"] for x in jsonl(p.stdout)][3:], ["Zk3q******************", "S3*********", "K9*******"],
               "the *_KEY value, curl's and mysqldump's passwords")
        r.run("code, tables of numbers, versions and logs are no findings", ordinary_files_clean)

        def key_value_secrets():
            # {"password": "…"} passed clean: the JSON decoder hands the key
            # and the value over apart, and the patterns need "password=" in
            # the text. A value whose key names a secret is one now, with the
            # value's span; AWS's paging and ids, and placeholders, are none
            cfg = {"db": {"host": "db.internal", "password": "Zk3q9XbT2mLp"},
                   "headers": {"Authorization": "Bearer Zk3q9XbT2mLp8RvW5nJc"}}
            text = json.dumps(cfg)
            f = tmp.write("config.json", text)
            p = scan("--format", "jsonl", f)
            eq(p.returncode, 1, f"exit code ({p.stderr!r})")
            fs = jsonl(p.stdout)
            eq([(x["type"], x["excerpt"]) for x in fs],
               [("GENERIC_SECRET", "Zk3q********"), ("GENERIC_SECRET", "Zk3q****************")],
               "the password and the bearer token")
            aws = tmp.write("list.json", json.dumps({
                "NextToken": "AAAAZk3q9XbT2mLp8RvW5nJc", "SecretId": "prod/db/Zk3q9XbT2mLp",
                "clientToken": "Zk3q9XbT2mLp8RvW", "max_tokens": 4096, "password": "changeme",
                "api_key": "${OPENAI_API_KEY}"}))
            p = scan("--format", "jsonl", aws)
            eq((p.returncode, jsonl(p.stdout)), (0, []), "paging tokens, ids and placeholders")
            form = subprocess.run([SOVGW, "scan", "--content-type", "application/x-www-form-urlencoded", "-"],
                                  input=b"user=bob&pwd=Zk3q9XbT2mLp", capture_output=True, timeout=60)
            eq(form.returncode, 1, "a form's pwd field")
            # Docker's config.json: "auth" holds user:password in base64;
            # as the file, and pasted into a prompt
            auth = base64.b64encode(b"deploy:S3cr3tPa55w0rd").decode()
            dcfg = json.dumps({"auths": {"registry.corp.io": {"auth": auth}}, "credsStore": "desktop"}, indent=2)
            for name, body in [("docker-config.json", dcfg),
                               ("docker-prompt.json", json.dumps({"messages": [{"role": "user",
                                                                  "content": "pull fails:\n" + dcfg}]}))]:
                p = scan("--format", "jsonl", tmp.write(name, body.encode()))
                eq([(x["type"], x["excerpt"][:4]) for x in jsonl(p.stdout)], [("GENERIC_SECRET", auth[:4])],
                   f"Docker's auth in {name}")
            # configuration files in XML name the value in another attribute
            # (.NET, Spring) or in a key attribute of the element (Java)
            xml = tmp.write("web.config", (
                '<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <appSettings>\n'
                '    <add key="Theme" value="Xy7Zr2vXk9LmT4wY" />\n'
                '    <add key="Payments:ApiKey" value="q8Zr2vXk9LmT4wYz" />\n'
                '    <property name="jdbc.password" value="Zk3q9XbT2mLp"/>\n'
                '    <entry key="mail.smtp.password">Ab3dE5gH7jK9</entry>\n'
                '  </appSettings>\n</configuration>\n').encode())
            p = scan("--format", "jsonl", xml)
            eq(p.returncode, 1, f"exit code ({p.stderr!r})")
            eq([(x["type"], x["decoders"], x["excerpt"]) for x in jsonl(p.stdout)],
               [("GENERIC_SECRET", "xml", "q8Zr************"), ("GENERIC_SECRET", "xml", "Zk3q********"),
                ("GENERIC_SECRET", "xml", "Ab3d********")], "the three values a key attribute names, not Theme")
        r.run("values whose key names a secret (JSON, forms, XML)", key_value_secrets)

        def web_page_in_a_prompt():
            # A prompt carrying an ordinary web page (&nbsp; and &#39; on
            # every line) was UNINSPECTABLE: the decoded copies of the text
            # around its escapes passed 8 KiB in one JSON string, and a
            # policy that denies what it cannot see denied it. They are held
            # up to 256 KiB now; a card the page hides behind references is
            # still found, and more copies than that are still reported
            page = "".join("<p>Paragraph %d&nbsp;of ordinary prose, it&#39;s fine.</p>\n" % i for i in range(600))
            hidden = "<p>card 4111&#32;1111&#32;1111&#32;1111</p>\n"
            body = json.dumps({"messages": [{"role": "user", "content": "Summarize:\n" + page + hidden}]})
            f = tmp.write("page.json", body)
            p = scan("--format", "jsonl", "--content-type", "application/json", f)
            eq(p.returncode, 1, f"exit code ({p.stderr!r})")
            eq([(x["type"], x["decoders"]) for x in jsonl(p.stdout)], [("CREDIT_DEBIT_CARD_NUMBER", "json")],
               "the card behind the references, nothing uninspectable")
            big = json.dumps({"messages": [{"role": "user", "content": "&nbsp;" * 300000}]})
            f = tmp.write("big.json", big)
            p = scan("--format", "jsonl", "--content-type", "application/json", f)
            eq([(x["type"], x.get("reason")) for x in jsonl(p.stdout)],
               [("UNINSPECTABLE", "escaped text over 262144 bytes in one unit")], "past the hold")
        r.run("a web page in a prompt is inspectable", web_page_in_a_prompt)

        def csv_columns():
            # A table's header names its columns: a bare 9-digit number under
            # "ssn" and a date under "dob" are findings in every row, not only
            # in the first one or two (read as raw text, the header's words
            # were context within 64 bytes only: 2 of 100 SSNs, no birth
            # date). A column of 9-digit order numbers stays clean.
            rows = ["name,ssn,dob,email,order_no"] + [
                f"Person {i},{536221800 + i},19{50 + i % 40}-0{1 + i % 9}-1{i % 10},p{i}@corp.de,{700000000 + i}"
                for i in range(100)]
            f = tmp.write("people.csv", "\n".join(rows) + "\n")
            p = scan("--format", "jsonl", f)
            fs = jsonl(p.stdout)
            counts = {}
            for x in fs:
                counts[x["type"]] = counts.get(x["type"], 0) + 1
            eq(counts, {"US_SOCIAL_SECURITY_NUMBER": 100, "DATE_OF_BIRTH": 100, "EMAIL": 100},
               "every row's SSN, birth date and address; no order number")
            eq({x["decoders"] for x in fs}, {"csv"}, "read by the CSV decoder")
            text = "\n".join(rows) + "\n"
            eq(sorted({text[x["start"]:x["end"]][:3] for x in fs if x["type"] == "US_SOCIAL_SECURITY_NUMBER"}),
               ["536"], "the file's own offsets (a plain file's): each SSN's span holds it")
            # the same as TSV, and ';' as Excel writes it in much of Europe
            for name, sep in (("people.tsv", "\t"), ("people-eu.csv", ";")):
                f = tmp.write(name, "\n".join(r.replace(",", sep) for r in rows) + "\n")
                p = scan("--format", "jsonl", f)
                eq(sorted({x["type"] for x in jsonl(p.stdout)}),
                   ["DATE_OF_BIRTH", "EMAIL", "US_SOCIAL_SECURITY_NUMBER"], name)
                eq(len(jsonl(p.stdout)), 300, f"{name}: every row")
        r.run("a CSV's header names its columns: every row's values have their context", csv_columns)

        def charsets_and_depth():
            # Text in a declared charset other than UTF-8/UTF-16 (an Excel
            # CSV export in windows-1251, Latin-1 mail) was UNINSPECTABLE
            # ("charset windows-1251 not inspectable"), and a policy that
            # denies what it cannot see denied it; it is converted with
            # iconv now, its letters read too (the French birth-date words)
            csv = "Фамилия;Почта;Карта\nИванов;ivan.petrov@corp-mail.ru;4111 1111 1111 1111\n"
            f = tmp.write("export.csv", csv.encode("cp1251"))
            p = scan("--format", "jsonl", "--content-type", "text/csv; charset=windows-1251", f)
            eq(p.returncode, 1, f"exit code ({p.stderr!r})")
            eq(sorted((x["type"], x["decoders"]) for x in jsonl(p.stdout)),
               [("CREDIT_DEBIT_CARD_NUMBER", "windows-1251>csv"), ("EMAIL", "windows-1251>csv")],
               "windows-1251 CSV")
            f = tmp.write("latin1.txt", "Jean Dupont, né le 12/03/1985 à Lyon\n".encode("latin-1"))
            p = scan("--format", "jsonl", "--content-type", "text/plain; charset=ISO-8859-1", f)
            eq([x["type"] for x in jsonl(p.stdout)], ["DATE_OF_BIRTH"], "the birth-date words in Latin-1")
            # a stateful charset (UTF-7 hides "@" as "+AEA-") stays refused
            f = tmp.write("utf7.txt", b"write to anna+AEA-example.org")
            p = scan("--format", "jsonl", "--content-type", "text/plain; charset=utf-7", f)
            eq([x.get("reason") for x in jsonl(p.stdout)], ["stateful charset utf-7 not inspectable"], "UTF-7")
            p = scan("--format", "jsonl", "--content-type", "text/plain; charset=x-unheard-of", f)
            eq([x.get("reason") for x in jsonl(p.stdout)], ["charset x-unheard-of not inspectable"],
               "a charset iconv does not know")
            # untyped: words in an 8-bit charset are text (the Free Pascal
            # sources' dbf_str_ru.pas), random bytes are not
            f = tmp.write("strings_ru.pas", ("// строки\nS := 'Файл не найден, пишите ivan@corp-mail.ru';\n"
                                             * 20).encode("cp1251"))
            p = scan("--format", "jsonl", f)
            eq({(x["type"], x["decoders"]) for x in jsonl(p.stdout)}, {("EMAIL", "8bit")}, "8-bit text sniffed")
            f = tmp.write("random.bin", bytes((i * 7919 + 13) % 251 for i in range(3000)))
            p = scan("--format", "jsonl", f)
            eq([x["type"] for x in jsonl(p.stdout)], ["UNINSPECTABLE"], "binary still uninspectable")
            # JSON nested deeper than 64 (AWS's S3 endpoint rule set: 79) was
            # UNINSPECTABLE; the limit is 256
            deep = "[" * 100 + json.dumps({"mail": EMAIL}) + "]" * 100
            p = scan("--format", "jsonl", "--content-type", "application/json", tmp.write("deep.json", deep))
            eq([x["type"] for x in jsonl(p.stdout)], ["EMAIL"], "100 levels")
            deeper = "[" * 300 + "1" + "]" * 300
            p = scan("--format", "jsonl", "--content-type", "application/json", tmp.write("deeper.json", deeper))
            eq([x.get("reason") for x in jsonl(p.stdout)], ["JSON nesting deeper than 256 at byte 256"],
               "past the limit")
        r.run("other charsets, 8-bit text, deep JSON", charsets_and_depth)

        def kinesis_records_are_no_jwt():
            # Kinesis and Firehose carry each record as base64, and base64
            # of a JSON object begins with eyJ as a JWT does: every record at
            # the end of its string was a JWT (a SECRET), so a policy that
            # denies secrets denied ordinary data. A JWT's header has "alg"
            recs = [json.dumps({"event": "signup", "mail": EMAIL}), json.dumps({"event": "click", "n": 42})]
            body = json.dumps({"DeliveryStreamName": "s", "Records": [
                {"Data": base64.b64encode(x.encode()).decode()} for x in recs]})
            p = scan("--format", "jsonl", "--content-type", "application/x-amz-json-1.1", "-", input=body.encode())
            eq([(x["type"], x.get("encoded", False)) for x in jsonl(p.stdout)], [("EMAIL", True)],
               "the mail inside, no JWT")
            jwt = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
                   "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
            p = scan("--format", "jsonl", "--content-type", "application/json", "-",
                     input=json.dumps({"headers": {"X-Id": jwt}}).encode())
            eq([x["type"] for x in jsonl(p.stdout)], ["JWT"], "a JWT")
        r.run("Kinesis records (base64 JSON) are no JWTs", kinesis_records_are_no_jwt)

        def paging_tokens_pass():
            # An AWS paging token (NextToken), a Step Functions task token or
            # an SQS receipt handle is the service's own ciphertext, handed
            # back as base64; past 1 KiB it was "base64 data that is no
            # text", so a fail-closed policy stopped a listing from paging
            # on. Under such a key the run may reach 4 KiB
            blob = bytes((i * 7919 + (i >> 2) * 31 + 11) % 256 for i in range(1500))
            tok = base64.b64encode(b"\x80" + blob).decode()
            for body in ({"NextToken": tok, "MaxResults": 50}, {"taskToken": tok, "output": "{}"},
                         {"Entries": [{"Id": "1", "ReceiptHandle": tok}]}):
                p = scan("--format", "jsonl", "--content-type", "application/x-amz-json-1.1", "-",
                         input=json.dumps(body).encode())
                eq((p.returncode, p.stdout), (0, b""), f"{list(body)[0]}")
            p = scan("--format", "jsonl", "--content-type", "application/x-amz-json-1.1", "-",
                     input=json.dumps({"Data": tok}).encode())
            eq([x.get("reason") for x in jsonl(p.stdout)], ["base64 data that is no text (1 KiB or more)"],
               "the same bytes under another key")
        r.run("paging tokens, task tokens and receipt handles pass", paging_tokens_pass)

        def long_wrapped_runs():
            # A token on a line of its own after 8 KiB or more of base64 or
            # hex (a MIME attachment, an `xxd -p` dump) was read as part of
            # the block and lost; hex of more than 4 KiB of text, and a hex
            # dump wrapped in lines, were not decoded at all; hex of random
            # bytes passed clean where its base64 was reported
            text = ("the quarterly figures look fine " * 399).encode()  # no padding
            key = "AKIA5ZK6SXQ7BR2LMNOP"
            b64 = base64.encodebytes(text).decode()  # 76 a line
            hexd = (text + b" key " + key.encode() + b" end").hex()
            cases = [
                ("after-b64.txt", b64 + key + "\nthanks\n", ["AWS_ACCESS_KEY"]),
                ("after-b64-unwrapped.txt", base64.b64encode(text).decode() + "\n" + key + "\n",
                 ["AWS_ACCESS_KEY"]),
                ("after-b64.json", json.dumps({"att": b64 + key}), ["AWS_ACCESS_KEY"]),
                ("long-hex.txt", hexd, ["AWS_ACCESS_KEY"]),
                ("xxd.txt", "\n".join(hexd[i:i + 60] for i in range(0, len(hexd), 60)) + "\n",
                 ["AWS_ACCESS_KEY"]),
                ("short-xxd.txt", "\n".join((b"mail " + EMAIL.encode()).hex()[i:i + 30]
                                            for i in range(0, 54, 30)), ["EMAIL"]),
            ]
            for name, body, want in cases:
                p = scan("--format", "jsonl", tmp.write(name, body.encode()))
                eq(p.returncode, 1, f"exit code for {name} ({p.stdout!r})")
                fs = jsonl(p.stdout)
                eq(sorted({x["type"] for x in fs}), want, f"types in {name}")
                if name.startswith("after-b64") and name.endswith(".txt"):
                    # the token's own bytes in the file, once
                    eq([(x["start"], x["end"]) for x in fs], [(body.index(key), body.index(key) + len(key))],
                       f"span in {name}")
            blob = bytes((i * 73 + (i >> 3) * 151 + 128) & 0xff for i in range(3000)).hex()
            p = scan("--format", "jsonl", tmp.write("blob-hex.json", json.dumps({"b": blob}).encode()))
            eq([(x["type"], x.get("reason")) for x in jsonl(p.stdout)],
               [("UNINSPECTABLE", "hex data that is no text (1 KiB or more)")], "hex blob finding")
            # ... also as `xxd -p` writes it; but a list of digests, one a line
            # (a prompt about file hashes), is none: it was reported, and a
            # policy that denies what it cannot see denied the prompt. Past
            # 8 KiB of hex in lines of a digest's length it is reported again
            p = scan("--format", "jsonl", tmp.write("blob-xxd.txt", "\n".join(
                blob[i:i + 60] for i in range(0, len(blob), 60)).encode()))
            eq([x.get("reason") for x in jsonl(p.stdout)], ["hex data that is no text (1 KiB or more)"],
               "hex blob in xxd's lines")
            digests = "\n".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(40))
            prompt = json.dumps({"messages": [{"role": "user", "content": "Which of these are known bad?\n" + digests}]})
            p = scan("--format", "jsonl", tmp.write("digests.json", prompt.encode()))
            eq((p.returncode, p.stdout), (0, b""), "a list of SHA-256 digests")
            big = bytes((i * 73 + (i >> 3) * 151 + 128) & 0xff for i in range(6000)).hex()
            p = scan("--format", "jsonl", tmp.write("blob-64.txt", "\n".join(
                big[i:i + 64] for i in range(0, len(big), 64)).encode()))
            eq([x.get("reason") for x in jsonl(p.stdout)], ["hex data that is no text (1 KiB or more)"],
               "12 KiB of hex in lines of 64")
            # an OpenPGP public key block ("here is my key") was reported as
            # base64 that is no text; it is a key packet, no one's secret. A
            # secret key packet is a PRIVATE_KEY, armored or bare in JSON
            def pgp(tag, body):
                pkt = bytes([0x80 | tag << 2 | 1]) + len(body).to_bytes(2, "big") + body
                return "\n".join(base64.b64encode(pkt).decode()[i:i + 64] for i in range(0, 4 * (len(pkt) // 3 + 1), 64))
            mpi = lambda b: (len(b) * 8).to_bytes(2, "big") + b
            n = bytes((i * 97 + 13) & 0xff | (0x80 if i == 0 else 0) for i in range(384))
            pub = bytes([4]) + (1700000000).to_bytes(4, "big") + bytes([1]) + mpi(n) + mpi(b"\x01\x00\x01")
            sec = pub + bytes([0]) + mpi(bytes((i * 31 + 7) & 0xff | 0x80 for i in range(384))) + b"\x12\x34"
            armor = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + pgp(6, pub) + "\n-----END PGP PUBLIC KEY BLOCK-----\n"
            p = scan("--format", "jsonl", tmp.write("pub.asc", armor.encode()))
            eq((p.returncode, p.stdout), (0, b""), "an OpenPGP public key block")
            bare = json.dumps({"key": pgp(5, sec).replace("\n", "")})
            p = scan("--format", "jsonl", tmp.write("sec.json", bare.encode()))
            eq([(x["type"], x.get("reason")) for x in jsonl(p.stdout)], [("PRIVATE_KEY", "OpenPGP private key")],
               "an OpenPGP secret key in base64")
            # a wrapped block of text with nothing after it: found once, no
            # finding from the passes of its last line
            p = scan("--format", "jsonl", tmp.write("b64-clean.txt", b64.encode()))
            eq((p.returncode, p.stdout), (0, b""), "wrapped base64 of clean text")
        r.run("long base64 and hex runs: lines after the block, hex dumps, hex blobs", long_wrapped_runs)

        def compressed_in_base64():
            # a CloudWatch Logs subscription event: gzip in base64 in JSON;
            # it was reported "base64 gzip data" (uninspectable), now read
            ev = gzip.compress(json.dumps({"logEvents": [{"message": f"paid with {CARD}"}]}).encode(),
                               mtime=0)
            f = tmp.write("awslogs.json", json.dumps({"awslogs": {"data": base64.b64encode(ev).decode()}}))
            p = scan("--format", "jsonl", f)
            eq(p.returncode, 1, f"exit code ({p.stdout!r})")
            fs = jsonl(p.stdout)
            eq([x["type"] for x in fs], ["CREDIT_DEBIT_CARD_NUMBER"], "finding in the log event")
            check(fs[0]["confidence"] >= 90, "card confidence")
            ok = gzip.compress(b'{"logEvents":[{"message":"all quiet"}]}', mtime=0)
            f = tmp.write("quiet.json", json.dumps({"awslogs": {"data": base64.b64encode(ok).decode()}}))
            eq(scan(f).returncode, 0, "a clean log event is clean")
            noise = gzip.compress(bytes((i * 131 + (i >> 2) * 17) & 0xff for i in range(600)), mtime=0)
            f = tmp.write("noise.json", json.dumps({"d": base64.b64encode(noise).decode()}))
            p = scan("--format", "jsonl", f)
            eq([(x["type"], x.get("reason")) for x in jsonl(p.stdout)],
               [("UNINSPECTABLE", "base64 compressed data that is no text")], "binary inside gzip")
        r.run("gzip in base64 (CloudWatch Logs events) is read", compressed_in_base64)

        def office_documents():
            # zip archives and Office documents (catalogue 4.1 case 29) were
            # uninspectable as a whole; now their parts are read. Word splits
            # a paragraph into runs, so a key typed in one go can lie in two
            # <w:t> elements; an image inside stays uninspectable
            import io
            import zipfile

            def pack(entries):
                b = io.BytesIO()
                with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
                    for name, data in entries:
                        z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data,
                                   compress_type=zipfile.ZIP_DEFLATED)
                return b.getvalue()
            w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
            docx = pack([
                ("[Content_Types].xml", '<?xml version="1.0"?><Types/>'),
                ("word/document.xml",
                 f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {w}><w:body>'
                 '<w:p w:rsidR="00C4"><w:r><w:t xml:space="preserve">key AKIA5ZK6</w:t></w:r>'
                 '<w:r w:rsidRPr="00D2"><w:rPr><w:b/></w:rPr><w:t>SXQ7BR2LMNOP</w:t></w:r></w:p>'
                 '</w:body></w:document>'),
                ("word/_rels/document.xml.rels",
                 '<Relationships><Relationship Id="rId1" Target="mailto:bob@corp-mail.de"/></Relationships>'),
                ("word/media/image1.png", b"\x89PNG\r\n\x1a\n" + bytes(64)),
            ])
            xlsx = pack([("xl/sharedStrings.xml",
                          '<sst><si><t>card</t></si><si><r><t>4111 1111 </t></r><r><t>1111 1111</t></r></si></sst>')])
            for name, data, want in [
                    ("report.docx", docx, ["AWS_ACCESS_KEY", "EMAIL", "UNINSPECTABLE"]),
                    ("sheet.xlsx", xlsx, ["CREDIT_DEBIT_CARD_NUMBER"])]:
                p = scan("--format", "jsonl", tmp.write(name, data))
                eq(p.returncode, 1, f"exit code for {name} ({p.stdout!r} {p.stderr!r})")
                fs = jsonl(p.stdout)
                eq(sorted({x["type"] for x in fs}), want, f"types in {name}")
                check(all(x["decoders"] == "zip" for x in fs), f"decoder path zip in {name}: {fs}")
            # the same document in a Bedrock Converse request (base64 in JSON)
            conv = {"messages": [{"role": "user", "content": [
                {"text": "summarise"},
                {"document": {"format": "docx", "name": "r", "source": {"bytes": base64.b64encode(docx).decode()}}}]}]}
            p = scan("--format", "jsonl", tmp.write("converse.json", json.dumps(conv)))
            fs = jsonl(p.stdout)
            eq(sorted({x["type"] for x in fs}), ["AWS_ACCESS_KEY", "EMAIL", "UNINSPECTABLE"], "types in converse.json")
            check(all(x.get("encoded") for x in fs), f"findings in the base64 document are encoded: {fs}")
            fs = jsonl(scan("--format", "jsonl", tmp.write("r2.docx", docx)).stdout)
            eq([x.get("reason") for x in fs if x["type"] == "UNINSPECTABLE"], ["zip entry of type image/png"],
               "the image's finding")
            # a zip written to a pipe (Python's zipfile, Go's archive/zip):
            # stored entries of unknown size, zip64 data descriptors
            class Pipe(io.RawIOBase):
                def __init__(self):
                    self.buf = bytearray()

                def writable(self):
                    return True

                def write(self, d):
                    self.buf += d
                    return len(d)
            w = Pipe()
            with zipfile.ZipFile(w, "w") as z:
                with z.open(zipfile.ZipInfo("a.txt", date_time=(2024, 1, 1, 0, 0, 0)), "w", force_zip64=True) as f:
                    f.write(b"mail bob@corp-mail.de")
                z.writestr(zipfile.ZipInfo("b.txt", date_time=(2024, 1, 1, 0, 0, 0)), "key AKIA5ZK6SXQ7BR2LMNOP")
            p = scan("--format", "jsonl", tmp.write("piped.zip", bytes(w.buf)))
            eq(sorted(x["type"] for x in jsonl(p.stdout)), ["AWS_ACCESS_KEY", "EMAIL"], "a zip written to a pipe")
            # refused: an encrypted entry (flag bit 0) hides its content
            enc = bytearray(pack([("secret.txt", "AKIA5ZK6SXQ7BR2LMNOP")]))
            enc[6] |= 1
            p = scan("--format", "jsonl", tmp.write("enc.zip", bytes(enc)))
            eq([(x["type"], x.get("reason")) for x in jsonl(p.stdout)],
               [("UNINSPECTABLE", "encrypted zip entry")], "an encrypted entry")
        r.run("zip archives and Office documents are read part by part", office_documents)

        def plain_file_offsets():
            # a plain file's findings give the file's own byte offsets, although
            # the normalisation changes lengths (BOM, NBSP, zero-width space,
            # full-width digits) and decoded copies (base64, escapes, lookalike
            # letters) are scanned too: a copy's finding spans the encoded text
            # ("encoded": true); the text's own findings are exact
            b64 = base64.b64encode(b"please write to anna@example.net today").decode()
            text = ("\ufeffIntro\u00a0line: mary@example.org\n"
                    "card 4111\u200b 1111 1111 1111 and \uff14\uff11\uff11\uff11 1111 1111 1111\n"
                    f"blob {b64} end\n"
                    "mail john%40example.com and key \u0410KIA5ZK6SXQ7BR2LMNOP\n"
                    "last bob@example.com\n").encode()
            f = tmp.write("offsets.txt", text)
            p = scan("--format", "jsonl", f)
            eq(p.returncode, 1, f"exit code ({p.stderr!r})")
            fs = jsonl(p.stdout)

            def span(s):
                at = text.index(s.encode())
                return [at, at + len(s.encode())]
            want = [  # type, span, encoded
                ("EMAIL", span("mary@example.org"), False),
                ("CREDIT_DEBIT_CARD_NUMBER", span("4111\u200b 1111 1111 1111"), False),
                ("CREDIT_DEBIT_CARD_NUMBER", span("\uff14\uff11\uff11\uff11 1111 1111 1111"), False),
                # in the base64 run: decoded bytes [16, 32) are characters
                # [4*5+1, 4*10+1+2) of the run (byte k: 4(k/3) + k%3 and the next)
                ("EMAIL", [span(b64)[0] + 21, span(b64)[0] + 43], True),
                ("EMAIL", span("john%40example.com"), True),
                ("AWS_ACCESS_KEY", span("\u0410KIA5ZK6SXQ7BR2LMNOP"), True),
                ("EMAIL", span("bob@example.com"), False),
            ]
            eq(len(fs), len(want), f"findings: {fs}")
            for got, (typ, sp, enc) in zip(fs, want):
                eq(got["type"], typ, f"type of {got}")
                eq(got.get("encoded", False), enc, f"encoded flag of {got}")
                if sp is not None:
                    eq([got["start"], got["end"]], sp, f"span of {typ}")
            # the text format says the same
            p = scan(f)
            out = p.stdout.decode()
            check(f"{f}:{span('bob@example.com')[0]}-{span('bob@example.com')[1]}: EMAIL" in out,
                  f"text format offsets: {out}")
            check("raw, encoded)" in out, f"text format marks encoded findings: {out}")
        r.run("a plain file's own offsets through normalisation and decoded copies",
              plain_file_offsets)

        def value_in_key():
            k = tmp.write("key.json", json.dumps({"4111111111111111": "card on file"}))
            p = scan("--format", "jsonl", k)
            eq(p.returncode, 1, "a card number used as a JSON key is found")
            eq([f["type"] for f in jsonl(p.stdout)], ["CREDIT_DEBIT_CARD_NUMBER"], "types")
        r.run("a value hidden in a JSON key", value_in_key)

        def policy_custom():
            values = tmp.write("customers.txt", "# known customers\nCUST-000123\nCUST-000124\n")
            p = subprocess.run([SOVGW, "policy", "fingerprint", "--name", "CUSTOMER_ID", values],
                               capture_output=True, timeout=30)
            eq(p.returncode, 0, f"policy fingerprint ({p.stderr!r})")
            fp = p.stdout.decode()
            check("CUST-000123" not in fp and "cust-000123" not in fp, "values in clear")
            entry = "".join("    " + line + "\n" for line in fp.splitlines()
                            if not line.startswith("#"))
            pol = tmp.write("policy.yaml",
                            "version: 1\n"
                            "classifiers:\n"
                            "  packs: [secrets]\n"
                            "  dictionaries:\n"
                            "    - { name: PROJECT_CODENAME, terms: [Bluebird, \"Operation Nightjar\"] }\n"
                            "    - { name: MARKING, terms: [\"VS-Nur für den Dienstgebrauch\"] }\n"
                            "  fingerprints:\n" + entry)
            c = subprocess.run([SOVGW, "policy", "check", pol], capture_output=True, timeout=30)
            eq(c.returncode, 0, f"policy check ({c.stderr!r} {c.stdout!r})")
            doc = tmp.write("doc.txt", "Status of operation nightjar for customer cust-000124; "
                                       "customer CUST-000999 is not listed.\n")
            p = scan("--format", "jsonl", "--policy", pol, doc)
            eq(p.returncode, 1, f"custom findings ({p.stderr!r})")
            fs = jsonl(p.stdout)
            eq(sorted(f["type"] for f in fs), ["CUSTOMER_ID", "PROJECT_CODENAME"],
               "dictionary term and the one listed customer")
            text = open(doc).read()
            cust = next(f for f in fs if f["type"] == "CUSTOMER_ID")
            eq(text[cust["start"]:cust["end"]], "cust-000124", "fingerprint span")
            # a marking in capitals (Ü, not ü) and wrapped onto the next line:
            # non-ASCII letters were matched in the term's case only, and
            # words apart not at all
            doc = tmp.write("vs.txt", "Einstufung: VS-NUR FÜR DEN\n   DIENSTGEBRAUCH\n")
            p = scan("--format", "jsonl", "--policy", pol, doc)
            fs = jsonl(p.stdout)
            eq([(f["type"], f["start"], f["end"]) for f in fs], [("MARKING", 12, 45)], "wrapped marking")
            bad = subprocess.run([SOVGW, "policy", "fingerprint", "--name", "CUSTOMER_ID", "-"],
                                 input=b"John Smith\n", capture_output=True, timeout=30)
            eq(bad.returncode, 1, "a value that is no single token is refused")
            check(b"-:1:" in bad.stderr and b"John" not in bad.stderr,
                  f"error names the line, not the value: {bad.stderr!r}")
        r.run("--policy dictionaries and fingerprints", policy_custom)

        def mail_messages():
            # Mail as Python's email package writes it for SES: quoted-
            # printable wraps lines at 76 characters with a soft break ("=")
            # that cut the IBAN in two; read as text it was missed in the
            # .eml file, in SES v2's JSON (Raw.Data in base64) and in SES
            # v1's form (RawMessage.Data)
            from email import policy as epolicy
            from email.message import EmailMessage
            import urllib.parse
            iban = "DE89370400440532013000"
            m = EmailMessage()
            m["From"], m["To"], m["Subject"] = "ops@corp.example.net", "bank@partner.example.org", "Zahlung"
            m.set_content("Hello team, please transfer the quarterly amount to the account IBAN "
                          f"{iban} as agreed, thank you so much, grüße.\n", cte="quoted-printable")
            m.add_attachment(b"name,card\nJane,4111111111111111\n", maintype="text", subtype="csv",
                             filename="cards.csv")
            raw = m.as_bytes(policy=epolicy.SMTP)
            check(b"IBAN DE893704=\r\n" in raw, f"the soft break cuts the IBAN: {raw[:400]!r}")
            data = base64.b64encode(raw).decode()
            files = [tmp.write("mail.eml", raw),
                     tmp.write("ses2.json", json.dumps({"Content": {"Raw": {"Data": data}}}).encode()),
                     tmp.write("ses1.txt", ("Action=SendRawEmail&RawMessage.Data=" +
                                            urllib.parse.quote(data, safe="")).encode())]
            for f, ct, path in [(files[0], None, "message"), (files[1], None, "json"),
                                (files[2], "application/x-www-form-urlencoded", "form")]:
                p = scan("--format", "jsonl", *(["--content-type", ct] if ct else []), f)
                eq(p.returncode, 1, f"{f}: exit code ({p.stderr!r})")
                got = {(x["type"], x["decoders"]) for x in jsonl(p.stdout)}
                for t in ["INTERNATIONAL_BANK_ACCOUNT_NUMBER", "CREDIT_DEBIT_CARD_NUMBER", "EMAIL"]:
                    check(any(g[0] == t and g[1].startswith(path) for g in got), f"{f}: {t} in {sorted(got)}")
            # the same file sent as an S3 object without a type is sniffed
            p = scan("--format", "jsonl", "--content-type", "application/octet-stream", files[0])
            check(any(x["type"] == "INTERNATIONAL_BANK_ACCOUNT_NUMBER" and x["decoders"] == "message"
                      for x in jsonl(p.stdout)), f"sniffed: {p.stdout!r}")
            # a transfer encoding the gateway cannot read is refused
            bad = raw.replace(b"Content-Transfer-Encoding: quoted-printable", b"Content-Transfer-Encoding: x-uue")
            p = scan("--format", "jsonl", tmp.write("bad.eml", bad))
            eq([(x["type"], x["reason"]) for x in jsonl(p.stdout) if x["type"] == "UNINSPECTABLE"],
               [("UNINSPECTABLE", "unsupported multipart transfer encoding")], "unknown transfer encoding")
            # nodemailer (SES from Node) writes MIME-Version after the
            # other headers, past the bytes a base64 run is judged by
            nm = (b"Content-Type: multipart/mixed; boundary=\"--_NmP-d8e1f2a3b4c5d6e7-Part_1\"\r\n"
                  b"From: ops@corp.example.net\r\nTo: bank@partner.example.org\r\nSubject: Zahlung\r\n"
                  b"Message-ID: <1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d@corp.example.net>\r\n"
                  b"Date: Tue, 26 Nov 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\r\n"
                  b"----_NmP-d8e1f2a3b4c5d6e7-Part_1\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  b"Content-Transfer-Encoding: quoted-printable\r\n\r\nHello team, please transfer the amount to "
                  b"the account IBAN DE893704=\r\n00440532013000 thanks\r\n----_NmP-d8e1f2a3b4c5d6e7-Part_1--\r\n")
            p = scan("--format", "jsonl", tmp.write("ses-node.json", json.dumps(
                {"Content": {"Raw": {"Data": base64.b64encode(nm).decode()}}}).encode()))
            check("INTERNATIONAL_BANK_ACCOUNT_NUMBER" in [x["type"] for x in jsonl(p.stdout)], f"nodemailer: {p.stdout!r}")
            # a subject in RFC 2047's encoded words, in Latin-1: "née le"
            # is a birth date's words only once decoded and converted
            sub = tmp.write("subject.eml", b"From: a@b.example\r\nSubject: =?iso-8859-1?Q?n=E9e_le_12.03.1985?=\r\n"
                                           b"MIME-Version: 1.0\r\n\r\nhello\r\n")
            p = scan("--format", "jsonl", sub)
            check("DATE_OF_BIRTH" in [x["type"] for x in jsonl(p.stdout)], f"encoded subject: {p.stdout!r}")
            # Japanese mail: ISO-2022-JP, a stateful charset, in the subject's
            # encoded words and in the body (read as mail, the body was
            # refused as a stateful charset)
            jp = "山田太郎様 メール taro.yamada@example.co.jp です".encode("iso2022_jp")
            p = scan("--format", "jsonl", tmp.write("jp.eml", b"From: a@b.example\r\nMIME-Version: 1.0\r\n"
                     b"Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n"
                     b"Content-Transfer-Encoding: 7bit\r\n\r\n" + jp + b"\r\n"))
            eq(sorted((x["type"], x["excerpt"]) for x in jsonl(p.stdout)),
               [("EMAIL", "a***@b.example"), ("EMAIL", "t***@example.co.jp")], "Japanese mail")
            # an mbox archive (Thunderbird, Google Takeout): messages after
            # "From " lines, each read as mail
            mbox = (b"From ops@corp.example.net Mon Nov 25 10:00:00 2024\n" + raw.replace(b"\r\n", b"\n") +
                    b"\nFrom bob@x.example Tue Nov 26 10:00:00 2024\nSubject: hi\n\nno data here\n")
            p = scan("--format", "jsonl", tmp.write("archive.mbox", mbox))
            got = [(x["type"], x["decoders"]) for x in jsonl(p.stdout)]
            check(("INTERNATIONAL_BANK_ACCOUNT_NUMBER", "mbox") in got and ("CREDIT_DEBIT_CARD_NUMBER", "mbox") in got,
                  f"mbox: {got}")
            p = scan("--format", "jsonl", tmp.write("archive", mbox))
            check(("INTERNATIONAL_BANK_ACCOUNT_NUMBER", "mbox") in [(x["type"], x["decoders"]) for x in jsonl(p.stdout)],
                  f"mbox sniffed: {p.stdout!r}")
            # prose that begins like headers, without MIME-Version, stays text
            p = scan("--format", "jsonl", tmp.write("notes.txt", b"Subject: notes\nTo: team\n\nall fine\n"))
            eq((p.returncode, jsonl(p.stdout)), (0, []), "notes that look like headers")
        r.run("mail: .eml, .mbox, SES raw e-mail in JSON and in a form", mail_messages)

        def folded_lines():
            # Contacts and calendar exports fold lines over 75 octets
            # anywhere, in an address too; read as text they were missed
            vcf = (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jane Doe\r\n"
                   b"EMAIL;TYPE=INTERNET;TYPE=WORK;TYPE=pref;TYPE=voice-ignored:jane.doe\r\n @corporate-mail.example.net\r\n"
                   b"END:VCARD\r\n")
            ics = (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nATTENDEE;CN=Bob;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION:"
                   b"mailto:bob.smith@partn\r\n er.example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
            for name, body in [("contact.vcf", vcf), ("invite.ics", ics), ("contact-export", vcf)]:
                p = scan("--format", "jsonl", tmp.write(name, body))
                eq([(x["type"], x["decoders"], x["excerpt"].split("@")[-1]) for x in jsonl(p.stdout)],
                   [("EMAIL", "unfold", "corporate-mail.example.net" if "contact" in name else "partner.example.org")],
                   name)
        r.run("vCard and iCalendar lines folded inside a value", folded_lines)

        def tar_archives():
            # SageMaker uploads sourcedir.tar.gz and model.tar.gz to S3;
            # backups and log bundles go as .tar.gz too. They were
            # uninspectable as a whole ("binary content"); now each entry is
            # read by its name's type, in every format tar writes (ustar
            # with a prefix, GNU long names, pax records), gzip'd or not
            import io
            import tarfile

            def pack(fmt, entries, mode="w"):
                b = io.BytesIO()
                with tarfile.open(fileobj=b, mode=mode, format=fmt) as t:
                    for name, data in entries:
                        info = tarfile.TarInfo(name)
                        info.size, info.mtime, info.uname = len(data), 0, "build"
                        t.addfile(info, io.BytesIO(data))
                return b.getvalue()
            deep = "src/" + "pkg/" * 30 + "config.json"  # over 100 bytes: a long name
            entries = [("train.py", b"import os\nbucket = 's3://models'\n"),
                       (deep, json.dumps({"aws_access_key_id": "AKIA5ZK6SXQ7BR2LMNOP"}).encode()),
                       ("data/patients.csv", f"name,mail\nBob,{EMAIL}\n".encode()),
                       ("notes-\u00e9t\u00e9.txt", f"card {CARD}".encode())]
            want = ["AWS_ACCESS_KEY", "CREDIT_DEBIT_CARD_NUMBER", "EMAIL"]
            for fmt, fname in [(tarfile.PAX_FORMAT, "pax"), (tarfile.GNU_FORMAT, "gnu")]:
                plain = pack(fmt, entries)
                for name, data, path in [(f"{fname}.tar", plain, "tar"),
                                         (f"{fname}-sourcedir.tar.gz", gzip.compress(plain, mtime=0), "gzip>tar"),
                                         (f"{fname}.tgz", gzip.compress(plain, mtime=0), "gzip>tar"),
                                         (f"{fname}-upload", gzip.compress(plain, mtime=0), "gzip>tar")]:
                    p = scan("--format", "jsonl", tmp.write(name, data))
                    fs = jsonl(p.stdout)
                    eq((p.returncode, sorted({x["type"] for x in fs})), (1, want), f"types in {name}: {p.stderr!r}")
                    check(all(x["decoders"] == path for x in fs), f"decoder path {path} in {name}: {fs}")
            # ustar: a path split into prefix and name
            plain = pack(tarfile.USTAR_FORMAT, [("a/" * 60 + "k.json", b'{"password": "hunter2-Xq9v!Lm3"}')])
            eq(sorted(x["type"] for x in jsonl(scan("--format", "jsonl", tmp.write("u.tar", plain)).stdout)),
               ["GENERIC_SECRET"], "ustar prefix and name: the entry read as JSON")
            # stdin, declared: application/x-tar, application/gzip
            plain = pack(tarfile.PAX_FORMAT, entries)
            for ct, data in [("application/x-tar", plain), ("application/gzip", gzip.compress(plain))]:
                p = scan("--format", "jsonl", "--content-type", ct, "-", input=data)
                eq(sorted({x["type"] for x in jsonl(p.stdout)}), want, f"stdin as {ct}")
            # an archive GNU tar made, a model's weights inside: the weights
            # are uninspectable, the code beside them is read
            os.makedirs(tmp.join("model", "code"))
            with open(tmp.join("model", "code", "inference.py"), "w") as f:
                f.write(f"# contact {EMAIL}\n")
            with open(tmp.join("model", "model.safetensors"), "wb") as f:
                f.write(bytes((i * 7919) & 0xff for i in range(4096)))
            subprocess.run(["tar", "czf", tmp.join("model.tar.gz"), "-C", tmp.join("model"), "code", "model.safetensors"],
                           check=True)
            fs = jsonl(scan("--format", "jsonl", tmp.join("model.tar.gz")).stdout)
            eq(sorted((x["type"], x.get("reason")) for x in fs),
               [("EMAIL", None), ("UNINSPECTABLE", "tar entry without a content type is binary")], "model.tar.gz")
            # a .tar.gz in base64 in JSON is read (gzip, then the sniffer
            # finds the tar); a plain tar in base64 is opaque, not passed
            tgz = gzip.compress(pack(tarfile.PAX_FORMAT, entries), mtime=0)
            p = scan("--format", "jsonl", tmp.write("tgz64.json", json.dumps({"a": base64.b64encode(tgz).decode()})))
            eq(sorted({(x["type"], x.get("encoded")) for x in jsonl(p.stdout)}), [(t, True) for t in want],
               "a .tar.gz in base64")
            p = scan("--format", "jsonl", tmp.write("tar64.json", json.dumps(
                {"a": base64.b64encode(pack(tarfile.PAX_FORMAT, entries)).decode()})))
            eq([x.get("reason") for x in jsonl(p.stdout)], ["base64 data that is no text (1 KiB or more)"],
               "a plain tar in base64")
            # refused: a header whose checksum is wrong, a cut archive
            bad = bytearray(pack(tarfile.PAX_FORMAT, [("a.txt", b"hi"), ("b.txt", b"yo")]))
            at = bad.index(b"b.txt")
            bad[at] = ord("c")
            fs = jsonl(scan("--format", "jsonl", tmp.write("bad.tar", bytes(bad))).stdout)
            eq([(x["type"], x.get("reason")) for x in fs],
               [("UNINSPECTABLE", f"malformed tar archive at byte {at}")], "a header with a wrong checksum")
            fs = jsonl(scan("--format", "jsonl", tmp.write("cut.tar", plain[:1500])).stdout)
            check(("UNINSPECTABLE", "truncated tar archive") in [(x["type"], x.get("reason")) for x in fs],
                  f"a cut archive: {fs}")
        r.run("tar archives (.tar, .tar.gz, SageMaker's sourcedir) are read entry by entry", tar_archives)
        def xz_and_bzip2():
            # .tar.xz and .tar.bz2 backups and log archives put to S3, and
            # single .xz / .bz2 files: they were "content-type
            # application/x-xz not inspectable" or "xz data" (uninspectable).
            # Made by the real tools: GNU tar -J / -j, xz, bzip2.
            os.makedirs(tmp.join("logs", "app"))
            with open(tmp.join("logs", "app", "access.log"), "w") as f:
                f.write(f"2026-11-28 login ok user={EMAIL}\n" * 3)
            with open(tmp.join("logs", "app", "billing.csv"), "w") as f:
                f.write(f"id,card\n7,{CARD}\n")
            want = ["CREDIT_DEBIT_CARD_NUMBER", "EMAIL"]
            for flag, ext, layer in [("-J", "tar.xz", "xz"), ("-j", "tar.bz2", "bzip2")]:
                out = tmp.join("logs." + ext)
                subprocess.run(["tar", "c" + flag[1] + "f", out, "-C", tmp.join("logs"), "app"], check=True)
                p = scan("--format", "jsonl", out)
                fs = jsonl(p.stdout)
                eq((p.returncode, sorted({x["type"] for x in fs})), (1, want), f"{ext}: {p.stderr!r}")
                check(all(x["decoders"] == layer + ">tar" for x in fs), f"{ext}: decoder path {fs}")
                # declared as its type on stdin, and cut: the cut reported
                ct = "application/x-xz" if layer == "xz" else "application/x-bzip2"
                data = open(out, "rb").read()
                p = scan("--format", "jsonl", "--content-type", ct, "-", input=data)
                eq(sorted({x["type"] for x in jsonl(p.stdout)}), want, f"{ext} on stdin as {ct}")
                p = scan("--format", "jsonl", "-", input=data[: len(data) - 8])
                check(f"truncated {layer} stream" in [x.get("reason") for x in jsonl(p.stdout)],
                      f"{ext} cut: {p.stdout!r}")
            for tool, ext in [("xz", "xz"), ("bzip2", "bz2")]:
                src = tmp.write(f"note-{tool}.txt", f"call back {EMAIL}\n")
                subprocess.run([tool, "-k", src], check=True)
                fs = jsonl(scan("--format", "jsonl", src + "." + ext).stdout)
                eq([(x["type"], x["decoders"]) for x in fs], [("EMAIL", "xz" if tool == "xz" else "bzip2")],
                   f"a single .{ext} file")
            # a .tar.xz in base64 in JSON is read too
            tx = open(tmp.join("logs.tar.xz"), "rb").read()
            p = scan("--format", "jsonl", tmp.write("txz64.json", json.dumps({"backup": base64.b64encode(tx).decode()})))
            eq(sorted({(x["type"], x.get("encoded")) for x in jsonl(p.stdout)}), [(t, True) for t in want],
               "a .tar.xz in base64")
        r.run("xz and bzip2 files, .tar.xz and .tar.bz2 are read", xz_and_bzip2)

        def avro_files():
            # Avro container files (Spark, Kafka Connect's S3 sink, Glue)
            # written by python3-avro in every codec it has: each object
            # decoded by the header's schema, strings under their field's
            # name. They were "binary content … not inspectable".
            import avro.datafile
            import avro.io
            import avro.schema
            schema = avro.schema.parse(json.dumps({
                "type": "record", "name": "Customer", "namespace": "com.corp", "fields": [
                    {"name": "id", "type": "long"}, {"name": "name", "type": "string"},
                    {"name": "email", "type": ["null", "string"]},
                    {"name": "tags", "type": {"type": "array", "items": "string"}},
                    {"name": "attrs", "type": {"type": "map", "values": "string"}},
                    {"name": "tier", "type": {"type": "enum", "name": "Tier", "symbols": ["GOLD", "SILVER"]}},
                    {"name": "addr", "type": {"type": "record", "name": "Addr", "fields": [
                        {"name": "city", "type": "string"}, {"name": "ssn", "type": "string"}]}},
                    {"name": "prev", "type": ["null", "Addr"]}, {"name": "score", "type": "double"},
                    {"name": "card", "type": "long"}, {"name": "ssn", "type": ["null", "int"]},
                    {"name": "dob", "type": ["null", {"type": "int", "logicalType": "date"}]},
                    {"name": "created", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}))

            def write(path, codec, pii):
                with open(path, "wb") as fo:
                    w = avro.datafile.DataFileWriter(fo, avro.io.DatumWriter(), schema, codec=codec)
                    for i in range(300):
                        w.append({"id": i, "name": f"Customer {i}",
                                  "email": f"u{i}@branch{i}.corp-mail.de" if pii and i % 10 == 0 else None,
                                  "tags": ["a", "b"], "attrs": {"note": "ok"}, "tier": "GOLD",
                                  "addr": {"city": "Berlin", "ssn": "536-22-1847" if pii and i == 7 else "n/a"},
                                  "prev": None if i % 2 else {"city": "Bonn", "ssn": "-"}, "score": 1.5,
                                  # numbers: a card in a long, an SSN in an int under "ssn", a
                                  # birth date (days since 1970) under "dob"; order numbers and
                                  # timestamps are no finding
                                  "card": 4111111111111111 if pii and i == 5 else 100000 + i,
                                  "ssn": 536221847 if pii and i == 9 else None,
                                  "dob": datetime.date(1985, 3, 12) if pii and i == 11 else None,
                                  "created": datetime.datetime(2026, 11, 28, 6, 0, i % 60,
                                                               tzinfo=datetime.timezone.utc)})
                    w.close()
            for codec in ["null", "deflate", "bzip2", "snappy", "zstandard"]:
                path = tmp.join(f"customers-{codec}.avro")
                write(path, codec, True)
                p = scan("--format", "jsonl", path)
                fs = jsonl(p.stdout)
                eq(p.returncode, 1, f"{codec}: exit code {p.stderr!r}")
                eq(sorted({x["type"] for x in fs}), ["CREDIT_DEBIT_CARD_NUMBER", "DATE_OF_BIRTH", "EMAIL",
                                                     "US_SOCIAL_SECURITY_NUMBER"], f"{codec}: types")
                eq(sorted(x["excerpt"] for x in fs if x["type"] != "EMAIL"),
                   sorted(["4111********1111", "53*******47", "53*****47"] + [x["excerpt"] for x in fs
                                                                                if x["type"] == "DATE_OF_BIRTH"]),
                   f"{codec}: the card in a long, the SSN as a string and in an int")
                eq(len({x["excerpt"] for x in fs if x["type"] == "EMAIL"}), 30, f"{codec}: every address")
                check(all(x["decoders"] == "avro" for x in fs), f"{codec}: decoder path {fs[:2]}")
                clean = tmp.join(f"clean-{codec}.avro")
                write(clean, codec, False)
                p = scan("--format", "jsonl", clean)
                eq((p.returncode, p.stdout), (0, b""), f"{codec}: a clean file")
            data = open(tmp.join("customers-deflate.avro"), "rb").read()
            p = scan("--format", "jsonl", "--content-type", "application/avro", "-", input=data)
            eq(sorted({x["type"] for x in jsonl(p.stdout)}), ["CREDIT_DEBIT_CARD_NUMBER", "DATE_OF_BIRTH", "EMAIL",
                                                              "US_SOCIAL_SECURITY_NUMBER"], "stdin as avro")
            p = scan("--format", "jsonl", tmp.write("cut.avro", data[: len(data) - 30]))
            check("truncated Avro file" in [x.get("reason") for x in jsonl(p.stdout)], f"a cut file: {p.stdout!r}")
        r.run("Avro container files in every codec are read by their schema", avro_files)

        def protobuf_in_base64():
            # Kinesis records, SQS messages, DynamoDB binary attributes
            # often hold protobuf messages: in base64 they passed unread
            # (or, from 1 KiB of base64, were "no text"); random bytes stay
            sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
            from otlp_spans import ld, varint  # (the protobuf encoding the benchmark's spans use)

            def order(i, contact):
                return ld(1, b"order-%d" % i) + varint(2 << 3) + varint(i * 100) + ld(3, contact.encode())
            for n in (1, 400):
                msg = b"".join(ld(1, order(i, EMAIL if i == n - 1 else "Berlin")) for i in range(n))
                body = json.dumps({"StreamName": "orders", "Records": [
                    {"Data": base64.b64encode(msg).decode(), "PartitionKey": "a"}]})
                p = scan("--format", "jsonl", "--content-type", "application/x-amz-json-1.1", "-", input=body.encode())
                eq([(x["type"], x.get("encoded")) for x in jsonl(p.stdout)], [("EMAIL", True)],
                   f"protobuf of {len(msg)} bytes in base64")
            rnd = bytes((i * 7919 + (i >> 3) * 104729) & 0xff for i in range(2000))
            body = json.dumps({"Records": [{"Data": base64.b64encode(rnd).decode()}]})
            p = scan("--format", "jsonl", "--content-type", "application/json", "-", input=body.encode())
            eq([x.get("reason") for x in jsonl(p.stdout)], ["base64 data that is no text (1 KiB or more)"],
               "random bytes in base64")
        r.run("protobuf in base64 (Kinesis records, SQS messages) is read", protobuf_in_base64)

        def unknown_8bit_mail():
            # mail gateways label 8-bit text of no known charset unknown-8bit
            # (RFC 1428): it was refused (uninspectable) as a charset iconv
            # does not know; its ASCII is read now, as raw text's was
            eml = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: r\xe9sum\xe9\r\nMIME-Version: 1.0\r\n"
                   b"Content-Type: text/plain; charset=unknown-8bit\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                   b"Caf\xe9 order, reach me at " + EMAIL.encode() + b"\r\n")
            p = scan("--format", "jsonl", tmp.write("gateway.eml", eml))
            got = [(x["type"], x["excerpt"].split("@")[-1]) for x in jsonl(p.stdout)]
            eq(sorted(got), [("EMAIL", "corp-mail.de"), ("EMAIL", "example.org"), ("EMAIL", "example.org")],
               "a part in unknown-8bit (and the headers' addresses)")
        r.run("a mail part in unknown-8bit is read", unknown_8bit_mail)
    r.done()


if __name__ == "__main__":
    main()
