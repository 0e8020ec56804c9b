#pragma once
// The nonlinearities of recurrent cells, chosen for latency: a step of a small LSTM (one
// sample of a real-time model) is one chain σ/tanh → c → tanh → h whose every cycle counts,
// so these are one rational function each, about half the dependent operations of
// math_simd.hpp's exp-based tanh and sigmoid.
//
//   gate_tanh(x)    = x·P(x²)/Q(x²) on [−7.9988, 7.9988] (±1 to float precision beyond): the
//                     minimax form and coefficients of Eigen's generic_fast_tanh_float
//                     (Eigen, MPL-2.0), evaluated by Estrin's scheme. Measured here over
//                     every third float: relative error ≤ 3.5e-7, absolute ≤ 3.1e-7.
//   σ(x)            = ½ + ½·gate_tanh(x/2), with the halving folded into the gate's weights
//                     (gate_sigmoid_of_double): absolute error ≤ 1.7e-7, which is what a
//                     gate multiplying values of at most 1 needs (its relative error grows
//                     where σ(x) is below 1e-3: 9e-5 there).
// NaN goes through (min/max keep it on x86 when it is the second operand, as here).

#include <xsimd/xsimd.hpp>

#include "mmm/kernels/detail/gemm_kernel.hpp"

namespace mmm::kernels::detail {

template <class A>
[[gnu::always_inline]] inline xsimd::batch<float, A> gate_tanh(const xsimd::batch<float, A>& a) {
  using F = xsimd::batch<float, A>;
  using S = Simd<A>;
  const F x = xsimd::max(F(-7.99881172180175781f), xsimd::min(F(7.99881172180175781f), a));
  const F y = x * x;
  // P(y) = α1 + α3·y + … + α13·y⁶ by Estrin's scheme (three levels instead of six steps of
  // Horner's: the numerator is the longest chain), Q(y) = β0 + β2·y + β4·y² + β6·y³.
  const F y2 = y * y;
  const F t0 = S::fma(y, F(6.37261928875436e-04f), F(4.89352455891786e-03f));
  const F t1 = S::fma(y, F(5.12229709037114e-08f), F(1.48572235717979e-05f));
  const F t2 = S::fma(y, F(2.00018790482477e-13f), F(-8.60467152213735e-11f));
  const F u0 = S::fma(y2, t1, t0);
  const F u1 = S::fma(y2, F(-2.76076847742355e-16f), t2);
  const F p = S::fma(y2 * y2, u1, u0);
  const F q = S::fma(y2, S::fma(y, F(1.19825839466702e-06f), F(1.18534705686654e-04f)),
                     S::fma(y, F(2.26843463243900e-03f), F(4.89352518554385e-03f)));
  // Below 0.0004 the quotient loses the last bits of x, and tanh(x) rounds to x.
  return xsimd::select(xsimd::abs(a) < F(0.0004f), a, (x * p) / q);
}

// σ(2x) = ½ + ½·tanh(x): the cells store the weights and biases of their σ gates halved
// (exactly: a power of two), so that the gate's sum arrives as x, and call this.
template <class A>
[[gnu::always_inline]] inline xsimd::batch<float, A> gate_sigmoid_of_double(const xsimd::batch<float, A>& x) {
  using F = xsimd::batch<float, A>;
  return Simd<A>::fma(F(0.5f), gate_tanh<A>(x), F(0.5f));
}

}  // namespace mmm::kernels::detail
