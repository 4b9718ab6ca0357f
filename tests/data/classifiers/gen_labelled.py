#!/usr/bin/env python3
"""Writes labelled.jsonl next to this script: one object per line,
{"text": ..., "expect": [{"type": ..., "value": ...}]}, with positives and hard
negatives per type. Deterministic (seeded); rerun after changing it and
commit both files. Values are synthetic (valid checksums, never real people).
"""
import base64, json, os, random, string

R = random.Random(20240611)
FILL = ("please review the attached note before the meeting and reply with comments "
        "our team will follow up about the quarterly report and the contract draft").split()


def words(n):
    return " ".join(R.choice(FILL) for _ in range(n))


def sent(value, pre="", post=""):
    return f"{words(R.randint(2, 6))} {pre}{value}{post} {words(R.randint(2, 6))}."


def luhn_digit(body):
    s = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        s += d
    return str((10 - s % 10) % 10)


def luhn_ok(num):
    return luhn_digit(num[:-1]) == num[-1]


def card(prefix, length):
    body = prefix + "".join(R.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return body + luhn_digit(body)


def group4(s, sep):
    return sep.join(s[i:i + 4] for i in range(0, len(s), 4))


def iban(cc, bban):
    num = "".join(str(int(c, 36)) for c in bban + cc + "00")
    chk = 98 - int(num) % 97
    return f"{cc}{chk:02d}{bban}"


def rand_digits(n):
    return "".join(R.choice(string.digits) for _ in range(n))


def rand_alnum(n, alpha=string.ascii_letters + string.digits):
    return "".join(R.choice(alpha) for _ in range(n))


def de_taxid():
    while True:
        d = [R.randint(1, 9)] + [R.randint(0, 9) for _ in range(9)]
        cnt = [d.count(k) for k in range(10)]
        if sum(1 for c in cnt if c > 1) != 1 or max(cnt) > 3 or not 1 <= cnt.count(0) <= 2:
            continue
        p = 10
        for x in d:
            s = (x + p) % 10 or 10
            p = (2 * s) % 11
        c = 11 - p
        c = 0 if c == 10 else c
        return "".join(map(str, d)) + str(c)


ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]


def it_cf():
    s = "".join(R.choice(string.ascii_uppercase) for _ in range(6)) + rand_digits(2) + R.choice("ABCDEHLMPRST") \
        + f"{R.randint(1, 71):02d}" + R.choice(string.ascii_uppercase) + rand_digits(3)
    t = 0
    for i, c in enumerate(s):
        v = int(c) if c.isdigit() else ord(c) - 65
        t += ODD[v] if i % 2 == 0 else v
    return s + chr(65 + t % 26)


def nino():
    a = R.choice("ABCEGHJKLMNOPRSTWXYZ")
    b = R.choice("ABCEGHJKLMNPRSTWXYZ")
    if a + b in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
        a, b = "A", "B"
    return f"{a}{b}{rand_digits(6)}{R.choice('ABCD')}"


def ssn():
    while True:
        a = R.randint(1, 899)
        if a != 666:
            return f"{a:03d}-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}"


def cpf():
    d = [R.randint(0, 9) for _ in range(9)]
    for n in (9, 10):
        s = sum(d[i] * (n + 1 - i) for i in range(n))
        d.append(s * 10 % 11 % 10)
    s = "".join(map(str, d))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"


def es_dni():
    n = R.randint(10000000, 99999999)
    return f"{n}{'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}"


def nric():
    d = rand_digits(7)
    s = sum(int(d[i]) * w for i, w in enumerate([2, 7, 6, 5, 4, 3, 2]))
    return "S" + d + "JZIHGFEDCBA"[s % 11]


def b32(n):
    return "".join(R.choice(string.ascii_uppercase + "234567") for _ in range(n))


def jwt():
    return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + rand_alnum(48, string.ascii_letters + string.digits + "_-") \
        + "." + rand_alnum(43, string.ascii_letters + string.digits + "_-")


def mac():
    sep = R.choice(":-")
    return sep.join(f"{R.randint(0, 255):02x}" for _ in range(6))


def uuid():
    h = "".join(R.choice("0123456789abcdef") for _ in range(32))
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


out = []


def pos(t, value, text=None):
    out.append({"text": text if text is not None else sent(value), "expect": [{"type": t, "value": value}]})


def neg(text):
    out.append({"text": text, "expect": []})


for _ in range(12):
    first = R.choice(["anna", "john", "li", "marie", "omar"])
    pos("EMAIL", f"{first}.{R.choice(['smith', 'rossi', 'weber'])}{R.randint(1, 99)}@{R.choice(['example.com', 'mail.example.org', 'corp.example.net'])}")
for t in ["user@localhost", "icon@2x.png", "logo@3x.jpg", "@handle on social", "a@b", "git@github",
          "ping me @ noon", "name at example dot com", "foo@bar.c", "version pkg@1.2.3", "x@y.svg"]:
    neg(sent(t))

for _ in range(4):
    pos("PHONE", f"({R.randint(201, 989)}) {R.randint(200, 999)}-{rand_digits(4)}")
    pos("PHONE", f"+1 {R.randint(201, 989)} {R.randint(200, 999)} {rand_digits(4)}")
    pos("PHONE", f"+{R.choice(['44', '49', '33', '39'])} {R.randint(10, 99)} {R.randint(1000, 9999)} {R.randint(1000, 9999)}")
