#pragma once
// The Unicode properties the tokenizers need: GPT-2's \p{L}, \p{N}, \s (as Python's
// `regex` module defines them), BERT's categories (Mn, P*, C*, Zs as `unicodedata` does),
// the letter classes of tiktoken's o200k pattern and Hugging Face's pre-tokenizers (\p{Lu}
// \p{Ll} \p{Lt} \p{Lm} \p{Lo} \p{M} \w \p{Nd}), one-code-point lowercasing, NFD with
// nonspacing marks removed (BERT's accent stripping), and the four normalization forms
// (NFD, NFC, NFKD, NFKC). Data: unicode_tables.hpp, generated from Python (unicodedata at
// Unicode 14; the regex properties at the regex module's Unicode 15). Limits:
// append_stripped does not reorder combining marks — every reordered mark is Mn and gets
// stripped anyway; normalize() does.

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

// Finer letter classes (the `regex` module's), a second set of bits.
enum LetterProperty : std::uint8_t {
  upper = 1,         // \p{Lu}
  lower = 2,         // \p{Ll}
  title = 4,         // \p{Lt}
  modifier = 8,      // \p{Lm}
  other_letter = 16, // \p{Lo}
  any_mark = 32,     // \p{M} (Mn, Mc, Me)
  word = 64,         // \w: alphabetic, marks, decimal digits, connector punctuation, joiners
  decimal = 128      // \p{Nd}
};

// Cased and Case_Ignorable (Unicode's derived properties), which str.lower() consults to
// lower a word-final Σ to ς.
enum CaseProperty : std::uint8_t {
  cased = 1,
  case_ignorable = 2  // skipped when looking for the cased letters around a Σ
};

namespace detail {
template <std::size_t N>
constexpr std::uint8_t lookup_runs(const std::uint32_t (&runs)[N], char32_t c) noexcept {
  // The last run starting at or before c.
  const auto* it = std::upper_bound(std::begin(runs), std::end(runs), (static_cast<std::uint32_t>(c) << 8) | 0xFFu);
  return it == std::begin(runs) ? 0 : static_cast<std::uint8_t>(*(it - 1) & 0xFFu);
}
constexpr std::uint8_t lookup(char32_t c) noexcept { return lookup_runs(tables::category_runs, c); }
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
inline constexpr auto latin1_letters = [] {
  std::array<std::uint8_t, 256> t{};
  for (char32_t c = 0; c < 256; ++c) t[c] = lookup_runs(tables::letter_runs, c);
  return t;
}();
inline constexpr auto latin1_case = [] {
  std::array<std::uint8_t, 256> t{};
  for (char32_t c = 0; c < 256; ++c) t[c] = lookup_runs(tables::case_runs, c);
  return t;
}();
}  // namespace detail

constexpr std::uint8_t properties(char32_t c) noexcept { return c < 256 ? detail::latin1[c] : detail::lookup(c); }
constexpr bool has(char32_t c, Property p) noexcept { return (properties(c) & p) != 0; }
constexpr std::uint8_t letter_properties(char32_t c) noexcept {
  return c < 256 ? detail::latin1_letters[c] : detail::lookup_runs(tables::letter_runs, c);
}
constexpr bool has(char32_t c, LetterProperty p) noexcept { return (letter_properties(c) & p) != 0; }
constexpr std::uint8_t case_properties(char32_t c) noexcept {
  return c < 256 ? detail::latin1_case[c] : detail::lookup_runs(tables::case_runs, c);
}
constexpr bool has(char32_t c, CaseProperty p) noexcept { return (case_properties(c) & p) != 0; }

// Python's str.lower() for every code point whose lowercase is one code point; İ (U+0130),
// whose lowercase is two, is handled by append_lower; Σ (U+03A3) lowers to σ here, and to ς
// at the end of a word (str.lower()'s Final_Sigma rule) only where the caller knows the
// word: see WordPiece.
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

// ---- normalization forms (UAX #15) ---------------------------------------------------

constexpr std::uint8_t combining_class(char32_t c) noexcept {
  if (c < 0x300) return 0;
  const auto* begin = std::begin(tables::combining_class);
  const auto* end = std::end(tables::combining_class);
  const auto* it = std::lower_bound(begin, end, static_cast<std::uint32_t>(c) << 8);
  return it != end && (*it >> 8) == c ? static_cast<std::uint8_t>(*it & 0xFFu) : 0;
}

namespace hangul {
inline constexpr char32_t s_base = 0xAC00, l_base = 0x1100, v_base = 0x1161, t_base = 0x11A7;
inline constexpr char32_t l_count = 19, v_count = 21, t_count = 28, n_count = v_count * t_count, s_count = l_count * n_count;
}  // namespace hangul

// The full decomposition of c (canonical, or with `compatibility` the NFKD one), in
// canonical order for c alone; c itself when it has none.
template <class Out>
constexpr void decompose(char32_t c, bool compatibility, Out&& out) {
  using namespace hangul;
  if (c >= s_base && c < s_base + s_count) {
    const char32_t s = c - s_base;
    out(l_base + s / n_count);
    out(v_base + (s % n_count) / t_count);
    if (s % t_count) out(t_base + s % t_count);
    return;
  }
  if (c >= 0xA0) {
    const std::uint32_t* found = compatibility ? detail::find_pair(tables::nfkd_index, c) : nullptr;
    const std::uint32_t* pool = tables::nfkd_pool;
    if (!found) found = detail::find_pair(tables::nfd_index, c), pool = tables::nfd_pool;
    if (found) {
      for (std::uint32_t i = 0; i < (*found & 0xFF); ++i) out(static_cast<char32_t>(pool[(*found >> 8) + i]));
      return;
    }
  }
  out(c);
}

// The primary composite of a starter and the next character, or 0 when they do not compose.
constexpr char32_t compose(char32_t a, char32_t b) noexcept {
  using namespace hangul;
  if (a >= l_base && a < l_base + l_count && b >= v_base && b < v_base + v_count)
    return s_base + ((a - l_base) * v_count + (b - v_base)) * t_count;
  if (a >= s_base && a < s_base + s_count && (a - s_base) % t_count == 0 && b > t_base && b < t_base + t_count)
    return a + (b - t_base);
  const std::uint64_t key = (std::uint64_t(a) << 21) | b;
  std::size_t lo = 0, hi = std::size(tables::composition) / 2;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    if (tables::composition[2 * mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo < std::size(tables::composition) / 2 && tables::composition[2 * lo] == key
             ? static_cast<char32_t>(tables::composition[2 * lo + 1])
             : 0;
}

}  // namespace mmm::unicode
