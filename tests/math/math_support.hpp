#pragma once
// Shared by the tests/math tests: the instruction sets to instantiate, the error measure
// stated in kernels/math.hpp, and input sets that cover every float exponent.

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <mmm/kernels/math.hpp>

#ifndef MMM_SANITIZED_BUILD  // set by the project's CMake; other builds are not sanitized
#define MMM_SANITIZED_BUILD 0
#endif

namespace mmm::test::math {

using mmm::Index;

// Every instruction set this build can run: the default (widest) one and the narrower
// ones a plain AVX2 or SSE machine would pick, so their code paths are tested here too.
template <class Fn>
void for_each_arch(Fn&& fn) {
  fn(xsimd::default_arch{});
#if XSIMD_WITH_AVX512F
  if constexpr (!std::is_same_v<xsimd::default_arch, xsimd::avx512f>) fn(xsimd::avx512f{});
#endif
#if XSIMD_WITH_FMA3_AVX2
  if constexpr (!std::is_same_v<xsimd::default_arch, xsimd::fma3<xsimd::avx2>>) fn(xsimd::fma3<xsimd::avx2>{});
#endif
  // Under the sanitizers, one instruction set per register width is enough to find memory
  // errors in the tails (the Release run checks every one for accuracy).
#if XSIMD_WITH_AVX2 && !MMM_SANITIZED_BUILD
  if constexpr (!std::is_same_v<xsimd::default_arch, xsimd::avx2>) fn(xsimd::avx2{});
#endif
#if XSIMD_WITH_SSE4_2 && !MMM_SANITIZED_BUILD
  if constexpr (!std::is_same_v<xsimd::default_arch, xsimd::sse4_2>) fn(xsimd::sse4_2{});
#endif
#if XSIMD_WITH_SSE2
  if constexpr (!std::is_same_v<xsimd::default_arch, xsimd::sse2>) fn(xsimd::sse2{});
#endif
}

constexpr double two_128 = 3.4028236692093846346e38;  // 2^128, the first value past FLT_MAX
constexpr double smallest_normal = 1.1754943508222875e-38;

// |y − ref| / max(|ref|, 2^-126), with results past FLT_MAX (inf) taken as ±2^128.
// NaN where exactly one of them is NaN; 0 where both are.
inline double error(float y, double ref) {
  const bool y_nan = std::isnan(y), r_nan = std::isnan(ref);
  if (y_nan || r_nan) return y_nan && r_nan ? 0.0 : std::numeric_limits<double>::quiet_NaN();
  const double yd = std::isinf(y) ? std::copysign(two_128, y) : static_cast<double>(y);
  const double rd = std::clamp(ref, -two_128, two_128);
  return std::abs(yd - rd) / std::max(std::abs(rd), smallest_normal);
}

// The array kernels by name, for tests that loop over them. `b` is the second operand of
// add and mul (unused otherwise); y may be x or b.
enum class Fn { exp, log, tanh, sigmoid, erf, gelu, gelu_tanh, silu, relu, scale, add, mul };

template <class Arch>
void call(Fn f, const float* x, const float* b, float* y, Index n) {
  using K = mmm::kernels::MathKernels<Arch>;
  switch (f) {
    case Fn::exp: return K::exp(x, y, n);
    case Fn::log: return K::log(x, y, n);
    case Fn::tanh: return K::tanh(x, y, n);
    case Fn::sigmoid: return K::sigmoid(x, y, n);
    case Fn::erf: return K::erf(x, y, n);
    case Fn::gelu: return K::gelu(x, y, n);
    case Fn::gelu_tanh: return K::gelu_tanh(x, y, n);
    case Fn::silu: return K::silu(x, y, n);
    case Fn::relu: return K::relu(x, y, n);
    case Fn::scale: return K::scale(x, 1.7f, y, n);
    case Fn::add: return K::add(x, b, y, n);
    case Fn::mul: return K::mul(x, b, y, n);
  }
}

inline float from_bits(std::uint32_t b) { return std::bit_cast<float>(b); }

// Inputs: a stride through all 2^32 bit patterns (every exponent, subnormals, both
// signs, NaN payloads), a dense uniform grid over [lo, hi], the special values, and the
// few floats on either side of each threshold.
// Under the sanitizers the stride and the grid are 8 times coarser: they look for memory
// errors and undefined behaviour there, which the same code paths show on fewer inputs.
inline constexpr int sweep_thinning = MMM_SANITIZED_BUILD ? 8 : 1;

inline std::vector<float> sweep_inputs(float lo, float hi, std::vector<float> thresholds) {
  std::vector<float> v;
  for (std::uint64_t b = 0; b < (std::uint64_t{1} << 32); b += 2053 * sweep_thinning)
    v.push_back(from_bits(static_cast<std::uint32_t>(b)));
  const int dense = (1 << 20) / sweep_thinning;
  for (int i = 0; i <= dense; ++i) v.push_back(lo + (hi - lo) * static_cast<float>(i) / dense);
  const float inf = std::numeric_limits<float>::infinity();
  for (float s : {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                  -std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::denorm_min(),
                  -std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min(),
                  -std::numeric_limits<float>::min(), std::numeric_limits<float>::max(),
                  -std::numeric_limits<float>::max(), 1.0f, -1.0f})
    v.push_back(s);
  thresholds.insert(thresholds.end(), {0.0f, 1.0f, -1.0f});
  for (float t : thresholds) {
    float up = t, down = t;
    for (int k = 0; k < 64; ++k) {
      v.push_back(up);
      v.push_back(down);
      up = std::nextafter(up, inf);
      down = std::nextafter(down, -inf);
    }
  }
  return v;
}

}  // namespace mmm::test::math
