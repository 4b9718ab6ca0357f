#!/usr/bin/env python3
"""The scan corpus's prompt bodies in the shape Amazon Bedrock's Converse
API sends them: each message's content a list of text blocks. The same
prose, so that scan_bench's MB/s on it compares with the corpus's own.

    bench/converse_shape.py IN OUT blocks|split [MB]

blocks: one text block per message. split: each message's text cut at
random into blocks of 20 to 300 characters (fixed seed), as clients that
stream or chunk a prompt send it; adjacent blocks are joined by the JSON
decoder's seams, so this shape measures what they cost. MB bounds how much
of IN is read (default: all of it)."""

import json
import random
import sys


def blocks(text, rng, split):
    if not split:
        return [{"text": text}]
    out, i = [], 0
    while i < len(text):
        n = rng.randint(20, 300)
        out.append({"text": text[i:i + n]})
        i += n
    return out or [{"text": ""}]


def main():
    if len(sys.argv) < 4 or sys.argv[3] not in ("blocks", "split"):
        print(__doc__.strip().splitlines()[4].strip(), file=sys.stderr)
        return 2
    src, dst, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    limit = int(float(sys.argv[4]) * 1e6) if len(sys.argv) > 4 else None
    rng = random.Random(5)
    read = 0
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            read += len(line)
            if limit is not None and read > limit:
                break
            body = json.loads(line)
            for m in body.get("messages", []):
                if isinstance(m.get("content"), str):
                    m["content"] = blocks(m["content"], rng, mode == "split")
            out.write(json.dumps(body) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