for t in ["ISBN 978-3-16-148410-0", "call extension 4471", "build 20240301", "10:30:45", "v1.415.555",
          "1234567", "ticket #4155552671", "score 415/555", "+1", "ratio 3.14159265", "see page 415 555"]:
    neg(sent(t))

for _ in range(4):
    pos("CREDIT_DEBIT_CARD_NUMBER", card("4", 16))
    pos("CREDIT_DEBIT_CARD_NUMBER", group4(card(R.choice(["51", "52", "55"]), 16), " "))
    pos("CREDIT_DEBIT_CARD_NUMBER", group4(card(R.choice(["34", "37"]), 15), "-"))
for _ in range(10):
    c = card("4", 16)
    bad = c[:-1] + str((int(c[-1]) + 1) % 10)
    neg(sent(bad, "order number "))
neg(sent("1234 5678 9012 3452", "ref "))
neg(sent(card("1", 16), "tracking "))

for cc, bban in [("DE", lambda: rand_digits(18)), ("GB", lambda: "WEST" + rand_digits(14)),
                 ("FR", lambda: rand_digits(23)), ("NL", lambda: "ABNA" + rand_digits(10)),
                 ("ES", lambda: rand_digits(20)), ("IT", lambda: "X" + rand_digits(22))]:
    for k in range(2):
        v = iban(cc, bban())
        pos("INTERNATIONAL_BANK_ACCOUNT_NUMBER", v if k == 0 else " ".join(v[i:i + 4] for i in range(0, len(v), 4)))
for _ in range(10):
    v = iban("DE", rand_digits(18))
    neg(sent(v[:2] + f"{(int(v[2:4]) + 1) % 100:02d}" + v[4:], "account "))
neg(sent("DE8937040044053201300", "short "))

for _ in range(12):
    pos("US_SOCIAL_SECURITY_NUMBER", ssn())
for t in ["000-12-3456", "666-12-3456", "123-00-4567", "123-45-0000", "078-05-1120", "2024-03-01",
          "12-345-6789", "123-456-789", "900-10-1234", "1234-56-789", "123456789"]:
    neg(sent(t, "id "))

for _ in range(6):
    pos("IP_ADDRESS", ".".join(str(R.randint(1, 254)) for _ in range(4)))
for v in ["2001:db8::8a2e:370:7334", "fe80::1", "2001:db8:85a3:0:0:8a2e:370:7334", "fe80::1ff:fe23:4567:890a",
          "2a00:1450:4001:81c::200e",
          "fd00::abcd:12"]:
    pos("IP_ADDRESS", v)
for t in ["1.2.3", "version 1.2.3.4.5", "256.1.1.1", "01.02.03.04", "v10.0.0.1", "3.14159", "12:30:45",
          "release 2024.03.01", "10.0.0", "1.2.3.4.5.6", "a:b:c"]:
    neg(sent(t))

for _ in range(12):
    pos("MAC_ADDRESS", mac())
for t in ["12:30:45", "aa:bb:cc", "00-1A-2B-3C-4D", uuid(), "00:1a:2b:3c:4d:5e:6f:70", "1:2:3:4:5:6",
          "ab-cd-ef", "time 23:59:59.999", "ratio 16:9", "00:1a-2b:3c-4d:5e"]:
    neg(sent(t))

for _ in range(12):
    pos("AWS_ACCESS_KEY", R.choice(["AKIA", "ASIA"]) + b32(16))
for t in ["AKIA" + b32(15), "AKIA" + b32(17) + "Q", "XKIA" + b32(16), "akia" + b32(16).lower(), "AKIA",
          "AKIAIOSFODNN7", "BKIA" + b32(16), "AKIA-" + b32(16), "AKI" + b32(17), "AKIA" + b32(8) + "0189ABCD"]:
    neg(sent(t))

for _ in range(12):
    v = rand_alnum(40, string.ascii_letters + string.digits + "+/")
    pos("AWS_SECRET_KEY", v, text=sent(v, R.choice(["aws_secret_access_key = ", "AWS_SECRET_ACCESS_KEY=", "aws_secret_key: "])))
for t in ["aws_secret_access_key = YOUR_SECRET_KEY_HERE", "aws_secret_access_key = <secret>",
          "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709", "the aws secret is rotated monthly",
          "aws_secret_access_key = " + rand_alnum(30), "aws_secret_access_key = " + "a" * 40,
          "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904", "aws_secret_access_key = ${AWS_SECRET}",
          "secret_access_key: redacted", "base64 " + rand_alnum(40) + "=="]:
    neg(sent(t))

for _ in range(12):
    pos("GITHUB_TOKEN", R.choice(["ghp_", "gho_", "ghs_"]) + rand_alnum(36))
for t in ["ghp_" + rand_alnum(20), "ghp_" + rand_alnum(35), "ghx_" + rand_alnum(36), "ghp-" + rand_alnum(36),
          "the ghp_ prefix", "xghp_" + rand_alnum(36), "GHP_" + rand_alnum(36), "gh_" + rand_alnum(36),
          "ghp_" + rand_alnum(36) + "_x", "github token rotated"]:
    neg(sent(t))

