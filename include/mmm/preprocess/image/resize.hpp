#pragma once
// Resizing 8-bit images with torchvision's tensor semantics: what
// `torchvision.transforms.functional.resize(t, size, interpolation, antialias)` (0.14) gives
// for a uint8 CHW tensor `t`, which is what a model trained on torchvision tensors saw.
// That is torch.nn.functional.interpolate with align_corners=False, computed in float32:
//   nearest    src = min(floor(dst · in/out), in - 1)            (torch's "nearest")
//   bilinear   2 taps at src = (dst + ½) · in/out - ½, clamped at 0
//   bicubic    4 taps, Keys' cubic with a = -0.75, edge indices clamped
//   antialias  (bilinear/bicubic) PIL-style separable filter whose support widens with the
//              downscale factor, weights normalised per output pixel; bicubic then uses
//              a = -0.5, as torch's _upsample_bicubic2d_aa does to match PIL
// then rounded half to even (torch.round) and, for bicubic, clamped to [0, 255].
// It is not PIL's own resize (PIL rounds its intermediate rows to 8 bits).
//
// The work is separable: a horizontal pass over the input rows that are needed, into float
// rows, then a vertical pass — the same order and sums as torch, so most outputs are
// bit-identical and the rest differ by one step of rounding (bound: ±1).
// Weights are computed once per (size, mode) in a plan that a Resizer keeps, and only the
// requested window of the output is computed: resize-then-crop costs the crop.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mmm/core/checked.hpp"
#include "mmm/core/errors.hpp"
#include "mmm/preprocess/image/image.hpp"

