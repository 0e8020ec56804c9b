#pragma once
// Normalization over the last dimension of Feat<D> or Seq<D>, giving the same kind:
//   LayerNorm<D>  (x − mean) / √(var + eps) · weight + bias    torch.nn.LayerNorm(D, eps)
//   RMSNorm<D>    x / √(mean(x²) + eps) · weight              LLaMA's RMSNorm (no bias)
// Parameters: weight [D] and (LayerNorm) bias [D]; with Norm{.affine = false}, none
// (elementwise_affine=False). eps is part of the type because torch keeps it out of the
// state_dict: LayerNorm<512, Norm{.eps = 1e-6f}>.

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/kernels/math.hpp"

namespace mmm {

struct Norm {
  float eps = 1e-5f;
  bool affine = true;
};

namespace detail {
inline std::string norm_name(const char* kind, index d, Norm n) {
  return std::string(kind) + "<" + std::to_string(d) + (n.eps != 1e-5f ? ", eps " + std::to_string(n.eps) : "") +
         (n.affine ? "" : ", no affine") + ">";
}

// A normalization's elementwise affine: weight [C] (ones) and bias [C] (zeros), or, with
// Norm{.affine = false}, empty tensors, which the kernels skip.
template <index C, Norm N, bool HasBias = true>
struct NormAffine {
  Tensor weight = N.affine ? Tensor(Shape{C}, 1.0f) : Tensor();
  Tensor bias = N.affine && HasBias ? Tensor(Shape{C}) : Tensor();

  static void parameters(auto& self, auto&& p) {
    if constexpr (N.affine) {
      p("weight", self.weight);
      if constexpr (HasBias) p("bias", self.bias);
    }
  }
};
}  // namespace detail

template <index D, Norm N = Norm{}>
class LayerNorm : public ModuleBase<LayerNorm<D, N>, Rows<D, D>> {
  static_assert(D > 0 && N.eps >= 0, "LayerNorm<D>: D must be positive and eps not negative");

 public:
  static std::string name() { return detail::norm_name("LayerNorm", D, N); }

  static void parameters(auto& self, auto&& p) { Affine::parameters(self.affine_, p); }

  template <RowKindOf<D> K>
  K forward(const K& x, Workspace& ws) const {
    float* y = ws.allocate<float>(x.numel());
    kernels::layer_norm(x.data, y, x.rows(), D, affine_.weight.data(), affine_.bias.data(), N.eps);
    return same_shape(x, y);
  }

 private:
  using Affine = detail::NormAffine<D, N>;
  Affine affine_;
};

template <index D, Norm N = Norm{}>
class RMSNorm : public ModuleBase<RMSNorm<D, N>, Rows<D, D>> {
  static_assert(D > 0 && N.eps >= 0, "RMSNorm<D>: D must be positive and eps not negative");

 public:
  static std::string name() { return detail::norm_name("RMSNorm", D, N); }

  static void parameters(auto& self, auto&& p) { Affine::parameters(self.affine_, p); }

  template <RowKindOf<D> K>
  K forward(const K& x, Workspace& ws) const {
    float* y = ws.allocate<float>(x.numel());
    kernels::rms_norm(x.data, y, x.rows(), D, affine_.weight.data(), N.eps);
    return same_shape(x, y);
  }

 private:
  using Affine = detail::NormAffine<D, N, /*HasBias=*/false>;
  Affine affine_;
};

}  // namespace mmm
