// Byte-level BPE parity: a tiny GPT-2 style vocabulary trained by the oracle, encoded by a
// transcription of GPT-2's encoder.py; ids, round trips and decodings compared exactly.
#include <catch2/catch.hpp>

#include "mmm/preprocess/text/bpe.hpp"
#include "text_test_support.hpp"

using mmm::ByteLevelBpe;
using namespace mmm::test;

namespace {
struct Oracle {
  nlohmann::json data;
  ByteLevelBpe from_files, from_json;
};
const Oracle& oracle() {
  static const Oracle o = [] {
    const std::string dir = oracle_dir();
    Oracle r{read_json(dir + "/bpe.json"), ByteLevelBpe::load(dir + "/vocab.json", dir + "/merges.txt"),
             ByteLevelBpe::load_tokenizer_json(dir + "/tokenizer.json")};
    std::printf("bpe oracle seed %lld (rerun with MMM_SEED)\n", r.data["seed"].get<long long>());
    return r;
  }();
  return o;
}
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

TEST_CASE("Byte-level BPE ids match GPT-2's encoder", "[text][bpe]") {
  const Oracle& o = oracle();
  REQUIRE(o.from_files.size() == o.from_json.size());
  REQUIRE(o.from_files.merge_count() == 350);
  int checked = 0, wrong = 0;
  for (const auto& c : o.data["cases"]) {
    const std::string text = from_hex(c["text"]);
    const auto expected = c["ids"].get<std::vector<std::int32_t>>();
    for (const ByteLevelBpe* bpe : {&o.from_files, &o.from_json}) {
      const auto got = bpe->encode(text);
      ++checked;
      if (got != expected && wrong++ < 5)
        UNSCOPED_INFO("'" << printable(text) << "'\n  expected " << join(expected) << "\n  got      " << join(got));
    }
  }
  INFO(wrong << " of " << checked << " encodings differ");
  CHECK(wrong == 0);
  CHECK(checked > 1000);
}

TEST_CASE("Byte-level BPE round-trips bytes and decodes as Python does", "[text][bpe]") {
  const Oracle& o = oracle();
  int wrong_decode = 0;
  for (const auto& c : o.data["cases"]) {
    const std::string text = from_hex(c["text"]);
    const mmm::Encoding e = o.from_files.encode_with_offsets(text);
    // Offsets tile the input and each token's bytes are the text it covers.
    std::uint32_t at = 0;
    std::string joined;
    for (std::size_t i = 0; i < e.ids.size(); ++i) {
      REQUIRE(e.offsets[i].begin == at);
      REQUIRE(text.substr(at, e.offsets[i].end - at) == o.from_files.token_bytes(e.ids[i]));
      at = e.offsets[i].end;
      joined += o.from_files.token_bytes(e.ids[i]);
    }
    REQUIRE(at == text.size());
    REQUIRE(joined == text);
    const std::string expected = from_hex(c["decoded"]);
    if (o.from_files.decode(e.ids) != expected && wrong_decode++ < 5)
      UNSCOPED_INFO("decode of '" << printable(text) << "': '" << printable(o.from_files.decode(e.ids)) << "' vs '"
                                  << printable(expected) << "'");
  }
  CHECK(wrong_decode == 0);
}

TEST_CASE("The GPT-2 pre-tokenizer splits as its pattern does", "[text][bpe]") {
  const ByteLevelBpe& bpe = oracle().from_files;
  auto split = [&](std::string_view text) {
    std::vector<std::string> out;
    for (const auto& s : bpe.pre_tokens(text)) out.emplace_back(text.substr(s.begin, s.end - s.begin));
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(split("Hello world's  big\n\nday 123!?") == V{"Hello", " world", "'s", " ", " big", "\n", "\n", "day", " 123", "!?"});
  CHECK(split("  x  ") == V{" ", " x", "  "});
  CHECK(split("Grüße, 世界") == V{"Grüße", ",", " 世界"});
}

TEST_CASE("Byte-level BPE rejects malformed files naming them", "[text][bpe]") {
  const std::string dir = oracle_dir();
  const std::string vocab = slurp(dir + "/vocab.json");
  const std::string tokenizer = slurp(dir + "/tokenizer.json");
  REQUIRE_THROWS_WITH(ByteLevelBpe::from_tokenizer_json(tokenizer.substr(0, tokenizer.size() / 2), "half.json"),
                      Catch::Contains("half.json") && Catch::Contains("JSON"));
  REQUIRE_THROWS_WITH(ByteLevelBpe::from_tokenizer_json(R"({"model": {"type": "WordPiece", "vocab": {}}})", "wp.json"),
                      Catch::Contains("wp.json") && Catch::Contains("BPE"));
  REQUIRE_THROWS_WITH(ByteLevelBpe::from_tokenizer_json(R"({"model": {"type": "BPE", "vocab": {"a": 0}}})", "small.json"),
                      Catch::Contains("small.json") && Catch::Contains("byte 0"));
  nlohmann::json j = nlohmann::json::parse(tokenizer);
  j["model"]["merges"].push_back("zzz qqq");
  REQUIRE_THROWS_WITH(ByteLevelBpe::from_tokenizer_json(j.dump(), "m.json"), Catch::Contains("m.json: model.merges[350]"));
  j = nlohmann::json::parse(tokenizer);
  j["model"]["merges"].push_back(42);
  REQUIRE_THROWS_AS(ByteLevelBpe::from_tokenizer_json(j.dump(), "m.json"), mmm::FormatError);
  j = nlohmann::json::parse(tokenizer);
  j["model"]["vocab"]["extra"] = 100000;
  REQUIRE_THROWS_WITH(ByteLevelBpe::from_tokenizer_json(j.dump(), "v.json"), Catch::Contains("100000"));

  const std::string merges_path = dir + "/bad_merges.txt";
  std::ofstream(merges_path) << "#version: 0.2\na b\nthis line is bad\n";
  REQUIRE_THROWS_WITH(ByteLevelBpe::load(dir + "/vocab.json", merges_path), Catch::Contains("bad_merges.txt: line 3"));
  REQUIRE_THROWS_AS(ByteLevelBpe::load(dir + "/missing.json", merges_path), mmm::IoError);
  (void)vocab;
}

TEST_CASE("Byte-level BPE decode rejects ids past the vocabulary", "[text][bpe]") {
  const ByteLevelBpe& bpe = oracle().from_files;
  const auto n = static_cast<std::int32_t>(bpe.size());
  REQUIRE_THROWS_WITH(bpe.decode(std::vector<std::int32_t>{1, n}), Catch::Contains(std::to_string(n)));
  REQUIRE_THROWS_AS(bpe.decode(std::vector<std::int32_t>{-3}), mmm::RangeError);
  const std::vector<std::string_view> texts{"hello", "a much longer line of text"};
  REQUIRE_THROWS_AS(mmm::encode_batch(bpe, texts), mmm::RangeError);  // GPT-2 has no pad id
  const mmm::TokenBatch b = mmm::encode_batch(bpe, texts, {.pad_id = n - 1});
  CHECK(b.lengths[0] == static_cast<std::int32_t>(bpe.encode(texts[0]).size()));
  CHECK(b.ids[b.ids.dim(1) - 1] == n - 1);
}
