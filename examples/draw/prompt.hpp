#pragma once
// A prompt as the drawer's token ids: its words looked up in the model's vocabulary (the
// weights' metadata). Apart from the model (draw.hpp) so that what reads a user's text can
// be fuzzed on its own (tests/fuzz/fuzz_draw_prompt.cpp).

#include <cctype>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"

namespace draw {

inline constexpr mmm::index max_words = 64;  // a prompt longer than this is refused (buffers are this long)

// A prompt the model cannot take: a word outside its vocabulary (named in the message),
// no words, too many.
class PromptError : public mmm::RangeError {
 public:
  using mmm::RangeError::RangeError;
};

class PromptReader {
 public:
  PromptReader() = default;
  // The model's vocabulary, id by id; its specials ("<pad>", "<eos>" …) are never words of a prompt.
  explicit PromptReader(std::vector<std::string> words) : words_(std::move(words)) { ids_.reserve(max_words); }

  // The prompt's token ids (a view, valid until the next call). Words are separated by
  // spaces; ',' and '?' are words of their own even when they touch the word before;
  // letters are lowered. An unknown word is a PromptError that names it.
  std::span<const std::int32_t> tokens(std::string_view prompt) {
    ids_.clear();
    std::size_t at = 0, number = 0;
    while (at < prompt.size()) {
      const char c = prompt[at];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++at;
        continue;
      }
      std::size_t end = at + 1;
      if (c != ',' && c != '?')
        while (end < prompt.size() && !std::isspace(static_cast<unsigned char>(prompt[end])) && prompt[end] != ',' &&
               prompt[end] != '?')
          ++end;
      ++number;
      if (static_cast<mmm::index>(ids_.size()) == max_words)
        throw PromptError("draw: the prompt has more than " + std::to_string(max_words) + " words");
      ids_.push_back(id_of(prompt.substr(at, end - at), number));
      at = end;
    }
    if (ids_.empty()) throw PromptError("draw: the prompt has no words (\"" + std::string(prompt) + "\")");
    return {ids_.data(), ids_.size()};
  }

  const std::vector<std::string>& words() const { return words_; }

 private:
  std::int32_t id_of(std::string_view word, std::size_t number) const {
    for (std::size_t i = 0; i < words_.size(); ++i) {
      const std::string& w = words_[i];
      if (w.size() != word.size() || w.empty() || w.front() == '<') continue;  // the specials are not words
      bool same = true;
      for (std::size_t k = 0; k < w.size() && same; ++k)
        same = w[k] == static_cast<char>(std::tolower(static_cast<unsigned char>(word[k])));
      if (same) return static_cast<std::int32_t>(i);
    }
    throw PromptError("draw: the word '" + std::string(word) + "' (word " + std::to_string(number) +
                      " of the prompt) is not in the model's vocabulary: it knows sizes (small, large), colours (red, "
                      "green, blue, yellow, purple), shapes (circle, square, triangle, diamond), 'to the left of', "
                      "'above', ',' and 'and'");
  }

  std::vector<std::string> words_;
  std::vector<std::int32_t> ids_;
};

}  // namespace draw
