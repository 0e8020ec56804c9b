#pragma once
// Linear<In, Out, Bias>: y = x·Wᵀ + b over the last dimension, as torch.nn.Linear.
// Takes Feat<In> or Seq<In> (any kind whose rows end in In) and gives the same kind with Out.
// Parameters: weight [Out, In], bias [Out].

#include <string>

#include "mmm/compose/module.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/gemm.hpp"

namespace mmm {

template <index In, index Out, bool Bias = true>
class Linear : public Callable<Linear<In, Out, Bias>> {
  static_assert(In > 0 && Out > 0, "Linear<In, Out>: sizes must be positive");

 public:
  static constexpr index in_features = In;
  static constexpr index out_features = Out;

  template <class K>
  static constexpr bool accepts = RowKindOf<K, In>;
  template <class K>
  using output = with_last_dim_t<K, Out>;
  template <class K>
  using expects = with_last_dim_t<K, In>;
  using candidate_inputs = kinds<Feat<In>, Seq<In>>;

  static std::string name() {
    return "Linear<" + std::to_string(In) + ", " + std::to_string(Out) + (Bias ? "" : ", false") + ">";
  }

  Linear() : weight_(Shape{Out, In}) {
    if constexpr (Bias) bias_ = Tensor(Shape{Out});
  }

  template <class V>
  void visit_parameters(V&& visit, const std::string& prefix) {
    visit(join_name(prefix, "weight"), weight_);
    if constexpr (Bias) visit(join_name(prefix, "bias"), bias_);
  }
  template <class V>
  void visit_parameters(V&& visit, const std::string& prefix) const {
    visit(join_name(prefix, "weight"), weight_);
    if constexpr (Bias) visit(join_name(prefix, "bias"), bias_);
  }

  // Packs the weight for the GEMM; load() calls this, and so must code that sets weights.
  void prepare() { packed_ = kernels::PackedWeights::from_nk(weight_.data(), Out, In); }

  Tensor& weight() noexcept { return weight_; }
  const Tensor& weight() const noexcept { return weight_; }
  Tensor& bias() noexcept requires Bias { return bias_; }
  const Tensor& bias() const noexcept requires Bias { return bias_; }

  template <class K>
    requires accepts<K>
  output<K> forward(const K& x, Workspace& ws) const {
    return forward_fused(x, ws, kernels::Activation::none);
  }

  // The same, with an activation applied in the GEMM's epilogue; Sequential uses this to
  // fuse Linear followed by an activation module.
  template <class K>
    requires accepts<K>
  output<K> forward_fused(const K& x, Workspace& ws, kernels::Activation activation) const {
    if (packed_.empty())
      throw Error(name() + ": weights are not prepared; load() them, or call prepare() after setting them");
    const index rows = x.rows();
    float* y = ws.allocate<float>(rows * Out);
    kernels::Epilogue ep;
    if constexpr (Bias) ep.bias = bias_.data();
    ep.activation = activation;
    kernels::gemm(rows, x.data, In, packed_, y, Out, ep);
    return with_rows<Out>(x, y);
  }

 private:
  Tensor weight_;
  Tensor bias_;
  kernels::PackedWeights packed_;
};

}  // namespace mmm
