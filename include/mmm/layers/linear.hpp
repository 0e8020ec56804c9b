#pragma once
// Linear<In, Out, Bias>: y = x·Wᵀ + b over the last dimension, as torch.nn.Linear.
// Takes Feat<In> or Seq<In> (any kind whose rows end in In) and gives the same kind with Out.
// Parameters: weight [Out, In], bias [Out].

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/layers/gemm_weights.hpp"

namespace mmm {

template <index In, index Out, bool Bias = true>
class Linear : public ModuleBase<Linear<In, Out, Bias>, Rows<In, Out>> {
  static_assert(In > 0 && Out > 0, "Linear<In, Out>: sizes must be positive");

 public:
  static constexpr index in_features = In;
  static constexpr index out_features = Out;

  static std::string name() {
    return "Linear<" + std::to_string(In) + ", " + std::to_string(Out) + (Bias ? "" : ", false") + ">";
  }

  Linear() : params_(Shape{Out, In}) {}

  static void parameters(auto& self, auto&& p) { p(self.params_); }

  Tensor& weight() noexcept { return params_.weight; }
  const Tensor& weight() const noexcept { return params_.weight; }
  Tensor& bias() noexcept requires Bias { return params_.bias; }
  const Tensor& bias() const noexcept requires Bias { return params_.bias; }

  template <RowKindOf<In> K>
  with_last_dim_t<K, Out> forward(const K& x, Workspace& ws) const {
    return forward_fused(x, ws, kernels::Activation::none);
  }

  // The same, with an activation applied in the GEMM's epilogue; Sequential uses this to
  // fuse Linear followed by an activation module.
  template <RowKindOf<In> K>
  with_last_dim_t<K, Out> forward_fused(const K& x, Workspace& ws, kernels::Activation activation) const {
    const kernels::PackedWeights& w = params_.template packed<Linear>();
    const index rows = x.rows();
    float* y = ws.allocate<float>(rows * Out);
    kernels::gemm(rows, x.data, In, w, y, Out, params_.epilogue(activation));
    return with_rows<Out>(x, y);
  }

 private:
  GemmWeights<Bias> params_;
};

}  // namespace mmm
