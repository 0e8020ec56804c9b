// Tokenizers encode into a caller's vector without allocating once warm: every operator
// new in this program is counted, and re-encoding texts already seen must not add to it.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "mmm/preprocess/text.hpp"

// Under AddressSanitizer, memory from ASan's own operator new (allocated before this
// program's replacement is bound) would reach the replaced delete; count only without it.
#if defined(__SANITIZE_ADDRESS__)
#define MMM_COUNT_ALLOCATIONS 0
#else
#define MMM_COUNT_ALLOCATIONS 1
#endif

namespace {
std::atomic<long> allocations{0};

[[maybe_unused]] void* counted(std::size_t n, std::size_t align) {
  ++allocations;
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) p = std::malloc(n ? n : 1);
  else if (posix_memalign(&p, align, n ? n : align) != 0) p = nullptr;
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

#if MMM_COUNT_ALLOCATIONS
void* operator new(std::size_t n) { return counted(n, 0); }
void* operator new[](std::size_t n) { return counted(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return counted(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted(n, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif

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
  if (MMM_COUNT_ALLOCATIONS) {
    // The counter works: a fresh vector allocates.
    const long probe = allocations.load();
    std::vector<std::int32_t> fresh;
    t.encode(texts[0], fresh);
    REQUIRE(allocations.load() > probe);
  }
  const long before = allocations.load();
  std::size_t total = 0;
  for (int round = 0; round < 3; ++round)
    for (const auto& s : texts) {
      t.encode(s, ids);
      total += ids.size();
    }
  const long after = allocations.load();
  CHECK(total > 0);
  return after - before;
}
}  // namespace

TEST_CASE("Tokenizers do not allocate when encoding into a reused vector", "[text][allocations]") {
  if (!MMM_COUNT_ALLOCATIONS) WARN("allocations are not counted under AddressSanitizer");
  for (const char* model : {"/sentencepiece/unigram.model", "/sentencepiece/bpe.model"}) {
    INFO(model);
    CHECK(allocations_when_warm(mmm::SentencePiece::load(seeds + model)) == 0);
  }
  CHECK(allocations_when_warm(mmm::ByteLevelBpe::load_tokenizer_json(seeds + "/tokenizer_json/gpt2_tiny.json")) == 0);
  CHECK(allocations_when_warm(mmm::WordPiece::load(seeds + "/tokenizer_json/vocab.txt")) == 0);
  const std::vector<std::string_view> corpus(texts.begin(), texts.end());
  CHECK(allocations_when_warm(mmm::Vocabulary::build(corpus, mmm::Vocabulary::Unit::character)) == 0);
}
