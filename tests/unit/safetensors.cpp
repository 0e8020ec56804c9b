#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mmm/io/safetensors.hpp"

using namespace mmm;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("mmm_unit_" + std::to_string(::getpid()) + "_" + name)).string();
}

// A file from a header text and data bytes, with the header length written honestly
// unless `claimed_len` says otherwise.
std::vector<std::byte> make_file(const std::string& header, const std::vector<unsigned char>& data,
                                 std::uint64_t claimed_len = ~0ull) {
  std::vector<std::byte> out(8);
  const std::uint64_t len = claimed_len == ~0ull ? header.size() : claimed_len;
  std::memcpy(out.data(), &len, 8);
  for (char c : header) out.push_back(static_cast<std::byte>(c));
  for (unsigned char c : data) out.push_back(static_cast<std::byte>(c));
  return out;
}

std::string error_of(const std::vector<std::byte>& bytes) {
  try {
    SafeTensors::from_bytes(bytes, "bad.safetensors");
  } catch (const FormatError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("safetensors round-trips float and int tensors with metadata") {
  const std::string path = temp_path("roundtrip.safetensors");
  Tensor a(Shape{3, 5});
  for (Index i = 0; i < a.numel(); ++i) a[i] = static_cast<float>(i) * 0.25f - 1.0f;
  IntTensor ids(Shape{2, 3}, {1, -2, 3, 40000, 5, 6});
  Tensor scalar(Shape{}, 7.5f);
  Tensor empty(Shape{0, 4});
  save_safetensors(path, {{"w", a}, {"ids", ids}, {"s", scalar}, {"e", empty}}, {{"format", "pt"}});

  SafeTensors st(path);
  REQUIRE(st.size() == 4);
  CHECK(st.metadata().at("format") == "pt");
  CHECK(st.info("w").dtype == DType::F32);
  CHECK(st.info("w").shape == Shape{3, 5});
  const Tensor b = st.tensor("w");
  CHECK(std::memcmp(a.data(), b.data(), sizeof(float) * 15) == 0);
  const IntTensor ids2 = st.int_tensor("ids");
  CHECK(ids2[3] == 40000);
  CHECK(ids2[1] == -2);
  CHECK(st.tensor("s").rank() == 0);
  CHECK(st.tensor("s")[0] == 7.5f);
  CHECK(st.tensor("e").shape() == Shape{0, 4});
  CHECK_THROWS_AS(st.tensor("ids"), DTypeError);
  CHECK_THROWS_AS(st.int_tensor("w"), DTypeError);
  CHECK_THROWS_AS(st.tensor("nope"), MissingParameterError);
  std::remove(path.c_str());
}

TEST_CASE("safetensors reads typed metadata, and names the file and key when it cannot") {
  const std::string path = temp_path("metadata.safetensors");
  save_safetensors(path, {{"w", Tensor(Shape{2})}},
                   {{"mean", "0.5"}, {"amin", "1e-6"}, {"width", "4"}, {"words", R"(["<pad>", "a", "b"])"},
                    {"text", "1.5abc"}, {"inf", "inf"}, {"not_list", R"(["a", 2])"}, {"broken", "[\"a\""}, {"empty", ""}});
  const SafeTensors st(path);
  CHECK(st.metadata("mean") == "0.5");
  CHECK(st.metadata_number("mean") == 0.5);
  CHECK(st.metadata_number("amin") == 1e-6);
  CHECK(st.metadata_integer("width", 1, 64) == 4);
  CHECK(st.metadata_strings("words") == std::vector<std::string>{"<pad>", "a", "b"});
  auto error = [&](auto&& read) -> std::string {
    try {
      read();
    } catch (const FormatError& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK_THAT(error([&] { st.metadata("nope"); }), Catch::Contains("metadata.safetensors") && Catch::Contains("no 'nope'"));
  CHECK_THAT(error([&] { st.metadata_number("text"); }), Catch::Contains("'text' is '1.5abc', not a number"));
  CHECK_THAT(error([&] { st.metadata_number("inf"); }), Catch::Contains("not a number"));
  CHECK_THAT(error([&] { st.metadata_number("empty"); }), Catch::Contains("not a number"));
  CHECK_THAT(error([&] { st.metadata_integer("mean", 0, 10); }), Catch::Contains("not an integer in [0, 10]"));
  CHECK_THAT(error([&] { st.metadata_integer("width", 5, 64); }), Catch::Contains("'4', not an integer in [5, 64]"));
  CHECK_THAT(error([&] { st.metadata_strings("not_list"); }), Catch::Contains("'not_list' is not a JSON list of strings"));
  CHECK_THAT(error([&] { st.metadata_strings("broken"); }), Catch::Contains("'broken' is not a JSON list"));
  CHECK_THAT(error([&] { st.metadata_strings("mean"); }), Catch::Contains("not a JSON list"));
  std::remove(path.c_str());
}

TEST_CASE("safetensors decodes F16, BF16 and F64 exactly") {
  // F16: 1.0, -2.0, smallest subnormal, inf; BF16: 1.0, -0.5; F64: 3.25
  const std::vector<unsigned char> data = {0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c,  // f16
                                           0x80, 0x3f, 0x00, 0xbf,                          // bf16
                                           0, 0, 0, 0, 0, 0, 0x0a, 0x40};                  // f64
  const std::string header =
      R"({"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},)"
      R"("d":{"dtype":"F64","shape":[1],"data_offsets":[12,20]}})";
  const auto bytes = make_file(header, data);
  const SafeTensors st = SafeTensors::from_bytes(bytes);
  const Tensor h = st.tensor("h");
  CHECK(h[0] == 1.0f);
  CHECK(h[1] == -2.0f);
  CHECK(h[2] == std::ldexp(1.0f, -24));
  CHECK(std::isinf(h[3]));
  const Tensor b = st.tensor("b");
  CHECK(b[0] == 1.0f);
  CHECK(b[1] == -0.5f);
  CHECK(st.tensor("d")[0] == 3.25f);
}

TEST_CASE("safetensors half conversion covers every bit pattern") {
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const float f = half_to_float(static_cast<std::uint16_t>(bits));
    const unsigned exp = (bits >> 10) & 0x1f, mant = bits & 0x3ff;
    const double sign = (bits & 0x8000) ? -1.0 : 1.0;
    if (exp == 31) {
      CHECK((mant ? std::isnan(f) : std::isinf(f)));
      continue;
    }
    const double expected = exp == 0 ? sign * std::ldexp(mant, -24) : sign * std::ldexp(1024 + mant, static_cast<int>(exp) - 25);
    if (static_cast<double>(f) != expected) FAIL("half bits " << bits << " decode to " << f << ", expected " << expected);
  }
}

TEST_CASE("safetensors rejects malformed files with a message naming the file and problem") {
  const std::vector<unsigned char> four = {0, 0, 0x80, 0x3f};
  const std::string ok = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  REQUIRE_NOTHROW(SafeTensors::from_bytes(make_file(ok, four)));

  CHECK_THAT(error_of({}), Catch::Contains("bad.safetensors") && Catch::Contains("fewer than the 8-byte"));
  CHECK_THAT(error_of(make_file(ok, four, 1ull << 40)), Catch::Contains("more than the limit"));
  CHECK_THAT(error_of(make_file(ok, four, ok.size() + 10)), Catch::Contains("truncated"));
  CHECK_THAT(error_of(make_file(ok, {0, 0})), Catch::Contains("ends at byte 4") && Catch::Contains("'x'"));
  CHECK_THAT(error_of(make_file(ok, {0, 0, 0, 0, 9})), Catch::Contains("trailing bytes"));
  CHECK_THAT(error_of(make_file("[1,2]", {})), Catch::Contains("does not start with '{'"));
  CHECK_THAT(error_of(make_file(R"({"x":)", four)), Catch::Contains("does not parse"));
  CHECK_THAT(error_of(make_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", four)),
             Catch::Contains("twice"));
  CHECK_THAT(error_of(make_file(R"({"x":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})", four)),
             Catch::Contains("unknown dtype 'Q7'"));
  CHECK_THAT(error_of(make_file(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", four)),
             Catch::Contains("non-negative integer"));
  CHECK_THAT(error_of(make_file(R"({"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", four)),
             Catch::Contains("non-negative integer"));
  CHECK_THAT(error_of(make_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", four)),
             Catch::Contains("2 elements") && Catch::Contains("4 bytes"));
  CHECK_THAT(error_of(make_file(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}})", four)),
             Catch::Contains("overflows"));
  CHECK_THAT(error_of(make_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", four)),
             Catch::Contains("end before they begin"));
  CHECK_THAT(error_of(make_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})", four)),
             Catch::Contains("unknown field 'extra'"));
  CHECK_THAT(error_of(make_file(R"({"x":{"dtype":"F32","shape":[1]}})", four)), Catch::Contains("data_offsets"));
  CHECK_THAT(error_of(make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", four)),
             Catch::Contains("overlaps"));
  CHECK_THAT(error_of(make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", {0, 0})),
             Catch::Contains("belong to no tensor"));
  CHECK_THAT(error_of(make_file(R"({"__metadata__":{"k":1}})", {})), Catch::Contains("not a string"));
  CHECK_THAT(error_of(make_file("{\"\xff\":1}", {})), Catch::Contains("does not parse"));
}

TEST_CASE("safetensors reports a missing file as an IoError naming it") {
  try {
    SafeTensors st("/nonexistent/weights.safetensors");
    FAIL("no error");
  } catch (const IoError& e) {
    CHECK_THAT(e.what(), Catch::Contains("/nonexistent/weights.safetensors"));
  }
}

TEST_CASE("safetensors refuses integers that do not fit int32") {
  const std::vector<unsigned char> data = {0, 0, 0, 0, 1, 0, 0, 0};  // 2^32 as I64
  const auto bytes = make_file(R"({"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", data);
  const SafeTensors st = SafeTensors::from_bytes(bytes, "ids.safetensors");
  CHECK_THROWS_AS(st.int_tensor("i"), RangeError);
}
