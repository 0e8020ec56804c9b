#pragma once
// The parameters of a layer whose work is one GEMM against its weight: a weight whose
// first dimension is the output size (so that it reads as W[out × rest] row-major), an
// optional bias [out], and the weight packed for kernels::gemm. Linear and Conv2D (over
// im2col patches) share it, and with it their state_dict names and the packing rule.
// A module lists it as an unnamed child, p(self.params_): its names are the module's own.

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/gemm.hpp"

namespace mmm {

template <bool Bias>
class GemmWeights : public Parameterized<GemmWeights<Bias>> {
 public:
  explicit GemmWeights(Shape weight_shape) : weight(weight_shape) {
    if constexpr (Bias) bias = Tensor(Shape{weight_shape[0]});
  }

  // "weight" and, with a bias, "bias", as torch names them.
  static void parameters(auto& self, auto&& p) {
    p("weight", self.weight);
    if constexpr (Bias) p("bias", self.bias);
  }

  void prepare() {
    packed_ = kernels::PackedWeights::from_nk(weight.data(), weight.dim(0), weight.numel() / weight.dim(0));
  }

  // The packed weight; a Module that was never prepared names itself in the error (its
  // name is built only then: a forward must not allocate).
  template <class Module>
  const kernels::PackedWeights& packed() const {
    if (packed_.empty())
      throw Error(Module::name() + ": weights are not prepared; load() them, or call prepare() after setting them");
    return packed_;
  }

  kernels::Epilogue epilogue(kernels::Activation activation) const {
    kernels::Epilogue ep;
    if constexpr (Bias) ep.bias = bias.data();
    ep.activation = activation;
    return ep;
  }

  Tensor weight;
  Tensor bias;  // empty without Bias

 private:
  kernels::PackedWeights packed_;
};

}  // namespace mmm
