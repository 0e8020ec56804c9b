#pragma once
// Sliding-window pooling over each channel of a Map<C>, giving Map<C>:
//   MaxPool2D<Pool{...}>   torch.nn.MaxPool2d(kernel_size, stride, padding, dilation, ceil_mode)
//   AvgPool2D<Pool{...}>   torch.nn.AvgPool2d(kernel_size, stride, padding, ceil_mode,
//                                             count_include_pad, divisor_override)
// Every size is per axis (Axes, as for Conv2D: 3 or {3, 5}); stride 0 means the kernel size (torch's
// stride=None). No parameters.
//
// Output side, torch's rule: ⌊(in + 2·pad − dilation·(kernel − 1) − 1)/stride⌋ + 1, rounded
// up instead with ceil_mode, and then one less if the last window would start past the
// input and its left padding. Padding is ignored by the max and counted as zeros by the
// mean when count_include_pad (the divisor is the window clipped to the padded map; a
// ceil_mode window hanging past the padding does not count that part). A map for which
// the output would be empty is a ShapeError naming the module and the sizes. NaN in a
// window gives NaN (max as torch's `val > max || isnan(val)`; a mean by arithmetic).

#include <string>

#include "mmm/compose/module_base.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/kernels/pool2d.hpp"
#include "mmm/layers/conv_options.hpp"

namespace mmm {

// The geometry of a pooling window, a template argument.
struct Pool {
  Axes kernel = 1;
  Axes stride = 0;  // 0: the kernel size
  Axes padding = 0;
  Axes dilation = 1;  // MaxPool2D only
  bool ceil_mode = false;
  bool count_include_pad = true;  // AvgPool2D only
  index divisor_override = 0;     // AvgPool2D only; 0: none

  constexpr Axes effective_stride() const { return {stride.h > 0 ? stride.h : kernel.h, stride.w > 0 ? stride.w : kernel.w}; }
};

namespace detail {

// torch's pooling_output_shape for one axis: ≤ 0 when the window does not fit.
constexpr index pooled_size(index in, index kernel, index stride, index pad, index dilation, bool ceil_mode) {
  const index span = in + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  index out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;  // floor division
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

template <Pool P>
struct PoolGeometry {
  static constexpr Axes stride = P.effective_stride();
  static_assert(P.kernel.h > 0 && P.kernel.w > 0, "Pool: the kernel must be positive on both axes");
  static_assert(stride.h > 0 && stride.w > 0, "Pool: the stride must be positive (or 0 for the kernel size)");
  static_assert(P.dilation.h > 0 && P.dilation.w > 0, "Pool: the dilation must be positive");
  static_assert(P.padding.h >= 0 && P.padding.w >= 0 && P.padding.h <= P.kernel.h / 2 && P.padding.w <= P.kernel.w / 2,
                "Pool: the padding must be between 0 and half the kernel size (torch's rule)");
  static_assert(P.divisor_override >= 0, "Pool: divisor_override must be positive, or 0 for none");

  static constexpr kernels::PoolWindow window{P.kernel.h, P.kernel.w, stride.h, stride.w,
                                              P.padding.h, P.padding.w, P.dilation.h, P.dilation.w};

  static std::string describe() {
    std::string s = "kernel " + detail::axes_text(P.kernel);
    if (!(stride == P.kernel)) s += ", stride " + detail::axes_text(stride);
    if (!(P.padding == Axes{0})) s += ", padding " + detail::axes_text(P.padding);
    if (!(P.dilation == Axes{1})) s += ", dilation " + detail::axes_text(P.dilation);
    if (P.ceil_mode) s += ", ceil_mode";
    return s;
  }

  // The output side of each axis, or a ShapeError naming `module` when the map is too small.
  template <class Module, index C>
  static Axes output(const Map<C>& x) {
    const index oh = pooled_size(x.height, P.kernel.h, stride.h, P.padding.h, P.dilation.h, P.ceil_mode);
    const index ow = pooled_size(x.width, P.kernel.w, stride.w, P.padding.w, P.dilation.w, P.ceil_mode);
    if (oh <= 0 || ow <= 0)
      throw ShapeError(Module::name() + ": a " + std::to_string(x.height) + "×" + std::to_string(x.width) +
                       " map is smaller than the (padded, dilated) window; the output would be " + std::to_string(oh) +
                       "×" + std::to_string(ow));
    return {oh, ow};
  }
};

}  // namespace detail

template <Pool P = Pool{}>
struct MaxPool2D : ModuleBase<MaxPool2D<P>, AnySize<Map, Map>> {
  using geometry = detail::PoolGeometry<P>;
  static_assert(P.divisor_override == 0, "MaxPool2D: divisor_override belongs to AvgPool2D");

  static std::string name() { return "MaxPool2D<" + geometry::describe() + ">"; }

  template <index C>
  Map<C> forward(const Map<C>& x, Workspace& ws) const {
    const Axes out = geometry::template output<MaxPool2D>(x);
    float* y = ws.allocate<float>(checked_mul(checked_mul(x.batch * C, out.h, "MaxPool2D"), out.w, "MaxPool2D"));
    kernels::max_pool2d(x.data, y, x.batch * C, x.height, x.width, out.h, out.w, geometry::window);
    return {y, x.batch, out.h, out.w};
  }
};

template <Pool P = Pool{}>
struct AvgPool2D : ModuleBase<AvgPool2D<P>, AnySize<Map, Map>> {
  using geometry = detail::PoolGeometry<P>;
  static_assert(P.dilation == Axes{1}, "AvgPool2D: torch's average pooling has no dilation");

  static std::string name() {
    return "AvgPool2D<" + geometry::describe() + (P.count_include_pad ? "" : ", count_include_pad=False") +
           (P.divisor_override ? ", divisor_override " + std::to_string(P.divisor_override) : "") + ">";
  }

  template <index C>
  Map<C> forward(const Map<C>& x, Workspace& ws) const {
    const Axes out = geometry::template output<AvgPool2D>(x);
    float* y = ws.allocate<float>(checked_mul(checked_mul(x.batch * C, out.h, "AvgPool2D"), out.w, "AvgPool2D"));
    kernels::avg_pool2d(x.data, y, x.batch * C, x.height, x.width, out.h, out.w, geometry::window,
                        {P.count_include_pad, P.divisor_override});
    return {y, x.batch, out.h, out.w};
  }
};

}  // namespace mmm
