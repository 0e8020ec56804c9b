// Row-wise kernels of kernels/math.hpp (softmax, scaled softmax, log_softmax, layer_norm,
// rms_norm) on every instruction set the build can run, against the same computation in
// double on random rows of odd and even lengths, with the bounds stated in math.hpp.

#include <catch2/catch.hpp>

#include <cstdio>
#include <random>

#include "math_support.hpp"
#include "norm_check.hpp"

namespace {

using mmm::Index;
using mmm::test::math::check_norms;
using mmm::test::math::error;
using mmm::test::math::for_each_arch;

constexpr double eps = 5.9604644775390625e-8;  // 2^-24
constexpr Index col_sizes[] = {1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 100, 255, 257, 1000, 4097};
constexpr float value_scales[] = {0.01f, 1.0f, 10.0f, 60.0f};
constexpr Index rows = 3;

// Random rows; the data starts one float past an aligned boundary so loads are unaligned.
struct Rows {
  std::vector<float> storage;
  float* x;
  Rows(Index cols, float scale, float offset, std::mt19937& rng) : storage(rows * cols + 1) {
    std::normal_distribution<float> d(0.0f, 1.0f);
    for (auto& v : storage) v = offset + scale * d(rng);
    x = storage.data() + 1;
  }
};

double row_max(const float* x, Index n) {
  double m = -INFINITY;
  for (Index i = 0; i < n; ++i) m = std::max(m, static_cast<double>(x[i]));
  return m;
}

double log_sum_exp_shifted(const float* x, Index n, double m) {
  double s = 0;
  for (Index i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[i]) - m);
  return std::log(s);
}

void report(const char* what, const char* arch, double worst_ratio) {
  std::printf("%-12s %-10s worst error at %.2f of its bound\n", what, arch, worst_ratio);
}

}  // namespace

TEST_CASE("softmax and scaled softmax: ≤ (8 + |x − max| + log2 cols)·ε relative per element", "[math]") {
  std::mt19937 rng(2024);
  for_each_arch([&](auto arch) {
    using K = mmm::kernels::MathKernels<decltype(arch)>;
    double worst_ratio = 0;
    for (Index cols : col_sizes) {
      for (float vs : value_scales) {
        for (float scale : {1.0f, 0.125f}) {
          Rows in(cols, vs, 0.0f, rng);
          std::vector<float> y(rows * cols);
          K::softmax(in.x, y.data(), rows, cols, scale);
          for (Index r = 0; r < rows; ++r) {
            const float* xr = in.x + r * cols;
            const double m = row_max(xr, cols);
            const double lse = log_sum_exp_shifted(xr, cols, m);  // scale applied below
            double s = 0;
            for (Index c = 0; c < cols; ++c) s += std::exp(scale * (xr[c] - m));
            for (Index c = 0; c < cols; ++c) {
              const double shift = scale * (xr[c] - m);
              const double want = std::exp(shift) / s;
              const double bound = (8 + std::abs(shift) + std::log2(static_cast<double>(cols))) * eps;
              const double e = error(y[r * cols + c], want);
              worst_ratio = std::max(worst_ratio, e / bound);
              INFO("cols " << cols << " value scale " << vs << " scale " << scale << " x " << xr[c] << " got "
                           << y[r * cols + c] << " want " << want << " lse " << lse);
              if (!(e <= bound)) REQUIRE(e <= bound);
            }
          }
          // In place gives the same bits.
          std::vector<float> inplace(in.x, in.x + rows * cols);
          K::softmax(inplace.data(), inplace.data(), rows, cols, scale);
          REQUIRE(std::equal(inplace.begin(), inplace.end(), y.begin()));
        }
      }
    }
    report("softmax", decltype(arch)::name(), worst_ratio);
  });
}

TEST_CASE("log_softmax: ≤ (8 + |x − max| + log2 cols)·ε·max(1, |y|) absolute", "[math]") {
  std::mt19937 rng(99);
  for_each_arch([&](auto arch) {
    using K = mmm::kernels::MathKernels<decltype(arch)>;
    double worst_ratio = 0;
    for (Index cols : col_sizes) {
      for (float vs : value_scales) {
        Rows in(cols, vs, 3.0f, rng);
        std::vector<float> y(rows * cols);
        K::log_softmax(in.x, y.data(), rows, cols);
        for (Index r = 0; r < rows; ++r) {
          const float* xr = in.x + r * cols;
          const double m = row_max(xr, cols);
          const double lse = log_sum_exp_shifted(xr, cols, m);
          for (Index c = 0; c < cols; ++c) {
            const double want = (xr[c] - m) - lse;
            const double bound = (8 + std::abs(xr[c] - m) + std::log2(static_cast<double>(cols))) * eps *
                                 std::max(1.0, std::abs(want));
            const double e = std::abs(y[r * cols + c] - want);
            worst_ratio = std::max(worst_ratio, e / bound);
            INFO("cols " << cols << " scale " << vs << " got " << y[r * cols + c] << " want " << want);
            if (!(e <= bound)) REQUIRE(e <= bound);
          }
        }
        std::vector<float> inplace(in.x, in.x + rows * cols);
        K::log_softmax(inplace.data(), inplace.data(), rows, cols);
        REQUIRE(std::equal(inplace.begin(), inplace.end(), y.begin()));
      }
    }
    report("log_softmax", decltype(arch)::name(), worst_ratio);
  });
}

