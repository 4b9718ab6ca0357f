#!/usr/bin/env python3
"""Bodies built to make a scanner slow: one shape repeated through 60 KB
prompt strings (what a client that wants to burn the gateway's CPU, or a
log or table that happens to look like that, sends). Each shape goes to
DIR/NAME.jsonl, about MB megabytes of JSON bodies, one per line.

    bench/adversarial_corpus.py DIR [MB] [NAME...]

bench/scan_bench.sh worst runs sovgw, ripgrep and Hyperscan over each and
prints the MB/s and the ratios (docs/performance.md, "Worst cases")."""

import json
import os
import random
import sys


def rep(unit, size=60000):
    return (unit * (size // len(unit) + 1))[:size]


def rnd(alphabet, size=60000):
    return "".join(random.choice(alphabet) for _ in range(size))


SHAPES = {
    # digits and their separators: windows everywhere
    "digits": lambda: rep("1234567890"),
    "digits_sp": lambda: rep("1 2 3 4 5 6 7 8 9 0 "),
    "groups4": lambda: rep("4111 1111 1111 1111 "),
    "dashes": lambda: rep("123-45-6789 "),
    "dotted": lambda: rep("1.2.3.4 "),
    "colons": lambda: rep("a1:b2:c3:d4:e5:f6 "),
    "iban_like": lambda: rep("DE89 3704 0044 0532 0130 00 "),
    "ssn_word": lambda: rep("SSN 123456789 "),
    "fullwidth": lambda: rep("\uff11\uff12\uff13\uff14 "),
    # '@' and addresses
    "at": lambda: rep("a@b.co "),
    "at_only": lambda: rep("@"),
    "urls": lambda: rep("https://user:pass@host.example.com/path "),
    # literal anchors of secrets and context words, back to back
    "password": lambda: rep("password="),
    "sk": lambda: rep("sk-"),
    "akia": lambda: rep("AKIA"),
    "eyJ": lambda: rep("eyJ"),
    "curl": lambda: rep("curl "),
    "born": lambda: rep("born "),
    # long tokens of the alphabets secrets and IDs use
    "b64": lambda: rnd("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
    "hex": lambda: rnd("0123456789abcdef"),
    "upper_digits": lambda: rnd("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
    # what the normalisation decodes
    "pct": lambda: rep("%41%42%43"),
    "amp": lambda: rep("&#64;&#x40;"),
    "zw": lambda: rep("1\u200b2\u200b3\u200b"),
}


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[5].strip(), file=sys.stderr)
        return 2
    out = sys.argv[1]
    mb = float(sys.argv[2]) if len(sys.argv) > 2 else 5
    names = sys.argv[3:] or list(SHAPES)
    os.makedirs(out, exist_ok=True)
    for name in names:
        random.seed(7)
        size, limit = 0, int(mb * 1e6)
        with open(os.path.join(out, name + ".jsonl"), "w", encoding="utf-8") as f:
            while size < limit:
                b = json.dumps({"model": "m", "messages": [{"role": "user", "content": SHAPES[name]()}]}) + "\n"
                f.write(b)
                size += len(b)
    return 0


if __name__ == "__main__":
    sys.exit(main())
