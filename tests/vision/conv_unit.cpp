// The convolution kernels against a plain reference over many random geometries (tiles,
// bands, thread splits, groups, every padding mode), and Conv2D's contract: errors,
// NaN propagation, fold_affine, allocation-free steady state.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "mmm/pipeline.hpp"
#include "support/allocation_counter.hpp"
#include "support/random_model.hpp"
#include "vision/conv_reference.hpp"

using namespace mmm;
using Catch::Matchers::Contains;

namespace {

std::vector<float> random_vector(std::mt19937& rng, Index n, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

struct Case {
  kernels::ConvParams p;
  Index batch, h, w;
  bool residual;
  kernels::Activation act;
};

std::string describe(const Case& c) {
  const auto& p = c.p;
  return std::to_string(c.batch) + "x" + std::to_string(p.in_channels) + "x" + std::to_string(c.h) + "x" +
         std::to_string(c.w) + " -> " + std::to_string(p.out_channels) + " k" + std::to_string(p.kernel_h) + "x" +
         std::to_string(p.kernel_w) + " s" + std::to_string(p.stride_h) + "x" + std::to_string(p.stride_w) + " d" +
         std::to_string(p.dilation_h) + "x" + std::to_string(p.dilation_w) + " pad " + std::to_string(p.pad_top) + "," +
         std::to_string(p.pad_bottom) + "," + std::to_string(p.pad_left) + "," + std::to_string(p.pad_right) + " g" +
         std::to_string(p.groups) + " mode " + kernels::name(p.padding_mode) + (c.residual ? " +residual" : "") +
         " act " + std::string(kernels::name(c.act));
}

// Runs the implicit-GEMM kernel (or the depthwise one) and the reference on one case.
double run_case(const Case& c, std::mt19937& rng, bool depthwise) {
  const auto& p = c.p;
  const Index oh = p.out_h(c.h), ow = p.out_w(c.w);
  const auto x = random_vector(rng, c.batch * p.in_channels * c.h * c.w);
  const auto w = random_vector(rng, p.out_channels * p.depth(), 0.3f);
  const auto b = random_vector(rng, p.out_channels);
  const auto r = random_vector(rng, c.batch * p.out_channels * oh * ow);
  std::vector<float> y(static_cast<std::size_t>(c.batch * p.out_channels * oh * ow), NAN);
  const kernels::ConvEpilogue ep{b.data(), c.residual ? r.data() : nullptr, c.act};
  if (depthwise) {
    std::vector<float> ring(static_cast<std::size_t>(kernels::depthwise_scratch(p, c.batch, c.h, c.w)));
    kernels::depthwise_conv2d(p, x.data(), c.batch, c.h, c.w, w.data(), y.data(), ep, ring.data());
  } else {
    const kernels::PackedConvWeights packed(w.data(), p.out_channels, p.groups, p.depth());
    const auto need = kernels::conv2d_scratch(p, c.batch, c.h, c.w);
    std::vector<std::int32_t> offsets(static_cast<std::size_t>(need.offsets));
    std::vector<float> bands(static_cast<std::size_t>(need.floats));
    kernels::conv2d(p, x.data(), c.batch, c.h, c.w, packed, y.data(), ep, offsets.data(), bands.data());
  }
  const auto e = test::reference_conv2d(p, x.data(), c.batch, c.h, c.w, w.data(), b.data(),
                                        c.residual ? r.data() : nullptr, c.act);
  return test::worst_error_ratio(y.data(), e);
}

Case random_case(std::mt19937& rng, bool depthwise) {
  auto pick = [&](Index lo, Index hi) { return std::uniform_int_distribution<Index>(lo, hi)(rng); };
  Case c{};
  auto& p = c.p;
  p.groups = depthwise ? pick(1, 9) : (pick(0, 2) == 0 ? pick(2, 4) : 1);
  p.in_channels = depthwise ? p.groups : p.groups * pick(1, 11);
  p.out_channels = depthwise ? p.groups * pick(1, 3) : p.groups * pick(1, 40);
  p.kernel_h = pick(1, 5);
  p.kernel_w = pick(1, 5);
  p.stride_h = pick(1, 3);
  p.stride_w = pick(1, 3);
  p.dilation_h = pick(1, 2);
  p.dilation_w = pick(1, 2);
  p.padding_mode = static_cast<kernels::PaddingMode>(pick(0, 3));
  c.batch = pick(1, 3);
  c.h = pick(4, 23);
  c.w = pick(4, 37);
  const Index max_pad_h = std::min<Index>(3, c.h - 1), max_pad_w = std::min<Index>(3, c.w - 1);
  p.pad_top = pick(0, max_pad_h);
  p.pad_bottom = pick(0, 1) ? p.pad_top : pick(0, max_pad_h);
  p.pad_left = pick(0, max_pad_w);
  p.pad_right = pick(0, 1) ? p.pad_left : pick(0, max_pad_w);
  if (pick(0, 3) == 0) p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 0;
  c.residual = pick(0, 1) == 1;
  c.act = static_cast<kernels::Activation>(pick(0, 6));
  return c;
}

void check_random_cases(bool depthwise, int count) {
  const unsigned seed = std::random_device{}();
  std::printf("conv kernels (%s): seed %u\n", depthwise ? "depthwise" : "implicit GEMM", seed);
  std::mt19937 rng(seed);
  int run = 0;
  while (run < count) {
    const Case c = random_case(rng, depthwise);
    if (c.p.out_h(c.h) <= 0 || c.p.out_w(c.w) <= 0) continue;
    ++run;
    INFO("seed " << seed << ", case " << run << ": " << describe(c));
    CHECK(run_case(c, rng, depthwise) <= 1e-5);  // |error| ≤ 1e-5 · Σ|terms|
  }
}

}  // namespace

// Threads for a scope, every size of problem split between them, and optionally blocks
// of fewer input bytes (more bands) and of fewer depth steps (partial tiles kept between
// passes); restored afterwards.
struct ConvSettings {
  kernels::detail::ConvBlocking saved = kernels::detail::conv_blocking();
  explicit ConvSettings(int threads, Index block_bytes = 0, Index depth = 0) {
    set_num_threads(threads);
    auto& blocking = kernels::detail::conv_blocking();
    if (threads > 1) blocking.min_parallel_flops = 0;
    if (block_bytes > 0) blocking.block_bytes = block_bytes;
    if (depth > 0) blocking.depth = depth;
  }
  ~ConvSettings() {
    kernels::detail::conv_blocking() = saved;
    set_num_threads(0);
  }
};

TEST_CASE("the implicit-GEMM convolution matches a plain convolution over random geometries") {
  SECTION("default blocking, 1 thread") {
    const ConvSettings settings(1);
    check_random_cases(false, 150);
  }
  SECTION("blocks of a few rows (bands refilled), 2 threads") {
    const ConvSettings settings(2, 1024);
    check_random_cases(false, 120);
  }
  SECTION("the depth in passes of 7 steps (partial tiles), 2 threads") {
    const ConvSettings settings(2, 0, 7);
    check_random_cases(false, 80);
  }
}

namespace {

// The vectorised transposing store of Arch against the element-by-element one, for every
// tile shape and epilogue: the same values in [0, rows) of each written plane, nothing
// written past them or into planes past cols.
template <class Arch>
void check_transposed_store(const char* arch_name) {
  using namespace kernels::detail;
  constexpr int MR = ConvTraits<Arch>::mr, NR = ConvTraits<Arch>::nr, TR = ConvTraits<Arch>::tile_rows;
  const unsigned seed = std::random_device{}();
  std::printf("transposed tile store (%s): seed %u\n", arch_name, seed);
  std::mt19937 rng(seed);
  constexpr Index ld = 29;  // plane stride; planes hold rows ≤ MR values and a margin
  alignas(64) float tile[TR * NR];
  const std::vector<float> bias = random_vector(rng, NR), residual = random_vector(rng, NR * ld);
  const float sentinel = -12345.0f;
  for (const auto act : {kernels::Activation::none, kernels::Activation::relu, kernels::Activation::sigmoid})
    for (int with = 0; with < 4; ++with)
      for (int rows = 1; rows <= MR; ++rows)
        for (int cols = 1; cols <= NR; ++cols) {
          for (float& t : tile) t = std::normal_distribution<float>()(rng);
          const ConvTileEpilogue ep{with & 1 ? bias.data() : nullptr, with & 2 ? residual.data() : nullptr, ld, act};
          std::vector<float> got(NR * ld, sentinel), want(NR * ld, sentinel);
          store_tile_transposed<Arch>(tile, rows, cols, got.data(), ld, ep);
          store_tile_transposed_scalar(tile, NR, rows, cols, want.data(), ld, ep);
          float worst = 0.0f;
          for (Index i = 0; i < NR * ld; ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
          INFO(arch_name << ", seed " << seed << ": rows " << rows << ", cols " << cols << ", activation "
                         << kernels::name(act) << ", bias " << (with & 1) << ", residual " << (with & 2));
          REQUIRE(worst <= 1e-6f);  // sentinels compared too: exactly the same elements written
        }
}

}  // namespace

TEST_CASE("the vectorised transposing tile store writes what the scalar one writes, for every tile shape") {
  check_transposed_store<kernels::detail::kernel_arch>("compiled architecture");
#if defined(__AVX__) && XSIMD_WITH_AVX
  if constexpr (!std::is_same_v<kernels::detail::kernel_arch, xsimd::avx>)
    check_transposed_store<xsimd::avx>("avx");  // AVX-512 hosts test the AVX2 machines' path too
#endif
}

TEST_CASE("the depthwise convolution matches a plain convolution over random geometries") {
  {
    const ConvSettings settings(1);
    check_random_cases(true, 120);
  }
  const ConvSettings settings(2);
  check_random_cases(true, 60);
}

TEST_CASE("Conv2D names its geometry and refuses maps too small for it, with the sizes") {
  using C = Conv2D<12, 20, Conv{.kernel = {3, 5}, .stride = {2, 1}, .pad = {2, 1}, .dilation = 2, .groups = 4,
                              .padding_mode = PaddingMode::reflect}>;
  CHECK(C::name() == "Conv2D<12, 20, kernel 3×5, stride 2×1, pad 2×1, dilation 2, groups 4, reflect>");
  CHECK(Conv2D<3, 8, Conv{.kernel = 3, .pad = Pad::same}, false>::name() == "Conv2D<3, 8, kernel 3, stride 1, pad same, no bias>");
  STATIC_REQUIRE(C::output_height(37) == 19);  // (37 + 4 − 2·2 − 1)/2 + 1
  STATIC_REQUIRE(C::output_width(53) == 47);   // 53 + 2 − 2·4 − 1 + 1
  STATIC_REQUIRE(C::in_channels == 12 && C::out_channels == 20);
  STATIC_REQUIRE(Conv2D<4, 4, Conv{.kernel = 3, .pad = 1}>::output_size(9) == 9);

  C conv;
  test::fill_random(conv, 1, 0.1f);
  Workspace ws;
  // The dilated kernel spans 5×9; padded, a 1×4 map is 5×6.
  Tensor small(Shape{1, 12, 1, 4});
  REQUIRE_THROWS_AS(conv(Map<12>(small), ws), ShapeError);
  REQUIRE_THROWS_WITH(conv(Map<12>(small), ws), Contains(C::name()) && Contains("1×4 map") && Contains("5×9"));
  // Reflect padding needs pads smaller than the sides: 2 rows of padding on a 2-row map.
  Tensor thin(Shape{1, 12, 2, 40});
  REQUIRE_THROWS_WITH(conv(Map<12>(thin), ws), Contains(C::name()) && Contains("reflect") && Contains("2×40"));
  Tensor empty(Shape{1, 12, 0, 40});
  REQUIRE_THROWS_AS(conv(Map<12>(empty), ws), ShapeError);
  Tensor fits(Shape{2, 12, 3, 9});
  const Map<20> y = conv(Map<12>(fits), ws);
  CHECK((y.batch == 2 && y.height == 2 && y.width == 3));
}

TEST_CASE("Conv2D's forward allocates nothing once its Workspace is sized") {
  using Block = Sequential<Conv2D<16, 32, Conv{.kernel = 3, .stride = 2, .pad = 1}>, ReLU,
                           Conv2D<32, 32, Conv{.kernel = 3, .pad = 1, .groups = 32, .padding_mode = PaddingMode::reflect}>,
                           Conv2D<32, 24>, SiLU, Conv2D<24, 8, Conv{.kernel = {1, 3}, .pad = {0, 1}, .groups = 2}>>;
  static Block model;
  test::fill_random(model, 5, 0.2f);
  std::mt19937 rng(3);
  const auto data = random_vector(rng, 2 * 16 * 37 * 53);
  const Map<16> x(data.data(), 2, 37, 53);
  Workspace ws;
  set_num_threads(2);
  for (int warm = 0; warm < 2; ++warm) (void)model(x, ws);
  const long allocations = test::allocations_during([&] {
    const Map<8> y = model(x, ws);
    CHECK(y.height == 19);
  }, 5);
  CHECK(allocations == 0);
  set_num_threads(0);
}

TEST_CASE("Conv1D names its geometry and refuses sequences too short for it and lengths outside them") {
  using C = Conv1D<12, 20, Conv{.kernel = 5, .pad = 4, .dilation = 2, .groups = 4, .padding_mode = PaddingMode::reflect}>;
  CHECK(C::name() == "Conv1D<12, 20, kernel 5, stride 1, pad 4, dilation 2, groups 4, reflect>");
  STATIC_REQUIRE(Conv1D<80, 384, Conv{.kernel = 3, .stride = 2, .pad = 1}>::output_length(3000) == 1500);
  STATIC_REQUIRE(C::output_length(9) == 9);
  C conv;
  test::fill_random(conv, 2, 0.1f);
  Workspace ws;
  // The dilated kernel spans 9 steps; 4 steps reflect-padded by 4 are 12, but reflect needs pads < 4.
  Tensor short_seq(Shape{1, 4, 12});
  REQUIRE_THROWS_AS(conv(Seq<12>(short_seq), ws), ShapeError);
  REQUIRE_THROWS_WITH(conv(Seq<12>(short_seq), ws), Contains(C::name()) && Contains("reflect") && Contains("4 steps"));
  using Plain = Conv1D<3, 5, Conv{.kernel = 7}>;
  Plain plain;
  test::fill_random(plain, 3, 0.1f);
  Tensor six(Shape{2, 6, 3});
  REQUIRE_THROWS_WITH(plain(Seq<3>(six), ws), Contains(Plain::name()) && Contains("6 steps") && Contains("spans 7"));
  Tensor empty(Shape{1, 0, 3});
  REQUIRE_THROWS_AS(plain(Seq<3>(empty), ws), ShapeError);
  Tensor nine(Shape{2, 9, 3});
  const std::int32_t too_long[] = {9, 10};
  REQUIRE_THROWS_AS(plain(Seq<3>(nine, too_long), ws), RangeError);
  REQUIRE_THROWS_WITH(plain(Seq<3>(nine, too_long), ws), Contains(Plain::name()) && Contains("item 1") && Contains("10"));
  // An item shorter than the kernel has no valid output steps: all zero.
  const std::int32_t one_short[] = {9, 4};
  for (Index i = 0; i < nine.numel(); ++i) nine[i] = 1.0f;
  const Seq<5> y = plain(Seq<3>(nine, one_short), ws);
  REQUIRE(y.length == 3);
  CHECK((y.lengths[0] == 3 && y.lengths[1] == 0));
  for (Index i = 0; i < 3 * 5; ++i) CHECK(y.data[3 * 5 + i] == 0.0f);
}

TEST_CASE("Conv1D propagates a NaN input to the output steps whose window holds it") {
  Conv1D<4, 6, Conv{.kernel = 3, .pad = 1}> conv;
  test::fill_random(conv, 4, 0.2f);
  Tensor x(Shape{1, 20, 4});
  for (Index i = 0; i < x.numel(); ++i) x[i] = 0.5f;
  x[7 * 4 + 2] = NAN;  // step 7, channel 2
  Workspace ws;
  const Seq<6> y = conv(Seq<4>(x), ws);
  for (Index t = 0; t < 20; ++t)
    for (Index o = 0; o < 6; ++o) CHECK(std::isnan(y.data[t * 6 + o]) == (t >= 6 && t <= 8));
}

TEST_CASE("ConvTranspose2D names its geometry and refuses an input whose output would be empty") {
  using T = ConvTranspose2D<4, 6, Conv{.kernel = 1, .pad = 1}>;
  CHECK(T::name().rfind("ConvTranspose2D<4, 6, kernel 1", 0) == 0);
  STATIC_REQUIRE(T::output_height(1) == -1);  // (1 − 1)·1 − 2 + 0 + 1
  STATIC_REQUIRE(T::output_height(3) == 1);
  T conv;
  test::fill_random(conv, 5, 0.1f);
  Workspace ws;
  Tensor one(Shape{1, 4, 1, 5});
  REQUIRE_THROWS_AS(conv(Map<4>(one), ws), ShapeError);
  REQUIRE_THROWS_WITH(conv(Map<4>(one), ws), Contains(T::name()) && Contains("1×5 map") && Contains("-1×3"));
  Tensor empty(Shape{1, 4, 0, 5});
  REQUIRE_THROWS_AS(conv(Map<4>(empty), ws), ShapeError);
  Tensor fits(Shape{1, 4, 3, 3});
  const Map<6> y = conv(Map<4>(fits), ws);
  CHECK((y.height == 1 && y.width == 1));
}

TEST_CASE("Conv1D and ConvTranspose2D forwards allocate nothing once their Workspace is sized") {
  using Front = Sequential<Conv1D<20, 48, Conv{.kernel = 3, .pad = 1}>, GELU, Conv1D<48, 48, Conv{.kernel = 3, .stride = 2, .pad = 1}>,
                           GELU, Conv1D<48, 48, Conv{.kernel = 5, .pad = 2, .groups = 48}>>;
  using Up = Sequential<ConvTranspose2D<16, 8, Conv{.kernel = 4, .stride = 2, .pad = 1}>, ReLU,
                        ConvTranspose2D<8, 6, Conv{.kernel = 3, .stride = 2, .pad = 1, .groups = 2, .output_padding = 1}>>;
  static Front front;
  static Up up;
  test::fill_random(front, 6, 0.2f);
  test::fill_random(up, 7, 0.2f);
  std::mt19937 rng(8);
  const auto frames = random_vector(rng, 3 * 301 * 20);
  const std::int32_t lengths[] = {301, 150, 7};
  const Seq<20> seq(frames.data(), 3, 301, lengths);
  const auto pixels = random_vector(rng, 2 * 16 * 13 * 11);
  const Map<16> map(pixels.data(), 2, 13, 11);
  Workspace ws;
  set_num_threads(2);
  for (int warm = 0; warm < 2; ++warm) {
    (void)front(seq, ws);
    ws.reset();
    (void)up(map, ws);
    ws.reset();
  }
  const long allocations = test::allocations_during([&] {
    const Seq<48> y = front(seq, ws);
    CHECK((y.length == 151 && y.lengths[2] == 4));
    ws.reset();
    const Map<6> z = up(map, ws);
    CHECK((z.height == 52 && z.width == 44));
    ws.reset();
  }, 5);
  CHECK(allocations == 0);
  set_num_threads(0);
}
