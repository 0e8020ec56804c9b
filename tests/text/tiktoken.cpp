// tiktoken parity: cl100k_base, o200k_base and r50k_base ranks as npm js-tiktoken ships them,
// ~6,000 multilingual texts drawn by the oracle; ids (specials as text, and allowed) and
// decodings must equal js-tiktoken's given tiktoken's patterns (decodings: the text itself), and the pre-tokenizer's
// pieces those of Python's `regex` module running tiktoken's patterns verbatim. Then the
// rank-file reader's errors, ids with gaps, invalid UTF-8 and long pieces.
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "mmm/preprocess/text/tiktoken.hpp"
#include "text_test_support.hpp"

using mmm::AllowedSpecial;
using mmm::Tiktoken;
using namespace mmm::test;

namespace {

struct Encoding {
  std::string name;
  Tiktoken tokenizer;
  nlohmann::json cases;
};

const nlohmann::json& pieces() {
  static const nlohmann::json p = [] {
    nlohmann::json j = read_json(oracle_dir() + "/pieces.json");
    std::printf("tiktoken oracle seed %lld: %s\n", j["seed"].get<long long>(), j["summary"].get<std::string>().c_str());
    return j;
  }();
  return p;
}
const std::vector<std::string>& texts() {
  static const std::vector<std::string> t = read_json(oracle_dir() + "/texts.json").get<std::vector<std::string>>();
  return t;
}
const Encoding& encoding(const std::string& name) {
  static std::map<std::string, Encoding> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    const std::string ranks = oracle_dir() + "/" + name + ".tiktoken";
    Tiktoken t = name == "cl100k_base"   ? Tiktoken::cl100k_base(ranks)
                 : name == "o200k_base" ? Tiktoken::o200k_base(ranks)
                                        : Tiktoken::r50k_base(ranks);
    nlohmann::json j = read_json(oracle_dir() + "/" + name + ".json");
    // The special tokens are the ones js-tiktoken knows for this encoding.
    for (const auto& [text, id] : j["special_tokens"].items()) REQUIRE(t.special_id(text) == id.get<std::int32_t>());
    REQUIRE(t.special_tokens().size() == j["special_tokens"].size());
    it = cache.emplace(name, Encoding{name, std::move(t), std::move(j["cases"])}).first;
  }
  return it->second;
}

std::string show(const std::string& s) {
  std::string out = printable(s);
  out.insert(out.begin(), '\'');
  out.push_back('\'');
  return out;
}

}  // namespace

TEST_CASE("tiktoken ids equal js-tiktoken's on every text", "[text][tiktoken][parity]") {
  pieces();
  const auto& all = texts();
  REQUIRE(all.size() >= 5000);
  for (const char* name : {"cl100k_base", "o200k_base", "r50k_base"}) {
    const Encoding& e = encoding(name);
    REQUIRE(e.cases.size() == all.size());
    std::size_t wrong = 0, tokens = 0;
    std::vector<std::int32_t> ids;
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto& c = e.cases[i];
      const auto plain = c["plain"].get<std::vector<std::int32_t>>();
      const auto special = c.contains("special") ? c["special"].get<std::vector<std::int32_t>>() : plain;
      e.tokenizer.encode(all[i], ids);
      const auto with_specials = e.tokenizer.encode(all[i], AllowedSpecial::all());
      const std::string decoded = e.tokenizer.decode(ids);
      tokens += plain.size();
      // Valid UTF-8 round-trips, as tiktoken's decode gives it back.
      if ((ids != plain || with_specials != special || decoded != all[i]) && wrong++ < 5)
        UNSCOPED_INFO(name << " " << show(all[i]) << "\n  expected " << join(plain) << "\n  got      " << join(ids)
                           << "\n  allowed: expected " << join(special) << "\n  got      " << join(with_specials));
    }
    INFO(name << ": " << wrong << " of " << all.size() << " texts differ (" << tokens << " tokens)");
    CHECK(wrong == 0);
  }
}

