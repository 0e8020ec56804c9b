#pragma once
// BERT's WordPiece tokenizer over a `vocab.txt`: the BasicTokenizer (drop control
// characters and invalid bytes, normalize whitespace, isolate CJK ideographs, lowercase
// and strip accents for uncased models, split off punctuation), then greedy
// longest-match-first subwords with the "##" continuation prefix; a word with no
// segmentation, or longer than max_input_chars_per_word code points, becomes [UNK].
// Unicode data as Python's unicodedata (see unicode.hpp). Offsets are byte ranges of the
// input, so a subword of a lowercased or accent-stripped word maps back to the original.

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/io/mapped_file.hpp"
#include "mmm/preprocess/text/piece_table.hpp"
#include "mmm/preprocess/text/token_batch.hpp"
#include "mmm/preprocess/text/unicode.hpp"
#include "mmm/preprocess/text/utf8.hpp"

namespace mmm {

struct WordPieceOptions {
  bool lowercase = true;      // BERT "uncased"
  int strip_accents = -1;     // -1: as lowercase (BERT), 0: no, 1: yes
  bool split_cjk = true;      // tokenize_chinese_chars
  std::size_t max_input_chars_per_word = 100;
  std::string continuation = "##";
  std::string unk = "[UNK]", pad = "[PAD]", cls = "[CLS]", sep = "[SEP]", mask = "[MASK]";
};

class WordPiece : public EncodeReturning<WordPiece> {
 public:
  // One token per line; the id is the line number from 0. Only unk must be present;
  // missing pad/cls/sep/mask make those ids -1.
  static WordPiece load(const std::string& vocab_path, WordPieceOptions options = {}) {
    MappedFile file(vocab_path);
    return from_text(std::string_view(reinterpret_cast<const char*>(file.bytes().data()), file.size()), vocab_path,
                     std::move(options));
  }
  static WordPiece from_text(std::string_view text, const std::string& name, WordPieceOptions options = {}) {
    WordPiece wp;
    wp.options_ = std::move(options);
    std::size_t line = 0;
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view token = text.substr(pos, end - pos);
      pos = end + 1;
      ++line;
      if (token.ends_with('\r')) token.remove_suffix(1);
      if (token.empty()) throw FormatError(name + ": line " + std::to_string(line) + " is empty; vocab.txt has one token per line");
      if (!utf8::is_valid(token)) throw FormatError(name + ": line " + std::to_string(line) + " is not valid UTF-8");
      const auto id = static_cast<std::int32_t>(wp.tokens_.size());
      if (!wp.words_.insert(token, id))
        throw FormatError(name + ": line " + std::to_string(line) + " repeats the token '" + std::string(token) + "'");
      const std::string& prefix = wp.options_.continuation;
      if (token.size() > prefix.size() && token.starts_with(prefix)) {
        wp.continuations_.insert(token.substr(prefix.size()), id);
        wp.longest_ = std::max(wp.longest_, token.size() - prefix.size());
      } else {
        wp.longest_ = std::max(wp.longest_, token.size());
      }
      wp.tokens_.emplace_back(token);
    }
    wp.unk_ = wp.words_.find(wp.options_.unk);
    if (wp.unk_ < 0) throw FormatError(name + ": the unknown token '" + wp.options_.unk + "' is not in the vocabulary");
    wp.pad_ = wp.words_.find(wp.options_.pad);
    wp.cls_ = wp.words_.find(wp.options_.cls);
    wp.sep_ = wp.words_.find(wp.options_.sep);
    wp.mask_ = wp.words_.find(wp.options_.mask);
    return wp;
  }

  using EncodeReturning<WordPiece>::encode;
  // Replaces `ids`; reusing the vector makes repeated calls allocation-free.
  void encode(std::string_view text, std::vector<std::int32_t>& ids) const {
    ids.clear();
    run(text, [&](std::int32_t id, std::uint32_t, std::uint32_t) { ids.push_back(id); });
  }
  Encoding encode_with_offsets(std::string_view text) const {
    Encoding e;
    run(text, [&](std::int32_t id, std::uint32_t b, std::uint32_t en) {
      e.ids.push_back(id);
      e.offsets.push_back({b, en});
    });
    return e;
  }
  // The basic tokenizer's words (after lowercasing/accent stripping), for inspection.
  std::vector<std::string> basic_tokens(std::string_view text) const {
    std::vector<std::string> out;
    Scratch& s = scratch();
    words(text, s, [&](std::size_t first, std::size_t last) {
      std::string w;
      for (std::size_t i = first; i < last; ++i) utf8::append(w, s.chars[i].code);
      out.push_back(std::move(w));
    });
    return out;
  }

