"""Oracle for mmm's WordPiece: the reference is BERT's tokenization.py (BasicTokenizer +
WordpieceTokenizer), transcribed below with Python's unicodedata. A small vocab.txt is
built from the corpus (frequent words, prefixes, ## suffixes, most characters, so that
some words have no segmentation and become [UNK]); many texts (corpus lines, fresh random
mixes with accents, CJK, control characters, odd whitespace, over-long words, invalid
UTF-8) are tokenized uncased and cased. Offsets are tracked alongside, for valid UTF-8."""
import json
import os
import random
import unicodedata
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "data", "corpus.txt")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


# ---- BERT's tokenization.py -------------------------------------------------------------
def _is_whitespace(char):
    if char in " \t\n\r":
        return True
    return unicodedata.category(char) == "Zs"


def _is_control(char):
    if char in "\t\n\r":
        return False
    return unicodedata.category(char).startswith("C")


def _is_punctuation(char):
    cp = ord(char)
    if (33 <= cp <= 47) or (58 <= cp <= 64) or (91 <= cp <= 96) or (123 <= cp <= 126):
        return True
    return unicodedata.category(char).startswith("P")


def _is_chinese_char(cp):
    return ((0x4E00 <= cp <= 0x9FFF) or (0x3400 <= cp <= 0x4DBF) or (0x20000 <= cp <= 0x2A6DF) or
            (0x2A700 <= cp <= 0x2B73F) or (0x2B740 <= cp <= 0x2B81F) or (0x2B820 <= cp <= 0x2CEAF) or
            (0xF900 <= cp <= 0xFAFF) or (0x2F800 <= cp <= 0x2FA1F))


def whitespace_tokenize(text):
    text = text.strip()
    return text.split() if text else []


class BasicTokenizer:
    def __init__(self, do_lower_case=True):
        self.do_lower_case = do_lower_case

    def tokenize(self, text):
        text = text.decode("utf-8", "ignore") if isinstance(text, bytes) else text  # convert_to_unicode
        text = self._clean_text(text)
        text = self._tokenize_chinese_chars(text)
        split_tokens = []
        for token in whitespace_tokenize(text):
            if self.do_lower_case:
                token = token.lower()
                token = self._run_strip_accents(token)
            split_tokens.extend(self._run_split_on_punc(token))
        return whitespace_tokenize(" ".join(split_tokens))

    def _run_strip_accents(self, text):
        return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")

    def _run_split_on_punc(self, text):
        output, start_new_word = [], True
        for char in text:
            if _is_punctuation(char):
                output.append([char])
                start_new_word = True
            else:
                if start_new_word:
                    output.append([])
                start_new_word = False
                output[-1].append(char)
        return ["".join(x) for x in output]

    def _tokenize_chinese_chars(self, text):
        return "".join(f" {c} " if _is_chinese_char(ord(c)) else c for c in text)

    def _clean_text(self, text):
        out = []
        for char in text:
            cp = ord(char)
            if cp == 0 or cp == 0xFFFD or _is_control(char):
                continue
            out.append(" " if _is_whitespace(char) else char)
        return "".join(out)


class WordpieceTokenizer:
    def __init__(self, vocab, unk_token="[UNK]", max_input_chars_per_word=100):
        self.vocab, self.unk_token, self.max_input_chars_per_word = vocab, unk_token, max_input_chars_per_word

    def tokenize(self, text):
        output_tokens = []
        for token in whitespace_tokenize(text):
            chars = list(token)
            if len(chars) > self.max_input_chars_per_word:
                output_tokens.append(self.unk_token)
                continue
            is_bad, start, sub_tokens = False, 0, []
            while start < len(chars):
                end, cur_substr = len(chars), None
                while start < end:
                    substr = "".join(chars[start:end])
                    if start > 0:
                        substr = "##" + substr
                    if substr in self.vocab:
                        cur_substr = substr
                        break
                    end -= 1
                if cur_substr is None:
                    is_bad = True
                    break
                sub_tokens.append(cur_substr)
                start = end
            if is_bad:
                output_tokens.append(self.unk_token)
            else:
                output_tokens.extend(sub_tokens)
        return output_tokens


def full_tokenize(vocab, text, lower):
    wp = WordpieceTokenizer(vocab)
    return [vocab[t] for w in BasicTokenizer(lower).tokenize(text) for t in wp.tokenize(w)]


# ---- the same, carrying each character's source byte range (for offsets) ---------------
def tokenize_with_offsets(vocab, text, lower):
    chars, b = [], 0
    for c in text:
        n = len(c.encode("utf-8"))
        chars.append((c, b, b + n))
        b += n
    # clean + chinese + whitespace: items are (char, begin, end) or None for a boundary
    items = []
    for c, s, e in chars:
        if ord(c) == 0 or ord(c) == 0xFFFD or _is_control(c):
            continue
        if _is_whitespace(c) or c.isspace():
            items.append(None)
        elif _is_chinese_char(ord(c)):
            items += [None, (c, s, e), None]
        else:
            items.append((c, s, e))
    words, cur = [], []
    for it in items + [None]:
        if it is None:
            if cur:
                words.append(cur)
            cur = []
        else:
            cur.append(it)
    out_words = []
    for w in words:
        if lower:
            # str.lower() of the whole word, as BERT's: a word-final Σ lowers to ς
            word, lowered, k = "".join(c for c, _, _ in w).lower(), [], 0
            for c, s, e in w:
                n = len(c.lower())  # the Σ rule changes no length
                lowered += [(y, s, e) for y in word[k:k + n]]
                k += n
            w = [(x, s, e) for y, s, e in lowered
                 for x in unicodedata.normalize("NFD", y) if unicodedata.category(x) != "Mn"]
        cur = []
        for c, s, e in w:
            if _is_punctuation(c):
                if cur:
                    out_words.append(cur)
                out_words.append([(c, s, e)])
                cur = []
            else:
                cur.append((c, s, e))
        if cur:
            out_words.append(cur)
    ids, offsets = [], []
    for w in out_words:
        if len(w) > 100:
            ids.append(vocab["[UNK]"])
            offsets.append([w[0][1], w[-1][2]])
            continue
        start, pieces = 0, []
        while start < len(w):
            end = len(w)
            while start < end:
                sub = ("##" if start else "") + "".join(c for c, _, _ in w[start:end])
                if sub in vocab:
                    break
                end -= 1
            if start == end:
                pieces = None
                break
            pieces.append((vocab[sub], w[start][1], w[end - 1][2]))
            start = end
        if pieces is None:
            ids.append(vocab["[UNK]"])
            offsets.append([w[0][1], w[-1][2]])
        else:
            ids += [p[0] for p in pieces]
            offsets += [[p[1], p[2]] for p in pieces]
    return ids, offsets


