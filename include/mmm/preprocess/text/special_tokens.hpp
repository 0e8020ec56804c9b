#pragma once
// Special tokens inside the text (<|endoftext|>, <|fim_prefix|>, added tokens): which ones a
// call lets through as their ids, and finding them. A special token that is not allowed is
// ordinary text and goes through the pre-tokenizer and BPE like any other characters —
// tiktoken's encode(text, allowed_special=..., disallowed_special=()). Where two specials
// start at the same place, the longest wins.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace mmm {

// The specials an encode call splits out of the text: none (the default), all, or some by
// their text.
class AllowedSpecial {
 public:
  AllowedSpecial() = default;
  AllowedSpecial(std::initializer_list<std::string_view> names) : names_(names.begin(), names.end()) {}
  explicit AllowedSpecial(std::vector<std::string> names) : names_(std::move(names)) {}
  static AllowedSpecial all() {
    AllowedSpecial a;
    a.all_ = true;
    return a;
  }
  static AllowedSpecial none() { return {}; }

  bool allows(std::string_view token) const noexcept {
    return all_ || std::find(names_.begin(), names_.end(), token) != names_.end();
  }
  bool allows_any() const noexcept { return all_ || !names_.empty(); }

 private:
  std::vector<std::string> names_;
  bool all_ = false;
};

struct SpecialToken {
  std::string text;
  std::int32_t id = -1;
};

namespace detail {

// The special tokens of a tokenizer, bucketed by first byte, longest first.
class SpecialTokenSet {
 public:
  struct Match {
    std::size_t begin = std::string_view::npos, end = 0;
    std::int32_t id = -1;
  };

  void add(std::string text, std::int32_t id) {
    tokens_.push_back({std::move(text), id});
    std::stable_sort(tokens_.begin(), tokens_.end(), [](const SpecialToken& a, const SpecialToken& b) {
      return a.text.size() > b.text.size();
    });
    first_.fill(false);
    for (const SpecialToken& t : tokens_) first_[static_cast<unsigned char>(t.text[0])] = true;
  }
  const std::vector<SpecialToken>& tokens() const noexcept { return tokens_; }
  bool empty() const noexcept { return tokens_.empty(); }
  // The id of a special given by its text, or -1.
  std::int32_t find(std::string_view text) const noexcept {
    for (const SpecialToken& t : tokens_)
      if (t.text == text) return t.id;
    return -1;
  }

  // The first allowed special in text at or after `from` (begin == npos when none).
  Match next(std::string_view text, std::size_t from, const AllowedSpecial& allowed) const noexcept {
    if (tokens_.empty() || !allowed.allows_any()) return {};
    for (std::size_t i = from; i < text.size(); ++i) {
      if (!first_[static_cast<unsigned char>(text[i])]) continue;
      for (const SpecialToken& t : tokens_)
        if (text.size() - i >= t.text.size() && std::memcmp(text.data() + i, t.text.data(), t.text.size()) == 0 &&
            allowed.allows(t.text))
          return {i, i + t.text.size(), t.id};
    }
    return {};
  }

  // Calls ordinary(begin, end) for each stretch of text between allowed specials and
  // special(id, begin, end) for each special, in order.
  template <class Ordinary, class Special>
  void split(std::string_view text, const AllowedSpecial& allowed, Ordinary&& ordinary, Special&& special) const {
    std::size_t at = 0;
    for (;;) {
      const Match m = next(text, at, allowed);
      const std::size_t end = m.begin == std::string_view::npos ? text.size() : m.begin;
      if (end > at) ordinary(at, end);
      if (m.begin == std::string_view::npos) return;
      special(m.id, m.begin, m.end);
      at = m.end;
    }
  }

 private:
  std::vector<SpecialToken> tokens_;
  std::array<bool, 256> first_{};
};

}  // namespace detail
}  // namespace mmm
