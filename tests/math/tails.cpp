// Every array kernel of kernels/math.hpp for n = 0..70, at unaligned addresses, in place and
// out of place: the results equal those of one long aligned call element for element (the
// tail runs the same code through a padded buffer), and nothing past n is written.

#include <catch2/catch.hpp>

#include <cstring>
#include <random>

#include "math_support.hpp"

namespace {

using mmm::Index;
using mmm::test::math::for_each_arch;

using mmm::test::math::call;
using mmm::test::math::Fn;

constexpr Fn all_fns[] = {Fn::exp,  Fn::log,  Fn::tanh,  Fn::sigmoid, Fn::erf, Fn::gelu,
                          Fn::gelu_tanh, Fn::silu, Fn::relu, Fn::scale, Fn::add, Fn::mul};

// Bit-identical, except that any NaN matches any NaN: which NaN comes out when two meet
// depends on operand order, which the compiler may choose differently per call site.
bool same(float a, float b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("element-wise kernels: any n, any offset, in place and out of place", "[math]") {
  std::mt19937 rng(12345);
  std::uniform_real_distribution<float> dist(-6.0f, 6.0f);
  constexpr Index max_n = 70, pad = 16, offsets = 4;
  std::vector<float> x(max_n + offsets), b(max_n + offsets);
  for (auto& v : x) v = dist(rng);
  for (auto& v : b) v = dist(rng);
  x[5] = std::numeric_limits<float>::quiet_NaN();
  x[7] = -0.0f;
  x[11] = std::numeric_limits<float>::infinity();
  const float guard = 12345.0f;

  for_each_arch([&](auto arch) {
    using Arch = decltype(arch);
    for (Fn f : all_fns) {
      for (Index off = 0; off < offsets; ++off) {
        // Reference: one call over the whole (aligned) array.
        alignas(64) float want[max_n + offsets];
        call<Arch>(f, x.data(), b.data(), want, max_n + offsets);
        for (Index n = 0; n <= max_n; ++n) {
          INFO(Arch::name() << " fn #" << static_cast<int>(f) << " n = " << n << " offset = " << off);
          // Out of place, at an offset from a 64-byte boundary, with guards after the end.
          alignas(64) float out[max_n + offsets + pad];
          std::fill(std::begin(out), std::end(out), guard);
          call<Arch>(f, x.data() + off, b.data() + off, out + off, n);
          bool ok = true;
          for (Index i = 0; i < n; ++i) {
            if (!same(out[off + i], want[off + i])) {
              UNSCOPED_INFO("element " << i << ": " << out[off + i] << " vs " << want[off + i] << " (x = " << x[off + i] << ")");
              ok = false;
            }
          }
          for (Index i = off + n; i < max_n + offsets + pad; ++i) ok = ok && out[i] == guard;
          for (Index i = 0; i < off; ++i) ok = ok && out[i] == guard;
          CHECK(ok);
          // In place.
          alignas(64) float inout[max_n + offsets + pad];
          std::fill(std::begin(inout), std::end(inout), guard);
          std::copy_n(x.data() + off, n, inout + off);
          call<Arch>(f, inout + off, b.data() + off, inout + off, n);
          ok = true;
          for (Index i = 0; i < n; ++i) ok = ok && same(inout[off + i], want[off + i]);
          for (Index i = off + n; i < max_n + offsets + pad; ++i) ok = ok && inout[i] == guard;
          CHECK(ok);
        }
      }
    }
  });
}

TEST_CASE("reductions: any n and offset; NaN wins the max", "[math]") {
  std::mt19937 rng(777);
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  std::vector<float> x(80);
  for (auto& v : x) v = dist(rng);
  for_each_arch([&](auto arch) {
    using K = mmm::kernels::MathKernels<decltype(arch)>;
    INFO(decltype(arch)::name());
    for (Index off = 0; off < 4; ++off) {
      for (Index n = 0; n <= 70; ++n) {
        const float* p = x.data() + off;
        float want_max = -std::numeric_limits<float>::infinity();
        double want_sum = 0, abs_sum = 0;
        for (Index i = 0; i < n; ++i) {
          want_max = std::max(want_max, p[i]);
          want_sum += p[i];
          abs_sum += std::abs(p[i]);
        }
        CHECK(K::reduce_max(p, n) == want_max);
        CHECK(std::abs(K::reduce_sum(p, n) - want_sum) <= 1e-6 * (abs_sum + 1));
        if (n > 0) {
          for (Index at : {Index{0}, n / 2, n - 1}) {
            std::vector<float> q(p, p + n);
            q[at] = std::numeric_limits<float>::quiet_NaN();
            CHECK(std::isnan(K::reduce_max(q.data(), n)));
          }
        }
      }
    }
  });
}
