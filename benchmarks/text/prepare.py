"""Prepares bench_text's inputs in one directory: a few-hundred-KB multilingual text
(lines recombined from tests/text/data/corpus.txt with a fixed seed), SentencePiece BPE
and unigram models trained on it, and a GPT-2 style byte-level BPE (vocab.json +
merges.txt) trained by tests/text/bpe_oracle.py's trainer.

    /usr/bin/python3 benchmarks/text/prepare.py OUT_DIR [--kb 300]
"""
import argparse
import io
import os
import random
import sys

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, "..", "..", "tests", "text")
sys.path.insert(0, TESTS)
from bpe_oracle import B2U, train  # noqa: E402  (the same trainer the parity test uses)

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--kb", type=int, default=300)
parser.add_argument("--gpt2-merges", type=int, default=800)
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)

rng = random.Random(2026)
corpus = open(os.path.join(TESTS, "data", "corpus.txt"), encoding="utf-8").read().splitlines()
lines, size = [], 0
while size < args.kb * 1024:
    words = " ".join(rng.sample(corpus, 3)).split()
    rng.shuffle(words)
    line = " ".join(words[: rng.randint(6, 24)])
    lines.append(line)
    size += len(line.encode()) + 1
text_path = os.path.join(args.out, "text.txt")
with open(text_path, "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")

for name, options in {"sp_bpe": dict(model_type="bpe", vocab_size=4000),
                      "sp_unigram": dict(model_type="unigram", vocab_size=4000)}.items():
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(input=text_path, model_writer=buf, minloglevel=2, character_coverage=1.0,
                                   hard_vocab_limit=False, **options)
    with open(os.path.join(args.out, name + ".model"), "wb") as f:
        f.write(buf.getvalue())

import json  # noqa: E402

merges = train(corpus, args.gpt2_merges)
vocab = {B2U[b]: i for i, b in enumerate(sorted(B2U))}
for a, b in merges:
    vocab.setdefault(a + b, len(vocab))
with open(os.path.join(args.out, "vocab.json"), "w", encoding="utf-8") as f:
    json.dump(vocab, f, ensure_ascii=False)
with open(os.path.join(args.out, "merges.txt"), "w", encoding="utf-8") as f:
    f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
print(f"{len(lines)} lines, {size / 1024:.0f} KB, {len(merges)} GPT-2 merges in {args.out}")
