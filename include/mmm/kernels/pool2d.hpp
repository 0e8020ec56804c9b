#pragma once
// Pooling over NCHW planes, as torch's CPU kernels compute it:
//   max_pool2d           max over a sliding window (kernel, stride, padding, dilation)
//   avg_pool2d           mean over a sliding window (count_include_pad, divisor_override)
//   adaptive_max_pool2d  max over bins [⌊o·in/out⌋, ⌈(o+1)·in/out⌉) of each axis
//   adaptive_avg_pool2d  mean over the same bins
// `planes` planes of in_h×in_w floats go to planes of out_h×out_w; the caller computes the
// output size (torch's rule lives with the layers). Padding never contributes a value:
// a max ignores it (a window of padding only gives −inf, as torch), a sum counts it as 0.
// NaN: a window holding a NaN gives NaN, as torch's `val > max || isnan(val)`.
//
// Sliding windows are separable. For each output row the kernel reduces the window's input
// rows into one row (vertical, contiguous vectors), then reduces that row over the window's
// columns (contiguous vectors for every start column) and picks every stride-th start:
// about (kh + kw)/width vector operations per input column instead of kh·kw per output.
// Rows are taken in chunks whose span fits a stack buffer; a window wider than that buffer
// (no network has one) takes the direct loop, which is also the plain path the tests hold
// the fast one to. Planes are split between threads.

#include <algorithm>
#include <cmath>
#include <limits>

#include "mmm/core/tensor.hpp"
#include "mmm/core/threading.hpp"
#include "mmm/kernels/math.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mmm::kernels {

// A sliding window over one plane.
struct PoolWindow {
  index kernel_h = 1, kernel_w = 1;
  index stride_h = 1, stride_w = 1;
  index pad_h = 0, pad_w = 0;
  index dilation_h = 1, dilation_w = 1;
};

// What a sum becomes: torch's divisor rules for avg_pool2d.
struct AverageRule {
  bool count_include_pad = true;
  index divisor_override = 0;  // > 0: every window's sum is divided by it
};

template <class Arch = xsimd::default_arch>
struct PoolKernels {
  using F = simd::Floats<Arch>;
  using Math = MathKernels<Arch>;
  static constexpr index width = static_cast<index>(F::size);
  // Floats of one row span held on the stack per chunk (two such buffers).
  static constexpr index span_capacity = 2048;

  struct Max {
    static constexpr float fill = -std::numeric_limits<float>::infinity();
    static F combine(const F& acc, const F& v) { return xsimd::select(v > acc || xsimd::isnan(v), v, acc); }
    static float combine(float acc, float v) { return v > acc || std::isnan(v) ? v : acc; }
  };
  struct Sum {
    static constexpr float fill = 0.0f;
    static F combine(const F& acc, const F& v) { return acc + v; }
    static float combine(float acc, float v) { return acc + v; }
  };

  static void max_pool2d(const float* x, float* y, index planes, index in_h, index in_w, index out_h, index out_w,
                         const PoolWindow& w) {
    for_planes(planes, out_h * out_w * w.kernel_h * w.kernel_w, [&](index p) {
      window_plane<Max>(x + p * in_h * in_w, y + p * out_h * out_w, in_h, in_w, out_h, out_w, w);
    });
  }

  static void avg_pool2d(const float* x, float* y, index planes, index in_h, index in_w, index out_h, index out_w,
                         const PoolWindow& w, const AverageRule& rule) {
    for_planes(planes, out_h * out_w * w.kernel_h * w.kernel_w, [&](index p) {
      float* out = y + p * out_h * out_w;
      window_plane<Sum>(x + p * in_h * in_w, out, in_h, in_w, out_h, out_w, w);
      divide_by_window(out, in_h, in_w, out_h, out_w, w, rule);
    });
  }

  // The direct loops, in torch's order: the plain path (and the one for very wide windows).
  static void max_pool2d_direct(const float* x, float* y, index planes, index in_h, index in_w, index out_h,
                                index out_w, const PoolWindow& w) {
    for_planes(planes, out_h * out_w * w.kernel_h * w.kernel_w, [&](index p) {
      direct_plane<Max>(x + p * in_h * in_w, y + p * out_h * out_w, in_h, in_w, out_h, out_w, w);
    });
  }
  static void avg_pool2d_direct(const float* x, float* y, index planes, index in_h, index in_w, index out_h,
                                index out_w, const PoolWindow& w, const AverageRule& rule) {
    for_planes(planes, out_h * out_w * w.kernel_h * w.kernel_w, [&](index p) {
      float* out = y + p * out_h * out_w;
      direct_plane<Sum>(x + p * in_h * in_w, out, in_h, in_w, out_h, out_w, w);
      divide_by_window(out, in_h, in_w, out_h, out_w, w, rule);
    });
  }

