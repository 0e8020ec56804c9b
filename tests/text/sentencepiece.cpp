// SentencePiece parity: models trained by Debian's python3-sentencepiece in the oracle,
// ids, byte offsets and decodings compared exactly on thousands of texts.
#include <catch2/catch.hpp>

#include <map>

#include "mmm/preprocess/text/sentencepiece.hpp"
#include "text_test_support.hpp"

using mmm::SentencePiece;
using namespace mmm::test;

namespace {

struct Oracle {
  nlohmann::json data;
  std::map<std::string, SentencePiece> models;
};

const Oracle& oracle() {
  static const Oracle o = [] {
    Oracle r;
    r.data = read_json(oracle_dir() + "/sentencepiece.json");
    std::printf("sentencepiece oracle seed %lld (rerun with MMM_SEED)\n", r.data["seed"].get<long long>());
    for (const auto& [name, path] : r.data["models"].items())
      r.models.emplace(name, SentencePiece::load(path.get<std::string>()));
    return r;
  }();
  return o;
}

}  // namespace

TEST_CASE("SentencePiece ids match sentencepiece on every model and text", "[text][sentencepiece]") {
  const Oracle& o = oracle();
  std::map<std::string, int> checked, wrong;
  for (const auto& c : o.data["cases"]) {
    const std::string model = c["model"];
    const std::string text = from_hex(c["text"]);
    const auto expected = c["ids"].get<std::vector<std::int32_t>>();
    const auto got = o.models.at(model).encode(text);
    ++checked[model];
    if (got != expected && wrong[model]++ < 5)
      UNSCOPED_INFO(model << ": '" << printable(text) << "'\n  expected " << join(expected) << "\n  got      " << join(got));
  }
  for (const auto& [model, n] : checked) {
    INFO(model << ": " << wrong[model] << " of " << n << " texts differ");
    CHECK(wrong[model] == 0);
    CHECK(n > 400);
  }
}

TEST_CASE("SentencePiece byte offsets match sentencepiece's", "[text][sentencepiece]") {
  const Oracle& o = oracle();
  int checked = 0, wrong = 0;
  for (const auto& c : o.data["cases"]) {
    if (!c.contains("offsets")) continue;
    const std::string text = from_hex(c["text"]);
    const mmm::Encoding e = o.models.at(c["model"]).encode_with_offsets(text);
    std::vector<std::uint32_t> got, expected;
    for (const auto& span : e.offsets) got.insert(got.end(), {span.begin, span.end});
    for (const auto& span : c["offsets"]) expected.insert(expected.end(), {span[0].get<std::uint32_t>(), span[1].get<std::uint32_t>()});
    ++checked;
    if (got != expected && wrong++ < 5)
      UNSCOPED_INFO(c["model"].get<std::string>() << ": '" << printable(text) << "'\n  expected " << join(expected)
                                                  << "\n  got      " << join(got));
    CHECK(e.ids == c["ids"].get<std::vector<std::int32_t>>());
  }
  INFO(wrong << " of " << checked << " offset lists differ");
  CHECK(wrong == 0);
  CHECK(checked > 1000);
}

TEST_CASE("SentencePiece decode matches sentencepiece's", "[text][sentencepiece]") {
  const Oracle& o = oracle();
  int checked = 0, wrong = 0;
  for (const char* key : {"cases", "decode_cases"}) {
    for (const auto& c : o.data[key]) {
      const auto ids = c["ids"].get<std::vector<std::int32_t>>();
      const std::string expected = from_hex(c["decoded"]);
      const std::string got = o.models.at(c["model"]).decode(ids);
      ++checked;
      if (got != expected && wrong++ < 5)
        UNSCOPED_INFO(c["model"].get<std::string>() << " " << join(ids) << "\n  expected '" << printable(expected)
                                                    << "'\n  got      '" << printable(got) << "'");
    }
  }
  INFO(wrong << " of " << checked << " decodings differ");
  CHECK(wrong == 0);
}

TEST_CASE("SentencePiece reports its special ids and rejects out-of-range ids", "[text][sentencepiece]") {
  const Oracle& o = oracle();
  const SentencePiece& sp = o.models.at("unigram_bytes");
  CHECK(sp.unk_id() == 0);
  CHECK(sp.bos_id() == 1);
  CHECK(sp.eos_id() == 2);
  CHECK(sp.pad_id() == 3);
  CHECK(sp.byte_fallback());
  CHECK(sp.piece_to_id("<sep>") >= 0);
  CHECK(sp.type(sp.piece_to_id("<sep>")) == SentencePiece::PieceType::user_defined);
  const std::int32_t past = static_cast<std::int32_t>(sp.size());
  const std::vector<std::int32_t> bad{5, past};
  REQUIRE_THROWS_AS(sp.decode(bad), mmm::RangeError);
  REQUIRE_THROWS_WITH(sp.decode(bad), Catch::Contains(std::to_string(past)) && Catch::Contains(std::to_string(sp.size())));
  REQUIRE_THROWS_AS(sp.decode(std::vector<std::int32_t>{-1}), mmm::RangeError);
}

TEST_CASE("SentencePiece batches pad to the longest text", "[text][sentencepiece]") {
  const SentencePiece& sp = oracle().models.at("unigram_bytes");
  const std::vector<std::string_view> texts{"Der schnelle braune Fuchs", "", "Καλημέρα σας, τι κάνετε σήμερα;"};
  const mmm::TokenBatch batch = mmm::encode_batch(sp, texts, {.add_bos = true, .add_eos = true});
  REQUIRE(batch.ids.rank() == 2);
  REQUIRE(batch.ids.dim(0) == 3);
  const auto t = batch.tokens();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto expected = sp.encode(texts[i]);
    expected.insert(expected.begin(), sp.bos_id());
    expected.push_back(sp.eos_id());
    REQUIRE(batch.lengths[i] == static_cast<std::int32_t>(expected.size()));
    for (mmm::index j = 0; j < t.length; ++j) {
      const std::int32_t want = j < static_cast<mmm::index>(expected.size()) ? expected[static_cast<std::size_t>(j)] : sp.pad_id();
      CHECK(t.ids[static_cast<mmm::index>(i) * t.length + j] == want);
    }
  }
  // The plain unigram model was trained without a pad id.
  REQUIRE_THROWS_AS(mmm::encode_batch(oracle().models.at("unigram"), texts), mmm::RangeError);
}

TEST_CASE("SentencePiece rejects malformed model files with the file name", "[text][sentencepiece]") {
  const std::string path = oracle().data["models"]["bpe"];
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE_NOTHROW(SentencePiece::from_bytes(bytes, "bpe.model"));
  // Truncations land inside pieces, the trainer spec or the charsmap.
  for (std::size_t cut : {std::size_t{1}, std::size_t{7}, bytes.size() / 3, bytes.size() - 3}) {
    INFO("truncated at " << cut);
    REQUIRE_THROWS_WITH(SentencePiece::from_bytes(bytes.substr(0, cut), "cut.model"), Catch::Contains("cut.model"));
  }
  REQUIRE_THROWS_AS(SentencePiece::from_bytes("", "empty.model"), mmm::FormatError);
  REQUIRE_THROWS_AS(SentencePiece::from_bytes("\x0a\x05\x0a\x01x", "nounk.model"), mmm::FormatError);
  REQUIRE_THROWS_AS(SentencePiece::load("/nonexistent/x.model"), mmm::IoError);
}
