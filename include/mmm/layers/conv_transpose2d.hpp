#pragma once
// ConvTranspose2D<In, Out, Conv{...}, Bias>: a transposed 2-D convolution over NCHW maps,
// Map<In> → Map<Out>, as torch.nn.ConvTranspose2d(In, Out, kernel_size, stride, padding,
// output_padding, groups, bias, dilation): an image generator's upsampling step. Options
// per axis as Conv2D's; .output_padding adds rows and columns at the bottom and right
// (it must be smaller than the stride or the dilation, as torch requires); only zero
// padding, as in torch.
//   output side = (input − 1)·stride − 2·pad + dilation·(kernel − 1) + output_padding + 1
// Parameters: weight [In, Out/groups, kh, kw] (torch's layout), bias [Out].
//
// forward_fused(x, ws, act, residual) and fold_affine(scale, shift) as Conv2D's.
// Kernel sides that are multiples of the strides (dilation 1): as stride_h·stride_w phase
// convolutions written into the output; otherwise through the one GEMM and col2im
// (kernels/conv_transpose.hpp). Weights packed once, for the path the geometry takes.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/conv_transpose.hpp"
#include "mmm/layers/conv_options.hpp"

namespace mmm {

template <index In, index Out, Conv P = Conv{}, bool Bias = true>
class ConvTranspose2D : public ModuleBase<ConvTranspose2D<In, Out, P, Bias>, Takes<Map<In>, Map<Out>>>,
                        public detail::ConvParameters<ConvTranspose2D<In, Out, P, Bias>, Out, Bias> {
  using Weights = detail::ConvParameters<ConvTranspose2D, Out, Bias>;

  static_assert(In > 0 && Out > 0, "ConvTranspose2D<In, Out>: channel counts must be positive");
  static_assert(detail::conv_options_valid(P),
                "ConvTranspose2D: kernel, stride, dilation and groups must be positive, padding not negative");
  static_assert(In % P.groups == 0 && Out % P.groups == 0,
                "ConvTranspose2D: groups must divide both the input and the output channel count (as torch)");
  static_assert(!P.pad.keeps_size, "ConvTranspose2D: padding='same' is not an option of torch.nn.ConvTranspose2d");
  static_assert(P.padding_mode == PaddingMode::zeros, "ConvTranspose2D: only zero padding, as torch.nn.ConvTranspose2d");
  static_assert((P.output_padding.h < P.stride.h || P.output_padding.h < P.dilation.h) &&
                    (P.output_padding.w < P.stride.w || P.output_padding.w < P.dilation.w),
                "ConvTranspose2D: output_padding must be smaller than the stride or the dilation (as torch)");

 public:
  using Weights::parameters;
  static constexpr index in_channels = In;
  static constexpr index out_channels = Out;
  static constexpr Conv geometry = P;
  static constexpr kernels::ConvTransposeParams params{detail::conv_params(In, Out, P), P.output_padding.h,
                                                       P.output_padding.w};

  static std::string name() {
    return "ConvTranspose2D<" + std::to_string(In) + ", " + std::to_string(Out) + ", " +
           detail::conv_options_text(P, true) + (Bias ? "" : ", no bias") + ">";
  }

  ConvTranspose2D() : Weights(Shape{In, Out / P.groups, P.kernel.h, P.kernel.w}) {}

  static constexpr index output_height(index h) { return params.out_h(h); }
  static constexpr index output_width(index w) { return params.out_w(w); }

  void prepare() {
    phases_ = kernels::pack_conv_transpose_phases(params, this->weight_.data(), this->folded_scale());
    if (phases_.empty()) packed_ = kernels::pack_conv_transpose(params, this->weight_.data(), this->folded_scale());
    this->prepare_bias();
  }

  Map<Out> forward(const Map<In>& x, Workspace& ws) const { return forward_fused(x, ws, kernels::Activation::none); }

  Map<Out> forward_fused(const Map<In>& x, Workspace& ws, kernels::Activation activation,
                         const float* residual = nullptr) const {
    this->require_prepared();
    const index oh = params.out_h(x.height), ow = params.out_w(x.width);
    if (x.height <= 0 || x.width <= 0 || oh <= 0 || ow <= 0)
      throw ShapeError(name() + ": a " + detail::map_size_text(x.height, x.width) + " map gives a " +
                       detail::map_size_text(oh, ow) + " output; both sides must be positive");
    float* y = ws.allocate<float>(checked_mul(checked_mul(x.batch, Out, "ConvTranspose2D"), checked_mul(oh, ow, "ConvTranspose2D"),
                                              "ConvTranspose2D"));
    const Workspace::Mark mark = ws.mark();
    const kernels::ConvScratchSize need = kernels::conv_transpose_scratch(params, phases_, x.batch, x.height, x.width);
    std::int32_t* offsets = ws.allocate<std::int32_t>(need.offsets);
    float* scratch = ws.allocate<float>(need.floats);
    kernels::conv_transpose2d(params, x.data, x.batch, x.height, x.width, packed_, phases_, y,
                              {this->bias_used_.data(), residual, activation}, offsets, scratch);
    ws.release(mark);
    return {y, x.batch, oh, ow};
  }

 private:
  std::vector<kernels::PackedWeights> packed_;  // the general path's
  kernels::ConvTransposePhases phases_;         // or the phase convolutions'
};

}  // namespace mmm
