#pragma once
// A question as the assistant's word ids: split into words as the model was trained on them
// and looked up in its vocabulary (the weights' metadata). Apart from the model
// (assistant.hpp) so that what reads a user's text can be fuzzed on its own
// (tests/fuzz/fuzz_assistant_question.cpp).

#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/core/tensor.hpp"
#include "mmm/preprocess/text/vocabulary.hpp"

namespace assistant {

inline constexpr mmm::index max_question = 12;  // words, "?" included: the model's learned positions hold no more

// The words of a question as the model was trained on them: lower case, "?" and "," apart
// from the words, and one "?" at the end whether or not the user wrote it.
inline std::vector<std::string> question_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  auto flush = [&] {
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
  };
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isspace(u)) {
      flush();
    } else if (c == '?' || c == ',') {
      flush();
      words.emplace_back(1, c);
    } else {
      word += static_cast<char>(std::tolower(u));
    }
  }
  flush();
  while (!words.empty() && words.back() == "?") words.pop_back();
  words.emplace_back("?");
  return words;
}

class QuestionReader {
 public:
  QuestionReader() = default;
  // The model's vocabulary, id by id: "<pad>", "<bos>", "<eos>", "<unk>", then its words;
  // `path` (the weights file) names it in errors.
  QuestionReader(const std::vector<std::string>& words, const std::string& path) {
    const std::array<const char*, 4> specials{"<pad>", "<bos>", "<eos>", "<unk>"};
    for (std::size_t i = 0; i < specials.size(); ++i)
      if (i >= words.size() || words[i] != specials[i])
        throw mmm::FormatError(path + ": the vocabulary's word " + std::to_string(i) + " is " +
                               (i < words.size() ? "'" + words[i] + "'" : "missing") + ", not " + specials[i]);
    for (std::size_t i = specials.size(); i < words.size(); ++i) {
      if (vocabulary_.find(words[i]) >= 0) throw mmm::FormatError(path + ": the vocabulary has '" + words[i] + "' twice");
      vocabulary_.add(words[i]);
    }
    ids_.reserve(static_cast<std::size_t>(max_question));
  }

  // The word ids of a question (question_words()); a word the model does not know, or a
  // question longer than it was trained on, is a RangeError that says so.
  const std::vector<std::int32_t>& ids(std::string_view question) {
    const std::vector<std::string> words = question_words(question);
    if (words.size() == 1) throw mmm::RangeError("the question has no words");
    if (static_cast<mmm::index>(words.size()) > max_question)
      throw mmm::RangeError("the question has " + std::to_string(words.size()) + " words (with its '?'); the model reads at most " +
                            std::to_string(max_question));
    ids_.clear();
    for (const std::string& w : words) {
      const std::int32_t id = vocabulary_.find(w);
      if (id < 0 || id == vocabulary_.pad_id() || id == vocabulary_.bos_id() || id == vocabulary_.eos_id() ||
          id == vocabulary_.unk_id())
        throw mmm::RangeError("the assistant does not know the word '" + w + "' (it knows: " + known_words() + ")");
      ids_.push_back(id);
    }
    return ids_;
  }

  const mmm::Vocabulary& vocabulary() const { return vocabulary_; }

 private:
  std::string known_words() const {
    std::string out;
    for (std::size_t i = 4; i < vocabulary_.size(); ++i) out += (out.empty() ? "" : " ") + vocabulary_.token(static_cast<std::int32_t>(i));
    return out;
  }

  mmm::Vocabulary vocabulary_;
  std::vector<std::int32_t> ids_;
};

}  // namespace assistant
