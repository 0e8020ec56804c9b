// The boundary inputs that issue 15's mutation run found no test generating, and tokenizer.json
// ids (reproduction 3): each test here fails on the mutation or bug named in its title.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mmm/core/workspace.hpp"
#include "mmm/io/safetensors.hpp"
#include "mmm/layers/embedding.hpp"
#include "mmm/preprocess/audio.hpp"
#include "mmm/preprocess/text/bpe.hpp"
#include "support.hpp"

using namespace mmm;
using mmm::test::message_of;
using mmm::test::safetensors_bytes;

TEST_CASE("Embedding: the last id reads the last row, id == Vocab is refused (mutant: id > Vocab)", "[hardening][boundary]") {
  Embedding<7, 3> emb;
  for (Index i = 0; i < emb.weight().numel(); ++i) emb.weight()[i] = float(i) + 0.5f;
  Workspace ws;
  const std::vector<std::int32_t> last{6, 0};
  const Seq<3> y = emb(Tokens(last.data(), 1, 2), ws);
  for (Index d = 0; d < 3; ++d) {
    CHECK(y.data[d] == emb.weight()[6 * 3 + d]);
    CHECK(y.data[3 + d] == emb.weight()[d]);
  }
  for (const std::vector<std::int32_t>& ids : {std::vector<std::int32_t>{7}, std::vector<std::int32_t>{0, 7}}) {
    const std::string m = message_of<RangeError>([&] { (void)emb(Tokens(ids.data(), 1, Index(ids.size())), ws); });
    CHECK_THAT(m, Catch::Contains("Embedding<7, 3>") && Catch::Contains("token id 7") && Catch::Contains("7 ids"));
  }
}

TEST_CASE("safetensors: a shape whose byte count wraps 64 bits to 0 is refused (mutant: no numel > max / size guard)",
          "[hardening][boundary]") {
  // 2^31 · 2^31 elements fit an Index; times 4 (or 8) bytes they are 2^64 (2^65), which
  // wraps to 0 and would match the empty data_offsets.
  for (const char* entry : {R"("dtype":"F32","shape":[2147483648,2147483648])", R"("dtype":"F64","shape":[2147483648,2147483648])",
                            R"("dtype":"F32","shape":[4611686018427387904])", R"("dtype":"I32","shape":[65536,65536,65536,16])"}) {
    INFO(entry);
    const auto bytes = safetensors_bytes(std::string(R"({"w":{)") + entry + R"(,"data_offsets":[0,0]}})");
    const std::string m = message_of<FormatError>([&] { (void)SafeTensors::from_bytes(bytes, "wrap.safetensors"); });
    CHECK_THAT(m, Catch::Contains("wrap.safetensors") && Catch::Contains("tensor 'w'") && Catch::Contains("0 bytes of data"));
  }
  // The same shapes of one-byte elements do not wrap: refused as too few bytes too.
  const auto u8 = safetensors_bytes(R"({"w":{"dtype":"U8","shape":[2147483648,2147483648],"data_offsets":[0,0]}})");
  CHECK_THROWS_AS(SafeTensors::from_bytes(u8, "u8.safetensors"), FormatError);
}

