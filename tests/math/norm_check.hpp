#pragma once
// layer_norm and rms_norm results against the same computation in double, with the bounds
// stated in kernels/math.hpp (shared by tests/math/rowwise.cpp and norm_rows.cpp).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include <mmm/core/tensor.hpp>

namespace mmm::test::math {

// Worst error/bound ratios seen so far.
struct NormWorst {
  double layer_norm = 0, rms_norm = 0;
};

// y_ln = layer_norm(x, g, b, ln_eps) and y_rms = rms_norm(x, g, ln_eps) over rows × cols
// (g, b may be null): |y − exact| ≤ 16ε·(1 + |x − mean|/σ)·|γ| + ε·|β| for layer_norm and
// 16ε·(1 + |x|/rms)·|γ| for rms_norm, per element.
inline void check_norms(const float* x, const float* y_ln, const float* y_rms, Index rows, Index cols,
                        const float* g, const float* b, float ln_eps, NormWorst& worst) {
  constexpr double eps = 5.9604644775390625e-8;  // 2^-24
  for (Index r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    double mean = 0, var = 0, ms = 0;
    for (Index c = 0; c < cols; ++c) mean += xr[c];
    mean /= static_cast<double>(cols);
    for (Index c = 0; c < cols; ++c) {
      var += (xr[c] - mean) * (xr[c] - mean);
      ms += static_cast<double>(xr[c]) * xr[c];
    }
    var /= static_cast<double>(cols);
    ms /= static_cast<double>(cols);
    const double sd = std::sqrt(var + ln_eps), rms = std::sqrt(ms + ln_eps);
    for (Index c = 0; c < cols; ++c) {
      const double gc = g ? g[c] : 1.0, bc = b ? b[c] : 0.0;
      const double want = (xr[c] - mean) / sd * gc + bc;
      const double bound = 16 * eps * (1 + std::abs(xr[c] - mean) / sd) * std::abs(gc) + eps * std::abs(bc);
      const double e = std::abs(y_ln[r * cols + c] - want);
      worst.layer_norm = std::max(worst.layer_norm, e / bound);
      INFO("layer_norm row " << r << " col " << c << " x " << xr[c] << " got " << y_ln[r * cols + c] << " want "
                             << want);
      if (!(e <= bound)) REQUIRE(e <= bound);
      const double want_rms = xr[c] / rms * gc;
      const double bound_rms = 16 * eps * (1 + std::abs(xr[c]) / rms) * std::abs(gc);
      const double e_rms = std::abs(y_rms[r * cols + c] - want_rms);
      worst.rms_norm = std::max(worst.rms_norm, e_rms / bound_rms);
      INFO("rms_norm got " << y_rms[r * cols + c] << " want " << want_rms);
      if (!(e_rms <= bound_rms)) REQUIRE(e_rms <= bound_rms);
    }
  }
}

}  // namespace mmm::test::math
