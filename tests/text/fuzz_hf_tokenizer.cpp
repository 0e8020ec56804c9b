// libFuzzer target: arbitrary bytes as a Hugging Face tokenizer.json (every pipeline piece
// HfTokenizer reads). Loading succeeds or throws mmm::Error; a loaded tokenizer must encode
// (with and without special tokens, specials as text) and decode, or throw mmm::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mmm/preprocess/text/hf_tokenizer.hpp"

namespace {
constexpr std::string_view texts[] = {"Hello world's  big\n\nday 123!?", "Grüße, 世界 😀 \xff\xc3 x-y @user hello",
                                      "", " <s>a</s>  [CLS] <mask>  ", "ＦＵＬＬ ﬁ ǅ Ⅻ \xe2\x80\x8b\t\r\n"};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const mmm::HfTokenizer t = mmm::HfTokenizer::from_json(bytes, "fuzz.json");
    for (std::string_view text : texts) {
      try {
        const mmm::Encoding e = t.encode_with_offsets(text);
        if (e.ids != t.encode(text)) __builtin_trap();
        for (const auto& o : e.offsets)
          if (o.begin > o.end || o.end > text.size()) __builtin_trap();
        (void)t.encode(text, mmm::HfEncodeOptions{.add_special_tokens = false, .special_tokens_as_text = true});
        (void)t.decode(e.ids);
        (void)t.decode(e.ids, true);
      } catch (const mmm::Error&) {
      }
    }
  } catch (const mmm::Error&) {
  }
  return 0;
}
