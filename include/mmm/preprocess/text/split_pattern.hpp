#pragma once
// The pre-tokenizer patterns of the byte-level BPE families, matched by hand (no regex
// engine) with exactly the leftmost-first, backtracking semantics the regex engines give
// them. Each pattern splits a text into pieces that cover it without gaps.
//
//   gpt2          GPT-2, r50k_base, p50k_base, and Hugging Face's ByteLevel pre-tokenizer:
//                   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   cl100k        GPT-4's cl100k_base as tiktoken ≥ 0.8 writes it:
//                   '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+
//                   | ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s
//   cl100k_2023   the pattern as first released (tiktoken < 0.8, js-tiktoken, LLaMA-3's and
//                 Qwen2's tokenizer.json); differs only where a text ends in whitespace that
//                 holds a newline followed by more whitespace ("a\n " is "a", "\n", " " here,
//                 "a", "\n " above):
//                   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
//                   | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   o200k         GPT-4o's o200k_base:
//                   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//                   |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//                   |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// `digits` caps \p{N} runs of the cl100k family (3; Qwen2's variant of the 2023 pattern
// uses 1). \s is Unicode White_Space (as Rust's regex, Oniguruma and Python's `regex`; not
// JavaScript's \s, which adds U+FEFF and drops U+0085); (?i) folds case as those engines do,
// so 'ſ (U+017F) is a contraction like 's. An invalid UTF-8 byte is one character of its
// own, classed like U+FFFD (a symbol).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mmm/preprocess/text/unicode.hpp"
#include "mmm/preprocess/text/utf8.hpp"

namespace mmm {

enum class SplitPattern { gpt2, cl100k, cl100k_2023, o200k };

namespace detail::split {

// Character classes the patterns test, as bits.
enum : std::uint16_t {
  L = 1,        // \p{L}
  N = 2,        // \p{N}
  S = 4,        // \s
  CRLF = 8,     // \r or \n
  UPPERISH = 16,  // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
  LOWERISH = 32,  // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
  SLASH = 64,   // '/'
};

inline constexpr std::uint16_t classify_code(char32_t c) noexcept {
  const std::uint8_t p = unicode::properties(c);
  std::uint16_t k = 0;
  if (p & unicode::letter) k |= L;
  if (p & unicode::number) k |= N;
  if (p & unicode::space) k |= S;
  if (c == '\r' || c == '\n') k |= CRLF;
  if (c == '/') k |= SLASH;
  if ((p & unicode::letter) || c >= 0x300) {
    const std::uint8_t f = unicode::letter_properties(c);
    if (f & (unicode::upper | unicode::title | unicode::modifier | unicode::other_letter | unicode::any_mark)) k |= UPPERISH;
    if (f & (unicode::lower | unicode::modifier | unicode::other_letter | unicode::any_mark)) k |= LOWERISH;
  }
  return k;
}

inline constexpr auto ascii_classes = [] {
  std::array<std::uint16_t, 128> t{};
  for (char32_t c = 0; c < 128; ++c) t[c] = classify_code(c);
  return t;
}();

struct Char {
  std::uint16_t cls;
  std::uint8_t length;
  char32_t code;
};

// A cursor over one segment of text; characters past the end have no class and length 0.
class Text {
 public:
  explicit Text(std::string_view s) noexcept : s_(s) {}
  std::size_t size() const noexcept { return s_.size(); }
  Char at(std::size_t i) const noexcept {
    if (i >= s_.size()) return {0, 0, 0};
    const auto b = static_cast<unsigned char>(s_[i]);
    if (b < 0x80) return {ascii_classes[b], 1, b};
    const utf8::Decoded d = utf8::decode(s_, i);
    return {d.valid ? classify_code(d.code) : std::uint16_t{0}, static_cast<std::uint8_t>(d.length), d.code};
  }
  bool is(std::size_t i, std::uint16_t cls) const noexcept { return i < s_.size() && (at(i).cls & cls); }
  bool byte_is(std::size_t i, char c) const noexcept { return i < s_.size() && s_[i] == c; }
  // End of the run of characters having some bit of `cls`, starting at i.
  std::size_t run(std::size_t i, std::uint16_t cls) const noexcept {
    while (i < s_.size()) {
      const Char c = at(i);
      if (!(c.cls & cls)) break;
      i += c.length;
    }
    return i;
  }
  // End of the run of characters having none of the bits of `cls` (and being characters).
  std::size_t run_not(std::size_t i, std::uint16_t cls) const noexcept {
    while (i < s_.size()) {
      const Char c = at(i);
      if (c.cls & cls) break;
      i += c.length;
    }
    return i;
  }
  // At most `count` characters of class `cls` from i.
  std::size_t run_at_most(std::size_t i, std::uint16_t cls, int count) const noexcept {
    for (; count > 0 && i < s_.size(); --count) {
      const Char c = at(i);
      if (!(c.cls & cls)) break;
      i += c.length;
    }
    return i;
  }