TEST_CASE("tiktoken pre-tokenizers split as tiktoken's regexes do", "[text][tiktoken][parity]") {
  const auto& all = texts();
  for (const char* name : {"cl100k_base", "o200k_base", "r50k_base"}) {
    const Tiktoken& t = encoding(name).tokenizer;
    const auto& expected = pieces()["piece_bytes"][name];
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
      std::vector<std::size_t> got;
      for (const auto& s : t.pre_tokens(all[i])) got.push_back(s.end - s.begin);
      const auto want = expected[i].get<std::vector<std::size_t>>();
      if (got != want && wrong++ < 5)
        UNSCOPED_INFO(name << " " << show(all[i]) << "\n  regex  " << join(want) << "\n  mmm    " << join(got));
    }
    INFO(name << ": " << wrong << " texts split differently");
    CHECK(wrong == 0);
  }
}

TEST_CASE("tiktoken offsets tile the text; specials are split out only when allowed", "[text][tiktoken]") {
  const Tiktoken& t = encoding("cl100k_base").tokenizer;
  const std::string text = "Hello<|endoftext|> world<|fim_prefix|>x";
  const mmm::Encoding plain = t.encode_with_offsets(text);
  std::uint32_t at = 0;
  for (std::size_t i = 0; i < plain.ids.size(); ++i) {
    REQUIRE(plain.offsets[i].begin == at);
    CHECK(t.token_bytes(plain.ids[i]) == text.substr(at, plain.offsets[i].end - at));
    at = plain.offsets[i].end;
  }
  CHECK(at == text.size());
  CHECK(std::find(plain.ids.begin(), plain.ids.end(), 100257) == plain.ids.end());
  const auto some = t.encode(text, AllowedSpecial{"<|endoftext|>"});
  CHECK(std::count(some.begin(), some.end(), 100257) == 1);
  CHECK(std::count(some.begin(), some.end(), 100258) == 0);
  const auto all = t.encode(text, AllowedSpecial::all());
  CHECK(std::count(all.begin(), all.end(), 100258) == 1);
  CHECK(t.decode(all) == text);
  CHECK(t.decode(some) == text);
  REQUIRE_THROWS_AS(t.decode(std::vector<std::int32_t>{100256}), mmm::RangeError);  // the gap in cl100k_base
  REQUIRE_THROWS_WITH(t.decode(std::vector<std::int32_t>{100277}), Catch::Contains("100277"));
  CHECK(t.size() == 100277);
}

TEST_CASE("tiktoken encodes invalid UTF-8 byte for byte, split as U+FFFD would be", "[text][tiktoken]") {
  const Tiktoken& t = encoding("o200k_base").tokenizer;
  std::mt19937 gen(7);
  const std::string pool[] = {"a", "B", " ", "\n", "\xff", "\xc3", "\xe2\x82", "\x80", "é", "中", "'s", "1", "!", "\xed\xa0\x80"};
  for (int trial = 0; trial < 300; ++trial) {
    std::string text;
    for (int k = 0; k < 12; ++k) text += pool[gen() % std::size(pool)];
    const auto ids = t.encode(text);
    REQUIRE(t.decode_bytes(ids) == text);
    // Each invalid byte in place of U+FFFD: the same piece boundaries.
    std::string replaced;
    std::vector<std::size_t> position;  // byte in `replaced` → byte in `text`
    for (std::size_t i = 0; i < text.size();) {
      const mmm::utf8::Decoded d = mmm::utf8::decode(text, i);
      const std::string_view c = d.valid ? std::string_view(text).substr(i, std::size_t(d.length)) : mmm::utf8::replacement_utf8;
      for (std::size_t k = 0; k < c.size(); ++k) position.push_back(i);
      replaced += c;
      i += std::size_t(d.length);
    }
    position.push_back(text.size());
    std::vector<std::size_t> a, b;
    for (const auto& s : t.pre_tokens(text)) a.push_back(s.end);
    for (const auto& s : t.pre_tokens(replaced)) b.push_back(position[s.end]);
    REQUIRE(a == b);
  }
  CHECK(t.decode(t.encode("caf\xc3")) == "caf\xEF\xBF\xBD");
}

