#pragma once
// A JSON number's text read to a double the way Hugging Face's `tokenizers` reads
// tokenizer.json: with serde_json built without its `float_roundtrip` feature (the library
// does not ask for it; npm `tokenizers` 0.23.2 behaves so). That reading is not the nearest
// double: the decimal digits are gathered into a u64 as long as they fit (later ones are
// dropped, integer ones only raise the exponent), the u64 becomes a double, and that is
// multiplied or divided by the double nearest 10^|exponent| (10^308 repeatedly past it):
// two roundings, so a score written with 17 digits often lands one ulp from the nearest
// double (1,178 of the 4,000 scores of a SentencePiece vocabulary the oracle made).
//
// It matters for Unigram: paths through the same pieces in a different order sum their
// scores in a different order, their totals tie or not by the last bit, and the Viterbi
// keeps the first of equal paths, so one ulp in a score moves a piece (a run of 27 '!'
// segmented with the single '!' second in the library, last with the nearest doubles).
//
// `number` is a token the JSON lexer accepted (-?digits[.digits][(e|E)[+-]digits]). A
// number too large for the library (it says "number out of range") reads as infinity.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

namespace mmm::detail::hf {

inline double serde_json_number(std::string_view number) {
  // The library's table: each 10^n as the compiler rounds the literal, i.e. to nearest.
  static const std::array<double, 309> pow10 = [] {
    std::array<double, 309> p{};
    for (std::size_t n = 0; n < p.size(); ++n) p[n] = std::strtod(("1e" + std::to_string(n)).c_str(), nullptr);
    return p;
  }();
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  constexpr double infinity = std::numeric_limits<double>::infinity();
  auto fits = [&](std::uint64_t s, unsigned digit) { return s < max / 10 || (s == max / 10 && digit <= max % 10); };
  std::size_t i = 0;
  auto at_digit = [&] { return i < number.size() && number[i] >= '0' && number[i] <= '9'; };
  auto digit = [&] { return static_cast<unsigned>(number[i] - '0'); };

  const bool negative = i < number.size() && number[i] == '-';
  if (negative) ++i;
  std::uint64_t significand = 0;
  std::int64_t exponent = 0;
  for (; at_digit() && fits(significand, digit()); ++i) significand = significand * 10 + digit();
  for (; at_digit(); ++i) ++exponent;  // integer digits past the u64
  if (i < number.size() && number[i] == '.') {
    // The fraction resumes gathering even after the integer part overflowed, as the library does.
    for (++i; at_digit() && fits(significand, digit()); ++i) significand = significand * 10 + digit(), --exponent;
    while (at_digit()) ++i;
  }
  if (i < number.size() && (number[i] == 'e' || number[i] == 'E')) {
    ++i;
    bool negative_exponent = false;
    if (i < number.size() && (number[i] == '+' || number[i] == '-')) negative_exponent = number[i++] == '-';
    std::int64_t e = 0;
    constexpr std::int64_t i32_max = std::numeric_limits<std::int32_t>::max();
    for (; at_digit(); ++i) {
      if (e > (i32_max - digit()) / 10) {  // the library gives up on the exponent here
        if (significand != 0 && !negative_exponent) return infinity;
        return negative ? -0.0 : 0.0;
      }
      e = e * 10 + digit();
    }
    exponent += negative_exponent ? -e : e;
  }
  exponent = std::max<std::int64_t>(exponent, std::numeric_limits<std::int32_t>::min());  // saturating, as in i32
  exponent = std::min<std::int64_t>(exponent, std::numeric_limits<std::int32_t>::max());

  double f = static_cast<double>(significand);
  for (;;) {
    const std::int64_t magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude <= 308) {
      if (exponent >= 0) f *= pow10[static_cast<std::size_t>(magnitude)];
      else f /= pow10[static_cast<std::size_t>(magnitude)];
      break;
    }
    if (f == 0.0) break;
    if (exponent >= 0) return infinity;
    f /= 1e308;
    exponent += 308;
  }
  return negative ? -f : f;
}

}  // namespace mmm::detail::hf
