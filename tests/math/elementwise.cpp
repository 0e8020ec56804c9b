// Each element-wise kernel of kernels/math.hpp, on every instruction set the build can run,
// swept over the whole float range (see math_support.hpp) against the function evaluated
// in double, with the bound stated in math.hpp enforced at every input.

#include <catch2/catch.hpp>

#include <cstdio>
#include <functional>

#include "math_support.hpp"

namespace {

using mmm::Index;
using mmm::test::math::error;
using mmm::test::math::for_each_arch;
using mmm::test::math::sweep_inputs;

using mmm::test::math::call;
using mmm::test::math::Fn;

double sigmoid_ref(double x) {
  // The e^{−|x|} form is exact in double for every float x.
  const double e = std::exp(-std::abs(x));
  return x < 0 ? e / (1 + e) : 1 / (1 + e);
}

constexpr double k_gelu_tanh = 0.7978845608028654;  // √(2/π)

double gelu_tanh_ref(double x) { return x * sigmoid_ref(2 * k_gelu_tanh * (x + 0.044715 * x * x * x)); }

// Condition number |x f'(x) / f(x)| of gelu_tanh: the bound scales with it because
// u = √(2/π)(x + 0.044715x³) is necessarily formed in float.
double gelu_tanh_condition(double x) {
  const double v = 2 * k_gelu_tanh * (x + 0.044715 * x * x * x);
  const double dv = 2 * k_gelu_tanh * (1 + 3 * 0.044715 * x * x);
  const double s = sigmoid_ref(v);
  return std::isfinite(x) ? std::abs(1 + x * (1 - s) * dv) : 0.0;
}

struct Case {
  const char* name;
  Fn fn;
  std::function<double(double)> ref;
  std::function<double(double)> bound;  // allowed error() at input x
  float lo, hi;                         // dense-sampled interval
  std::vector<float> thresholds;
};

void check(const Case& c) {
  const std::vector<float> x = sweep_inputs(c.lo, c.hi, c.thresholds);
  std::vector<double> ref(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) ref[i] = c.ref(static_cast<double>(x[i]));
  std::vector<float> y(x.size());
  for_each_arch([&](auto arch) {
    using Arch = decltype(arch);
    call<Arch>(c.fn, x.data(), nullptr, y.data(), static_cast<Index>(x.size()));
    double worst = 0, worst_ratio = 0;
    std::size_t worst_at = 0, violations = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double e = error(y[i], ref[i]);
      const double b = c.bound(x[i]);
      if (!(e <= b)) ++violations;
      const double ratio = std::isnan(e) ? std::numeric_limits<double>::infinity() : e / b;
      if (ratio > worst_ratio) {
        worst_ratio = ratio;
        worst = e;
        worst_at = i;
      }
    }
    std::printf("%-10s %-14s %zu inputs: max error %.3g (%.2f of bound) at x = %.9g\n", c.name, Arch::name(),
                x.size(), worst, worst_ratio, static_cast<double>(x[worst_at]));
    INFO(c.name << " on " << Arch::name() << ": worst x = " << x[worst_at] << " (bits 0x" << std::hex
                << std::bit_cast<std::uint32_t>(x[worst_at]) << std::dec << "), got " << y[worst_at]
                << ", want " << ref[worst_at] << ", error " << worst << " vs bound " << c.bound(x[worst_at]));
    CHECK(violations == 0);
  });
}

auto constant(double b) {
  return [b](double) { return b; };
}

}  // namespace

TEST_CASE("exp: ≤ 2e-7 relative over the float range, inf above 88.7228, 0 below -103.98", "[math]") {
  check({"exp", Fn::exp, [](double x) { return std::exp(x); }, constant(2e-7), -104.0f, 89.0f,
         {88.7228394f, -87.3365479f, -103.972076f}});
}

TEST_CASE("log: ≤ 2e-7 relative, NaN below 0, -inf at ±0", "[math]") {
  check({"log", Fn::log, [](double x) { return std::log(x); }, constant(2e-7), 0.0f, 4.0f,
         {0.70710677f, 1.41421354f, 1.17549435e-38f, 2.0f, 0.5f}});
}

