#pragma once
// One register of floats through a run-time Activation, for the kernels whose epilogue
// applies it while the tile is still in registers (convolutions, grouped GEMM tiles).

#include <xsimd/xsimd.hpp>

#include "mmm/kernels/activation.hpp"
#include "mmm/kernels/detail/math_simd.hpp"

namespace mmm::kernels::detail {

template <class A>
[[gnu::always_inline]] inline xsimd::batch<float, A> activate(Activation act, const xsimd::batch<float, A>& x) {
  switch (act) {
    case Activation::none: return x;
    case Activation::relu: return simd::relu<A>(x);
    case Activation::gelu: return simd::gelu<A>(x);
    case Activation::gelu_tanh: return simd::gelu_tanh<A>(x);
    case Activation::silu: return simd::silu<A>(x);
    case Activation::sigmoid: return simd::sigmoid<A>(x);
    case Activation::tanh: return simd::tanh<A>(x);
  }
  return x;
}

}  // namespace mmm::kernels::detail