  // A contraction at i: "'s" "'t" "'re" "'ve" "'m" "'ll" "'d", case-folded when `fold`.
  // Returns its end, or 0.
  std::size_t contraction(std::size_t i, bool fold) const noexcept {
    if (!byte_is(i, '\'')) return 0;
    auto letter = [&](std::size_t at, char lower, std::size_t& next) {
      const Char c = this->at(at);
      if (c.length == 0) return false;
      const bool hit = c.code == char32_t(lower) || (fold && (c.code == char32_t(lower - 32) || (lower == 's' && c.code == 0x17F)));
      next = at + c.length;
      return hit;
    };
    std::size_t a = 0, b = 0;
    const std::size_t j = i + 1;
    if (letter(j, 's', a) || letter(j, 't', a) || letter(j, 'm', a) || letter(j, 'd', a)) return a;
    if ((letter(j, 'r', a) && letter(a, 'e', b)) || (letter(j, 'v', a) && letter(a, 'e', b)) ||
        (letter(j, 'l', a) && letter(a, 'l', b)))
      return b;
    return 0;
  }

  // The whitespace alternatives at a whitespace character i: `\s*[\r\n]+` (when
  // `newline_run`), then `\s+(?!\S)`, then `\s+`; with `to_end` first `\s++$`.
  std::size_t whitespace(std::size_t i, bool newline_run, bool to_end) const noexcept {
    const std::size_t end = run(i, S);
    if (to_end && end == s_.size()) return end;
    if (newline_run) {
      // Backtracking \s* stops before the run's last CR/LF, which [\r\n]+ then takes.
      std::size_t last_newline = std::string_view::npos;
      for (std::size_t p = i; p < end;) {
        const Char c = at(p);
        if (c.cls & CRLF) last_newline = p;
        p += c.length;
      }
      if (last_newline != std::string_view::npos) return last_newline + 1;
    }
    if (end == s_.size()) return end;
    // \s+(?!\S): all but the run's last character, when there are at least two.
    std::size_t last = i;
    for (std::size_t p = i; p < end;) {
      last = p;
      p += at(p).length;
    }
    return last > i ? last : end;
  }

