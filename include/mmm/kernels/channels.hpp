#pragma once
// Per-channel math over NCHW planes: plane p (of `plane` floats) belongs to channel
// p mod channels.
//   scale_shift_channels   y = act(x·scale[c] + shift[c] (+ residual))   eval BatchNorm, GroupNorm's affine
//   group_norm             each of `groups` consecutive channel blocks of an item normalized
//                          by its own mean and (biased) variance, then scale/shift per channel
// Planes are split between threads; x may be y.

#include <algorithm>

#include "mmm/core/tensor.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/activation.hpp"
#include "mmm/kernels/math.hpp"

namespace mmm::kernels {

template <class Arch = xsimd::default_arch>
struct ChannelKernels {
  using F = simd::Floats<Arch>;
  using Math = MathKernels<Arch>;

  static void scale_shift_channels(const float* x, float* y, index planes, index plane, index channels,
                                   const float* scale, const float* shift, const float* residual, Activation act) {
    for_planes(planes, plane, [&](index p) {
      const index c = p % channels;
      const float* in = x + p * plane;
      float* out = y + p * plane;
      const F s(scale[c]), b(shift[c]);
      if (residual)
        Math::zip(in, residual + p * plane, out, plane, [s, b](const F& v, const F& r) { return xsimd::fma(v, s, b) + r; });
      else
        Math::map(in, out, plane, [s, b](const F& v) { return xsimd::fma(v, s, b); });
      if (act != Activation::none) Math::apply(act, out, out, plane);
    });
  }

  // x: `items` items of `channels` planes each; gamma/beta per channel (null: 1 and 0).
  static void group_norm(const float* x, float* y, index items, index channels, index plane, index groups,
                         const float* gamma, const float* beta, float eps) {
    const index row = channels / groups * plane;  // one group of one item: contiguous in NCHW
    parallel_for(items * groups, std::max<index>(1, (index{1} << 15) / std::max<index>(row, 1)), [&](index begin, index end) {
      Math::layer_norm(x + begin * row, y + begin * row, end - begin, row, nullptr, nullptr, eps);
      if (!gamma && !beta) return;
      for (index g = begin; g < end; ++g)
        for (index p = g * (channels / groups); p < (g + 1) * (channels / groups); ++p) {
          const index c = p % channels;
          const F s(gamma ? gamma[c] : 1.0f), b(beta ? beta[c] : 0.0f);
          float* out = y + p * plane;
          Math::map(out, out, plane, [s, b](const F& v) { return xsimd::fma(v, s, b); });
        }
    });
  }

 private:
  template <class Fn>
  static void for_planes(index planes, index plane, Fn&& fn) {
    const index grain = std::max<index>(1, (index{1} << 15) / std::max<index>(plane, 1));
    parallel_for(planes, grain, [&](index begin, index end) {
      for (index p = begin; p < end; ++p) fn(p);
    });
  }
};

using Channels = ChannelKernels<>;

// y = act(x·scale[c] + shift[c] + residual) per channel c of NCHW planes; residual may be null.
inline void scale_shift_channels(const float* x, float* y, index planes, index plane, index channels, const float* scale,
                                 const float* shift, const float* residual = nullptr, Activation act = Activation::none) {
  Channels::scale_shift_channels(x, y, planes, plane, channels, scale, shift, residual, act);
}

// GroupNorm over `items` NCHW items: channels/groups consecutive channels share a mean and variance.
inline void group_norm(const float* x, float* y, index items, index channels, index plane, index groups,
                       const float* gamma, const float* beta, float eps) {
  Channels::group_norm(x, y, items, channels, plane, groups, gamma, beta, eps);
}

}  // namespace mmm::kernels
