#pragma once
// tokenizer.json "pre_tokenizer": ByteLevel, Split (string patterns, and the regexes of
// GPT-2, cl100k/LLaMA-3, Qwen2 and o200k, recognized by their text and matched by
// split_pattern.hpp), Whitespace, WhitespaceSplit, Metaspace, Digits, Punctuation,
// BertPreTokenizer, CharDelimiterSplit and Sequence, with the split behaviors of Hugging
// Face's `tokenizers` (Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous,
// invert). Anything else is a FormatError naming the field and its value.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/preprocess/text/hf/normalized.hpp"
#include "mmm/preprocess/text/hf/normalizers.hpp"
#include "mmm/preprocess/text/json_fields.hpp"
#include "mmm/preprocess/text/split_pattern.hpp"
#include "mmm/preprocess/text/unicode.hpp"

namespace mmm::detail::hf {

namespace jf = json_fields;

// GPT-2's bytes_to_unicode: every byte has a printable code point.
inline const std::array<char32_t, 256>& byte_to_char() {
  static const std::array<char32_t, 256> map = [] {
    std::array<char32_t, 256> m{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      m[static_cast<std::size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
    return m;
  }();
  return map;
}
// The byte a byte-level character stands for, or -1.
inline int char_to_byte(char32_t c) {
  static const std::array<std::int16_t, 324> inverse = [] {
    std::array<std::int16_t, 324> inv;
    inv.fill(-1);
    for (int b = 0; b < 256; ++b) inv[byte_to_char()[static_cast<std::size_t>(b)]] = static_cast<std::int16_t>(b);
    return inv;
  }();
  return c < inverse.size() ? inverse[c] : -1;
}

enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

inline SplitBehavior parse_behavior(const jf::Json& j, const char* key, SplitBehavior fallback, const std::string& where) {
  const jf::Json* v = jf::member(j, key);
  if (!v || v->is_null()) return fallback;
  const std::string s = v->is_string() ? v->get<std::string>() : std::string();
  if (s == "Removed") return SplitBehavior::removed;
  if (s == "Isolated") return SplitBehavior::isolated;
  if (s == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (s == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (s == "Contiguous") return SplitBehavior::contiguous;
  throw FormatError(where + "." + key + " is " + jf::show(*v) +
                    ", expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous");
}

// A match list (ranges inside one piece, covering it, each flagged a match or not) split
// by a behavior into sub-pieces, as NormalizedString::split does.
struct Match {
  std::uint32_t begin, end;
  bool is_match;
};

inline void split_by_behavior(const Buffer& buf, std::vector<Match>& matches, SplitBehavior behavior,
                              std::vector<Piece>& out) {
  thread_local std::vector<Match> merged;
  merged.clear();
  switch (behavior) {
    case SplitBehavior::isolated:
      for (Match m : matches) merged.push_back({m.begin, m.end, false});
      break;
    case SplitBehavior::removed: merged = matches; break;
    case SplitBehavior::contiguous: {
      bool previous = false;
      for (const Match& m : matches) {
        if (m.is_match == previous && !merged.empty()) merged.back().end = m.end;
        else merged.push_back({m.begin, m.end, false});
        previous = m.is_match;
      }
      break;
    }
    case SplitBehavior::merged_with_previous: {
      bool previous = false;
      for (const Match& m : matches) {
        if (m.is_match && !previous && !merged.empty()) merged.back().end = m.end;
        else merged.push_back({m.begin, m.end, false});
        previous = m.is_match;
      }
      break;
    }
    case SplitBehavior::merged_with_next: {
      bool previous = false;
      for (std::size_t k = matches.size(); k-- > 0;) {
        const Match& m = matches[k];
        if (m.is_match && !previous && !merged.empty()) merged.back().begin = m.begin;
        else merged.push_back({m.begin, m.end, false});
        previous = m.is_match;
      }
      std::reverse(merged.begin(), merged.end());
      break;
    }
  }
  for (const Match& m : merged) {
    if (m.is_match || m.begin == m.end) continue;  // removed, or empty (empty splits are dropped)
    const Align a = original_of(buf, m.begin, m.end);
    out.push_back({m.begin, m.end, a.begin, a.end, -1});
  }
}

struct PreTokenizer {
  enum class Kind { none, byte_level, split, whitespace, whitespace_split, metaspace, digits, punctuation, bert, char_delimiter, sequence };
  enum class Pattern { string, regex, digits_1_3 };
  Kind kind = Kind::none;
  // ByteLevel
  bool add_prefix_space = false, use_regex = true;
  // Split
  Pattern pattern = Pattern::string;
  SplitPattern regex = SplitPattern::gpt2;
  int regex_digits = 3;
  std::string literal;  // Split's string, CharDelimiterSplit's delimiter, Metaspace's replacement
  SplitBehavior behavior = SplitBehavior::isolated;
  bool invert = false;
  // Metaspace
  enum class Prepend { always, first, never } prepend = Prepend::always;
  bool split = true;
  // Digits
  bool individual_digits = false;
  std::vector<PreTokenizer> steps;

  static PreTokenizer parse(const jf::Json& j, const std::string& where) {
    PreTokenizer t;
    if (j.is_null()) return t;
    const std::string type = jf::type_of(j, where);
    if (type == "ByteLevel") {
      t.kind = Kind::byte_level;
      t.add_prefix_space = jf::boolean(j, "add_prefix_space", true, where);
      t.use_regex = jf::boolean(j, "use_regex", true, where);
      jf::boolean(j, "trim_offsets", true, where);
      return t;
    }
    if (type == "Split") {
      t.kind = Kind::split;
      t.behavior = parse_behavior(j, "behavior", SplitBehavior::isolated, where);
      t.invert = jf::boolean(j, "invert", false, where);
      const jf::Json& p = jf::required(j, "pattern", where);
      if (p.is_object() && p.size() == 1 && jf::member(p, "Regex") && p["Regex"].is_string()) {
        const std::string r = p["Regex"].get<std::string>();
        if (known_regex(r, t)) return t;
      }
      t.pattern = Pattern::string;
      try {
        t.literal = Normalizer::string_pattern(p, where + ".pattern");
      } catch (const FormatError&) {
        throw FormatError(where + ".pattern is " + jf::show(p) +
                          "; mmm implements string patterns and the GPT-2, cl100k (LLaMA-3), Qwen2 and o200k regexes");
      }
      return t;
    }
    if (type == "Whitespace") return simple(Kind::whitespace);
    if (type == "WhitespaceSplit") return simple(Kind::whitespace_split);
    if (type == "BertPreTokenizer") return simple(Kind::bert);
    if (type == "Punctuation") {
      t.kind = Kind::punctuation;
      t.behavior = parse_behavior(j, "behavior", SplitBehavior::isolated, where);
      return t;
    }
    if (type == "Digits") {
      t.kind = Kind::digits;
      t.individual_digits = jf::boolean(j, "individual_digits", false, where);
      return t;
    }
    if (type == "CharDelimiterSplit") {
      t.kind = Kind::char_delimiter;
      t.literal = single_char(j, "delimiter", "", where);
      return t;
    }
    if (type == "Metaspace") {
      t.kind = Kind::metaspace;
      t.literal = single_char(j, "replacement", "\xE2\x96\x81", where);
      const std::string scheme = jf::string(j, "prepend_scheme", "always", where);
      if (scheme == "always") t.prepend = Prepend::always;
      else if (scheme == "first") t.prepend = Prepend::first;
      else if (scheme == "never") t.prepend = Prepend::never;
      else throw FormatError(where + ".prepend_scheme is \"" + scheme + "\", expected always, first or never");
      if (const jf::Json* a = jf::member(j, "add_prefix_space"); a && a->is_boolean() && !a->get<bool>()) {
        if (t.prepend != Prepend::never && jf::member(j, "prepend_scheme"))
          throw FormatError(where + ": add_prefix_space false contradicts prepend_scheme \"" + scheme + "\"");
        t.prepend = Prepend::never;
      }
      t.split = jf::boolean(j, "split", true, where);
      return t;
    }
    if (type == "Sequence") {
      t.kind = Kind::sequence;
      t.steps = jf::sequence<PreTokenizer>(j, "pretokenizers", where, parse);
      return t;
    }
    jf::unsupported(where, type,
                    "ByteLevel, Split, Whitespace, WhitespaceSplit, Metaspace, Digits, Punctuation, BertPreTokenizer, "
                    "CharDelimiterSplit, Sequence");
  }

  bool active() const noexcept { return kind != Kind::none; }

  // Splits (and for ByteLevel and Metaspace rewrites) every piece that is not an added token.
  void apply(Buffer& buf, std::vector<Piece>& pieces, Buffer& tmp) const {
    if (kind == Kind::none) return;
    if (kind == Kind::sequence) {
      for (const PreTokenizer& s : steps) s.apply(buf, pieces, tmp);
      return;
    }
    if (kind == Kind::byte_level || kind == Kind::metaspace) return rewrite_all(buf, pieces, tmp);
    thread_local std::vector<Piece> out;
    out.clear();
    for (const Piece& p : pieces) {
      if (p.id >= 0) out.push_back(p);
      else split_piece(buf, p, out);
    }
    swap_scratch(pieces, out);
  }

 private:
  static PreTokenizer simple(Kind k) {
    PreTokenizer t;
    t.kind = k;
    return t;
  }
  static std::string single_char(const jf::Json& j, const char* key, const char* fallback, const std::string& where) {
    const std::string s = jf::string(j, key, fallback, where);
    if (s.empty() || utf8::decode(s, 0).length != static_cast<int>(s.size()) || !utf8::is_valid(s))
      throw FormatError(where + "." + key + " is \"" + s + "\", expected one character");
    return s;
  }

  // The regexes real tokenizer.json files carry, by their exact text.
  static bool known_regex(const std::string& r, PreTokenizer& t) {
    static const std::string gpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
    static const std::string cl100k_2023 =
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    static const std::string qwen2 =
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    static const std::string cl100k =
        R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s)";
    static const std::string o200k =
        R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    t.pattern = Pattern::regex;
    if (r == gpt2) t.regex = SplitPattern::gpt2;
    else if (r == cl100k_2023) t.regex = SplitPattern::cl100k_2023;
    else if (r == qwen2) t.regex = SplitPattern::cl100k_2023, t.regex_digits = 1;
    else if (r == cl100k) t.regex = SplitPattern::cl100k;
    else if (r == o200k) t.regex = SplitPattern::o200k;
    else if (r == R"(\p{N}{1,3})") t.pattern = Pattern::digits_1_3;
    else return false;
    return true;
  }

  static bool is_punct(char32_t c) noexcept {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126) ||
           unicode::has(c, unicode::punct);
  }

  // Each character for which pred holds is a match of its own (the library's char patterns).
  template <class Pred>
  static void char_matches(const Buffer& buf, const Piece& p, Pred&& pred, std::vector<Match>& m) {
    m.clear();
    std::uint32_t last = p.begin;
    for (std::uint32_t i = p.begin; i < p.end;) {
      const utf8::Decoded d = utf8::decode(buf.text.data() + i, buf.text.data() + p.end);
      const auto next = i + static_cast<std::uint32_t>(d.length);
      if (pred(d.code)) {
        if (last < i) m.push_back({last, i, false});
        m.push_back({i, next, true});
        last = next;
      }
      i = next;
    }
    if (last < p.end) m.push_back({last, p.end, false});
  }

  void split_piece(const Buffer& buf, const Piece& p, std::vector<Piece>& out) const {
    thread_local std::vector<Match> m;
    m.clear();
    auto invert_all = [&] {
      for (Match& x : m) x.is_match = !x.is_match;
    };
    switch (kind) {
      case Kind::split: {
        if (pattern == Pattern::regex) {
          split_by_pattern(regex, std::string_view(buf.text).substr(p.begin, p.end - p.begin),
                           [&](std::size_t b, std::size_t e) {
                             m.push_back({p.begin + static_cast<std::uint32_t>(b), p.begin + static_cast<std::uint32_t>(e), true});
                           },
                           regex_digits);
        } else if (pattern == Pattern::digits_1_3) {
          const detail::split::Text t(std::string_view(buf.text).substr(p.begin, p.end - p.begin));
          std::uint32_t last = 0;
          for (std::uint32_t i = 0; i < t.size();) {
            if (t.is(i, detail::split::N)) {
              const auto e = static_cast<std::uint32_t>(t.run_at_most(i, detail::split::N, 3));
              if (last < i) m.push_back({p.begin + last, p.begin + i, false});
              m.push_back({p.begin + i, p.begin + e, true});
              last = i = e;
            } else {
              i += t.at(i).length;
            }
          }
          if (last < t.size()) m.push_back({p.begin + last, p.end, false});
        } else {
          const std::string_view s = std::string_view(buf.text).substr(p.begin, p.end - p.begin);
          std::size_t last = 0;
          for (std::size_t hit = s.find(literal); hit != std::string_view::npos; hit = s.find(literal, last)) {
            if (last < hit) m.push_back({p.begin + static_cast<std::uint32_t>(last), p.begin + static_cast<std::uint32_t>(hit), false});
            m.push_back({p.begin + static_cast<std::uint32_t>(hit), p.begin + static_cast<std::uint32_t>(hit + literal.size()), true});
            last = hit + literal.size();
          }
          if (last < s.size()) m.push_back({p.begin + static_cast<std::uint32_t>(last), p.end, false});
        }
        if (invert) invert_all();
        return split_by_behavior(buf, m, behavior, out);
      }
      case Kind::whitespace: {
        // \w+|[^\w\s]+ are kept, the whitespace between them removed.
        std::uint32_t i = p.begin;
        const char* s = buf.text.data();
        auto cls = [&](std::uint32_t at, int& length) {
          const utf8::Decoded d = utf8::decode(s + at, s + p.end);
          length = d.length;
          return unicode::has(d.code, unicode::word) ? 1 : is_white_space(d.code) ? 0 : 2;
        };
        while (i < p.end) {
          int length = 0;
          const int c = cls(i, length);
          std::uint32_t j = i + static_cast<std::uint32_t>(length);
          if (c != 0)
            while (j < p.end && cls(j, length) == c) j += static_cast<std::uint32_t>(length);
          m.push_back({i, j, c == 0});
          i = j;
        }
        return split_by_behavior(buf, m, SplitBehavior::removed, out);
      }
      case Kind::whitespace_split:
        char_matches(buf, p, is_white_space, m);
        return split_by_behavior(buf, m, SplitBehavior::removed, out);
      case Kind::char_delimiter: {
        const char32_t d = utf8::decode(literal, 0).code;
        char_matches(buf, p, [d](char32_t c) { return c == d; }, m);
        return split_by_behavior(buf, m, SplitBehavior::removed, out);
      }
      case Kind::digits:
        char_matches(buf, p, [](char32_t c) { return unicode::has(c, unicode::number); }, m);
        return split_by_behavior(buf, m, individual_digits ? SplitBehavior::isolated : SplitBehavior::contiguous, out);
      case Kind::punctuation:
        char_matches(buf, p, is_punct, m);
        return split_by_behavior(buf, m, behavior, out);
      case Kind::bert: {
        thread_local std::vector<Piece> words;
        words.clear();
        char_matches(buf, p, [](char32_t c) { return c == '\t' || c == '\n' || c == '\r' || is_white_space(c); }, m);
        split_by_behavior(buf, m, SplitBehavior::removed, words);
        for (const Piece& w : words) {
          char_matches(buf, w, is_punct, m);
          split_by_behavior(buf, m, SplitBehavior::isolated, out);
        }
        return;
      }
      default: out.push_back(p); return;
    }
  }

  // ByteLevel and Metaspace rewrite the text of each piece, then split it.
  void rewrite_all(Buffer& buf, std::vector<Piece>& pieces, Buffer& tmp) const {
    tmp.clear();
    thread_local std::vector<Char> chars;
    thread_local std::vector<Piece> out;
    thread_local std::vector<Piece> parts;
    out.clear();
    for (const Piece& p : pieces) {
      if (p.id >= 0) {
        const auto begin = static_cast<std::uint32_t>(tmp.size());
        tmp.copy(buf, p.begin, p.end);
        out.push_back({begin, static_cast<std::uint32_t>(tmp.size()), p.orig_begin, p.orig_end, p.id});
        continue;
      }
      decode_chars(buf, p, chars);
      if (kind == Kind::byte_level) byte_level(buf, p, chars, tmp, out, parts);
      else metaspace(buf, p, chars, tmp, out);
    }
    swap_scratch(buf, tmp);
    swap_scratch(pieces, out);
  }

  void byte_level(const Buffer& in, const Piece& p, const std::vector<Char>& chars, Buffer& out, std::vector<Piece>& result,
                  std::vector<Piece>& parts) const {
    // 1. The prefix space, written into a staging area at the end of `out`.
    thread_local Buffer staged;
    staged.clear();
    Piece q = p;
    if (add_prefix_space && (chars.empty() || chars[0].code != ' ')) {
      Rewriter w(in, p, chars, staged);
      if (!chars.empty()) {
        w.emit(' ', 0);
        w.emit(chars[0].code, 1);
        for (std::size_t i = 1; i < chars.size(); ++i) w.emit(chars[i].code, 0);
      }
      q = w.finish();
    } else {
      staged.copy(in, p.begin, p.end);
      q = {0, static_cast<std::uint32_t>(staged.size()), p.orig_begin, p.orig_end, -1};
    }
    // 2. The GPT-2 pattern.
    parts.clear();
    if (use_regex) {
      split_by_pattern(SplitPattern::gpt2, std::string_view(staged.text).substr(q.begin, q.end - q.begin), [&](std::size_t b, std::size_t e) {
        const Align a = original_of(staged, q.begin + static_cast<std::uint32_t>(b), q.begin + static_cast<std::uint32_t>(e));
        parts.push_back({q.begin + static_cast<std::uint32_t>(b), q.begin + static_cast<std::uint32_t>(e), a.begin, a.end, -1});
      });
    } else if (!q.empty()) {
      parts.push_back(q);
    }
    // 3. Every byte becomes its printable character, aligned like the character it is in.
    thread_local std::vector<Char> part_chars;
    for (const Piece& part : parts) {
      decode_chars(staged, part, part_chars);
      Rewriter w(staged, part, part_chars, out);
      for (const Char& c : part_chars)
        for (std::uint8_t k = 0; k < c.length; ++k)
          w.emit(byte_to_char()[static_cast<unsigned char>(staged.text[c.at + k])], k == 0 ? 0 : 1);
      result.push_back(w.finish());
    }
  }

  void metaspace(const Buffer& in, const Piece& p, const std::vector<Char>& chars, Buffer& out, std::vector<Piece>& result) const {
    const char32_t rep = utf8::decode(literal, 0).code;
    // ' ' → the replacement, aligned to the space; then the prefix.
    thread_local Buffer staged;
    thread_local std::vector<Char> staged_chars;
    staged.clear();
    for (const Char& c : chars) staged.push(c.code == ' ' ? rep : c.code, in.align[c.at]);
    Piece q{0, static_cast<std::uint32_t>(staged.size()), p.orig_begin, p.orig_end, -1};
    decode_chars(staged, q, staged_chars);
    const bool starts = !staged_chars.empty() && staged_chars[0].code == rep;
    const bool prepend_here = !starts && !staged_chars.empty() &&
                              (prepend == Prepend::always || (prepend == Prepend::first && p.orig_begin == 0));
    const auto start = static_cast<std::uint32_t>(out.size());
    if (prepend_here) {
      Rewriter w(staged, q, staged_chars, out);
      w.emit(rep, 0);
      w.emit(staged_chars[0].code, 1);
      for (std::size_t i = 1; i < staged_chars.size(); ++i) w.emit(staged_chars[i].code, 0);
    } else {
      out.copy(staged, q.begin, q.end);
    }
    const Piece written{start, static_cast<std::uint32_t>(out.size()), p.orig_begin, p.orig_end, -1};
    if (!split) {
      if (!written.empty()) result.push_back(written);
      return;
    }
    thread_local std::vector<Match> m;
    char_matches(out, written, [rep](char32_t c) { return c == rep; }, m);
    split_by_behavior(out, m, SplitBehavior::merged_with_next, result);
  }
};

}  // namespace mmm::detail::hf
