// Issue 15's reproductions for the core and io: sizes near 2^62, shapes whose element
// count overflows, inputs with negative sizes, safetensors headers that nest, repeat, hide
// text after a NUL or name tensors unreadably, and files truncated while they are open.
// Each was a crash, a silent wrong answer or an untyped exception; each is now a typed
// mmm::Error whose message names who asked and the sizes, or the right answer.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "mmm/pipeline.hpp"
#include "support.hpp"

using namespace mmm;
using mmm::test::message_of;
using mmm::test::safetensors_bytes;

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("mmm_hardening_" + std::to_string(::getpid()) + "_" + name)).string();
}
}  // namespace

TEST_CASE("reproduction 1: sizes near 2^62 are ResourceErrors, never a wrapped allocation", "[hardening][r1]") {
  // count * 4 wrapped to 0: the fill wrote through null.
  CHECK_THAT(message_of<ResourceError>([] { Tensor t(Shape{Index(1) << 62}); }),
             Catch::Contains("Tensor of shape [4611686018427387904]") && Catch::Contains("256.0 TiB"));
  // A 64-byte block for 2^62 floats.
  CHECK_THROWS_AS(Tensor(Shape{(Index(1) << 62) + 16}), ResourceError);
  CHECK_THROWS_AS(IntTensor(Shape{(Index(1) << 62) + 16}, 7), ResourceError);
  // A pointer into a 64 KB block.
  Workspace ws;
  CHECK_THROWS_AS(ws.allocate<float>((Index(1) << 62) + 1), ResourceError);
  CHECK_THROWS_AS(ws.allocate<float>(Index(1) << 40, Index(1) << 30), ResourceError);  // the product, checked
  CHECK(ws.allocate<float>(3, 5) != nullptr);
  // numel() was 0 (2^64 wrapped): now the shape itself is refused.
  CHECK_THAT(message_of<ResourceError>([] { Shape s{Index(1) << 32, Index(1) << 32}; }),
             Catch::Contains("[4294967296] extended by 4294967296"));
  CHECK_THROWS_AS((Shape{3, Index(1) << 62}), ResourceError);
  // Zeros do not hide an overflowing product, wherever they are.
  CHECK_THROWS_AS((Shape{Index(1) << 62, 3, 0}), ResourceError);
  CHECK_THROWS_AS((Shape{0, Index(1) << 62, 3}), ResourceError);
  CHECK((Shape{0, Index(1) << 62}).numel() == 0);
  CHECK((Shape{Index(1) << 31, Index(1) << 31}).numel() == Index(1) << 62);
  CHECK_THROWS_AS(Shape::from(std::vector<std::uint64_t>{std::uint64_t(1) << 63}), ResourceError);
}

TEST_CASE("reproduction 4: a 4 TiB tensor the machine cannot give is a ResourceError", "[hardening][r4]") {
  if (mmm::test::under_asan) return;  // its allocator aborts instead of refusing
  const std::string m = message_of<ResourceError>([] { Tensor t(Shape{Index(1) << 40}); });
  CHECK_THAT(m, Catch::Contains("Tensor of shape [1099511627776]") && Catch::Contains("4.0 TiB") &&
                    Catch::Contains("out of memory"));
  // And a model whose first forward cannot get its Workspace names the model.
  Linear<1, 4> tiny;
  tiny.prepare();
  Tensor x(Shape{1, 1});
  Workspace ws;
  ws.reserve(1 << 16);
  (void)tiny(Feat<1>(x), ws);
  // A Feat of 2^39 rows (a lie the caller tells: its data is one float) passes the input
  // checks (2 TiB fits in memory in principle) and fails at the allocation.
  const std::string f = message_of<ResourceError>([&] { (void)tiny(Feat<1>(x.data(), Index(1) << 39), ws); });
  CHECK_THAT(f, Catch::StartsWith("Linear<1, 4>") && Catch::Contains("out of memory"));
}

