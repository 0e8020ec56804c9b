#pragma once
// Resampling NCHW planes through per-axis source tables (the layer computes the tables
// with torch's index rules, layers/upsample.hpp):
//   gather_planes        y[oy][ox] = x[rows[oy]][cols[ox]]                      (nearest)
//   bilinear_planes      y[oy][ox] = Σ two rows × two columns, weighted         (bilinear)
// as (x[r0][c0]·λc0 + x[r0][c1]·λc1)·λr0 + (x[r1][c0]·λc0 + x[r1][c1]·λc1)·λr1, torch's
// order. Planes are split between threads.

#include <algorithm>

#include "mmm/core/tensor.hpp"
#include "mmm/core/threading.hpp"

namespace mmm::kernels {

// One output position of a linear resampling: the two source positions and their weights.
struct LinearTap {
  index i0 = 0, i1 = 0;
  float w0 = 1.0f, w1 = 0.0f;
};

namespace detail {
template <class Fn>
void for_each_plane(index planes, index work_per_plane, Fn&& fn) {
  const index grain = std::max<index>(1, (index{1} << 15) / std::max<index>(work_per_plane, 1));
  parallel_for(planes, grain, [&](index begin, index end) {
    for (index p = begin; p < end; ++p) fn(p);
  });
}
}  // namespace detail

inline void gather_planes(const float* x, float* y, index planes, index in_h, index in_w, index out_h, index out_w,
                          const index* rows, const index* cols) {
  detail::for_each_plane(planes, out_h * out_w, [&](index p) {
    const float* in = x + p * in_h * in_w;
    float* out = y + p * out_h * out_w;
    for (index oy = 0; oy < out_h; ++oy) {
      const float* src = in + rows[oy] * in_w;
      float* dst = out + oy * out_w;
      for (index ox = 0; ox < out_w; ++ox) dst[ox] = src[cols[ox]];
    }
  });
}

inline void bilinear_planes(const float* x, float* y, index planes, index in_h, index in_w, index out_h, index out_w,
                            const LinearTap* rows, const LinearTap* cols) {
  detail::for_each_plane(planes, 4 * out_h * out_w, [&](index p) {
    const float* in = x + p * in_h * in_w;
    float* out = y + p * out_h * out_w;
    for (index oy = 0; oy < out_h; ++oy) {
      const LinearTap r = rows[oy];
      const float* a = in + r.i0 * in_w;
      const float* b = in + r.i1 * in_w;
      float* dst = out + oy * out_w;
      for (index ox = 0; ox < out_w; ++ox) {
        const LinearTap c = cols[ox];
        dst[ox] = (a[c.i0] * c.w0 + a[c.i1] * c.w1) * r.w0 + (b[c.i0] * c.w0 + b[c.i1] * c.w1) * r.w1;
      }
    }
  });
}

}  // namespace mmm::kernels
