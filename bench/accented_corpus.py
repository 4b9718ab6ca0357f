#!/usr/bin/env python3
"""bench/accented_corpus.py IN.jsonl OUT.jsonl — the benchmark corpus with
12 % of its message words replaced by German, French and Polish words
(Grüße, garçon, Łódź ...), seeded: text dense in accented letters, for
what the normalisation's per-letter work costs (docs/performance.md,
"Fourteenth round"). Compare two scan_bench builds on OUT alternately."""
import json
import random
import sys

WORDS = ["Grüße", "Müller", "schön", "für", "Straße", "über", "Größe", "natürlich", "Käse", "Brücke",
         "Zürich", "Äpfel", "déjà", "garçon", "Łódź", "señor"]


def main():
    src, dst = sys.argv[1], sys.argv[2]
    rnd = random.Random(7)
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            d = json.loads(line)
            for m in d.get("messages", []):
                c = m.get("content")
                if isinstance(c, str):
                    m["content"] = " ".join(w if rnd.random() > 0.12 else rnd.choice(WORDS)
                                            for w in c.split(" "))
            out.write(json.dumps(d, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
