#pragma once
// Conv2D<In, Out, Conv{...}, Bias>: a 2-D convolution over NCHW maps, Map<In> → Map<Out>,
// as torch.nn.Conv2d(In, Out, kernel_size, stride, padding, dilation, groups, bias,
// padding_mode). Options per axis, padding='same', groups (depthwise included) and the
// four padding modes: see layers/conv_options.hpp.
// Parameters: weight [Out, In/groups, kh, kw], bias [Out] (none with Bias = false).
//
//   Map<Out> forward(const Map<In>& x, Workspace& ws) const;
//   Map<Out> forward_fused(const Map<In>& x, Workspace& ws, kernels::Activation act,
//                          const float* residual = nullptr) const;
//       act(conv(x) + bias + residual): residual is an NCHW tensor of the output's shape
//       (a residual block's shortcut), added before the activation, all in the kernel's
//       epilogue. Sequential calls forward_fused(x, ws, act) for a Conv2D followed by an
//       activation module.
//   void fold_affine(std::span<const float> scale, std::span<const float> shift);
//       The per-channel affine y·scale[o] + shift[o] that follows this convolution (an
//       eval-mode BatchNorm), folded into it: prepare() then packs weight·scale[o] and uses
//       the bias bias[o]·scale[o] + shift[o] (shift[o] without a bias; that bias is internal,
//       not a state_dict entry). The state_dict tensors are left as loaded, so saving writes
//       them unchanged and a second fold_affine replaces the first rather than compounding
//       it. Folding unprepares the module: call prepare() after it (forward throws until then).
//   weight(), bias(): the state_dict tensors. in_channels, out_channels, geometry, params:
//   compile-time facts; output_height(h), output_width(w) (and output_size(n) when both
//   axes agree): the output size for an input size, ≤ 0 when the input is too small.
//
// Algorithms (chosen by the geometry; weights re-laid once, in prepare()):
//   - depthwise (groups = In): a stencil per channel (kernels/depthwise_conv.hpp);
//   - everything else: an implicit-GEMM direct convolution (kernels/conv.hpp) whose tiles
//     read the map in place (or a padded band of rows of it) and are stored straight into
//     NCHW; a 1×1 stride-1 convolution is a plain GEMM on the map; at most 4 output
//     channels (an RGB output layer), the positions go along the vector lanes instead.

#include <span>
#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/conv.hpp"
#include "mmm/kernels/depthwise_conv.hpp"
#include "mmm/layers/conv_options.hpp"

namespace mmm {

template <index In, index Out, Conv P = Conv{}, bool Bias = true>
class Conv2D : public ModuleBase<Conv2D<In, Out, P, Bias>, Takes<Map<In>, Map<Out>>>,
               public detail::ConvParameters<Conv2D<In, Out, P, Bias>, Out, Bias> {
  using Weights = detail::ConvParameters<Conv2D, Out, Bias>;

  static_assert(In > 0 && Out > 0, "Conv2D<In, Out>: channel counts must be positive");
  static_assert(detail::conv_options_valid(P),
                "Conv2D: kernel, stride, dilation and groups must be positive, padding not negative");
  static_assert(In % P.groups == 0 && Out % P.groups == 0,
                "Conv2D: groups must divide both the input and the output channel count (as torch.nn.Conv2d)");
  static_assert(!P.pad.keeps_size || (P.stride.h == 1 && P.stride.w == 1),
                "Conv2D: padding='same' (Pad::same) needs stride 1, as in torch.nn.Conv2d");
  static_assert(P.output_padding == Axes{0}, "Conv2D: output_padding is an option of ConvTranspose2D");

 public:
  using Weights::parameters;
  static constexpr index in_channels = In;
  static constexpr index out_channels = Out;
  static constexpr Conv geometry = P;
  static constexpr kernels::ConvParams params = detail::conv_params(In, Out, P);
  // Depthwise (and any convolution with one input channel per group) runs as a stencil.
  static constexpr bool depthwise = In / P.groups == 1 && P.kernel.h <= 64;

  static std::string name() {
    return "Conv2D<" + std::to_string(In) + ", " + std::to_string(Out) + ", " + detail::conv_options_text(P) +
           (Bias ? "" : ", no bias") + ">";
  }

  Conv2D() : Weights(Shape{Out, In / P.groups, P.kernel.h, P.kernel.w}) {}

  static constexpr index output_height(index h) { return params.out_h(h); }
  static constexpr index output_width(index w) { return params.out_w(w); }
  static constexpr index output_size(index n)
    requires(P.kernel.square() && P.stride.square() && P.dilation.square() && P.pad.h == P.pad.w)
  {
    return params.out_h(n);
  }

  void prepare() {
    const float* scale = this->folded_scale();
    if constexpr (depthwise) {
      packed_depthwise_ = this->weight_;
      if (scale)
        for (index o = 0; o < Out; ++o)
          for (index t = 0; t < P.kernel.h * P.kernel.w; ++t) packed_depthwise_[o * P.kernel.h * P.kernel.w + t] *= scale[o];
    } else {
      packed_ = kernels::PackedConvWeights(this->weight_.data(), Out, P.groups, params.depth(), scale);
    }
    this->prepare_bias();
  }

  Map<Out> forward(const Map<In>& x, Workspace& ws) const { return forward_fused(x, ws, kernels::Activation::none); }

  Map<Out> forward_fused(const Map<In>& x, Workspace& ws, kernels::Activation activation,
                         const float* residual = nullptr) const {
    this->require_prepared();
    detail::check_conv_input<Conv2D>(params, x.height, x.width);
    const index oh = params.out_h(x.height), ow = params.out_w(x.width);
    float* y = ws.allocate<float>(checked_mul(checked_mul(x.batch, Out, "Conv2D"), checked_mul(oh, ow, "Conv2D"), "Conv2D"));
    const kernels::ConvEpilogue ep{this->bias_used_.data(), residual, activation};
    const Workspace::Mark scratch = ws.mark();
    if constexpr (depthwise) {
      float* ring = ws.allocate<float>(kernels::depthwise_scratch(params, x.batch, x.height, x.width));
      kernels::depthwise_conv2d(params, x.data, x.batch, x.height, x.width, packed_depthwise_.data(), y, ep, ring);
    } else {
      const kernels::ConvScratchSize need = kernels::conv2d_scratch(params, x.batch, x.height, x.width);
      std::int32_t* offsets = ws.allocate<std::int32_t>(need.offsets);
      float* bands = ws.allocate<float>(need.floats);
      kernels::conv2d(params, x.data, x.batch, x.height, x.width, packed_, y, ep, offsets, bands);
    }
    ws.release(scratch);
    return {y, x.batch, oh, ow};
  }

 private:
  kernels::PackedConvWeights packed_;
  Tensor packed_depthwise_;
};

}  // namespace mmm
