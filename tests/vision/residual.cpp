// Parity with PyTorch for Residual (fused into the body's last GEMM and not), ResNet's
// BasicBlock and Bottleneck (torchvision's, with and without downsample), and the three forms
// of Flatten (oracle: layers.py); how a Residual uses its Workspace; the errors.
#include <catch2/catch.hpp>

#include "mmm/pipeline.hpp"
#include "support/oracle.hpp"
#include "support/random_model.hpp"

using namespace mmm;
using Catch::Matchers::Contains;
using test::OracleCase;
using test::require_close;

namespace {
// Convolutions' outputs near zero are differences of sums of many products: layers.py says
// why and how much float32 gives there.
constexpr double conv_tolerance = 3e-4;

template <class M, class Kind>
void check(const char* name, double tolerance = conv_tolerance) {
  OracleCase c(name);
  M m;
  c.load_model(m);
  Workspace ws;
  require_close(m(Kind(c.input("x")), ws).to_tensor(), c.output("y"), tolerance, name);
}

template <Index In, Index Out, Index Stride = 1, bool Bias = true>
using Conv3 = Conv2D<In, Out, Conv{.kernel = 3, .stride = Stride, .pad = 1}, Bias>;

using IdentityBlock = Residual<Sequential<Conv3<6, 6>, BatchNorm2D<6>, ReLU, Conv3<6, 6>, BatchNorm2D<6>>, Identity, ReLU>;
using ProjectionBlock = Residual<Sequential<Conv3<6, 8, 2>, BatchNorm2D<8>, ReLU, Conv3<8, 8>>,
                                 Sequential<Conv2D<6, 8, Conv{.kernel = 1, .stride = 2}>, BatchNorm2D<8>>>;
using UnfusedBlock = Residual<Sequential<Conv3<6, 6>, ReLU>, Identity, GELU>;
}  // namespace

TEST_CASE("Residual matches body(x) + shortcut(x), the add in the last convolution's epilogue") {
  STATIC_REQUIRE(detail::FusesResidual<Sequential<Conv3<6, 6>, BatchNorm2D<6>, ReLU, Conv3<6, 6>, BatchNorm2D<6>>, Map<6>, Map<6>>);
  check<IdentityBlock, Map<6>>("residual_identity");
  check<ProjectionBlock, Map<6>>("residual_projection");
  check<Sequential<Residual<Conv3<6, 6>>, ReLU>, Map<6>>("residual_then_relu");
}

TEST_CASE("Residual adds in a pass of its own when the body cannot take the residual") {
  STATIC_REQUIRE_FALSE(detail::FusesResidual<Sequential<Conv3<6, 6>, ReLU>, Map<6>, Map<6>>);
  check<UnfusedBlock, Map<6>>("residual_unfused");
  check<Residual<Sequential<Linear<37, 37>, Tanh>>, Feat<37>>("residual_feat", 1e-4);
}

TEST_CASE("BasicBlock and Bottleneck match torchvision's, with their downsample paths") {
  check<BasicBlock<8, 8>, Map<8>>("basic_block");
  check<BasicBlock<8, 16, 2>, Map<8>>("basic_block_stride2");
  check<Bottleneck<16, 4>, Map<16>>("bottleneck");
  check<Bottleneck<8, 4, 2>, Map<8>>("bottleneck_stride2");
  STATIC_REQUIRE_FALSE(BasicBlock<16, 16>::has_downsample);
  STATIC_REQUIRE(Bottleneck<64, 64>::has_downsample);  // 64 → 256 channels
}

TEST_CASE("Flatten<> takes its size from the module after it; FlattenTo<D> takes any H×W with that size") {
  using Net = Sequential<Conv2D<3, 4, Conv{.kernel = 3, .stride = 2}>, ReLU, Flatten<>, Linear<4 * 8 * 11, 5>>;
  STATIC_REQUIRE(std::is_same_v<Net::output<Map<3>>, Feat<5>>);
  check<Net, Map<3>>("flatten_from_next");
  STATIC_REQUIRE_FALSE(Flatten<>::accepts<Map<4>>);  // alone it cannot know its size
  STATIC_REQUIRE(FlattenTo<12>::accepts<Map<4>>);
  STATIC_REQUIRE_FALSE(FlattenTo<12>::accepts<Map<5>>);
  Tensor x(Shape{2, 4, 1, 3}, 1.0f);
  Workspace ws;
  CHECK(FlattenTo<12>{}(Map<4>(x), ws).batch == 2);
  Tensor wrong(Shape{2, 4, 2, 2}, 1.0f);
  REQUIRE_THROWS_WITH(FlattenTo<12>{}(Map<4>(wrong), ws), Contains("FlattenTo<12>") && Contains("4×2×2") && Contains("16"));
  Net net;
  test::fill_random(net, 3, 0.1f);
  REQUIRE_THROWS_AS(net(Map<3>(Tensor(Shape{1, 3, 17, 25}, 1.0f)), ws), ShapeError);
}

TEST_CASE("a Residual keeps x and the shortcut until the add, and nothing else of its body") {
  ProjectionBlock block;
  test::fill_random(block, 11, 0.2f);
  Tensor x(Shape{2, 6, 37, 53}, 0.5f);
  Workspace ws;
  const Map<8> y = block(Map<6>(x), ws);
  // What is left: the output only (x is the caller's; the shortcut and the body's first
  // map are freed). 2·8·19·27 floats, rounded to the Workspace's 64-byte granule.
  const std::size_t out_bytes = (2 * 8 * 19 * 27 * sizeof(float) + 63) / 64 * 64;
  CHECK(ws.in_use() == out_bytes);
  CHECK(y.height == 19);
  CHECK(y.width == 27);
}

TEST_CASE("a Residual whose body and shortcut give different shapes is an error naming both") {
  using Shrinking = Residual<Conv2D<3, 3, Conv{.kernel = 3}>>;  // no padding: 2 rows and columns fewer
  Shrinking fused;
  test::fill_random(fused, 5, 0.1f);
  Workspace ws;
  Tensor x(Shape{1, 3, 9, 9}, 1.0f);
  REQUIRE_THROWS_AS(fused(Map<3>(x), ws), ShapeError);
  REQUIRE_THROWS_WITH(fused(Map<3>(x), ws), Contains("[1, 3, 7, 7]") && Contains("[1, 3, 9, 9]"));
  Residual<Sequential<Conv2D<3, 3, Conv{.kernel = 3}>, ReLU>> unfused;
  test::fill_random(unfused, 5, 0.1f);
  REQUIRE_THROWS_WITH(unfused(Map<3>(x), ws), Contains("Residual<") && Contains("[1, 3, 7, 7]") && Contains("[1, 3, 9, 9]"));
  // Kinds that differ do not compile: Residual<Conv2D<3, 4>> gives Map<4> for a Map<3> shortcut.
  STATIC_REQUIRE_FALSE(Residual<Conv2D<3, 4>>::accepts<Map<3>>);
  STATIC_REQUIRE(std::is_same_v<Residual<Conv2D<3, 4>>::expects<Map<3>>, body_and_shortcut_give<Map<4>, Map<3>>>);
}

TEST_CASE("Residual names the body and the shortcut as a torch module with self.body and self.shortcut does") {
  ProjectionBlock block;
  std::vector<std::string> names;
  for (const auto& [name, t] : state_dict(block)) names.push_back(name);
  CHECK(names.front() == "body.0.weight");
  CHECK(names.back() == "shortcut.1.running_var");
  CHECK(state_dict(IdentityBlock{}).size() == 12);  // 2 convs × 2 + 2 BNs × 4
}
