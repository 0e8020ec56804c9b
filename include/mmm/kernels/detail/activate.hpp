#pragma once
// One activation of a kernels::Activation on a register, for the epilogues of the GEMM-like
// kernels (convolution stores, grouped tiles, depthwise convolution).

#include <xsimd/xsimd.hpp>

#include "mmm/kernels/activation.hpp"
#include "mmm/kernels/detail/math_simd.hpp"

namespace mmm::kernels::detail {

template <class Arch>
[[gnu::always_inline]] inline xsimd::batch<float, Arch> activate(Activation a, const xsimd::batch<float, Arch>& x) {
  switch (a) {
    case Activation::none: return x;
    case Activation::relu: return simd::relu<Arch>(x);
    case Activation::gelu: return simd::gelu<Arch>(x);
    case Activation::gelu_tanh: return simd::gelu_tanh<Arch>(x);
    case Activation::silu: return simd::silu<Arch>(x);
    case Activation::sigmoid: return simd::sigmoid<Arch>(x);
    case Activation::tanh: return simd::tanh<Arch>(x);
  }
  return x;
}

}  // namespace mmm::kernels::detail
