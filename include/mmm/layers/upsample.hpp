#pragma once
// Upsample<Upsampling{...}>: resampling each channel of a Map<C> to a new H×W, giving Map<C>,
// as torch.nn.Upsample(size, scale_factor, mode, align_corners) (F.interpolate):
//   UpsampleMode::nearest        src = min(⌊dst·s⌋, in − 1)               torch's 'nearest'
//   UpsampleMode::nearest_exact  src = min(⌊(dst + ½)·s⌋, in − 1)         'nearest-exact'
//   UpsampleMode::bilinear       two taps at (dst + ½)·s − ½ (clamped at 0), or at dst·s
//                                with align_corners, s = (in − 1)/(out − 1)
// where s = 1/scale_factor when a scale factor is given (torch keeps the factor instead of
// recomputing it from the sizes, recompute_scale_factor=None) and in/out when the size is.
// The output size is `.size` or ⌊in·scale⌋ per axis; it may be smaller than the input.
// An axis whose size does not change is copied. No parameters.
//   Upsample<Upsampling{.scale = 2}>                                      nearest ×2
//   Upsample<Upsampling{.mode = UpsampleMode::bilinear, .size = {32, 48}, .align_corners = true}>

#include <algorithm>
#include <cmath>
#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/interpolate.hpp"
#include "mmm/layers/conv_options.hpp"

namespace mmm {

enum class UpsampleMode { nearest, nearest_exact, bilinear };

// A scale factor per axis: 2 or {2, 1.5}.
struct Scale2 {
  double h = 0, w = 0;

  constexpr Scale2() = default;
  constexpr Scale2(double both) : h(both), w(both) {}  // NOLINT: 2 reads as 2×2, as in torch
  constexpr Scale2(double height, double width) : h(height), w(width) {}
};

// What Upsample does, a template argument: a mode and either the output size or the scale.
struct Upsampling {
  UpsampleMode mode = UpsampleMode::nearest;
  Axes size = 0;
  Scale2 scale = 0.0;
  bool align_corners = false;  // bilinear only
};

namespace detail {

// torch's compute_scales_value: the factor that maps an output index to an input one.
inline float source_scale(double scale, index in, index out) {
  return scale > 0 ? static_cast<float>(1.0 / scale) : static_cast<float>(in) / static_cast<float>(out);
}

inline index nearest_source(UpsampleMode mode, index dst, index in, index out, double scale) {
  if (mode == UpsampleMode::nearest) {
    if (out == in) return dst;
    if (out == 2 * in) return dst >> 1;
    const float s = source_scale(scale, in, out);
    return std::min(static_cast<index>(std::floor(static_cast<float>(dst) * s)), in - 1);
  }
  const float s = source_scale(scale, in, out);
  return std::min(static_cast<index>(std::floor(static_cast<float>((static_cast<double>(dst) + 0.5) * s))), in - 1);
}

// The ratio is a float, as torch's; the source position and its weights are formed in
// double from it (what torch's CPU kernel gives: checked against it to ±1 float step).
inline kernels::LinearTap linear_source(index dst, index in, index out, double scale, bool align_corners) {
  if (out == in) return {dst, dst, 1.0f, 0.0f};
  const float ratio = align_corners ? (out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f)
                                    : source_scale(scale, in, out);
  const double real = std::max(align_corners ? static_cast<double>(ratio) * static_cast<double>(dst)
                                             : static_cast<double>(ratio) * (static_cast<double>(dst) + 0.5) - 0.5,
                               0.0);
  kernels::LinearTap t;
  t.i0 = static_cast<index>(real);
  t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
  const double w1 = std::clamp(real - static_cast<double>(t.i0), 0.0, 1.0);
  t.w1 = static_cast<float>(w1);
  t.w0 = static_cast<float>(1.0 - w1);
  return t;
}

inline const char* upsample_mode_name(UpsampleMode m) {
  switch (m) {
    case UpsampleMode::nearest: return "nearest";
    case UpsampleMode::nearest_exact: return "nearest-exact";
    case UpsampleMode::bilinear: return "bilinear";
  }
  return "?";
}

}  // namespace detail

template <Upsampling U>
struct Upsample : ModuleBase<Upsample<U>, AnySize<Map, Map>> {
  static constexpr bool by_size = U.size.h > 0 || U.size.w > 0;
  static_assert(by_size != (U.scale.h > 0 || U.scale.w > 0),
                "Upsample: give either the output size (.size) or the scale factor (.scale), as torch asks");
  static_assert(!by_size || (U.size.h > 0 && U.size.w > 0), "Upsample: the output size must be positive on both axes");
  static_assert(by_size || (U.scale.h > 0 && U.scale.w > 0), "Upsample: the scale factor must be positive on both axes");
  static_assert(!U.align_corners || U.mode == UpsampleMode::bilinear,
                "Upsample: align_corners only applies to the bilinear mode (torch refuses it for nearest)");

  static std::string name() {
    std::string s = std::string("Upsample<") + detail::upsample_mode_name(U.mode) + ", ";
    if constexpr (by_size)
      s += "size " + detail::axes_text(U.size);
    else
      s += "scale " + (U.scale.h == U.scale.w ? std::to_string(U.scale.h)
                                              : std::to_string(U.scale.h) + "×" + std::to_string(U.scale.w));
    return s + (U.align_corners ? ", align_corners" : "") + ">";
  }

  // The output side for an input side (≤ 0 when the input is too small for the scale).
  static index output_side(index in, index size, double scale) {
    return size > 0 ? size : static_cast<index>(std::floor(static_cast<double>(in) * scale));
  }

  template <index C>
  Map<C> forward(const Map<C>& x, Workspace& ws) const {
    const index oh = output_side(x.height, U.size.h, U.scale.h), ow = output_side(x.width, U.size.w, U.scale.w);
    if (x.height <= 0 || x.width <= 0 || oh <= 0 || ow <= 0)
      throw ShapeError(name() + ": a " + std::to_string(x.height) + "×" + std::to_string(x.width) + " map gives a " +
                       std::to_string(oh) + "×" + std::to_string(ow) + " output; both must be at least 1×1");
    const index planes = x.batch * C;
    float* y = ws.allocate<float>(checked_mul(checked_mul(planes, oh, "Upsample"), ow, "Upsample"));
    const Workspace::Mark scratch = ws.mark();
    if constexpr (U.mode == UpsampleMode::bilinear) {
      auto* rows = ws.allocate<kernels::LinearTap>(oh);
      auto* cols = ws.allocate<kernels::LinearTap>(ow);
      for (index i = 0; i < oh; ++i) rows[i] = detail::linear_source(i, x.height, oh, U.scale.h, U.align_corners);
      for (index i = 0; i < ow; ++i) cols[i] = detail::linear_source(i, x.width, ow, U.scale.w, U.align_corners);
      kernels::bilinear_planes(x.data, y, planes, x.height, x.width, oh, ow, rows, cols);
    } else {
      index* rows = ws.allocate<index>(oh);
      index* cols = ws.allocate<index>(ow);
      for (index i = 0; i < oh; ++i) rows[i] = detail::nearest_source(U.mode, i, x.height, oh, U.scale.h);
      for (index i = 0; i < ow; ++i) cols[i] = detail::nearest_source(U.mode, i, x.width, ow, U.scale.w);
      kernels::gather_planes(x.data, y, planes, x.height, x.width, oh, ow, rows, cols);
    }
    ws.release(scratch);
    return {y, x.batch, oh, ow};
  }
};

}  // namespace mmm
