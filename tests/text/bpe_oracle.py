"""Oracle for mmm's byte-level BPE: trains a tiny GPT-2 style byte-level BPE on the
corpus, writes it as vocab.json + merges.txt and as a tokenizer.json, and encodes many
texts with a transcription of GPT-2's encoder.py (same pattern, through the `regex`
module; bytes_to_unicode; rank-ordered merging of all occurrences of the best pair).
Invalid UTF-8 goes through the reference as surrogate escapes, i.e. byte for byte."""
import json
import os
import random
from collections import Counter

import regex

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "data", "corpus.txt")
PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}


def pieces(text_bytes):
    text = text_bytes.decode("utf-8", errors="surrogateescape")
    for tok in PATTERN.findall(text):
        yield "".join(B2U[b] for b in tok.encode("utf-8", errors="surrogateescape"))


def train(lines, merges_wanted):
    words = Counter()
    for line in lines:
        for p in pieces(line.encode()):
            words[tuple(p)] += 1
    merges = []
    words = dict(words)
    for _ in range(merges_wanted):
        pairs = Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[a, b] += c
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        new = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        words = new
    return merges


class Encoder:
    """GPT-2's encoder.py bpe()/encode(), without its cache."""

    def __init__(self, encoder, merges):
        self.encoder = encoder
        self.decoder = {v: k for k, v in encoder.items()}
        self.ranks = {m: i for i, m in enumerate(merges)}

    def bpe(self, token):
        word = tuple(token)
        pairs = set(zip(word, word[1:]))
        if not pairs:
            return [token]
        while True:
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = set(zip(word, word[1:]))
        return list(word)

    def encode(self, text_bytes):
        ids = []
        for p in pieces(text_bytes):
            ids += [self.encoder[t] for t in self.bpe(p)]
        return ids

    def decode(self, ids):
        return bytes(U2B[c] for i in ids for c in self.decoder[i]).decode("utf-8", errors="replace")


ODD = ["'s", "'re", "'ll", "'d", "'ve", "'t", "'m", "'x", "  ", "   ", "\t", "\n\n", " \n ", "\u00a0", "\u3000",
       "123", "4.5", "٣", "Ⅻ", "½", "😀", "👩🏽‍🚀", "e\u0301", "ß", "ǅ", "\u200b", "—", "...", "!!", "$%", "\x00"]
INVALID = [b"\xff", b"\xc3", b"\xe2\x82", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf0\x9f\x98"]


def main():
    from mmm_oracle import Oracle  # here, so that benchmarks can import the trainer without torch

    with Oracle("text.bpe") as o:
        rng = random.Random(o.seed)
        lines = open(CORPUS, encoding="utf-8").read().splitlines()
        merges = train(lines, 350)
        vocab = {B2U[b]: i for i, b in enumerate(sorted(B2U))}
        for a, b in merges:
            vocab.setdefault(a + b, len(vocab))
        vocab["<|endoftext|>"] = len(vocab)
        out = o.args.out
        with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=False)
        with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
        tokenizer = {"version": "1.0", "added_tokens": [{"id": vocab["<|endoftext|>"], "content": "<|endoftext|>",
                                                         "special": True}],
                     "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False},
                     "model": {"type": "BPE", "dropout": None, "vocab": vocab,
                               "merges": [[a, b] if i % 2 else f"{a} {b}" for i, (a, b) in enumerate(merges)]}}
        with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tokenizer, f, ensure_ascii=False)

        enc = Encoder(vocab, merges)
        texts = [l.encode() for l in lines] + [b"", b" ", b"  x", b"x  ", b"a\n\nb", b"it's", b" 's", b"'''"]
        words = " ".join(lines).split()
        for _ in range(500):
            parts = []
            for _ in range(rng.randint(1, 12)):
                r = rng.random()
                parts.append(rng.choice(words).encode() if r < 0.55 else rng.choice(ODD).encode() if r < 0.85
                             else rng.choice(INVALID) if r < 0.93 else chr(rng.randint(0x20, 0x2fff)).encode("utf-8", "surrogatepass"))
            texts.append(rng.choice([b" ", b"", b"  ", b"\n"]).join(parts))
        texts.append(b"x" * 300 + b"ab" * 200)  # a long pre-token takes the heap path
        texts.append(("thethe" * 40).encode())
        # Equal-rank pairs that overlap, in pre-tokens long enough for the heap path: an odd
        # run of a character that merges with itself merges from the left (GPT-2 does),
        # which a reversed tie-break in the heap would get wrong at the last character.
        doubled = [a for a, b in merges if a == b]
        assert doubled, "the trained merges have no pair of a token with itself"
        for a in doubled:
            unit = bytes(U2B[c] for c in a)
            texts += [unit * 51, b" " + unit * 67, unit * 49 + b"!"]
        cases = []
        for t in texts:
            ids = enc.encode(t)
            cases.append({"text": t.hex(), "ids": ids, "decoded": enc.decode(ids).encode("utf-8", "surrogatepass").hex()})
        with open(os.path.join(out, "bpe.json"), "w") as f:
            json.dump({"seed": o.seed, "cases": cases}, f)
        print(f"{len(merges)} merges, {len(cases)} cases")


if __name__ == "__main__":
    main()
