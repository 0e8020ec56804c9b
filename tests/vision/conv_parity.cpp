// Parity with PyTorch for Conv2D, Conv1D and ConvTranspose2D (oracle: conv_parity.py).
#include <catch2/catch.hpp>

#include <cstdio>
#include <span>

#include "mmm/pipeline.hpp"
#include "support/oracle.hpp"

using namespace mmm;
using test::OracleCase;
using test::require_close;

namespace {

constexpr double bound = 1e-4;

// Compares with torch in float64 (see conv_parity.py and require_close_to_float64).
void check_output(const Tensor& actual, const OracleCase& c, const std::string& output, const std::string& what) {
  test::require_close_to_float64(actual, c, output, bound, what);
}

// y, ReLU(y) through Sequential's fused call, and ReLU(y + r) with the residual in the
// epilogue.
template <class C>
void check_conv2d(const std::string& name) {
  OracleCase c(name);
  C conv;
  c.load_model(conv);
  Sequential<C, ReLU> conv_relu;
  c.load_model(conv_relu.template get<0>());
  const Tensor x = c.input("x"), r = c.input("r");
  Workspace ws;
  check_output(conv(Map<C::in_channels>(x), ws).to_tensor(), c, "y", name);
  check_output(conv_relu(Map<C::in_channels>(x), ws).to_tensor(), c, "relu", name + " + ReLU");
  ws.reset();
  const Map<C::out_channels> y = conv.forward_fused(Map<C::in_channels>(x), ws, kernels::Activation::relu, r.data());
  check_output(y.to_tensor(), c, "residual_relu", name + " + residual + ReLU");
}

}  // namespace

TEST_CASE("Conv2D matches nn.Conv2d: kernel and stride per axis, dilation, groups, every padding mode") {
  check_conv2d<Conv2D<3, 16, Conv{.kernel = {3, 5}, .stride = {2, 1}, .pad = {1, 2}, .dilation = 2}>>(
      "conv_3_16_k3x5_s2x1_d2");
  constexpr Conv grouped{.kernel = {3, 5}, .stride = {2, 1}, .pad = {2, 1}, .dilation = 2, .groups = 4};
  check_conv2d<Conv2D<12, 20, grouped>>("conv_12_20_g4_zeros");
  constexpr auto with_mode = [](Conv c, PaddingMode m) { return c.padding_mode = m, c; };
  check_conv2d<Conv2D<12, 20, with_mode(grouped, PaddingMode::reflect)>>("conv_12_20_g4_reflect");
  check_conv2d<Conv2D<12, 20, with_mode(grouped, PaddingMode::replicate)>>("conv_12_20_g4_replicate");
  check_conv2d<Conv2D<12, 20, with_mode(grouped, PaddingMode::circular)>>("conv_12_20_g4_circular");
}

TEST_CASE("Conv2D with at most 4 output channels (the direct kernel) matches nn.Conv2d") {
  check_conv2d<Conv2D<16, 3, Conv{.kernel = 3, .pad = 1}>>("narrow_16_3_k3");
  check_conv2d<Conv2D<5, 1, Conv{.kernel = {3, 5}, .stride = {2, 1}, .pad = {2, 4}, .dilation = 2,
                                 .padding_mode = PaddingMode::reflect}>>("narrow_5_1_k3x5_s2x1_d2_reflect");
  check_conv2d<Conv2D<7, 4, Conv{.kernel = 2}, false>>("narrow_7_4_k2_nopad_nobias");
}

TEST_CASE("Conv2D matches nn.Conv2d with padding='same'") {
  check_conv2d<Conv2D<5, 7, Conv{.kernel = {4, 3}, .pad = Pad::same, .dilation = {1, 2}}>>("conv_5_7_k4x3_same");
  check_conv2d<Conv2D<6, 9, Conv{.kernel = 3, .pad = Pad::same, .padding_mode = PaddingMode::reflect}>>(
      "conv_6_9_k3_same_reflect");
}

TEST_CASE("Conv2D matches nn.Conv2d depthwise (with a channel multiplier, strides, dilation, padding modes)") {
  check_conv2d<Conv2D<24, 24, Conv{.kernel = 3, .pad = 1, .groups = 24}>>("depthwise_24_k3");
  check_conv2d<Conv2D<8, 16, Conv{.kernel = 5, .stride = 2, .pad = 2, .groups = 8, .padding_mode = PaddingMode::replicate}>>(
      "depthwise_8_16_k5s2_replicate");
  check_conv2d<Conv2D<10, 10, Conv{.kernel = 3, .pad = 2, .dilation = 2, .groups = 10, .padding_mode = PaddingMode::circular}>>(
      "depthwise_10_k3_d2_circular");
  STATIC_REQUIRE(Conv2D<24, 24, Conv{.kernel = 3, .pad = 1, .groups = 24}>::depthwise);
}

