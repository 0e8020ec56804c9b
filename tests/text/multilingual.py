"""Multilingual test texts for the tokenizer oracles, drawn afresh from a seed on each run.

Sources, in this order:
  * tests/text/data/corpus.txt, every line (English, German, French, Spanish, Greek,
    Russian, CJK, emoji, numbers, code-like text);
  * real translated sentences from the gettext catalogs Debian installs: coreutils (an
    Essential package: 43 languages, among them Japanese, Korean, Chinese, Russian,
    Ukrainian, Vietnamese, Turkish) and, when present, glib20 (adds Arabic, Hebrew, Hindi,
    Bengali, Tamil, Thai, Persian ...); messages keep their newlines, tabs and indentation;
  * recombined corpus words, and strings drawn character by character from an alphabet
    chosen to reach every branch of the pre-tokenizer patterns (contractions in every case,
    'ſ, marks after letters and spaces, modifier/title/other letters, digits of other
    scripts, CR/LF/NEL/NBSP/ideographic spaces, runs of whitespace at the end, long runs
    that take the BPE heap path).

The drawn strings take their characters from code points Unicode 3.2 already assigned
(Python's unicodedata.ucd_3_2_0) with the same category today, so that the engines'
different Unicode versions (Python's 14, Node's 17, the Rust crates' 9 to 16) cannot
disagree on them.
"""
import glob
import gettext
import os
import random
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "data", "corpus.txt")
CATALOGS = ["coreutils", "glib20"]

# Blocks assigned long before Unicode 9: (first, last) code points.
BLOCKS = [
    (0x20, 0x7E), (0xA0, 0x24F), (0x250, 0x2FF), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF),
    (0x530, 0x58F), (0x590, 0x5FF), (0x600, 0x6FF), (0x900, 0x97F), (0x980, 0x9FF), (0xB80, 0xBFF),
    (0xE00, 0xE7F), (0x10A0, 0x10FF), (0x1100, 0x11FF), (0x1E00, 0x1EFF), (0x1F00, 0x1FFF),
    (0x2000, 0x206F), (0x2070, 0x209F), (0x20A0, 0x20BF), (0x2100, 0x218F), (0x2190, 0x21FF),
    (0x2460, 0x24FF), (0x2C60, 0x2C7F), (0x3000, 0x303F), (0x3040, 0x30FF), (0x3130, 0x318F),
    (0x3200, 0x32FF), (0x3300, 0x33FF), (0x4E00, 0x4FFF), (0xA640, 0xA69F), (0xAC00, 0xAD00),
    (0xF900, 0xFAFF), (0xFB00, 0xFB4F), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF), (0x1D400, 0x1D7FF),
    (0x1F300, 0x1F5FF), (0x1F600, 0x1F64F),
]
TRICKY = (["'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'ve", "'VE", "'m", "'M", "'ll", "'LL", "'lL", "'d", "'D",
           "'ſ", "'x", "''", " '", "\u0301", "a\u0301", " \u0301", "\u0308x", "ʰ", "ǅ", "ǈ", "ª", "々", "ー",
           "ABC", "aBC", "AbC", "DŽx", "ÀÉÎ", "ǲeta", "ßẞ", "Σσς", "İı", "ǰ", "ﬁ", "Ⅻ", "ⅻ", "½", "²", "٣٤", "३४५",
           "12345", "0.5", "1,000,000", "  ", "   ", "\t", "\r", "\n", "\r\n", "\n\n", " \n", "\n ", " \n ", "\u00a0",
           "\u3000", "\u0085", "\ufeff", "\u2028", "\u200b", "\u200d", "\x0b", "\x0c", "\x1c", "/", "//", "a/b",
           "<|endoftext|>", "<|fim_prefix|>", "<|endofprompt|>", "<|", "|>", "😀", "👩🏽‍🚀", "🇯🇵", "x" * 70,
           "é" * 40, "!" * 80, " " * 70, "\n" * 65, "٣" * 9, "a1b2c3", "hello", "World", "don't", "I'M", "ŉ",
           "ﾊﾝｶｸ", "ＦＵＬＬ", "㍿", "㈱", "①②", "ℌ", "ℵ", "…", "‽", "¿¡", "«»", "„“", "—", "€100", "$5", "%d", "%s\n"])


def _assigned_old(c):
    old = unicodedata.ucd_3_2_0.category(chr(c))
    return old not in ("Cn", "Cs", "Co") and old == unicodedata.category(chr(c))


_ALPHABET = None


def alphabet():
    global _ALPHABET
    if _ALPHABET is None:
        _ALPHABET = [chr(c) for lo, hi in BLOCKS for c in range(lo, hi + 1) if _assigned_old(c)]
    return _ALPHABET


def corpus_lines():
    with open(CORPUS, encoding="utf-8") as f:
        return f.read().splitlines()


def catalog_messages():
    """(language, message) from the installed gettext catalogs, sorted for reproducibility."""
    out = []
    for domain in CATALOGS:
        for path in sorted(glob.glob(f"/usr/share/locale/*/LC_MESSAGES/{domain}.mo")):
            lang = path.split(os.sep)[4]
            try:
                with open(path, "rb") as f:
                    catalog = gettext.GNUTranslations(f)._catalog
            except (OSError, ValueError, IndexError, UnicodeDecodeError):  # a malformed catalog header
                continue
            for k, v in sorted(catalog.items(), key=lambda kv: str(kv[0])):
                if isinstance(k, str) and k and isinstance(v, str) and v.strip():
                    out.append((lang, v))
    return out


def drawn(rng, length):
    alpha = alphabet()
    parts = []
    while sum(map(len, parts)) < length:
        r = rng.random()
        parts.append(rng.choice(TRICKY) if r < 0.35 else rng.choice(alpha) if r < 0.8 else rng.choice(" \n\t"))
    return "".join(parts)


def texts(rng, count, catalog_share=0.55):
    """At least `count` distinct texts: the corpus, then catalog messages, recombined words
    and drawn strings. Returns (texts, summary) where summary says what went in."""
    lines = corpus_lines()
    out = list(dict.fromkeys(lines))
    messages = catalog_messages()
    want_catalog = int(count * catalog_share)
    picked = rng.sample(messages, min(want_catalog, len(messages))) if messages else []
    out += [m for _, m in picked]
    languages = sorted({lang for lang, _ in picked})
    words = " ".join(lines + [m for _, m in picked[:2000]]).split()
    seen = set(out)
    while len(out) < count:
        r = rng.random()
        if r < 0.4:
            t = rng.choice(["", " ", "  ", "\n"]).join(rng.choice(words) for _ in range(rng.randint(1, 14)))
        elif r < 0.9:
            t = drawn(rng, rng.randint(1, 60))
        else:
            t = rng.choice(words) + rng.choice(TRICKY) * rng.randint(1, 4) + drawn(rng, rng.randint(0, 10))
        if rng.random() < 0.1:
            t += rng.choice([" ", "  ", "\n", "\n ", " \n  ", "\t\n", "\r\n"])
        if t not in seen:
            seen.add(t)
            out.append(t)
    summary = (f"{len(out)} texts: {len(lines)} corpus lines, {len(picked)} gettext messages in "
               f"{len(languages)} languages ({' '.join(languages)}), {len(out) - len(lines) - len(picked)} drawn")
    return out, summary


if __name__ == "__main__":
    t, s = texts(random.Random(0), 6000)
    print(s)
