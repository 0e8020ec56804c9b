#pragma once
// The Unicode properties the tokenizers need: GPT-2's \p{L}, \p{N}, \s (as Python's
// `regex` module defines them), BERT's categories (Mn, P*, C*, Zs as `unicodedata` does),
// one-code-point lowercasing, and NFD with nonspacing marks removed (BERT's accent
// stripping). Data: unicode_tables.hpp, generated from Python (Unicode 14; the regex
// properties at the regex module's Unicode 15). Limits: NFD here does not reorder
// combining marks — every reordered mark is Mn and gets stripped anyway.

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>

#include "mmm/preprocess/text/unicode_tables.hpp"

namespace mmm::unicode {

enum Property : std::uint8_t {
  letter = 1,     // regex \p{L}
  number = 2,     // regex \p{N}
  space = 4,      // regex \s
  mark = 8,       // unicodedata Mn
  punct = 16,     // unicodedata P*
  control = 32,   // unicodedata C*
  space_sep = 64  // unicodedata Zs
};

namespace detail {
constexpr std::uint8_t lookup(char32_t c) noexcept {
  const auto* begin = std::begin(tables::category_runs);
  const auto* end = std::end(tables::category_runs);
  // The last run starting at or before c.
  const auto* it = std::upper_bound(begin, end, (static_cast<std::uint32_t>(c) << 8) | 0xFFu);
  return it == begin ? 0 : static_cast<std::uint8_t>(*(it - 1) & 0xFFu);
}
// The value paired with key c in a table of (key, value) pairs sorted by key, or null.
template <std::size_t N>
constexpr const std::uint32_t* find_pair(const std::uint32_t (&table)[N], char32_t c) noexcept {
  std::size_t lo = 0, hi = N / 2;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    if (table[2 * mid] < c) lo = mid + 1;
    else hi = mid;
  }
  return lo < N / 2 && table[2 * lo] == c ? &table[2 * lo + 1] : nullptr;
}
inline constexpr auto latin1 = [] {
  std::array<std::uint8_t, 256> t{};
  for (char32_t c = 0; c < 256; ++c) t[c] = lookup(c);
  return t;
}();
}  // namespace detail

constexpr std::uint8_t properties(char32_t c) noexcept { return c < 256 ? detail::latin1[c] : detail::lookup(c); }
constexpr bool has(char32_t c, Property p) noexcept { return (properties(c) & p) != 0; }

// Python's str.lower() for every code point whose lowercase is one code point; İ (U+0130),
// whose lowercase is two, is handled by append_lower.
constexpr char32_t lower_one(char32_t c) noexcept {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  const std::uint32_t* lower = detail::find_pair(tables::lowercase, c);
  return lower ? static_cast<char32_t>(*lower) : c;
}

template <class Out>
constexpr void append_lower(char32_t c, Out&& out) {
  if (c == 0x130) {
    out(U'i');
    out(char32_t{0x307});
  } else {
    out(lower_one(c));
  }
}

// NFD of c without its nonspacing marks (an Mn code point itself yields nothing).
template <class Out>
constexpr void append_stripped(char32_t c, Out&& out) {
  if (c >= 0xAC00 && c <= 0xD7A3) {  // Hangul syllable → leading, vowel, trailing jamo
    const char32_t s = c - 0xAC00;
    out(char32_t{0x1100} + s / 588);
    out(char32_t{0x1161} + (s % 588) / 28);
    if (s % 28) out(char32_t{0x11A7} + s % 28);
    return;
  }
  if (c >= 0xC0) {
    if (const std::uint32_t* found = detail::find_pair(tables::decomposition_index, c)) {
      const std::uint32_t v = *found;
      for (std::uint32_t i = 0; i < (v & 0xFF); ++i) out(static_cast<char32_t>(tables::decomposition_pool[(v >> 8) + i]));
      return;
    }
  }
  if (!has(c, mark)) out(c);
}

}  // namespace mmm::unicode
