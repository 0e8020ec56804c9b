// Parity with PyTorch for BatchNorm2D (standalone, and folded into the convolution before
// it) and GroupNorm (oracle: layers.py), and what folding does and does not change.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "mmm/pipeline.hpp"
#include "support/oracle.hpp"

using namespace mmm;
using Catch::Matchers::Contains;
using test::OracleCase;
using test::require_close;

namespace {
template <class M, Index C>
Tensor run(const OracleCase& c, M& m) {
  c.load_model(m);
  Workspace ws;
  return m(Map<C>(c.input("x")), ws).to_tensor();
}

template <class M, Index C>
void check(const char* name, double tolerance = 1e-4) {
  OracleCase c(name);
  M m;
  require_close(run<M, C>(c, m), c.output("y"), tolerance, name);
}

// With a convolution: layers.py says why 3e-4.
constexpr double conv_tolerance = 3e-4;

using ConvBnRelu = Sequential<Conv2D<5, 13, Conv{.kernel = 3, .pad = 1}, false>, BatchNorm2D<13>, ReLU>;
}  // namespace

TEST_CASE("BatchNorm2D matches nn.BatchNorm2d in eval mode, with random running statistics") {
  check<BatchNorm2D<13>, 13>("batch_norm");
  check<BatchNorm2D<13, Norm{.eps = 1e-3f, .affine = false}>, 13>("batch_norm_plain");
}

TEST_CASE("a BatchNorm2D after a convolution is folded into it and gives what the pair gives") {
  check<ConvBnRelu, 5>("batch_norm_folded", conv_tolerance);
  check<Sequential<Conv2D<5, 13, Conv{.kernel = 3, .stride = 2}>, BatchNorm2D<13>>, 5>("batch_norm_folded_bias", conv_tolerance);
  // Not after a convolution: a pass of its own, with the ReLU after it fused into that pass.
  check<Sequential<Conv2D<5, 13, Conv{.kernel = 3, .pad = 1}>, ReLU, BatchNorm2D<13>, ReLU>, 5>("batch_norm_after_relu",
                                                                                               conv_tolerance);
}

TEST_CASE("folding leaves the loaded tensors as torch has them, and survives a second prepare()") {
  OracleCase c("batch_norm_folded");
  ConvBnRelu m;
  const Tensor first = run<ConvBnRelu, 5>(c, m);
  const Tensor conv_weight = c.tensor("model.0.weight");
  const Tensor& loaded = m.get<0>().weight();
  for (Index i = 0; i < loaded.numel(); ++i) REQUIRE(loaded[i] == conv_weight[i]);
  m.prepare();  // folds again from the unchanged tensors
  Workspace ws;
  require_close(m(Map<5>(c.input("x")), ws).to_tensor(), c.output("y"), conv_tolerance, "after a second prepare()");
  require_close(m(Map<5>(c.input("x")), ws).to_tensor(), first, 0, "the same result as the first");
}

TEST_CASE("GroupNorm matches nn.GroupNorm") {
  check<GroupNorm<4, 12>, 12>("group_norm");
  check<GroupNorm<1, 12, Norm{.eps = 1e-6f}>, 12>("group_norm_one_group");
  check<GroupNorm<12, 12, Norm{.affine = false}>, 12>("group_norm_instance_plain");
}

TEST_CASE("norms over maps list torch's names and refuse what they cannot normalize") {
  BatchNorm2D<4> bn;
  std::vector<std::string> names;
  for (const auto& [name, t] : state_dict(bn)) names.push_back(name);
  CHECK(names == std::vector<std::string>{"weight", "bias", "running_mean", "running_var"});
  CHECK(state_dict(BatchNorm2D<4, Norm{.affine = false}>{}).size() == 2);
  CHECK(GroupNorm<2, 6>::name() == "GroupNorm<2, 6>");
  CHECK(BatchNorm2D<6, Norm{.eps = 1e-3f}>::name() == "BatchNorm2D<6, eps 0.001000>");
  Workspace ws;
  Tensor x(Shape{1, 4, 3, 3}, 1.0f);
  REQUIRE_THROWS_WITH(bn(Map<4>(x), ws), Contains("BatchNorm2D<4>") && Contains("not prepared"));
  bn.prepare();
  CHECK(bn(Map<4>(x), ws).to_tensor()[0] == Approx(1.0f / std::sqrt(1.0f + 1e-5f)));
  REQUIRE_THROWS_AS((GroupNorm<2, 4>{}(Map<4>(Tensor(Shape{2, 4, 0, 3})), ws)), ShapeError);
}

TEST_CASE("a NaN input propagates as in torch: to its own output in BatchNorm2D, to its whole group in GroupNorm") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Workspace ws;
  Tensor x(Shape{2, 4, 3, 5});
  for (Index i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(i % 7) * 0.3f - 1.0f;
  const Index plane = 3 * 5, poisoned = 1 * 4 * plane + 1 * plane + 7;  // item 1, channel 1, pixel 7
  x[poisoned] = nan;

  BatchNorm2D<4> bn;
  bn.prepare();
  const Tensor b = bn(Map<4>(x), ws).to_tensor();
  for (Index i = 0; i < b.numel(); ++i) CHECK(std::isnan(b[i]) == (i == poisoned));

  // Two groups of two channels: item 1's first group (channels 0 and 1) has the NaN.
  const Tensor g = GroupNorm<2, 4>{}(Map<4>(x), ws).to_tensor();
  const Index group_begin = 1 * 4 * plane, group_end = group_begin + 2 * plane;
  for (Index i = 0; i < g.numel(); ++i) CHECK(std::isnan(g[i]) == (i >= group_begin && i < group_end));
}
