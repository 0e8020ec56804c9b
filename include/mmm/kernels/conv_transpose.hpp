#pragma once
// Transposed 2-D convolution (torch.nn.ConvTranspose2d) over NCHW maps: the adjoint of a
// convolution, each input value spreading a kernel-sized patch into the output.
//
// Per image and group, a GEMM gives every input position's patches at once,
//   cols[positions × Out_g·kh·kw] = Xᵀ[positions × In_g] · W[In_g × Out_g·kh·kw],
// (the weight, torch's [In, Out/groups, kh, kw], is that right-hand side as stored, packed
// once), and col2im adds each patch into the output at (iy·s − pad + ky·d, ix·s − pad + kx·d).
// Positions go in chunks so that cols stays a bounded scratch; the epilogue (bias,
// residual, activation) runs over the finished planes.

#include <algorithm>
#include <vector>

#include "mmm/core/checked.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/conv.hpp"
#include "mmm/kernels/gemm.hpp"

namespace mmm::kernels {

// ConvParams describe the transposed convolution as torch's arguments do (in_channels
// are the input's); output_padding extends the bottom and right edges.
struct ConvTransposeParams {
  ConvParams conv;
  index output_padding_h = 0, output_padding_w = 0;

  constexpr index out_h(index h) const {
    return (h - 1) * conv.stride_h - conv.pad_top - conv.pad_bottom + conv.dilation_h * (conv.kernel_h - 1) +
           output_padding_h + 1;
  }
  constexpr index out_w(index w) const {
    return (w - 1) * conv.stride_w - conv.pad_left - conv.pad_right + conv.dilation_w * (conv.kernel_w - 1) +
           output_padding_w + 1;
  }
  constexpr index patch() const { return conv.group_out() * conv.kernel_h * conv.kernel_w; }
};

// Input positions per GEMM: a chunk's cols (positions × patch) stay in L2 for col2im.
inline index conv_transpose_chunk(const ConvTransposeParams& p) {
  return std::max<index>(14, (256 * 1024 / 4) / std::max<index>(1, p.patch()) / 14 * 14);
}

// Floats of scratch one call needs: one chunk of cols.
inline index conv_transpose_scratch(const ConvTransposeParams& p, index in_h, index in_w) {
  return std::max<index>(1, checked_mul(std::min(conv_transpose_chunk(p), in_h * in_w), p.patch(), "conv_transpose2d"));
}

// The weight of each group packed as a GEMM's right-hand side, optionally each output
// channel scaled (a folded affine).
inline std::vector<PackedWeights> pack_conv_transpose(const ConvTransposeParams& p, const float* weight,
                                                      const float* scale) {
  const index in_g = p.conv.group_in(), patch = p.patch(), taps = p.conv.kernel_h * p.conv.kernel_w;
  std::vector<PackedWeights> packed;
  std::vector<float> scaled;
  for (index g = 0; g < p.conv.groups; ++g) {
    const float* w = weight + g * in_g * patch;
    if (scale) {
      scaled.assign(w, w + in_g * patch);
      for (index c = 0; c < in_g; ++c)
        for (index j = 0; j < patch; ++j) scaled[static_cast<std::size_t>(c * patch + j)] *= scale[g * p.conv.group_out() + j / taps];
      w = scaled.data();
    }
    packed.push_back(PackedWeights::from_kn(w, in_g, patch, patch));
  }
  return packed;
}

namespace detail {
// The first tap k (of a kernel placed at `start`, taps `dilation` apart) at or after 0,
// and the end of those before `size`.
constexpr index first_tap(index start, index dilation) { return start >= 0 ? 0 : (-start + dilation - 1) / dilation; }
constexpr index end_tap(index start, index dilation, index kernel, index size) {
  return start >= size ? 0 : std::min(kernel, (size - 1 - start) / dilation + 1);
}
}  // namespace detail

// y[N × Out × OH × OW] = epilogue(conv_transpose2d(x[N × In × H × W])). The caller has
// checked that the output sizes are positive.
inline void conv_transpose2d(const ConvTransposeParams& p, const float* x, index batch, index in_h, index in_w,
                             const std::vector<PackedWeights>& w, float* y, const ConvEpilogue& ep, float* cols) {
  const ConvParams& c = p.conv;
  const index oh = p.out_h(in_h), ow = p.out_w(in_w), positions = in_h * in_w, plane = oh * ow;
  const index in_g = c.group_in(), out_g = c.group_out(), patch = p.patch(), taps = c.kernel_h * c.kernel_w;
  const index chunk = conv_transpose_chunk(p);
  std::fill_n(y, batch * c.out_channels * plane, 0.0f);
  for (index n = 0; n < batch; ++n)
    for (index g = 0; g < c.groups; ++g) {
      const float* xg = x + (n * c.in_channels + g * in_g) * positions;
      float* yg = y + (n * c.out_channels + g * out_g) * plane;
      for (index p0 = 0; p0 < positions; p0 += chunk) {
        const index m = std::min(chunk, positions - p0);
        // cols[m × patch] = (x's planes at positions p0..)ᵀ · W_g
        gemm(Trans::yes, m, xg + p0, positions, w[static_cast<std::size_t>(g)], cols, patch);
        // col2im: output channels are disjoint, so threads take channels. The taps that land
        // inside the output are a range of ky per input row and of kx per input column,
        // found once, so that the innermost loop has no test.
        parallel_for(out_g, 1, [&](index o0, index o1) {
          for (index o = o0; o < o1; ++o)
            for (index i = 0; i < m;) {
              const index iy = (p0 + i) / in_w, ix_begin = (p0 + i) % in_w;
              const index ix_end = std::min(in_w, ix_begin + (m - i));
              const index top = iy * c.stride_h - c.pad_top;
              const index ky0 = detail::first_tap(top, c.dilation_h), ky1 = detail::end_tap(top, c.dilation_h, c.kernel_h, oh);
              for (index ix = ix_begin; ix < ix_end; ++ix, ++i) {
                const index left = ix * c.stride_w - c.pad_left;
                const index kx0 = detail::first_tap(left, c.dilation_w), kx1 = detail::end_tap(left, c.dilation_w, c.kernel_w, ow);
                const float* src = cols + i * patch + o * taps;
                for (index ky = ky0; ky < ky1; ++ky) {
                  float* row = yg + o * plane + (top + ky * c.dilation_h) * ow;
                  const float* tap = src + ky * c.kernel_w;
                  for (index kx = kx0; kx < kx1; ++kx) row[left + kx * c.dilation_w] += tap[kx];
                }
              }
            }
        });
      }
    }
  // Epilogue over the finished planes.
  parallel_for(batch * c.out_channels, 1, [&](index b0, index b1) {
    for (index b = b0; b < b1; ++b) {
      float* out = y + b * plane;
      if (ep.bias) {
        const float bias = ep.bias[b % c.out_channels];
        for (index i = 0; i < plane; ++i) out[i] += bias;
      }
      if (ep.residual) add(out, ep.residual + b * plane, out, plane);
      if (ep.activation != Activation::none) apply(ep.activation, out, out, plane);
    }
  });
}

}  // namespace mmm::kernels
