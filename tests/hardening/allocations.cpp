// The parts of issue 15's reproductions that are about memory, measured with a counted
// operator new:
// a header that nests 10 million deep needs almost nothing; a header of many tensors needs
// a few times its size; a new, larger input shape allocates on its first call and never
// again; an Mfcc plan allocates nothing after construction.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "mmm/pipeline.hpp"
#include "mmm/preprocess/audio.hpp"
#include "support.hpp"
#include "support/allocation_counter.hpp"
#include "support/random_model.hpp"

using namespace mmm;

TEST_CASE("reproduction 5: safetensors header memory is bounded by what it describes", "[hardening][r5]") {
  // 10 million '[' took 766 MB (1.5 GB under ASan); the schema stops at the first one.
  const auto deep = test::safetensors_bytes(R"({"__metadata__":)" + std::string(10'000'000, '['));
  const long long deep_peak = test::peak_bytes_during([&] { CHECK_THROWS_AS(SafeTensors::from_bytes(deep), FormatError); });
  CHECK(deep_peak < (1 << 20));
  // A header of many small tensors, the densest description the format allows (a 100 MB
  // one needed ~8 GB): the reader keeps each entry, a few times its text at most.
  std::string header = "{";
  const int count = 100'000;
  for (int i = 0; i < count; ++i)
    header += (i ? ",\"" : "\"") + std::to_string(i) + R"(":{"dtype":"U8","shape":[1],"data_offsets":[)" +
              std::to_string(i) + "," + std::to_string(i + 1) + "]}";
  header += "}";
  const auto many = test::safetensors_bytes(header, count);
  std::size_t size = 0;
  const long long many_peak = test::peak_bytes_during([&] { size = SafeTensors::from_bytes(many).size(); });
  CHECK(size == std::size_t(count));
  INFO("header " << header.size() << " bytes, peak " << many_peak << " bytes");
  CHECK(many_peak < 4 * static_cast<long long>(header.size()));  // 2.9× measured
  // A long metadata value: the JSON lexer grows its token by doubling and keeps a copy
  // for its error messages (~5× measured), still linear.
  const auto text = test::safetensors_bytes(R"({"__metadata__":{"k":")" + std::string(8 << 20, 'x') + "\"}}");
  const long long text_peak = test::peak_bytes_during([&] { (void)SafeTensors::from_bytes(text); });
  CHECK(text_peak < 6 * (8 << 20));
}

TEST_CASE("reproduction 10: a new, larger shape allocates on its first call only", "[hardening][r10]") {
  using Model = Sequential<Linear<64, 256>, ReLU, LayerNorm<256>, Linear<256, 10>, Softmax>;
  static Model model;
  test::fill_random(model, 3, 0.1f);
  Workspace ws;
  Tensor small(Shape{1, 64}, 0.5f), large(Shape{37, 64}, 0.5f), larger(Shape{4, 100, 64}, 0.5f);
  (void)model(Feat<64>(small), ws);
  CHECK(test::allocations_during([&] { (void)model(Feat<64>(small), ws); }, 3) == 0);
  // The first call with a larger batch grows the Workspace...
  CHECK(test::allocations_during([&] { (void)model(Feat<64>(large), ws); }, 1) > 0);
  // ...and the second one (the README says so) already allocates nothing.
  CHECK(test::allocations_during([&] { (void)model(Feat<64>(large), ws); }, 1) == 0);
  CHECK(test::allocations_during([&] { (void)model(Feat<64>(small), ws); }, 3) == 0);
  CHECK(test::allocations_during([&] { (void)model(Seq<64>(larger), ws); }, 1) > 0);
  CHECK(test::allocations_during([&] { (void)model(Seq<64>(larger), ws); }, 3) == 0);
}

TEST_CASE("reproduction 10: an Mfcc plan allocates nothing after construction", "[hardening][r10]") {
  std::vector<float> signal(16000 * 3);
  for (std::size_t i = 0; i < signal.size(); ++i) signal[i] = float(std::sin(0.01 * double(i * (i % 97))));
  for (const float top_db : {80.0f, 0.0f}) {
    for (const bool log_mels : {false, true}) {
      DYNAMIC_SECTION("top_db " << top_db << ", log_mels " << log_mels) {
        Mfcc mfcc({.n_mfcc = 13, .log_mels = log_mels, .top_db = top_db});
        const Index frames = mfcc.frames(Index(signal.size()));
        Tensor feature_major(Shape{13, frames}), time_major(Shape{frames, 13});
        // The first call, and a longer signal than any before, into caller tensors.
        CHECK(test::allocations_during([&] { mfcc.compute(signal, feature_major.view()); }, 1) == 0);
        CHECK(test::allocations_during([&] { mfcc.compute(signal, time_major.view(), FeatureLayout::time_major); }, 1) == 0);
      }
    }
  }
}
