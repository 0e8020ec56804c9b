// A steady-state forward of a Parallel image + text model allocates nothing: operator new
// is counted, and calls after the first two (which size the Workspace) must not add to it.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "mmm/pipeline.hpp"

#include "support/allocation_counter.hpp"

using namespace mmm;

TEST_CASE("a Parallel image + text model runs without allocating once its Workspace is sized") {
  using ImageEncoder = Sequential<Flatten<3, 9, 7>, Linear<189, 33>, ReLU>;
  using TextEncoder = Sequential<Embedding<29, 13>, MeanPool, Linear<13, 11>, Tanh>;
  using Pooled = Sequential<Conv2D<3, 4, Conv{.kernel = 3, .stride = 2, .pad = 1}>, ReLU, GlobalAvgPool, Linear<4, 5>>;
  Sequential<Parallel<ImageEncoder, TextEncoder, Pooled>, FusionConcat, Linear<49, 17>, ReLU, SoftmaxHead<17, 7>> model;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 0.3f);
  model.visit_parameters([&](const std::string&, Tensor& t) {
    for (Index i = 0; i < t.numel(); ++i) t[i] = dist(rng);
  }, "");
  model.prepare();

  Tensor image(Shape{5, 3, 9, 7});
  for (Index i = 0; i < image.numel(); ++i) image[i] = dist(rng);
  std::vector<std::int32_t> ids(5 * 6), lengths{6, 1, 3, 5, 2};
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>(i * 7 % 29);
  const Tokens tokens(ids.data(), 5, 6, lengths.data());

  Workspace ws;
  (void)model(Map<3>(image), tokens, Map<3>(image), ws);
  (void)model(Map<3>(image), tokens, Map<3>(image), ws);
  const long before = mmm::test::allocations();
  float checksum = 0;
  for (int i = 0; i < 10; ++i) checksum += model(Map<3>(image), tokens, Map<3>(image), ws).data[i % 7];
  CHECK(mmm::test::allocations() - before == 0);
  CHECK(checksum > 0);

  // The counter does see allocations, so the zero above means something.
  const long start = mmm::test::allocations();
  (void)model(Map<3>(image), tokens, Map<3>(image));  // one-off call: its own Workspace
  CHECK(mmm::test::allocations() > start);
}

TEST_CASE("Fork, the fusions, SequenceJoin and the head's read-outs run without allocating once warm") {
  using Image = Sequential<Conv2D<3, 4, Conv{.kernel = 3, .stride = 2, .pad = 1}>, ReLU, MapToSeq, Linear<4, 8>>;
  using Text = Sequential<Embedding<29, 8>, Fork<Linear<8, 8>, Sequential<Linear<8, 8>, Tanh>>, FusionProduct>;
  using Joined = Sequential<Parallel<Image, Text>, SequenceJoin, Fork<MeanPool, LastStep>, FusionSum>;
  using Gated = Sequential<Parallel<Joined, Sequential<Flatten<3, 9, 7>, Linear<189, 5>>>, GatedFusion<6, 8, 5>>;
  Gated model;
  SoftmaxHead<6, 11> head;
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 0.3f);
  auto fill = [&](auto& m) {
    m.visit_parameters([&](const std::string&, Tensor& t) {
      for (Index i = 0; i < t.numel(); ++i) t[i] = dist(rng);
    }, "");
    m.prepare();
  };
  fill(model);
  fill(head);
  Tensor image(Shape{5, 3, 9, 7});
  for (Index i = 0; i < image.numel(); ++i) image[i] = dist(rng);
  std::vector<std::int32_t> ids(5 * 6), lengths{6, 1, 3, 5, 2};
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<std::int32_t>(i * 7 % 29);
  const Tokens tokens(ids.data(), 5, 6, lengths.data());
  const auto input = Branches<Branches<Map<3>, Tokens>, Map<3>>(Branches<Map<3>, Tokens>(Map<3>(image), tokens), Map<3>(image));

  Workspace ws;
  auto run = [&] {
    ws.reset();
    const Feat<6> fused = model.forward(input, ws);
    const Feat<11> lp = head.log_probabilities(fused, ws, 0.7f);
    const TopK top = SoftmaxHead<6, 11>::top_k(lp, 3, ws);
    return top.values[0] + head.probabilities(fused, ws, 1.3f).data[0];
  };
  (void)run();
  (void)run();
  const long before = mmm::test::allocations();
  float checksum = 0;
  for (int i = 0; i < 10; ++i) checksum += run();
  CHECK(mmm::test::allocations() - before == 0);
  CHECK(std::isfinite(checksum));
}
