// libFuzzer target: arbitrary bytes as a .tiktoken rank file (with special tokens, in each
// pre-tokenizer pattern), and as text encoded by a tiny rank file. Loading succeeds or
// throws mmm::Error; a loaded encoding must encode, round-trip its bytes and decode.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mmm/preprocess/text/tiktoken.hpp"

namespace {
constexpr std::string_view texts[] = {"Hello world's  big\n\nday 123!?<|endoftext|>", "Grüße, 世界 😀 \xff\xc3 'ſ", "",
                                      "thethethe   \n  ", "<|endoftext|><|fim_prefix|>x"};

void exercise(const mmm::Tiktoken& t, std::string_view text) {
  const auto ids = t.encode(text);
  if (t.decode_bytes(ids) != text) __builtin_trap();
  const auto with_specials = t.encode(text, mmm::AllowedSpecial::all());
  const mmm::Encoding e = t.encode_with_offsets(text, mmm::AllowedSpecial::all());
  if (e.ids != with_specials) __builtin_trap();
  (void)t.decode(with_specials);
}

const mmm::Tiktoken& tiny() {
  static const mmm::Tiktoken t = [] {
    std::string ranks;
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int b = 0; b < 256; ++b) ranks += std::string{a[b >> 2], a[(b & 3) << 4], '=', '='} + " " + std::to_string(b) + "\n";
    ranks += "dGg= 256\ndGhl 257\nIHQ= 258\n";
    return mmm::Tiktoken::from_text(ranks, "tiny", mmm::SplitPattern::o200k, {{"<|endoftext|>", 300}});
  }();
  return t;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  exercise(tiny(), bytes);
  for (mmm::SplitPattern p : {mmm::SplitPattern::gpt2, mmm::SplitPattern::cl100k, mmm::SplitPattern::cl100k_2023,
                              mmm::SplitPattern::o200k}) {
    try {
      const mmm::Tiktoken t = mmm::Tiktoken::from_text(bytes, "fuzz.tiktoken", p, {{"<|endoftext|>", 100257}, {"<|x|>", 5}});
      for (std::string_view text : texts) exercise(t, text);
    } catch (const mmm::Error&) {
    }
  }
  return 0;
}
