#pragma once
// Linear<In, Out, Bias, Weights>: y = x·Wᵀ + b over the last dimension, as torch.nn.Linear.
// Takes Feat<In> or Seq<In> (any kind whose rows end in In) and gives the same kind with Out.
// Parameters: weight [Out, In], bias [Out] (float32, or any float dtype in the file).
// Weights = WeightType::bf16 keeps the packed weight in bfloat16 (half the bytes to read,
// float32 accumulation; AVX-512 BF16 dot products where compiled in): outputs then differ
// from float32 by the rounding of weights and inputs to bfloat16 (≤ 2^-9 relative per term).

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/gemm_grouped.hpp"
#include "mmm/layers/gemm_weights.hpp"

namespace mmm {

template <index In, index Out, bool Bias = true, WeightType Weights = WeightType::f32>
class Linear : public ModuleBase<Linear<In, Out, Bias, Weights>, Rows<In, Out>> {
  static_assert(In > 0 && Out > 0, "Linear<In, Out>: sizes must be positive");

 public:
  static constexpr index in_features = In;
  static constexpr index out_features = Out;

  static std::string name() {
    return "Linear<" + std::to_string(In) + ", " + std::to_string(Out) + (Bias ? "" : ", false") +
           (Weights == WeightType::bf16 ? ", bf16" : "") + ">";
  }

  Linear() : params_(Shape{Out, In}) {}

  static void parameters(auto& self, auto&& p) { p(self.params_); }

  // Packs the weight for the product (load() calls it).
  void prepare() {
    if constexpr (Weights == WeightType::f32)
      this->prepare_children();
    else
      bf16_ = kernels::pack_grouped(WeightType::bf16, params_.weight.data(), Out, In, In);
  }

  // An Error naming the module when its weights were never prepared.
  void check_prepared() const {
    if constexpr (Weights == WeightType::f32)
      (void)params_.template packed<Linear>();
    else if (bf16_.empty())
      throw Error(name() + ": weights are not prepared; load() them, or call prepare() after setting them");
  }

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
    const index rows = x.rows();
    float* y = ws.allocate<float>(rows * Out);
    if constexpr (Weights == WeightType::f32) {
      const kernels::PackedWeights& w = params_.template packed<Linear>();
      if (rows * In * Out <= kernels::small_product_macs)
        kernels::gemm_small(rows, x.data, In, params_.weight.data(), Out, In, y, Out, params_.epilogue(activation));
      else
        kernels::gemm(rows, x.data, In, w, y, Out, params_.epilogue(activation));
    } else {
      if (bf16_.empty())
        throw Error(name() + ": weights are not prepared; load() them, or call prepare() after setting them");
      kernels::gemm_grouped(rows, x.data, In, bf16_, Out, y, Out, Bias ? params_.bias.data() : nullptr, activation);
    }
    return with_rows<Out>(x, y);
  }

  // One row, y[Out] = x[In]·Wᵀ + b, computed by the members of `team` together inside the
  // caller's parallel region (a decoder's whole step in one region): each member calls it
  // with its team and writes its share of the columns; y is complete once all members are
  // past it (after the region, or a barrier). The same bits as forward on that row. Call
  // check_prepared() before the region: nothing may throw inside it.
  void forward_row_share(const float* x, float* y, const Team& team) const
    requires(Weights == WeightType::f32)
  {
    const kernels::Epilogue ep = params_.epilogue(kernels::Activation::none);
    if (In * Out > kernels::small_product_macs)
      kernels::gemv_share(x, params_.template packed<Linear>(), y, team.rank(), team.size(), ep);
    else if (team.rank() == 0)  // a small product: not worth splitting
      kernels::gemm_small(1, x, In, params_.weight.data(), Out, In, y, Out, ep);
  }

 private:
  GemmWeights<Bias> params_;
  kernels::GroupedWeights bf16_;  // WeightType::bf16 only
};

}  // namespace mmm
