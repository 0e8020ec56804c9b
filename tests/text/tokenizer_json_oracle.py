"""Oracle for mmm's HfTokenizer: the reference is Hugging Face's `tokenizers` itself (the
Rust library, npm `tokenizers`, run under node by tokenizer_json_reference.cjs).

Builds tokenizer.json files of every kind the loader implements, on vocabularies made
here from the multilingual texts:
  * from python3-sentencepiece: a BPE model with byte fallback in LLaMA-2's layout
    (Prepend + Replace normalizer, fused unknowns, ByteFallback/Fuse/Strip decoder) and a
    Unigram model in T5's layout (Metaspace pre-tokenizer and decoder), with Metaspace
    variants (prepend_scheme first, split off);
  * byte-level BPE (a GPT-2 style vocabulary trained by bpe_oracle.py's trainer) in
    RoBERTa's layout (ByteLevel with prefix space, TemplateProcessing, trimmed offsets),
    LLaMA-3's (NFC, the cl100k Split regex, ByteLevel without regex, ignore_merges, many
    added special tokens), Qwen2's and o200k's Split regexes;
  * BERT's WordPiece (BertNormalizer, BertPreTokenizer, [CLS]/[SEP], WordPiece decoder),
    a classic character BPE with an end-of-word suffix and a continuing-subword prefix
    (Whitespace pre-tokenizer, BPEDecoder), and a WordLevel pipeline exercising NFKC,
    Lowercase, Strip, StripAccents, Nmt, Replace, WhitespaceSplit, Digits, Punctuation,
    CharDelimiterSplit and added tokens with single_word / lstrip / rstrip / normalized.
Every file encodes every text (ids and character offsets) and decodes its ids.

npm `tokenizers` is installed into --npm-prefix when it is not there yet.
"""
import io
import json
import os
import random
from collections import Counter

import sentencepiece as spm

from bpe_oracle import B2U, train as train_byte_level
from multilingual import texts as draw_texts
from npm_reference import ensure_package, node, prefix_argument

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZERS = "tokenizers@0.23.2"

GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
CL100K = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2 = CL100K.replace(r"\p{N}{1,3}", r"\p{N}")
O200K = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""", r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""", r"""\s*[\r\n]+""", r"""\s+(?!\S)""", r"""\s+"""])


