#pragma once
// Test-side half of the PyTorch oracle: opens the cases an oracle script wrote (see
// tools/mmm_oracle.py) and compares mmm's results with PyTorch's.
//
// Relative error of an element is |actual - expected| / max(|expected|, floor), where
// floor = 1e-3 · max|expected| by default. The floor keeps an element that is 0 in PyTorch
// and 1e-9 here from counting as infinitely wrong; every other element is held to the
// bound relative to its own size. A test of a deep trained model may raise the floor
// fraction, saying why (float32 rounding accumulated over many layers lands on the
// elements that cancel to near zero).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "mmm/io/load.hpp"
#include "mmm/io/safetensors.hpp"

namespace mmm::test {

inline std::filesystem::path oracle_dir() {
  const char* dir = std::getenv("MMM_ORACLE_DIR");
  if (!dir) FAIL("MMM_ORACLE_DIR is not set: run this test through ctest, which runs its oracle first");
  return dir;
}

class OracleCase {
 public:
  explicit OracleCase(const std::string& name)
      : path_((oracle_dir() / (name + ".safetensors")).string()), file_(path_) {
    auto it = file_.metadata().find("seed");
    seed_ = it == file_.metadata().end() ? "?" : it->second;
    // Printed once per case so that a failure in CI can be reproduced with MMM_SEED.
    UNSCOPED_INFO("oracle case " << name << " (seed " << seed_ << ", rerun with MMM_SEED=" << seed_ << ")");
  }

  const SafeTensors& file() const { return file_; }
  // The case's weights, saved by the oracle under the prefix "model".
  template <class M>
  void load_model(M& model) const {
    load(model, file_, "model");
  }
  const std::string& seed() const { return seed_; }
  Tensor tensor(const std::string& name) const { return file_.tensor(name); }
  Tensor input(const std::string& name) const { return file_.tensor("input." + name); }
  Tensor output(const std::string& name) const { return file_.tensor("output." + name); }
  IntTensor int_input(const std::string& name) const { return file_.int_tensor("input." + name); }
  IntTensor int_output(const std::string& name) const { return file_.int_tensor("output." + name); }
  std::string meta(const std::string& key) const {
    auto it = file_.metadata().find(key);
    if (it == file_.metadata().end()) FAIL("oracle case " << path_ << " has no metadata '" << key << "'");
    return it->second;
  }

 private:
  std::string path_;
  SafeTensors file_;
  std::string seed_;
};

struct Comparison {
  double max_rel_error = 0;
  double max_abs_error = 0;
  index worst = -1;
  float actual = 0, expected = 0;
  bool has_nan_mismatch = false;
};

inline constexpr double default_floor_fraction = 1e-3;

inline Comparison compare(TensorView<const float> actual, TensorView<const float> expected,
                          double floor_fraction = default_floor_fraction) {
  Comparison c;
  double scale = 0;
  for (index i = 0; i < expected.numel(); ++i) scale = std::max(scale, std::fabs(static_cast<double>(expected[i])));
  const double floor = std::max(floor_fraction * scale, 1e-30);
  for (index i = 0; i < expected.numel(); ++i) {
    const double a = actual[i], e = expected[i];
    if (std::isnan(a) != std::isnan(e)) {
      c.has_nan_mismatch = true;
      c.worst = i;
      c.actual = actual[i];
      c.expected = expected[i];
      return c;
    }
    if (std::isnan(e) || (std::isinf(e) && a == e)) continue;
    const double abs_err = std::fabs(a - e);
    const double rel = abs_err / std::max(std::fabs(e), floor);
    c.max_abs_error = std::max(c.max_abs_error, abs_err);
    if (rel > c.max_rel_error || c.worst < 0) {
      c.max_rel_error = std::max(rel, c.max_rel_error);
      if (rel >= c.max_rel_error) c.worst = i, c.actual = actual[i], c.expected = expected[i];
    }
  }
  return c;
}

// Requires equal shapes and max relative error <= tolerance; reports the worst element.
inline void require_close(TensorView<const float> actual, TensorView<const float> expected, double tolerance,
                          const std::string& what, double floor_fraction = default_floor_fraction) {
  INFO(what << ": shape " << actual.shape().str() << " vs PyTorch " << expected.shape().str());
  REQUIRE(actual.shape() == expected.shape());
  const Comparison c = compare(actual, expected, floor_fraction);
  INFO(what << ": max relative error " << c.max_rel_error << " (bound " << tolerance << ", floor "
            << floor_fraction << " of the largest), max abs error "
            << c.max_abs_error << ", worst element " << c.worst << ": mmm " << c.actual << " vs PyTorch "
            << c.expected << (c.has_nan_mismatch ? " (NaN in one only)" : ""));
  REQUIRE_FALSE(c.has_nan_mismatch);
  REQUIRE(c.max_rel_error <= tolerance);
}

// Compares with a float64 reference: the oracle saved PyTorch's computation in float64 as
// `output` and PyTorch's own float32 result as `output.torch32` (tools/mmm_oracle.py,
// with_float32). A float32 sum misses 1e-4 by this measure on an element that cancels to
// near the floor, in PyTorch too; so mmm is held to `bound`, or to 4× PyTorch's own
// float32 error on the case where that is larger, and both errors are printed. (Measured
// on the convolutions, 16 runs: torch's worst 2.9e-4, mmm's 1.8e-4, their ratio 1.0 at the
// median and 3.04 at most in ~50 runs.)
inline void require_close_to_float64(TensorView<const float> actual, const OracleCase& c, const std::string& output,
                                     double bound, const std::string& what) {
  const Tensor exact = c.output(output);
  const double torch32 = compare(c.output(output + ".torch32"), exact).max_rel_error;
  const double tolerance = std::max(bound, 4.0 * torch32);
  std::printf("%-48s mmm %.2e  torch float32 %.2e  (vs float64)\n", what.c_str(), compare(actual, exact).max_rel_error,
              torch32);
  require_close(actual, exact, tolerance, what);
}

}  // namespace mmm::test
