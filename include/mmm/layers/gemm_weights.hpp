#pragma once
// The parameters of a layer whose work is one GEMM against its weight: a weight whose
// first dimension is the output size (so that it reads as W[out × rest] row-major), an
// optional bias [out], and the weight packed for kernels::gemm. Linear and Conv2D (over
// im2col patches) share it, and with it their state_dict names and the packing rule.
// A module lists it as an unnamed child, p(self.params_): its names are the module's own.
//
// A per-output affine map that follows the product (an eval-mode BatchNorm after a
// convolution) can be folded in with fold_affine(scale, shift): prepare() then packs
// W[o]·scale[o] and the epilogue adds bias[o]·scale[o] + shift[o]. The torch tensors stay as
// loaded (so saving gives what was loaded, and prepare() may run again).

#include <algorithm>
#include <span>
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

  // Output o becomes scale[o]·(W[o]·x + bias[o]) + shift[o] from the next prepare() on.
  void fold_affine(std::span<const float> scale, std::span<const float> shift) {
    const index n = weight.dim(0);
    if (static_cast<index>(scale.size()) != n || static_cast<index>(shift.size()) != n)
      throw ShapeError("fold_affine: " + std::to_string(n) + " outputs, given " + std::to_string(scale.size()) +
                       " scales and " + std::to_string(shift.size()) + " shifts");
    fold_scale_ = Tensor(Shape{n});
    fold_shift_ = Tensor(Shape{n});
    std::copy(scale.begin(), scale.end(), fold_scale_.data());
    std::copy(shift.begin(), shift.end(), fold_shift_.data());
  }

  void prepare() {
    const index n = weight.dim(0), k = weight.numel() / n;
    if (fold_scale_.data() == nullptr) {
      packed_ = kernels::PackedWeights::from_nk(weight.data(), n, k);
      folded_bias_ = Tensor();
      return;
    }
    Tensor scaled(weight.shape());
    folded_bias_ = Tensor(Shape{n});
    for (index o = 0; o < n; ++o) {
      const float s = fold_scale_[o];
      for (index j = 0; j < k; ++j) scaled[o * k + j] = weight[o * k + j] * s;
      folded_bias_[o] = (Bias ? bias[o] * s : 0.0f) + fold_shift_[o];
    }
    packed_ = kernels::PackedWeights::from_nk(scaled.data(), n, k);
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
    if (folded_bias_.data() != nullptr)
      ep.bias = folded_bias_.data();
    else if constexpr (Bias)
      ep.bias = bias.data();
    ep.activation = activation;
    return ep;
  }

  Tensor weight;
  Tensor bias;  // empty without Bias

 private:
  kernels::PackedWeights packed_;
  Tensor fold_scale_, fold_shift_;  // empty unless fold_affine was called
  Tensor folded_bias_;              // the bias the epilogue adds after folding
};

}  // namespace mmm
