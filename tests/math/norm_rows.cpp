// layer_norm and rms_norm at every row length from 1 to a few registers past
// MathKernels<Arch>::register_row_cols, on every instruction set the build can run: each
// length of the one-read register path (1..register_row_vectors registers, every tail
// length, rows taken in pairs and singly) and the first lengths of the streaming path.
// Against the same computation in double, with the bounds stated in kernels/math.hpp, on
// rows with a large offset and little spread (1e4 + 0.01·noise) as well as centred ones;
// gamma and beta each present or absent; unaligned rows; nothing written past the output;
// in place gives the same bits.

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "math_support.hpp"
#include "norm_check.hpp"

namespace {

using mmm::Index;
using mmm::test::math::for_each_arch;

using mmm::test::math::check_norms;
using mmm::test::math::NormWorst;

constexpr float ln_eps = 1e-5f;
constexpr float guard = 777.0f;

bool same_bits(const std::vector<float>& a, const float* b) { return std::memcmp(a.data(), b, a.size() * sizeof(float)) == 0; }

}  // namespace

TEST_CASE("layer_norm and rms_norm: every row length of the register path and past it", "[math]") {
  std::mt19937 rng(4711);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for_each_arch([&](auto arch) {
    using K = mmm::kernels::MathKernels<decltype(arch)>;
    const Index max_cols = K::register_row_cols + 2 * K::width + 3;
    NormWorst worst;
    // Under the sanitizers: the lengths around each boundary (short rows, each multiple of
    // the width, the register path's limit) and every sweep_thinning-th one between.
    auto swept = [&](Index cols) {
      const Index tail = cols % K::width;
      return !MMM_SANITIZED_BUILD || cols <= 2 * K::width || tail <= 1 || tail == K::width - 1 ||
             std::abs(cols - K::register_row_cols) <= 2 || cols % mmm::test::math::sweep_thinning == 0;
    };
    for (Index cols = 1; cols <= max_cols; ++cols) {
      if (!swept(cols)) continue;
      std::vector<float> gamma(cols), beta(cols);
      for (auto& v : gamma) v = 1.0f + 0.5f * normal(rng);
      for (auto& v : beta) v = normal(rng);
      // 5 rows: two pairs and a single one where rows go in pairs; the data starts one
      // float past an aligned boundary.
      for (Index rows : {Index{1}, Index{5}}) {
        const struct {
          float offset, spread;
        } sets[] = {{0.0f, 1.0f}, {1e4f, 0.01f}, {-1e4f, 3.0f}, {3.0f, 40.0f}};
        for (const auto& set : sets) {
          std::vector<float> xs(rows * cols + 1);
          for (auto& v : xs) v = set.offset + set.spread * normal(rng);
          const float* x = xs.data() + 1;
          for (int variant = 0; variant < 4; ++variant) {
            const float* g = variant & 1 ? nullptr : gamma.data();
            const float* b = variant & 2 ? nullptr : beta.data();
            INFO(decltype(arch)::name() << " cols " << cols << " rows " << rows << " offset " << set.offset
                                        << " spread " << set.spread << " gamma " << (g != nullptr) << " beta "
                                        << (b != nullptr));
            const Index n = rows * cols;
            std::vector<float> y_ln(n + 1 + 2 * K::width, guard), y_rms(n + 1 + 2 * K::width, guard);
            K::layer_norm(x, y_ln.data() + 1, rows, cols, g, b, ln_eps);
            K::rms_norm(x, y_rms.data() + 1, rows, cols, g, ln_eps);
            check_norms(x, y_ln.data() + 1, y_rms.data() + 1, rows, cols, g, b, ln_eps, worst);
            // Nothing written before or past the rows.
            REQUIRE(y_ln[0] == guard);
            REQUIRE(y_rms[0] == guard);
            REQUIRE(std::all_of(y_ln.begin() + 1 + n, y_ln.end(), [](float v) { return v == guard; }));
            REQUIRE(std::all_of(y_rms.begin() + 1 + n, y_rms.end(), [](float v) { return v == guard; }));
            // In place: the same bits.
            std::vector<float> inplace(x, x + n);
            K::layer_norm(inplace.data(), inplace.data(), rows, cols, g, b, ln_eps);
            REQUIRE(std::memcmp(inplace.data(), y_ln.data() + 1, n * sizeof(float)) == 0);
            inplace.assign(x, x + n);
            K::rms_norm(inplace.data(), inplace.data(), rows, cols, g, ln_eps);
            REQUIRE(std::memcmp(inplace.data(), y_rms.data() + 1, n * sizeof(float)) == 0);
          }
        }
      }
    }
    std::printf("%-10s register rows up to %4td cols: layer_norm worst %.2f, rms_norm worst %.2f of bound\n",
                decltype(arch)::name(), K::register_row_cols, worst.layer_norm, worst.rms_norm);
  });
}

TEST_CASE("layer_norm: a row's result does not depend on its neighbours or on pairing", "[math]") {
  // Rows go two at a time in the register path: each row alone gives the same bits as the
  // row inside a block of 5, including rows whose neighbours have wildly different scales.
  std::mt19937 rng(88);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for_each_arch([&](auto arch) {
    using K = mmm::kernels::MathKernels<decltype(arch)>;
    for (Index cols : {Index{1}, Index{3}, K::width - 1, K::width, K::width + 1, 3 * K::width + 5,
                       K::register_row_cols - 1, K::register_row_cols}) {
      INFO(decltype(arch)::name() << " cols " << cols);
      const Index rows = 5;
      std::vector<float> x(rows * cols), y(rows * cols), z(rows * cols), one(cols);
      for (Index r = 0; r < rows; ++r)
        for (Index c = 0; c < cols; ++c) x[r * cols + c] = (r % 2 ? 1e4f : 0.0f) + std::pow(10.0f, static_cast<float>(r - 2)) * normal(rng);
      K::layer_norm(x.data(), y.data(), rows, cols, nullptr, nullptr, ln_eps);
      K::rms_norm(x.data(), z.data(), rows, cols, nullptr, ln_eps);
      for (Index r = 0; r < rows; ++r) {
        K::layer_norm(x.data() + r * cols, one.data(), 1, cols, nullptr, nullptr, ln_eps);
        CHECK(same_bits(one, y.data() + r * cols));
        K::rms_norm(x.data() + r * cols, one.data(), 1, cols, nullptr, ln_eps);
        CHECK(same_bits(one, z.data() + r * cols));
      }
    }
  });
}
