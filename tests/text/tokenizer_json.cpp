// tokenizer.json parity: every pipeline the oracle builds (SentencePiece BPE and Unigram in
// LLaMA-2's and T5's layouts, byte-level BPE in RoBERTa's, LLaMA-3's, Qwen2's and o200k's,
// BERT's WordPiece, a character BPE, a WordLevel pipeline with most normalizers and
// pre-tokenizers) encodes 5,200 multilingual texts with the ids and offsets Hugging Face's
// `tokenizers` gives, and decodes them to its strings. Then the refusals: every piece mmm does
// not implement, and added-token ids that disagree with the vocabulary
// (issue 15, reproduction 3), are FormatErrors naming the field and the value.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

#include "mmm/preprocess/text/hf_tokenizer.hpp"
#include "text_test_support.hpp"

using mmm::HfTokenizer;
using namespace mmm::test;

namespace {

struct Reference {
  std::vector<std::vector<std::int32_t>> ids;
  std::vector<std::vector<std::pair<std::int32_t, std::int32_t>>> offsets;  // characters
  std::vector<std::string> decoded;
};

Reference read_reference(const std::string& name) {
  std::ifstream in(oracle_dir() + "/" + name + ".bin", std::ios::binary);
  std::vector<std::int32_t> w;
  for (std::int32_t x; in.read(reinterpret_cast<char*>(&x), 4);) w.push_back(x);
  REQUIRE(!w.empty());
  Reference r;
  std::size_t at = 1;
  for (std::int32_t t = 0; t < w[0]; ++t) {
    const auto n = static_cast<std::size_t>(w[at++]);
    r.ids.emplace_back(w.begin() + static_cast<std::ptrdiff_t>(at), w.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
    auto& o = r.offsets.emplace_back();
    for (std::size_t k = 0; k < n; ++k, at += 2) o.push_back({w[at], w[at + 1]});
  }
  r.decoded = read_json(oracle_dir() + "/" + name + ".decoded.json").get<std::vector<std::string>>();
  return r;
}

const nlohmann::json& cases() {
  static const nlohmann::json c = [] {
    nlohmann::json j = read_json(oracle_dir() + "/cases.json");
    std::printf("tokenizer.json oracle seed %lld: %s\n", j["seed"].get<long long>(), j["summary"].get<std::string>().c_str());
    return j;
  }();
  return c;
}
const std::vector<std::string>& texts() {
  static const std::vector<std::string> t = read_json(oracle_dir() + "/texts.json").get<std::vector<std::string>>();
  return t;
}

// Byte offset → character offset of a text.
std::vector<std::int32_t> char_index(const std::string& text) {
  std::vector<std::int32_t> idx(text.size() + 1, 0);
  std::int32_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    idx[i] = chars;
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) idx[i] = chars++;
  }
  idx[text.size()] = chars;
  // A byte inside a character maps to the character it belongs to.
  for (std::size_t i = 1; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) idx[i] = idx[i - 1];
  return idx;
}

std::string show(const std::string& s) {
  std::string out = printable(s.substr(0, 160));
  out.insert(out.begin(), '\'');
  out.push_back('\'');
  return out;
}

}  // namespace

TEST_CASE("tokenizer.json pipelines encode and decode as Hugging Face's tokenizers", "[text][tokenizer_json][parity]") {
  const auto& all = texts();
  REQUIRE(all.size() >= 5000);
  for (const auto& name_json : cases()["files"]) {
    const std::string name = name_json.get<std::string>();
    const HfTokenizer tok = HfTokenizer::load(oracle_dir() + "/" + name + ".json");
    const Reference ref = read_reference(name);
    REQUIRE(ref.ids.size() == all.size());
    std::size_t wrong_ids = 0, wrong_offsets = 0, wrong_decode = 0, tokens = 0;
    std::string ids_log, offsets_log, decode_log;
    for (std::size_t i = 0; i < all.size(); ++i) {
      const mmm::Encoding e = tok.encode_with_offsets(all[i]);
      tokens += e.ids.size();
      if (e.ids != ref.ids[i]) {
        if (wrong_ids++ < 4)
          ids_log += name + " " + show(all[i]) + "\n  expected " + join(ref.ids[i]) + "\n  got      " + join(e.ids) + "\n";
        continue;
      }
      const auto idx = char_index(all[i]);
      std::vector<std::pair<std::int32_t, std::int32_t>> got;
      for (const auto& o : e.offsets) got.push_back({idx[o.begin], idx[o.end]});
      if (got != ref.offsets[i] && wrong_offsets++ < 4) {
        std::size_t first = 0;
        while (first < got.size() && got[first] == ref.offsets[i][first]) ++first;
        std::string a = "token " + std::to_string(first) + ": ", b = a;
        for (std::size_t k = first; k < std::min(got.size(), first + 6); ++k) {
          a += "(" + std::to_string(ref.offsets[i][k].first) + "," + std::to_string(ref.offsets[i][k].second) + ")";
          b += "(" + std::to_string(got[k].first) + "," + std::to_string(got[k].second) + ")";
        }
        offsets_log += name + " offsets of " + show(all[i]) + "\n  expected " + a + "\n  got      " + b + "\n";
      }
      const std::string decoded = tok.decode(e.ids);
      if (decoded != ref.decoded[i] && wrong_decode++ < 4)
        decode_log += name + " decode of " + show(all[i]) + "\n  expected " + show(ref.decoded[i]) + "\n  got      " + show(decoded) + "\n";
    }
    INFO(name << ": of " << all.size() << " texts (" << tokens << " tokens), " << wrong_ids << " differ in ids, "
              << wrong_offsets << " in offsets, " << wrong_decode << " in decoding");
    {
      INFO(ids_log);
      CHECK(wrong_ids == 0);
    }
    {
      INFO(offsets_log);
      CHECK(wrong_offsets == 0);
    }
    {
      INFO(decode_log);
      CHECK(wrong_decode == 0);
    }
  }
}