namespace mmm {

enum class Interpolation { nearest, bilinear, bicubic };

inline const char* interpolation_name(Interpolation i) {
  switch (i) {
    case Interpolation::nearest: return "nearest";
    case Interpolation::bilinear: return "bilinear";
    case Interpolation::bicubic: return "bicubic";
  }
  return "?";
}

struct ImageSize {
  index height = 0, width = 0;
  friend bool operator==(const ImageSize&, const ImageSize&) = default;
};

// torchvision's output size for resize(img, [shorter], max_size): the shorter side becomes
// `shorter`, the longer one int(shorter · long / short); with max_size > 0 the longer side is
// capped and the shorter one scaled down with it.
inline ImageSize resize_shorter_side(index height, index width, index shorter, index max_size = 0) {
  if (height <= 0 || width <= 0) throw ShapeError("resize: cannot resize an empty image");
  if (height > image_max_side || width > image_max_side)
    throw ShapeError("resize: an image side is at most " + std::to_string(image_max_side) + ", got " +
                     std::to_string(height) + "×" + std::to_string(width));
  if (shorter <= 0 || shorter > image_max_side)
    throw RangeError("resize: the shorter side must be in [1, " + std::to_string(image_max_side) + "], got " +
                     std::to_string(shorter));
  if (max_size < 0 || max_size > image_max_side)
    throw RangeError("resize: max_size must be 0 (none) or at most " + std::to_string(image_max_side) + ", got " +
                     std::to_string(max_size));
  if (max_size > 0 && max_size <= shorter)
    throw RangeError("resize: max_size = " + std::to_string(max_size) +
                     " must be larger than the requested shorter side " + std::to_string(shorter));
  const bool tall = width <= height;
  const index short_side = tall ? width : height, long_side = tall ? height : width;
  index new_short = shorter;  // the products below are of sides ≤ 2^24: no overflow
  auto new_long = static_cast<index>(static_cast<double>(shorter * long_side) / static_cast<double>(short_side));
  if (max_size > 0 && new_long > max_size) {
    new_short = static_cast<index>(static_cast<double>(max_size * new_short) / static_cast<double>(new_long));
    new_long = max_size;
  }
  return tall ? ImageSize{new_long, new_short} : ImageSize{new_short, new_long};
}

// A rectangle of the resized image; rows [top, top + height), columns [left, left + width).
struct Window {
  index top = 0, left = 0, height = 0, width = 0;
  friend bool operator==(const Window&, const Window&) = default;
};

namespace detail::resize {

// One axis of a separable resize: for each output position in the window, up to `taps`
// (input index, weight) pairs; `count[i]` of them are used. Input indices are in range.
struct Axis {
  int taps = 0;
  std::vector<std::int32_t> index, count;
  std::vector<float> weight;
  mmm::index lo = 0, hi = 0;  // input positions touched: [lo, hi)
};

inline float linear_filter(float x) {
  if (x < 0.0f) x = -x;
  return x < 1.0f ? 1.0f - x : 0.0f;
}

// Keys' cubic convolution, as torch writes it (cubic_convolution1/2).
inline float cubic1(float x, float a) { return ((a + 2) * x - (a + 3)) * x * x + 1; }
inline float cubic2(float x, float a) { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; }

inline float cubic_aa_filter(float x) {
  constexpr float a = -0.5f;
  if (x < 0.0f) x = -x;
  if (x < 1.0f) return cubic1(x, a);
  if (x < 2.0f) return cubic2(x, a);
  return 0.0f;
}

// The mixed float/double arithmetic below follows torch 1.13's UpSample code expression by
// expression, so that weights (and thus most outputs) come out bit-identical.
inline void make_axis(Axis& axis, mmm::index in, mmm::index out, mmm::index first, mmm::index n, Interpolation mode,
                      bool antialias) {
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  const bool aa = antialias && mode != Interpolation::nearest;
  int taps = 1;
  float support = 0;
  if (aa) {
    const double base = (mode == Interpolation::bilinear ? 2 : 4) * 0.5;
    support = static_cast<float>(scale >= 1.0f ? base * scale : base);
    taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  } else if (mode == Interpolation::bilinear) {
    taps = 2;
  } else if (mode == Interpolation::bicubic) {
    taps = 4;
  }
  axis.taps = taps;
  // A downscale by s has about 2s taps per output: a 2^24-pixel side shrunk to one pixel
  // asks for 2^25 of them, so the table size is checked like any other.
  const auto entries = static_cast<std::size_t>(checked_bytes(checked_mul(n, taps, "resize: filter taps"), 4, 1, "resize: filter taps") / 4);
  axis.index.assign(entries, 0);
  axis.weight.assign(entries, 0.0f);
  axis.count.assign(static_cast<std::size_t>(n), 0);
  axis.lo = in;
  axis.hi = 0;
  for (mmm::index k = 0; k < n; ++k) {
    const mmm::index i = first + k;
    std::int32_t* idx = axis.index.data() + k * taps;
    float* w = axis.weight.data() + k * taps;
    int used = 0;
    if (mode == Interpolation::nearest) {
      mmm::index src = i;
      if (out == 2 * in) {
        src = i >> 1;
      } else if (out != in) {
        src = std::min(static_cast<mmm::index>(std::floor(static_cast<float>(i) * scale)), in - 1);
      }
      idx[0] = static_cast<std::int32_t>(src), w[0] = 1.0f, used = 1;
    } else if (aa) {
      const float invscale = scale >= 1.0f ? static_cast<float>(1.0 / scale) : 1.0f;
      const auto center = static_cast<float>(scale * (static_cast<double>(i) + 0.5));
      const mmm::index xmin = std::max<mmm::index>(static_cast<mmm::index>((center - support) + 0.5), 0);
      const mmm::index xsize = std::min<mmm::index>(static_cast<mmm::index>((center + support) + 0.5), in) - xmin;
      float total = 0.0f;
      for (mmm::index j = 0; j < xsize; ++j) {
        const auto x = static_cast<float>((static_cast<double>(static_cast<float>(j + xmin) - center) + 0.5) *
                                          static_cast<double>(invscale));
        const float wj = mode == Interpolation::bilinear ? linear_filter(x) : cubic_aa_filter(x);
        w[j] = wj;
        idx[j] = static_cast<std::int32_t>(xmin + j);
        total += wj;
      }
      for (mmm::index j = 0; j < xsize; ++j)
        if (total != 0.0f) w[j] /= total;
      used = static_cast<int>(xsize);
    } else if (mode == Interpolation::bilinear) {
      if (in == out) {
        idx[0] = idx[1] = static_cast<std::int32_t>(i), w[0] = 1.0f, w[1] = 0.0f;
      } else {
        // torch computes the source position in double (acc_type) and the lambdas in float.
        double src = static_cast<double>(scale) * (static_cast<double>(i) + 0.5) - 0.5;
        if (src < 0) src = 0;
        const auto i0 = static_cast<mmm::index>(src);
        const mmm::index i1 = i0 + (i0 < in - 1 ? 1 : 0);
        const auto l1 = static_cast<float>(src - static_cast<double>(i0));
        idx[0] = static_cast<std::int32_t>(i0), idx[1] = static_cast<std::int32_t>(i1);
        w[0] = 1.0f - l1, w[1] = l1;
      }
      used = 2;
    } else {  // bicubic without antialias
      const float src = scale * (static_cast<float>(i) + 0.5f) - 0.5f;
      const auto i0 = static_cast<mmm::index>(std::floor(src));
      const float t = src - static_cast<float>(i0);
      constexpr float a = -0.75f;
      const float x2 = 1.0f - t;
      w[0] = cubic2(t + 1.0f, a), w[1] = cubic1(t, a), w[2] = cubic1(x2, a), w[3] = cubic2(x2 + 1.0f, a);
      for (int j = 0; j < 4; ++j) idx[j] = static_cast<std::int32_t>(std::clamp<mmm::index>(i0 - 1 + j, 0, in - 1));
      used = 4;
    }
    if (used == 0) {  // torch leaves such an output at 0; keep an in-range index for the loops
      idx[0] = 0, w[0] = 0.0f, used = 1;
    }
    for (int j = used; j < taps; ++j) idx[j] = idx[used - 1], w[j] = 0.0f;
    axis.count[static_cast<std::size_t>(k)] = used;
    for (int j = 0; j < used; ++j) {
      axis.lo = std::min<mmm::index>(axis.lo, idx[j]);
      axis.hi = std::max<mmm::index>(axis.hi, idx[j] + 1);
    }
  }
  if (n == 0) axis.lo = axis.hi = 0;
}

// Horizontal pass of one row: out[x·C + c] = Σ_j w_j · in[idx_j·C + c], summed in torch's order.
template <int C>
void horizontal_row(const std::uint8_t* in, const Axis& cols, mmm::index n, float* out) {
  const int taps = cols.taps;
  for (mmm::index x = 0; x < n; ++x) {
    const std::int32_t* idx = cols.index.data() + x * taps;
    const float* w = cols.weight.data() + x * taps;
    const int used = cols.count[static_cast<std::size_t>(x)];
    float acc[C];
    for (int c = 0; c < C; ++c) acc[c] = w[0] * static_cast<float>(in[idx[0] * C + c]);
    for (int j = 1; j < used; ++j) {
      const std::uint8_t* p = in + idx[j] * C;
      for (int c = 0; c < C; ++c) acc[c] += w[j] * static_cast<float>(p[c]);
    }
    for (int c = 0; c < C; ++c) out[x * C + c] = acc[c];
  }
}

}  // namespace detail::resize

// torch.round then the uint8 cast, as torchvision's _cast_squeeze_out; the clamp is
// torchvision's for bicubic and a no-op (up to float rounding) for the others.
inline std::uint8_t round_to_u8(float v) {
  v = std::nearbyint(v);
  return static_cast<std::uint8_t>(v <= 0.0f ? 0.0f : (v >= 255.0f ? 255.0f : v));
}

// Resizes 8-bit images of any channel count. Keeps the weights of the last size it saw and
// its row buffers, so repeated calls on same-sized images allocate nothing. One Resizer per
// thread.
class Resizer {
 public:
  explicit Resizer(Interpolation interpolation = Interpolation::bilinear, bool antialias = true)
      : interpolation_(interpolation), antialias_(antialias) {
    if (antialias && interpolation == Interpolation::nearest)
      throw RangeError("resize: antialias applies to bilinear and bicubic only (torchvision raises for nearest too)");
  }