TEST_CASE("reproduction 10: negative and impossible input sizes name the module", "[hardening][r10]") {
  Linear<4, 8> linear;
  linear.prepare();
  Tensor x(Shape{2, 4});
  Workspace ws;
  CHECK_THAT(message_of<ShapeError>([&] { (void)linear(Feat<4>(x.data(), -1), ws); }),
             Catch::StartsWith("Linear<4, 8>: the input Feat<4> has batch -1"));
  CHECK_THAT(message_of<ShapeError>([&] { (void)linear(Seq<4>(x.data(), 1, -3), ws); }),
             Catch::StartsWith("Linear<4, 8>: the input Seq<4> has length -3"));
  CHECK_THAT(message_of<ResourceError>([&] { (void)linear(Feat<4>(x.data(), Index(1) << 60), ws); }),
             Catch::StartsWith("Linear<4, 8>: the input Feat<4> (batch 1152921504606846976) has more elements"));
  CHECK_THAT(message_of<ShapeError>([&] { (void)linear(Feat<4>(nullptr, 2), ws); }),
             Catch::Contains("has 8 elements but no data"));
  const std::int32_t bad_lengths[] = {1, 3};
  CHECK_THAT(message_of<RangeError>([&] { (void)linear(Seq<4>(x.data(), 2, 1, bad_lengths), ws); }),
             Catch::Contains("item 1 of the input Seq<4> claims 3 valid steps, outside [0, 1]"));
  Embedding<5, 3> embedding;
  const std::int32_t ids[] = {0, 1};
  CHECK_THAT(message_of<ShapeError>([&] { (void)embedding(Tokens(ids, -2, 1), ws); }),
             Catch::StartsWith("Embedding<5, 3>: the input Tokens has batch -2"));
  // Branches name the branch.
  using Two = Sequential<Parallel<Linear<4, 2>, Embedding<5, 2>>, FusionConcat, Linear<4, 1>>;
  Two two;
  CHECK_THAT(message_of<ShapeError>([&] { (void)two(Feat<4>(x), Tokens(ids, 1, -1), ws); }),
             Catch::Contains("(branch 1): the input Tokens has length -1"));
  // A valid call still works after all that.
  CHECK(linear(Feat<4>(x), ws).batch == 2);
}

TEST_CASE("reproduction 7: GlobalAvgPool refuses a map with H = W = -1", "[hardening][r7]") {
  GlobalAvgPool pool;
  const float data[4] = {1, 2, 3, 4};
  Workspace ws;
  // Through the call operator, as a user calls a model...
  CHECK_THAT(message_of<ShapeError>([&] { (void)pool(Map<1>(data, 1, -1, -1), ws); }),
             Catch::StartsWith("GlobalAvgPool: the input Map<1> has height -1"));
  // ...and as a composition calls it (forward directly): -1 × -1 is not a plane of one.
  CHECK_THAT(message_of<ShapeError>([&] { (void)pool.forward(Map<1>(data, 1, -1, -1), ws); }),
             Catch::Contains("the map is -1×-1"));
  CHECK_THROWS_AS(pool.forward(Map<1>(data, 1, 0, 4), ws), ShapeError);
  CHECK(pool(Map<1>(data, 1, 2, 2), ws).data[0] == 2.5f);
}

TEST_CASE("reproduction 2: a safetensors shape whose element count overflows Index is a FormatError",
          "[hardening][r2]") {
  const auto bytes = safetensors_bytes(R"({"w":{"dtype":"F32","shape":[4611686018427387904,3,0],"data_offsets":[0,0]}})");
  const std::string m = message_of<FormatError>([&] { SafeTensors::from_bytes(bytes, "bomb.safetensors"); });
  CHECK_THAT(m, Catch::Contains("'bomb.safetensors'") && Catch::Contains("tensor 'w'") && Catch::Contains("overflows"));
  // Shapes that fit stay fine, zeros included.
  const auto ok = safetensors_bytes(R"({"w":{"dtype":"F32","shape":[4611686018427387904,0],"data_offsets":[0,0]}})");
  CHECK(SafeTensors::from_bytes(ok).info("w").shape.numel() == 0);
}

TEST_CASE("reproduction 5: a deeply nested safetensors header stops at the first level the format does not have",
          "[hardening][r5]") {
  // 10 million '[' (the old parser took 766 MB and seconds); memory is checked in
  // hardening.allocations, here the error and where it stops.
  const std::string deep = R"({"__metadata__":)" + std::string(10'000'000, '[');
  const std::string m = message_of<FormatError>([&] { SafeTensors::from_bytes(safetensors_bytes(deep), "deep"); });
  CHECK_THAT(m, Catch::Contains("__metadata__") && Catch::Contains("an array"));
  const std::string top = std::string(1000, '[');
  CHECK_THROWS_AS(SafeTensors::from_bytes(safetensors_bytes("{\"a\":" + top)), FormatError);
  CHECK_THAT(message_of<FormatError>([&] {
               SafeTensors::from_bytes(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}})"));
             }),
             Catch::Contains("tensor 'a' has a shape entry that is not a non-negative integer (found an array)"));
}

