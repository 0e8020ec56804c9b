#pragma once
// Conv2D<InChannels, OutChannels, Conv{.kernel, .stride, .pad, .dilation}>: a square-kernel
// 2-D convolution over NCHW maps, as torch.nn.Conv2d(in, out, kernel, stride, padding,
// dilation) with zero padding and groups = 1. Parameters: weight [Out, In, K, K], bias [Out].
//
// Through the one GEMM (im2col): each output position's receptive field is gathered into a
// row of In·K·K values in the weight's (channel, ky, kx) order, so that
//   rows[N·OH·OW × In·K·K] · Wᵀ = out[N·OH·OW × Out]   (bias and activation in the epilogue)
// with the weight packed once, as a Linear's; the rows-by-channel result is then laid out
// back as NCHW. All scratch comes from the Workspace.
//
// (A first, simple Conv2D for the VQA example: no groups, no asymmetric kernels or strides.)

#include <span>
#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/gemm.hpp"
#include "mmm/layers/gemm_weights.hpp"

namespace mmm {

// The geometry of a convolution, a template argument: Conv2D<3, 32, Conv{.kernel = 3, .stride = 2, .pad = 1}>.
struct Conv {
  index kernel = 1;
  index stride = 1;
  index pad = 0;
  index dilation = 1;
};

template <index In, index Out, Conv P = Conv{}, bool Bias = true>
class Conv2D : public ModuleBase<Conv2D<In, Out, P, Bias>, Takes<Map<In>, Map<Out>>> {
  static_assert(In > 0 && Out > 0, "Conv2D<In, Out>: channel counts must be positive");
  static_assert(P.kernel > 0 && P.stride > 0 && P.pad >= 0 && P.dilation > 0,
                "Conv2D: kernel, stride and dilation must be positive, padding not negative");
  static constexpr index K = P.kernel;
  static constexpr index patch = In * K * K;

 public:
  static constexpr index in_channels = In;
  static constexpr index out_channels = Out;
  static constexpr Conv geometry = P;

  static std::string name() {
    return "Conv2D<" + std::to_string(In) + ", " + std::to_string(Out) + ", kernel " + std::to_string(P.kernel) +
           ", stride " + std::to_string(P.stride) + ", pad " + std::to_string(P.pad) +
           (P.dilation != 1 ? ", dilation " + std::to_string(P.dilation) : std::string()) + (Bias ? "" : ", no bias") + ">";
  }

  Conv2D() : params_(Shape{Out, In, K, K}) {}

  // [Out, In, K, K] is already [Out × In·K·K] row-major: a Linear's weight over patches.
  static void parameters(auto& self, auto&& p) { p(self.params_); }

  Tensor& weight() noexcept { return params_.weight; }
  const Tensor& weight() const noexcept { return params_.weight; }
  Tensor& bias() noexcept requires Bias { return params_.bias; }
  const Tensor& bias() const noexcept requires Bias { return params_.bias; }

  // Folds a per-output-channel affine map that follows (an eval BatchNorm) into the weights
  // and bias from the next prepare() on: out[o] = scale[o]·conv(x)[o] + shift[o].
  void fold_affine(std::span<const float> scale, std::span<const float> shift) { params_.fold_affine(scale, shift); }

  // The output side for an input side, or ≤ 0 when the input is too small.
  static constexpr index output_size(index in) { return (in + 2 * P.pad - P.dilation * (K - 1) - 1) / P.stride + 1; }

  // The shape forward(x) gives (what a residual added in the epilogue must have).
  static Shape output_shape(const Map<In>& x) { return {x.batch, Out, output_size(x.height), output_size(x.width)}; }

  Map<Out> forward(const Map<In>& x, Workspace& ws) const { return forward_fused(x, ws, kernels::Activation::none); }

  // With an activation in the GEMM's epilogue (Sequential uses this for Conv2D + ReLU), and
  // optionally a residual (NCHW, the output's shape) added before the activation.
  Map<Out> forward_fused(const Map<In>& x, Workspace& ws, kernels::Activation activation,
                         const float* residual = nullptr) const {
    const kernels::PackedWeights& w = params_.template packed<Conv2D>();
    const index oh = output_size(x.height), ow = output_size(x.width);
    if (x.height + 2 * P.pad < P.dilation * (K - 1) + 1 || x.width + 2 * P.pad < P.dilation * (K - 1) + 1 || oh <= 0 || ow <= 0)
      throw ShapeError(name() + ": a " + std::to_string(x.height) + "×" + std::to_string(x.width) +
                       " map is smaller than the (padded, dilated) kernel");
    const index positions = oh * ow, rows = x.batch * positions;

    float* y = ws.allocate<float>(rows * Out);  // the result, NCHW; before the scratch, which is given back
    const Workspace::Mark scratch = ws.mark();
    float* cols = ws.allocate<float>(rows * patch);
    float* by_position = ws.allocate<float>(rows * Out);
    im2col(x, oh, ow, cols);
    // The residual is NCHW and the product rows-by-channel: it is added after the layout
    // change, and the activation with it.
    kernels::gemm(rows, cols, patch, w, by_position, Out, params_.epilogue(residual ? kernels::Activation::none : activation));
    // [N, OH·OW, Out] → [N, Out, OH·OW]
    for (index n = 0; n < x.batch; ++n)
      for (index p = 0; p < positions; ++p)
        for (index c = 0; c < Out; ++c) y[(n * Out + c) * positions + p] = by_position[(n * positions + p) * Out + c];
    if (residual) {
      kernels::add(y, residual, y, rows * Out);
      kernels::apply(activation, y, y, rows * Out);
    }
    ws.release(scratch);
    return {y, x.batch, oh, ow};
  }

 private:
  static void im2col(const Map<In>& x, index oh, index ow, float* cols) {
    const index h = x.height, w = x.width;
    for (index n = 0; n < x.batch; ++n)
      for (index oy = 0; oy < oh; ++oy)
        for (index ox = 0; ox < ow; ++ox) {
          float* row = cols + ((n * oh + oy) * ow + ox) * patch;
          for (index c = 0; c < In; ++c) {
            const float* plane = x.data + (n * In + c) * h * w;
            for (index ky = 0; ky < K; ++ky) {
              const index iy = oy * P.stride - P.pad + ky * P.dilation;
              for (index kx = 0; kx < K; ++kx) {
                const index ix = ox * P.stride - P.pad + kx * P.dilation;
                *row++ = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? plane[iy * w + ix] : 0.0f;
              }
            }
          }
        }
  }

  GemmWeights<Bias> params_;
};

}  // namespace mmm
