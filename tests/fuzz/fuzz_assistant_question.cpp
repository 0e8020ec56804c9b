// libFuzzer target: a question for the multimodal assistant (examples/assistant/question.hpp),
// the bytes as the user's text, split into words and looked up in the shipped model's
// vocabulary (the metadata of examples/assistant/assistant.safetensors; the model itself is
// not needed to read a question). The words are non-empty, lower case, without spaces, and
// end in one "?"; a question gives 2 to 12 ids of real words ending in "?"'s (never a
// special) or a RangeError; written back as its vocabulary's words it reads as the same ids.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "../../examples/assistant/question.hpp"
#include "mmm/io/safetensors.hpp"

namespace {

assistant::QuestionReader& shipped() {
  static const std::string path =
      (std::filesystem::path(__FILE__).parent_path() / "../../examples/assistant/assistant.safetensors").string();
  static assistant::QuestionReader reader(mmm::SafeTensors(path).metadata_strings("vocabulary"), path);
  return reader;
}

// The ids, or an empty list when the question is refused (with a RangeError, nothing else).
std::vector<std::int32_t> read(std::string_view question) {
  try {
    return shipped().ids(question);
  } catch (const mmm::RangeError&) {
    return {};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view question(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> words = assistant::question_words(question);
  if (words.empty() || words.back() != "?" || (words.size() > 1 && words[words.size() - 2] == "?")) __builtin_trap();
  for (const std::string& w : words) {
    if (w.empty()) __builtin_trap();
    for (char c : w)
      if (std::isspace(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c))) __builtin_trap();
  }

  const std::vector<std::int32_t> ids = read(question);
  if (ids.empty()) return 0;
  const mmm::Vocabulary& vocabulary = shipped().vocabulary();
  if (ids.size() < 2 || static_cast<mmm::index>(ids.size()) > assistant::max_question || ids.back() != vocabulary.find("?"))
    __builtin_trap();
  std::string written;
  for (std::int32_t id : ids) {
    if (id <= vocabulary.unk_id() || static_cast<std::size_t>(id) >= vocabulary.size()) __builtin_trap();
    written += (written.empty() ? "" : " ") + vocabulary.token(id);
  }
  if (read(written) != ids) __builtin_trap();
  return 0;
}
