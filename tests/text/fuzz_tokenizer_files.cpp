// libFuzzer target: arbitrary bytes as a tokenizer.json (byte-level BPE), as a BERT
// vocab.txt and as a word vocabulary file. Loading either succeeds or throws mmm::Error; a loaded tokenizer must
// encode and decode without crashing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/preprocess/text/bpe.hpp"
#include "mmm/preprocess/text/vocabulary.hpp"
#include "mmm/preprocess/text/wordpiece.hpp"

namespace {
constexpr std::string_view texts[] = {"Hello world's  big\n\nday 123!?", "Grüße, 世界 😀 \xff\xc3", "", "unaffable"};

template <class Tokenizer>
void exercise(const Tokenizer& t) {
  for (std::string_view text : texts) {
    const auto ids = t.encode(text);
    const mmm::Encoding e = t.encode_with_offsets(text);
    if (e.ids != ids) __builtin_trap();
    (void)t.decode(ids);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    exercise(mmm::ByteLevelBpe::from_tokenizer_json(bytes, "fuzz.json"));
  } catch (const mmm::Error&) {
  }
  try {
    exercise(mmm::WordPiece::from_text(bytes, "fuzz.txt"));
  } catch (const mmm::Error&) {
  }
  try {
    exercise(mmm::Vocabulary::from_text(bytes, "fuzz.txt", mmm::Vocabulary::Unit::word));
  } catch (const mmm::Error&) {
  }
  return 0;
}
