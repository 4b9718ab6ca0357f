#!/usr/bin/env python3
"""bench/accented_corpus.py [--lang de|ru|zh] IN.jsonl OUT.jsonl — the
benchmark corpus with its message text made non-English, seeded, for what
the decoders and the normalisation cost per non-ASCII letter
(docs/performance.md, "Fourteenth round"). Compare two scan_bench builds on
OUT alternately, and their `digest` of it (the findings must not change).

  de  12 % of the words replaced by German, French, Polish ones (Grüße,
      garçon, Łódź ...): Latin letters with diacritics among ASCII
  ru  every word without a digit or '@' replaced by a Russian one
  zh  every word but numbers replaced by CJK ideographs, no spaces"""
import json
import random
import sys

DE = ["Grüße", "Müller", "schön", "für", "Straße", "über", "Größe", "natürlich", "Käse", "Brücke",
      "Zürich", "Äpfel", "déjà", "garçon", "Łódź", "señor"]
RU = ("привет мир это тестовый текст для проверки сканера данных пожалуйста обратите внимание на "
      "номер телефона и адрес электронной почты").split()
CJK = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]


def make(lang, rnd, text):
    words = text.split(" ")
    if lang == "de":
        return " ".join(w if rnd.random() > 0.12 else rnd.choice(DE) for w in words)
    if lang == "ru":
        return " ".join(w if any(ch.isdigit() or ch == "@" for ch in w) else rnd.choice(RU) for w in words)
    return "".join(w if (w.isdigit() or w in "@.-: " and rnd.random() < 0.3)
                   else "".join(rnd.choice(CJK) for _ in range(max(1, len(w) // 3))) for w in words)


def main():
    args = sys.argv[1:]
    lang = "de"
    if args and args[0] == "--lang":
        lang, args = args[1], args[2:]
    if lang not in ("de", "ru", "zh") or len(args) != 2:
        sys.exit(__doc__)
    rnd = random.Random({"de": 7, "ru": 5, "zh": 3}[lang])
    with open(args[0], encoding="utf-8") as f, open(args[1], "w", encoding="utf-8") as out:
        for line in f:
            d = json.loads(line)
            for m in d.get("messages", []):
                if isinstance(m.get("content"), str):
                    m["content"] = make(lang, rnd, m["content"])
            out.write(json.dumps(d, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