TEST_CASE("tiktoken merges long pieces (heap) as short ones (scan)", "[text][tiktoken]") {
  // Repeating a short text inside a long run of the same class crosses the 64-byte
  // threshold; BPE of a run of one repeated unit must split into the same tokens.
  const Tiktoken& t = encoding("cl100k_base").tokenizer;
  for (const std::string unit : {"ab", "the", "xyz", "éè", "aaa", "!?", " "}) {
    std::string long_run;
    while (long_run.size() < 200) long_run += unit;
    const auto ids = t.encode(long_run);
    CHECK(t.decode_bytes(ids) == long_run);
  }
}

TEST_CASE("tiktoken rank files: malformed ones are FormatErrors naming the line", "[text][tiktoken]") {
  std::string good;
  std::string raw;
  auto b64 = [](std::string_view bytes) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
      const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 | (unsigned char)bytes[i + 2];
      out += a[v >> 18], out += a[(v >> 12) & 63], out += a[(v >> 6) & 63], out += a[v & 63];
    }
    if (bytes.size() - i == 1) {
      const unsigned v = (unsigned char)bytes[i] << 16;
      out += a[v >> 18], out += a[(v >> 12) & 63], out += "==";
    } else if (bytes.size() - i == 2) {
      const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8;
      out += a[v >> 18], out += a[(v >> 12) & 63], out += a[(v >> 6) & 63], out += '=';
    }
    return out;
  };
  for (int b = 0; b < 256; ++b) good += b64(std::string(1, char(b))) + " " + std::to_string(b) + "\n";
  good += b64("ab") + " 300\n" + b64("abc") + " 301\n";  // ids 256..299 left as a gap
  const Tiktoken t = Tiktoken::from_text(good, "tiny.tiktoken", mmm::SplitPattern::cl100k, {{"<|end|>", 302}});
  CHECK(t.size() == 303);
  CHECK(t.encode("abc") == std::vector<std::int32_t>{301});
  CHECK(t.encode("abcab") == std::vector<std::int32_t>{301, 300});
  CHECK(t.encode("<|end|>", AllowedSpecial::all()) == std::vector<std::int32_t>{302});
  REQUIRE_THROWS_AS(t.decode(std::vector<std::int32_t>{280}), mmm::RangeError);

  auto fails = [](const std::string& text, const std::string& message, std::vector<mmm::SpecialToken> specials = {}) {
    INFO("expected: " << message);
    REQUIRE_THROWS_AS(Tiktoken::from_text(text, "bad.tiktoken", mmm::SplitPattern::o200k, specials), mmm::FormatError);
    REQUIRE_THROWS_WITH(Tiktoken::from_text(text, "bad.tiktoken", mmm::SplitPattern::o200k, specials),
                        Catch::Contains("bad.tiktoken") && Catch::Contains(message));
  };
  fails("", "no ranks");
  fails("YQ== 0\n", "byte 0 has no rank");
  fails(good + "YQ= 5000\n", "line 259: the token is not valid base64");
  fails(good + "Y*== 5000\n", "not valid base64");
  fails(good + "YR== 5000\n", "not valid base64");  // non-zero padding bits
  fails(good + "YWJj\n", "line 259: is not \"base64-token rank\"");
  fails(good + "YWJjZA== -4\n", "not a non-negative integer");
  fails(good + "YWJjZA== 1x\n", "not a non-negative integer");
  fails(good + "YWJjZA== 99999999999\n", "not a non-negative integer");
  fails(good + "YWJjZA== 2147483647\n", "31-bit");
  fails(good + "YWJjZA== 2147483646\n", "leaves more unused ids");  // a table of 2^31 entries
  fails(good + b64("ab") + " 400\n", "given a rank twice");
  fails(good + b64("zz") + " 300\n", "rank 300 is given to two tokens");
  fails(good, "which a rank already uses", {{"<|x|>", 300}});
  fails(good, "leaves more unused ids", {{"<|x|>", 100000000}});
  fails(good, "negative id", {{"<|x|>", -1}});
  fails(good, "given twice", {{"<|x|>", 400}, {"<|x|>", 401}});
  REQUIRE_THROWS_AS(Tiktoken::load("/nonexistent/cl100k_base.tiktoken", mmm::SplitPattern::cl100k), mmm::IoError);
}