  static void adaptive_max_pool2d(const float* x, float* y, index planes, index in_h, index in_w, index out_h,
                                  index out_w) {
    for_planes(planes, in_h * in_w, [&](index p) {
      adaptive_plane(x + p * in_h * in_w, y + p * out_h * out_w, in_h, in_w, out_h, out_w, [&](const float* row, index n, float& acc) {
        for (index i = 0; i < n; ++i) acc = Max::combine(acc, row[i]);
      }, Max::fill, [](float acc, index) { return acc; });
    });
  }

  // Sums in double: a bin may be a whole 56×56 plane, where float sums drift.
  static void adaptive_avg_pool2d(const float* x, float* y, index planes, index in_h, index in_w, index out_h,
                                  index out_w) {
    for_planes(planes, in_h * in_w, [&](index p) {
      adaptive_plane(x + p * in_h * in_w, y + p * out_h * out_w, in_h, in_w, out_h, out_w, [&](const float* row, index n, double& acc) {
        for (index i = 0; i < n; ++i) acc += row[i];
      }, 0.0, [](double acc, index count) { return static_cast<float>(acc / static_cast<double>(count)); });
    });
  }

 private:
  // fn(plane) for every plane, split between threads when there is enough work.
  template <class Fn>
  static void for_planes(index planes, index work_per_plane, Fn&& fn) {
    constexpr index work_per_thread = 1 << 15;
    const index grain = std::max<index>(1, work_per_thread / std::max<index>(1, work_per_plane));
    parallel_for(planes, grain, [&](index begin, index end) {
      for (index p = begin; p < end; ++p) fn(p);
    });
  }

  static F load(const float* p, index n, float fill) { return n >= width ? F::load_unaligned(p) : Math::load_partial(p, n, fill); }
  static void store(float* p, index n, const F& v) {
    if (n >= width)
      v.store_unaligned(p);
    else
      Math::store_partial(p, n, v);
  }

  // One plane through the separable path, in chunks of output columns whose input span
  // fits the stack buffers.
  template <class Op>
  static void window_plane(const float* x, float* y, index in_h, index in_w, index out_h, index out_w, const PoolWindow& w) {
    const index reach_w = (w.kernel_w - 1) * w.dilation_w + 1;  // columns one window covers
    if (reach_w > span_capacity) return direct_plane<Op>(x, y, in_h, in_w, out_h, out_w, w);
    const index chunk = (span_capacity - reach_w) / w.stride_w + 1;
    alignas(64) float rows[span_capacity];
    alignas(64) float cols[span_capacity];
    const float* valid_rows[64];
    for (index oy = 0; oy < out_h; ++oy) {
      // The window's rows inside the plane (padding rows contribute nothing).
      const index top = oy * w.stride_h - w.pad_h;
      index n_rows = 0;
      bool overflow = false;
      for (index ky = 0; ky < w.kernel_h; ++ky) {
        const index iy = top + ky * w.dilation_h;
        if (iy < 0 || iy >= in_h) continue;
        if (n_rows == 64) {
          overflow = true;
          break;
        }
        valid_rows[n_rows++] = x + iy * in_w;
      }
      if (overflow) {  // a window more than 64 rows high: this row the direct way
        direct_row<Op>(x, y + oy * out_w, in_h, in_w, oy, out_w, w);
        continue;
      }
      for (index ox0 = 0; ox0 < out_w; ox0 += chunk) {
        const index n = std::min(chunk, out_w - ox0);
        const index left = ox0 * w.stride_w - w.pad_w;  // input column of rows[0]
        const index span = (n - 1) * w.stride_w + reach_w;
        reduce_rows<Op>(valid_rows, n_rows, left, span, in_w, rows);
        float* out = y + oy * out_w + ox0;
        if (w.stride_w == 1) {
          reduce_columns<Op>(rows, n, w, out);
        } else {
          const index starts = (n - 1) * w.stride_w + 1;
          reduce_columns<Op>(rows, starts, w, cols);
          for (index i = 0; i < n; ++i) out[i] = cols[i * w.stride_w];
        }
      }
    }
  }

  // buf[j] = Op over the rows of row[left + j], j < span; Op's fill outside [0, in_w).
  template <class Op>
  static void reduce_rows(const float* const* row, index n_rows, index left, index span, index in_w, float* buf) {
    const index a = std::clamp<index>(-left, 0, span), b = std::clamp<index>(in_w - left, 0, span);
    std::fill(buf, buf + a, Op::fill);
    std::fill(buf + b, buf + span, Op::fill);
    if (n_rows == 0) return std::fill(buf + a, buf + b, Op::fill);
    for (index j = a; j < b; j += width) {
      const index k = b - j;
      F v = load(row[0] + left + j, k, Op::fill);
      for (index r = 1; r < n_rows; ++r) v = Op::combine(v, load(row[r] + left + j, k, Op::fill));
      store(buf + j, k, v);
    }
  }

