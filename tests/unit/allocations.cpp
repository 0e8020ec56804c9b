// A steady-state forward allocates nothing: every operator new in this program is counted,
// and repeated calls with the same shapes after the first two must not add to the count.
#include <catch2/catch.hpp>

#include <random>

#include "mmm/pipeline.hpp"
#include "support/random_model.hpp"
#include "support/allocation_counter.hpp"

using namespace mmm;

namespace {

template <class M, class In>
long allocations_in_repeated_calls(const M& model, const In& x, Workspace& ws) {
  (void)model(x, ws);  // sizes the workspace
  (void)model(x, ws);  // merges its blocks; from here on nothing should allocate
  return test::allocations_during([&] { (void)model(x, ws); });
}
}  // namespace

TEST_CASE("the counter sees allocations (so a zero below means something)") {
  const long before = test::allocations();
  Tensor t(Shape{1000});
  CHECK(test::allocations() - before == 1);
}

TEST_CASE("a repeated MLP forward allocates nothing") {
  using MLP = Sequential<Linear<1024, 1024>, ReLU, Linear<1024, 1024>, GELU, Linear<1024, 10>, Softmax>;
  static MLP mlp;  // ~8 MB of weights: not on the stack
  test::fill_random(mlp, 42, 0.05f);
  for (Index batch : {1, 3, 64}) {
    DYNAMIC_SECTION("batch " << batch) {
      Tensor x(Shape{batch, 1024}, 0.1f);
      Workspace ws;
      CHECK(allocations_in_repeated_calls(mlp, Feat<1024>(x), ws) == 0);
    }
  }
  SECTION("Seq input, with 1 and 2 threads") {
    Tensor x(Shape{2, 7, 1024}, 0.1f);
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      Workspace ws;
      CHECK(allocations_in_repeated_calls(mlp, Seq<1024>(x), ws) == 0);
    }
    set_num_threads(0);
  }
}

TEST_CASE("a repeated forward through norms allocates nothing") {
  using Block = Sequential<LayerNorm<96>, Linear<96, 96>, GELU, RMSNorm<96>, Linear<96, 10>, Softmax>;
  static Block block;
  test::fill_random(block, 5, 0.1f);
  Tensor x(Shape{3, 17, 96}, 0.2f);
  Workspace ws;
  CHECK(allocations_in_repeated_calls(block, Seq<96>(x), ws) == 0);
}
