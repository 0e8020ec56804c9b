// Parity with PyTorch for MaxPool2D, AvgPool2D, AdaptiveAvgPool2D and AdaptiveMaxPool2D
// (oracle: layers.py), the direct loops against the same cases, and the errors bad sizes raise.
#include <catch2/catch.hpp>

#include <cmath>

#include "mmm/pipeline.hpp"
#include "support/oracle.hpp"

using namespace mmm;
using Catch::Matchers::Contains;
using test::OracleCase;
using test::require_close;

namespace {
template <class M, Index C>
void check(const char* name, const M& m = M{}, double tolerance = 1e-4) {
  OracleCase c(name);
  const Tensor x = c.input("x");
  Workspace ws;
  require_close(m(Map<C>(x), ws).to_tensor(), c.output("y"), tolerance, name);
}

// The direct loop of the pooling kernel on a case, through the same window as the module.
template <class M>
void check_direct(const char* name, bool max) {
  OracleCase c(name);
  const Tensor x = c.input("x"), expected = c.output("y");
  Tensor y(expected.shape());
  const auto w = M::geometry::window;
  const Index planes = x.dim(0) * x.dim(1);
  if (max)
    kernels::Pool::max_pool2d_direct(x.data(), y.data(), planes, x.dim(2), x.dim(3), y.dim(2), y.dim(3), w);
  else
    kernels::Pool::avg_pool2d_direct(x.data(), y.data(), planes, x.dim(2), x.dim(3), y.dim(2), y.dim(3), w,
                                     {false, 0});
  require_close(y, expected, 1e-4, std::string(name) + " (direct loop)");
}

using MaxOdd = MaxPool2D<Pool{.kernel = {3, 5}, .stride = {2, 1}, .padding = {1, 2}, .dilation = {2, 1}, .ceil_mode = true}>;
using AvgOddCeilExcl =
    AvgPool2D<Pool{.kernel = {3, 5}, .stride = {2, 3}, .padding = {1, 2}, .ceil_mode = true, .count_include_pad = false}>;
}  // namespace

TEST_CASE("MaxPool2D matches nn.MaxPool2d") {
  check<MaxPool2D<Pool{.kernel = 3, .stride = 2, .padding = 1}>, 5>("max_k3s2p1");
  check<MaxOdd, 5>("max_odd");
  check<MaxPool2D<Pool{.kernel = 2, .ceil_mode = true}>, 5>("max_ceil");
  check<MaxPool2D<Pool{.kernel = 3, .stride = 1, .padding = 1, .dilation = 2}>, 5>("max_dilation");
  check<MaxPool2D<Pool{.kernel = {70, 3}, .stride = {3, 2}, .padding = {4, 1}}>, 3>("max_tall");  // > 64 rows: direct rows
}

TEST_CASE("MaxPool2D and AdaptiveMaxPool2D propagate NaN and keep ±inf as torch does") {
  check<MaxPool2D<Pool{.kernel = 3, .stride = 2, .padding = 1}>, 5>("max_nan");
  check<AdaptiveMaxPool2D<5, 7>, 5>("adaptive_max_nan");
  Tensor x(Shape{1, 1, 2, 2}, 1.0f);
  x[3] = std::nanf("");
  Workspace ws;
  const Tensor y = MaxPool2D<Pool{.kernel = 2}>{}(Map<1>(x), ws).to_tensor();
  CHECK(std::isnan(y[0]));
}

TEST_CASE("AvgPool2D matches nn.AvgPool2d with every divisor rule") {
  check<AvgPool2D<Pool{.kernel = 3, .stride = 2, .padding = 1}>, 5>("avg_k3s2p1");
  check<AvgPool2D<Pool{.kernel = 3, .stride = 2, .padding = 1, .count_include_pad = false}>, 5>("avg_k3s2p1_exclude_pad");
  check<AvgPool2D<Pool{.kernel = {3, 5}, .stride = {2, 3}, .padding = {1, 2}, .ceil_mode = true}>, 5>("avg_odd_ceil");
  check<AvgOddCeilExcl, 5>("avg_odd_ceil_exclude_pad");
  check<AvgPool2D<Pool{.kernel = 3, .stride = 2, .padding = 1, .divisor_override = 7}>, 5>("avg_divisor");
  check<AvgPool2D<Pool{.kernel = {4, 3}}>, 5>("avg_default_stride");
}

