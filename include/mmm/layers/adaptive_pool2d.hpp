#pragma once
// Adaptive pooling of each channel of a Map<C> to a fixed output size, giving Map<C>:
//   AdaptiveAvgPool2D<OutH, OutW>   torch.nn.AdaptiveAvgPool2d((OutH, OutW))
//   AdaptiveMaxPool2D<OutH, OutW>   torch.nn.AdaptiveMaxPool2d((OutH, OutW))
// Output cell o of an axis of input side `in` and output side `out` reduces the input bin
// [⌊o·in/out⌋, ⌈(o+1)·in/out⌉), torch's bins (they overlap when out does not divide in, and
// repeat inputs when out > in). AdaptiveAvgPool2D<1> is GlobalAvgPool without the flatten.
// The size is part of the type (AdaptiveAvgPool2D<7> is 7×7) or, with no template
// arguments, set at run time: AdaptiveAvgPool2D<> pool(7, 5), or set_output_size(7, 5); an
// output size ≤ 0 is a RangeError. No parameters; NaN in a bin gives NaN (max as torch's).
// (torch's None for "keep this axis" has no spelling here.)

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/pool2d.hpp"
#include "mmm/layers/conv_options.hpp"

namespace mmm {

namespace detail {

enum class AdaptiveReduction { average, max };

template <class Derived, AdaptiveReduction R, index OutH, index OutW>
class AdaptivePool2D : public ModuleBase<Derived, AnySize<Map, Map>> {
  static_assert(OutH >= 0 && OutW >= 0 && (OutH > 0) == (OutW > 0),
                "AdaptivePool2D<OutH, OutW>: output sizes must be positive (or both left out, to set at run time)");
  static constexpr bool runtime_size = OutH == 0;

 public:
  AdaptivePool2D() = default;
  AdaptivePool2D(index out_h, index out_w) requires runtime_size { set_output_size(out_h, out_w); }

  static std::string name() {
    const char* kind = R == AdaptiveReduction::average ? "AdaptiveAvgPool2D" : "AdaptiveMaxPool2D";
    return std::string(kind) + (runtime_size ? "<>" : "<" + detail::axes_text(Axes{OutH, OutW}) + ">");
  }

  void set_output_size(index out_h, index out_w) requires runtime_size {
    if (out_h <= 0 || out_w <= 0)
      throw RangeError(name() + ": the output size must be positive, got " + std::to_string(out_h) + "×" +
                       std::to_string(out_w));
    size_ = {out_h, out_w};
  }
  Axes output_size() const noexcept { return size_; }

  template <index C>
  Map<C> forward(const Map<C>& x, Workspace& ws) const {
    if (size_.h <= 0)
      throw RangeError(name() + ": no output size was set (construct it with one, or call set_output_size)");
    if (x.height <= 0 || x.width <= 0)
      throw ShapeError(name() + ": a " + std::to_string(x.height) + "×" + std::to_string(x.width) +
                       " map has nothing to pool");
    const index planes = x.batch * C;
    float* y = ws.allocate<float>(checked_mul(checked_mul(planes, size_.h, "AdaptivePool2D"), size_.w, "AdaptivePool2D"));
    if constexpr (R == AdaptiveReduction::average)
      kernels::adaptive_avg_pool2d(x.data, y, planes, x.height, x.width, size_.h, size_.w);
    else
      kernels::adaptive_max_pool2d(x.data, y, planes, x.height, x.width, size_.h, size_.w);
    return {y, x.batch, size_.h, size_.w};
  }

 private:
  Axes size_{OutH, OutW};
};

}  // namespace detail

template <index OutH = 0, index OutW = OutH>
struct AdaptiveAvgPool2D
    : detail::AdaptivePool2D<AdaptiveAvgPool2D<OutH, OutW>, detail::AdaptiveReduction::average, OutH, OutW> {
  using detail::AdaptivePool2D<AdaptiveAvgPool2D, detail::AdaptiveReduction::average, OutH, OutW>::AdaptivePool2D;
};

template <index OutH = 0, index OutW = OutH>
struct AdaptiveMaxPool2D
    : detail::AdaptivePool2D<AdaptiveMaxPool2D<OutH, OutW>, detail::AdaptiveReduction::max, OutH, OutW> {
  using detail::AdaptivePool2D<AdaptiveMaxPool2D, detail::AdaptiveReduction::max, OutH, OutW>::AdaptivePool2D;
};

}  // namespace mmm
