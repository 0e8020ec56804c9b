#pragma once
// Element-wise activations as modules, and Softmax over the last dimension. Each matches
// its torch.nn namesake; none has parameters. Element-wise ones take any float kind and
// give the same kind; a GEMM before them can apply them in its epilogue
// (see fused_activation), which Sequential does.

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/kernels/math.hpp"

namespace mmm {

namespace detail {
// The module of one kernels::Activation; its name is the torch.nn class's (kernels::name
// spells it as the functional API does).
template <class Derived, kernels::Activation A>
struct ElementwiseActivation : ModuleBase<Derived, AnyFloatKind> {
  static constexpr kernels::Activation fused_activation = A;

  template <FloatKind K>
  K forward(const K& x, Workspace& ws) const {
    float* y = ws.allocate<float>(x.numel());
    kernels::apply(A, x.data, y, x.numel());
    return same_shape(x, y);
  }
};
}  // namespace detail

// max(x, 0)
struct ReLU : detail::ElementwiseActivation<ReLU, kernels::Activation::relu> {
  static std::string name() { return "ReLU"; }
};
// x·Φ(x) with the exact normal CDF: nn.GELU() (approximate='none').
struct GELU : detail::ElementwiseActivation<GELU, kernels::Activation::gelu> {
  static std::string name() { return "GELU"; }
};
// The tanh approximation: nn.GELU(approximate='tanh').
struct GELUTanh : detail::ElementwiseActivation<GELUTanh, kernels::Activation::gelu_tanh> {
  static std::string name() { return "GELUTanh"; }
};
// x·σ(x)
struct SiLU : detail::ElementwiseActivation<SiLU, kernels::Activation::silu> {
  static std::string name() { return "SiLU"; }
};
struct Sigmoid : detail::ElementwiseActivation<Sigmoid, kernels::Activation::sigmoid> {
  static std::string name() { return "Sigmoid"; }
};
struct Tanh : detail::ElementwiseActivation<Tanh, kernels::Activation::tanh> {
  static std::string name() { return "Tanh"; }
};

// nn.Softmax(dim=-1): over the last dimension of Feat or Seq, max-subtracted.
struct Softmax : ModuleBase<Softmax, AnyRowKind> {
  static std::string name() { return "Softmax"; }

  template <RowKind K>
  K forward(const K& x, Workspace& ws) const {
    float* y = ws.allocate<float>(x.numel());
    kernels::softmax(x.data, y, x.rows(), kind_traits<K>::last_dim);
    return same_shape(x, y);
  }
};

}  // namespace mmm
