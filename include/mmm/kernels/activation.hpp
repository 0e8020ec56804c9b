#pragma once
// The element-wise activations that kernels can fuse into their output, named once so that
// layers, GEMM epilogues and the math layer agree.

#include <cstdint>
#include <string_view>

namespace mmm::kernels {

enum class Activation : std::uint8_t { none, relu, gelu, gelu_tanh, silu, sigmoid, tanh };

constexpr std::string_view name(Activation a) {
  switch (a) {
    case Activation::none: return "none";
    case Activation::relu: return "relu";
    case Activation::gelu: return "gelu";
    case Activation::gelu_tanh: return "gelu_tanh";
    case Activation::silu: return "silu";
    case Activation::sigmoid: return "sigmoid";
    case Activation::tanh: return "tanh";
  }
  return "?";
}

}  // namespace mmm::kernels
