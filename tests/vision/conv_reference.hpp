#pragma once
// A plain convolution, written as torch documents it (double sums, one output element at
// a time), for checking the kernels over geometries too many to export from PyTorch one
// by one; the PyTorch oracle (conv_parity.py) checks the same semantics against torch.

#include <cmath>
#include <vector>

#include "mmm/kernels/conv.hpp"

namespace mmm::test {

// The input index torch's F.pad reads for position i of a side of n, or -1 for zero.
inline index reference_pad_index(kernels::PaddingMode mode, index i, index n) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case kernels::PaddingMode::zeros: return -1;
    case kernels::PaddingMode::reflect: return i < 0 ? -i : (n - 1) - (i - (n - 1));
    case kernels::PaddingMode::replicate: return i < 0 ? 0 : n - 1;
    case kernels::PaddingMode::circular: return i < 0 ? i + n : i - n;
  }
  return -1;
}

inline double reference_activation(kernels::Activation a, double x) {
  switch (a) {
    case kernels::Activation::none: return x;
    case kernels::Activation::relu: return x > 0 ? x : (std::isnan(x) ? x : 0.0);
    case kernels::Activation::gelu: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case kernels::Activation::gelu_tanh:
      return 0.5 * x * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case kernels::Activation::silu: return x / (1 + std::exp(-x));
    case kernels::Activation::sigmoid: return 1 / (1 + std::exp(-x));
    case kernels::Activation::tanh: return std::tanh(x);
  }
  return x;
}

// The reference's result, and per element the sum of the magnitudes of its terms (bias,
// residual and every product): a float sum is within a small multiple of ε·sqrt(K) of it.
struct ReferenceResult {
  std::vector<float> y;
  std::vector<double> magnitude;
};

// Whether every element of `actual` is within tolerance·magnitude of the reference (what
// float accumulation allows; a wrong or missing term is off by about magnitude/K).
inline double worst_error_ratio(const float* actual, const ReferenceResult& r) {
  double worst = 0;
  for (std::size_t i = 0; i < r.y.size(); ++i) {
    if (std::isnan(actual[i]) != std::isnan(r.y[i])) return INFINITY;
    if (std::isnan(r.y[i])) continue;
    worst = std::max(worst, std::fabs(static_cast<double>(actual[i]) - r.y[i]) / std::max(r.magnitude[i], 1e-30));
  }
  return worst;
}

// y = act(conv2d(x, w) + bias + residual), NCHW; w is [Out, In/groups, kh, kw].
inline ReferenceResult reference_conv2d(const kernels::ConvParams& p, const float* x, index batch, index h, index w,
                                           const float* weight, const float* bias, const float* residual,
                                           kernels::Activation act) {
  const index oh = p.out_h(h), ow = p.out_w(w), in_g = p.group_in(), out_g = p.group_out();
  ReferenceResult out;
  out.y.resize(static_cast<std::size_t>(batch * p.out_channels * oh * ow));
  out.magnitude.resize(out.y.size());
  for (index n = 0; n < batch; ++n)
    for (index o = 0; o < p.out_channels; ++o) {
      const index g = o / out_g;
      for (index oy = 0; oy < oh; ++oy)
        for (index ox = 0; ox < ow; ++ox) {
          double sum = bias ? bias[o] : 0.0, magnitude = std::fabs(sum);
          for (index c = 0; c < in_g; ++c)
            for (index ky = 0; ky < p.kernel_h; ++ky) {
              const index iy = reference_pad_index(p.padding_mode, oy * p.stride_h + ky * p.dilation_h - p.pad_top, h);
              if (iy < 0) continue;
              for (index kx = 0; kx < p.kernel_w; ++kx) {
                const index ix = reference_pad_index(p.padding_mode, ox * p.stride_w + kx * p.dilation_w - p.pad_left, w);
                if (ix < 0) continue;
                const double term = static_cast<double>(x[((n * p.in_channels + g * in_g + c) * h + iy) * w + ix]) *
                                    weight[((o * in_g + c) * p.kernel_h + ky) * p.kernel_w + kx];
                sum += term;
                magnitude += std::fabs(term);
              }
            }
          const std::size_t at = static_cast<std::size_t>(((n * p.out_channels + o) * oh + oy) * ow + ox);
          if (residual) sum += residual[at], magnitude += std::fabs(residual[at]);
          out.y[at] = static_cast<float>(reference_activation(act, sum));
          // A nonlinearity rounds relative to its own result: an output of bias alone (every
          // tap in the zero padding) may have terms far smaller than σ(bias) ≈ 0.5.
          const bool rounds_own_result = act != kernels::Activation::none && act != kernels::Activation::relu;
          out.magnitude[at] = rounds_own_result ? magnitude + std::fabs(out.y[at]) : magnitude;
        }
    }
  return out;
}

}  // namespace mmm::test
