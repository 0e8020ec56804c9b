// libFuzzer target: a prompt for the text-to-image example (examples/draw/prompt.hpp), the
// bytes as the user's text, looked up in the shipped model's vocabulary (the metadata of
// examples/draw/draw.safetensors; the model itself is not needed to read a prompt). A
// prompt gives 1 to 64 ids of real words (never a special "<…>") or a PromptError; written
// back as its vocabulary's words it reads as the same ids, and in upper case as well.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "../../examples/draw/prompt.hpp"
#include "mmm/io/safetensors.hpp"

namespace {

const std::vector<std::string>& shipped_words() {
  static const std::vector<std::string> words =
      mmm::SafeTensors((std::filesystem::path(__FILE__).parent_path() / "../../examples/draw/draw.safetensors").string())
          .metadata_strings("vocabulary");
  return words;
}

// The ids, or an empty list when the prompt is refused (with a PromptError, nothing else).
std::vector<std::int32_t> read(draw::PromptReader& reader, std::string_view prompt) {
  try {
    const auto ids = reader.tokens(prompt);
    return {ids.begin(), ids.end()};
  } catch (const draw::PromptError&) {
    return {};
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static draw::PromptReader reader(shipped_words());
  const std::string_view prompt(reinterpret_cast<const char*>(data), size);
  const std::vector<std::int32_t> ids = read(reader, prompt);
  std::string upper(prompt);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (read(reader, upper) != ids) __builtin_trap();
  if (ids.empty()) return 0;
  if (static_cast<mmm::index>(ids.size()) > draw::max_words) __builtin_trap();
  const std::vector<std::string>& words = reader.words();
  std::string written;
  for (std::int32_t id : ids) {
    if (id < 0 || static_cast<std::size_t>(id) >= words.size() || words[static_cast<std::size_t>(id)].front() == '<')
      __builtin_trap();
    written += (written.empty() ? "" : " ") + words[static_cast<std::size_t>(id)];
  }
  if (read(reader, written) != ids) __builtin_trap();
  return 0;
}