 private:
  std::string_view s_;
};

// ` ?X+` for the GPT-2 pattern, X the class of the character after the optional space.
inline std::size_t match_gpt2(const Text& t, std::size_t i) noexcept {
  if (t.byte_is(i, '\'')) {
    if (t.byte_is(i + 1, 's') || t.byte_is(i + 1, 't') || t.byte_is(i + 1, 'm') || t.byte_is(i + 1, 'd')) return i + 2;
    if ((t.byte_is(i + 1, 'r') || t.byte_is(i + 1, 'v')) && t.byte_is(i + 2, 'e')) return i + 3;
    if (t.byte_is(i + 1, 'l') && t.byte_is(i + 2, 'l')) return i + 3;
  }
  const std::size_t j = t.byte_is(i, ' ') && !t.is(i + 1, S) && i + 1 < t.size() ? i + 1 : i;
  const std::uint16_t cls = t.at(j).cls;
  if (cls & L) return t.run(j, L);
  if (cls & N) return t.run(j, N);
  if (!(cls & S)) return t.run_not(j, S | L | N);
  return t.whitespace(i, false, false);
}

inline std::size_t match_cl100k(const Text& t, std::size_t i, bool to_end, int digits) noexcept {
  if (const std::size_t e = t.contraction(i, true)) return e;
  const Char c = t.at(i);
  if (c.cls & L) return t.run(i, L);
  if (!(c.cls & (CRLF | L | N)) && t.is(i + c.length, L)) return t.run(i + c.length, L);
  if (c.cls & N) return t.run_at_most(i, N, digits);
  const std::size_t j = t.byte_is(i, ' ') ? i + 1 : i;
  if (j < t.size() && !(t.at(j).cls & (S | L | N))) return t.run(t.run_not(j, S | L | N), CRLF);
  return t.whitespace(i, true, to_end);
}

// [P]?[U]*[W]+C? then [P]?[U]+[W]*C? (P: not CR/LF/letter/number; U: upper-ish; W:
// lower-ish; C: a contraction), tried with the optional character first, then without.
inline std::size_t match_o200k(const Text& t, std::size_t i) noexcept {
  const Char c = t.at(i);
  const bool can_prefix = !(c.cls & (CRLF | L | N));
  auto with_contraction = [&](std::size_t e) {
    const std::size_t k = t.contraction(e, true);
    return k ? k : e;
  };
  auto lower_word = [&](std::size_t s) -> std::size_t {  // [U]*[W]+C? at s, or 0
    const std::size_t upper_end = t.run(s, UPPERISH);
    // Backtracking [U]* gives characters back until [W]+ can start: the last W in the run.
    if (t.is(upper_end, LOWERISH)) return with_contraction(t.run(upper_end, LOWERISH));
    std::size_t last_lower = std::string_view::npos;
    for (std::size_t p = s; p < upper_end;) {
      const Char x = t.at(p);
      if (x.cls & LOWERISH) last_lower = p;
      p += x.length;
    }
    if (last_lower == std::string_view::npos) return 0;
    return with_contraction(last_lower + t.at(last_lower).length);
  };
  auto upper_word = [&](std::size_t s) -> std::size_t {  // [U]+[W]*C? at s, or 0
    if (!t.is(s, UPPERISH)) return 0;
    return with_contraction(t.run(t.run(s, UPPERISH), LOWERISH));
  };
  if (can_prefix && c.length)
    if (const std::size_t e = lower_word(i + c.length)) return e;
  if (const std::size_t e = lower_word(i)) return e;
  if (can_prefix && c.length)
    if (const std::size_t e = upper_word(i + c.length)) return e;
  if (const std::size_t e = upper_word(i)) return e;
  if (c.cls & N) return t.run_at_most(i, N, 3);
  const std::size_t j = t.byte_is(i, ' ') ? i + 1 : i;
  if (j < t.size() && !(t.at(j).cls & (S | L | N))) return t.run(t.run_not(j, S | L | N), CRLF | SLASH);
  return t.whitespace(i, true, false);
}

}  // namespace detail::split

// Calls visit(begin, end) for each piece of `text`, in order; the pieces tile the text.
// `digits` is the longest \p{N} run of the cl100k patterns (3; 1 for Qwen2's).
template <class Visit>
void split_by_pattern(SplitPattern pattern, std::string_view text, Visit&& visit, int digits = 3) {
  using namespace detail::split;
  const Text t(text);
  for (std::size_t i = 0; i < text.size();) {
    std::size_t end = 0;
    switch (pattern) {
      case SplitPattern::gpt2: end = match_gpt2(t, i); break;
      case SplitPattern::cl100k: end = match_cl100k(t, i, true, digits); break;
      case SplitPattern::cl100k_2023: end = match_cl100k(t, i, false, digits); break;
      case SplitPattern::o200k: end = match_o200k(t, i); break;
    }
    if (end <= i) end = i + t.at(i).length;  // every character belongs to some alternative; never stall
    visit(i, end);
    i = end;
  }
}

}  // namespace mmm
