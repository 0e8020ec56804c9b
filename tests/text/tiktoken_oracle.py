"""Oracle for mmm's tiktoken encoder.

Draws multilingual texts (multilingual.py), has npm js-tiktoken encode them with the
cl100k_base, o200k_base and r50k_base ranks it ships (tiktoken_reference.cjs, which also
writes those ranks as .tiktoken files), and splits them with Python's `regex` module and
tiktoken 0.14's own patterns, verbatim, so that the C++ test checks the pre-tokenizer
against tiktoken's regex engine semantics (possessive quantifiers, (?i), \\s) and the ids
against js-tiktoken's encoder.

js-tiktoken is installed into --npm-prefix when it is not there yet (npm install, once;
offline runs reuse it).
"""
import json
import os
import random

import regex

from multilingual import texts as draw_texts
from npm_reference import ensure_package, node, prefix_argument

HERE = os.path.dirname(os.path.abspath(__file__))
JS_TIKTOKEN = "js-tiktoken@1.0.21"

# tiktoken 0.14, tiktoken_ext/openai_public.py.
PATTERNS = {
    "r50k_base": r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    "cl100k_base": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
    "o200k_base": "|".join([
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]),
}


def main():
    from mmm_oracle import Oracle

    with Oracle("text.tiktoken") as o:
        prefix = prefix_argument(o.extra, "tiktoken oracle")
        ensure_package(prefix, JS_TIKTOKEN, "tiktoken oracle")
        rng = random.Random(o.seed)
        texts, summary = draw_texts(rng, 6000)
        out = o.args.out
        texts_path = os.path.join(out, "texts.json")
        with open(texts_path, "w", encoding="utf-8") as f:
            json.dump(texts, f, ensure_ascii=False)
        print("js-tiktoken:", node(os.path.join(HERE, "tiktoken_reference.cjs"), prefix, texts_path, out,
                                   who="tiktoken oracle"))
        pieces = {}
        for name, pattern in PATTERNS.items():
            compiled = regex.compile(pattern)
            pieces[name] = [[len(p.encode("utf-8")) for p in compiled.findall(t)] for t in texts]
        with open(os.path.join(out, "pieces.json"), "w") as f:
            json.dump({"seed": o.seed, "summary": summary, "piece_bytes": pieces}, f)
        print(summary)


if __name__ == "__main__":
    main()