  // Tokens joined by spaces, continuations glued to their word; padding dropped.
  std::string decode(std::span<const std::int32_t> ids) const {
    std::string out;
    const std::string& prefix = options_.continuation;
    for (std::int32_t id : ids) {
      detail::check_decode_id(id, size(), "WordPiece::decode");
      if (id == pad_) continue;
      const std::string& t = tokens_[static_cast<std::size_t>(id)];
      if (t.size() > prefix.size() && t.starts_with(prefix)) {
        out.append(t, prefix.size());
      } else {
        if (!out.empty()) out += ' ';
        out += t;
      }
    }
    return out;
  }

  std::size_t size() const noexcept { return tokens_.size(); }
  const std::string& token(std::int32_t id) const {
    detail::check_decode_id(id, size(), "WordPiece::token");
    return tokens_[static_cast<std::size_t>(id)];
  }
  std::int32_t token_to_id(std::string_view token) const noexcept { return words_.find(token); }
  std::int32_t unk_id() const noexcept { return unk_; }
  std::int32_t pad_id() const noexcept { return pad_; }
  std::int32_t cls_id() const noexcept { return cls_; }
  std::int32_t sep_id() const noexcept { return sep_; }
  std::int32_t mask_id() const noexcept { return mask_; }
  // BERT frames a sentence as [CLS] … [SEP]; encode_batch's add_bos/add_eos use these.
  std::int32_t bos_id() const noexcept { return cls_; }
  std::int32_t eos_id() const noexcept { return sep_; }

 private:
  struct Char {
    char32_t code;
    std::uint32_t begin, end;  // source bytes
    bool boundary;             // whitespace: ends a word
  };
  struct Piece {
    std::int32_t id;
    std::uint32_t begin, end;
  };
  struct Scratch {
    std::vector<Char> chars;
    std::vector<Piece> pieces;
    std::string utf8;
    std::vector<std::uint32_t> char_at;  // byte offset of each char in utf8, plus the end
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    return s;
  }