TEST_CASE("tokenizer.json pieces mmm does not implement are FormatErrors naming the field and the value",
          "[text][tokenizer_json]") {
  // A complete small pipeline: it loads, and each replacement below must be refused, not skipped.
  const nlohmann::json base = {
      {"version", "1.0"},
      {"added_tokens", nlohmann::json::array()},
      {"normalizer", {{"type", "Lowercase"}}},
      {"pre_tokenizer", {{"type", "Whitespace"}}},
      {"post_processor", nullptr},
      {"decoder", nullptr},
      {"model", {{"type", "WordLevel"}, {"vocab", {{"[UNK]", 0}, {"hello", 1}, {"world", 2}}}, {"unk_token", "[UNK]"}}}};
  const HfTokenizer ok = HfTokenizer::from_json(base.dump(), "p.json");
  CHECK(ok.encode("Hello WORLD") == std::vector<std::int32_t>{1, 2});
  auto refused = [&](nlohmann::json::json_pointer at, nlohmann::json value, const std::string& named) {
    nlohmann::json k = base;
    k[at] = value;
    INFO(at.to_string() << " = " << value.dump());
    REQUIRE_THROWS_AS(HfTokenizer::from_json(k.dump(), "p.json"), mmm::FormatError);
    REQUIRE_THROWS_WITH(HfTokenizer::from_json(k.dump(), "p.json"), Catch::Contains("p.json") && Catch::Contains(named));
  };
  using ptr = nlohmann::json::json_pointer;
  refused(ptr("/normalizer"), {{"type", "Precompiled"}, {"precompiled_charsmap", "AAAA"}}, "normalizer.type is \"Precompiled\"");
  refused(ptr("/normalizer"), {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Shout"}}}}},
          "normalizer.normalizers[1].type is \"Shout\"");
  refused(ptr("/pre_tokenizer"), {{"type", "UnicodeScripts"}}, "pre_tokenizer.type is \"UnicodeScripts\"");
  refused(ptr("/pre_tokenizer"), {{"type", "Split"}, {"pattern", {{"Regex", "[a-z]+|\\d"}}}, {"behavior", "Isolated"}, {"invert", false}},
          "pre_tokenizer.pattern");
  refused(ptr("/pre_tokenizer"), {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}, {"invert", false}},
          "Sideways");
  refused(ptr("/post_processor"), {{"type", "Shuffle"}}, "post_processor.type is \"Shuffle\"");
  refused(ptr("/decoder"), {{"type", "CTC"}, {"pad_token", "<pad>"}}, "decoder.type is \"CTC\"");
  refused(ptr("/model/type"), "WordSpiral", "model.type is \"WordSpiral\"");
  refused(ptr("/normalizer"), "Lowercase", "normalizer is \"Lowercase\"");
  refused(ptr("/truncation"), {{"direction", "Up"}, {"max_length", 8}, {"strategy", "LongestFirst"}, {"stride", 0}},
          "truncation.direction is \"Up\"");
  // An added token whose id is another token's (issue 15, reproduction 3) and one out of range.
  refused(ptr("/added_tokens"), {{{"id", 1}, {"content", "[SEP]"}, {"special", true}}}, "added_tokens[0].id is 1");
  refused(ptr("/added_tokens"), {{{"id", -3}, {"content", "[SEP]"}, {"special", true}}}, "added_tokens[0].id");
}