TEST_CASE("tanh: ≤ 3e-7 relative", "[math]") {
  check({"tanh", Fn::tanh, [](double x) { return std::tanh(x); }, constant(3e-7), -10.0f, 10.0f,
         {0.625f, -0.625f, 9.0f, -9.0f}});
}

TEST_CASE("sigmoid: ≤ 3e-7 relative, down to the subnormal results below -87", "[math]") {
  check({"sigmoid", Fn::sigmoid, sigmoid_ref, constant(3e-7), -110.0f, 20.0f, {-87.3365479f, -88.7228394f, 16.6355324f}});
}

TEST_CASE("erf: ≤ 3e-7 relative", "[math]") {
  check({"erf", Fn::erf, [](double x) { return std::erf(x); }, constant(3e-7), -5.0f, 5.0f,
         {1.0f, -1.0f, 2.0f, -2.0f, 3.9192059f, 4.0f}});
}

TEST_CASE("gelu (exact, erf-based): ≤ 4e-7 relative including the negative tail", "[math]") {
  check({"gelu", Fn::gelu,
         [](double x) { return 0.5 * x * std::erfc(-x * 0.70710678118654752440); }, constant(4e-7), -15.0f, 8.0f,
         {1.41421354f, -1.41421354f, 2.82842708f, -2.82842708f, 5.75f, -13.2f, -14.5f, 14.5f}});
}

TEST_CASE("gelu_tanh: ≤ 3e-7·(1 + condition number)", "[math]") {
  check({"gelu_tanh", Fn::gelu_tanh, gelu_tanh_ref, [](double x) { return 3e-7 * (1 + gelu_tanh_condition(x)); },
         -15.0f, 8.0f, {-11.3f}});
}

TEST_CASE("silu: ≤ 3e-7 relative, NaN at -inf", "[math]") {
  check({"silu", Fn::silu, [](double x) { return x * sigmoid_ref(x); }, constant(3e-7), -110.0f, 20.0f,
         {-87.3365479f, -88.7228394f, -108.6f, -120.0f}});
}

TEST_CASE("relu: exact", "[math]") {
  check({"relu", Fn::relu, [](double x) { return x > 0 || std::isnan(x) ? x : 0.0; }, constant(0.0), -2.0f, 2.0f, {}});
}

TEST_CASE("signs of zero and the special values follow PyTorch", "[math]") {
  const float inf = std::numeric_limits<float>::infinity();
  const float x[] = {-0.0f, 0.0f, inf, -inf};
  float y[4];
  for_each_arch([&](auto arch) {
    using K = mmm::kernels::MathKernels<decltype(arch)>;
    INFO(decltype(arch)::name());
    K::tanh(x, y, 4);
    CHECK((std::signbit(y[0]) && y[0] == 0 && !std::signbit(y[1]) && y[2] == 1 && y[3] == -1));
    K::erf(x, y, 4);
    CHECK((std::signbit(y[0]) && y[0] == 0 && !std::signbit(y[1]) && y[2] == 1 && y[3] == -1));
    K::relu(x, y, 4);
    CHECK((std::signbit(y[0]) && y[0] == 0 && !std::signbit(y[1]) && y[2] == inf && y[3] == 0));
    K::silu(x, y, 4);
    CHECK((std::signbit(y[0]) && y[0] == 0 && y[2] == inf && std::isnan(y[3])));
    K::gelu(x, y, 4);
    CHECK((y[0] == 0 && y[2] == inf && std::isnan(y[3])));
    K::gelu_tanh(x, y, 4);
    CHECK((y[0] == 0 && y[2] == inf && std::isnan(y[3])));
    K::exp(x, y, 4);
    CHECK((y[0] == 1 && y[1] == 1 && y[2] == inf && y[3] == 0 && !std::signbit(y[3])));
    K::log(x, y, 4);
    CHECK((y[0] == -inf && y[1] == -inf && y[2] == inf && std::isnan(y[3])));
    K::sigmoid(x, y, 4);
    CHECK((y[0] == 0.5f && y[1] == 0.5f && y[2] == 1 && y[3] == 0));
  });
}
