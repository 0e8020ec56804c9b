// libFuzzer target: GPT-2's two files, vocab.json and merges.txt, as the bytes before and
// after the first NUL (JSON has none). Loading either succeeds or throws mmm::Error; a
// loaded tokenizer encodes any bytes to ids that decode back to those bytes (sanitized as
// Python's errors="replace"), with offsets that tile the input, on both merge paths (the
// scan for pre-tokens up to 48 bytes, the heap beyond).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/preprocess/text/bpe.hpp"

namespace {
void exercise(const mmm::ByteLevelBpe& bpe, std::string_view text) {
  const auto ids = bpe.encode(text);
  const mmm::Encoding e = bpe.encode_with_offsets(text);
  if (e.ids != ids) __builtin_trap();
  std::uint32_t at = 0;
  for (const auto& span : e.offsets) {
    if (span.begin != at || span.end < span.begin || span.end > text.size()) __builtin_trap();
    at = span.end;
  }
  if (at != text.size()) __builtin_trap();
  if (bpe.decode(ids) != mmm::utf8::sanitize_maximal(text)) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::size_t split = bytes.find('\0');
  const std::string_view vocab = bytes.substr(0, split);
  const std::string_view merges = split == std::string_view::npos ? std::string_view() : bytes.substr(split + 1);
  try {
    const mmm::ByteLevelBpe bpe = mmm::ByteLevelBpe::from_vocab_and_merges(vocab, merges, "fuzz vocab.json", "fuzz merges.txt");
    for (std::string_view text : {std::string_view("Hello world's  big\n\nday 123!?"), std::string_view("Grüße, 世界 😀 \xff\xc3"),
                                  std::string_view(""), std::string_view(" ")})
      exercise(bpe, text);
    // Long pre-tokens take the heap path: runs of every vocabulary byte, odd and even.
    std::string run;
    for (int b : {int('l'), int('e'), int('a'), int('t'), int(' '), int('x'), 0xC3})
      for (int n : {49, 50, 97}) exercise(bpe, run.assign(static_cast<std::size_t>(n), static_cast<char>(b)));
    exercise(bpe, merges.substr(0, 300));
    std::vector<std::int32_t> all;
    for (std::size_t i = 0; i < bpe.size() && i < 500; ++i) all.push_back(static_cast<std::int32_t>(i));
    (void)bpe.decode(all);
    const std::int32_t past[] = {static_cast<std::int32_t>(bpe.size())};
    try {
      (void)bpe.decode(past);
      __builtin_trap();  // an id past the vocabulary must be refused
    } catch (const mmm::RangeError&) {
    }
  } catch (const mmm::Error&) {
  }
  return 0;
}
