#pragma once
// Depthwise 2-D convolution (groups = input channels, each giving Out/In output
// channels) over NCHW maps: a stencil per channel plane, vectorised along output rows.
//
// Each input row is copied once, padded (any padding mode), into a ring of the few rows
// a kernel's height spans; every output row then reads its kh rows from the ring with
// plain unaligned loads, no edge cases. So the input is read from memory once and the
// output written once, which is what bounds a depthwise convolution (~2 FLOPs per byte).

#include <algorithm>

#include "mmm/core/checked.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/conv.hpp"

namespace mmm::kernels {

namespace detail {

struct DepthwisePlan {
  index out_h = 0, out_w = 0, band_width = 0;
  index window = 0;    // padded rows one output row reads: (kh − 1)·dh + 1
  index row_len = 0;   // floats per ring row: the padded width and the last vector's reach
  int threads = 1;
};

inline DepthwisePlan plan_depthwise(const ConvParams& p, index batch, index in_h, index in_w) {
  constexpr index W = ConvTraits<kernel_arch>::width;
  DepthwisePlan plan;
  plan.out_h = p.out_h(in_h);
  plan.out_w = p.out_w(in_w);
  plan.band_width = in_w + p.pad_left + p.pad_right;
  plan.window = (p.kernel_h - 1) * p.dilation_h + 1;
  const index vectors_end = (std::max<index>(plan.out_w, 1) + W - 1) / W * W;
  const index reach = (vectors_end - 1) * p.stride_w + (p.kernel_w - 1) * p.dilation_w + 1;
  plan.row_len = (std::max(plan.band_width, reach) + 15) / 16 * 16;
  const double work = 2.0 * static_cast<double>(batch) * static_cast<double>(p.out_channels) *
                      static_cast<double>(std::max<index>(plan.out_h, 0) * std::max<index>(plan.out_w, 0)) *
                      static_cast<double>(p.kernel_h * p.kernel_w);
  plan.threads = work < conv_blocking().min_parallel_flops / 2 ? 1 : std::max(1, num_threads());
  return plan;
}

// Padded row `pr` (padded coordinates) of plane x into out (row_len floats, the tail zero).
inline void fill_ring_row(const ConvParams& p, const DepthwisePlan& plan, const float* x, index in_h, index in_w,
                          index pr, float* out) {
  const index iy = padded_source(p.padding_mode, pr - p.pad_top, in_h);
  fill_padded_row(p.padding_mode, iy < 0 ? nullptr : x + iy * in_w, in_w, p.pad_left, p.pad_right, out);
  std::fill(out + plan.band_width, out + plan.row_len, 0.0f);
}

// One output row of channel o from the ring rows `rows[ky]`: stride 1 in x, vectorised.
// KH, KW > 0: the kernel's size at compile time (3×3 is most of them); 0: at run time.
template <class Arch, int KH, int KW>
inline void depthwise_row_unit_stride(const ConvParams& p, const float* const* rows, const float* w, float bias,
                                      const float* residual, float* y, index out_w, Activation act) {
  using M = MathKernels<Arch>;
  using V = typename M::F;
  constexpr index Wd = M::width;
  const index kh = KH > 0 ? KH : p.kernel_h, kw = KW > 0 ? KW : p.kernel_w, dw = p.dilation_w;
  for (index ox = 0; ox < out_w; ox += Wd) {
    V acc(bias);
#pragma GCC unroll 7
    for (index ky = 0; ky < kh; ++ky) {
      const float* r = rows[ky] + ox;
#pragma GCC unroll 7
      for (index kx = 0; kx < kw; ++kx) acc = xsimd::fma(V::load_unaligned(r + kx * dw), V(w[ky * kw + kx]), acc);
    }
    const index n = std::min(Wd, out_w - ox);
    if (n == Wd) {
      if (residual) acc = acc + V::load_unaligned(residual + ox);
      if (act != Activation::none) acc = activate<Arch>(act, acc);
      acc.store_unaligned(y + ox);
    } else {
      if (residual) acc = acc + M::load_partial(residual + ox, n, 0.0f);
      if (act != Activation::none) acc = activate<Arch>(act, acc);
      M::store_partial(y + ox, n, acc);
    }
  }
}

// Any stride, any architecture: element by element.
inline void depthwise_row_scalar(const ConvParams& p, const float* const* rows, const float* w, float bias,
                                 const float* residual, float* y, index out_w, Activation act) {
  for (index ox = 0; ox < out_w; ++ox) {
    float acc = bias;
    for (index ky = 0; ky < p.kernel_h; ++ky)
      for (index kx = 0; kx < p.kernel_w; ++kx)
        acc += rows[ky][ox * p.stride_w + kx * p.dilation_w] * w[ky * p.kernel_w + kx];
    y[ox] = acc + (residual ? residual[ox] : 0.0f);
  }
  if (act != Activation::none) apply(act, y, y, out_w);
}

}  // namespace detail

// Floats of scratch one depthwise_conv2d call needs (its threads' rings).
inline index depthwise_scratch(const ConvParams& p, index batch, index in_h, index in_w) {
  const detail::DepthwisePlan plan = detail::plan_depthwise(p, batch, in_h, in_w);
  return std::max<index>(1, checked_mul(checked_mul(plan.window, plan.row_len, "depthwise_conv2d"), plan.threads,
                                        "depthwise_conv2d"));
}

// y[N × Out × OH × OW] = epilogue(depthwise conv(x[N × In × H × W])), groups = In and
// Out = m·In: output channel o reads input channel o / m with weights w[o·kh·kw ...]
// ([Out, 1, kh, kw], torch's layout). The caller has checked the sizes (as for conv2d).
inline void depthwise_conv2d(const ConvParams& p, const float* x, index batch, index in_h, index in_w, const float* w,
                             float* y, const ConvEpilogue& ep, float* scratch) {
  using Arch = detail::kernel_arch;
  const detail::DepthwisePlan plan = detail::plan_depthwise(p, batch, in_h, in_w);
  if (plan.out_h <= 0 || plan.out_w <= 0 || batch <= 0) return;
  const index m = p.out_channels / p.in_channels, taps = p.kernel_h * p.kernel_w;
  const index in_plane = in_h * in_w, out_plane = plan.out_h * plan.out_w;
  const index planes = batch * p.in_channels;
  const bool unit_stride = p.stride_w == 1 && detail::has_vector_math<Arch>;
  const bool three = p.kernel_h == 3 && p.kernel_w == 3;

  auto run = [&](index begin, index end, float* ring) {
    const float* rows[64];
    for (index plane = begin; plane < end; ++plane) {
      const index n = plane / p.in_channels, c = plane % p.in_channels;
      const float* xc = x + plane * in_plane;
      index filled = 0;  // padded rows [0, filled) have been put in the ring (the last `window` of them are there)
      for (index oy = 0; oy < plan.out_h; ++oy) {
        const index top = oy * p.stride_h, bottom = top + plan.window;
        for (index pr = std::max(filled, top); pr < bottom; ++pr)
          detail::fill_ring_row(p, plan, xc, in_h, in_w, pr, ring + (pr % plan.window) * plan.row_len);
        filled = std::max(filled, bottom);
        for (index ky = 0; ky < p.kernel_h; ++ky) rows[ky] = ring + ((top + ky * p.dilation_h) % plan.window) * plan.row_len;
        for (index j = 0; j < m; ++j) {
          const index o = c * m + j;
          const index at = (n * p.out_channels + o) * out_plane + oy * plan.out_w;
          const float bias = ep.bias ? ep.bias[o] : 0.0f;
          const float* res = ep.residual ? ep.residual + at : nullptr;
          const float* wo = w + o * taps;
          if constexpr (detail::has_vector_math<Arch>) {
            if (unit_stride && three)
              detail::depthwise_row_unit_stride<Arch, 3, 3>(p, rows, wo, bias, res, y + at, plan.out_w, ep.activation);
            else if (unit_stride)
              detail::depthwise_row_unit_stride<Arch, 0, 0>(p, rows, wo, bias, res, y + at, plan.out_w, ep.activation);
            else
              detail::depthwise_row_scalar(p, rows, wo, bias, res, y + at, plan.out_w, ep.activation);
          } else {
            detail::depthwise_row_scalar(p, rows, wo, bias, res, y + at, plan.out_w, ep.activation);
          }
        }
      }
    }
  };
  const index ring_floats = plan.window * plan.row_len;
  if (plan.threads <= 1) {
    run(0, planes, scratch);
    return;
  }
  parallel_team(plan.threads, [&](const Team& team) {
    run(planes * team.rank() / team.size(), planes * (team.rank() + 1) / team.size(), scratch + team.rank() * ring_floats);
  });
}

}  // namespace mmm::kernels