for _ in range(12):
    pos("JWT", jwt())
for t in ["eyJhbGciOi", "eyJ" + rand_alnum(8) + "." + rand_alnum(8), "header.payload.signature",
          "a.b.c", "xeyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.abcdefghijkl.mnopqrstuvwx", "eyJ is base64 for {\"",
          "file.tar.gz", "www.example.com", "v1.2.3", "eyJ.eyJ.eyJ"]:
    neg(sent(t))

for kind in ["RSA ", "", "EC ", "OPENSSH ", "DSA ", "ENCRYPTED "] * 2:
    v = f"-----BEGIN {kind}PRIVATE KEY-----"
    pos("PRIVATE_KEY", v)
for t in ["-----BEGIN PUBLIC KEY-----", "-----BEGIN CERTIFICATE-----", "-----BEGIN RSA PUBLIC KEY-----",
          "-----BEGIN PGP SIGNATURE-----", "BEGIN PRIVATE KEY", "-----END RSA PRIVATE KEY-----",
          "private key material", "-----BEGIN CERTIFICATE REQUEST-----", "----BEGIN PRIVATE KEY----",
          "-----BEGIN X509 CRL-----"]:
    neg(sent(t))

for _ in range(12):
    v = rand_alnum(R.randint(12, 24))
    pos("GENERIC_SECRET", v, text=sent(v, R.choice(["password: ", "api_key=", "secret: ", "client_secret=", "passwd="])))
for t in ["password: ********", "password: ${DB_PASSWORD}", "token: 4096", "password: <your password>",
          "the password is strong", "api_key=xxxxxxxxxxxxxxxx", "secret: changeme", "password: password",
          "tokens: 1024", "password=aaaaaaaaaaaa", "max_token=2048"]:
    neg(sent(t))

for _ in range(12):
    pos("UK_NATIONAL_INSURANCE_NUMBER", nino())
for t in ["QQ123456C", "AB123456E", "BG123456A", "AO123456A", "DA123456A", "AB12345C", "ab123456c",
          "AB1234567C", "NK123456B", "ZZ123456D"]:
    neg(sent(t))

for _ in range(12):
    v = de_taxid()
    pos("DE_TAX_ID", v, text=sent(v, R.choice(["Steuer-ID ", "steuerliche Identifikationsnummer: ", "IdNr. "])))
for _ in range(6):
    v = de_taxid()
    neg(sent(v, "Bestellnummer "))
for _ in range(5):
    v = de_taxid()
    neg(sent(v[:-1] + str((int(v[-1]) + 1) % 10), "Steuer-ID "))

for _ in range(12):
    pos("IT_FISCAL_CODE", it_cf())
for _ in range(10):
    v = it_cf()
    neg(sent(v[:-1] + chr((ord(v[-1]) - 65 + 1) % 26 + 65)))

for _ in range(12):
    pos("ES_DNI", es_dni())
for _ in range(10):
    v = es_dni()
    neg(sent(v[:-1] + ("A" if v[-1] != "A" else "B"), "ref "))

for _ in range(12):
    pos("BR_CPF", cpf())
for _ in range(10):
    v = cpf()
    neg(sent(v[:-1] + str((int(v[-1]) + 1) % 10)))

for _ in range(12):
    pos("SG_NRIC", nric())
for _ in range(10):
    v = nric()
    neg(sent(v[:-1] + ("A" if v[-1] != "A" else "B")))

for _ in range(12):
    d = f"{R.randint(1940, 2005)}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}"
    pos("DATE_OF_BIRTH", d, text=sent(d, R.choice(["date of birth: ", "DOB ", "born on ", "Geburtsdatum "])))
for _ in range(10):
    d = f"{R.randint(1990, 2030)}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}"
    neg(sent(d, R.choice(["meeting on ", "invoice date ", "release "])))

for _ in range(12):
    v = R.choice(["C", "F", "G"]) + rand_alnum(8, string.ascii_uppercase.replace("O", "") + string.digits)
    if not any(c.isdigit() for c in v[:3]):
        v = v[0] + "1" + v[2:]
    pos("PASSPORT_NUMBER", v, text=sent(v, R.choice(["passport no. ", "Reisepass ", "passeport "])))
for _ in range(10):
    neg(sent(rand_alnum(9, string.ascii_uppercase + string.digits), "order "))

R.shuffle(out)
out_main = out

# EU VAT numbers, appended after the shuffle from their own generator so the
# entries above stay as they were. The RO form (2 to 10 digits) and the old
# Irish form (IE8Z49289F) need not hold a run of 6 digits.
R = random.Random(20261126)
vat_out = []


def vat_de():
    d = [R.randint(1, 9)] + [R.randint(0, 9) for _ in range(7)]
    p = 10
    for x in d:
        s = (x + p) % 10 or 10
        p = (2 * s) % 11
    c = 11 - p
    return "DE" + "".join(map(str, d)) + str(0 if c == 10 else c)


def vat_it():
    body = rand_digits(10)
    return "IT" + body + luhn_digit(body)