  Interpolation interpolation() const noexcept { return interpolation_; }
  bool antialias() const noexcept { return antialias_; }

  // The whole image resized to `size`, into `out` (reshaped, storage reused).
  void resize(const Image& in, Image& out, ImageSize size) {
    if (&in == &out) throw ShapeError("resize: the output must be another Image than the input");
    guard_allocations([&] { return describe(in, size); }, [&] { resize_into(in, out, size); });
  }

  // Computes only `window` of the image resized to `size` (the window must lie inside it)
  // and hands each of its rows to sink(row_in_window, values): width × channels interleaved
  // floats, before rounding. The values are valid only during the call. The first call
  // with new sizes builds the plan and buffers; memory the machine cannot give then is a
  // ResourceError.
  template <class RowSink>
  void run(const Image& in, ImageSize size, Window window, RowSink&& sink) {
    check(in, size, window);
    guard_allocations([&] { return describe(in, size); }, [&] { prepare(in, size, window); });
    if (window.height == 0 || window.width == 0) return;
    const int C = in.channels();
    const index stride = window.width * C;
    for (index y = rows_.lo; y < rows_.hi; ++y) {
      float* dst = tmp_.data() + (y - rows_.lo) * stride;
      switch (C) {
        case 1: detail::resize::horizontal_row<1>(in.row(y), cols_, window.width, dst); break;
        case 2: detail::resize::horizontal_row<2>(in.row(y), cols_, window.width, dst); break;
        case 3: detail::resize::horizontal_row<3>(in.row(y), cols_, window.width, dst); break;
        default: detail::resize::horizontal_row<4>(in.row(y), cols_, window.width, dst); break;
      }
    }
    const int taps = rows_.taps;
    float* acc = line_.data();
    for (index k = 0; k < window.height; ++k) {
      const std::int32_t* idx = rows_.index.data() + k * taps;
      const float* w = rows_.weight.data() + k * taps;
      const int used = rows_.count[static_cast<std::size_t>(k)];
      const float* r0 = tmp_.data() + (idx[0] - rows_.lo) * stride;
      const float w0 = w[0];
      for (index i = 0; i < stride; ++i) acc[i] = w0 * r0[i];
      for (int j = 1; j < used; ++j) {
        const float* r = tmp_.data() + (idx[j] - rows_.lo) * stride;
        const float wj = w[j];
        for (index i = 0; i < stride; ++i) acc[i] += wj * r[i];
      }
      sink(k, static_cast<const float*>(acc));
    }
  }

