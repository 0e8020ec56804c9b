// A steady-state forward of a ResNet, and of a model using every pooling, norm and
// resampling module of this area, allocates nothing: every operator new of this program is
// counted, and calls after the first two (which size the Workspace) must not add to it.
#include <catch2/catch.hpp>

#include "mmm/pipeline.hpp"
#include "support/allocation_counter.hpp"
#include "support/random_model.hpp"

using namespace mmm;

namespace {
template <class M, class In>
long allocations_in_repeated_calls(const M& model, const In& x, Workspace& ws) {
  (void)model(x, ws);  // sizes the workspace
  (void)model(x, ws);  // merges its blocks; from here on nothing should allocate
  return test::allocations_during([&] { (void)model(x, ws); }, 5);
}

Tensor image(Shape shape) {
  Tensor x(shape);
  for (Index i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(i % 23) * 0.05f - 0.5f;
  return x;
}
}  // namespace

TEST_CASE("the counter sees allocations (so a zero below means something)") {
  const long before = test::allocations();
  ResNet18Pooled net;
  CHECK(test::allocations() - before > 0);
}

TEST_CASE("a repeated ResNet forward allocates nothing, with 1 and 2 threads") {
  static ResNet18 net;  // 45 MB of weights: not on the stack
  test::fill_random(net, 7, 0.05f);
  const Tensor x = image(Shape{2, 3, 67, 91});
  for (int threads : {1, 2}) {
    DYNAMIC_SECTION(threads << " threads") {
      set_num_threads(threads);
      Workspace ws;
      CHECK(allocations_in_repeated_calls(net, Map<3>(x), ws) == 0);
      set_num_threads(0);
    }
  }
}

TEST_CASE("a repeated forward through every vision layer allocates nothing") {
  using Block = Residual<Sequential<Conv2D<8, 8, Conv{.kernel = 3, .pad = 1}>, BatchNorm2D<8>, ReLU,
                                    Conv2D<8, 8, Conv{.kernel = 3, .pad = 1}>, BatchNorm2D<8>>,
                         Identity, ReLU>;
  using Zoo = Sequential<Conv2D<3, 8, Conv{.kernel = 3, .pad = 1}>, GroupNorm<2, 8>, ReLU, Block, BatchNorm2D<8>,
                         MaxPool2D<Pool{.kernel = 3, .stride = 2, .padding = 1, .ceil_mode = true}>,
                         AvgPool2D<Pool{.kernel = {3, 2}, .padding = 1, .count_include_pad = false}>,
                         Upsample<Upsampling{.mode = UpsampleMode::bilinear, .scale = 2}>, Upsample<Upsampling{.size = {9, 13}}>,
                         PixelUnshuffle<1>, PixelShuffle<2>, AdaptiveMaxPool2D<5, 7>, AdaptiveAvgPool2D<3>, Flatten<>,
                         Linear<18, 4>>;
  static Zoo zoo;
  test::fill_random(zoo, 3, 0.2f);
  const Tensor x = image(Shape{3, 3, 37, 53});
  Workspace ws;
  CHECK(allocations_in_repeated_calls(zoo, Map<3>(x), ws) == 0);
}
