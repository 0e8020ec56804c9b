#pragma once
// Conv1D<In, Out, Conv{...}, Bias>: a 1-D convolution over time, Seq<In> → Seq<Out>, as
// torch.nn.Conv1d(In, Out, kernel_size, stride, padding, dilation, groups, bias,
// padding_mode) applied to the sequence's channels: torch's input is [N, C, T], mmm's
// Seq is time-major [N, T, C] (as a speech front end holds its frames), and the weights
// load unchanged. Options take one number each (Conv{.kernel = 3, .stride = 2, .pad = 1});
// Pad::same and the four padding modes as Conv2D.
// Parameters: weight [Out, In/groups, K], bias [Out] (none with Bias = false).
//
// Whisper's front end, for example: Conv1d(80, D, 3, padding=1), GELU, Conv1d(D, D, 3,
// stride=2, padding=1), GELU is
//   Sequential<Conv1D<80, D, Conv{.kernel = 3, .pad = 1}>, GELU,
//              Conv1D<D, D, Conv{.kernel = 3, .stride = 2, .pad = 1}>, GELU>.
//
// Seq::lengths: each item is convolved as if it were alone (its valid steps, padded by
// the padding mode; the padding steps of the batch are never read). The output's lengths
// follow the convolution's arithmetic, ⌊(L + pads − d·(K − 1) − 1)/s⌋ + 1 (0 for an item
// too short for the kernel), and its steps past them are zero. An item too short for
// reflect or circular padding is padded with zeros.
//
// forward_fused(x, ws, act, residual) and fold_affine(scale, shift) as Conv2D's (the
// residual is a time-major Seq<Out> of the output's shape).

#include <span>
#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/conv1d.hpp"
#include "mmm/layers/conv_options.hpp"

namespace mmm {

template <index In, index Out, Conv P = Conv{}, bool Bias = true>
class Conv1D : public ModuleBase<Conv1D<In, Out, P, Bias>, Takes<Seq<In>, Seq<Out>>>,
               public detail::ConvParameters<Conv1D<In, Out, P, Bias>, Out, Bias> {
  using Weights = detail::ConvParameters<Conv1D, Out, Bias>;

  static_assert(In > 0 && Out > 0, "Conv1D<In, Out>: channel counts must be positive");
  static_assert(P.kernel.square() && P.stride.square() && P.dilation.square() && P.pad.h == P.pad.w,
                "Conv1D: give each option one number (Conv{.kernel = 3, .stride = 2}), not one per axis");
  static_assert(detail::conv_options_valid(P),
                "Conv1D: kernel, stride, dilation and groups must be positive, padding not negative");
  static_assert(In % P.groups == 0 && Out % P.groups == 0,
                "Conv1D: groups must divide both the input and the output channel count (as torch.nn.Conv1d)");
  static_assert(!P.pad.keeps_size || P.stride.w == 1, "Conv1D: padding='same' (Pad::same) needs stride 1, as in torch");
  static_assert(P.output_padding == Axes{0}, "Conv1D: output_padding is an option of ConvTranspose2D");
  static constexpr index K = P.kernel.w;

 public:
  using Weights::parameters;
  static constexpr index in_channels = In;
  static constexpr index out_channels = Out;
  static constexpr Conv geometry = P;
  static constexpr kernels::ConvParams params = detail::conv1d_params(In, Out, P);
  // One input and one output channel per group: a vector loop over channels.
  static constexpr bool depthwise = P.groups == In && P.groups == Out;

  static std::string name() {
    return "Conv1D<" + std::to_string(In) + ", " + std::to_string(Out) + ", " + detail::conv1d_options_text(P) +
           (Bias ? "" : ", no bias") + ">";
  }

  Conv1D() : Weights(Shape{Out, In / P.groups, K}) {}

  // Output steps for an input of `length` steps (≤ 0 when it is too short).
  static constexpr index output_length(index length) { return params.out_w(length); }


  void prepare() {
    const float* scale = this->folded_scale();
    if constexpr (depthwise) {
      packed_depthwise_ = Tensor(Shape{K, Out});  // [K][C]: a step's weights for every channel together
      for (index c = 0; c < Out; ++c)
        for (index j = 0; j < K; ++j) packed_depthwise_[j * Out + c] = this->weight_[c * K + j] * (scale ? scale[c] : 1.0f);
    } else {
      packed_ = kernels::PackedConvWeights(this->weight_.data(), Out, P.groups, params.depth(), scale);
    }
    this->prepare_bias();
  }

  Seq<Out> forward(const Seq<In>& x, Workspace& ws) const { return forward_fused(x, ws, kernels::Activation::none); }

  Seq<Out> forward_fused(const Seq<In>& x, Workspace& ws, kernels::Activation activation,
                         const float* residual = nullptr) const {
    this->require_prepared();
    check_input(x);
    const index out_len = params.out_w(x.length);
    float* y = ws.allocate<float>(checked_mul(checked_mul(x.batch, out_len, "Conv1D"), Out, "Conv1D"));
    std::int32_t* lengths = x.lengths ? ws.allocate<std::int32_t>(x.batch) : nullptr;
    const kernels::ConvEpilogue ep{this->bias_used_.data(), residual, activation};
    const Workspace::Mark scratch = ws.mark();
    if constexpr (depthwise) {
      kernels::depthwise_conv1d(params, x.data, x.batch, x.length, x.lengths, packed_depthwise_.data(), y, lengths, ep);
    } else {
      std::int32_t* offsets = ws.allocate<std::int32_t>(params.depth());
      float* rows = ws.allocate<float>(kernels::conv1d_scratch(params, x.batch, x.length, x.lengths));
      kernels::conv1d(params, x.data, x.batch, x.length, x.lengths, packed_, y, lengths, ep, offsets, rows);
    }
    ws.release(scratch);
    return {y, x.batch, out_len, lengths};
  }

 private:
  void check_input(const Seq<In>& x) const {
    const index reach = P.dilation.w * (K - 1) + 1, padded = x.length + params.pad_left + params.pad_right;
    if (x.length <= 0 || padded < reach)
      throw ShapeError(name() + ": a sequence of " + std::to_string(x.length) + " steps is shorter than the (padded, " +
                       "dilated) kernel (" + std::to_string(padded) + " padded, the kernel spans " +
                       std::to_string(reach) + "); the output would have " + std::to_string(params.out_w(x.length)) +
                       " steps");
    const index pad = std::max(params.pad_left, params.pad_right);
    if ((P.padding_mode == PaddingMode::reflect && pad >= x.length) ||
        (P.padding_mode == PaddingMode::circular && pad > x.length))
      throw ShapeError(name() + ": " + kernels::name(P.padding_mode) + " padding of " + std::to_string(pad) +
                       " needs a longer sequence than " + std::to_string(x.length) + " steps");
    if (x.lengths)
      for (index b = 0; b < x.batch; ++b)
        if (x.lengths[b] < 0 || x.lengths[b] > x.length)
          throw RangeError(name() + ": item " + std::to_string(b) + " has " + std::to_string(x.lengths[b]) +
                           " valid steps of " + std::to_string(x.length));
  }

  kernels::PackedConvWeights packed_;
  Tensor packed_depthwise_;
};

}  // namespace mmm
