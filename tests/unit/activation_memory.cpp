// Activations are freed as soon as nothing reads them (core/workspace.hpp): a deep
// Sequential holds two activations and one step's scratch, not every intermediate; views
// (Flatten) keep what they view alive; Parallel keeps each branch's output until the join.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <utility>

#include "mmm/pipeline.hpp"
#include "support/allocation_counter.hpp"
#include "support/random_model.hpp"

using namespace mmm;

namespace {
using Block = Conv2D<32, 32, Conv{.kernel = 3, .pad = 1}>;

template <std::size_t... I>
auto deep_model(std::index_sequence<I...>) -> Sequential<std::conditional_t<I % 2 == 0, Block, ReLU>...>;
using Deep = decltype(deep_model(std::make_index_sequence<40>{}));  // 20 × (Conv2D + ReLU)

bool same_bits(const float* a, const float* b, Index n) {
  return std::memcmp(a, b, sizeof(float) * static_cast<std::size_t>(n)) == 0;
}
}  // namespace

TEST_CASE("a Sequential of 20 convolutions holds two activations and one scratch, not twenty") {
  static Deep model;  // 20 × 37 KB of weights
  test::fill_random(model, 11, 0.06f);
  // A batch of 8 (2 under the sanitizers: the same placements for a quarter of the work).
  Tensor x(Shape{MMM_SANITIZED_BUILD ? 2 : 8, 32, 56, 56});
  for (Index i = 0; i < x.numel(); ++i) x[i] = static_cast<float>((i * 7919) % 997) / 997.0f - 0.5f;
  const std::size_t activation = static_cast<std::size_t>(x.numel()) * sizeof(float);

  // One Conv2D alone: its output plus its scratch.
  Workspace one;
  const Block& first = model.get<0>();
  (void)first(Map<32>(x), one);
  const std::size_t scratch = one.high_water() - activation;

  Workspace ws;
  const Map<32> y = model(Map<32>(x), ws);
  const std::size_t bound = 2 * (2 * activation + scratch);
  std::printf("deep Sequential: workspace high water %zu bytes (activation %zu, one step's scratch %zu, bound %zu)\n",
              ws.high_water(), activation, scratch, bound);
  CHECK(ws.high_water() <= bound);
  CHECK(ws.high_water() < 4 * activation + scratch);  // all twenty would be 20 activations

  // Bit-identical to the same modules run one by one, each output kept.
  Workspace manual;
  Map<32> z(x);
  const auto run = [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((z = model.get<2 * I>().forward_fused(z, manual, kernels::Activation::relu)), ...);
  };
  run(std::make_index_sequence<20>{});
  REQUIRE(z.shape() == y.shape());
  CHECK(same_bits(y.data, z.data, y.numel()));

  // And a warm forward allocates nothing.
  (void)model(Map<32>(x), ws);
  CHECK(test::allocations_during([&] { (void)model(Map<32>(x), ws); }, 2) == 0);
  CHECK(same_bits(model(Map<32>(x), ws).data, z.data, z.numel()));
}

TEST_CASE("a view's buffer stays alive while the view is read, and a Parallel keeps its branches' outputs") {
  using ImageBranch = Sequential<Conv2D<3, 4, Conv{.kernel = 3, .stride = 2, .pad = 1}>, ReLU, Flatten<4, 4, 4>,
                                 Linear<64, 6>, Tanh>;
  using TextBranch = Sequential<Embedding<11, 6>, MeanPool, Linear<6, 6>, GELU>;
  using Model = Sequential<Parallel<ImageBranch, TextBranch>, FusionConcat, Linear<12, 5>, Softmax>;
  static Model model;
  test::fill_random(model, 3, 0.4f);
  Tensor image(Shape{2, 3, 8, 8});
  for (Index i = 0; i < image.numel(); ++i) image[i] = static_cast<float>(i % 13) / 13.0f;
  IntTensor ids(Shape{2, 5}, {1, 2, 3, 4, 5, 10, 9, 8, 7, 6});

  // The reference: every module by hand, nothing ever released.
  Workspace keep_all;
  const auto& img = model.get<0>().get<0>();
  const auto& txt = model.get<0>().get<1>();
  const auto conv = img.get<0>().forward_fused(Map<3>(image), keep_all, kernels::Activation::relu);
  const auto flat = img.get<2>().forward(conv, keep_all);
  const auto a = img.get<4>().forward(img.get<3>().forward(flat, keep_all), keep_all);
  const auto e = txt.get<1>().forward(txt.get<0>().forward(Tokens(ids), keep_all), keep_all);
  const auto b = txt.get<3>().forward(txt.get<2>().forward(e, keep_all), keep_all);
  const auto fused = FusionConcat{}.forward(Branches<Feat<6>, Feat<6>>(a, b), keep_all);
  const auto expected = Softmax{}.forward(model.get<2>().forward(fused, keep_all), keep_all);

  Workspace ws;
  for (int call = 0; call < 3; ++call) {
    const Feat<5> p = model(Map<3>(image), Tokens(ids), ws);
    REQUIRE(p.batch == 2);
    CHECK(same_bits(p.data, expected.data, p.numel()));
  }
}
