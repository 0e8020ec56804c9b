#pragma once
// Absolute-error checks for audio parity tests, where a relative bound does not fit:
// complex parts and resampled samples that cross zero, and decibels (already logarithmic).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "support/oracle.hpp"

namespace mmm::test {

// max |actual - expected| <= bound, reported with the worst element.
inline void require_abs_close(TensorView<const float> actual, TensorView<const float> expected, double bound,
                              const std::string& what) {
  INFO(what << ": shape " << actual.shape().str() << " vs PyTorch " << expected.shape().str());
  REQUIRE(actual.shape() == expected.shape());
  double worst = -1;
  index at = 0;
  for (index i = 0; i < expected.numel(); ++i) {
    const double e = std::fabs(double(actual[i]) - double(expected[i]));
    if (!(e <= worst)) worst = e, at = i;  // NaN always becomes the worst
  }
  INFO(what << ": max abs error " << worst << " (bound " << bound << ") at element " << at << ": mmm "
            << actual[at] << " vs PyTorch " << expected[at]);
  REQUIRE(worst <= bound);
}

inline double max_abs_difference(TensorView<const float> a, TensorView<const float> b) {
  double worst = 0;
  for (index i = 0; i < a.numel(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - double(b[i])));
  return worst;
}

// require_abs_close against torch's computation in float64 (`output`), the bound widened
// to 4x torch's own float32 error (`output.torch32`) where that is larger, as
// require_close_to_float64 does for relative errors; prints both errors.
inline void require_abs_close_to_float64(TensorView<const float> actual, const OracleCase& c, const std::string& output,
                                         double bound, const std::string& what) {
  const Tensor exact = c.output(output), torch32 = c.output(output + ".torch32");
  REQUIRE(actual.shape() == exact.shape());
  const double torch_error = max_abs_difference(torch32, exact);
  std::printf("%-48s mmm %.2e  torch float32 %.2e  (abs, vs float64)\n", what.c_str(),
              max_abs_difference(actual, exact), torch_error);
  require_abs_close(actual, exact, std::max(bound, 4.0 * torch_error), what);
}

// max |actual - expected| <= bound * max |expected|: error relative to the signal's peak.
inline void require_peak_close(TensorView<const float> actual, TensorView<const float> expected, double bound,
                               const std::string& what) {
  double peak = 0;
  for (index i = 0; i < expected.numel(); ++i) peak = std::max(peak, std::fabs(double(expected[i])));
  require_abs_close(actual, expected, bound * peak, what + " (bound relative to peak " + std::to_string(peak) + ")");
}

// Every element within rel·|expected| or within peak_fraction·max|expected|, whichever is
// larger: relative for the bulk, absolute near zero where float32 FFTs of different
// algorithms differ by ~1e-7 of the peak.
inline void require_close_or_peak(TensorView<const float> actual, TensorView<const float> expected, double rel,
                                  double peak_fraction, const std::string& what) {
  INFO(what << ": shape " << actual.shape().str() << " vs PyTorch " << expected.shape().str());
  REQUIRE(actual.shape() == expected.shape());
  double peak = 0;
  for (index i = 0; i < expected.numel(); ++i) peak = std::max(peak, std::fabs(double(expected[i])));
  double worst = -1;  // error as a multiple of the element's allowance
  index at = 0;
  for (index i = 0; i < expected.numel(); ++i) {
    const double allowed = std::max(rel * std::fabs(double(expected[i])), peak_fraction * peak);
    const double e = std::fabs(double(actual[i]) - double(expected[i])) / allowed;
    if (!(e <= worst)) worst = e, at = i;
  }
  INFO(what << ": worst element " << at << ": mmm " << actual[at] << " vs PyTorch " << expected[at] << " uses "
            << worst << " of its allowance (" << rel << " relative or " << peak_fraction << " of peak " << peak << ")");
  REQUIRE(worst <= 1.0);
}

}  // namespace mmm::test