TEST_CASE("the direct pooling loops match torch too") {
  check_direct<MaxOdd>("max_odd", true);
  check_direct<AvgOddCeilExcl>("avg_odd_ceil_exclude_pad", false);
}

TEST_CASE("AdaptiveAvgPool2D and AdaptiveMaxPool2D match torch's bins, sizes in the type or at run time") {
  check<AdaptiveAvgPool2D<5, 7>, 5>("adaptive_avg_5x7");
  check<AdaptiveAvgPool2D<1>, 5>("adaptive_avg_1");
  check<AdaptiveAvgPool2D<41, 60>, 5>("adaptive_avg_grow");
  check<AdaptiveMaxPool2D<5, 7>, 5>("adaptive_max_5x7");
  check<AdaptiveMaxPool2D<>, 5>("adaptive_max_grow", AdaptiveMaxPool2D<>(41, 60));
  AdaptiveAvgPool2D<> runtime;
  runtime.set_output_size(5, 7);
  check<AdaptiveAvgPool2D<>, 5>("adaptive_avg_5x7", runtime);
}

TEST_CASE("pooling a map smaller than the window, or to an empty size, is an error naming the module and sizes") {
  Workspace ws;
  Tensor small(Shape{2, 3, 2, 9}, 1.0f);
  using Big = MaxPool2D<Pool{.kernel = 3, .stride = 2}>;
  REQUIRE_THROWS_AS(Big{}(Map<3>(small), ws), ShapeError);
  REQUIRE_THROWS_WITH(Big{}(Map<3>(small), ws),
                      Contains("MaxPool2D<kernel 3, stride 2>") && Contains("2×9") && Contains("0×4"));
  using Dilated = MaxPool2D<Pool{.kernel = 2, .stride = 1, .dilation = 3}>;  // reaches 4 rows
  Tensor three(Shape{1, 3, 3, 9}, 1.0f);
  REQUIRE_THROWS_WITH(Dilated{}(Map<3>(three), ws), Contains("dilation 3") && Contains("3×9"));
  REQUIRE_THROWS_AS((AvgPool2D<Pool{.kernel = {1, 4}}>{}(Map<3>(Tensor(Shape{1, 3, 5, 3}, 1.0f)), ws)), ShapeError);
  REQUIRE_THROWS_AS(AdaptiveAvgPool2D<>(0, 3), RangeError);
  REQUIRE_THROWS_WITH(AdaptiveMaxPool2D<>(4, -1), Contains("AdaptiveMaxPool2D<>") && Contains("4×-1"));
  REQUIRE_THROWS_WITH(AdaptiveAvgPool2D<>{}(Map<3>(small), ws), Contains("no output size"));
  REQUIRE_THROWS_AS(AdaptiveAvgPool2D<2>{}(Map<3>(Tensor(Shape{1, 3, 0, 4})), ws), ShapeError);
}

TEST_CASE("pooling modules name themselves with their options") {
  CHECK(MaxOdd::name() == "MaxPool2D<kernel 3×5, stride 2×1, padding 1×2, dilation 2×1, ceil_mode>");
  CHECK(AvgOddCeilExcl::name() == "AvgPool2D<kernel 3×5, stride 2×3, padding 1×2, ceil_mode, count_include_pad=False>");
  CHECK(AdaptiveAvgPool2D<7>::name() == "AdaptiveAvgPool2D<7>");
  CHECK(AdaptiveMaxPool2D<3, 4>::name() == "AdaptiveMaxPool2D<3×4>");
  STATIC_REQUIRE(std::is_same_v<MaxOdd::output<Map<17>>, Map<17>>);
}