TEST_CASE("layer_norm and rms_norm: ≤ 16·ε·(1 + |x − mean|/σ)·|γ| + ε·|β| absolute, any row offset", "[math]") {
  std::mt19937 rng(7);
  for_each_arch([&](auto arch) {
    using K = mmm::kernels::MathKernels<decltype(arch)>;
    mmm::test::math::NormWorst worst;
    for (Index cols : col_sizes) {
      for (float vs : value_scales) {
        for (float offset : {0.0f, 5.0f, -100.0f, 3000.0f}) {
          Rows in(cols, vs, offset, rng);
          std::vector<float> gamma(cols), beta(cols);
          std::normal_distribution<float> d(0.0f, 1.0f);
          for (auto& g : gamma) g = 1.0f + 0.5f * d(rng);
          for (auto& b : beta) b = d(rng);
          const float ln_eps = 1e-5f;
          for (int variant = 0; variant < 3; ++variant) {
            const float* g = variant == 1 ? nullptr : gamma.data();
            const float* b = variant == 2 ? nullptr : beta.data();
            std::vector<float> y(rows * cols), z(rows * cols);
            K::layer_norm(in.x, y.data(), rows, cols, g, b, ln_eps);
            K::rms_norm(in.x, z.data(), rows, cols, g, ln_eps);
            INFO("cols " << cols << " scale " << vs << " offset " << offset << " variant " << variant);
            check_norms(in.x, y.data(), z.data(), rows, cols, g, b, ln_eps, worst);
            std::vector<float> inplace(in.x, in.x + rows * cols);
            K::layer_norm(inplace.data(), inplace.data(), rows, cols, g, b, ln_eps);
            REQUIRE(std::equal(inplace.begin(), inplace.end(), y.begin()));
          }
        }
      }
    }
    report("layer_norm", decltype(arch)::name(), worst.layer_norm);
    report("rms_norm", decltype(arch)::name(), worst.rms_norm);
  });
}

TEST_CASE("softmax_prefix: each row's prefix is its softmax, the rest 0; length 0 is NaN", "[math]") {
  std::mt19937 rng(31);
  for_each_arch([&](auto arch) {
    using K = mmm::kernels::MathKernels<decltype(arch)>;
    INFO(decltype(arch)::name());
    for (Index cols : {Index{1}, Index{7}, Index{16}, Index{33}, Index{77}}) {
      const Index n_rows = cols + 2;
      Rows in(cols * n_rows / rows + 1, 2.0f, 0.0f, rng);  // enough data for n_rows × cols
      std::vector<Index> lengths(static_cast<std::size_t>(n_rows));
      for (Index r = 0; r < n_rows; ++r) lengths[r] = r;  // causal: 0, 1, …, cols, cols + 1
      std::vector<float> y(n_rows * cols, 5.0f);
      K::softmax_prefix(in.x, y.data(), n_rows, cols, 0.5f, lengths.data());
      for (Index r = 0; r < n_rows; ++r) {
        const Index n = std::min(r, cols);
        std::vector<float> want(cols, 0.0f);
        if (n > 0) K::softmax(in.x + r * cols, want.data(), 1, n, 0.5f);
        for (Index c = 0; c < cols; ++c) {
          INFO("cols " << cols << " row " << r << " col " << c);
          if (n == 0)
            CHECK(std::isnan(y[r * cols + c]));
          else
            CHECK(y[r * cols + c] == want[c]);
        }
      }
    }
  });
}

TEST_CASE("row kernels: special rows behave as in PyTorch", "[math]") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for_each_arch([&](auto arch) {
    using K = mmm::kernels::MathKernels<decltype(arch)>;
    INFO(decltype(arch)::name());
    for (Index cols : {Index{2}, Index{19}, Index{40}}) {
      INFO("cols " << cols);
      auto all_nan = [](const std::vector<float>& v) {
        return std::all_of(v.begin(), v.end(), [](float f) { return std::isnan(f); });
      };
      for (float bad : {nan, inf}) {
        std::vector<float> x(cols, 1.0f), y(cols);
        x[cols / 2] = bad;
        K::softmax(x.data(), y.data(), 1, cols);
        CHECK(all_nan(y));
        K::log_softmax(x.data(), y.data(), 1, cols);
        CHECK(all_nan(y));
      }
      std::vector<float> x(cols, -inf), y(cols);
      K::softmax(x.data(), y.data(), 1, cols);
      CHECK(all_nan(y));
      // Huge logits do not overflow; one −inf among them gets probability 0.
      for (Index c = 0; c < cols; ++c) x[c] = 1e30f * static_cast<float>(c % 3);
      x[0] = -inf;
      K::softmax(x.data(), y.data(), 1, cols);
      double total = 0;
      for (float v : y) total += v;
      CHECK(std::abs(total - 1) < 1e-6);
      CHECK(y[0] == 0);
      // A constant row normalizes to beta (here 0): variance 0, eps keeps it finite.
      std::vector<float> c(cols, 3.25f);
      K::layer_norm(c.data(), y.data(), 1, cols, nullptr, nullptr, 1e-5f);
      CHECK(std::all_of(y.begin(), y.end(), [](float f) { return f == 0; }));
    }
    // A single column: softmax 1, log_softmax 0. Empty shapes: nothing is touched.
    float one = 42.0f, out = 7.0f;
    K::softmax(&one, &out, 1, 1);
    CHECK(out == 1.0f);
    K::log_softmax(&one, &out, 1, 1);
    CHECK(out == 0.0f);
    out = 7.0f;
    K::softmax(&one, &out, 0, 5);
    K::softmax(&one, &out, 5, 0);
    K::log_softmax(&one, &out, 5, 0);
    K::layer_norm(&one, &out, 5, 0, nullptr, nullptr, 1e-5f);
    K::rms_norm(&one, &out, 0, 5, nullptr, 1e-5f);
    CHECK(out == 7.0f);
  });
}
