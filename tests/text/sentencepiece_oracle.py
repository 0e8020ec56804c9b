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

LONG_SYMBOL = "<" + "x" * 100 + ">"
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
    # A user symbol past 64 bytes (mmm then finds pieces and symbols with an automaton
    # instead of trie walks) and symbols that are prefixes of one another.
    "unigram_long_symbols": dict(model_type="unigram", vocab_size=600, character_coverage=1.0,
                                 user_defined_symbols=[LONG_SYMBOL, "<ab", "<abc>", "xx"]),
    "bpe_long_symbols": dict(model_type="bpe", vocab_size=600, character_coverage=1.0,
                             user_defined_symbols=[LONG_SYMBOL, "<ab", "<abc>", "xx"]),
}

ODD_CHARS = ["\u00a0", "\u3000", "\u2009", "\t", "\n", "\r\n", "  ", "   ", "\u200b", "\ufeff", "\u00ad",
             "ｆｕｌｌ", "Ⅻ", "ﬃ", "½", "²", "é", "e\u0301", "Å", "ǅ", "ß", "İ", "ς", "☃", "𝔘𝔫𝔦", "🤖", "👩🏽‍🚀",
             "\u0000", "\x07", "<sep>", "[MASK]", "<s>", "</s>", "<unk>", "ｶﾀｶﾅ", "각", "ﾟ", "\ufffd", "…", "€100",
             "١٢٣", "עברית", "ไทย", "हिन्दी", "Ωμέγα", LONG_SYMBOL, LONG_SYMBOL[:-1], "<abc><ab", "x" * 70]
INVALID = [b"\xff", b"\xc3", b"\xe2\x82", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
           b"\xf0\x9f\x98", b"\xfe\xfe"]


def _varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _read_varint(b, i):
    n = shift = 0
    while True:
        n |= (b[i] & 0x7F) << shift
        shift += 7
        i += 1
        if not b[i - 1] & 0x80:
            return n, i


def _fields(b):
    """(field, wire type, raw bytes of the whole field, payload if length-delimited)."""
    i = 0
    while i < len(b):
        key, j = _read_varint(b, i)
        wt = key & 7
        if wt == 2:
            n, k = _read_varint(b, j)
            yield key >> 3, wt, b[i:k + n], b[k:k + n]
            i = k + n
        else:
            end = _read_varint(b, j)[1] if wt == 0 else j + (4 if wt == 5 else 8)
            yield key >> 3, wt, b[i:end], None
            i = end


def mark_unused(model, ids):
    """The model with the pieces at `ids` re-typed UNUSED (5), by rewriting the protobuf."""
    out, index = bytearray(), 0
    for field, wt, raw, payload in _fields(model):
        if field == 1 and wt == 2:
            if index in ids:
                piece = b"".join(r for f, _, r, _ in _fields(payload) if f != 3) + _varint(3 << 3) + _varint(5)
                raw = _varint(1 << 3 | 2) + _varint(len(piece)) + piece
            index += 1
        out += raw
    return bytes(out)


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
            proto = buf.getvalue()
            if options.get("model_type") in ("bpe", "unigram") and name in ("bpe", "unigram"):
                # A twin with some frequent merged pieces marked unused: BPE must resegment
                # them, unigram must skip them.
                sp = spm.SentencePieceProcessor(model_proto=proto)
                multi = [i for i in range(sp.get_piece_size()) if sp.is_unknown(i) is False and not sp.is_control(i)
                         and len(sp.id_to_piece(i)) >= 2]
                unused = set(rng.sample(multi[:200], 25))
                twin = mark_unused(proto, unused)
                twin_path = os.path.join(o.args.out, name + "_unused.model")
                with open(twin_path, "wb") as f:
                    f.write(twin)
                out["models"][name + "_unused"] = twin_path
                twin_sp = spm.SentencePieceProcessor(model_proto=twin)
                assert sum(twin_sp.is_unused(i) for i in range(twin_sp.get_piece_size())) == 25
                for text in texts:
                    ids = twin_sp.encode(text)
                    out["cases"].append({"model": name + "_unused", "text": text.hex(), "ids": ids,
                                         "decoded": twin_sp.decode(ids).encode("utf-8").hex()})
            sp = spm.SentencePieceProcessor(model_proto=proto)
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
