#pragma once
// Absolute-error checks for audio parity tests, where a relative bound does not fit:
// complex parts and resampled samples that cross zero, and decibels (already logarithmic).
#include <algorithm>
#include <cmath>
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