out = vat_out
for k in range(12):
    if k < 4:
        v = "RO" + str(R.randint(1, 9)) + rand_digits([1, 3, 4, 9][k])
    elif k < 8:
        v = "IE" + rand_digits(1) + ("+*" + string.ascii_uppercase)[k - 4 if k < 6 else R.randint(2, 27)] \
            + rand_digits(5) + R.choice("ABCDEFGHW")
    elif k < 10:
        v = vat_de()
    else:
        v = vat_it()
    pos("EU_VAT_NUMBER", v, text=sent(v, R.choice(["", "VAT ", "USt-IdNr. ", "TVA ", "cod TVA "])))
for t in ["RO1", "ROM 2024", "RO12345678901", "IE12345", "DE12345678", "ROAD 66", "EUR 5540",
          "IT" + rand_digits(12), "ATU1234567", "IE1234"]:
    neg(sent(t))
for _ in range(3):
    v = vat_de()
    neg(sent(v[:-1] + str((int(v[-1]) + 1) % 10), "VAT "))
R.shuffle(vat_out)

# cards written with dots (catalogue 4.1 case 26), and numbers with dots
# that are no card: a decimal, a version, a date, one that fails Luhn
dot_out = []
out = dot_out
for k in range(6):
    pos("CREDIT_DEBIT_CARD_NUMBER", group4(card(R.choice(["4", "51", "55", "6011"]), 16), "."))
for t in ["4111.111111111111", "3.1415926535897932", "2024.01.15", "v4.1111.1111.1",
          "release 2.10.4", "1111.2222.3333"]:
    neg(sent(t))
for _ in range(3):
    c = card("4", 16)
    neg(sent(group4(c[:-1] + str((int(c[-1]) + 1) % 10), "."), "order "))
# on four lines: found next to a context word, not in a column alone
for k in range(4):
    v = group4(card(R.choice(["4", "51"]), 16), "\r\n" if k == 3 else "\n")
    pos("CREDIT_DEBIT_CARD_NUMBER", v, text=sent(v, R.choice(["card:\n", "Visa ", "credit card "])))
for _ in range(3):
    neg(sent(group4(card("4", 16), "\n"), "codes:\n"))