TEST_CASE("Conv2D matches nn.Conv2d for 1×1, a 7×7 stride-2 stem, wide and strided kernels") {
  check_conv2d<Conv2D<37, 29>>("pointwise_37_29");
  check_conv2d<Conv2D<40, 70, Conv{.stride = 2}, false>>("pointwise_40_70_s2_nobias");
  check_conv2d<Conv2D<3, 64, Conv{.kernel = 7, .stride = 2, .pad = 3}, false>>("stem_3_64_k7s2");
  check_conv2d<Conv2D<64, 96, Conv{.kernel = 3, .pad = 1}>>("conv_64_96_k3");
  check_conv2d<Conv2D<33, 65, Conv{.kernel = 2, .stride = 3}>>("conv_33_65_k2s3");
}

TEST_CASE("Conv2D with a BatchNorm folded in matches nn.BatchNorm2d(nn.Conv2d(x)) in eval mode") {
  OracleCase c("conv_bn_fold");
  Conv2D<16, 24, Conv{.kernel = 3, .pad = 1}, false> conv;
  c.load_model(conv);
  const Tensor scale = c.input("scale"), shift = c.input("shift"), x = c.input("x");
  const Tensor loaded = conv.weight();
  conv.fold_affine(scale.span(), shift.span());
  Workspace ws;
  REQUIRE_THROWS_WITH(conv(Map<16>(x), ws), Catch::Matchers::Contains("not prepared"));
  conv.prepare();
  check_output(conv(Map<16>(x), ws).to_tensor(), c, "y", "conv_bn_fold");
  // The state_dict keeps the weights as loaded; folding again replaces the fold, and
  // preparing again changes nothing.
  CHECK(std::equal(loaded.span().begin(), loaded.span().end(), conv.weight().span().begin()));
  conv.fold_affine(scale.span(), shift.span());
  conv.prepare();
  conv.prepare();
  check_output(conv(Map<16>(x), ws).to_tensor(), c, "y", "conv_bn_fold, folded twice");
  REQUIRE_THROWS_AS(conv.fold_affine(std::span(scale.data(), 23), shift.span()), ShapeError);
}

TEST_CASE("Conv2D propagates NaN inputs to the outputs whose window holds them, as torch") {
  OracleCase a("conv_nan");
  Conv2D<4, 6, Conv{.kernel = 3, .pad = 1}> conv;
  a.load_model(conv);
  Workspace ws;
  const Tensor y = conv(Map<4>(a.input("x")), ws).to_tensor();
  check_output(y, a, "y", "conv_nan");  // NaN exactly where torch has NaN
  Index nans = 0;
  for (Index i = 0; i < y.numel(); ++i) nans += std::isnan(y[i]) ? 1 : 0;
  CHECK(nans == 6 * 9);  // every output channel, the 3×3 positions around the NaN

  OracleCase b("depthwise_nan");
  Conv2D<4, 4, Conv{.kernel = 3, .pad = 1, .groups = 4}> depthwise;
  b.load_model(depthwise);
  const Tensor z = depthwise(Map<4>(b.input("x")), ws).to_tensor();
  check_output(z, b, "y", "depthwise_nan");
  nans = 0;
  for (Index i = 0; i < z.numel(); ++i) nans += std::isnan(z[i]) ? 1 : 0;
  CHECK(nans == 9);  // its own channel only
}

namespace {
// y, GELU(y) through Sequential's fused call, and ReLU(y + r), over each item's own length.
template <class C>
void check_conv1d(const std::string& name) {
  OracleCase c(name);
  C conv;
  c.load_model(conv);
  Sequential<C, GELU> conv_gelu;
  c.load_model(conv_gelu.template get<0>());
  const Tensor x = c.input("x"), r = c.input("r");
  const IntTensor lengths = c.int_input("lengths");
  const Seq<C::in_channels> in(x, lengths.data());
  Workspace ws;
  const Seq<C::out_channels> y = conv(in, ws);
  for (Index b = 0; b < in.batch; ++b) CHECK(y.lengths[b] == C::output_length(lengths[b]));
  check_output(y.to_tensor(), c, "y", name);
  check_output(conv_gelu(in, ws).to_tensor(), c, "gelu", name + " + GELU");
  ws.reset();
  check_output(conv.forward_fused(in, ws, kernels::Activation::relu, r.data()).to_tensor(), c, "residual_relu",
               name + " + residual + ReLU");
}
}  // namespace

