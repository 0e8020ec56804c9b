#pragma once
// Padding with torchvision's modes (transforms.functional.pad on tensors):
//   constant   the fill value
//   edge       the edge pixel repeated                    (torch "replicate")
//   reflect    mirrored without repeating the edge: d c b | a b c d | c b a; padding < side
//   symmetric  mirrored repeating the edge:         c b a | a b c d | d c b; padding <= side

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "mmm/core/errors.hpp"
#include "mmm/preprocess/image/image.hpp"

namespace mmm {

enum class ImagePadMode { constant, edge, reflect, symmetric };

struct Padding {
  index left = 0, top = 0, right = 0, bottom = 0;
};

namespace detail {

// The input position that padded position i (in [-before, size + after)) reads.
inline index pad_source(index i, index size, ImagePadMode mode) {
  if (i >= 0 && i < size) return i;
  switch (mode) {
    case ImagePadMode::edge: return std::clamp<index>(i, 0, size - 1);
    case ImagePadMode::reflect: return i < 0 ? -i : 2 * (size - 1) - i;
    case ImagePadMode::symmetric: return i < 0 ? -i - 1 : 2 * size - 1 - i;
    case ImagePadMode::constant: break;
  }
  return -1;
}

inline void check_padding(index before, index after, index size, ImagePadMode mode, const char* axis) {
  if (before < 0 || after < 0)
    throw RangeError(std::string("pad: padding must not be negative, got ") + std::to_string(before) + " and " +
                     std::to_string(after) + " on the " + axis + " axis");
  if (before > image_max_side || after > image_max_side)  // (the sum is then checked by Image)
    throw RangeError(std::string("pad: padding of ") + std::to_string(std::max(before, after)) + " on the " + axis +
                     " axis is more than an image side may be (" + std::to_string(image_max_side) + ")");
  const index most = std::max(before, after);
  if (mode == ImagePadMode::reflect && most >= size)
    throw RangeError(std::string("pad: reflect padding of ") + std::to_string(most) + " needs an image " + axis +
                     " larger than that, the image has " + std::to_string(size));
  if (mode == ImagePadMode::symmetric && most > size)
    throw RangeError(std::string("pad: symmetric padding of ") + std::to_string(most) + " needs an image " + axis +
                     " at least that large, the image has " + std::to_string(size));
  if ((mode == ImagePadMode::edge) && most > 0 && size == 0)
    throw RangeError(std::string("pad: cannot pad an empty image by repeating its edge"));
}

}  // namespace detail

inline void pad(const Image& in, Image& out, Padding p, ImagePadMode mode = ImagePadMode::constant, std::uint8_t fill = 0) {
  if (&in == &out) throw ShapeError("pad: the output must be another Image than the input");
  detail::check_padding(p.left, p.right, in.width(), mode, "width");
  detail::check_padding(p.top, p.bottom, in.height(), mode, "height");
  const int C = in.channels();
  const index H = in.height() + p.top + p.bottom, W = in.width() + p.left + p.right;
  out.reshape(H, W, C);
  if (out.empty()) return;
  for (index y = 0; y < H; ++y) {
    std::uint8_t* dst = out.row(y);
    const index sy = detail::pad_source(y - p.top, in.height(), mode);
    if (sy < 0) {
      std::memset(dst, fill, static_cast<std::size_t>(W * C));
      continue;
    }
    const std::uint8_t* src = in.row(sy);
    for (index x = 0; x < W; ++x) {
      const index sx = detail::pad_source(x - p.left, in.width(), mode);
      for (int c = 0; c < C; ++c) dst[x * C + c] = sx < 0 ? fill : src[sx * C + c];
    }
  }
}

inline Image pad(const Image& in, Padding p, ImagePadMode mode = ImagePadMode::constant, std::uint8_t fill = 0) {
  Image out;
  pad(in, out, p, mode, fill);
  return out;
}

}  // namespace mmm