# Vendor tokens (gitleaks' default rules, AI providers), appended from
# their own generator: per type, positives in their documented shape and
# hard negatives (the prefix alone or in a word, one character short, a
# placeholder of the right length, the wrong case or alphabet).
R = random.Random(20261127)
vendor_out = []
out = vendor_out
HEX, HEXU = "0123456789abcdef", "0123456789ABCDEF"
AN = string.ascii_letters + string.digits
B32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
VENDORS = {
    "SHOPIFY_TOKEN": (lambda: R.choice(["shpat_", "shpca_", "shppa_", "shpss_"]) + rand_alnum(32, HEX),
                      ["shpat_" + rand_alnum(31, HEX), "shpxx_" + rand_alnum(32, HEX), "shpat_" + "x" * 32]),
    "DATABRICKS_TOKEN": (lambda: "dapi" + rand_alnum(32, HEX),
                         ["dapi" + rand_alnum(31, HEX), "dapi" + rand_alnum(32, HEXU), "the dapi endpoint"]),
    "DIGITALOCEAN_TOKEN": (lambda: R.choice(["dop_v1_", "doo_v1_", "dor_v1_"]) + rand_alnum(64, HEX),
                           ["dop_v1_" + rand_alnum(63, HEX), "dox_v1_" + rand_alnum(64, HEX), "dop_v1_" + "0" * 64]),
    "DOPPLER_TOKEN": (lambda: R.choice(["dp.pt.", "dp.st.", "dp.ct.", "dp.sa."]) + rand_alnum(43),
                      ["dp.pt." + rand_alnum(20), "dp.xx." + rand_alnum(43), "dp.pt." + "a" * 43]),
    "PYPI_TOKEN": (lambda: "pypi-AgEIcHlwaS5vcmc" + rand_alnum(R.randint(60, 160), AN + "-_"),
                   ["pypi-AgEIcHlwaS5vcmc" + rand_alnum(20), "pypi-" + rand_alnum(80), "pypi-token here"]),
    "RUBYGEMS_TOKEN": (lambda: "rubygems_" + rand_alnum(48, HEX),
                       ["rubygems_" + rand_alnum(47, HEX), "rubygems_" + rand_alnum(48, "ghijklmnop"), "rubygems_org"]),
    "POSTMAN_TOKEN": (lambda: "PMAK-" + rand_alnum(24, HEX) + "-" + rand_alnum(34, HEX),
                      ["PMAK-" + rand_alnum(24, HEX), "PMAK-" + rand_alnum(23, HEX) + "-" + rand_alnum(34, HEX),
                       "PMAK-" + "0" * 24 + "-" + "0" * 34]),
    "PULUMI_TOKEN": (lambda: "pul-" + rand_alnum(40, HEX),
                     ["pul-" + rand_alnum(39, HEX), "pull-" + rand_alnum(40, HEX), "pul-" + "f" * 40]),
    "NEWRELIC_KEY": (lambda: R.choice(["NRAK-" + rand_alnum(27, string.ascii_uppercase + string.digits),
                                       "NRJS-" + rand_alnum(19, HEX), "NRII-" + rand_alnum(32)]),
                     ["NRAK-" + rand_alnum(26), "NRAK-" + "X" * 27, "NRXX-" + rand_alnum(27)]),
    "GRAFANA_TOKEN": (lambda: R.choice(["glc_" + rand_alnum(R.randint(60, 120), AN + "+/"),
                                        "glsa_" + rand_alnum(32) + "_" + rand_alnum(8, HEX)]),
                      ["glc_" + rand_alnum(20), "glsa_" + rand_alnum(32), "glc_" + "A" * 40]),
    "LINEAR_API_KEY": (lambda: "lin_api_" + rand_alnum(40),
                       ["lin_api_" + rand_alnum(39), "lin_api_" + "x" * 40, "lin_apis_" + rand_alnum(40)]),
    "HASHICORP_TOKEN": (lambda: R.choice(["hvs." + rand_alnum(R.randint(90, 110), AN + "_-"),
                                          rand_alnum(14) + ".atlasv1." + rand_alnum(R.randint(60, 70))]),
                        ["hvs." + rand_alnum(40), "s." + rand_alnum(24), rand_alnum(14) + ".atlasv1." + rand_alnum(20)]),
    "ATLASSIAN_API_TOKEN": (lambda: "ATATT3" + rand_alnum(177, AN + "_-") + "=" + rand_alnum(8, HEXU),
                            ["ATATT3" + rand_alnum(100), "ATATT" + rand_alnum(186), "ATATT3" + "x" * 186]),
    "SQUARE_TOKEN": (lambda: R.choice(["EAAA" + rand_alnum(60, AN + "-_"), "sq0atp-" + rand_alnum(22, AN + "-_"),
                                       "sq0csp-" + rand_alnum(43, AN + "-_")]),
                     ["EAAA" + rand_alnum(40), "sq0atp-" + rand_alnum(12), "EAAA" + "A" * 60]),
    "DYNATRACE_TOKEN": (lambda: "dt0c01." + rand_alnum(24, string.ascii_uppercase + string.digits) + "." + rand_alnum(64),
                        ["dt0c01." + rand_alnum(24), "dt0c01." + rand_alnum(23) + "." + rand_alnum(64),
                         "dt0c02." + rand_alnum(24) + "." + rand_alnum(64)]),
    "AGE_SECRET_KEY": (lambda: "AGE-SECRET-KEY-1" + rand_alnum(58, B32),
                       ["AGE-SECRET-KEY-1" + rand_alnum(57, B32), "AGE-SECRET-KEY-1" + rand_alnum(58, "abcdefgh"),
                        "age1" + rand_alnum(58, B32.lower())]),
    "ONEPASSWORD_TOKEN": (lambda: "ops_eyJ" + rand_alnum(R.randint(260, 400), AN + "+/"),
                          ["ops_eyJ" + rand_alnum(100), "ops_" + rand_alnum(300), "ops_eyJ is the prefix"]),
    "FLYIO_TOKEN": (lambda: R.choice(["fo1_" + rand_alnum(43, AN + "_-"), "fm2_" + rand_alnum(R.randint(120, 200), AN + "+/"),
                                      "fm1r_" + rand_alnum(R.randint(120, 200), AN + "+/")]),
                    ["fo1_" + rand_alnum(42), "fm2_" + rand_alnum(50), "fo2_" + rand_alnum(43)]),
    "PLANETSCALE_TOKEN": (lambda: "pscale_" + R.choice(["tkn_", "pw_", "oauth_"]) + rand_alnum(R.randint(32, 43), AN + "_"),
                          ["pscale_tkn_" + rand_alnum(20), "pscale_xyz_" + rand_alnum(40), "pscale_tkn_" + "a" * 40]),
    "ALIBABA_ACCESS_KEY": (lambda: "LTAI" + rand_alnum(20),
                           ["LTAI" + rand_alnum(19), "LTAI" + "A" * 20, "ltai" + rand_alnum(20)]),
    "AZURE_AD_CLIENT_SECRET": (lambda: rand_alnum(3) + R.choice(string.digits) + "Q~" + rand_alnum(34, AN + "_~.-"),
                               [rand_alnum(3) + "xQ~" + rand_alnum(34), rand_alnum(3) + "8Q~" + rand_alnum(20),
                                "Q~ and ~Q are emoticons"]),
    "GOOGLE_OAUTH_CLIENT_SECRET": (lambda: "GOCSPX-" + rand_alnum(28, AN + "_-"),
                                   ["GOCSPX-" + rand_alnum(27), "GOCSPX-" + "X" * 28, "gocspx-" + rand_alnum(28)]),
    "SENTRY_TOKEN": (lambda: R.choice(["sntrys_eyJ" + rand_alnum(R.randint(80, 160), AN + "+/="),
                                       "sntryu_" + rand_alnum(64, HEX)]),
                     ["sntrys_" + rand_alnum(40), "sntryu_" + rand_alnum(63, HEX), "sntryu_" + "0" * 64]),
    "PREFECT_API_KEY": (lambda: "pnu_" + rand_alnum(36),
                        ["pnu_" + rand_alnum(35), "pnu_" + "x" * 36, "pnx_" + rand_alnum(36)]),
    "HEROKU_API_KEY": (lambda: "HRKU-AA" + rand_alnum(58, AN + "_-"),
                       ["HRKU-AA" + rand_alnum(30), "HRKU-" + rand_alnum(60), "HRKU-AA" + "A" * 58]),
    "GROQ_API_KEY": (lambda: "gsk_" + rand_alnum(52),
                     ["gsk_" + rand_alnum(51), "gsk_" + "X" * 52, "gsk_" + rand_alnum(60)]),
    "REPLICATE_API_TOKEN": (lambda: "r8_" + rand_alnum(37),
                            ["r8_" + rand_alnum(36), "r8_" + "0" * 37, "r9_" + rand_alnum(37)]),
    "PERPLEXITY_API_KEY": (lambda: "pplx-" + rand_alnum(48),
                           ["pplx-" + rand_alnum(47), "pplx-" + "a" * 48, "pplx-api is down"]),
    "XAI_API_KEY": (lambda: "xai-" + rand_alnum(80),
                    ["xai-" + rand_alnum(79), "xai-" + "x" * 80, "xai-org grok"]),
}


