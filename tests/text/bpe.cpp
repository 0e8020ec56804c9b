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
  REQUIRE_THROWS_WITH(ByteLevelBpe::from_tokenizer_json(
                          R"({"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "model": {"type": "BPE", "vocab": {"a": 0}}})",
                          "small.json"),
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

TEST_CASE("Byte-level BPE splits out special tokens only when allowed", "[text][bpe]") {
  const Oracle& o = oracle();
  const std::string text = "Hi<|endoftext|>there <|endoftext|>";
  for (const ByteLevelBpe* bpe : {&o.from_files, &o.from_json}) {
    const std::int32_t eot = bpe->token_to_id("<|endoftext|>");
    REQUIRE(eot >= 0);
    REQUIRE(bpe->special_tokens().size() == 1);
    const auto plain = bpe->encode(text);
    CHECK(std::count(plain.begin(), plain.end(), eot) == 0);
    CHECK(bpe->decode(plain) == text);
    const auto allowed = bpe->encode(text, mmm::AllowedSpecial::all());
    CHECK(std::count(allowed.begin(), allowed.end(), eot) == 2);
    CHECK(bpe->decode(allowed) == text);
    // The text between specials is encoded on its own: "there " keeps its trailing space.
    std::vector<std::int32_t> expected = bpe->encode("Hi");
    expected.push_back(eot);
    for (std::int32_t id : bpe->encode("there ")) expected.push_back(id);
    expected.push_back(eot);
    CHECK(allowed == expected);
    CHECK(bpe->encode(text, mmm::AllowedSpecial{"<|other|>"}) == plain);
    const mmm::Encoding e = bpe->encode_with_offsets(text, mmm::AllowedSpecial::all());
    CHECK(e.offsets[e.ids.size() - 1] == mmm::TokenSpan{static_cast<std::uint32_t>(text.size() - 13), static_cast<std::uint32_t>(text.size())});
  }
  const std::string dir = oracle_dir();
  REQUIRE_THROWS_WITH(ByteLevelBpe::load(dir + "/vocab.json", dir + "/merges.txt", std::vector<std::string>{"<|nope|>"}),
                      Catch::Contains("<|nope|>"));
  CHECK(ByteLevelBpe::load(dir + "/vocab.json", dir + "/merges.txt", std::vector<std::string>{}).special_tokens().empty());
}

TEST_CASE("tokenizer.json ids and sizes are range-checked before anything grows (issue 15, reproduction 3)", "[text][bpe]") {
  nlohmann::json j = nlohmann::json::parse(slurp(oracle_dir() + "/tokenizer.json"));
  const std::size_t vocab = j["model"]["vocab"].size();
  for (const std::int64_t id : {std::int64_t{2147483647}, std::int64_t{100000000}, std::int64_t{-1}}) {
    nlohmann::json k = j;
    k["added_tokens"].push_back({{"id", id}, {"content", "<|big|>"}, {"special", true}});
    // The bound is the vocabulary plus the added tokens: a larger id would leave a gap.
    REQUIRE_THROWS_WITH(ByteLevelBpe::from_tokenizer_json(k.dump(), "big.json"),
                        Catch::Contains("big.json: added_tokens[1].id is " + std::to_string(id)) &&
                            Catch::Contains("outside 0.." + std::to_string(vocab + 1)));
  }
  nlohmann::json k = j;
  k["padding"] = {{"pad_id", 4294967301ull}};
  REQUIRE_THROWS_WITH(ByteLevelBpe::from_tokenizer_json(k.dump(), "pad.json"),
                      Catch::Contains("pad.json: padding.pad_id is 4294967301"));
  k["padding"] = {{"pad_id", 18446744073709551615ull}};
  REQUIRE_THROWS_AS(ByteLevelBpe::from_tokenizer_json(k.dump(), "pad.json"), mmm::FormatError);
  k["padding"] = {{"pad_id", "3"}};
  REQUIRE_THROWS_WITH(ByteLevelBpe::from_tokenizer_json(k.dump(), "pad.json"), Catch::Contains("expected an integer"));
  k["padding"] = {{"pad_id", 3}};
  CHECK(ByteLevelBpe::from_tokenizer_json(k.dump(), "pad.json").pad_id() == 3);
  // An added token may repeat a vocabulary entry at the same id, not take another's.
  k = j;
  k["added_tokens"].push_back({{"id", 5}, {"content", "<|five|>"}});
  REQUIRE_THROWS_WITH(ByteLevelBpe::from_tokenizer_json(k.dump(), "dup.json"), Catch::Contains("id 5 is already"));
  std::string deep(100000, '[');
  REQUIRE_THROWS_WITH(ByteLevelBpe::from_tokenizer_json(deep, "deep.json"), Catch::Contains("nested more than"));
}

TEST_CASE("Byte-level BPE refuses tokenizer.json pipelines it would misread", "[text][bpe]") {
  const nlohmann::json j = nlohmann::json::parse(slurp(oracle_dir() + "/tokenizer.json"));
  auto refused = [&](const char* field, nlohmann::json value, const char* key = nullptr) {
    nlohmann::json k = j;
    if (key) k[field][key] = value;
    else k[field] = value;
    INFO(k[field].dump());
    REQUIRE_THROWS_WITH(ByteLevelBpe::from_tokenizer_json(k.dump(), "p.json"),
                        Catch::Contains("p.json: " + std::string(field) + (key ? std::string(".") + key : "")) &&
                            Catch::Contains("HfTokenizer"));
  };
  refused("normalizer", {{"type", "Lowercase"}});
  refused("pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Isolated"}, {"invert", false}});
  refused("pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", true}});
  refused("pre_tokenizer", nullptr);
  refused("decoder", {{"type", "WordPiece"}});
  refused("post_processor", {{"type", "TemplateProcessing"}});
  refused("model", true, "byte_fallback");
  refused("model", 0.1, "dropout");
  nlohmann::json k = j;
  k["decoder"] = {{"type", "ByteLevel"}};
  k["post_processor"] = {{"type", "ByteLevel"}};
  CHECK_NOTHROW(ByteLevelBpe::from_tokenizer_json(k.dump(), "ok.json"));
}