TEST_CASE("Conv1D matches nn.Conv1d over time-major sequences, each item over its own length") {
  check_conv1d<Conv1D<80, 96, Conv{.kernel = 3, .pad = 1}>>("conv1d_80_96_k3");
  check_conv1d<Conv1D<96, 96, Conv{.kernel = 3, .stride = 2, .pad = 1}>>("conv1d_96_96_k3s2_lengths");
  check_conv1d<Conv1D<12, 20, Conv{.kernel = 5, .pad = 4, .dilation = 2, .groups = 4, .padding_mode = PaddingMode::reflect}>>(
      "conv1d_12_20_k5d2g4_reflect_lengths");
  check_conv1d<Conv1D<24, 24, Conv{.kernel = 7, .pad = 3, .groups = 24, .padding_mode = PaddingMode::replicate}>>(
      "conv1d_depthwise_24_k7_replicate_lengths");
  check_conv1d<Conv1D<8, 6, Conv{.kernel = 4, .pad = Pad::same}>>("conv1d_8_6_k4_same");
  check_conv1d<Conv1D<10, 7, Conv{.kernel = 3, .stride = 3, .pad = 1, .padding_mode = PaddingMode::circular}, false>>(
      "conv1d_10_7_k3s3_nobias_circular");
  STATIC_REQUIRE(Conv1D<24, 24, Conv{.kernel = 7, .pad = 3, .groups = 24}>::depthwise);
}

TEST_CASE("ConvTranspose2D matches nn.ConvTranspose2d: stride, padding and output_padding per axis, groups, dilation") {
  check_conv2d<ConvTranspose2D<12, 8, Conv{.kernel = {3, 4}, .stride = {2, 3}, .pad = {1, 2}, .groups = 4,
                                           .output_padding = {1, 2}}>>("conv_transpose_12_8_k3x4_s2x3_op_g4");
  check_conv2d<ConvTranspose2D<16, 10, Conv{.kernel = 4, .stride = 2, .pad = 1}>>("conv_transpose_16_10_k4s2");
  check_conv2d<ConvTranspose2D<6, 9, Conv{.kernel = 3, .dilation = 2}, false>>("conv_transpose_6_9_k3d2_nobias");
  STATIC_REQUIRE(ConvTranspose2D<16, 10, Conv{.kernel = 4, .stride = 2, .pad = 1}>::output_height(9) == 18);
}

TEST_CASE("ConvTranspose2D by phase convolutions (kernel a multiple of the stride) matches nn.ConvTranspose2d") {
  using Odd = ConvTranspose2D<12, 8, Conv{.kernel = {6, 2}, .stride = {3, 2}, .pad = {2, 0}, .groups = 2,
                                          .output_padding = {1, 1}}>;
  using Wide = ConvTranspose2D<33, 17, Conv{.kernel = 4, .stride = 2, .pad = 1}>;
  using Unit = ConvTranspose2D<5, 6, Conv{.kernel = {3, 2}, .pad = {1, 0}}, false>;
  using TooPadded = ConvTranspose2D<4, 5, Conv{.kernel = 4, .stride = 2, .pad = 3}>;
  STATIC_REQUIRE(kernels::ConvTransposePhases::applicable(Odd::params));
  STATIC_REQUIRE(kernels::ConvTransposePhases::applicable(Wide::params));
  STATIC_REQUIRE(kernels::ConvTransposePhases::applicable(Unit::params));
  STATIC_REQUIRE(kernels::ConvTransposePhases::applicable(ConvTranspose2D<16, 10, Conv{.kernel = 4, .stride = 2, .pad = 1}>::params));
  STATIC_REQUIRE(!kernels::ConvTransposePhases::applicable(TooPadded::params));  // the general path
  check_conv2d<Odd>("conv_transpose_12_8_k6x2_s3x2_op_g2");
  check_conv2d<Wide>("conv_transpose_33_17_k4s2");
  check_conv2d<Unit>("conv_transpose_5_6_k3x2_s1_nobias");
  check_conv2d<TooPadded>("conv_transpose_4_5_k4s2p3");
}