 private:
  std::string describe(const Image& in, ImageSize size) const {
    return std::string("resize (") + interpolation_name(interpolation_) + ") of a " + in.shape_str() +
           " image to " + std::to_string(size.height) + "×" + std::to_string(size.width);
  }

  void resize_into(const Image& in, Image& out, ImageSize size) {
    const Window all{0, 0, size.height, size.width};
    check(in, size, all);
    out.reshape(size.height, size.width, in.channels());
    const index n = size.width * in.channels();
    run(in, size, all, [&](index y, const float* values) {
      std::uint8_t* dst = out.row(y);
      for (index i = 0; i < n; ++i) dst[i] = round_to_u8(values[i]);
    });
  }

  static void check(const Image& in, ImageSize size, Window w) {
    if (in.height() <= 0 || in.width() <= 0)
      throw ShapeError("resize: cannot resize an empty " + in.shape_str() + " image");
    if (size.height <= 0 || size.width <= 0 || size.height > image_max_side || size.width > image_max_side)
      throw RangeError("resize: the output size must be positive and at most " + std::to_string(image_max_side) +
                       " per side, got " + std::to_string(size.height) + "×" + std::to_string(size.width));
    if (w.top < 0 || w.left < 0 || w.height < 0 || w.width < 0 || w.top > size.height || w.left > size.width ||
        w.height > size.height - w.top || w.width > size.width - w.left)
      throw RangeError("resize: window at (" + std::to_string(w.top) + ", " + std::to_string(w.left) + ") of " +
                       std::to_string(w.height) + "×" + std::to_string(w.width) + " is not inside the " +
                       std::to_string(size.height) + "×" + std::to_string(size.width) + " output");
  }

  // The plan for these sizes (kept until they change) and room for the rows it reads.
  void prepare(const Image& in, ImageSize size, Window window) {
    const ImageSize in_size{in.height(), in.width()};
    if (!(planned_ && in_size == in_size_ && size == size_ && window == window_)) {
      planned_ = false;
      detail::resize::make_axis(rows_, in_size.height, size.height, window.top, window.height, interpolation_, antialias_);
      detail::resize::make_axis(cols_, in_size.width, size.width, window.left, window.width, interpolation_, antialias_);
      in_size_ = in_size, size_ = size, window_ = window, planned_ = true;
    }
    const index stride = window.width * in.channels();
    const index rows = checked_mul(rows_.hi - rows_.lo, stride, "resize: the rows the window reads");
    if (static_cast<index>(tmp_.size()) < rows) tmp_.resize(checked_bytes(rows, sizeof(float), 1, "resize") / sizeof(float));
    if (static_cast<index>(line_.size()) < stride) line_.resize(static_cast<std::size_t>(stride));
  }

  Interpolation interpolation_;
  bool antialias_;
  bool planned_ = false;
  ImageSize in_size_, size_;
  Window window_;
  detail::resize::Axis rows_, cols_;
  std::vector<float> tmp_, line_;
};

// One-shot helpers (they build a plan each call; keep a Resizer for repeated work).
inline Image resize(const Image& in, ImageSize size, Interpolation interpolation = Interpolation::bilinear,
                    bool antialias = true) {
  Image out;
  Resizer(interpolation, antialias).resize(in, out, size);
  return out;
}

// torchvision's resize(img, shorter): the shorter side becomes `shorter`.
inline Image resize_shorter(const Image& in, index shorter, Interpolation interpolation = Interpolation::bilinear,
                            bool antialias = true, index max_size = 0) {
  return resize(in, resize_shorter_side(in.height(), in.width(), shorter, max_size), interpolation, antialias);
}

}  // namespace mmm