  static bool is_cjk(char32_t c) noexcept {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
  }
  static bool is_punct(char32_t c) noexcept {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126) ||
           unicode::has(c, unicode::punct);
  }

  // The basic tokenizer: calls visit(first, last) with each word's range in s.chars.
  template <class Visit>
  void words(std::string_view text, Scratch& s, Visit&& visit) const {
    auto& chars = s.chars;
    chars.clear();
    const bool strip = options_.strip_accents < 0 ? options_.lowercase : options_.strip_accents > 0;
    bool after_cased = false;  // the word's last character that is not case-ignorable is cased
    for (std::size_t i = 0; i < text.size();) {
      const utf8::Decoded d = utf8::decode(text, i);
      const auto b = static_cast<std::uint32_t>(i), e = static_cast<std::uint32_t>(i + static_cast<std::size_t>(d.length));
      i = e;
      const char32_t c = d.code;
      switch (classify(d)) {
        case Class::dropped: continue;
        case Class::boundary:
          chars.push_back({' ', b, e, true});
          after_cased = false;
          continue;
        case Class::cjk:
          chars.push_back({' ', b, b, true});
          push(chars, c, b, e, strip, false);
          chars.push_back({' ', e, e, true});
          after_cased = false;
          continue;
        case Class::other: break;
      }
      if (!options_.lowercase) {
        push(chars, c, b, e, strip, false);
        continue;
      }
      push(chars, c, b, e, strip, c == 0x3A3 && after_cased && !cased_letter_follows(text, i));
      if (!unicode::has(c, unicode::case_ignorable)) after_cased = unicode::has(c, unicode::cased);
    }
    // Words are runs between boundaries; punctuation characters stand alone.
    std::size_t start = 0;
    for (std::size_t k = 0; k <= chars.size(); ++k) {
      if (k == chars.size() || chars[k].boundary) {
        if (k > start) visit(start, k);
        start = k + 1;
      } else if (is_punct(chars[k].code)) {
        if (k > start) visit(start, k);
        visit(k, k + 1);
        start = k + 1;
      }
    }
  }

  // What the basic tokenizer does with a character: BERT decodes with errors="ignore" and
  // drops NUL, U+FFFD and control characters; whitespace (and what str.split() also splits
  // at, U+2028/2029) ends a word; a CJK ideograph is a word of its own.
  enum class Class { dropped, boundary, cjk, other };
  Class classify(const utf8::Decoded& d) const noexcept {
    const char32_t c = d.code;
    if (!d.valid || c == 0 || c == 0xFFFD) return Class::dropped;
    const bool white = c == ' ' || c == '\t' || c == '\n' || c == '\r' || unicode::has(c, unicode::space_sep);
    if (!white && unicode::has(c, unicode::control)) return Class::dropped;
    if (white || unicode::has(c, unicode::space)) return Class::boundary;
    if (options_.split_cjk && is_cjk(c)) return Class::cjk;
    return Class::other;
  }

  // BERT lowercases each whitespace-separated word with str.lower(), whose Final_Sigma rule
  // lowers Σ to ς after a cased letter and not before one (case-ignorable characters, such
  // as apostrophes and marks, skipped both ways). The text after a Σ at byte i decides.
  bool cased_letter_follows(std::string_view text, std::size_t i) const {
    while (i < text.size()) {
      const utf8::Decoded d = utf8::decode(text, i);
      i += static_cast<std::size_t>(d.length);
      switch (classify(d)) {
        case Class::dropped: continue;
        case Class::boundary:
        case Class::cjk: return false;
        case Class::other: break;
      }
      if (!unicode::has(d.code, unicode::case_ignorable)) return unicode::has(d.code, unicode::cased);
    }
    return false;
  }

  void push(std::vector<Char>& chars, char32_t c, std::uint32_t b, std::uint32_t e, bool strip,
            bool final_sigma) const {
    auto add = [&](char32_t x) {
      if (strip)
        unicode::append_stripped(x, [&](char32_t y) { chars.push_back({y, b, e, false}); });
      else
        chars.push_back({x, b, e, false});
    };
    if (final_sigma)
      add(0x3C2);
    else if (options_.lowercase)
      unicode::append_lower(c, add);
    else
      add(c);
  }

  template <class Sink>
  void run(std::string_view text, Sink&& sink) const {
    Scratch& s = scratch();
    words(text, s, [&](std::size_t first, std::size_t last) { wordpiece(s, first, last, sink); });
  }

  template <class Sink>
  void wordpiece(Scratch& s, std::size_t first, std::size_t last, Sink& sink) const {
    const std::size_t n = last - first;
    const Char* chars = s.chars.data() + first;
    if (n > options_.max_input_chars_per_word) {
      sink(unk_, chars[0].begin, chars[n - 1].end);
      return;
    }
    s.utf8.clear();
    s.char_at.clear();
    for (std::size_t k = 0; k < n; ++k) {
      s.char_at.push_back(static_cast<std::uint32_t>(s.utf8.size()));
      utf8::append(s.utf8, chars[k].code);
    }
    s.char_at.push_back(static_cast<std::uint32_t>(s.utf8.size()));
    const std::string_view word = s.utf8;
    // Subword ids go to sink only once the whole word segments; else the word is [UNK].
    s.pieces.clear();
    for (std::size_t start = 0; start < n;) {
      std::size_t end = n;
      std::int32_t found = -1;
      while (start < end) {
        const std::size_t bytes = s.char_at[end] - s.char_at[start];
        if (bytes <= longest_) {
          const std::string_view sub = word.substr(s.char_at[start], bytes);
          found = start == 0 ? words_.find(sub) : continuations_.find(sub);
          if (found >= 0) break;
        }
        --end;
      }
      if (found < 0) {
        sink(unk_, chars[0].begin, chars[n - 1].end);
        return;
      }
      s.pieces.push_back({found, chars[start].begin, chars[end - 1].end});
      start = end;
    }
    for (const Piece& p : s.pieces) sink(p.id, p.begin, p.end);
  }

  WordPieceOptions options_;
  std::vector<std::string> tokens_;
  detail::StringIdMap words_, continuations_;
  std::size_t longest_ = 0;  // bytes of the longest piece (without the prefix)
  std::int32_t unk_ = -1, pad_ = -1, cls_ = -1, sep_ = -1, mask_ = -1;
};

}  // namespace mmm