  // out[i] = Op over kx of buf[i + kx·dilation], i < n.
  template <class Op>
  static void reduce_columns(const float* buf, index n, const PoolWindow& w, float* out) {
    for (index i = 0; i < n; i += width) {
      const index k = n - i;
      F v = load(buf + i, k, Op::fill);
      for (index kx = 1; kx < w.kernel_w; ++kx) v = Op::combine(v, load(buf + i + kx * w.dilation_w, k, Op::fill));
      store(out + i, k, v);
    }
  }

  template <class Op>
  static void direct_plane(const float* x, float* y, index in_h, index in_w, index out_h, index out_w, const PoolWindow& w) {
    for (index oy = 0; oy < out_h; ++oy) direct_row<Op>(x, y + oy * out_w, in_h, in_w, oy, out_w, w);
  }

  template <class Op>
  static void direct_row(const float* x, float* y, index in_h, index in_w, index oy, index out_w, const PoolWindow& w) {
    for (index ox = 0; ox < out_w; ++ox) {
      float acc = Op::fill;
      for (index ky = 0; ky < w.kernel_h; ++ky) {
        const index iy = oy * w.stride_h - w.pad_h + ky * w.dilation_h;
        if (iy < 0 || iy >= in_h) continue;
        for (index kx = 0; kx < w.kernel_w; ++kx) {
          const index ix = ox * w.stride_w - w.pad_w + kx * w.dilation_w;
          if (ix >= 0 && ix < in_w) acc = Op::combine(acc, x[iy * in_w + ix]);
        }
      }
      y[ox] = acc;
    }
  }

  // Sums to means with torch's divisor: the window clipped to the padded plane
  // (count_include_pad) or to the plane itself; an empty window gives 0.
  static void divide_by_window(float* y, index in_h, index in_w, index out_h, index out_w, const PoolWindow& w,
                               const AverageRule& rule) {
    for (index oy = 0; oy < out_h; ++oy) {
      const index h0 = oy * w.stride_h - w.pad_h, h1 = std::min(h0 + w.kernel_h, in_h + w.pad_h);
      const index inside_h = std::min(h1, in_h) - std::max<index>(h0, 0);
      for (index ox = 0; ox < out_w; ++ox) {
        const index w0 = ox * w.stride_w - w.pad_w, w1 = std::min(w0 + w.kernel_w, in_w + w.pad_w);
        const index inside_w = std::min(w1, in_w) - std::max<index>(w0, 0);
        float& v = y[oy * out_w + ox];
        if (inside_h <= 0 || inside_w <= 0) {
          v = 0.0f;
          continue;
        }
        const index divisor = rule.divisor_override > 0 ? rule.divisor_override
                              : rule.count_include_pad ? (h1 - h0) * (w1 - w0)
                                                       : inside_h * inside_w;
        v /= static_cast<float>(divisor);
      }
    }
  }

  // Bins of torch's adaptive pooling; reduce(row, n, acc) folds n values into acc,
  // finish(acc, count) gives the output.
  template <class Acc, class Reduce, class Finish>
  static void adaptive_plane(const float* x, float* y, index in_h, index in_w, index out_h, index out_w, Reduce&& reduce,
                             Acc init, Finish&& finish) {
    for (index oy = 0; oy < out_h; ++oy) {
      const index y0 = oy * in_h / out_h, y1 = ((oy + 1) * in_h + out_h - 1) / out_h;
      for (index ox = 0; ox < out_w; ++ox) {
        const index x0 = ox * in_w / out_w, x1 = ((ox + 1) * in_w + out_w - 1) / out_w;
        Acc acc = init;
        for (index iy = y0; iy < y1; ++iy) reduce(x + iy * in_w + x0, x1 - x0, acc);
        y[oy * out_w + ox] = finish(acc, (y1 - y0) * (x1 - x0));
      }
    }
  }
};

using Pool = PoolKernels<>;

inline void max_pool2d(const float* x, float* y, index planes, index in_h, index in_w, index out_h, index out_w,
                       const PoolWindow& w) {
  Pool::max_pool2d(x, y, planes, in_h, in_w, out_h, out_w, w);
}
inline void avg_pool2d(const float* x, float* y, index planes, index in_h, index in_w, index out_h, index out_w,
                       const PoolWindow& w, const AverageRule& rule) {
  Pool::avg_pool2d(x, y, planes, in_h, in_w, out_h, out_w, w, rule);
}
inline void adaptive_max_pool2d(const float* x, float* y, index planes, index in_h, index in_w, index out_h, index out_w) {
  Pool::adaptive_max_pool2d(x, y, planes, in_h, in_w, out_h, out_w);
}
inline void adaptive_avg_pool2d(const float* x, float* y, index planes, index in_h, index in_w, index out_h, index out_w) {
  Pool::adaptive_avg_pool2d(x, y, planes, in_h, in_w, out_h, out_w);
}

}  // namespace mmm::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