TEST_CASE("reproduction 9: repeated fields, text after a NUL, empty and control-character names are refused",
          "[hardening][r9]") {
  auto error = [](const std::string& header, std::size_t data = 0) {
    return message_of<FormatError>([&] { SafeTensors::from_bytes(safetensors_bytes(header, data), "h.safetensors"); });
  };
  // "dtype" twice: the last won; the reference refuses.
  CHECK_THAT(error(R"({"x":{"dtype":"F64","dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4),
             Catch::Contains("tensor 'x' has the field 'dtype' twice"));
  CHECK_THAT(error(R"({"x":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}})", 4),
             Catch::Contains("'shape' twice"));
  CHECK_THAT(error(R"({"__metadata__":{"k":"a","k":"b"}})"), Catch::Contains("key 'k' twice"));
  CHECK_THAT(error(R"({"__metadata__":{},"__metadata__":{}})"), Catch::Contains("'__metadata__' twice"));
  // Anything after a NUL was never parsed: {...}\0garbage loaded.
  std::string hidden = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  hidden += std::string("\0{\"y\":", 6);
  CHECK_THAT(error(hidden, 4), Catch::Contains("NUL byte at offset 54"));
  // An empty name was a blank line in messages.
  CHECK_THAT(error(R"({"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4), Catch::Contains("empty string"));
  // A \u0000 in a name cut what() short; now the message is whole and shows the escape.
  const std::string m = error(R"({"a\u0000b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4);
  CHECK_THAT(m, Catch::Contains(R"(the tensor name 'a\u0000b' has a control character)"));
  CHECK(m.find('\0') == std::string::npos);
  CHECK_THAT(error("{\"a\\nforged line\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
             Catch::Contains(R"('a\u000Aforged line')"));
  CHECK(printable(std::string("x\0y\x7f", 4)) == R"(x\u0000y\u007F)");
}

TEST_CASE("reproduction 11: a file read with FileAccess::copy survives being truncated", "[hardening][r11]") {
  const std::string path = temp_path("truncated.safetensors");
  Tensor w(Shape{1024, 64}, 0.5f);
  save_safetensors(path, {{"w", w}});
  const SafeTensors copied(path, FileAccess::copy);
  {
    const SafeTensors mapped(path);  // both see the whole file now
    CHECK(mapped.info("w").shape == (Shape{1024, 64}));
  }
  std::filesystem::resize_file(path, 100);  // another process truncates it
  const Tensor back = copied.tensor("w");
  CHECK(back[1024 * 64 - 1] == 0.5f);
  // Opening it again sees the truncated file and refuses it, in either mode.
  CHECK_THROWS_AS(SafeTensors(path), FormatError);
  CHECK_THROWS_AS(SafeTensors(path, FileAccess::copy), FormatError);
  Linear<64, 1024> model;
  CHECK_THROWS_AS(load(model, path, "", FileAccess::copy), FormatError);
  std::remove(path.c_str());
}

TEST_CASE("reproduction 11: what the docs say of a mapped file truncated under it (SIGBUS)", "[hardening][r11]") {
  const std::string path = temp_path("sigbus.safetensors");
  Tensor w(Shape{4096, 64}, 0.25f);
  save_safetensors(path, {{"w", w}});
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::freopen("/dev/null", "w", stderr);  // a sanitizer's report of the signal is expected
    const SafeTensors mapped(path);
    std::filesystem::resize_file(path, 4096);
    const Tensor t = mapped.tensor("w");  // touches pages past the new end
    std::_Exit(t[4096 * 64 - 1] == 0.25f ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK_FALSE((WIFEXITED(status) && WEXITSTATUS(status) == 0));  // the read never completes
  if (!mmm::test::under_asan) CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS));  // (ASan reports it)
  std::remove(path.c_str());
}