TEST_CASE("decibels of silence are the amin floor, never -inf or NaN (mutant: no max(v, amin))", "[hardening][boundary]") {
  // A silent signal, and one zero-padded after a tone: power 0 in the silent frames.
  std::vector<float> silent(3000, 0.0f), padded(6000, 0.0f);
  for (std::size_t i = 0; i < 1500; ++i) padded[i] = 0.5f * std::sin(0.05f * float(i));
  for (const float multiplier : {10.0f, 20.0f}) {
    const LogOptions log{.kind = LogKind::decibel, .multiplier = multiplier, .amin = 1e-10f, .ref = 1.0f, .top_db = 0.0f};
    // AmplitudeToDB: multiplier · log10(max(x, amin)) − multiplier · log10(max(amin, ref)).
    const double floor_db = double(multiplier) * std::log10(double(log.amin)) - double(multiplier) * std::log10(1.0);
    LogMel db({.log = log});
    const Tensor s = db(std::span<const float>(silent));
    for (Index i = 0; i < s.numel(); ++i) REQUIRE(double(s[i]) == Approx(floor_db).epsilon(1e-5));
    const Tensor p = db(std::span<const float>(padded));
    const Index frames = p.dim(1);
    for (Index i = 0; i < p.numel(); ++i) REQUIRE(std::isfinite(p[i]));
    // The last frame lies wholly in the padding.
    for (Index m = 0; m < p.dim(0); ++m) REQUIRE(double(p[m * frames + frames - 1]) == Approx(floor_db).epsilon(1e-5));
  }
  // Mfcc (AmplitudeToDB with top_db = 80): a constant floor over the mels is, through the
  // orthonormal DCT, floor · sqrt(n_mels) in coefficient 0 and nothing in the others.
  Mfcc mfcc(MfccOptions{});
  const Tensor c = mfcc(std::span<const float>(silent));
  const double n_mels = double(MfccOptions{}.mel_spectrogram.mel.n_mels);
  const double c0 = 10.0 * std::log10(1e-10) * std::sqrt(n_mels);
  const Index frames = c.dim(1);
  for (Index t = 0; t < frames; ++t) {
    REQUIRE(double(c[t]) == Approx(c0).epsilon(1e-5));
    for (Index k = 1; k < c.dim(0); ++k) REQUIRE(std::fabs(c[k * frames + t]) <= 1e-5 * std::fabs(c0));
  }
}

namespace {
// A tokenizer.json of the 256 byte tokens, with what `extra` adds at the top level.
std::string byte_tokenizer_json(const std::string& extra) {
  nlohmann::json vocab = nlohmann::json::object();
  const auto alphabet = ByteLevelBpe::byte_alphabet();
  for (int b = 0; b < 256; ++b) {
    std::string utf8;
    utf8::append(utf8, alphabet[static_cast<std::size_t>(b)]);
    vocab[utf8] = b;
  }
  return R"({"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "model": {"type": "BPE", "vocab": )" +
         vocab.dump() + R"(, "merges": []})" + extra + "}";
}
}  // namespace

TEST_CASE("reproduction 3: tokenizer.json ids that would size a table, or narrow, are refused", "[hardening][r3]") {
  // The largest id the vocabulary plus its added tokens can reach without a gap loads.
  CHECK(ByteLevelBpe::from_tokenizer_json(byte_tokenizer_json(R"(, "added_tokens": [{"id": 256, "content": "<s>"}])")).size() == 257);
  for (const char* id : {"257", "100000000", "2147483647", "4294967296"}) {
    INFO(id);
    const std::string json = byte_tokenizer_json(std::string(R"(, "added_tokens": [{"id": )") + id + R"(, "content": "<s>"}])");
    CHECK_THAT(message_of<FormatError>([&] { (void)ByteLevelBpe::from_tokenizer_json(json, "t.json"); }),
               Catch::Contains("t.json: added_tokens[0].id is " + std::string(id)) && Catch::Contains("outside 0..256"));
  }
  CHECK(ByteLevelBpe::from_tokenizer_json(byte_tokenizer_json(R"(, "padding": {"pad_id": 255})")).pad_id() == 255);
  for (const char* id : {"256", "4294967301", "-2", "18446744073709551615"}) {
    INFO(id);
    const std::string json = byte_tokenizer_json(std::string(R"(, "padding": {"pad_id": )") + id + "}");
    CHECK_THAT(message_of<FormatError>([&] { (void)ByteLevelBpe::from_tokenizer_json(json, "t.json"); }),
               Catch::Contains(std::string("padding.pad_id is ") + id));
  }
}
