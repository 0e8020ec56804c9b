// Tokenizers encode into a caller's vector without allocating once warm: every operator
// new in this program is counted, and re-encoding texts already seen must not add to it.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "mmm/preprocess/text.hpp"

#include "support/allocation_counter.hpp"

namespace {
const std::string seeds = MMM_TEXT_FUZZ_DIR;
const std::vector<std::string> texts{
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "  Grüße aus München — Καλημέρα σας, τι κάνετε σήμερα; 我爱北京天安门。 😀 <sep> AB",
    "unaffable\xff\xc3 ab",
    std::string(300, 'x') + "thethe the",  // long pieces take the heap paths
    ""};

template <class Tokenizer>
long allocations_when_warm(const Tokenizer& t) {
  std::vector<std::int32_t> ids;
  for (const auto& s : texts) t.encode(s, ids);
  {
    // The counter works: a fresh vector allocates.
    const long probe = mmm::test::allocations();
    std::vector<std::int32_t> fresh;
    t.encode(texts[0], fresh);
    REQUIRE(mmm::test::allocations() > probe);
  }
  const long before = mmm::test::allocations();
  std::size_t total = 0;
  for (int round = 0; round < 3; ++round)
    for (const auto& s : texts) {
      t.encode(s, ids);
      total += ids.size();
    }
  const long after = mmm::test::allocations();
  CHECK(total > 0);
  return after - before;
}
}  // namespace

TEST_CASE("Tokenizers do not allocate when encoding into a reused vector", "[text][allocations]") {
  for (const char* model : {"/sentencepiece/unigram.model", "/sentencepiece/bpe.model"}) {
    INFO(model);
    CHECK(allocations_when_warm(mmm::SentencePiece::load(seeds + model)) == 0);
  }
  CHECK(allocations_when_warm(mmm::ByteLevelBpe::load_tokenizer_json(seeds + "/tokenizer_json/gpt2_tiny.json")) == 0);
  CHECK(allocations_when_warm(mmm::WordPiece::load(seeds + "/tokenizer_json/vocab.txt")) == 0);
  for (mmm::SplitPattern p : {mmm::SplitPattern::gpt2, mmm::SplitPattern::cl100k, mmm::SplitPattern::o200k}) {
    INFO("tiktoken pattern " << int(p));
    CHECK(allocations_when_warm(mmm::Tiktoken::load(seeds + "/tiktoken/tiny.tiktoken", p, {{"<sep>", 300}})) == 0);
  }
  // Every tokenizer.json pipeline of the fuzz seeds: normalizers, pre-tokenizers, models.
  for (const char* file : {"roberta", "llama3", "o200k", "bert", "char_bpe", "word_level", "unigram", "llama2"}) {
    INFO("tokenizer.json " << file);
    CHECK(allocations_when_warm(mmm::HfTokenizer::load(seeds + "/hf_tokenizer/" + file + ".json")) == 0);
  }
  const std::vector<std::string_view> corpus(texts.begin(), texts.end());
  CHECK(allocations_when_warm(mmm::Vocabulary::build(corpus, mmm::Vocabulary::Unit::character)) == 0);
}
