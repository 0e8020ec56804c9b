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

#include <algorithm>
#include <span>
#include <string>

#include "mmm/core/errors.hpp"
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

// A Conv1D as the kernels see it: the w fields, one row (h fields 1 and no padding).
constexpr kernels::ConvParams conv1d_params(index in, index out, const Conv& c) {
  Conv one_row = c;
  one_row.kernel = Axes{1, c.kernel.w};
  one_row.stride = Axes{1, c.stride.w};
  one_row.dilation = Axes{1, c.dilation.w};
  if (!c.pad.keeps_size) one_row.pad = Pad{0, c.pad.w};
  kernels::ConvParams p = conv_params(in, out, one_row);
  p.pad_top = p.pad_bottom = 0;
  return p;
}

// "kernel 3, stride 2, pad 1" of a Conv1D.
inline std::string conv1d_options_text(const Conv& c) {
  std::string s = "kernel " + std::to_string(c.kernel.w) + ", stride " + std::to_string(c.stride.w) + ", pad " +
                  (c.pad.keeps_size ? std::string("same") : std::to_string(c.pad.w));
  if (c.dilation.w != 1) s += ", dilation " + std::to_string(c.dilation.w);
  if (c.groups != 1) s += ", groups " + std::to_string(c.groups);
  if (c.padding_mode != PaddingMode::zeros) s += std::string(", ") + kernels::name(c.padding_mode);
  return s;
}


// What every convolution holds besides its packed kernels: torch's weight and bias, the
// per-channel affine folded into it, and whether prepare() has run since either changed.
// Self is the module (its name() goes into messages) and lists `using ConvParameters::
// parameters;` so that its state_dict is weight and bias.
template <class Self, index Out, bool Bias>
class ConvParameters {
 public:
  static void parameters(auto& self, auto&& p) {
    p("weight", self.weight_);
    if constexpr (Bias) p("bias", self.bias_);
  }

  Tensor& weight() noexcept { return weight_; }
  const Tensor& weight() const noexcept { return weight_; }
  Tensor& bias() noexcept requires Bias { return bias_; }
  const Tensor& bias() const noexcept requires Bias { return bias_; }

  // y·scale[o] + shift[o] after the convolution (an eval-mode BatchNorm), applied by the
  // next prepare(): see layers/conv2d.hpp.
  void fold_affine(std::span<const float> scale, std::span<const float> shift) {
    if (static_cast<index>(scale.size()) != Out || static_cast<index>(shift.size()) != Out)
      throw ShapeError(Self::name() + ": fold_affine needs " + std::to_string(Out) + " scales and shifts, got " +
                       std::to_string(scale.size()) + " and " + std::to_string(shift.size()));
    scale_ = Tensor(Shape{Out});
    shift_ = Tensor(Shape{Out});
    std::copy(scale.begin(), scale.end(), scale_.data());
    std::copy(shift.begin(), shift.end(), shift_.data());
    prepared_ = false;
  }
  bool folded() const noexcept { return scale_.data() != nullptr; }

 protected:
  explicit ConvParameters(Shape weight_shape) : weight_(weight_shape) {
    if constexpr (Bias) bias_ = Tensor(Shape{Out});
  }

  // The folded scale per output channel, or nullptr.
  const float* folded_scale() const noexcept { return folded() ? scale_.data() : nullptr; }

  // The bias the kernels add (bias·scale + shift when folded, or none), kept for forward.
  void prepare_bias() {
    if (!folded()) {
      bias_used_ = Bias ? bias_ : Tensor();
    } else {
      bias_used_ = Tensor(Shape{Out});
      for (index o = 0; o < Out; ++o) bias_used_[o] = (Bias ? bias_[o] : 0.0f) * scale_[o] + shift_[o];
    }
    prepared_ = true;
  }

  void require_prepared() const {
    if (!prepared_)
      throw Error(Self::name() + ": weights are not prepared; load() them, or call prepare() after setting them or folding");
  }

  Tensor weight_, bias_;
  Tensor bias_used_;

 private:
  Tensor scale_, shift_;
  bool prepared_ = false;
};

inline std::string map_size_text(index h, index w) { return std::to_string(h) + "×" + std::to_string(w); }

// The checks every 2-D convolution makes of its input, with messages naming the module
// (whose name is built only then: a forward must not allocate).
template <class Module>
void check_conv_input(const kernels::ConvParams& p, index h, index w) {
  const index need_h = p.dilation_h * (p.kernel_h - 1) + 1, need_w = p.dilation_w * (p.kernel_w - 1) + 1;
  const index padded_h = h + p.pad_top + p.pad_bottom, padded_w = w + p.pad_left + p.pad_right;
  if (h <= 0 || w <= 0 || padded_h < need_h || padded_w < need_w)
    throw ShapeError(Module::name() + ": a " + map_size_text(h, w) + " map is smaller than the (padded, dilated) kernel (" +
                     map_size_text(padded_h, padded_w) + " padded, the kernel spans " + map_size_text(need_h, need_w) +
                     "); the output would be " + map_size_text(p.out_h(h), p.out_w(w)));
  if (p.padding_mode == PaddingMode::reflect &&
      (std::max(p.pad_top, p.pad_bottom) >= h || std::max(p.pad_left, p.pad_right) >= w))
    throw ShapeError(Module::name() + ": reflect padding needs each pad smaller than the map's side, got a " +
                     map_size_text(h, w) + " map");
  if (p.padding_mode == PaddingMode::circular &&
      (std::max(p.pad_top, p.pad_bottom) > h || std::max(p.pad_left, p.pad_right) > w))
    throw ShapeError(Module::name() + ": circular padding wraps around at most once: a " + map_size_text(h, w) +
                     " map allows pads up to its sides");
}

}  // namespace detail
}  // namespace mmm
