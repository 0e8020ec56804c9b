#pragma once
// UTF-8 decoding with the replacement semantics every tokenizer here shares: a byte that
// does not start a well-formed sequence (stray continuation byte, truncated sequence,
// overlong form, surrogate, code point past U+10FFFF) decodes as U+FFFD and consumes
// exactly one byte, as SentencePiece's DecodeUTF8 and Python's errors="replace" per byte.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mmm::utf8 {

inline constexpr char32_t replacement_char = 0xFFFD;
inline constexpr std::string_view replacement_utf8 = "\xEF\xBF\xBD";

struct Decoded {
  char32_t code = 0;  // U+FFFD when invalid
  int length = 1;     // bytes consumed, 1..4 (1 when invalid)
  bool valid = true;
};

// Length the lead byte announces, without validation (SentencePiece's OneCharLen).
constexpr int lead_length(unsigned char lead) noexcept {
  constexpr unsigned char table[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return table[lead >> 4];
}

constexpr bool is_trail(unsigned char c) noexcept { return (c & 0xC0) == 0x80; }
constexpr bool is_scalar(char32_t c) noexcept { return c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF); }

// Decodes the character at p (p < end).
constexpr Decoded decode(const char* p, const char* end) noexcept {
  const auto b0 = static_cast<unsigned char>(p[0]);
  const std::ptrdiff_t left = end - p;
  if (b0 < 0x80) return {b0, 1, true};
  if (left >= 2 && (b0 & 0xE0) == 0xC0) {
    const auto b1 = static_cast<unsigned char>(p[1]);
    const char32_t c = (char32_t(b0 & 0x1F) << 6) | (b1 & 0x3F);
    if (is_trail(b1) && c >= 0x80) return {c, 2, true};
  } else if (left >= 3 && (b0 & 0xF0) == 0xE0) {
    const auto b1 = static_cast<unsigned char>(p[1]), b2 = static_cast<unsigned char>(p[2]);
    const char32_t c = (char32_t(b0 & 0x0F) << 12) | (char32_t(b1 & 0x3F) << 6) | (b2 & 0x3F);
    if (is_trail(b1) && is_trail(b2) && c >= 0x800 && is_scalar(c)) return {c, 3, true};
  } else if (left >= 4 && (b0 & 0xF8) == 0xF0) {
    const auto b1 = static_cast<unsigned char>(p[1]), b2 = static_cast<unsigned char>(p[2]),
               b3 = static_cast<unsigned char>(p[3]);
    const char32_t c = (char32_t(b0 & 0x07) << 18) | (char32_t(b1 & 0x3F) << 12) | (char32_t(b2 & 0x3F) << 6) |
                       (b3 & 0x3F);
    if (is_trail(b1) && is_trail(b2) && is_trail(b3) && c >= 0x10000 && is_scalar(c)) return {c, 4, true};
  }
  return {replacement_char, 1, false};
}

inline Decoded decode(std::string_view s, std::size_t pos) noexcept {
  return decode(s.data() + pos, s.data() + s.size());
}

inline bool is_valid(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const Decoded d = decode(s, i);
    if (!d.valid) return false;
    i += static_cast<std::size_t>(d.length);
  }
  return true;
}

inline void append(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// The input with every invalid byte replaced by U+FFFD.
inline std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const Decoded d = decode(s, i);
    if (d.valid)
      out.append(s.substr(i, static_cast<std::size_t>(d.length)));
    else
      out.append(replacement_utf8);
    i += static_cast<std::size_t>(d.length);
  }
  return out;
}

// Python's errors="replace" (and the WHATWG decoder's): one U+FFFD per maximal ill-formed
// subsequence, so that a truncated but well-begun sequence is one replacement.
inline std::string sanitize_maximal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const Decoded d = decode(s, i);
    if (d.valid) {
      out.append(s.substr(i, static_cast<std::size_t>(d.length)));
      i += static_cast<std::size_t>(d.length);
      continue;
    }
    const auto lead = static_cast<unsigned char>(s[i]);
    const std::size_t need = lead >= 0xC2 && lead <= 0xDF ? 1 : lead >= 0xE0 && lead <= 0xEF ? 2 : lead >= 0xF0 && lead <= 0xF4 ? 3 : 0;
    std::size_t k = 1;
    for (std::size_t j = 1; j <= need && i + j < s.size(); ++j) {
      const auto c = static_cast<unsigned char>(s[i + j]);
      unsigned char lo = 0x80, hi = 0xBF;
      if (j == 1) {
        if (lead == 0xE0) lo = 0xA0;
        if (lead == 0xED) hi = 0x9F;
        if (lead == 0xF0) lo = 0x90;
        if (lead == 0xF4) hi = 0x8F;
      }
      if (c < lo || c > hi) break;
      k = j + 1;
    }
    out.append(replacement_utf8);
    i += k;
  }
  return out;
}

}  // namespace mmm::utf8