def emit(table, lead):
    """8 positives per type, each after one of lead's words, then its negatives."""
    for t, (gen, negs) in table.items():
        for _ in range(8):
            v = gen()
            pos(t, v, text=sent(v, R.choice(lead)))
        for n in negs:
            neg(sent(n))


emit(VENDORS, ["", "token ", "key=", "export KEY="])
# the other GitLab prefixes
for p in ["glptt-" + rand_alnum(40, HEX), "gldt-" + rand_alnum(20), "glrt-" + rand_alnum(20),
          "gloas-" + rand_alnum(64), "GR1348941" + rand_alnum(20), "glsoat-" + rand_alnum(20)]:
    pos("GITLAB_TOKEN", p)
for n in ["glptt-" + rand_alnum(39, HEX), "gldt-" + rand_alnum(12), "gloas-" + rand_alnum(30)]:
    neg(sent(n))

# Addresses written to get past a filter: bracketed "at" and "dot"
# (appended after the vendor tokens, same generator)
for _ in range(10):
    user = R.choice(["anna", "john.doe", "li_wei", "m.rossi", "omar"]) + str(R.randint(1, 99))
    dom = R.choice(["example", "mail.example", "corp-mail"])
    tld = R.choice(["com", "org", "de", "io"])
    ob = R.choice(["[{}]", "({})", "{{{}}}", "<{}>", " [{}] ", " ({}) "])
    at, dot = ob.format(R.choice(["at", "AT", "@"])), ob.format(R.choice(["dot", "DOT"]))
    v = R.choice([user + at + dom.replace(".", dot) + dot + tld, user + at + dom + "." + tld,
                  user + "@" + dom + dot + tld]).strip()
    pos("EMAIL", v)
for t in ["look [at] this", "meet (at) noon [dot] later", "array[at] = 5", "icon(at)2x.png", "see <at> 5 [dot] 6",
          "f(a)b.c", "a [at] b", "version [dot] 2", "bob at example dot com"]:
    neg(sent(t))

# Bedrock API keys and chat webhooks (appended, same generator)


def guid():
    return "-".join(rand_alnum(k, HEX) for k in (8, 4, 4, 4, 12))


MORE = {
    "AWS_BEDROCK_API_KEY": (
        lambda: R.choice(["ABSK" + base64.b64encode(b"BedrockAPIKey-" + bytes(R.randrange(256) for _ in range(R.randint(60, 90)))).decode()[4:],
                          "bedrock-api-key-" + base64.b64encode(bytes(R.randrange(256) for _ in range(R.randint(60, 200)))).decode()]),
        ["ABSK" + rand_alnum(30), "bedrock-api-key-" + rand_alnum(20), "ABSK" + "A" * 80]),
    "DISCORD_WEBHOOK": (
        lambda: "https://" + R.choice(["", "ptb.", "canary."]) + R.choice(["discord.com", "discordapp.com"]) +
        "/api/webhooks/" + rand_digits(R.randint(17, 19)) + "/" + rand_alnum(68, AN + "_-"),
        ["https://discord.com/api/webhooks/123/abc", "https://discord.com/api/webhooks/" + rand_digits(18) + "/" + rand_alnum(20),
         "https://discord.com/channels/" + rand_digits(18)]),
    "MICROSOFT_TEAMS_WEBHOOK": (
        lambda: "https://" + R.choice(["contoso", "acme-corp", "example"]) + ".webhook.office.com/webhookb2/" + guid() + "@" +
        guid() + "/IncomingWebhook/" + rand_alnum(32, HEX) + "/" + guid(),
        ["https://contoso.webhook.office.com/webhookb2/" + guid(), "https://outlook.office.com/webhook/" + guid(),
         "webhook.office.com/webhookb2/ is the endpoint"]),
}
emit(MORE, ["", "url ", "key=", "export KEY="])

# An '@' in brackets after a space: the window reaches back to the local part
for _ in range(4):
    v = R.choice(["anna", "omar7", "li.wei"]) + R.choice([" [@] ", " (@) "]) + R.choice(["example.com", "corp-mail.de"])
    pos("EMAIL", v)
for t in ["see [@] docs", "x (@) y", "array[@] = 5"]:
    neg(sent(t))

