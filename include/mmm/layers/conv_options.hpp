#pragma once
// The geometry of a convolution, a template argument, with torch.nn.Conv2d's options:
//
//   Conv2D<3, 32, Conv{.kernel = 3, .stride = 2, .pad = 1}>
//   Conv2D<16, 32, Conv{.kernel = {3, 5}, .stride = {2, 1}, .pad = {1, 2}, .dilation = 2, .groups = 4,
//                       .padding_mode = PaddingMode::reflect}>
//   Conv2D<8, 8, Conv{.kernel = 3, .pad = Pad::same, .groups = 8}>       (depthwise, padding='same')
//   Conv1D<80, 384, Conv{.kernel = 3, .pad = 1}>                           (one number per field)
//   ConvTranspose2D<64, 32, Conv{.kernel = 4, .stride = 2, .pad = 1, .output_padding = 0}>
//
// Sizes per spatial axis take one number for both axes or {height, width}, as torch's
// int-or-tuple arguments do. Pad::same is torch's padding='same' (stride 1 only): the
// total padding d·(k − 1) per axis, the odd one on the bottom/right, as torch places it.

#include <string>

#include "mmm/core/tensor.hpp"
#include "mmm/kernels/conv.hpp"

namespace mmm {

using kernels::PaddingMode;

// A size per spatial axis.
struct Axes {
  index h = 1, w = 1;
  constexpr Axes() = default;
  constexpr Axes(index both) : h(both), w(both) {}  // NOLINT: Conv{.kernel = 3} reads as torch's kernel_size=3
  constexpr Axes(index h_, index w_) : h(h_), w(w_) {}
  constexpr bool square() const { return h == w; }
  friend constexpr bool operator==(const Axes&, const Axes&) = default;
};

// Padding per axis (both sides alike), or Pad::same.
struct Pad {
  index h = 0, w = 0;
  bool keeps_size = false;  // padding='same'
  constexpr Pad() = default;
  constexpr Pad(index both) : h(both), w(both) {}  // NOLINT: as torch's padding=1
  constexpr Pad(index h_, index w_) : h(h_), w(w_) {}
  friend constexpr bool operator==(const Pad&, const Pad&) = default;
  static const Pad same;
};
inline constexpr Pad Pad::same = [] {
  Pad p;
  p.keeps_size = true;
  return p;
}();

struct Conv {
  Axes kernel = 1;
  Axes stride = 1;
  Pad pad = 0;
  Axes dilation = 1;
  index groups = 1;
  PaddingMode padding_mode = PaddingMode::zeros;
  Axes output_padding = 0;  // ConvTranspose2D only
};

namespace detail {

inline std::string axes_text(Axes a) {
  return a.square() ? std::to_string(a.h) : std::to_string(a.h) + "×" + std::to_string(a.w);
}

// "kernel 3, stride 2, pad 1" and whatever differs from torch's defaults.
inline std::string conv_options_text(const Conv& c, bool transposed = false) {
  std::string s = "kernel " + axes_text(c.kernel) + ", stride " + axes_text(c.stride) + ", pad " +
                  (c.pad.keeps_size ? std::string("same") : axes_text(Axes{c.pad.h, c.pad.w}));
  if (!(c.dilation == Axes{1})) s += ", dilation " + axes_text(c.dilation);
  if (transposed && !(c.output_padding == Axes{0})) s += ", output_padding " + axes_text(c.output_padding);
  if (c.groups != 1) s += ", groups " + std::to_string(c.groups);
  if (c.padding_mode != PaddingMode::zeros) s += std::string(", ") + kernels::name(c.padding_mode);
  return s;
}

constexpr bool conv_options_valid(const Conv& c) {
  return c.kernel.h > 0 && c.kernel.w > 0 && c.stride.h > 0 && c.stride.w > 0 && c.dilation.h > 0 &&
         c.dilation.w > 0 && c.pad.h >= 0 && c.pad.w >= 0 && c.groups > 0 && c.output_padding.h >= 0 &&
         c.output_padding.w >= 0;
}

// The kernel's description of a Conv2D (or of a Conv1D, as a 1×K convolution over a
// 1-row map): padding='same' resolved to its sides.
constexpr kernels::ConvParams conv_params(index in, index out, const Conv& c) {
  kernels::ConvParams p;
  p.in_channels = in;
  p.out_channels = out;
  p.groups = c.groups;
  p.kernel_h = c.kernel.h;
  p.kernel_w = c.kernel.w;
  p.stride_h = c.stride.h;
  p.stride_w = c.stride.w;
  p.dilation_h = c.dilation.h;
  p.dilation_w = c.dilation.w;
  if (c.pad.keeps_size) {
    const index th = c.dilation.h * (c.kernel.h - 1), tw = c.dilation.w * (c.kernel.w - 1);
    p.pad_top = th / 2;
    p.pad_bottom = th - th / 2;
    p.pad_left = tw / 2;
    p.pad_right = tw - tw / 2;
  } else {
    p.pad_top = p.pad_bottom = c.pad.h;
    p.pad_left = p.pad_right = c.pad.w;
  }
  p.padding_mode = c.padding_mode;
  return p;
}

}  // namespace detail
}  // namespace mmm
