// Word and character vocabularies: specials, building by frequency, load/save round trip,
// encode/decode with offsets, invalid UTF-8, and the errors a user can cause.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "mmm/preprocess/text/vocabulary.hpp"

using mmm::Vocabulary;

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("mmm_text_" + std::to_string(::getpid()) + "_" + name)).string();
}
}  // namespace

TEST_CASE("Word vocabularies put specials first and order tokens by frequency", "[text][vocabulary]") {
  const std::vector<std::string_view> texts{"the cat sat on the mat", "the dog\tsat\u00a0down", "über the Café"};
  const Vocabulary v = Vocabulary::build(texts, Vocabulary::Unit::word);
  CHECK(v.pad_id() == 0);
  CHECK(v.bos_id() == 1);
  CHECK(v.eos_id() == 2);
  CHECK(v.unk_id() == 3);
  CHECK(v.token(4) == "the");  // 4 times
  CHECK(v.token(5) == "sat");  // twice; every other word once
  CHECK(v.find("Café") >= 0);
  CHECK(v.find("down") >= 0);  // U+00A0 separates words
  CHECK(v.size() == 4 + 9);

  const mmm::Encoding e = v.encode_with_offsets("  the zebra sat ");
  REQUIRE(e.ids == std::vector<std::int32_t>{v.id("the"), v.unk_id(), v.id("sat")});
  CHECK(e.offsets == std::vector<mmm::TokenSpan>{{2, 5}, {6, 11}, {12, 15}});
  CHECK(v.decode(std::vector<std::int32_t>{v.bos_id(), v.id("the"), v.unk_id(), v.eos_id(), v.pad_id()}) == "the <unk>");
}

TEST_CASE("Build options limit the vocabulary", "[text][vocabulary]") {
  const std::vector<std::string_view> texts{"a a a b b c"};
  const Vocabulary min2 = Vocabulary::build(texts, Vocabulary::Unit::word, {.min_count = 2});
  CHECK(min2.find("b") >= 0);
  CHECK(min2.find("c") < 0);
  const Vocabulary max5 = Vocabulary::build(texts, Vocabulary::Unit::word, {.max_size = 5});
  CHECK(max5.size() == 5);
  CHECK(max5.token(4) == "a");
}

TEST_CASE("Character vocabularies split code points and replace invalid bytes", "[text][vocabulary]") {
  const std::vector<std::string_view> texts{"héllo wörld 😀"};
  const Vocabulary v = Vocabulary::build(texts, Vocabulary::Unit::character);
  const std::string text = "hé\xffl😀";
  const mmm::Encoding e = v.encode_with_offsets(text);
  REQUIRE(e.ids.size() == 5);
  CHECK(e.ids[2] == v.unk_id());  // U+FFFD was never seen
  CHECK(e.offsets == std::vector<mmm::TokenSpan>{{0, 1}, {1, 3}, {3, 4}, {4, 5}, {5, 9}});
  CHECK(v.decode(e.ids) == "hé<unk>l😀");
}

TEST_CASE("Vocabularies save and load one token per line", "[text][vocabulary]") {
  const std::vector<std::string_view> texts{"Καλημέρα σας, τι κάνετε σήμερα; 我爱北京天安门。"};
  const Vocabulary v = Vocabulary::build(texts, Vocabulary::Unit::word);
  const std::string path = temp_path("vocab.txt");
  v.save(path);
  const Vocabulary back = Vocabulary::load(path, Vocabulary::Unit::word);
  REQUIRE(back.size() == v.size());
  for (std::int32_t i = 0; i < static_cast<std::int32_t>(v.size()); ++i) CHECK(back.token(i) == v.token(i));
  CHECK(back.encode(texts[0]) == v.encode(texts[0]));

  std::ofstream(path) << "<pad>\n<bos>\n<eos>\nhello\n";
  REQUIRE_THROWS_WITH(Vocabulary::load(path, Vocabulary::Unit::word), Catch::Contains(path) && Catch::Contains("<unk>"));
  std::ofstream(path) << "<pad>\n<bos>\n\n<unk>\n";
  REQUIRE_THROWS_WITH(Vocabulary::load(path, Vocabulary::Unit::word), Catch::Contains("line 3"));
  std::ofstream(path) << "<pad>\n<bos>\n<eos>\n<unk>\n<bos>\n";
  REQUIRE_THROWS_AS(Vocabulary::load(path, Vocabulary::Unit::word), mmm::FormatError);
  std::filesystem::remove(path);
  REQUIRE_THROWS_AS(Vocabulary::load(path, Vocabulary::Unit::word), mmm::IoError);
}

TEST_CASE("Out-of-range ids and bad specials are range errors", "[text][vocabulary]") {
  const Vocabulary v(Vocabulary::Unit::word);
  REQUIRE_THROWS_WITH(v.decode(std::vector<std::int32_t>{7}), Catch::Contains("7") && Catch::Contains("4"));
  REQUIRE_THROWS_AS(v.token(-1), mmm::RangeError);
  REQUIRE_THROWS_AS(Vocabulary(Vocabulary::Unit::word, {.pad = "x", .bos = "x"}), mmm::RangeError);
}

TEST_CASE("Vocabulary batches are padded with the pad id", "[text][vocabulary]") {
  const std::vector<std::string_view> texts{"a b c", "a", ""};
  const Vocabulary v = Vocabulary::build(texts, Vocabulary::Unit::word);
  const mmm::TokenBatch b = mmm::encode_batch(v, texts, {.add_eos = true});
  REQUIRE(b.ids.shape() == mmm::Shape{3, 4});
  CHECK(b.lengths == std::vector<std::int32_t>{4, 2, 1});
  const std::vector<std::int32_t> row1{v.id("a"), v.eos_id(), v.pad_id(), v.pad_id()};
  CHECK(std::vector<std::int32_t>(b.ids.data() + 4, b.ids.data() + 8) == row1);
}

TEST_CASE("encode_batch takes any range of strings", "[text][vocabulary]") {
  const std::vector<std::string> owned{"a b", "b"};
  const Vocabulary v = Vocabulary::build(std::vector<std::string_view>(owned.begin(), owned.end()), Vocabulary::Unit::word);
  const mmm::TokenBatch from_strings = mmm::encode_batch(v, owned);
  const mmm::TokenBatch from_literals = mmm::encode_batch(v, std::array{"a b", "b"});
  CHECK(from_strings.lengths == std::vector<std::int32_t>{2, 1});
  CHECK(from_literals.lengths == from_strings.lengths);
  CHECK(std::equal(from_strings.ids.span().begin(), from_strings.ids.span().end(), from_literals.ids.span().begin()));
}