# Credentials in the shapes of commands and environment files, and the
# hard negatives real files showed next to them (versions of standards as
# addresses, ARNs and slices as IPv6, gettext catalogues as addresses, a
# date after a birth date, test logs' PASS: lines)
R = random.Random(20261128)
cred_out = []
out = cred_out
for _ in range(3):
    v = rand_alnum(18) + str(R.randint(10, 99))
    pos("GENERIC_SECRET", v, text=sent(v, R.choice(["export OPENAI_KEY=", "ENCRYPTION_KEY: ", "SENDGRID_KEY="])))
    v = rand_alnum(10) + R.choice("!#%-_") + str(R.randint(10, 99))
    pos("GENERIC_SECRET", v, text=sent(v, R.choice(["curl -s -u deploy:", "curl --user admin:"]), " https://ci.internal/x"))
    v = rand_alnum(9) + str(R.randint(10, 99))
    pos("GENERIC_SECRET", v, text=sent(v, R.choice(["mysqldump -uroot -p", "mysql -h db -u app -p"]), " app"))
    v = rand_alnum(9) + str(R.randint(10, 99))
    pos("GENERIC_SECRET", v, text=sent(v, R.choice(["auth: { user: 'me', pass: '", "SMTP_PASS="]),
                                       R.choice(["' }", ""])))
for _ in range(2):
    v = base64.b64encode((R.choice(["deploy", "ci", "admin"]) + ":" + rand_alnum(12) + str(R.randint(10, 99))).encode()).decode()
    pos("GENERIC_SECRET", v, text=sent(v, R.choice(['"auth": "', "auth: "]), R.choice(['"', ""])))
for _ in range(2):
    v = rand_alnum(12) + str(R.randint(10, 99))
    pos("GENERIC_SECRET", v, text=sent(v, "machine git.corp.io login deploy password "))
neg(sent("log in with your login name and password shown on the card"))
for t in ["STRIPE_PUBLISHABLE_KEY=pk_test_51H8kZk3q9XbT2mLp8RvW", "S3_KEY=uploads/2024/report-7f3a9c.pdf",
          "curl -u user:password https://x", "docker run -u 1000:1000 img", "mysql -u root -p mydb",
          "bypass: Zk3q9XbT2mLp", "PASS: gdb.base/break.exp: run", "// 27.8.3.2 Assign and swap",
          "arn:aws:apigateway:us-west-2::/apis/a1b2c3", "zip(children[::2], children[1::2])",
          "mac 00:00:00:00:00:00", "po/ca@valencia.po po/en@quot.header", "root@localhost.localdomain",
          "born in 1985, joined on 12 March 2010", "\"CidrIp\": \"0.0.0.0/0\""]:
    neg(sent(t))

# Shared access signatures (Azure SAS URLs and connection strings): the
# sig is the secret; placeholders, short and hex signatures are not
R = random.Random(20261127)
sas_out = []
out = sas_out
for _ in range(6):
    raw = base64.b64encode(bytes(R.randrange(256) for _ in range(32))).decode()
    enc = raw.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    v = R.choice([raw, enc])
    head = R.choice(["https://acct" + rand_digits(3) + ".blob.core.windows.net/reports/q3.pdf?sv=2022-11-02&ss=b&srt=o&sp=r"
                     "&se=2025-01-01T00:00:00Z&spr=https&sig=",
                     "SharedAccessSignature=sv=2021-06-08&ss=bfqt&srt=sco&sp=rwdlacup&se=2030-01-01T00:00:00Z&sig=",
                     "https://x.queue.core.windows.net/q?sig="])
    pos("AZURE_SAS_TOKEN", v, text=sent(v, head, R.choice(["", "&sr=b", " (expires Friday)"])))
for t in ["?sig=" + "A" * 43 + "%3D", "&sig=<signature>", "&sig=" + rand_alnum(20),
          "?X-Amz-Signature=" + rand_alnum(64, HEX), "&sig=" + rand_alnum(64, HEX)]:
    neg(sent(t))

# STS session tokens (the third part of temporary AWS credentials), bare,
# in environment files and URL-encoded in presigned URLs
R = random.Random(20261129)
sess_out = []
out = sess_out
for _ in range(6):
    v = R.choice(["IQoJb3JpZ2luX2VjE", "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJH", "FwoGZXIvYXdzE"]) + \
        base64.b64encode(bytes(R.randrange(256) for _ in range(R.randint(300, 700)))).decode().rstrip("=")
    how = R.randrange(3)
    if how == 2:
        v = v.replace("+", "%2B").replace("/", "%2F")
    pre = ["export AWS_SESSION_TOKEN=", "aws_session_token = ",
           "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Security-Token="][how]
    pos("AWS_SESSION_TOKEN", v, text=sent(v, pre, R.choice(["", "&X-Amz-Date=20241201T000000Z"]) if how == 2 else ""))
for t in ["IQoJb3JpZ2luX2VjEJr is how the tokens begin", "aws_session_token = <token>",
          "FwoGZXIvYXdzE" + rand_alnum(40)]:
    neg(sent(t))

