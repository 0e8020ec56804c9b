"""Generates include/mmm/preprocess/text/unicode_tables.hpp: the few Unicode properties the
tokenizers need, as compact sorted tables.

  * category runs: for each code point a set of bits, stored as runs of equal bits
      letter/number/space  as the `regex` module's \\p{L}, \\p{N}, \\s (GPT-2's pattern)
      mark/punct/control/space_sep  as unicodedata's Mn, P*, C*, Zs (BERT's tokenizer)
  * lowercase: str.lower() for every code point where it is one code point
  * case runs: Cased and Case_Ignorable, the two properties of str.lower()'s Final_Sigma
    rule (a word-final capital sigma lowers to ς, not σ); unicodedata does not expose
    them, so they are read off str.lower() itself (see case_bits)
  * stripped decompositions: NFD of a code point with the Mn marks removed (BERT's
    accent stripping); Hangul syllables are decomposed by formula in the header instead
  * letter runs: the finer classes the tiktoken o200k pattern and Hugging Face's
    pre-tokenizers ask for, as the `regex` module defines them: \p{Lu} \p{Ll} \p{Lt}
    \p{Lm} \p{Lo} \p{M} \w \p{Nd}
  * normalization (unicodedata): canonical combining classes, full canonical (NFD) and
    compatibility (NFKD) decompositions, and the primary composites NFC/NFKC recompose

Run with Debian's python3 (it has python3-regex):
    /usr/bin/python3 tests/text/gen_unicode_tables.py > include/mmm/preprocess/text/unicode_tables.hpp
"""
import sys
import unicodedata

import regex

LETTER, NUMBER, SPACE, MARK, PUNCT, CONTROL, SPACE_SEP = (1 << i for i in range(7))
UPPER, LOWER, TITLE, MODIFIER, OTHER_LETTER, ANY_MARK, WORD, DECIMAL = (1 << i for i in range(8))
FINE = [(UPPER, r"\p{Lu}"), (LOWER, r"\p{Ll}"), (TITLE, r"\p{Lt}"), (MODIFIER, r"\p{Lm}"), (OTHER_LETTER, r"\p{Lo}"),
        (ANY_MARK, r"\p{M}"), (WORD, r"\w"), (DECIMAL, r"\p{Nd}")]
FINE = [(bit, regex.compile(pattern)) for bit, pattern in FINE]


def bits(c):
    ch = chr(c)
    cat = unicodedata.category(ch)
    b = 0
    if regex.match(r"\p{L}", ch):
        b |= LETTER
    if regex.match(r"\p{N}", ch):
        b |= NUMBER
    if regex.match(r"\s", ch):
        b |= SPACE
    if cat == "Mn":
        b |= MARK
    if cat.startswith("P"):
        b |= PUNCT
    if cat.startswith("C"):
        b |= CONTROL
    if cat == "Zs":
        b |= SPACE_SEP
    return b


CASED, CASE_IGNORABLE = 1, 2


def case_bits(c):
    """Cased is Lowercase, Uppercase or Lt. Case_Ignorable is read off the Final_Sigma rule
    of str.lower() (skip case-ignorable characters, then ask whether the next one is
    cased): "AΣ" + c + "A" keeps σ only if c is cased or skipped, "AΣ" + c only if c is
    cased and not skipped."""
    ch = chr(c)
    cased = ch.islower() or ch.isupper() or unicodedata.category(ch) == "Lt"
    if cased:
        ignorable = ("A\u03a3" + ch).lower()[1] == "\u03c2"
    else:
        ignorable = ("A\u03a3" + ch + "A").lower()[1] == "\u03c3"
    return (CASED if cased else 0) | (CASE_IGNORABLE if ignorable else 0)


def fine_bits(c):
    ch = chr(c)
    return sum(bit for bit, pattern in FINE if pattern.match(ch))


def run_table(f):
    runs, prev = [], None
    for c in range(0x110000):
        b = f(c)
        if b != prev:
            runs.append((c, b))
            prev = b
    return runs


def is_hangul_syllable(c):
    return 0xAC00 <= c <= 0xD7A3


