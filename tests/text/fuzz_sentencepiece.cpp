// libFuzzer target: arbitrary bytes as a SentencePiece .model. Parsing either succeeds
// or throws mmm::Error; a parsed model must encode and decode any text without crashing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/preprocess/text/sentencepiece.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const mmm::SentencePiece sp = mmm::SentencePiece::from_bytes(bytes, "fuzz.model");
    for (std::string_view text : {std::string_view("Hello  wörld, ΑΒΓ Ω <sep> 東京 😀"), std::string_view("\xff\xc3 a\xe2\x82"),
                                  std::string_view(""), std::string_view("   "), bytes.substr(0, 64)}) {
      const auto ids = sp.encode(text);
      const mmm::Encoding e = sp.encode_with_offsets(text);
      if (e.ids != ids) __builtin_trap();
      for (const auto& span : e.offsets)
        if (span.begin > span.end || span.end > text.size()) __builtin_trap();
      (void)sp.decode(ids);
    }
    std::vector<std::int32_t> all;
    for (std::size_t i = 0; i < sp.size() && i < 300; ++i) all.push_back(static_cast<std::int32_t>(i));
    (void)sp.decode(all);
  } catch (const mmm::Error&) {
  }
  return 0;
}