# Birth dates and passports next to their words in the other EU languages
# (Bulgarian, Greek in both cases, Czech, Slovak, Hungarian with its
# year-first dates, Romanian, Lithuanian, Latvian, Estonian, Croatian...)
R = random.Random(20261130)
eu_out = []
out = eu_out
for _ in range(12):
    y, m, dd = R.randint(1940, 2005), R.randint(1, 12), R.randint(1, 28)
    word, d = R.choice([("дата на раждане ", f"{dd:02d}.{m:02d}.{y}"), ("ημερομηνία γέννησης: ", f"{dd:02d}/{m:02d}/{y}"),
                        ("ΗΜΕΡΟΜΗΝΙΑ ΓΕΝΝΗΣΗΣ: ", f"{dd:02d}/{m:02d}/{y}"), ("datum narození: ", f"{dd}.{m}.{y}"),
                        ("dátum narodenia ", f"{dd:02d}.{m:02d}.{y}"), ("születési dátum: ", f"{y}.{m:02d}.{dd:02d}"),
                        ("data nașterii ", f"{dd:02d}.{m:02d}.{y}"), ("gimimo data ", f"{y}-{m:02d}-{dd:02d}"),
                        ("dzimšanas datums ", f"{dd:02d}.{m:02d}.{y}"), ("sünniaeg ", f"{dd:02d}.{m:02d}.{y}"),
                        ("datum rođenja ", f"{dd:02d}.{m:02d}.{y}"), ("datum rojstva ", f"{dd}.{m}.{y}")])
    pos("DATE_OF_BIRTH", d, text=sent(d, word))
for _ in range(8):
    v = R.choice(string.ascii_uppercase) + R.choice(string.ascii_uppercase) + rand_digits(7)
    pos("PASSPORT_NUMBER", v, text=sent(v, R.choice(["διαβατήριο ", "ΔΙΑΒΑΤΗΡΙΟ ", "паспорт № ", "útlevélszám: ",
                                                    "cestovní pas ", "putovnica ", "paspoort ", "pașaport "])))
for t in ["verzió 2019.10.12 kiadás", "ημερομηνία 12/03/2024 συνάντηση", "kód AK1234567 objednávka",
          "дата на договора 12.03.2024"]:
    neg(sent(t))

# Lithuanian and Latvian dates with the year first and the month's name
# (1985 m. kovo 12 d., 1985. gada 12. martā), and secrets named in camelCase
# (dbPass) or as a secret key (secret_key, secretKey)
R = random.Random(20261201)
ltlv_out = []
out = ltlv_out
LT = ["sausio", "vasario", "kovo", "balandžio", "gegužės", "birželio", "liepos", "rugpjūčio", "rugsėjo", "spalio",
      "lapkričio", "gruodžio"]
LV = ["janvārī", "februārī", "martā", "aprīlī", "maijā", "jūnijā", "jūlijā", "augustā", "septembrī", "oktobrī",
      "novembrī", "decembrī"]
for i in range(8):
    y, m, dd = R.randint(1940, 2005), R.randint(1, 12), R.randint(1, 28)
    word, d = [("gimimo data: ", f"{y} m. {LT[m - 1]} {dd} d."), ("gimęs ", f"{y} m. {LT[m - 1]} {dd} d."),
               ("dzimšanas datums: ", f"{y}. gada {dd}. {LV[m - 1]}"), ("dzimis ", f"{y}. gada {dd}. {LV[m - 1]}")][i % 4]
    pos("DATE_OF_BIRTH", d, text=sent(d, word))
for i in range(5):
    v = rand_alnum(R.randint(12, 24)) + R.choice(["#", "!", "7", "%"]) + rand_digits(2)
    key = ["dbPass = \"", "smtpPass: ", "secret_key: ", "secretKey = '", "ldapPass="][i]
    pos("GENERIC_SECRET", v, text=sent(v, key, "\"" if key.endswith("\"") else "'" if key.endswith("'") else ""))
for t in ["sutartis pasirašyta 2019 m. kovo 12 d.", "līgums noslēgts 2019. gada 12. martā",
          "class FooPass : PassInfoMixin<FooPass> {", "secret_key = os.environ[\"SECRET_KEY\"]",
          "firstPass = computeAll(x1)"]:
    neg(sent(t))

# IPv6 of one group with "::" (loopback's ::1, ::a, a prefix such as 6::
# or fe80::): no one's address, and what random bytes hold (trace ids in
# protobuf)
R = random.Random(20261202)
ip6_out = []
out = ip6_out
for t in ["::1", "connect to [::1]:8080", "::a", "6::", "prefix fe80:: on the link"]:
    neg(sent(t))

# card numbers of 17 to 19 digits without separators: with a card word
# (a key) they are cards; alone they are a Java long, a nonce, an id
R = random.Random(20261203)
card19_out = []
out = card19_out
for v, word in [("6221261234567890129", "card_number: "), ("3843061514398340071", "Kreditkarte ")]:
    pos("CREDIT_DEBIT_CARD_NUMBER", v, text=sent(v, word))
for t in ["reqNonce: 3843061514398340071", "\"id\": 6221261234567890129,", "seq 6011000990139424116 acked"]:
    neg(sent(t))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "labelled.jsonl")
with open(path, "w") as f:
    for o in out_main + vat_out + dot_out + vendor_out + cred_out + sas_out + sess_out + eu_out + ltlv_out + ip6_out + card19_out:
        f.write(json.dumps(o, ensure_ascii=False) + "\n")
print(f"wrote {len(out_main) + len(vat_out) + len(dot_out) + len(vendor_out) + len(cred_out) + len(sas_out) + len(sess_out) + len(eu_out) + len(ltlv_out) + len(ip6_out) + len(card19_out)} entries to {path}")