def normalization_tables():
    """Full decompositions (recursive, as NFD/NFKD of the single code point), the combining
    classes, and the primary composites: code points with a two-code-point canonical
    mapping that NFC gives back (composition exclusions and singletons drop out)."""
    nfd, nfkd, ccc, compose = [], [], [], []
    for c in range(0x110000):
        if 0xD800 <= c < 0xE000 or is_hangul_syllable(c):
            continue
        ch = chr(c)
        if unicodedata.combining(ch):
            ccc.append((c, unicodedata.combining(ch)))
        d = unicodedata.normalize("NFD", ch)
        if d != ch:
            nfd.append((c, [ord(x) for x in d]))
        k = unicodedata.normalize("NFKD", ch)
        if k != d:
            nfkd.append((c, [ord(x) for x in k]))
        raw = unicodedata.decomposition(ch)
        if raw and not raw.startswith("<"):
            parts = [int(x, 16) for x in raw.split()]
            if len(parts) == 2 and unicodedata.normalize("NFC", d) == ch:
                compose.append(((parts[0] << 21) | parts[1], c))
    compose.sort()
    return nfd, nfkd, ccc, compose


def main():
    out = sys.stdout
    runs = run_table(bits)
    fine = run_table(fine_bits)
    case = run_table(case_bits)
    lower = []
    for c in range(0x110000):
        if 0xD800 <= c < 0xE000:
            continue
        low = chr(c).lower()
        if low != chr(c):
            if len(low) == 1:
                lower.append((c, ord(low)))
            else:
                assert c == 0x130, hex(c)  # İ → i + U+0307, handled in unicode.hpp
    decomp_index, pool = [], []
    for c in range(0x110000):
        if 0xD800 <= c < 0xE000 or 0xAC00 <= c <= 0xD7A3:
            continue
        nfd = unicodedata.normalize("NFD", chr(c))
        if nfd == chr(c):
            continue
        stripped = [ord(x) for x in nfd if unicodedata.category(x) != "Mn"]
        assert len(stripped) < 256
        decomp_index.append((c, len(pool), len(stripped)))
        pool += stripped

    def table(name, ctype, values, per_line=8):
        out.write(f"inline constexpr {ctype} {name}[] = {{\n")
        for i in range(0, len(values), per_line):
            out.write("    " + ", ".join(values[i:i + per_line]) + ",\n")
        out.write("};\n\n")

    out.write("#pragma once\n// Generated by tests/text/gen_unicode_tables.py from Python "
              f"{sys.version.split()[0]} unicodedata (Unicode {unicodedata.unidata_version}) and the regex module "
              f"{regex.__version__}.\n// Do not edit; regenerate.\n\n#include <cstdint>\n\nnamespace mmm::unicode::tables {{\n\n")
    out.write("// (first code point << 8) | property bits, for runs of equal bits.\n")
    table("category_runs", "std::uint32_t", [f"0x{(c << 8) | b:08X}u" for c, b in runs])
    out.write("// Code point, its one-code-point lowercase.\n")
    table("lowercase", "std::uint32_t", [f"0x{v:X}" for p in lower for v in p], per_line=10)
    out.write("// Code point, (offset into decomposition_pool << 8) | length.\n")
    table("decomposition_index", "std::uint32_t", [f"0x{v:X}" for c, o, n in decomp_index for v in (c, (o << 8) | n)],
          per_line=10)
    table("decomposition_pool", "std::uint32_t", [f"0x{v:X}" for v in pool], per_line=12)
    out.write("// (first code point << 8) | fine letter bits (see unicode.hpp), for runs of equal bits.\n")
    table("letter_runs", "std::uint32_t", [f"0x{(c << 8) | b:08X}u" for c, b in fine])
    out.write("// (first code point << 8) | case bits (1 Cased, 2 Case_Ignorable), for runs of equal bits.\n")
    table("case_runs", "std::uint32_t", [f"0x{(c << 8) | b:08X}u" for c, b in case])

    nfd, nfkd, ccc, compose = normalization_tables()

    def mapping(name, entries):
        index, pool = [], []
        for c, seq in entries:
            assert len(seq) < 256
            index += [c, (len(pool) << 8) | len(seq)]
            pool += seq
        out.write(f"// {name}: code point, (offset into {name}_pool << 8) | length.\n")
        table(f"{name}_index", "std::uint32_t", [f"0x{v:X}" for v in index], per_line=10)
        table(f"{name}_pool", "std::uint32_t", [f"0x{v:X}" for v in pool], per_line=12)

    mapping("nfd", nfd)
    out.write("// NFKD where it differs from NFD.\n")
    mapping("nfkd", nfkd)
    out.write("// Canonical combining class: (code point << 8) | class, for every code point whose class is not 0.\n")
    table("combining_class", "std::uint32_t", [f"0x{(c << 8) | k:X}" for c, k in ccc], per_line=10)
    out.write("// Primary composites: ((first << 21) | second), composite; sorted by the pair.\n")
    table("composition", "std::uint64_t", [f"0x{v:X}ull" for p in compose for v in p], per_line=8)
    out.write("}  // namespace mmm::unicode::tables\n")


if __name__ == "__main__":
    main()
