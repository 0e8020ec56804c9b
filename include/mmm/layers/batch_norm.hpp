#pragma once
// BatchNorm2D<C>: eval-mode batch normalization of Map<C>, as torch.nn.BatchNorm2d(C, eps)
// after model.eval():  y = (x − running_mean[c]) / √(running_var[c] + eps) · weight[c] + bias[c].
// Parameters: weight [C], bias [C] (none with Norm{.affine = false}), running_mean [C],
// running_var [C]; torch's num_batches_tracked loads when present and is not read.
// (Training-mode statistics, and track_running_stats=False, are not what inference uses.)
//
// That is one affine map per channel, y = x·scale[c] + shift[c], computed at prepare() as
// torch computes it (scale = weight/√(var + eps), shift = bias − mean·scale, in float):
//   - directly after a convolution (in a Sequential, in ResNet's blocks) it is folded into
//     the convolution's weights and bias at load (fold_into), and costs nothing at run time;
//   - elsewhere it is one pass over the map, with a following activation (and a residual,
//     when it ends a Residual's body) applied in the same pass.

#include <cmath>
#include <span>
#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/channels.hpp"
#include "mmm/layers/norm.hpp"

namespace mmm {

namespace detail {
// A module whose output channels an affine map per channel can be folded into: a
// convolution with fold_affine (see layers/conv2d.hpp).
template <class M, index C>
concept FoldsChannelAffine = requires(M& m, std::span<const float> s) {
  requires M::out_channels == C;
  m.fold_affine(s, s);
};
}  // namespace detail

template <index C, Norm N = Norm{}>
class BatchNorm2D : public ModuleBase<BatchNorm2D<C, N>, Takes<Map<C>, Map<C>>> {
  static_assert(C > 0 && N.eps >= 0, "BatchNorm2D<C>: C must be positive and eps not negative");

 public:
  static constexpr index channels = C;

  static std::string name() { return detail::norm_name("BatchNorm2D", C, N); }

  static void parameters(auto& self, auto&& p) {
    Affine::parameters(self.affine_, p);
    p("running_mean", self.running_mean_);
    p("running_var", self.running_var_);
    p.unused("num_batches_tracked");
  }

  void prepare() {
    scale_ = Tensor(Shape{C});
    shift_ = Tensor(Shape{C});
    for (index c = 0; c < C; ++c) {
      const float inv_std = 1.0f / std::sqrt(running_var_[c] + N.eps);
      scale_[c] = N.affine ? affine_.weight[c] * inv_std : inv_std;
      shift_[c] = (N.affine ? affine_.bias[c] : 0.0f) - running_mean_[c] * scale_[c];
    }
  }

  // The per-channel map y = x·scale + shift (after prepare()).
  std::span<const float> scale() const { return {scale_.data(), static_cast<std::size_t>(scale_.numel())}; }
  std::span<const float> shift() const { return {shift_.data(), static_cast<std::size_t>(shift_.numel())}; }

  // Folds this normalization into the convolution before it (call after loading, before the
  // convolution's prepare()); the convolution then gives what the pair gave.
  template <detail::FoldsChannelAffine<C> Convolution>
  void fold_into(Convolution& conv) {
    prepare();
    conv.fold_affine(scale(), shift());
  }

  Map<C> forward(const Map<C>& x, Workspace& ws) const { return forward_fused(x, ws, kernels::Activation::none); }

  // With an activation, and optionally a residual (NCHW, x's shape) added before it.
  Map<C> forward_fused(const Map<C>& x, Workspace& ws, kernels::Activation activation,
                       const float* residual = nullptr) const {
    if (scale_.data() == nullptr)
      throw Error(name() + ": not prepared; load() it, or call prepare() after setting its parameters");
    float* y = ws.allocate<float>(x.numel());
    kernels::scale_shift_channels(x.data, y, x.batch * C, x.height * x.width, C, scale_.data(), shift_.data(), residual,
                                  activation);
    return same_shape(x, y);
  }

  static Shape output_shape(const Map<C>& x) { return x.shape(); }

 private:
  using Affine = detail::NormAffine<C, N>;
  Affine affine_;
  Tensor running_mean_ = Tensor(Shape{C}), running_var_ = Tensor(Shape{C}, 1.0f);
  Tensor scale_, shift_;  // from prepare()
};

}  // namespace mmm
