#pragma once
// The comparison the attention area's parity tests use: support/oracle.hpp's elementwise
// relative error, with elements smaller than 1% of the largest measured against 1% of it
// (support/oracle.hpp uses 0.1%). Attention outputs are sums of many terms of order one
// that often cancel (the 72-term output projection of averaged values): near zero their
// float32 rounding is large relative to themselves. torch's own float32
// nn.MultiheadAttention is 2–3e-4 from its float64 result with a 0.1% floor, 4e-5 with a 1%
// floor, and mmm's errors are the same size as torch's; the tests hold mmm to 1e-4 against
// float64 with the 1% floor.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "support/oracle.hpp"

namespace mmm::test {

inline void require_parity(TensorView<const float> actual, TensorView<const float> expected, const std::string& what,
                           double tolerance = 1e-4) {
  INFO(what << ": shape " << actual.shape().str() << " vs PyTorch " << expected.shape().str());
  REQUIRE(actual.shape() == expected.shape());
  double scale = 0;
  for (Index i = 0; i < expected.numel(); ++i)
    if (std::isfinite(expected[i])) scale = std::max(scale, std::fabs(static_cast<double>(expected[i])));
  const double floor = std::max(1e-2 * scale, 1e-30);
  double worst = 0, worst_abs = 0;
  Index at = -1;
  for (Index i = 0; i < expected.numel(); ++i) {
    const double a = actual[i], e = expected[i];
    if (std::isnan(e) || std::isnan(a)) {
      INFO(what << ": element " << i << ": mmm " << a << " vs PyTorch " << e << " (NaN in one only)");
      REQUIRE(std::isnan(e) == std::isnan(a));
      continue;
    }
    const double rel = std::fabs(a - e) / std::max(std::fabs(e), floor);
    worst_abs = std::max(worst_abs, std::fabs(a - e));
    if (rel > worst || at < 0) worst = std::max(worst, rel), at = i;
  }
  INFO(what << ": max relative error " << worst << " (bound " << tolerance << ", floor 1% of " << scale
            << "), max abs error " << worst_abs << ", worst element " << at << ": mmm " << (at >= 0 ? actual[at] : 0.0f)
            << " vs PyTorch " << (at >= 0 ? expected[at] : 0.0f));
  if (std::getenv("MMM_PARITY_VERBOSE"))  // the margins, for reports
    std::printf("%-40s max relative error %.3g (max abs %.3g, scale %.3g)\n", what.c_str(), worst, worst_abs, scale);
  REQUIRE(worst <= tolerance);
}

}  // namespace mmm::test