def build_vocab(lines, rng):
    basic = BasicTokenizer(True)
    words = Counter(w for l in lines for w in basic.tokenize(l))
    words_cased = Counter(w for l in lines for w in BasicTokenizer(False).tokenize(l))
    chars = Counter(c for w in list(words) + list(words_cased) for c in w)
    vocab = list(SPECIALS)
    seen = set(vocab)

    def add(t):
        if t not in seen:
            seen.add(t)
            vocab.append(t)

    for c, n in chars.most_common():
        if n >= 2 or rng.random() < 0.5:  # some rare characters stay unknown
            add(c)
            add("##" + c)
    for w, _ in (words + words_cased).most_common(400):
        add(w)
    prefixes, suffixes = Counter(), Counter()
    for w, n in words.items():
        for k in range(2, min(5, len(w))):
            prefixes[w[:k]] += n
            suffixes["##" + w[-k:]] += n
    for t, _ in prefixes.most_common(150) + suffixes.most_common(150):
        add(t)
    return vocab


ODD = ["\u00a0", "\u3000", "\u2028", "\t", "\n", "\r", "  ", "\u200b", "\ufeff", "\u00ad", "\x07", "\x00", "\ufffd",
       "İstanbul", "ǅ", "ß", "Ωμέγα", "e\u0301", "Å", "ﬁ", "Ⅻ", "½", "﹏", "…", "“quoted”", "«»", "¿¡", "$5.00", "#tag",
       "@user", "don't", "U.S.A.", "中文字符", "日本語のテキスト", "한국어", "😀", "👩🏽‍🚀", "\u0300", "a\u0308", "Ἀθῆναι", "ﾊﾝｶｸ",
       "\U00020000", "\uf900", "x" * 120, "ü" * 101, "[MASK]", "[CLS]"]
# Σ lowers to ς at the end of a word (str.lower()'s Final_Sigma rule), case-ignorable
# characters (apostrophe, period, colon, marks, modifier letters) skipped on both sides and
# dropped ones (soft hyphen, zero-width space) not there at all
SIGMA = ["ΟΔΥΣΣΕΥΣ", "ΣΑΣ,", "Σ", "ΑΣ", "αΣ'", "αΣ's", "ΑΣ.Α", "ΑΣ:", "ΑΣ\u0301", "\u0301Σα", "ΑΣ\u00adΑ", "ΑΣ-Α",
       "ΑΣ中", "ΑΣ\u200bΑ", "ΑΣ1", "1Σ", "ΑΣ\u0345", "ΑΣ\u02b0", "σας Σας"]
ODD += SIGMA
INVALID = [b"\xff", b"\xc3", b"\xe2\x82", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80"]


def main():
    from mmm_oracle import Oracle

    with Oracle("text.wordpiece") as o:
        rng = random.Random(o.seed)
        lines = open(CORPUS, encoding="utf-8").read().splitlines()
        vocab_list = build_vocab(lines, rng)
        vocab = {t: i for i, t in enumerate(vocab_list)}
        with open(os.path.join(o.args.out, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(vocab_list) + "\n")
        texts = [l.encode() for l in lines + SIGMA] + [b"", b" ", b"\t\n"]
        texts += [b"\xce\x91\xce\xa3\xff\xce\x91", b"\xce\x91\xce\xa3\xed\xa0\x80 x"]  # Σ, invalid bytes, a letter or not
        words = " ".join(lines).split()
        for _ in range(500):
            parts = []
            for _ in range(rng.randint(1, 12)):
                r = rng.random()
                parts.append(rng.choice(words).encode() if r < 0.5 else rng.choice(ODD).encode() if r < 0.85
                             else rng.choice(INVALID) if r < 0.92 else chr(rng.randint(0x20, 0x30ff)).encode("utf-8", "surrogatepass"))
            texts.append(rng.choice([b" ", b"", b"  "]).join(parts))
        cases = []
        for t in texts:
            for lower in (True, False):
                ids = full_tokenize(vocab, t, lower)
                case = {"text": t.hex(), "lowercase": lower, "ids": ids}
                try:
                    s = t.decode("utf-8")
                except UnicodeDecodeError:
                    s = None
                if s is not None:
                    ids2, offsets = tokenize_with_offsets(vocab, s, lower)
                    assert ids2 == ids, (s, ids, ids2)
                    case["offsets"] = offsets
                cases.append(case)
        with open(os.path.join(o.args.out, "wordpiece.json"), "w") as f:
            json.dump({"seed": o.seed, "cases": cases}, f)
        print(f"{len(vocab_list)} tokens, {len(cases)} cases")


if __name__ == "__main__":
    main()
