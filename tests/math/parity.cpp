// Parity with PyTorch for kernels/math.hpp (oracle: parity.py), with the oracle helpers'
// relative error (floor 1e-3·max|y| for elements near 0). Each result is held
//  - to the float64 result rounded to float32 within 2e-6 element-wise (our stated bounds,
//    ≤ 4e-7, plus the rounding of the reference) and 1e-5 row-wise (the stated bounds of
//    math.hpp grow with |x − max| and log2 cols; tests/math/rowwise.cpp enforces those
//    exactly); the layer norm adds the absolute error of its mean correction, and the
//    affine one 4ε·max|γ|·max|x̂|, against the floor, since γ·x̂ + β cancels near y = 0
//    after x̂ was rounded;
//  - to PyTorch's float32 result within 1e-4 (the library-wide parity bound) plus
//    PyTorch's own float32 error against float64: its GELU/erf tail and its layer_norm on
//    rows with |mean| ≫ σ are looser than ours, and this test must not fail for being
//    more exact than the oracle.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include <mmm/kernels/math.hpp>

#include "support/oracle.hpp"

using mmm::Index;
using mmm::Tensor;
using mmm::test::OracleCase;
using mmm::test::require_close;
namespace k = mmm::kernels;

namespace {

double max_abs(const Tensor& t) {
  double m = 0;
  for (Index i = 0; i < t.numel(); ++i) m = std::max(m, std::abs(static_cast<double>(t[i])));
  return m;
}

double mean_abs(const Tensor& t) {
  double s = 0;
  for (Index i = 0; i < t.numel(); ++i) s += std::abs(static_cast<double>(t[i]));
  return s / static_cast<double>(t.numel());
}

void check(const OracleCase& c, const Tensor& y, const std::string& name, double exact_bound = 2e-6) {
  const Tensor torch32 = c.output(name), exact = c.output(name + ".exact");
  const double torch32_error = mmm::test::compare(torch32, exact).max_rel_error;
  const double ours = mmm::test::compare(y, exact).max_rel_error;
  std::printf("%-18s error vs float64: mmm %.3g, PyTorch float32 %.3g\n", name.c_str(), ours, torch32_error);
  require_close(y, exact, exact_bound, name + " vs PyTorch float64");
  require_close(y, torch32, 1e-4 + torch32_error, name + " vs PyTorch float32");
}

}  // namespace

TEST_CASE("element-wise functions match PyTorch", "[math][parity]") {
  OracleCase c("elementwise");
  const Tensor x = c.input("x");
  const Index n = x.numel();
  using Fn = void (*)(const float*, float*, Index);
  const std::pair<const char*, Fn> fns[] = {{"exp", k::exp},   {"tanh", k::tanh},           {"sigmoid", k::sigmoid},
                                            {"erf", k::erf},   {"gelu", k::gelu},           {"gelu_tanh", k::gelu_tanh},
                                            {"silu", k::silu}, {"relu", k::relu}};
  for (const auto& [name, fn] : fns) {
    Tensor y(x.shape());
    fn(x.data(), y.data(), n);
    check(c, y, name);
  }
  const Tensor xpos = c.input("xpos");
  Tensor y(xpos.shape());
  k::log(xpos.data(), y.data(), xpos.numel());
  check(c, y, "log");
}

TEST_CASE("softmax, log_softmax, layer_norm and RMSNorm match PyTorch on odd shapes", "[math][parity]") {
  for (int i = 0; i < 4; ++i) {
    OracleCase c("rows_" + std::to_string(i));
    const Tensor x = c.input("x"), w = c.input("weight"), b = c.input("bias");
    const Index rows = x.dim(0), cols = x.dim(1);
    const float eps = std::stof(c.meta("eps")), scale = std::stof(c.meta("scale"));
    const Tensor plain = c.output("layer_norm_plain.exact");
    // An absolute error relative to the comparison's floor 1e-3·max|y|; an output that is
    // all zeros (one column: x̂ = 0) is compared exactly.
    auto over_floor = [](double error, const Tensor& y) { return max_abs(y) > 0 ? error / (1e-3 * max_abs(y)) : 0.0; };
    // 4ε·max|γ|·max|x̂| against the floor.
    const double affine_bound =
        1e-5 + over_floor(4 * 5.96e-8 * max_abs(w) * max_abs(plain), c.output("layer_norm.exact"));
    // The plain layer norm's elements near 0 carry the absolute error of the mean's
    // correction d = Σ(x − c)/n, up to ε·log2(cols)·mean|x̂|, against the same floor. It
    // shows where the compiler does not contract multiply-adds (-O1, -Og, -ffp-contract=off):
    // 1.05e-5 on a 2×79 row pair, 2.7e-8 absolute on an element of 6.7e-4, well inside the
    // documented 16ε·(1 + |x − mean|/σ).
    const double plain_bound =
        1e-5 + over_floor(5.96e-8 * std::log2(static_cast<double>(cols) + 1) * mean_abs(plain), plain);
    INFO("case rows_" << i << ": " << rows << "×" << cols << ", eps " << eps << ", affine bound " << affine_bound
                      << ", plain bound " << plain_bound);
    Tensor y(x.shape());
    k::softmax(x.data(), y.data(), rows, cols);
    check(c, y, "softmax", 1e-5);
    k::scaled_softmax(x.data(), y.data(), rows, cols, scale);
    check(c, y, "scaled_softmax", 1e-5);
    k::log_softmax(x.data(), y.data(), rows, cols);
    check(c, y, "log_softmax", 1e-5);
    k::layer_norm(x.data(), y.data(), rows, cols, w.data(), b.data(), eps);
    check(c, y, "layer_norm", affine_bound);
    k::layer_norm(x.data(), y.data(), rows, cols, nullptr, nullptr, eps);
    check(c, y, "layer_norm_plain", plain_bound);
    k::rms_norm(x.data(), y.data(), rows, cols, w.data(), eps);
    check(c, y, "rms_norm", 1e-5);
  }
}