def added(content, id, special=True, normalized=None, single_word=False, lstrip=False, rstrip=False):
    return {"id": id, "content": content, "single_word": single_word, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": (not special) if normalized is None else normalized, "special": special}


def tokenizer(model, normalizer=None, pre_tokenizer=None, post_processor=None, decoder=None, added_tokens=(),
              truncation=None):
    return {"version": "1.0", "truncation": truncation, "padding": None, "added_tokens": list(added_tokens),
            "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": post_processor,
            "decoder": decoder, "model": model}


def template(vocab_of, before, after):
    items = [{"SpecialToken": {"id": t, "type_id": 0}} for t in before] + [{"Sequence": {"id": "A", "type_id": 0}}] + \
            [{"SpecialToken": {"id": t, "type_id": 0}} for t in after]
    specials = {t: {"id": t, "ids": [vocab_of[t]], "tokens": [t]} for t in before + after}
    return {"type": "TemplateProcessing", "single": items, "pair": items + [{"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": specials}


# ---- vocabularies ------------------------------------------------------------------------

def sentencepiece_models(rng, texts, out):
    path = os.path.join(out, "sp_train.txt")
    with open(path, "w", encoding="utf-8") as f:
        for t in rng.sample(texts, min(3000, len(texts))):
            f.write(t.replace("\n", " ") + "\n")
    models = {}
    for kind, extra in [("bpe", dict(byte_fallback=True)), ("unigram", {})]:
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(input=path, model_writer=buf, minloglevel=2, num_threads=1, model_type=kind,
                                       vocab_size=4000, character_coverage=0.98, normalization_rule_name="identity",
                                       hard_vocab_limit=False, **extra)
        models[kind] = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    return models


def llama2_bpe(sp):
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    # Merges as Hugging Face's SentencePiece converter derives them: every split of a piece
    # into two pieces, ordered by the merged piece's id.
    merges = []
    for piece, pid in sorted(vocab.items(), key=lambda kv: kv[1]):
        if sp.is_control(pid) or sp.is_unknown(pid) or sp.is_byte(pid):
            continue
        local = [(piece[:k], piece[k:]) for k in range(1, len(piece)) if piece[:k] in vocab and piece[k:] in vocab]
        merges += sorted(local, key=lambda ab: (vocab[ab[0]], vocab[ab[1]]))
    model = {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
             "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
             "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]}
    return tokenizer(
        model,
        normalizer={"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                        {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        post_processor=template(vocab, ["<s>"], []),
        decoder={"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        added_tokens=[added("<unk>", 0), added("<s>", 1), added("</s>", 2)])


def t5_unigram(sp, scheme="always", split=True):
    vocab = [[sp.id_to_piece(i), sp.get_score(i)] for i in range(sp.get_piece_size())]
    ids = {p: i for i, (p, _) in enumerate(vocab)}
    meta = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": split}
    return tokenizer({"type": "Unigram", "unk_id": sp.unk_id(), "vocab": vocab, "byte_fallback": False},
                     pre_tokenizer=meta, post_processor=template(ids, [], ["</s>"]), decoder=dict(meta),
                     added_tokens=[added("<unk>", 0), added("<s>", 1), added("</s>", 2)])


def byte_level_vocab(lines):
    merges = train_byte_level(lines, 400)
    vocab = {B2U[b]: i for i, b in enumerate(sorted(B2U))}
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return vocab, merges


def byte_level_model(vocab, merges, ignore_merges=False):
    return {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
            "fuse_unk": False, "byte_fallback": False, "ignore_merges": ignore_merges, "vocab": vocab,
            "merges": [[a, b] for a, b in merges]}


def roberta(vocab, merges):
    vocab = dict(vocab)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    toks = [added(t, len(vocab) + i, normalized=False, lstrip=(t == "<mask>")) for i, t in enumerate(specials)]
    ids = {t["content"]: t["id"] for t in toks}
    return tokenizer(byte_level_model(vocab, merges),
                     pre_tokenizer={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
                     post_processor={"type": "RobertaProcessing", "sep": ["</s>", ids["</s>"]], "cls": ["<s>", ids["<s>"]],
                                     "trim_offsets": True, "add_prefix_space": True},
                     decoder={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
                     added_tokens=toks)


def split_byte_level(vocab, merges, regex, normalizer=None, ignore_merges=False, n_specials=0, behavior="Isolated"):
    specials = ["<|endoftext|>", "<|begin_of_text|>", "<|end_of_text|>"] + [f"<|reserved_{i}|>" for i in range(n_specials)]
    toks = [added(t, len(vocab) + i) for i, t in enumerate(specials)]
    ids = {t["content"]: t["id"] for t in toks}
    return tokenizer(
        byte_level_model(vocab, merges, ignore_merges), normalizer=normalizer,
        pre_tokenizer={"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": behavior, "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        post_processor={"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            template(ids, ["<|begin_of_text|>"], [])]},
        decoder={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        added_tokens=toks)


def words_of(texts):
    c = Counter()
    for t in texts:
        c.update(w.lower() for w in t.split())
    return c


def bert_wordpiece(texts):
    counts = words_of(texts)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = Counter(ch for w, n in counts.items() for ch in w)
    vocab += [c for c, _ in chars.most_common(600)]
    vocab += ["##" + c for c, _ in chars.most_common(300)]
    vocab += [w for w, _ in counts.most_common(2500) if len(w) > 1]
    suffixes = Counter(w[k:] for w in counts for k in range(2, len(w) - 1) if len(w) - k <= 4)
    vocab += ["##" + s for s, _ in suffixes.most_common(600)]
    vocab = list(dict.fromkeys(vocab))
    ids = {t: i for i, t in enumerate(vocab)}
    return tokenizer(
        {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 40,
         "vocab": ids},
        normalizer={"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None,
                    "lowercase": True},
        pre_tokenizer={"type": "BertPreTokenizer"}, post_processor=template(ids, ["[CLS]"], ["[SEP]"]),
        decoder={"type": "WordPiece", "prefix": "##", "cleanup": True},
        added_tokens=[added(t, ids[t]) for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]])


def char_bpe(texts, n_merges=250):
    """A classic BPE on words with an end-of-word suffix and a continuing-subword prefix."""
    words = Counter()
    for t in texts:
        for w in t.split():
            words[tuple(w)] += 1
    words = Counter(dict(words.most_common(800)))
    pieces = {}
    for w in words:
        for i, ch in enumerate(w):
            pieces[("##" if i else "") + ch + ("</w>" if i == len(w) - 1 else "")] = 1
    seqs = {w: [("##" if i else "") + ch + ("</w>" if i == len(w) - 1 else "") for i, ch in enumerate(w)] for w in words}
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, s in seqs.items():
            for a, b in zip(s, s[1:]):
                pairs[a, b] += words[w]
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append((a, b))
        new = a + b[2:]
        pieces[new] = 1
        for w, s in seqs.items():
            i, out = 0, []
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    vocab = {"<unk>": 0}
    for p in pieces:
        vocab.setdefault(p, len(vocab))
    return tokenizer({"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": "##",
                      "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                      "merges": [f"{a} {b}" for a, b in merges]},
                     normalizer={"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"},
                                                                     {"type": "NFC"}]},
                     pre_tokenizer={"type": "Whitespace"}, decoder={"type": "BPEDecoder", "suffix": "</w>"},
                     added_tokens=[added("<unk>", 0)])


def word_level(texts):
    counts = words_of(texts)
    vocab = {"[UNK]": 0}
    for w, _ in counts.most_common(3000):
        vocab.setdefault(w, len(vocab))
    for d in "0123456789":
        vocab.setdefault(d, len(vocab))
    toks = [added("[UNK]", 0), added("<sep>", 0), added("hello", 0, special=False, single_word=True),
            added("@user", 0, special=False, lstrip=True, rstrip=True)]
    # Ids: the vocabulary's, else the next after it, in file order (as the library assigns them).
    next_id = len(vocab)
    for t in toks:
        if t["content"] in vocab:
            t["id"] = vocab[t["content"]]
        else:
            t["id"] = next_id
            next_id += 1
    return tokenizer({"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"},
                     normalizer={"type": "Sequence", "normalizers": [
                         {"type": "Nmt"}, {"type": "NFKC"}, {"type": "Lowercase"}, {"type": "Strip", "strip_left": True,
                                                                                      "strip_right": True},
                         {"type": "Replace", "pattern": {"String": "  "}, "content": " "}]},
                     pre_tokenizer={"type": "Sequence", "pretokenizers": [
                         {"type": "WhitespaceSplit"}, {"type": "Digits", "individual_digits": True},
                         {"type": "Punctuation", "behavior": "Isolated"}, {"type": "CharDelimiterSplit", "delimiter": "-"}]},
                     truncation={"direction": "Left", "max_length": 48, "strategy": "LongestFirst", "stride": 0},
                     added_tokens=toks)


def main():
    from mmm_oracle import Oracle

    with Oracle("text.tokenizer_json") as o:
        prefix = prefix_argument(o.extra, "tokenizer.json oracle")
        ensure_package(prefix, TOKENIZERS, "tokenizer.json oracle")
        rng = random.Random(o.seed)
        texts, summary = draw_texts(rng, 5200)
        out = o.args.out
        sp = sentencepiece_models(rng, texts, out)
        corpus = open(os.path.join(HERE, "data", "corpus.txt"), encoding="utf-8").read().splitlines()
        bl_vocab, bl_merges = byte_level_vocab(corpus)
        files = {
            "llama2_bpe": llama2_bpe(sp["bpe"]),
            "t5_unigram": t5_unigram(sp["unigram"]),
            "unigram_first_nosplit": t5_unigram(sp["unigram"], "first", False),
            "roberta": roberta(bl_vocab, bl_merges),
            "llama3": split_byte_level(bl_vocab, bl_merges, CL100K, {"type": "NFC"}, True, 40),
            "qwen2": split_byte_level(bl_vocab, bl_merges, QWEN2, {"type": "NFC"}),
            "o200k": split_byte_level(bl_vocab, bl_merges, O200K),
            "gpt2_merged_with_next": split_byte_level(bl_vocab, bl_merges, GPT2, behavior="MergedWithNext"),
            "bert": bert_wordpiece(texts),
            "char_bpe": char_bpe(texts),
            "word_level": word_level(texts),
        }
        names = []
        for name, tok in files.items():
            with open(os.path.join(out, name + ".json"), "w", encoding="utf-8") as f:
                json.dump(tok, f, ensure_ascii=False)
            names.append(name)
        # Texts with the added tokens in them, so that every file splits some out.
        specials = ["<s>", "</s>", "<unk>", "<|begin_of_text|>", "<|endoftext|>", "<|reserved_7|>", "[CLS]", "[SEP]",
                    "[MASK]", "<mask>", "<sep>", "hello", "@user", "Hello"]
        for _ in range(300):
            parts = [rng.choice(texts)[:40] for _ in range(rng.randint(1, 3))]
            texts.append(rng.choice(specials).join(parts) + rng.choice(["", " ", rng.choice(specials)]))
        texts_path = os.path.join(out, "texts.json")
        with open(texts_path, "w", encoding="utf-8") as f:
            json.dump(texts, f, ensure_ascii=False)
        print("tokenizers:", node(os.path.join(HERE, "tokenizer_json_reference.cjs"), prefix, texts_path, out, *names,
                                  who="tokenizer.json oracle"))
        with open(os.path.join(out, "cases.json"), "w") as f:
            json.dump({"seed": o.seed, "summary": summary, "files": names}, f)
        print(summary)


if __name__ == "__main__":
    main()
