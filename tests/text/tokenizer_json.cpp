// tokenizer.json parity: every pipeline the oracle builds (SentencePiece BPE and Unigram in
// LLaMA-2's and T5's layouts, byte-level BPE in RoBERTa's, LLaMA-3's, Qwen2's and o200k's,
// BERT's WordPiece, a character BPE, a WordLevel pipeline with most normalizers and
// pre-tokenizers) encodes 5,200 multilingual texts with the ids and offsets Hugging Face's
// `tokenizers` gives, and decodes them to its strings. Then the refusals: every piece mmm does
// not implement, and added-token ids that disagree with the vocabulary
// (issue 15, reproduction 3), are FormatErrors naming the field and the value.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
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

TEST_CASE("tokenizer.json numbers are read as serde_json reads them, not to the nearest double",
          "[text][tokenizer_json]") {
  using mmm::detail::hf::serde_json_number;
  // The library's reading: the digits as a u64 made a double, then one division or
  // multiplication by the nearest double to 10^n. For these texts that is one ulp from the
  // nearest double (strtod's), which is why the reading is not strtod's.
  const auto nearest = [](const char* t) { return std::strtod(t, nullptr); };
  CHECK(serde_json_number("-9.668583631515503") == -(static_cast<double>(9668583631515503ull) / 1e15));
  CHECK(serde_json_number("-9.668583631515503") != nearest("-9.668583631515503"));
  CHECK(serde_json_number("-7.3313775062561035") == -(static_cast<double>(73313775062561035ull) / 1e16));
  CHECK(serde_json_number("-7.3313775062561035") != nearest("-7.3313775062561035"));
  // Digits are gathered while the u64 holds them (20 here); the rest of a fraction is
  // dropped, the rest of an integer only raises the exponent.
  CHECK(serde_json_number("0.123456789012345678901234") == static_cast<double>(12345678901234567890ull) / 1e20);
  CHECK(serde_json_number("123456789012345678901234") == static_cast<double>(12345678901234567890ull) * 1e4);
  CHECK(serde_json_number("1.5e3") == 1500.0);
  CHECK(serde_json_number("-25E-1") == -2.5);
  CHECK(serde_json_number("2e+2") == 200.0);
  // Past 10^308 the division is repeated.
  CHECK(serde_json_number("1e-320") == 1.0 / 1e308 / 1e12);
  CHECK(serde_json_number("0e999999999999") == 0.0);
  CHECK(std::isinf(serde_json_number("1e999999999999")));
  // The nearest double to this is the largest one, but the library's reading overflows and
  // npm `tokenizers` 0.23.2 refuses the file ("number out of range"); so does mmm.
  CHECK(std::isinf(serde_json_number("-1.7976931348623158e308")));
  CHECK(std::isfinite(nearest("-1.7976931348623158e308")));
  const char* big = R"({"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.7976931348623158e308]]}})";
  REQUIRE_THROWS_AS(HfTokenizer::from_json(big, "big.json"), mmm::FormatError);
  REQUIRE_THROWS_WITH(HfTokenizer::from_json(big, "big.json"),
                      Catch::Contains("big.json") && Catch::Contains("-1.7976931348623158e308 is out of range"));
}

TEST_CASE("Unigram scores that tie only as the library reads them segment as the library does",
          "[text][tokenizer_json]") {
  // ab = a + b exactly with the nearest doubles (a tie: the piece found first, "ab", wins)
  // but is one ulp lower as serde_json reads it (the pair wins); cd is one ulp below c + d
  // with the nearest doubles but ties as serde_json reads it. The expected ids are npm
  // `tokenizers` 0.23.2's for this file: "ab" [1, 2], "cd" [6], "abcd" [1, 2, 6], and
  // "xabcdx" [0, 3, 6, 0] (after an unknown character the sums round otherwise).
  const std::string file = R"({"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null,
    "post_processor": null, "decoder": null, "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": false,
    "vocab": [["<unk>", 0.0], ["a", -2.2544586658477783], ["b", -7.414124965667725], ["ab", -9.668583631515503],
              ["c", -5.747030258178711], ["d", -6.3896164894104], ["cd", -12.136646747589113]]}})";
  const HfTokenizer tok = HfTokenizer::from_json(file, "ties.json");
  CHECK(tok.encode("ab") == std::vector<std::int32_t>{1, 2});
  CHECK(tok.encode("cd") == std::vector<std::int32_t>{6});
  CHECK(tok.encode("abcd") == std::vector<std::int32_t>{1, 2, 6});
  CHECK(tok.encode("xabcdx") == std::vector<std::int32_t>{0, 3, 6, 0});
}
