"""Oracle for mmm's SentencePiece reader: trains small unigram and BPE models on the
multilingual corpus with Debian's python3-sentencepiece, then records, for many texts
(corpus lines, fresh random mixes with odd whitespace, unseen characters, invalid UTF-8),
the reference ids, pieces, byte offsets and decodings. The C++ test must match exactly."""
import io
import json
import os
import random

import sentencepiece as spm
from mmm_oracle import Oracle

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "data", "corpus.txt")

MODELS = {
    # name: trainer options
    "unigram": dict(model_type="unigram", vocab_size=800, character_coverage=1.0),
    "bpe": dict(model_type="bpe", vocab_size=800, character_coverage=1.0),
    "unigram_bytes": dict(model_type="unigram", vocab_size=700, character_coverage=0.99, byte_fallback=True,
                          user_defined_symbols=["<sep>", "[MASK]"], pad_id=3, unk_id=0, bos_id=1, eos_id=2),
    "bpe_bytes": dict(model_type="bpe", vocab_size=900, character_coverage=0.98, byte_fallback=True,
                      normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=False),
    "unigram_nfkc_cf": dict(model_type="unigram", vocab_size=600, character_coverage=0.995,
                            normalization_rule_name="nfkc_cf", split_digits=True),
    "unigram_suffix": dict(model_type="unigram", vocab_size=600, character_coverage=1.0,
                           treat_whitespace_as_suffix=True),
    # LLaMA-like: whitespace-only pieces, byte fallback, spaces kept as they are.
    "bpe_spaces": dict(model_type="bpe", vocab_size=700, character_coverage=0.995, byte_fallback=True,
                       allow_whitespace_only_pieces=True, remove_extra_whitespaces=False, split_digits=True),
    "bpe_unk": dict(model_type="bpe", vocab_size=500, character_coverage=0.98, user_defined_symbols=["<sep>"]),
}

ODD_CHARS = ["\u00a0", "\u3000", "\u2009", "\t", "\n", "\r\n", "  ", "   ", "\u200b", "\ufeff", "\u00ad",
             "ｆｕｌｌ", "Ⅻ", "ﬃ", "½", "²", "é", "e\u0301", "Å", "ǅ", "ß", "İ", "ς", "☃", "𝔘𝔫𝔦", "🤖", "👩🏽‍🚀",
             "\u0000", "\x07", "<sep>", "[MASK]", "<s>", "</s>", "<unk>", "ｶﾀｶﾅ", "각", "ﾟ", "\ufffd", "…", "€100",
             "١٢٣", "עברית", "ไทย", "हिन्दी", "Ωμέγα"]
INVALID = [b"\xff", b"\xc3", b"\xe2\x82", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
           b"\xf0\x9f\x98", b"\xfe\xfe"]


def make_texts(rng, lines):
    texts = [l.encode() for l in lines]
    texts += [b"", b" ", b"   \t  ", b"a", b"\xe2\x96\x81", b"\xe2\x96\x81\xe2\x96\x81x"]
    words = " ".join(lines).split()
    for _ in range(400):
        parts = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.55:
                parts.append(rng.choice(words).encode())
            elif r < 0.8:
                parts.append(rng.choice(ODD_CHARS).encode())
            elif r < 0.9:
                parts.append(rng.choice(INVALID))
            else:
                parts.append(chr(rng.choice([rng.randint(0x20, 0x7e), rng.randint(0xa0, 0x24f),
                                             rng.randint(0x370, 0x4ff), rng.randint(0x4e00, 0x9fff),
                                             rng.randint(0x1f300, 0x1f64f)])).encode())
        sep = rng.choice([b" ", b"", b"  ", b"\t"])
        text = sep.join(parts)
        if rng.random() < 0.2:
            text = b"  " + text + b" \n"
        texts.append(text)
    # Long unbroken words: BPE merges them with the priority queue, short ones by scanning.
    for _ in range(40):
        texts.append("".join(rng.choice(words) for _ in range(rng.randint(5, 30))).encode())
    return texts


def main():
    with Oracle("text.sentencepiece") as o:
        rng = random.Random(o.seed)
        lines = open(CORPUS, encoding="utf-8").read().splitlines()
        texts = make_texts(rng, lines)
        out = {"seed": o.seed, "models": {}, "cases": [], "decode_cases": []}
        for name, options in MODELS.items():
            buf = io.BytesIO()
            corpus = CORPUS
            if options.get("allow_whitespace_only_pieces"):
                # Indented, space-padded copies so that whitespace-only pieces (▁▁, ▁▁▁▁) are learnt.
                corpus = os.path.join(o.args.out, "spaces_corpus.txt")
                with open(corpus, "w", encoding="utf-8") as f:
                    for line in lines:
                        f.write(line + "\n" + " " * rng.choice([2, 4, 8]) + line.replace(" ", rng.choice(["  ", "   "])) + "\n")
            spm.SentencePieceTrainer.train(input=corpus, model_writer=buf, minloglevel=2, num_threads=1,
                                           **options)
            path = os.path.join(o.args.out, name + ".model")
            with open(path, "wb") as f:
                f.write(buf.getvalue())
            out["models"][name] = path
            sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
            for text in texts:
                ids = sp.encode(text)
                case = {"model": name, "text": text.hex(), "ids": ids,
                        "decoded": sp.decode(ids).encode("utf-8").hex()}
                try:
                    chars = text.decode("utf-8")
                except UnicodeDecodeError:
                    chars = None
                if chars is not None:
                    # The binding reports character offsets (and crashes on invalid UTF-8,
                    # hence only valid texts); the C++ API reports byte offsets.
                    proto = sp.encode(chars, out_type="immutable_proto")
                    assert [p.id for p in proto.pieces] == ids
                    b = [len(chars[:i].encode("utf-8")) for i in range(len(chars) + 1)]
                    case["offsets"] = [[b[p.begin], b[p.end]] for p in proto.pieces]
                out["cases"].append(case)
            for _ in range(100):
                ids = [rng.randrange(sp.get_piece_size()) for _ in range(rng.randint(0, 12))]
                out["decode_cases"].append({"model": name, "ids": ids, "decoded": sp.decode(ids).encode("utf-8").hex()})
        with open(os.path.join(o.args.out, "sentencepiece.json"), "w") as f:
            json.dump(out, f)
        print(f"{len(out['cases'])} encode cases, {len(out['decode_cases'])} decode cases")


if __name__ == "__main__":
    main()
