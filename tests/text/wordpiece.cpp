// WordPiece parity with BERT's tokenization.py (transcribed in the oracle): ids and byte
// offsets for uncased and cased tokenization on corpus lines and random Unicode mixes.
#include <catch2/catch.hpp>

#include "mmm/preprocess/text/wordpiece.hpp"
#include "text_test_support.hpp"

using mmm::WordPiece;
using namespace mmm::test;

namespace {
struct Oracle {
  nlohmann::json data;
  WordPiece uncased, cased;
};
const Oracle& oracle() {
  static const Oracle o = [] {
    const std::string dir = oracle_dir();
    Oracle r{read_json(dir + "/wordpiece.json"), WordPiece::load(dir + "/vocab.txt"),
             WordPiece::load(dir + "/vocab.txt", {.lowercase = false})};
    std::printf("wordpiece oracle seed %lld (rerun with MMM_SEED)\n", r.data["seed"].get<long long>());
    return r;
  }();
  return o;
}
}  // namespace

TEST_CASE("WordPiece ids and offsets match BERT's tokenizer", "[text][wordpiece]") {
  const Oracle& o = oracle();
  int checked = 0, wrong = 0, offsets_checked = 0, offsets_wrong = 0;
  for (const auto& c : o.data["cases"]) {
    const std::string text = from_hex(c["text"]);
    const WordPiece& wp = c["lowercase"].get<bool>() ? o.uncased : o.cased;
    const auto expected = c["ids"].get<std::vector<std::int32_t>>();
    const mmm::Encoding e = wp.encode_with_offsets(text);
    ++checked;
    if (e.ids != expected && wrong++ < 5)
      UNSCOPED_INFO((c["lowercase"].get<bool>() ? "uncased" : "cased")
                    << " '" << printable(text) << "'\n  expected " << join(expected) << "\n  got      " << join(e.ids));
    CHECK(wp.encode(text) == e.ids);
    if (!c.contains("offsets")) continue;
    std::vector<std::uint32_t> got, want;
    for (const auto& s : e.offsets) got.insert(got.end(), {s.begin, s.end});
    for (const auto& s : c["offsets"]) want.insert(want.end(), {s[0].get<std::uint32_t>(), s[1].get<std::uint32_t>()});
    ++offsets_checked;
    if (got != want && offsets_wrong++ < 5)
      UNSCOPED_INFO("offsets of '" << printable(text) << "'\n  expected " << join(want) << "\n  got      " << join(got));
  }
  INFO(wrong << " of " << checked << " encodings and " << offsets_wrong << " of " << offsets_checked << " offset lists differ");
  CHECK(wrong == 0);
  CHECK(offsets_wrong == 0);
  CHECK(checked > 1000);
}

TEST_CASE("WordPiece decode glues continuations and frames batches with CLS/SEP", "[text][wordpiece]") {
  const WordPiece& wp = oracle().uncased;
  const auto ids = wp.encode("The quick brown fox jumps over the lazy dog.");
  CHECK(wp.decode(ids) == "the quick brown fox jumps over the lazy dog .");
  const std::vector<std::string_view> texts{"Hello!", "Grüße aus München"};
  const mmm::TokenBatch b = mmm::encode_batch(wp, texts, {.add_bos = true, .add_eos = true});
  CHECK(b.ids[0] == wp.cls_id());
  CHECK(b.ids[b.lengths[0] - 1] == wp.sep_id());
  CHECK(b.ids[b.ids.dim(1) - 1] == wp.pad_id());
  REQUIRE_THROWS_WITH(wp.decode(std::vector<std::int32_t>{static_cast<std::int32_t>(wp.size())}),
                      Catch::Contains(std::to_string(wp.size())));
}

TEST_CASE("WordPiece rejects malformed vocabularies naming the file and line", "[text][wordpiece]") {
  REQUIRE_THROWS_WITH(WordPiece::from_text("[PAD]\n[UNK]\n\nthe\n", "v.txt"), Catch::Contains("v.txt: line 3"));
  REQUIRE_THROWS_WITH(WordPiece::from_text("[UNK]\nthe\nthe\n", "v.txt"), Catch::Contains("v.txt: line 3"));
  REQUIRE_THROWS_WITH(WordPiece::from_text("a\nb\n", "v.txt"), Catch::Contains("[UNK]"));
  REQUIRE_THROWS_WITH(WordPiece::from_text("[UNK]\n\xff\n", "v.txt"), Catch::Contains("line 2"));
  REQUIRE_THROWS_AS(WordPiece::load("/nonexistent/vocab.txt"), mmm::IoError);
  const WordPiece tiny = WordPiece::from_text("[UNK]\nun\n##aff\n##able\n", "tiny.txt");
  CHECK(tiny.encode("unaffable UNAFFABLE unknown") == std::vector<std::int32_t>{1, 2, 3, 1, 2, 3, 0});
  CHECK(tiny.pad_id() == -1);
}
